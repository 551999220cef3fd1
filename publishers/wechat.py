"""The WeChat publisher: wechatpy 1.8.18 plus the endpoints the release lacks.

``TuiwenClient`` holds all transport work — the ``stable_token`` shared through a session
storage, bounded retries of the requests that are safe to repeat, errcode → Chinese message —
and declares its endpoint groups (``publishers.wechat_api``) like a table of contents.
``WeChatPublisher`` implements ``publishers.base.Publisher`` on top of it. Facts: docs/wechat-api.md.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError
from wechatpy import WeChatClient

from .base import DraftArticle, Publication, PublishError, Sent, Submitted, UnknownOutcome
from .errors import describe
from .figures import DayFigures, parse_totaldetail
from .limits import MAX_ARTICLES
from .wechat_api import CommentAPI, DataCubeAPI, DraftAPI, FreePublishAPI, ImageAPI, MassSendAPI

log = logging.getLogger(__name__)

TOKEN_MARGIN = 300  # refresh when less than 5 minutes remain
TOKEN_ERRORS = {40001, 40014, 42001}  # invalid / not latest / expired: refresh once, retry once
BUSY_CODES = {-1, 268488001}
RATE_LIMITED = 45011  # per-minute quota: wait a minute
RETRYABLE_CODES = BUSY_CODES | {RATE_LIMITED, 45066}
RATE_WAIT = 60
AMBIGUOUS = {"timeout", "lost", "http5xx"}  # the request may have taken effect
TRANSIENT = AMBIGUOUS | {"busy", "rate", "unsent"}


# ----- keeping the secret and tokens out of logs and messages ------------------------------------

_SECRETS: set[str] = set()
_TOKEN_TEXT = re.compile(r"""(access_token["']?\s*[=:]\s*["']?)[^&\s"',;)}]+""")


def scrub(text: str) -> str:
    """``text`` without access tokens (as ``access_token=…`` or JSON) or any known AppSecret."""
    text = _TOKEN_TEXT.sub(r"\1***", text)
    for secret in _SECRETS:
        text = text.replace(secret, "***")
    return text


class _Redact(logging.Filter):
    """urllib3 logs every URL at DEBUG, and WeChat puts the token in the query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 — a malformed record is the caller's problem, not ours to hide
            return True
        clean = scrub(text)
        if clean != text:
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
        return True


# A logger's filters only see records logged on that very logger, so each one is named.
for _name in ("urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry",
              "urllib3.response", "urllib3.poolmanager", "requests", "wechatpy",
              "wechatpy.client", "wechatpy.client.base", __name__):
    _logger = logging.getLogger(_name)
    if not any(isinstance(f, _Redact) for f in _logger.filters):
        _logger.addFilter(_Redact())


# ----- the client: transport in one place --------------------------------------------------------

@dataclass(frozen=True)
class _Failure:
    """Why one attempt did not succeed."""

    kind: str  # busy | rate | token | code | timeout | lost | http5xx | unsent | http | bad_answer
    code: int | None = None
    errmsg: str = ""
    status: int | None = None

    @classmethod
    def of_code(cls, code: int, errmsg: str) -> _Failure:
        kind = ("busy" if code in BUSY_CODES else "rate" if code == RATE_LIMITED
                else "token" if code in TOKEN_ERRORS else "code")
        return cls(kind, code, errmsg)


class TuiwenClient(WeChatClient):
    """wechatpy's client on ``stable_token``, with bounded retries and Chinese errors.

    Every request goes through ``_request``: ``safe=False`` marks the ones never repeated here
    (mass send, publish, preview), ``accept`` lists errcodes that are answers, not errors.
    """

    draft = DraftAPI()
    freepublish = FreePublishAPI()
    mass = MassSendAPI()
    images = ImageAPI()
    comments = CommentAPI()
    datacube = DataCubeAPI()  # replaces wechatpy's group of the endpoints no longer maintained

    def __init__(self, appid: str, secret: str, *, api_base_url: str, session: Any = None,
                 timeout: float = 30, sleep: Callable[[float], None] = time.sleep,
                 max_attempts: int = 4) -> None:
        # auto_retry=False: wechatpy's own retry recurses without limit on a persistent 40001.
        super().__init__(appid, secret, session=session, timeout=timeout, auto_retry=False)
        self.API_BASE_URL = api_base_url.rstrip("/") + "/cgi-bin/"
        self.sleep, self.max_attempts = sleep, max(1, max_attempts)
        if len(secret or "") >= 8:  # real AppSecrets are 32 characters; never scrub a mere letter
            _SECRETS.add(secret)

    def __repr__(self) -> str:
        return f"TuiwenClient(appid={self.appid!r}, api_base_url={self.API_BASE_URL!r})"

    # -- tokens: 获取稳定版接口调用凭据 --

    @property
    def expires_key(self) -> str:
        return f"{self.appid}_access_token_expires_at"

    @property
    def access_token(self) -> str:
        """The shared token, fetched when missing or with less than TOKEN_MARGIN left."""
        token = self.session.get(self.access_token_key)
        expires_at = _number(self.session.get(self.expires_key))
        if token and expires_at and expires_at - time.time() > TOKEN_MARGIN:
            return token
        return self.fetch_access_token()["access_token"]

    def fetch_access_token(self, force: bool = False) -> dict:
        """``POST stable_token`` (1.8.18 hard-codes the old ``cgi-bin/token``, which lets one
        process invalidate another's token); stored for every process sharing the session."""
        answer = self._request("post", "stable_token", with_token=False, data={
            "grant_type": "client_credential", "appid": self.appid, "secret": self.secret,
            "force_refresh": force})
        if not isinstance(answer.get("access_token"), str) or not answer["access_token"]:
            raise PublishError("微信 stable_token 的应答里没有 access_token，请检查 api_base_url 配置。")
        expires_in = int(answer.get("expires_in") or 7200)
        self.session.set(self.access_token_key, answer["access_token"], expires_in)
        self.session.set(self.expires_key, int(time.time()) + expires_in, expires_in)
        self.expires_at = int(time.time()) + expires_in
        log.info("已%s access_token，有效期 %d 秒", "强制刷新" if force else "获取", expires_in)
        return answer

    def _refresh_token(self, failed: str | None) -> None:
        """After 40001/40014/42001: take another process's newer token if there is one; force a
        new one only when the stored token is the one that failed (force is limited to 20 a day)."""
        stored = self.session.get(self.access_token_key)
        if stored and stored != failed:
            return
        self.fetch_access_token(force=True)

    # -- requests --

    def _request(self, method: str, url_or_endpoint: str, *, safe: bool = True,
                 accept: tuple[int, ...] = (), with_token: bool = True, **kwargs: Any) -> dict:
        endpoint, attempt, refreshed = url_or_endpoint, 0, False
        processor = kwargs.pop("result_processor", None)  # wechatpy's own groups still work
        while True:
            attempt += 1
            token = self.access_token if with_token else None
            answer = self._send(method, endpoint, token, kwargs)
            if isinstance(answer, dict):
                code = int(answer.get("errcode") or 0)
                if code == 0 or code in accept:
                    return processor(answer) if processor else answer
                failure = _Failure.of_code(code, str(answer.get("errmsg", "")))
            else:
                failure = answer
            log.debug("%s %s: %s %s (attempt %d)", method.upper(), endpoint, failure.kind,
                      failure.code if failure.code is not None else failure.status or "", attempt)
            if failure.kind == "token" and with_token and not refreshed:
                refreshed = True
                self._refresh_token(failed=token)
                continue
            if safe and failure.kind in TRANSIENT and attempt < self.max_attempts:
                delay = RATE_WAIT if failure.kind == "rate" else min(2 ** (attempt - 1), 30)
                log.info("微信接口 %s 暂时失败（%s），%s 秒后重试（第 %d 次，共 %d 次）", endpoint, failure.kind,
                         delay, attempt, self.max_attempts)
                self.sleep(delay)
                continue
            # Raised here, outside any except block: nothing chains a requests exception whose
            # text carries the URL and its access_token.
            raise self._error(failure, endpoint, attempt, kwargs, safe)

    def _send(self, method: str, endpoint: str, token: str | None, options: dict) -> dict | _Failure:
        """One HTTP exchange: the decoded JSON answer, or why there is none."""
        params = dict(options.get("params") or {})
        if token:
            params["access_token"] = token
        data, headers = options.get("data"), {}
        if isinstance(data, dict):
            # Raw UTF-8: WeChat stores \\u escapes literally (garbled Chinese).
            data = json.dumps(data, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json; charset=utf-8"
        url = endpoint if endpoint.startswith(("http://", "https://")) else (
            options.get("api_base_url") or self.API_BASE_URL) + endpoint
        try:
            res = self._http.request(method.upper(), url, params=params,
                                     data=data, files=options.get("files"), headers=headers,
                                     timeout=self.timeout)
        except requests.exceptions.ConnectTimeout:
            return _Failure("unsent")
        except requests.exceptions.Timeout:
            return _Failure("timeout")
        except requests.exceptions.ConnectionError as exc:
            return _Failure("unsent" if _never_sent(exc) else "lost")
        except requests.RequestException:
            return _Failure("lost")
        if res.status_code >= 500:
            return _Failure("http5xx", status=res.status_code)
        if res.status_code >= 400:
            return _Failure("http", status=res.status_code)
        try:  # WeChat says "encoding=utf-8", not "charset=": decode it ourselves
            answer = json.loads(res.content.decode("utf-8"))
        except ValueError:
            return _Failure("bad_answer", status=res.status_code)
        return answer if isinstance(answer, dict) else _Failure("bad_answer", status=res.status_code)

    def _error(self, failure: _Failure, endpoint: str, attempts: int, options: dict,
               safe: bool = True) -> PublishError:
        tried = f"（已尝试 {attempts} 次）" if attempts > 1 else ""
        kind, status = failure.kind, failure.status
        if kind in ("http", "bad_answer") and not safe:
            # A proxy may have forwarded the send before answering with its own page.
            return UnknownOutcome(f"微信接口 {endpoint} 返回 HTTP {status}，不是微信的应答（可能来自代理），"
                                  "请求可能已生效，也可能没有。", retryable=True)
        if kind in AMBIGUOUS:
            what = {"timeout": f"{self.timeout:g} 秒内没有应答", "lost": "连接在应答前断开",
                    "http5xx": f"返回 HTTP {status}"}[kind]
            return UnknownOutcome(f"微信接口 {endpoint} {what}{tried}，请求可能已生效，也可能没有。",
                                  retryable=True)
        if kind == "unsent":
            return PublishError(f"无法连接微信接口 {self.API_BASE_URL}{tried}，请检查网络或 api_base_url 配置。",
                                retryable=True)
        if kind in ("http", "bad_answer"):
            return PublishError(f"微信接口 {endpoint} 返回 HTTP {status}，不是微信的应答：请检查 "
                                f"api_base_url 配置（现为 {self.API_BASE_URL}）。")
        data, files = options.get("data"), options.get("files") or {}
        context: dict[str, Any] = {}
        if isinstance(data, dict) and isinstance(data.get("articles"), list):
            context["articles"] = data["articles"]
        if "media" in files:
            context["filename"], context["size"] = files["media"][0], len(files["media"][1])
        code = cast(int, failure.code)  # the kinds left here (busy, rate, token, code) all came with an errcode
        message = describe(code, failure.errmsg, **context) + tried
        return PublishError(scrub(message), code=failure.code,
                            retryable=failure.code in RETRYABLE_CODES)


def _never_sent(exc: requests.exceptions.ConnectionError) -> bool:
    """True when the connection could not even be opened (refused, DNS): nothing was sent."""
    reason = exc.args[0] if exc.args else None
    return isinstance(reason, MaxRetryError) and isinstance(reason.reason, NewConnectionError)


def _number(value: Any) -> float | None:
    """A stored expiry (session storages may hand back strings)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


# ----- the publisher -----------------------------------------------------------------------------

_PUBLISH_STATES = {0: ("success", ""), 1: ("pending", "发布中"), 2: ("failed", "原创校验不通过"),
                   3: ("failed", "常规失败"), 4: ("failed", "平台审核不通过"),
                   5: ("failed", "已删除"), 6: ("failed", "已封禁")}
_MASS_STATES = {"SEND_SUCCESS": ("success", ""), "SENDING": ("pending", "发送中"),
                "SEND_FAIL": ("failed", "群发失败"), "DELETE": ("failed", "群发已被删除")}
FIND_PAGES = 3  # freepublish/batchget pages of 20 searched by find_publication


class WeChatPublisher:
    """``publishers.base.Publisher`` on the WeChat Official Account API."""

    def __init__(self, app_id: str, app_secret: str, *, api_base_url: str, session: Any = None,
                 timeout: float = 30, sleep: Callable[[float], None] = time.sleep,
                 max_attempts: int = 4) -> None:
        self.client = TuiwenClient(app_id, app_secret, api_base_url=api_base_url, session=session,
                                   timeout=timeout, sleep=sleep, max_attempts=max_attempts)

    @property
    def app_id(self) -> str:
        """The AppID it publishes as: uploaded media belong to it, not to an account's name."""
        return self.client.appid

    def __repr__(self) -> str:
        return f"WeChatPublisher(app_id={self.client.appid!r}, api_base_url={self.client.API_BASE_URL!r})"

    def upload_image(self, data: bytes, filename: str) -> str:
        return _field(self.client.images.uploadimg(data, filename), "url")

    def upload_cover(self, data: bytes, filename: str) -> tuple[str, str]:
        answer = self.client.images.add_material(data, filename)
        return _field(answer, "media_id"), str(answer.get("url", ""))

    def create_draft(self, articles: list[DraftArticle]) -> str:
        if not articles:
            raise PublishError("草稿里没有文章。")
        if len(articles) > MAX_ARTICLES:
            raise PublishError(f"一次推送最多 {MAX_ARTICLES} 篇文章，这次有 {len(articles)} 篇："
                               f"请减少到 {MAX_ARTICLES} 篇以内（[schedule].max_articles）。", code=45008)
        return _field(self.client.draft.add([a.payload() for a in articles]), "media_id")

    def draft_exists(self, media_id: str) -> bool:
        try:
            self.client.draft.get(media_id)
        except PublishError as exc:
            if exc.code == 40007:
                return False
            raise
        return True

    def delete_draft(self, media_id: str) -> None:
        """Deletes a draft; one already gone (40007) is fine, so a repeat is harmless."""
        try:
            self.client.draft.delete(media_id)
        except PublishError as exc:
            if exc.code != 40007:
                raise

    def mass_send(self, media_id: str, clientmsgid: str) -> Sent:
        answer = self.client.mass.sendall(media_id, clientmsgid)
        adopted = int(answer.get("errcode") or 0) == 45065
        if adopted and not answer.get("msg_id"):
            raise PublishError("微信说这个 clientmsgid 已经群发过（45065），却没有给出 msg_id："
                               "请到公众号后台“发表记录”核对。", code=45065)
        if adopted:
            log.info("clientmsgid %s 已群发过（45065），采用原 msg_id %s", clientmsgid, answer["msg_id"])
        return Sent(msg_id=_field(answer, "msg_id"), msg_data_id=str(answer.get("msg_data_id") or ""),
                    adopted=adopted)

    def mass_status(self, msg_id: str) -> Publication:
        status = str(self.client.mass.get(msg_id).get("msg_status", ""))
        state, detail = _MASS_STATES.get(status, ("pending", f"未知状态 {status}"))
        return Publication(state, detail)

    def submit(self, media_id: str) -> Submitted:
        answer = self.client.freepublish.submit(media_id)
        return Submitted(_field(answer, "publish_id"), str(answer.get("msg_data_id") or ""))

    def publish_status(self, publish_id: str) -> Publication:
        answer = self.client.freepublish.get(publish_id)
        code: Any = answer.get("publish_status")  # WeChat's JSON, not checked: any unknown value is "pending"
        state, detail = _PUBLISH_STATES.get(code, ("pending", f"未知状态 {code}"))
        fail_idx = [str(i) for i in answer.get("fail_idx") or []]
        if state == "failed" and fail_idx:
            detail += f"（第 {'、'.join(fail_idx)} 篇）"
        items = (answer.get("article_detail") or {}).get("item") or []
        urls = {int(item["idx"]): item["article_url"] for item in items
                if item.get("idx") and item.get("article_url")}
        return Publication(state, detail, article_id=str(answer.get("article_id") or ""), urls=urls)

    def find_publication(self, titles: list[str]) -> Publication | None:
        """Searches the newest FIND_PAGES × 20 successful publishes for exactly these titles."""
        wanted = list(titles)
        for page in range(FIND_PAGES):
            answer = self.client.freepublish.batchget(offset=page * 20, count=20)
            items = answer.get("item") or []
            for item in items:
                news = (item.get("content") or {}).get("news_item") or []
                if [article.get("title") for article in news] == wanted and item.get("article_id"):
                    return self._published(str(item["article_id"]))
            if not items or (page + 1) * 20 >= int(answer.get("total_count") or 0):
                return None
        return None

    def _published(self, article_id: str) -> Publication:
        news = self.client.freepublish.getarticle(article_id).get("news_item") or []
        urls = {i: a["url"] for i, a in enumerate(news, 1) if a.get("url") and not a.get("is_deleted")}
        if news and all(a.get("is_deleted") for a in news):
            return Publication("failed", "已删除", article_id=article_id)
        return Publication("success", article_id=article_id, urls=urls)

    def delete_mass(self, msg_id: str, index: int = 0) -> None:
        """Take a mass send's article ``index`` (from 1; 0 = all) down: its page stops opening."""
        self.client.mass.delete(msg_id, index)

    def delete_publication(self, article_id: str, index: int = 0) -> None:
        """Delete a 发布's article ``index`` (from 1; 0 = all); irreversible."""
        self.client.freepublish.delete(article_id, index)
    def article_figures(self, day: str) -> DayFigures:
        """Running totals of the articles published on ``day`` (YYYY-MM-DD, 2025-11-01 or later)."""
        return parse_totaldetail(self.client.datacube.getarticletotaldetail(day))

    def preview(self, media_id: str, to: str) -> None:
        """``to`` is an openid (28 characters starting with "o") or else a WeChat ID (微信号)."""
        if re.fullmatch(r"o[A-Za-z0-9_-]{27}", to):
            self.client.mass.preview(media_id, touser=to)
        else:
            self.client.mass.preview(media_id, towxname=to)


def _field(answer: dict, name: str) -> str:
    """A required field of a successful answer, as a string."""
    value = answer.get(name)
    if value in (None, ""):
        raise PublishError(f"微信的应答里缺少 {name}，无法继续：请检查 api_base_url 是否指向微信接口。")
    return str(value)
