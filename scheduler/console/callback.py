"""``/wechat/<key>``: WeChat's server callback (服务器配置) for one account.

WeChat calls it, not a person: no sign-in, no CSRF field, no session — a request here
opens nothing else of the console.  Every request must carry the signature of the
account's Token (``[account].callback_token_env``); in compatible and safe mode the
body is also signed (``msg_signature``) and encrypted with the EncodingAESKey
(``[account].callback_aes_key_env``).  Verification, decryption and parsing are
wechatpy's own.  The answer is "success" at once whatever the push was: WeChat repeats
a push it got no quick answer for, and the ledger records each job's event once.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from .. import wechat_events
from ..config import Config
from .security import AddressBrake

log = logging.getLogger(__name__)

# A job event with 8 article links is about 2 KB, three times that in compatible mode.
MAX_BODY = 64 * 1024
MAX_ECHOSTR = 256
SUCCESS = "success"
HEADERS = {"cache-control": "no-store"}


@dataclass(frozen=True)
class Keys:
    token: str
    aes_key: str  # "" when not configured (plain mode)
    app_id: str


class Refused(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status, self.text = status, text


def _answer(status: int, text: str) -> Response:
    return PlainTextResponse(text, status_code=status, headers=HEADERS)


def _brake(request: Request) -> AddressBrake:
    brake = getattr(request.app.state, "callback_brake", None)
    if brake is None:
        brake = request.app.state.callback_brake = AddressBrake(limit=30, window=900.0)
    return brake


def _address(request: Request) -> str:
    return request.client.host if request.client else "?"


def _account(request: Request) -> tuple[Config, Keys]:
    """The account in the URL and its callback keys; 404 for an unknown key or an account without a Token."""
    config = request.app.state.console.configs.get(request.path_params["key"])
    if config is None:
        raise Refused(404, "not found")
    account = config.account
    token = os.environ.get(account.callback_token_env, "").strip()
    if not token:
        log.warning("账号 %s 收到微信服务器回调，但环境变量 %s 未设置（[account].callback_token_env）："
                    "请设置为公众平台“服务器配置”里填写的令牌（Token）", account.key, account.callback_token_env)
        raise Refused(404, "not found")
    return config, Keys(token, os.environ.get(account.callback_aes_key_env, "").strip(),
                        os.environ.get(account.app_id_env, "").strip())


def _signed(request: Request) -> tuple[Config, Keys]:
    """The account of a request signed with its Token; an address that failed too often is held off (429)."""
    if _brake(request).blocked(_address(request)):
        raise Refused(429, "too many requests")
    config, keys = _account(request)
    _check_signature(request, keys)
    return config, keys


def _check_signature(request: Request, keys: Keys) -> None:
    from wechatpy.exceptions import InvalidSignatureException
    from wechatpy.utils import check_signature

    query = request.query_params
    signature, timestamp, nonce = query.get("signature", ""), query.get("timestamp", ""), query.get("nonce", "")
    if not (signature and timestamp and nonce):
        raise Refused(403, "forbidden")
    try:
        check_signature(keys.token, signature, timestamp, nonce)
    except InvalidSignatureException:
        raise Refused(403, "forbidden") from None


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared and (not declared.isdigit() or int(declared) > MAX_BODY):
        raise Refused(413, "too large")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:  # no or a false Content-Length: stop reading at the limit
            raise Refused(413, "too large")
        chunks.append(chunk)
    return b"".join(chunks)


def _refused(request: Request, config_key: str, exc: Refused) -> Response:
    if exc.status == 403:
        _brake(request).failed(_address(request))
        log.warning("账号 %s 的微信服务器回调签名不对，已拒绝（来自 %s）：若是微信在推送，请核对令牌（Token）"
                    "和消息加解密密钥是否与公众平台“服务器配置”一致", config_key, _address(request))
    return _answer(exc.status, exc.text)


async def verify(request: Request) -> Response:
    """GET: WeChat checks the URL when 服务器配置 is saved; echo ``echostr`` only under a good signature."""
    key = request.path_params["key"]
    try:
        _signed(request)
    except Refused as exc:
        return _refused(request, key, exc)
    echostr = request.query_params.get("echostr", "")
    if not echostr or len(echostr) > MAX_ECHOSTR:
        return _answer(400, "bad request")
    log.info("账号 %s 的服务器配置已通过微信的地址验证", key)
    return _answer(200, echostr)


async def receive(request: Request) -> Response:
    """POST: a push from WeChat; job events go into the ledger, everything else is acknowledged and ignored."""
    key = request.path_params["key"]
    try:
        config, keys = _signed(request)
        body = await _body(request)
        data = _parsed(request, keys, body)
    except Refused as exc:
        return _refused(request, key, exc)
    event = wechat_events.job_event(data)
    if event is not None:
        await run_in_threadpool(_record, request, config, event)
    return _answer(200, SUCCESS)


def _parsed(request: Request, keys: Keys, body: bytes) -> dict:
    """The push as wechatpy parses it: decrypted first when ``encrypt_type=aes`` (compatible and safe mode)."""
    from wechatpy import parse_message

    encrypted = request.query_params.get("encrypt_type", "raw") == "aes"
    xml: bytes | str = body  # plain mode, or compatible mode without a key: its body carries the plain fields too
    if encrypted and (keys.aes_key or b"<MsgType>" not in body):
        xml = _decrypted(request, keys, body)
    try:
        message = parse_message(xml)
    except Exception:  # noqa: BLE001 - malformed XML, entities, no MsgType: nothing WeChat sends
        raise Refused(400, "bad request") from None
    data = getattr(message, "_data", None)  # the whole parsed <xml>: wechatpy's fields omit what tuiwen needs
    if not isinstance(data, dict):
        raise Refused(400, "bad request")
    return data


def _decrypted(request: Request, keys: Keys, body: bytes) -> str:
    from wechatpy.crypto import WeChatCrypto
    from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException

    key = request.path_params["key"]
    if not keys.aes_key or not keys.app_id:
        config = request.app.state.console.configs[key]
        log.error("账号 %s 收到加密的微信推送，但环境变量 %s 或 %s 未设置：请设置消息加解密密钥（EncodingAESKey）和 AppID",
                  key, config.account.callback_aes_key_env, config.account.app_id_env)
        raise Refused(503, "not configured")
    query = request.query_params
    try:
        crypto = WeChatCrypto(keys.token, keys.aes_key, keys.app_id)
    except Exception:  # noqa: BLE001 - not a 43-character EncodingAESKey
        config = request.app.state.console.configs[key]
        log.error("账号 %s 的消息加解密密钥（环境变量 %s）不是 43 个字符的 EncodingAESKey", key,
                  config.account.callback_aes_key_env)
        raise Refused(503, "not configured") from None
    try:
        return crypto.decrypt_message(body, query.get("msg_signature", ""), query.get("timestamp", ""),
                                      query.get("nonce", ""))
    except (InvalidSignatureException, InvalidAppIdException):
        raise Refused(403, "forbidden") from None
    except Exception:  # noqa: BLE001 - no <Encrypt>, bad base64, bad padding: not from WeChat
        raise Refused(400, "bad request") from None


def _record(request: Request, config: Config, event: wechat_events.JobEvent) -> None:
    ledger = request.app.state.console.ledger(config)
    recorded = wechat_events.record(ledger, config.account.key, event)
    if not recorded.new:
        log.info("账号 %s：微信重复推送了 %s %s，已记录过", config.account.key, event.kind, event.job_id)
