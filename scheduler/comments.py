"""Comments (留言) on pushed articles: fetch them from WeChat, answer, select, delete, and
keep the reply deadline.

An inspection counts interaction: a comment should be answered within ``[comments].reply_days``
working days (Monday to Friday; public holidays and their make-up working days are not known
here).  The deadline is the end of the last of those days in the account's timezone; an
unanswered comment raises one alert ``[comments].alert_hours`` before it.  Comments exist only
for mass sends (WeChat keys them by the send's ``msg_data_id``), and an article's index counts
from 0 there, while the ledger numbers positions from 1.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from . import comment_ledger as C
from . import ledger as L
from .config import Config
from .ledger import Ledger

log = logging.getLogger(__name__)

PAGE = 49  # comment/list refuses count ≥ 50
MAX_PAGES = 20  # per article and fetch: 980 comments; the rest wait for the next fetch
REPLY_MAX = 1000  # characters; WeChat publishes no limit (88007 names one): keep replies sane
WENT_OUT = (L.SENT, L.CONFIRMED)


class CommentError(Exception):
    """An action on a comment cannot be done; the message says why and what to do.
    ``remote``: WeChat or the network failed (exit 3), not the request (exit 2)."""

    def __init__(self, message: str, *, remote: bool = False) -> None:
        super().__init__(message)
        self.remote = remote


# --- the deadline: pure -------------------------------------------------------------------------

def add_working_days(day: date, days: int) -> date:
    """The ``days``-th working day (Mon–Fri) after ``day``."""
    while days > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


def deadline(config: Config, created_at: datetime) -> datetime:
    """When a comment written at ``created_at`` must be answered by: the end of the
    ``reply_days``-th working day after the day it was written (account timezone)."""
    tz = config.account.tz
    last = add_working_days(created_at.astimezone(tz).date(), config.comments.reply_days)
    return datetime.combine(last + timedelta(days=1), time(), tz)


def in_time(config: Config, comment: C.Comment) -> bool:
    return comment.replied_at is not None and comment.replied_at <= deadline(config, comment.created_at)


# --- fetching -------------------------------------------------------------------------------------

@dataclass
class Fetched:
    """What one fetch did."""

    articles: int = 0
    new: list[C.Comment] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def recent_releases(config: Config, ledger: Ledger, now: datetime) -> list[L.Release]:
    """The mass sends of the last ``[comments].days`` days that went out (they have a msg_data_id)."""
    since = now - timedelta(days=config.comments.days)
    return [r for r in ledger.releases(config.account.key, 200, statuses=WENT_OUT)
            if r.msg_data_id and r.slot >= since]


def fetch(config: Config, ledger: Ledger, client: Any, now: datetime, *, budget: float | None = None) -> Fetched:
    """Read every recent article's comments from WeChat into the ledger (pages of 49).

    A refused article (closed comments, a deleted push) is noted and the others go on;
    ``budget``: seconds after which the remaining articles wait for the next fetch.
    """
    import time as clock

    from publishers.base import PublishError

    done = Fetched()
    started = clock.monotonic()
    for release in recent_releases(config, ledger, now):
        for item in release.items:
            if budget is not None and clock.monotonic() - started > budget:
                done.problems.append("本次取留言时间已到，其余文章下次再取")
                return done
            idx = item.position - 1
            try:
                seen, complete = _read_article(client, str(release.msg_data_id), idx)
            except PublishError as exc:
                done.problems.append(f"《{item.title}》：{exc}")
                continue
            done.articles += 1
            done.new.extend(C.store(ledger, config.account.key, release.id, str(release.msg_data_id), idx, seen,
                                    now, complete=complete))
    if done.new:
        ledger.event(config.account.key, "comments", f"取到 {len(done.new)} 条新留言")
    return done


def _read_article(client: Any, msg_data_id: str, idx: int) -> tuple[list[C.Seen], bool]:
    seen: list[C.Seen] = []
    begin = 0
    for _ in range(MAX_PAGES):
        answer = client.comments.list(msg_data_id, idx, begin=begin, count=PAGE, type=0)
        page = answer.get("comment") or []
        seen.extend(_seen(entry) for entry in page if isinstance(entry, dict))
        begin += len(page)
        if not page or begin >= int(answer.get("total") or 0):
            return seen, True
    return seen, False


def _seen(entry: dict) -> C.Seen:
    reply = entry.get("reply") if isinstance(entry.get("reply"), dict) else None
    return C.Seen(
        user_comment_id=int(entry["user_comment_id"]), content=str(entry.get("content") or ""),
        created_at=_time(entry.get("create_time")), selected=entry.get("comment_type") == 1,
        openid=entry.get("openid") or None,
        reply=str(reply.get("content") or "") if reply else None,
        replied_at=_time(reply.get("create_time")) if reply else None)


def _time(stamp: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(stamp), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.now(UTC)


# --- acting on one comment ------------------------------------------------------------------------

def _target(ledger: Ledger, account: str, comment_id: int) -> C.Comment:
    comment = C.get(ledger, account, comment_id)
    if comment is None:
        raise CommentError(f"没有编号为 {comment_id} 的留言；运行 publish comments 查看留言和编号")
    if comment.deleted:
        raise CommentError(f"留言 {comment_id} 已删除，不能再操作")
    return comment


def reply(config: Config, ledger: Ledger, client: Any, comment_id: int, text: str, by: str,
          now: datetime) -> C.Comment:
    """Answer a comment on WeChat, then record who answered, when and what."""
    from publishers.base import PublishError

    text = text.strip()
    if not text:
        raise CommentError("回复内容不能为空")
    if len(text) > REPLY_MAX:
        raise CommentError(f"回复太长：{len(text)} 字，请控制在 {REPLY_MAX} 字以内")
    comment = _target(ledger, config.account.key, comment_id)
    if comment.reply is not None:
        raise CommentError(f"留言 {comment_id} 已经回复过了（一条留言只能回复一次）")
    try:
        client.comments.reply(comment.msg_data_id, comment.idx, comment.user_comment_id, text)
    except PublishError as exc:
        if exc.code == 88005:  # answered meanwhile (back office, or our own answer lost on the way)
            _refresh(config, ledger, client, comment, now)
            raise CommentError(f"留言 {comment_id} 已经有回复了（可能有人在公众号后台回复过），已更新台账") from None
        raise CommentError(f"回复留言 {comment_id} 失败：{exc}", remote=True) from None
    C.record_reply(ledger, comment.id, text, by, now)
    ledger.event(config.account.key, "comment_reply", f"留言 {comment.id}：{by} 回复：{text[:200]}", comment.release_id)
    return C.get(ledger, config.account.key, comment.id) or comment


def select(config: Config, ledger: Ledger, client: Any, comment_id: int, selected: bool, by: str) -> None:
    """Mark a comment 精选 (shown under the article) or take the mark off."""
    from publishers.base import PublishError

    comment = _target(ledger, config.account.key, comment_id)
    call = client.comments.markelect if selected else client.comments.unmarkelect
    try:
        call(comment.msg_data_id, comment.idx, comment.user_comment_id)
    except PublishError as exc:
        raise CommentError(f"{'精选' if selected else '取消精选'}留言 {comment_id} 失败：{exc}", remote=True) from None
    C.record_selected(ledger, comment.id, selected)
    ledger.event(config.account.key, "comment_select" if selected else "comment_unselect",
                 f"留言 {comment.id}：{by} {'设为精选' if selected else '取消精选'}", comment.release_id)


def delete(config: Config, ledger: Ledger, client: Any, comment_id: int, by: str, now: datetime) -> None:
    """Delete a comment on WeChat; the ledger keeps it, marked deleted (the report counts it)."""
    from publishers.base import PublishError

    comment = _target(ledger, config.account.key, comment_id)
    try:
        client.comments.delete(comment.msg_data_id, comment.idx, comment.user_comment_id)
    except PublishError as exc:
        if exc.code not in (88004, 88008):  # gone already: deleted is what was asked
            raise CommentError(f"删除留言 {comment_id} 失败：{exc}", remote=True) from None
    C.record_deleted(ledger, comment.id, now)
    ledger.event(config.account.key, "comment_delete", f"留言 {comment.id}：{by} 删除：{comment.content[:200]}",
                 comment.release_id)


def _refresh(config: Config, ledger: Ledger, client: Any, comment: C.Comment, now: datetime) -> None:
    from publishers.base import PublishError

    try:
        seen, complete = _read_article(client, comment.msg_data_id, comment.idx)
    except PublishError:
        return
    C.store(ledger, config.account.key, comment.release_id, comment.msg_data_id, comment.idx, seen, now,
            complete=complete)


# --- what the CLI, the console and the report show ------------------------------------------------

@dataclass(frozen=True)
class Line:
    """A comment with its article and deadline, as people see it."""

    comment: C.Comment
    title: str
    position: int
    slot: datetime
    due: datetime

    def overdue(self, now: datetime) -> bool:
        return self.comment.reply is None and now >= self.due


def lines(config: Config, ledger: Ledger, *, unanswered: bool = True) -> list[Line]:
    """The account's comments (by default only those waiting for a reply), oldest first."""
    comments = C.of_account(ledger, config.account.key, unanswered=unanswered)
    releases = {r.id: r for r in ledger.releases(config.account.key, 400)} if comments else {}
    found = []
    for comment in comments:
        release = releases.get(comment.release_id)
        item = next((i for i in release.items if i.position == comment.idx + 1), None) if release else None
        found.append(Line(comment, item.title if item else "（文章不在台账中）", comment.idx + 1,
                          release.slot if release else comment.created_at, deadline(config, comment.created_at)))
    return found


@dataclass(frozen=True)
class Counts:
    received: int = 0
    answered: int = 0
    in_time: int = 0


def counts(config: Config, ledger: Ledger, release_ids: list[int]) -> dict[tuple[int, int], Counts]:
    """(release id, position from 1) → comments received, answered, answered in time."""
    totals: dict[tuple[int, int], Counts] = {}
    if not release_ids:
        return totals
    for comment in C.of_releases(ledger, config.account.key, release_ids):
        key = (comment.release_id, comment.idx + 1)
        was = totals.get(key, Counts())
        totals[key] = Counts(was.received + 1, was.answered + (comment.reply is not None),
                             was.in_time + in_time(config, comment))
    return totals


# --- the daemon's part: fetch now and then, alert before deadlines -------------------------------

def due_alerts(config: Config, ledger: Ledger, now: datetime, *, channels: list | None = None,
               sleep: Callable[[float], None] | None = None) -> list[int]:
    """Alert once about every unanswered comment whose deadline is within ``[comments].alert_hours``;
    the comment ids alerted.  The ledger decides who alerts (a conditional UPDATE), so several
    daemons on one database alert once between them."""
    from . import alerts

    warn = timedelta(hours=config.comments.alert_hours)
    took_any = []
    channels = alerts.channels_for(config) if channels is None else channels
    for line in lines(config, ledger):
        comment = line.comment
        if comment.alerted_at is not None or now < line.due - warn:
            continue
        if not C.claim_alert(ledger, comment.id, now):
            continue
        when = alerts._local(config, line.due)
        passed = "已过" if now >= line.due else "将到"
        alert = alerts.Alert(f"comment:{comment.id}", "comment_due",
                             f"第 {line.position} 篇《{line.title}》的留言“{comment.content[:60]}”还没有回复，"
                             f"回复期限{passed}（{when}）。请运行 publish comments reply {comment.id} \"回复内容\"，"
                             f"或在控制台的留言页（/a/{config.account.key}/comments）回复。", line.due, "unanswered",
                             link=config.serve.link(f"a/{config.account.key}/comments"))
        text = alerts.scrub(alert.text, config)
        if not channels:
            log.warning("%s：%s（未配置告警渠道，见 [alerts]）", alert.title, text)
            ledger.event(config.account.key, "alert", f"[{alert.key}] 未配置告警渠道，仅记入日志：{alert.title}：{text}")
        else:
            took = alerts.deliver(alert, config, channels, *([sleep] if sleep else []))
            if not took:
                ledger.event(config.account.key, "alert_failed", f"[{alert.key}] 所有告警渠道都发送失败：{alert.title}")
                if ledger.count_events(config.account.key, "alert_failed", f"[{alert.key}]") < alerts.MAX_FAILURES:
                    C.release_alert(ledger, comment.id)  # tried again at a later look, as other alerts are
                continue
            ledger.event(config.account.key, "alert", f"[{alert.key}] 已经{'、'.join(took)}发送：{alert.title}：{text}")
        took_any.append(comment.id)
    return took_any


def daemon_work(config: Config, ledger: Ledger, now: datetime, make_client: Callable[[], Any], *,
                budget: float | None = None) -> Fetched | None:
    """At most every ``[comments].fetch_minutes`` per account (whichever daemon's turn it is):
    fetch new comments, then alert before deadlines.  None when it was not this one's turn."""
    minutes = config.comments.fetch_minutes
    if minutes <= 0 or not C.claim_fetch(ledger, config.account.key, now, minutes * 60):
        return None
    fetched = Fetched()
    if recent_releases(config, ledger, now):
        fetched = fetch(config, ledger, make_client(), now, budget=budget)
        for problem in fetched.problems:
            log.warning("取留言：%s", problem)
    due_alerts(config, ledger, now)
    return fetched
