"""A strict local fake of the WeChat Official Account API, served over real HTTP.

It follows docs/wechat-api.md; where sources disagree it takes the stricter value, so
whatever passes against it should pass against the real WeChat. Endpoints live under
``<url>cgi-bin/…`` as on api.weixin.qq.com, the 数据统计 ones under ``<url>datacube/…``; their
figures follow what the fake has really mass-sent or published (``daily_figures``,
``delayed_dates``). Tests observe ``calls``, ``drafts``, ``published``,
``mass_sends``, ``filtered``, ``comment_threads`` … and inject faults with ``inject(path, fault)``;
followers comment on a sent article through ``add_user_comment(msg_data_id, index, text)``.

Run by hand: ``python tests/fake_wechat.py --port 8765`` and point ``api_base_url`` at the URL.
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import itertools
import json
import os
import random
import re
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from html import escape
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, NamedTuple
from urllib.parse import parse_qsl, urlencode, urlsplit

DEFAULT_APPID = "wx_test_appid"
DEFAULT_SECRET = "wx_test_secret_0123456789abcdef"
BEIJING = timezone(timedelta(hours=8))  # WeChat daily and monthly quotas reset at Beijing midnight

UPLOADIMG_MAX = 1024 * 1024 - 1  # body images: "< 1 MB"
# add_material: current pages say 10 MB, older ones 2 MB; the stricter one wins.
MATERIAL_MAX = 2 * 1024 * 1024
THUMB_MAX = 64 * 1024  # temporary "thumb" media: 64 KB JPEG
MAX_ARTICLES = 8
TITLE_MAX, AUTHOR_MAX, DIGEST_MAX = 32, 16, 128  # title: 32 (older pages said 64)
# Both exclusive ("< 20,000", "< 1 MB"), counted on the HTML as sent, before any filtering.
CONTENT_MAX_CHARS, CONTENT_MAX_BYTES = 20_000, 1024 * 1024
SOURCE_URL_MAX = 1024
CLIENTMSGID_MAX = 32  # wechatpy's docstring says 64 bytes; the contract says 32 ASCII
FORCE_REFRESH_PER_DAY = 20
PROTECTION_SECONDS = 30 * 60  # a protected mass send not confirmed within 30 minutes fails
# Tests' clients wait this long for an answer: far more than a loaded machine ever needs to
# answer on loopback, so only a held request (a "timeout" fault) ever times out.
CLIENT_TIMEOUT = 2.0
# A "timeout" fault holds the request until the fake stops (or this long): always past the
# client's patience, so the client sees a timeout, never an early close.
HOLD_UNTIL_STOPPED = 600.0
DEFAULT_QUOTAS = {"token": 2000, "draft/add": 1000, "freepublish/submit": 100,
                  "freepublish/get": 100}
# "proxy_page_after": the request reached WeChat and took effect, then a proxy on the way back
# answered HTTP 200 with its own HTML page (a captive portal, a WAF, a gateway error page).
FAULTS = ("busy", "rate", "http500", "timeout", "lost", "hang_after", "token_expired", "proxy_page_after")

# 数据统计 (2025): data from 2025-11-01 on, one day per call, the newest day yesterday; a day's
# figures are final after 08:00 Beijing time the next day (is_delay before); running totals for
# 30 days after publication.
FIGURES_SINCE = "2025-11-01"
FIGURES_FINAL_HOUR = 8
FIGURES_DAYS = 30

_EXTENSIONS = {"jpg": "jpeg", "jpeg": "jpeg", "png": "png", "gif": "gif", "bmp": "bmp"}
_HTML_404 = (b"<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not"
             b" Found</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
_HTML_500 = (b"<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n<body>\r\n"
             b"<center><h1>500 Internal Server Error</h1></center>\r\n</body>\r\n</html>\r\n")
# Real WeChat writes "encoding=", not "charset=": a client must not rely on the header to decode.
_JSON_TYPE = "application/json; encoding=utf-8"
_PROXY_PAGE = (b"<!DOCTYPE html><html><head><title>\xe8\xae\xbf\xe9\x97\xae\xe5\x8f\x97\xe9\x99\x90</title>"
               b"</head><body><p>Request blocked by security gateway.</p></body></html>")


class ManualClock:
    """A clock for the fake that moves only when a test says so (token expiry, quotas, 45066)."""

    START = 1_767_225_600.0  # 2026-01-01 08:00 Beijing time

    def __init__(self, now: float = START):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class WeChatError(Exception):
    """An error answer: ``{"errcode": code, "errmsg": "... rid: ..."}`` plus extra fields."""

    def __init__(self, errcode: int, errmsg: str, **extra: Any):
        super().__init__(errcode, errmsg)
        self.errcode, self.errmsg, self.extra = errcode, errmsg, extra

    def answer(self) -> dict:
        # Real errmsgs end with a request id, so clients must never compare errmsg exactly.
        rid = "-".join(os.urandom(4).hex() for _ in range(3))
        return {"errcode": self.errcode, "errmsg": f"{self.errmsg} rid: {rid}", **self.extra}


@dataclass
class Call:
    """One request as the fake saw it."""
    method: str
    path: str                 # e.g. "cgi-bin/draft/add"
    query: dict
    body: Any                 # parsed JSON, a multipart summary, or None
    errcode: int | None       # 0 for success, None when no JSON answer was given
    time: float
    fault: Any = None         # the injected fault this call consumed, if any
    endpoint: str | None = None  # route key, e.g. "draft/add"; None for an unknown path
    port: int | None = None   # the client's TCP port: which process made the call


class _Route(NamedTuple):
    handler: str
    methods: tuple = ("POST",)
    token: bool = True         # needs ?access_token=
    verified: bool = False     # 48001 for unverified accounts


# Since July 2025 free publish needs a verified account; mass send always did (接口权限说明).
_ROUTES = {
    "token": _Route("_token", ("GET", "POST"), token=False),
    "stable_token": _Route("_stable_token", token=False),
    "media/uploadimg": _Route("_uploadimg"),
    "media/upload": _Route("_media_upload"),
    "material/add_material": _Route("_add_material"),
    "material/del_material": _Route("_del_material"),
    "material/get_materialcount": _Route("_material_count", ("GET", "POST")),
    "draft/add": _Route("_draft_add"),
    "draft/get": _Route("_draft_get"),
    "draft/update": _Route("_draft_update"),
    "draft/delete": _Route("_draft_delete"),
    "draft/count": _Route("_draft_count", ("GET", "POST")),
    "draft/batchget": _Route("_draft_batchget"),
    "freepublish/submit": _Route("_publish_submit", verified=True),
    "freepublish/get": _Route("_publish_get", verified=True),
    "freepublish/batchget": _Route("_publish_batchget", verified=True),
    "freepublish/getarticle": _Route("_publish_getarticle", verified=True),
    "freepublish/delete": _Route("_publish_delete", verified=True),
    "message/mass/sendall": _Route("_mass_sendall", verified=True),
    "message/mass/get": _Route("_mass_get", verified=True),
    "message/mass/preview": _Route("_mass_preview", verified=True),
    # 图文消息留言管理: every page of it says 仅认证 (verified accounts only).
    "comment/open": _Route("_comment_open", verified=True),
    "comment/close": _Route("_comment_close", verified=True),
    "comment/list": _Route("_comment_list", verified=True),
    "comment/markelect": _Route("_comment_markelect", verified=True),
    "comment/unmarkelect": _Route("_comment_unmarkelect", verified=True),
    "comment/delete": _Route("_comment_delete", verified=True),
    "comment/reply/add": _Route("_comment_reply_add", verified=True),
    "comment/reply/delete": _Route("_comment_reply_delete", verified=True),
    "message/mass/delete": _Route("_mass_delete", verified=True),
    # 数据统计 lives beside cgi-bin: https://api.weixin.qq.com/datacube/…
    "datacube/getarticleread": _Route("_article_read", verified=True),
    "datacube/getarticleshare": _Route("_article_share", verified=True),
    "datacube/getarticletotaldetail": _Route("_article_totaldetail", verified=True),
    "datacube/getbizsummary": _Route("_biz_summary", verified=True),
}


def route_key(path: str) -> str:
    """"cgi-bin/draft/add", "/cgi-bin/draft/add" and "draft/add" all name route "draft/add"."""
    path = path.lstrip("/")
    return path[len("cgi-bin/"):] if path.startswith("cgi-bin/") else path


def _served_key(path: str) -> str | None:
    """The route a request path names: ``cgi-bin/…``, or ``datacube/…`` (never under cgi-bin)."""
    if path.startswith("datacube/"):
        return path
    key = route_key(path) if path.startswith("cgi-bin/") else None
    return None if key is None or key.startswith("datacube/") else key


def utf16_len(text: str) -> int:
    """Length as the stricter reading of WeChat's "characters": UTF-16 units (an emoji is 2)."""
    return len(text.encode("utf-16-le")) // 2


def sniff_image(data: bytes) -> str | None:
    """The image type by magic bytes: WeChat checks the content, not only the name."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data.startswith(b"BM"):
        return "bmp"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def parse_multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """Form fields of a multipart/form-data body: name -> (filename, bytes)."""
    match = re.search(r'boundary="?([^";]+)"?', content_type or "")
    if not match:
        return {}
    fields = {}
    for chunk in body.split(b"--" + match.group(1).encode())[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, data = chunk.partition(b"\r\n\r\n")
        name = re.search(rb'\bname="([^"]*)"', head)
        filename = re.search(rb'filename="([^"]*)"', head)
        if name:
            fields[name.group(1).decode()] = (
                filename.group(1).decode() if filename else None,
                data[:-2] if data.endswith(b"\r\n") else data)
    return fields


_UNICODE_ESCAPE = re.compile(r"(\\+)u([0-9a-fA-F]{4})")


def keep_unicode_escapes(text: str) -> str:
    """Make ``\\uXXXX`` escapes of non-ASCII characters literal, as WeChat stores them.

    WeChat does not decode such escapes (PHP's json_encode default gives garbled articles), so a
    client must send raw UTF-8 JSON, as wechatpy does with ``ensure_ascii=False``.
    """
    def literal(match: re.Match) -> str:
        slashes, code = match.groups()
        if len(slashes) % 2 == 0 or int(code, 16) < 0x80:
            return match.group(0)
        return slashes + "\\u" + code
    return _UNICODE_ESCAPE.sub(literal, text)


def _is_mp_link(href: str) -> bool:
    """Only links to mp.weixin.qq.com articles survive in an article body."""
    url = urlsplit(href.strip())
    return url.scheme in ("http", "https") and url.hostname == "mp.weixin.qq.com"


def _image_key(url: str) -> str:
    """An mmbiz URL without scheme and query: https and ?wx_fmt= name the same picture."""
    parts = urlsplit(url.strip())
    return f"{parts.netloc}{parts.path}"


class ContentFilter(HTMLParser):
    """Re-emits article HTML the way WeChat keeps it and notes every piece WeChat drops."""

    DROPPED_WITH_BODY: ClassVar[dict[str, str]] = {"script": "script", "style": "style_block", "iframe": "iframe"}

    def __init__(self, issued_image: Callable[[str], bool]):
        super().__init__(convert_charrefs=False)
        self.issued_image = issued_image
        self.out: list[str] = []
        self.found: list[tuple[str, str]] = []  # (kind, snippet)
        self._skip, self._depth = None, 0

    def run(self, html: str) -> str:
        self.feed(html)
        self.close()
        return "".join(self.out)

    def _note(self, kind: str) -> None:
        self.found.append((kind, (self.get_starttag_text() or "")[:200]))

    def handle_starttag(self, tag, attrs, end=">"):
        if self._skip:
            self._depth += tag == self._skip
            return
        if tag in self.DROPPED_WITH_BODY:
            self._note(self.DROPPED_WITH_BODY[tag])
            if end == ">":
                self._skip, self._depth = tag, 1
            return
        if tag == "form":  # the form goes, its text stays
            self._note("form")
            return
        kept = self._kept_attrs(tag, attrs)
        if kept is not None:
            text = "".join(f' {n}="{escape(v)}"' if v is not None else f" {n}" for n, v in kept)
            self.out.append(f"<{tag}{text}{end}")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs, end=" />")

    def _kept_attrs(self, tag: str, attrs: list) -> list | None:
        """Attributes WeChat keeps; None drops the whole element."""
        if tag == "img" and not self.issued_image(dict(attrs).get("src") or ""):
            self._note("foreign_image")  # only pictures uploaded with uploadimg are shown
            return None
        kept = []
        for name, value in attrs:
            squeezed = re.sub(r"[\s\x00-\x1f]", "", value or "").lower()
            if name.startswith("on"):
                self._note("event_handler")
            elif squeezed.startswith("javascript:"):
                self._note("javascript_url")
            elif name == "class":
                self._note("class_attr")  # only inline style survives
            elif tag == "a" and name == "href" and not _is_mp_link(value or ""):
                self._note("external_link")
            else:
                kept.append((name, value))
        return kept

    def handle_endtag(self, tag):
        if self._skip:
            if tag == self._skip:
                self._depth -= 1
                self._skip = self._skip if self._depth else None
            return
        if tag not in self.DROPPED_WITH_BODY and tag not in ("form", "img"):
            self.out.append(f"</{tag}>")

    def handle_data(self, data):
        if not self._skip:
            self.out.append(data)

    def handle_entityref(self, name):
        self.handle_data(f"&{name};")

    def handle_charref(self, name):
        self.handle_data(f"&#{name};")

    def handle_comment(self, data):
        self.handle_data(f"<!--{data}-->")


class _Request:
    """What a handler reads: query, JSON body or multipart files, and the caller's IP."""

    def __init__(self, method: str, query: dict, content_type: str, body: bytes, ip: str):
        self.method, self.query, self.content_type, self.body, self.ip = (
            method, query, content_type, body, ip)

    @property
    def json(self) -> dict:
        if not self.body.strip():
            raise WeChatError(44002, "empty post data")
        try:
            data = json.loads(keep_unicode_escapes(self.body.decode("utf-8")))
        except (UnicodeDecodeError, ValueError):
            raise WeChatError(47001, "data format error") from None
        if not isinstance(data, dict):
            raise WeChatError(47001, "data format error")
        return data

    @property
    def files(self) -> dict:
        return parse_multipart(self.content_type, self.body)


def _summary(content_type: str, body: bytes) -> Any:
    """What a Call records of a request body."""
    if "multipart/" in (content_type or ""):
        return {name: {"filename": fn, "size": len(data),
                       "sha256": hashlib.sha256(data).hexdigest()}
                for name, (fn, data) in parse_multipart(content_type, body).items()}
    try:
        return json.loads(body.decode("utf-8")) if body.strip() else None
    except (UnicodeDecodeError, ValueError):
        return {"raw": body[:200]}


def _int(value: Any) -> bool:
    return type(value) is int  # strict: JSON true is refused where WeChat documents 0 or 1


def _flag(value: Any) -> bool:
    return _int(value) and value in (0, 1)


# ----- event pushes to the developer's server (服务器配置) -------------------------------------------
# WeChat waits 5 s for an answer; anything but HTTP 200 with "success" or an empty body counts as no
# answer, and the same push is made again: at most 3 deliveries of one event (重试三次).
PUSH_TIMEOUT = 5.0
PUSH_ATTEMPTS = 3
CALLBACK_MODES = ("plain", "compatible", "safe")


@dataclass
class Push:
    """One delivery of a pushed event, as the fake saw its answer."""
    event: str                # "MASSSENDJOBFINISH", "PUBLISHJOBFINISH"
    job_id: str
    attempt: int              # 1, 2, 3
    mode: str                 # plain / compatible / safe
    status: int | None        # the HTTP status; None when no answer came in time
    answer: str
    accepted: bool            # "success" or empty within the timeout


def _xml(fields: list[tuple[str, Any]]) -> str:
    """<xml> of (name, value) pairs: strings in CDATA, numbers bare, lists of pairs nested."""
    def render(name: str, value: Any) -> str:
        if isinstance(value, list):
            return f"<{name}>" + "".join(render(n, v) for n, v in value) + f"</{name}>"
        if isinstance(value, int):
            return f"<{name}>{value}</{name}>"
        return f"<{name}><![CDATA[{value}]]></{name}>"
    return "<xml>" + "".join(render(n, v) for n, v in fields) + "</xml>"


def _sha1_sorted(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def encrypt_for_callback(aes_key: str, appid: str, xml: str) -> str:
    """WeChat's message encryption (消息加解密技术方案), written from the spec, not from wechatpy:
    AES-256-CBC, key = base64(EncodingAESKey + "="), IV = key[:16], PKCS#7 padding to 32 bytes,
    over random(16) + len(xml) as 4 bytes big-endian + xml + appid."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    key = base64.b64decode(aes_key + "=")
    body = xml.encode()
    plain = os.urandom(16) + len(body).to_bytes(4, "big") + body + appid.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


class Pusher:
    """What WeChat does with a developer URL: the GET check when 服务器配置 is saved, and event
    pushes signed with the Token (and encrypted with the EncodingAESKey in compatible/safe mode)."""

    def __init__(self, appid: str, url: str, token: str, *, aes_key: str = "", mode: str = "plain",
                 timeout: float = PUSH_TIMEOUT, attempts: int = PUSH_ATTEMPTS):
        if mode not in CALLBACK_MODES:
            raise ValueError(f"mode must be one of {CALLBACK_MODES}")
        if mode != "plain" and len(aes_key) != 43:
            raise ValueError("compatible and safe mode need a 43-character EncodingAESKey")
        self.appid, self.url, self.token, self.aes_key, self.mode = appid, url, token, aes_key, mode
        self.timeout, self.attempts = timeout, attempts
        self.lost_answers = 0    # answers to treat as never arrived (a slow network): WeChat retries
        self.pushes: list[Push] = []
        self._lock = threading.Lock()

    def _signed(self, extra: dict | None = None) -> dict:
        timestamp, nonce = str(int(time.time())), str(random.randrange(10**9, 10**10))
        return {"signature": _sha1_sorted(self.token, timestamp, nonce), "timestamp": timestamp,
                "nonce": nonce, **(extra or {})}

    def verify(self) -> tuple[int, str, str]:
        """The GET WeChat makes when the URL is saved: (HTTP status, answer, the echostr sent)."""
        echostr = str(random.randrange(10**18, 10**19))
        query = urlencode(self._signed({"echostr": echostr}))
        status, answer = self._request("GET", f"{self.url}?{query}", None)
        return status or 0, answer, echostr

    def body_and_query(self, fields: list[tuple[str, Any]]) -> tuple[bytes, dict]:
        """One delivery's body and query string, as the configured mode makes them."""
        xml = _xml(fields)
        openid = next((v for n, v in fields if n == "FromUserName"), "")
        query = self._signed({"openid": openid})
        if self.mode == "plain":
            return xml.encode(), query
        encrypt = encrypt_for_callback(self.aes_key, self.appid, xml)
        query |= {"encrypt_type": "aes",
                  "msg_signature": _sha1_sorted(self.token, query["timestamp"], query["nonce"], encrypt)}
        if self.mode == "safe":
            return _xml([fields[0], ("Encrypt", encrypt)]).encode(), query
        return _xml([*fields, ("Encrypt", encrypt)]).encode(), query

    def push(self, fields: list[tuple[str, Any]]) -> list[Push]:
        """Deliver one event until it is accepted, at most ``attempts`` times; the deliveries made."""
        event = next(str(v) for n, v in fields if n == "Event")
        job_id = _job_id(fields)
        made = []
        for attempt in range(1, self.attempts + 1):
            body, query = self.body_and_query(fields)  # each delivery signed anew
            status, answer = self._request("POST", f"{self.url}?{urlencode(query)}", body)
            with self._lock:
                lost = self.lost_answers > 0
                self.lost_answers -= lost
            accepted = not lost and status == 200 and answer in ("success", "")
            made.append(Push(event, job_id, attempt, self.mode, None if lost else status, answer, accepted))
            if accepted:
                break
        with self._lock:
            self.pushes.extend(made)
        return made

    def _request(self, method: str, url: str, body: bytes | None) -> tuple[int | None, str]:
        import urllib.error
        import urllib.request

        request = urllib.request.Request(url, data=body, method=method,
                                         headers={"Content-Type": "text/xml", "User-Agent": "Mozilla/4.0"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                return answer.status, answer.read(4096).decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(4096).decode("utf-8", "replace")
        except (OSError, ValueError):  # refused, reset, timed out
            return None, ""


def _job_id(fields: list[tuple[str, Any]]) -> str:
    for name, value in fields:
        if name == "MsgID":
            return str(value)
        if name == "PublishEventInfo":
            return str(dict(value)["publish_id"])
    return ""


class FakeWeChat:
    """A local HTTP server behaving like the WeChat Official Account API; see the module doc."""

    def __init__(self, appid: str = DEFAULT_APPID, secret: str = DEFAULT_SECRET, *,
                 verified: bool = True, account_type: str = "service",
                 ip_whitelist: list[str] | None = None, token_ttl: float = 7200,
                 clock: Callable[[], float] = time.time, publish_polls: int = 1,
                 send_polls: int = 1, timeout_hold: float = HOLD_UNTIL_STOPPED,
                 clientmsgid_retry_window: float = 60.0, quotas: dict | None = None,
                 material_max_bytes: int = MATERIAL_MAX, host: str = "127.0.0.1", port: int = 0,
                 mass_quota: int | None = None, latency: tuple[float, float] = (0.0, 0.0)):
        if account_type not in ("service", "subscription"):
            raise ValueError(f"account_type must be 'service' or 'subscription', not {account_type!r}")
        self.appid, self.secret, self.verified, self.account_type = (
            appid, secret, verified, account_type)
        self.ip_whitelist, self.token_ttl, self.clock = ip_whitelist, token_ttl, clock
        self.publish_polls, self.send_polls, self.timeout_hold = publish_polls, send_polls, timeout_hold
        self.clientmsgid_retry_window = clientmsgid_retry_window
        self.quotas = dict(DEFAULT_QUOTAS if quotas is None else quotas)
        self.material_max_bytes, self.host, self.port = material_max_bytes, host, port
        # Mass sends per quota period (a day for subscription accounts, a month for service
        # accounts); None keeps the documented 1 and 4. Long runs of slots in tests raise it.
        self.mass_quota = mass_quota
        # Seconds each answer waits, drawn evenly from (low, high): the real API's round trip,
        # for benchmarks of many accounts at once (the wait holds no lock).
        self.latency = latency
        # Outcomes applied to the next publish / mass send (tests may change them).
        self.publish_outcome, self.publish_fail_idx = 0, [1]
        self.send_outcome = "SEND_SUCCESS"
        # API 群发保护 (查询群发消息发送状态): a mass send waits SENDING for an administrator's
        # confirmation on the phone; refused or not confirmed within 30 minutes, it fails.
        self.mass_protection = False
        # Observable state.
        self.calls: list[Call] = []
        self.tokens_issued: list[str] = []
        self.images: dict[str, dict] = {}      # uploadimg url -> {sha256, size, type}
        self.materials: dict[str, dict] = {}   # permanent media_id -> {sha256, size, type, url}
        self.temp_media: dict[str, dict] = {}  # temporary media_id -> {...}
        self.drafts: dict[str, dict] = {}      # media_id -> {articles, create_time, update_time}
        self.published: dict[str, dict] = {}   # publish_id -> job
        self.mass_sends: list[dict] = []
        self.previews: list[dict] = []
        self.filtered: list[dict] = []         # {media_id, index, kind, snippet}
        self.errors: list[str] = []            # tracebacks of bugs in the fake itself
        # 留言: (msg_data_id, index from 0) -> {"open": bool, "comments": [comment dicts]}
        self.comment_threads: dict[tuple[int, int], dict] = {}
        self.comment_privilege = True          # False: the account has no comment function (88000)
        # 服务器配置: set with ``configure_callback``; finished mass sends and publishes are pushed there.
        self.callback: Pusher | None = None
        self.ghid = "gh_" + os.urandom(6).hex()
        self.followers = 296                   # TotalCount of a mass send to all followers
        self._push_threads: list[threading.Thread] = []
        # 数据统计: new readers/sharers/在看 of an article on the k-th day after its publication
        # (tests may replace it), and days whose figures WeChat still marks is_delay.
        self.daily_figures: Callable[[int, int, int], dict] = _default_daily_figures
        self.delayed_dates: set[str] = set()
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._faults: dict[str, list[dict]] = {}
        self._token_expiry: dict[str, float] = {}
        self._current_token: dict[str, str] = {}  # "stable" / "basic" -> token
        self._daily: dict[tuple, int] = {}        # (name, beijing day) -> calls
        self._clientmsgids: dict[str, dict] = {}
        self._ids = itertools.count(1)
        self._salt = os.urandom(8).hex()
        self._server: ThreadingHTTPServer | None = None

    # ----- life cycle -------------------------------------------------------------------------

    @classmethod
    def from_env(cls, environ: dict | None = None) -> FakeWeChat:
        """Built from FAKE_WECHAT_APPID / _SECRET / _PORT / _ACCOUNT_TYPE / _UNVERIFIED."""
        env = os.environ if environ is None else environ
        return cls(env.get("FAKE_WECHAT_APPID", DEFAULT_APPID),
                   env.get("FAKE_WECHAT_SECRET", DEFAULT_SECRET),
                   verified=not env.get("FAKE_WECHAT_UNVERIFIED"),
                   account_type=env.get("FAKE_WECHAT_ACCOUNT_TYPE", "service"),
                   port=int(env.get("FAKE_WECHAT_PORT", "0")))

    def start(self) -> FakeWeChat:
        self._stopping.clear()
        self._server = ThreadingHTTPServer((self.host, self.port), _Handler)
        self._server.fake = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.01}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()  # wakes requests held by a "timeout" fault
        for thread in self._push_threads:  # pushes under way end (or give up) before the fake goes
            thread.join(PUSH_TIMEOUT * PUSH_ATTEMPTS)
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self._server = None

    def __enter__(self) -> FakeWeChat:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The ``api_base_url`` a client uses: endpoints are ``url + "cgi-bin/…"``."""
        return f"http://{self.host}:{self.port}/"

    # ----- observation and faults -------------------------------------------------------------

    def count(self, path: str) -> int:
        """Calls made to one endpoint ("draft/add" or "cgi-bin/draft/add"), faults included."""
        key = route_key(path)
        with self._lock:
            return sum(call.endpoint == key for call in self.calls)

    def reset_counts(self) -> None:
        with self._lock:
            self.calls.clear()

    def inject(self, path: str, fault: str | dict, times: int = 1, after: int = 0) -> None:
        """Queue ``fault`` for the next ``times`` calls to ``path``, after skipping ``after``.

        Faults: "busy" (-1), "rate" (45011), "token_expired" (42001), an errcode dict answered
        as is, "http500" — all without effect; "timeout" holds the request ``timeout_hold``
        seconds and closes without effect; "lost" performs the effect, then closes unanswered;
        "hang_after" performs the effect, then holds ``timeout_hold`` seconds and closes
        unanswered (a client killed while waiting: the effect happened, the answer never came).
        Per path, faults are consumed in order; ``after`` counts calls while its entry is first.
        """
        key = route_key(path)
        if key not in _ROUTES:
            raise ValueError(f"unknown endpoint {path!r}")
        if not (isinstance(fault, dict) and "errcode" in fault) and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; use one of {FAULTS} or an errcode dict")
        with self._lock:
            self._faults.setdefault(key, []).append(
                {"fault": fault, "times": times, "after": after})

    def clear_faults(self) -> None:
        """Forget every injected fault not consumed yet (WeChat has recovered)."""
        with self._lock:
            self._faults.clear()

    def faults_left(self) -> list[dict]:
        """Injected faults not consumed yet: [{path, fault, times, after}]."""
        with self._lock:
            return [{"path": key, **entry} for key, queue in self._faults.items()
                    for entry in queue]

    def valid_token(self) -> str:
        """The current stable access token, issued without an HTTP call (not counted)."""
        with self._lock:
            token = self._current_token.get("stable")
            if token is None or self.clock() >= self._token_expiry.get(token, 0):
                token = self._issue_token("stable")
            return token

    def _take_fault(self, key: str) -> Any:
        queue = self._faults.get(key)
        if not queue:
            return None
        head = queue[0]
        if head["after"] > 0:
            head["after"] -= 1
            return None
        head["times"] -= 1
        if head["times"] <= 0:
            queue.pop(0)
        return head["fault"]

    # ----- HTTP plumbing ----------------------------------------------------------------------

    def _serve(self, http: _Handler, method: str) -> None:
        url = urlsplit(http.path)
        path, query = url.path.lstrip("/"), dict(parse_qsl(url.query, keep_blank_values=True))
        body = http.rfile.read(int(http.headers.get("Content-Length") or 0))
        if self.latency[1] > 0:
            time.sleep(random.uniform(*self.latency))
        content_type = http.headers.get("Content-Type", "")
        key = _served_key(path)
        route = _ROUTES.get(key) if key else None
        with self._lock:
            fault = self._take_fault(key) if route else None
        record = dict(method=method, path=path, query=query, body=_summary(content_type, body),
                      time=self.clock(), fault=fault, endpoint=key if route else None,
                      port=http.client_address[1])
        if route is None:  # what a wrong api_base_url gets from the gateway
            self._record(record, None)
            return _send(http, 404, _HTML_404, "text/html")
        if fault == "timeout":
            self._record(record, None)
            self._stopping.wait(self.timeout_hold)
            return _drop(http)
        if fault is not None and fault not in ("lost", "hang_after", "proxy_page_after"):
            return self._answer_fault(http, record, fault)
        request = _Request(method, query, content_type, body, http.client_address[0])
        answer = self._answer(key, route, request)
        self._record(record, answer.get("errcode", 0))
        if fault == "hang_after":  # the effect happened; the caller waits for an answer in vain
            self._stopping.wait(self.timeout_hold)
        if fault in ("lost", "hang_after"):  # the effect happened; the answer never arrives
            return _drop(http)
        if fault == "proxy_page_after":  # the effect happened; the answer is a proxy's page
            return _send(http, 200, _PROXY_PAGE, "text/html; charset=utf-8")
        _send(http, 200, json.dumps(answer, ensure_ascii=False).encode("utf-8"), _JSON_TYPE)

    def _answer_fault(self, http: _Handler, record: dict, fault: Any) -> None:
        if fault == "http500":
            self._record(record, None)
            return _send(http, 500, _HTML_500, "text/html")
        answer = dict(fault) if isinstance(fault, dict) else {
            "busy": WeChatError(-1, "system error"),
            "rate": WeChatError(45011, "api minute-quota reach limit  mustslower  retry next minute"),
            "token_expired": WeChatError(42001, "access_token expired"),
        }[fault].answer()
        self._record(record, answer.get("errcode"))
        _send(http, 200, json.dumps(answer, ensure_ascii=False).encode("utf-8"), _JSON_TYPE)

    def _record(self, record: dict, errcode: int | None) -> None:
        with self._lock:
            self.calls.append(Call(errcode=errcode, **record))

    def _answer(self, key: str, route: _Route, request: _Request) -> dict:
        try:
            with self._lock:
                if route.token:
                    self._check_token(request.query.get("access_token"))
                if request.method not in route.methods:
                    raise WeChatError(44002, "empty post data")
                if route.verified and not self.verified:
                    raise WeChatError(48001, "api unauthorized")
                self._count_daily(key, self.quotas.get(key))
                return getattr(self, route.handler)(request)
        except WeChatError as error:
            return error.answer()
        except Exception:  # a bug in the fake: keep it visible to tests, never a quiet answer
            self.errors.append(traceback.format_exc())
            raise

    def _check_token(self, token: str | None) -> None:
        if not token:
            raise WeChatError(41001, "access_token missing")
        expires = self._token_expiry.get(token)
        if expires is None:
            raise WeChatError(40001, "invalid credential, access_token is invalid or not latest")
        if self.clock() >= expires:
            raise WeChatError(42001, "access_token expired")

    def _count_daily(self, name: str, limit: int | None) -> None:
        """Counts a call against a per-day quota (Beijing day): 45009 once it is used up."""
        if limit is None:
            return
        day = (name, _beijing(self.clock()).date())
        if self._daily.get(day, 0) >= limit:
            raise WeChatError(45009, "reach max api daily quota limit")
        self._daily[day] = self._daily.get(day, 0) + 1

    def _new_id(self, kind: str, length: int = 43) -> str:
        seed = f"{self._salt}:{kind}:{next(self._ids)}".encode()
        blocks = [hashlib.sha256(seed + bytes([i])).digest() for i in range(length // 43 + 1)]
        return base64.urlsafe_b64encode(b"".join(blocks)).decode()[:length]

    # ----- tokens -----------------------------------------------------------------------------

    def _check_credentials(self, request: _Request, grant_type, appid, secret, bad_secret):
        if grant_type != "client_credential":
            raise WeChatError(40002, "invalid grant_type")
        if not appid:
            raise WeChatError(41002, "appid missing")
        if appid != self.appid:
            raise WeChatError(40013, "invalid appid")
        if not secret:
            raise WeChatError(41004, "appsecret missing")
        if secret != self.secret:
            raise WeChatError(*bad_secret)
        if self.ip_whitelist is not None and request.ip not in self.ip_whitelist:
            raise WeChatError(40164, f"invalid ip {request.ip} ipv6 ::ffff:{request.ip}, "
                                     "not in whitelist")

    def _issue_token(self, kind: str) -> str:
        """A new token of one kind; the previous one of that kind dies at once (stricter than
        the documented 5-minute overlap). stable_token and token are isolated from each other."""
        self._token_expiry.pop(self._current_token.get(kind, ""), None)
        token = self._new_id("token", 160)
        self._token_expiry[token] = self.clock() + self.token_ttl
        self._current_token[kind] = token
        self.tokens_issued.append(token)
        return token

    def _token(self, request: _Request) -> dict:
        """GET cgi-bin/token: the old API; every call replaces the token."""
        q = request.query
        self._check_credentials(request, q.get("grant_type"), q.get("appid"), q.get("secret"),
                                (40001, "invalid credential, access_token is invalid or not latest"))
        return {"access_token": self._issue_token("basic"), "expires_in": int(self.token_ttl)}

    def _stable_token(self, request: _Request) -> dict:
        """POST cgi-bin/stable_token: the same token while valid unless force_refresh."""
        body = request.json
        self._check_credentials(request, body.get("grant_type"), body.get("appid"),
                                body.get("secret"), (40125, "invalid appsecret"))
        now, token = self.clock(), self._current_token.get("stable")
        if body.get("force_refresh") is True:
            self._count_daily("force_refresh", FORCE_REFRESH_PER_DAY)
            token = self._issue_token("stable")
        elif token is None or now >= self._token_expiry.get(token, 0):
            token = self._issue_token("stable")
        return {"access_token": token, "expires_in": int(self._token_expiry[token] - now)}

    # ----- media and material -----------------------------------------------------------------

    def _media_file(self, request: _Request, allowed: set, max_bytes: int) -> tuple[str, bytes]:
        """The ``media`` part, checked by content and by file-name extension (a name without
        one is refused by WeChat too): (image type, bytes)."""
        filename, data = request.files.get("media", (None, None))
        if data is None:
            raise WeChatError(41005, "media data missing")
        if not data:
            raise WeChatError(44001, "empty media data")
        kind, ext = sniff_image(data), (filename or "").rpartition(".")[2].lower()
        if kind not in allowed or _EXTENSIONS.get(ext) not in allowed:
            raise WeChatError(40005, "invalid file type")
        if len(data) > max_bytes:
            raise WeChatError(40009, "invalid image size")
        return kind, data

    def _stored_image(self, kind: str, data: bytes) -> tuple[str, dict]:
        ident = self._new_id("image", 54)
        url = f"http://mmbiz.qpic.cn/mmbiz_{'jpg' if kind == 'jpeg' else kind}/{ident}/0"
        info = {"type": kind, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                "time": self.clock()}
        return url, info

    def _uploadimg(self, request: _Request) -> dict:
        """Body images: jpg/png < 1 MB. Not deduplicated: the same bytes get a new URL."""
        kind, data = self._media_file(request, {"jpeg", "png"}, UPLOADIMG_MAX)
        url, info = self._stored_image(kind, data)
        self.images[url] = info
        return {"url": url}

    def _add_material(self, request: _Request) -> dict:
        """Permanent image material: bmp/png/jpeg/gif; only ``type=image`` is modelled."""
        if request.query.get("type") != "image":
            raise WeChatError(40004, "invalid media type")
        kind, data = self._media_file(request, {"bmp", "png", "jpeg", "gif"},
                                      self.material_max_bytes)
        url, info = self._stored_image(kind, data)
        media_id = self._new_id("material")
        self.materials[media_id] = {**info, "url": f"{url}?wx_fmt={kind}"}
        return {"media_id": media_id, "url": f"{url}?wx_fmt={kind}"}

    def _media_upload(self, request: _Request) -> dict:
        """Temporary media (3 days): its media_id looks like a permanent one but is not one."""
        media_type = request.query.get("type")
        if media_type not in ("image", "thumb"):
            raise WeChatError(40004, "invalid media type")
        allowed, limit = ({"jpeg"}, THUMB_MAX) if media_type == "thumb" else (
            {"jpeg", "png"}, self.material_max_bytes)
        _kind, data = self._media_file(request, allowed, limit)
        media_id = self._new_id("temp")
        self.temp_media[media_id] = {"type": media_type, "size": len(data), "time": self.clock()}
        return {"type": media_type, "media_id": media_id, "created_at": int(self.clock())}

    def _del_material(self, request: _Request) -> dict:
        media_id = request.json.get("media_id")
        if not isinstance(media_id, str) or self.materials.pop(media_id, None) is None:
            raise WeChatError(40007, "invalid media_id")
        return {"errcode": 0, "errmsg": "ok"}

    def _material_count(self, request: _Request) -> dict:
        return {"voice_count": 0, "video_count": 0, "image_count": len(self.materials),
                "news_count": 0}

    # ----- draft box --------------------------------------------------------------------------
    # Codes chosen where the docs do not say: no articles 44003 "empty news data", more than 8
    # 45008 "article size out of limit", no title 44003, no content 44004 "empty content",
    # author too long 45110 "author size out of limit", a non-string field 47001, a comment
    # flag other than 0/1 40035 "invalid args", a missing or non-permanent thumb 40007.

    def _validate_article(self, article: Any) -> None:
        if not isinstance(article, dict):
            raise WeChatError(47001, "data format error")
        title, author, digest, content, source = (
            _text(article, name) for name in
            ("title", "author", "digest", "content", "content_source_url"))
        checks = [
            (not title.strip(), 44003, "empty news data"),
            (utf16_len(title) > TITLE_MAX, 45003, "title size out of limit"),
            (utf16_len(author) > AUTHOR_MAX, 45110, "author size out of limit"),
            (utf16_len(digest) > DIGEST_MAX, 45004, "description size out of limit"),
            (not content.strip(), 44004, "empty content"),
            (utf16_len(content) >= CONTENT_MAX_CHARS
             or len(content.encode("utf-8")) >= CONTENT_MAX_BYTES, 45002,
             "content size out of limit"),
            (len(source.encode("utf-8")) > SOURCE_URL_MAX, 45005, "url size out of limit"),
            (not all(_flag(article.get(name, 0))
                     for name in ("need_open_comment", "only_fans_can_comment")),
             40035, "invalid args"),
            # The cover must be a permanent image material, not a temporary media_id.
            (not isinstance(article.get("thumb_media_id"), str)
             or article["thumb_media_id"] not in self.materials, 40007, "invalid media_id"),
        ]
        for failed, errcode, errmsg in checks:
            if failed:
                raise WeChatError(errcode, errmsg)

    def _stored_article(self, article: dict, media_id: str, index: int) -> dict:
        """The article as WeChat keeps it: filtered content, and what was filtered noted."""
        sanitizer = ContentFilter(self._issued_image)
        content = sanitizer.run(article["content"])
        self.filtered.extend({"media_id": media_id, "index": index, "kind": kind,
                              "snippet": snippet} for kind, snippet in sanitizer.found)
        thumb = article["thumb_media_id"]
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]*>", "", content)).strip()
        return {
            "title": article["title"], "author": _text(article, "author"),
            # WeChat fills an empty digest with the first 54 characters of the text.
            "digest": _text(article, "digest") or text[:54], "content": content,
            "content_source_url": _text(article, "content_source_url"),
            "thumb_media_id": thumb, "thumb_url": self.materials[thumb]["url"],
            "need_open_comment": article.get("need_open_comment", 0),
            "only_fans_can_comment": article.get("only_fans_can_comment", 0),
            "url": f"http://mp.weixin.qq.com/s?__biz=fake&tempkey={self._new_id('tempkey', 24)}",
        }

    def _issued_image(self, src: str) -> bool:
        """Body images must be uploadimg URLs of this account (add_material URLs are not
        documented for bodies, so the stricter reading refuses them)."""
        return any(_image_key(src) == _image_key(url) for url in self.images)

    def _draft(self, media_id: Any) -> dict:
        draft = self.drafts.get(media_id) if isinstance(media_id, str) else None
        if draft is None:
            raise WeChatError(40007, "invalid media_id")
        return draft

    def _draft_add(self, request: _Request) -> dict:
        articles = request.json.get("articles")
        if not isinstance(articles, list) or not articles:
            raise WeChatError(44003, "empty news data")
        if len(articles) > MAX_ARTICLES:
            raise WeChatError(45008, "article size out of limit")
        for article in articles:
            self._validate_article(article)
        media_id, now = self._new_id("draft"), int(self.clock())
        self.drafts[media_id] = {
            "articles": [self._stored_article(a, media_id, i) for i, a in enumerate(articles)],
            "create_time": now, "update_time": now}
        return {"media_id": media_id}

    def _draft_get(self, request: _Request) -> dict:
        return {"news_item": [dict(a) for a in self._draft(request.json.get("media_id"))["articles"]]}

    def _draft_update(self, request: _Request) -> dict:
        body = request.json
        draft, index = self._draft(body.get("media_id")), body.get("index")
        if not _int(index) or not 0 <= index < len(draft["articles"]):
            raise WeChatError(40035, "invalid args")
        self._validate_article(body.get("articles"))
        draft["articles"][index] = self._stored_article(body["articles"], body["media_id"], index)
        draft["update_time"] = int(self.clock())
        return {"errcode": 0, "errmsg": "ok"}

    def _draft_delete(self, request: _Request) -> dict:
        media_id = request.json.get("media_id")
        self._draft(media_id)
        del self.drafts[media_id]
        return {"errcode": 0, "errmsg": "ok"}

    def _draft_count(self, request: _Request) -> dict:
        return {"total_count": len(self.drafts)}

    def _draft_batchget(self, request: _Request) -> dict:
        items = [{"media_id": media_id, "content": {"news_item": draft["articles"]},
                  "update_time": draft["update_time"]}
                 for media_id, draft in reversed(self.drafts.items())]
        return _page(request.json, items)

    # ----- free publish -----------------------------------------------------------------------

    def _publish_submit(self, request: _Request) -> dict:
        """Accepts a draft for publishing; the draft leaves the draft box."""
        media_id = request.json.get("media_id")
        draft = self._draft(media_id)
        del self.drafts[media_id]
        job = {"publish_id": str(100_000_000 + next(self._ids)),
               "msg_data_id": 2_247_483_000 + next(self._ids), "media_id": media_id,
               "articles": [dict(a) for a in draft["articles"]],
               "polls_left": self.publish_polls, "outcome": self.publish_outcome,
               "fail_idx": list(self.publish_fail_idx), "status": 1, "article_id": "",
               "time": int(self.clock())}
        self.published[job["publish_id"]] = job
        return {"errcode": 0, "errmsg": "ok", "publish_id": job["publish_id"],
                "msg_data_id": job["msg_data_id"]}

    def _publish_job(self, publish_id: Any) -> dict:
        job = self.published.get(str(publish_id))
        if job is None:
            raise WeChatError(40035, "invalid args")
        return job

    def _advance(self, job: dict) -> None:
        """One look at a job: publishing for ``publish_polls`` looks, then its outcome."""
        if job["polls_left"] > 0:
            job["polls_left"] -= 1
        elif job["status"] == 1:
            job["status"] = job["outcome"]
            if job["status"] == 0:
                job["article_id"] = self._new_id("article")
                for article in job["articles"]:
                    article["url"] = f"https://mp.weixin.qq.com/s/{self._new_id('url', 22)}"
                    article["is_deleted"] = False
            self._push_later(self.publish_event(job))

    def _publish_get(self, request: _Request) -> dict:
        """publish_status 1 (publishing) for ``publish_polls`` polls, then the outcome."""
        job = self._publish_job(request.json.get("publish_id"))
        self._advance(job)
        done = job["status"] in (0, 5)
        items = [{"idx": i + 1, "article_url": a["url"]}
                 for i, a in enumerate(job["articles"])] if done else []
        return {"publish_id": job["publish_id"], "publish_status": job["status"],
                "article_id": job["article_id"],
                "article_detail": {"count": len(items), "item": items},
                "fail_idx": job["fail_idx"] if job["status"] in (2, 3) else []}

    def _published_by_article(self, article_id: Any) -> dict:
        for job in self.published.values():
            if article_id and job["article_id"] == article_id:
                return job
        raise WeChatError(40035, "invalid args")

    def _publish_batchget(self, request: _Request) -> dict:
        # WeChat finishes a job whether or not anyone polls it (a submit whose answer was
        # lost is never polled): a listing counts as a look at every unfinished job.
        for job in self.published.values():
            if job["status"] == 1:
                self._advance(job)
        items = [{"article_id": job["article_id"],
                  "content": {"news_item": job["articles"], "create_time": job["time"],
                              "update_time": job["time"]},
                  "update_time": job["time"]}
                 for job in reversed(self.published.values()) if job["status"] == 0]
        return _page(request.json, items)

    def _publish_getarticle(self, request: _Request) -> dict:
        job = self._published_by_article(request.json.get("article_id"))
        return {"news_item": [dict(a) for a in job["articles"]]}

    def _publish_delete(self, request: _Request) -> dict:
        """Deletes one article (index from 1) or, with index 0 or none, all of them."""
        body = request.json
        job, index = self._published_by_article(body.get("article_id")), body.get("index", 0)
        if not _int(index) or not 0 <= index <= len(job["articles"]):
            raise WeChatError(40035, "invalid args")
        for i, article in enumerate(job["articles"], 1):
            article["is_deleted"] = article["is_deleted"] or index in (0, i)
        if all(a["is_deleted"] for a in job["articles"]):
            job["status"] = 5
        return {"errcode": 0, "errmsg": "ok"}

    # ----- mass send --------------------------------------------------------------------------
    # Codes chosen: filter.group_id (wechatpy's send_mass_article) 40050 "invalid group id",
    # neither is_to_all true nor an integer tag_id 40035, msgtype other than mpnews 40008,
    # clientmsgid longer than 32 45067, non-ASCII or non-string clientmsgid 40035.

    def _mass_sendall(self, request: _Request) -> dict:
        body = request.json
        selection = body.get("filter")
        if not isinstance(selection, dict):
            raise WeChatError(40035, "invalid args")
        if "group_id" in selection:
            raise WeChatError(40050, "invalid group id")
        if selection.get("is_to_all") is not True and not _int(selection.get("tag_id")):
            raise WeChatError(40035, "invalid args")
        media_id = self._mpnews_media_id(body)
        clientmsgid = _clientmsgid(body.get("clientmsgid"))
        if not _flag(body.get("send_ignore_reprint", 0)):
            raise WeChatError(40035, "invalid args")
        now = self.clock()
        # The repeat check comes before the draft lookup: a retried send must learn its msg_id
        # even though the first send already removed the draft.
        if clientmsgid:
            self._refuse_repeat(clientmsgid, now)
        draft = self._draft(media_id)
        # Without clientmsgid WeChat derives one from the audience and the content.
        audience_and_content = [selection, [(a["title"], a["digest"], a["content"])
                                            for a in draft["articles"]]]
        key = clientmsgid or "auto:" + hashlib.sha256(
            json.dumps(audience_and_content, sort_keys=True).encode()).hexdigest()
        if not clientmsgid:
            self._refuse_repeat(key, now)
        self._check_mass_quota(now)
        del self.drafts[media_id]
        for article in draft["articles"]:  # each article of a mass send gets its page
            article["url"] = f"https://mp.weixin.qq.com/s/{self._new_id('url', 22)}"
            article["is_deleted"] = False
        send = {"msg_id": 1_000_000_000 + next(self._ids),
                "msg_data_id": 2_247_483_000 + next(self._ids), "clientmsgid": clientmsgid,
                "media_id": media_id, "articles": draft["articles"], "filter": selection,
                "time": now, "polls_left": self.send_polls, "outcome": self.send_outcome}
        self.mass_sends.append(send)
        self._clientmsgids[key] = {"msg_id": send["msg_id"], "sent": now, "last": now}
        return {"errcode": 0, "errmsg": "send job submission success",
                "msg_id": send["msg_id"], "msg_data_id": send["msg_data_id"]}

    def _mpnews_media_id(self, body: dict) -> Any:
        if body.get("msgtype") != "mpnews":
            raise WeChatError(40008, "invalid message type")
        mpnews = body.get("mpnews")
        return mpnews.get("media_id") if isinstance(mpnews, dict) else None

    def _refuse_repeat(self, key: str, now: float) -> None:
        """45065 (with the earlier msg_id) for a repeat within 24 h; 45066 when the previous
        attempt with this clientmsgid was less than a minute ago."""
        seen = self._clientmsgids.get(key)
        if seen is None or now - seen["sent"] >= 86_400:
            return
        too_fast = now - seen["last"] < self.clientmsgid_retry_window
        seen["last"] = now
        if too_fast:
            raise WeChatError(45066, "same clientmsgid retry too fast")
        raise WeChatError(45065, "clientmsgid exist", msg_id=seen["msg_id"])

    def _check_mass_quota(self, now: float) -> None:
        """Subscription accounts: one mass send a day; service accounts: 4 a month (modelled
        per account, the per-follower limit with every follower reached)."""
        today = _beijing(now)
        if self.account_type == "subscription":
            used = sum(_beijing(s["time"]).date() == today.date() for s in self.mass_sends)
            limit = 1 if self.mass_quota is None else self.mass_quota
        else:
            used = sum(_beijing(s["time"]).strftime("%Y%m") == today.strftime("%Y%m")
                       for s in self.mass_sends)
            limit = 4 if self.mass_quota is None else self.mass_quota
        if used >= limit:
            raise WeChatError(45028, "has no masssend quota")

    def _mass_get(self, request: _Request) -> dict:
        """SENDING for ``send_polls`` polls, then the configured outcome."""
        msg_id = request.json.get("msg_id")
        for send in self.mass_sends:
            if str(send["msg_id"]) == str(msg_id):
                if send.get("deleted"):
                    return {"msg_id": send["msg_id"], "msg_status": "DELETE"}
                if self.mass_protection and not send.get("confirmed"):
                    waited = self.clock() - send["time"]
                    status = "SEND_FAIL" if waited >= PROTECTION_SECONDS else "SENDING"
                    return {"msg_id": send["msg_id"], "msg_status": status}
                if send["polls_left"] > 0:
                    send["polls_left"] -= 1
                    return {"msg_id": send["msg_id"], "msg_status": "SENDING"}
                if not send.get("pushed"):  # the job ended: its event goes to the developer's URL
                    send["pushed"] = True
                    self._push_later(self.mass_send_event(send))
                return {"msg_id": send["msg_id"], "msg_status": send["outcome"]}
        raise WeChatError(40035, "invalid args")

    def _mass_delete(self, request: _Request) -> dict:
        """删除群发消息: ``msg_id`` (or, without it, the article ``url``) and ``article_idx`` from 1,
        0 or absent = every article. Only a send that succeeded can be deleted; an unknown, unsent or
        already deleted message (or article) is 40059, the one code WeChat's page names for it."""
        body = request.json
        msg_id, index, url = body.get("msg_id"), body.get("article_idx", 0), body.get("url")
        if index is None:
            index = 0
        if not _int(index) or index < 0:
            raise WeChatError(40035, "invalid args")
        send = None
        if msg_id is not None:
            if not _int(msg_id):
                raise WeChatError(40059, "invalid msg id")
            send = next((s for s in self.mass_sends if s["msg_id"] == msg_id), None)
        elif isinstance(url, str) and url:
            for candidate in self.mass_sends:
                found = [i for i, a in enumerate(candidate["articles"], 1) if a.get("url") == url.strip()]
                if found:
                    send, index = candidate, found[0]
        if send is None or send.get("deleted") or not self._mass_succeeded(send):
            raise WeChatError(40059, "invalid msg id")
        if index > len(send["articles"]):
            raise WeChatError(40035, "invalid args")
        chosen = send["articles"] if index == 0 else [send["articles"][index - 1]]
        if all(a.get("is_deleted") for a in chosen):
            raise WeChatError(40059, "invalid msg id")
        for article in chosen:
            article["is_deleted"] = True
        send["deleted"] = all(a.get("is_deleted") for a in send["articles"])
        return {"errcode": 0, "errmsg": "ok"}

    def _mass_succeeded(self, send: dict) -> bool:
        """Whether message/mass/get would answer SEND_SUCCESS now (without counting as a look)."""
        if self.mass_protection and not send.get("confirmed"):
            return False
        return send["polls_left"] <= 0 and send["outcome"] == "SEND_SUCCESS"

    def served(self, url: str) -> dict | None:
        """The article WeChat shows at ``url`` (a mass send's or a 发布's), or None once deleted."""
        with self._lock:
            jobs = [*self.mass_sends, *self.published.values()]
            for job in jobs:
                for article in job["articles"]:
                    if article.get("url") == url:
                        return None if article.get("is_deleted") else dict(article)
        return None

    def confirm_mass_send(self, msg_id: Any) -> None:
        """The administrator confirms a protected mass send on the phone."""
        for send in self.mass_sends:
            if str(send["msg_id"]) == str(msg_id):
                send["confirmed"] = True

    # ----- event pushes ------------------------------------------------------------------------

    def configure_callback(self, url: str, token: str, *, aes_key: str = "", mode: str = "plain",
                           timeout: float = PUSH_TIMEOUT) -> Pusher:
        """What an administrator saves under 服务器配置: from now on job events are pushed to ``url``."""
        self.callback = Pusher(self.appid, url, token, aes_key=aes_key, mode=mode, timeout=timeout)
        return self.callback

    @property
    def pushes(self) -> list[Push]:
        return list(self.callback.pushes) if self.callback else []

    def wait_for_pushes(self, timeout: float = 60.0) -> list[Push]:
        """Wait until every event push begun so far has ended (accepted or given up); all deliveries."""
        for thread in list(self._push_threads):
            thread.join(timeout)
        return self.pushes

    def mass_send_event(self, send: dict) -> list[tuple[str, Any]]:
        """MASSSENDJOBFINISH as WeChat pushes it (群发结果事件推送), article links for a success."""
        ok = send["outcome"] == "SEND_SUCCESS"
        urls = send.setdefault("urls", [f"https://mp.weixin.qq.com/s/{self._new_id('url', 22)}"
                                        for _ in send["articles"]]) if ok else []
        sent = self.followers - 1 if ok else 0
        return [("ToUserName", self.ghid), ("FromUserName", "o" + self._new_id("openid", 27)),
                ("CreateTime", int(self.clock())), ("MsgType", "event"), ("Event", "MASSSENDJOBFINISH"),
                ("MsgID", send["msg_id"]), ("Status", "send success" if ok else "send fail"),
                ("TotalCount", self.followers), ("FilterCount", self.followers - 1), ("SentCount", sent),
                ("ErrorCount", self.followers - 1 - sent),
                ("CopyrightCheckResult", [("Count", 0), ("ResultList", []), ("CheckState", 1)]),
                ("ArticleUrlResult", [("Count", len(urls)), ("ResultList", [
                    ("item", [("ArticleIdx", i), ("ArticleUrl", url)]) for i, url in enumerate(urls, 1)])])]

    def publish_event(self, job: dict) -> list[tuple[str, Any]]:
        """PUBLISHJOBFINISH as WeChat pushes it (发布能力 事件推送)."""
        info: list[tuple[str, Any]] = [("publish_id", int(job["publish_id"])), ("publish_status", job["status"])]
        if job["status"] == 0:
            info += [("article_id", job["article_id"]), ("article_detail", [("count", len(job["articles"])), *[
                ("item", [("idx", i), ("article_url", a["url"])]) for i, a in enumerate(job["articles"], 1)]])]
        elif job["status"] in (2, 3):
            info += [("fail_idx", i) for i in job["fail_idx"]]
        return [("ToUserName", self.ghid), ("FromUserName", "mphelper"), ("CreateTime", int(self.clock())),
                ("MsgType", "event"), ("Event", "PUBLISHJOBFINISH"), ("PublishEventInfo", info)]

    def _push_later(self, fields: list[tuple[str, Any]]) -> None:
        """WeChat pushes on its own time, not inside the API call that noticed the job ended."""
        if self.callback is None:
            return
        thread = threading.Thread(target=self.callback.push, args=(fields,), daemon=True)
        self._push_threads.append(thread)
        thread.start()

    def _mass_preview(self, request: _Request) -> dict:
        """Sends a draft to one phone; the draft stays in the box."""
        body = request.json
        to = {k: body[k] for k in ("touser", "towxname") if isinstance(body.get(k), str) and body[k]}
        if not to:
            raise WeChatError(40003, "invalid openid")
        media_id = self._mpnews_media_id(body)
        draft = self._draft(media_id)
        msg_id = 1_000_000_000 + next(self._ids)
        self.previews.append({**to, "media_id": media_id, "msg_id": msg_id,
                              "articles": [dict(a) for a in draft["articles"]],
                              "time": self.clock()})
        return {"errcode": 0, "errmsg": "preview success", "msg_id": msg_id}


    # ----- 图文消息留言管理 (comments) ------------------------------------------------------------
    # Documented codes: 88000 without comment privilege, 88001 msg_data is not exists (also an
    # index past the last article), 88004 comment was deleted by user, 88005 already reply,
    # 88007 reply content beyond max len or content len is zero, 88008 comment is not exists,
    # 88009 reply is not exists, 88010 count range error (count ≤ 0 or ≥ 50: "≥50会被拒绝").
    # Chosen: begin < 0, a non-integer field or type outside 0/1/2 → 40035 invalid args.

    def add_user_comment(self, msg_data_id: Any, index: int, content: str, *,
                         openid: str | None = "o-fan-1", at: float | None = None) -> int:
        """A follower comments on article ``index`` (from 0) of a mass send; its
        user_comment_id. Refused (ValueError) where comments are closed, as WeChat's page is."""
        with self._lock:
            thread = self._comment_thread(msg_data_id, index)
            if not thread["open"]:
                raise ValueError("comments are closed on this article")
            comment = {"user_comment_id": len(thread["comments"]) + 1, "content": content,
                       "create_time": int(self.clock() if at is None else at), "comment_type": 0,
                       "openid": openid, "reply": None, "deleted": False, "deleted_by_user": False}
            thread["comments"].append(comment)
            return comment["user_comment_id"]

    def user_deletes_comment(self, msg_data_id: Any, index: int, user_comment_id: int) -> None:
        with self._lock:
            self._user_comment(self._comment_thread(msg_data_id, index), user_comment_id)["deleted_by_user"] = True

    def _articles_of(self, msg_data_id: Any) -> list[dict]:
        # The pages speak of "群发返回的msg_data_id" only: a publish's ids are not taken (stricter).
        if _int(msg_data_id):
            for send in self.mass_sends:
                if send["msg_data_id"] == msg_data_id:
                    return send["articles"]
        raise WeChatError(88001, "msg_data is not exists")

    def _comment_thread(self, msg_data_id: Any, index: Any) -> dict:
        if not self.comment_privilege:
            raise WeChatError(88000, "without comment privilege")
        articles = self._articles_of(msg_data_id)
        if not _int(index):
            raise WeChatError(40035, "invalid args")
        if not 0 <= index < len(articles):  # indexes count from 0: len(articles) is one too far
            raise WeChatError(88001, "msg_data is not exists")
        return self.comment_threads.setdefault((msg_data_id, index), {
            "open": articles[index].get("need_open_comment") == 1, "comments": []})

    def _body_thread(self, body: dict) -> dict:
        return self._comment_thread(body.get("msg_data_id"), body.get("index", 0))  # absent: the first article

    def _user_comment(self, thread: dict, user_comment_id: Any) -> dict:
        if not _int(user_comment_id):
            raise WeChatError(40035, "invalid args")
        for comment in thread["comments"]:
            if comment["user_comment_id"] == user_comment_id and not comment["deleted"]:
                if comment["deleted_by_user"]:
                    raise WeChatError(88004, "comment was deleted by user")
                return comment
        raise WeChatError(88008, "comment is not exists")

    def _comment_open(self, request: _Request) -> dict:
        self._body_thread(request.json)["open"] = True
        return {"errcode": 0, "errmsg": "ok"}

    def _comment_close(self, request: _Request) -> dict:
        self._body_thread(request.json)["open"] = False
        return {"errcode": 0, "errmsg": "ok"}

    def _comment_list(self, request: _Request) -> dict:
        body = request.json
        thread = self._body_thread(body)
        begin, count, kind = body.get("begin"), body.get("count"), body.get("type")
        if not _int(count) or not 0 < count < 50:
            raise WeChatError(88010, "count range error. cout <= 0 or count >= 50")
        if not _int(begin) or begin < 0 or not _int(kind) or kind not in (0, 1, 2):
            raise WeChatError(40035, "invalid args")
        shown = [c for c in thread["comments"] if not c["deleted"] and not c["deleted_by_user"]
                 and (kind == 0 or c["comment_type"] == kind - 1)]
        page = []
        for c in shown[begin:begin + count]:
            item = {k: c[k] for k in ("user_comment_id", "create_time", "content", "comment_type")}
            if c["openid"]:  # not returned for a comment made without a WeChat identity
                item["openid"] = c["openid"]
            if c["reply"]:
                item["reply"] = dict(c["reply"])
            page.append(item)
        return {"errcode": 0, "errmsg": "ok", "comment": page, "total": len(shown)}

    def _mark(self, request: _Request, selected: int) -> dict:
        body = request.json
        self._user_comment(self._body_thread(body), body.get("user_comment_id"))["comment_type"] = selected
        return {"errcode": 0, "errmsg": "ok"}

    def _comment_markelect(self, request: _Request) -> dict:
        return self._mark(request, 1)

    def _comment_unmarkelect(self, request: _Request) -> dict:
        return self._mark(request, 0)

    def _comment_delete(self, request: _Request) -> dict:
        body = request.json
        self._user_comment(self._body_thread(body), body.get("user_comment_id"))["deleted"] = True
        return {"errcode": 0, "errmsg": "ok"}

    def _comment_reply_add(self, request: _Request) -> dict:
        body = request.json
        comment = self._user_comment(self._body_thread(body), body.get("user_comment_id"))
        content = body.get("content")
        if not isinstance(content, str) or not content.strip():
            raise WeChatError(88007, "reply content beyond max len or content len is zero")
        if comment["reply"]:
            raise WeChatError(88005, "already reply")
        comment["reply"] = {"content": content, "create_time": int(self.clock())}
        return {"errcode": 0, "errmsg": "ok"}

    def _comment_reply_delete(self, request: _Request) -> dict:
        body = request.json
        comment = self._user_comment(self._body_thread(body), body.get("user_comment_id"))
        if not comment["reply"]:
            raise WeChatError(88009, "reply is not exists")
        comment["reply"] = None
        return {"errcode": 0, "errmsg": "ok"}
    # ----- 数据统计 (article figures) ----------------------------------------------------------
    # Codes: a date not written YYYY-MM-DD 61500; begin_date after end_date, a range of more
    # than one day, a day before 2025-11-01 (whose data the pages call invalid) or not before
    # today 61501 (“date range error”).

    def _figures_day(self, body: dict) -> str:
        begin, end = body.get("begin_date"), body.get("end_date")
        for value in (begin, end):
            if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                raise WeChatError(61500, "date format error")
            try:
                datetime.strptime(value, "%Y-%m-%d")
            except ValueError:
                raise WeChatError(61500, "date format error") from None
        today = _beijing(self.clock()).date().isoformat()
        if begin != end or begin < FIGURES_SINCE or end >= today:
            raise WeChatError(61501, "date range error")
        return begin

    def _delayed(self, day: str) -> bool:
        """Figures of ``day`` are final only after 08:00 Beijing time the next day."""
        final = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=BEIJING) + timedelta(
            days=1, hours=FIGURES_FINAL_HOUR)
        return day in self.delayed_dates or _beijing(self.clock()) < final

    def _went_out(self, notified: bool | None = None) -> list[tuple[int, str, list[dict]]]:
        """(msg_data_id, Beijing publish date, articles) of every mass send (followers notified)
        and publish (not notified) that reached readers; ``notified`` picks one kind."""
        sent = [(s["msg_data_id"], s["time"], s["articles"]) for s in self.mass_sends
                if notified is not False and s["outcome"] == "SEND_SUCCESS"
                and not (self.mass_protection and not s.get("confirmed"))]
        sent += [(j["msg_data_id"], j["time"], j["articles"]) for j in self.published.values()
                 if notified is not True and j["status"] == 0]
        return [(data_id, _beijing(when).date().isoformat(), articles) for data_id, when, articles in sent]

    def _on_day(self, data_id: int, index: int, pub: str, day: str) -> dict:
        """New figures of one article on ``day`` (halved while the day is delayed)."""
        k = (datetime.strptime(day, "%Y-%m-%d") - datetime.strptime(pub, "%Y-%m-%d")).days
        if k < 0:
            return {"read_user": 0, "share_user": 0, "zaikan_user": 0}
        figures = self.daily_figures(data_id, index, k)
        return {name: (n // 2 if self._delayed(day) else n) for name, n in figures.items()}

    def _article_read(self, request: _Request) -> dict:
        day = self._figures_day(request.json)
        rows = []
        for data_id, pub, articles in self._went_out():
            for index in range(1, len(articles) + 1):
                read = self._on_day(data_id, index, pub, day)["read_user"]
                if read:
                    rows.append({"ref_date": day, "msgid": f"{data_id}_{index}", "detail": {
                        "read_user": read, "read_user_source": [{"scene_desc": "全部", "user_count": read}]}})
        return {"list": rows, "is_delay": self._delayed(day)}

    def _article_share(self, request: _Request) -> dict:
        day = self._figures_day(request.json)
        rows = [{"ref_date": day, "msgid": f"{data_id}_{index}", "detail": {"share_user": share}}
                for data_id, pub, articles in self._went_out() for index in range(1, len(articles) + 1)
                if (share := self._on_day(data_id, index, pub, day)["share_user"])]
        return {"list": rows, "is_delay": self._delayed(day)}

    def _biz_summary(self, request: _Request) -> dict:
        """The account's figures of the day, summed over every article (one day per call: the
        page does not give a maximum range, so the stricter one of its siblings holds)."""
        day = self._figures_day(request.json)
        totals = {"read_user": 0, "share_user": 0, "zaikan_user": 0}
        for data_id, pub, articles in self._went_out():
            for index in range(1, len(articles) + 1):
                for name, n in self._on_day(data_id, index, pub, day).items():
                    totals[name] += n
        detail = {**totals, "read_user_source": [{"scene_desc": "全部", "user_count": totals["read_user"]}],
                  "like_user": 0, "comment_count": 0, "collection_user": 0}
        return {"list": [{"ref_date": day, "detail": detail}], "is_delay": self._delayed(day)}

    def _article_totaldetail(self, request: _Request) -> dict:
        """The articles published on the day, with running totals per stat_date up to yesterday
        (30 days at most)."""
        day = self._figures_day(request.json)
        yesterday = (_beijing(self.clock()).date() - timedelta(days=1)).isoformat()
        first = datetime.strptime(day, "%Y-%m-%d")
        stat_dates = [d for d in ((first + timedelta(days=k)).date().isoformat() for k in range(FIGURES_DAYS))
                      if d <= yesterday]
        rows = []
        kinds = [(0, sent) for sent in self._went_out(notified=True)]
        kinds += [(1, sent) for sent in self._went_out(notified=False)]
        for publish_type, (data_id, pub, articles) in kinds:
            if pub != day:
                continue
            for index in range(1, len(articles) + 1):
                totals = {"read_user": 0, "share_user": 0, "zaikan_user": 0}
                details = []
                for stat in stat_dates:
                    for name, n in self._on_day(data_id, index, pub, stat).items():
                        totals[name] += n
                    details.append({"stat_date": stat, **totals,
                                    "read_user_source": [{"scene_desc": "全部", "user_count": totals["read_user"]}],
                                    "like_user": 0, "comment_count": 0, "collection_user": 0})
                rows.append({"ref_date": day, "msgid": f"{data_id}_{index}", "publish_type": publish_type,
                             "detail_list": details})
        return {"list": rows, "is_delay": any(self._delayed(stat) for stat in stat_dates)}


def _default_daily_figures(msg_data_id: int, index: int, k: int) -> dict:
    """New readers fall day by day, fewer for later articles of a bundle."""
    read = 120 // (k + 1) // index
    return {"read_user": read, "share_user": read // 10, "zaikan_user": read // 20}


def _text(article: dict, name: str) -> str:
    value = article.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise WeChatError(47001, "data format error")
    return value


def _clientmsgid(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not value.isascii():
        raise WeChatError(40035, "invalid args")
    if len(value) > CLIENTMSGID_MAX:
        raise WeChatError(45067, "clientmsgid size out of limit")
    return value


def _page(body: dict, items: list) -> dict:
    """draft/batchget and freepublish/batchget: offset, count 1..20, no_content."""
    offset, count, no_content = body.get("offset", 0), body.get("count"), body.get("no_content", 0)
    if not (_int(offset) and offset >= 0 and _int(count) and 1 <= count <= 20
            and _flag(no_content)):
        raise WeChatError(40035, "invalid args")
    page = [dict(item) for item in items[offset:offset + count]]
    if no_content:
        for item in page:
            item["content"] = {**item["content"], "news_item": [
                {k: v for k, v in a.items() if k != "content"} for a in item["content"]["news_item"]]}
    return {"total_count": len(items), "item_count": len(page), "item": page}


def _beijing(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, BEIJING)


def _send(http: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str) -> None:
    http.send_response(status)
    http.send_header("Content-Type", content_type)
    http.send_header("Content-Length", str(len(body)))
    http.end_headers()
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client was killed meanwhile
        http.wfile.write(body)


def _drop(http: BaseHTTPRequestHandler) -> None:
    """Closes the connection without a byte of answer."""
    http.close_connection = True
    with contextlib.suppress(OSError):
        http.connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    def version_string(self):
        return "nginx"

    def do_GET(self):
        self.server.fake._serve(self, "GET")

    def do_POST(self):
        self.server.fake._serve(self, "POST")

    def log_message(self, format, *args):  # keep test output quiet
        pass


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a fake WeChat API until Ctrl-C.")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--appid", default=os.environ.get("FAKE_WECHAT_APPID", DEFAULT_APPID))
    parser.add_argument("--secret", default=os.environ.get("FAKE_WECHAT_SECRET", DEFAULT_SECRET))
    parser.add_argument("--account-type", choices=("service", "subscription"), default="service")
    parser.add_argument("--unverified", action="store_true")
    parser.add_argument("--latency", type=float, nargs=2, default=(0.0, 0.0), metavar=("LOW", "HIGH"),
                        help="seconds each answer waits, drawn evenly between LOW and HIGH")
    args = parser.parse_args(argv)
    fake = FakeWeChat(args.appid, args.secret, verified=not args.unverified,
                      account_type=args.account_type, port=args.port, latency=tuple(args.latency)).start()
    try:
        print(f"fake WeChat at {fake.url} (appid {fake.appid}, secret {fake.secret})", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
