"""WeChat's pushed job events in the ledger: what a mass send or a publish reported when it ended.

``MASSSENDJOBFINISH`` is the only documented source of the article links of a mass send
(``message/mass/get`` answers a status only), so a release's missing ``article_url``
values are filled from it.  WeChat repeats an event it got no quick "success" for; the
table is keyed by (account, event, job id), so each job is recorded once however often
it arrives.  An event may also arrive before the release has recorded its msg_id (the
send's answer and the push race): it is kept unmatched, and :func:`settle` files it
later.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .ledger import Event, Ledger, Release, ReleaseItem
from .tables import WeChatEvent

log = logging.getLogger(__name__)

MASS_SEND = "MASSSENDJOBFINISH"
PUBLISH = "PUBLISHJOBFINISH"
KINDS = (MASS_SEND, PUBLISH)
PUBLISH_STATUS_ZH = {0: "发布成功", 1: "发布中", 2: "原创校验未通过", 3: "发布失败", 4: "平台审核不通过",
                     5: "发布后已被删除", 6: "发布后被系统封禁"}


@dataclass(frozen=True)
class JobEvent:
    """The fields of a job event that tuiwen keeps, read from WeChat's XML."""

    kind: str
    job_id: str
    created: int | None = None
    status: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    urls: dict[int, str] = field(default_factory=dict)
    article_id: str = ""

    def summary(self) -> str:
        if self.kind == MASS_SEND:
            c = self.counts
            return (f"微信推送群发结果（msg_id {self.job_id}）：{self.status or '状态未知'}；粉丝 {c.get('total', '?')}，"
                    f"过滤后 {c.get('filter', '?')}，发送成功 {c.get('sent', '?')}，失败 {c.get('error', '?')}；"
                    f"文章链接 {len(self.urls)} 条")
        status = PUBLISH_STATUS_ZH.get(int(self.status), self.status) if self.status.isdigit() else self.status
        return f"微信推送发布结果（publish_id {self.job_id}）：{status or '状态未知'}；文章链接 {len(self.urls)} 条"


@dataclass(frozen=True)
class Recorded:
    new: bool                # False: the same job's event was already recorded (a retry)
    release_id: int | None   # the release it reported on, if the ledger knows it yet
    filled: int = 0          # article links written into the release's items


def job_event(data: dict[str, Any]) -> JobEvent | None:
    """The job event in a parsed push (xmltodict's dict of ``<xml>``), or None for any other push."""
    kind = str(data.get("Event") or "").upper()
    if str(data.get("MsgType") or "").lower() != "event" or kind not in KINDS:
        return None
    if kind == MASS_SEND:
        return _mass_send(data)
    return _publish(data)


def _mass_send(data: dict[str, Any]) -> JobEvent | None:
    job = _text(data.get("MsgID") or data.get("MsgId"))
    if not job:
        return None
    counts = {name: n for name, key in (("total", "TotalCount"), ("filter", "FilterCount"),
                                         ("sent", "SentCount"), ("error", "ErrorCount"))
              if (n := _number(data.get(key))) is not None}
    urls = {}
    result = data.get("ArticleUrlResult")
    listing = result.get("ResultList") if isinstance(result, dict) else None
    for item in _items(listing):
        index, url = _number(item.get("ArticleIdx")), _https(_text(item.get("ArticleUrl")))
        if index is not None and index >= 1 and _is_article_url(url):
            urls[index] = url
    return JobEvent(MASS_SEND, job, _number(data.get("CreateTime")), _text(data.get("Status"))[:64], counts, urls)


def _publish(data: dict[str, Any]) -> JobEvent | None:
    info = data.get("PublishEventInfo")
    if not isinstance(info, dict):
        return None
    job = _text(info.get("publish_id"))
    if not job:
        return None
    urls = {}
    detail = info.get("article_detail")
    for item in _items(detail):
        index, url = _number(item.get("idx")), _https(_text(item.get("article_url")))
        if index is not None and index >= 1 and _is_article_url(url):
            urls[index] = url
    return JobEvent(PUBLISH, job, _number(data.get("CreateTime")), _text(info.get("publish_status"))[:64], {},
                    urls, _text(info.get("article_id"))[:128])


def _items(container: Any) -> list[dict]:
    """``<item>`` children: xmltodict gives one as a dict, several as a list, none as None or ''."""
    items = container.get("item") if isinstance(container, dict) else None
    items = items if isinstance(items, list) else [items]
    return [item for item in items if isinstance(item, dict)]


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _number(value: Any) -> int | None:
    text = _text(value)
    return int(text) if text.isdigit() and len(text) < 19 else None


def _https(url: str) -> str:
    # Pushes have been seen with http:// links; the same page is served over https.
    return "https://" + url[len("http://"):] if url.startswith("http://mp.weixin.qq.com/") else url


def _is_article_url(url: str) -> bool:
    # Links are shown in the log, the console and the report: only WeChat's own article pages.
    return url.startswith("https://mp.weixin.qq.com/") and len(url) <= 1024 \
        and not any(c.isspace() or c in "<>\"'" for c in url)


# --- the ledger side ------------------------------------------------------------------------------------

def record(ledger: Ledger, account: str, event: JobEvent) -> Recorded:
    """Record ``event`` once; fill the matching release's missing links; a retried event changes nothing."""
    with ledger.session() as session:
        release = _release_of(session, account, event.kind, event.job_id)
        release_id = release.id if release else None
        session.add(WeChatEvent(account=account, kind=event.kind, job_id=event.job_id[:64], created=event.created,
                                status=event.status or None, counts=event.counts or None,
                                urls={str(k): v for k, v in event.urls.items()} or None,
                                article_id=event.article_id or None,
                                release_id=release_id))
        try:
            session.flush()
        except IntegrityError:  # the same job's event, recorded before: WeChat's retry
            session.rollback()
            return Recorded(False, release_id)
        filled = _fill(session, release_id, event.urls) if release_id is not None else 0
        session.add(Event(account=account, release_id=release_id, kind="wechat_event",
                          message=event.summary() + (f"，补上 {filled} 篇的链接" if filled else "")))
        session.commit()
    return Recorded(True, release_id, filled)


def settle(ledger: Ledger, account: str) -> int:
    """File events that arrived before their release knew its msg_id/publish_id; links written."""
    filled = 0
    with ledger.session() as session:
        waiting = session.scalars(select(WeChatEvent).where(
            WeChatEvent.account == account, WeChatEvent.release_id.is_(None)).order_by(WeChatEvent.id.desc()).limit(50))
        for row in list(waiting):
            release = _release_of(session, account, row.kind, row.job_id)
            if release is None:
                continue
            row.release_id = release.id
            filled += _fill(session, release.id, {int(k): v for k, v in (row.urls or {}).items()})
        session.commit()
    return filled


def _release_of(session: Session, account: str, kind: str, job_id: str) -> Release | None:
    column = Release.msg_id if kind == MASS_SEND else Release.publish_id
    return session.scalar(select(Release).where(Release.account == account, column == job_id).limit(1))


def _fill(session: Session, release_id: int, urls: dict[int, str]) -> int:
    """Write links into the items that have none (a link WeChat gave on polling stays as it was)."""
    filled = 0
    for item in session.scalars(select(ReleaseItem).where(ReleaseItem.release_id == release_id)):
        if not item.article_url and item.position in urls:
            item.article_url = urls[item.position]
            filled += 1
    return filled


def events(ledger: Ledger, account: str) -> list[WeChatEvent]:
    with ledger.session() as session:
        return list(session.scalars(select(WeChatEvent).where(WeChatEvent.account == account)
                                    .order_by(WeChatEvent.id)))
