"""What the console pages show, gathered from the same code the commands use.

The slot page is the dry run (``scheduler.dryrun``) and its preview folder
(``publishers.preview``); the post page renders one post the same way; sign-off is
``scheduler.signoff``, with the approvals given in the console read from the ledger.
Nothing here writes except the preview folders.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath

from publishers.preview import write_preview

from .. import signoff
from .. import states as L
from ..config import Config
from ..plan import Bundle, next_slots, slot_times
from ..posts import ERROR, Post, Problem, is_post, read_post
from ..signoff import Approval
from .charts import RELEASES as CHART_RELEASES
from .charts import Charts, charts
from .index import index_of

CALENDAR_WEEKS = 4
PAST_WEEKS = 2
FAILURE_DAYS = 30
OUTCOME_ZH = {L.SENT: "已推送", L.CONFIRMED: "已推送（已确认）", L.FAILED: "失败", L.MISSED: "错过",
              L.UNCONFIRMED: "结果未知（待核对）", L.EMPTY: "无文章"}


class Refused(Exception):
    """A path that may not be looked at (outside the content repository, or not a post)."""


def local(config: Config, moment: datetime) -> str:
    from ..commands import local as as_local

    return as_local(config, moment)


def slot_id(config: Config, moment: datetime) -> str:
    return moment.astimezone(config.account.tz).strftime("%Y-%m-%dT%H:%M")


def status_zh(status: str) -> str:
    return OUTCOME_ZH.get(status, "进行中")


# --- overview ------------------------------------------------------------------

@dataclass
class AccountRow:
    key: str
    name: str
    freshness: str = ""
    level: str = ""  # "" | "warn" | "bad": how the freshness cell is coloured
    days: int | None = None
    next_slot: str = ""
    next_id: str = ""
    last_push: str = "无"
    failures: int = 0
    pending: int | None = None  # None: the account asks for no sign-off
    error: str = ""
    charts: Charts | None = None


def overview_row(config: Config, ledger, at: datetime) -> AccountRow:
    from ..freshness import freshness

    row = AccountRow(config.account.key, config.account.name)
    key = config.account.key
    history = ledger.releases(key, CHART_RELEASES) if ledger is not None else []  # one query for the charts too
    releases = history[:50]
    pushed = [r for r in releases if r.status in (L.SENT, L.CONFIRMED) and r.slot <= at]
    since = at - timedelta(days=FAILURE_DAYS)
    row.failures = sum(1 for r in releases if r.status in (L.FAILED, L.MISSED, L.UNCONFIRMED) and since <= r.slot <= at)
    fresh = freshness(config, ledger, at)
    row.freshness, row.days = fresh.message(), fresh.days
    row.level = "bad" if fresh.failing or fresh.days is None else "warn" if fresh.level else ""
    nxt = next_slots(config.schedule.slots, config.account.tz, at, 1)[0]
    row.next_slot, row.next_id = local(config, nxt), slot_id(config, nxt)
    if pushed:
        row.last_push = local(config, pushed[0].slot)
    row.pending = pending_reviews(config)
    row.charts = charts(config, ledger, at, history)
    return row


_reading = threading.Lock()  # one request at a time reads the posts through the cache kept in memory


def checked_posts(config: Config) -> list[Post]:
    """Every post with its problems, through what this process keeps in memory (``index``): no cache
    file read per request, and still every post file (and image) looked at, so an edit shows at once."""
    with _reading:
        return index_of(config).checked_posts(config)


def pending_reviews(config: Config) -> int | None:
    if not config.review.roles or not config.content.dir.is_dir():
        return None
    records = signoff.load(signoff.records_path(config))
    posts = checked_posts(config)
    known = _signed_off(config, records)
    pending = 0
    for post in posts:
        if post.parsed and post.status == "ready":
            complete = known.get((post.rel, post.sha256))
            if complete is None:
                complete = known[(post.rel, post.sha256)] = signoff.status(post, config, records).complete
            pending += not complete
    return pending


# Whether each post version is signed off, while the records, the console's approvals and the
# roles stay the same: the overview asks for all posts at every request.
_signoffs: dict[Path, tuple[tuple, dict[tuple[str, str], bool]]] = {}


def _signed_off(config: Config, records) -> dict[tuple[str, str], bool]:
    key = (records, config.web_approvals, config.review.roles)
    kept = _signoffs.get(config.path)
    if kept is None or not (kept[0][0] is records or kept[0][0] == records) or kept[0][1:] != key[1:]:
        kept = _signoffs[config.path] = (key, {})
    return kept[1]


# --- calendar ------------------------------------------------------------------

@dataclass
class CalendarSlot:
    id: str
    when: str
    future: bool
    titles: list[str] = field(default_factory=list)
    outcome: str = ""
    release_id: int | None = None


def calendar(config: Config, ledger, at: datetime) -> list[CalendarSlot]:
    from ..dryrun import read_published
    from ..plan import forecast, rules_from_config

    tz = config.account.tz
    past = slot_times(config.schedule.slots, tz, at - timedelta(weeks=PAST_WEEKS), at)
    by_slot = {r.slot: r for r in (ledger.releases(config.account.key, 100) if ledger is not None else [])}
    rows = []
    for moment in past:
        release = by_slot.get(moment)
        row = CalendarSlot(slot_id(config, moment), local(config, moment), False)
        if release is None:
            row.outcome = "没有发布记录"
        else:
            row.outcome, row.release_id = status_zh(release.status), release.id
            row.titles = [item.title for item in release.items]
        rows.append(row)
    posts = checked_posts(config) if config.content.dir.is_dir() else []
    count = len(config.schedule.slots) * CALENDAR_WEEKS
    bundles = forecast(posts, read_published(config), config.schedule.slots, tz, at, count, rules_from_config(config),
                       reasons=False)  # the calendar shows what goes out
    for bundle in bundles:
        rows.append(CalendarSlot(slot_id(config, bundle.slot), local(config, bundle.slot), True,
                                 [p.title for p in bundle.items]))
    return rows


def parse_slot(config: Config, text: str) -> datetime | None:
    try:
        moment = datetime.strptime(text, "%Y-%m-%dT%H:%M")
    except ValueError:
        return None
    return moment.replace(tzinfo=config.account.tz)


# --- a slot: the dry run ----------------------------------------------------------

@dataclass
class SlotArticle:
    position: int
    title: str
    rel: str
    problems: list[Problem]
    signoff: str
    complete: bool


@dataclass
class SlotView:
    slot: datetime
    articles: list[SlotArticle]
    left_out: list[tuple[str, str, str]]  # (rel, title, why)


def slot_view(config: Config, slot: datetime, out: Path) -> SlotView | None:
    """The dry run of ``slot``, its preview written to ``out``; None when ``slot`` is not a slot of the schedule."""
    with _reading:
        result = index_of(config).dry_run(config, slot, out)
    if result.slot != slot:
        return None
    return SlotView(slot, [_slot_article(config, i, p) for i, p in enumerate(result.bundle.items, 1)],
                    _left_out(result.bundle))


def _slot_article(config: Config, position: int, post: Post) -> SlotArticle:
    text, complete = signoff_text(config, post)
    return SlotArticle(position, post.title, post.rel, list(post.problems), text, complete)


def _left_out(bundle: Bundle) -> list[tuple[str, str, str]]:
    return [(item.post.rel, item.post.title, item.message_zh) for item in bundle.left_out
            if item.reason_code not in ("published", "draft")][:50]


def signoff_text(config: Config, post: Post) -> tuple[str, bool]:
    try:
        state = signoff.status(post, config)
    except signoff.SignoffError as exc:
        return str(exc), False
    if not config.review.roles:
        done = "、".join(f"{a.role} {a.by}" for a in state.approved)
        return (f"已审核：{done}" if done else "本账号不要求审核签发"), True
    if state.complete:
        return "审核签发已完成", True
    return signoff.describe(state, config).split("。")[0], False


# --- preview links ------------------------------------------------------------------

@dataclass
class SharedLink:
    id: str
    slot: str
    made: str  # the ledger event's message: who made it, until when
    live: bool


_MADE = re.compile(r"预览链接 ([0-9a-f]{16})：(\d{4}-\d\d-\d\dT\d\d:\d\d) 的推送预览，.*有效至 (\d{4}-\d\d-\d\d \d\d:\d\d)")


def preview_links(config: Config, ledger, slot: str | None, at: datetime | None) -> list[SharedLink]:
    """The preview links made for ``slot`` (every slot: None), newest first; ``live``: neither revoked nor expired."""
    from .links import MADE, REVOKED

    made, revoked = [], set()
    for event in ledger.events(config.account.key) if ledger is not None else []:
        if event.kind == REVOKED:
            revoked.add(event.message.split("：", 1)[0].removeprefix("预览链接 "))
        elif event.kind == MADE and (found := _MADE.match(event.message)) and slot in (None, found.group(2)):
            expires = datetime.strptime(found.group(3), "%Y-%m-%d %H:%M").replace(tzinfo=config.account.tz)
            made.append((found.group(1), found.group(2), event.message, expires))
    return [SharedLink(i, s, m, i not in revoked and (at is None or at < e)) for i, s, m, e in reversed(made)]


# --- a post ------------------------------------------------------------------------

def find_post(config: Config, rel: str) -> Path:
    """The post at ``rel`` under content/; Refused for anything else (``..``, absolute, hidden, not a post)."""
    parts = PurePosixPath(rel).parts
    if not rel or rel.startswith("/") or "\\" in rel or "\x00" in rel or any(p in ("..", ".") for p in parts):
        raise Refused(rel)
    root = config.content.dir.resolve()
    path = (root / rel).resolve()
    if not path.is_relative_to(root) or not path.is_file() or not is_post(root, rel):
        raise Refused(rel)
    return path


@dataclass
class PostView:
    post: Post
    errors: int
    signoff: str
    complete: bool
    approvals: list[Approval]
    void: list[Approval]
    history: list[tuple[str, str, str]]  # (when, kind, message)


def post_view(config: Config, path: Path, ledger, out: Path) -> PostView:
    """The post checked and rendered as the dry run would, its preview written to ``out``."""
    from ..articles import choose_cover, render_post, theme
    from ..checks import check_post, check_rendered
    from ..dryrun import _preview_article

    root = config.content.dir.resolve()
    post = read_post(path, root, config)
    check_post(post, config)
    check_rendered(post, config)
    articles = []
    if post.parsed and post.body.strip():
        rendered = render_post(post, config, theme(config))
        articles.append(_preview_article(post, rendered, choose_cover(post, rendered, config), config, 1))
    write_preview(out, config.account.name, f"{config.account.name} · {post.title or post.rel} 预览", articles,
                  root=config.content.dir)
    text, complete = signoff_text(config, post)
    try:
        state = signoff.status(post, config)
        approvals, void = list(state.approved), list(state.void)
    except signoff.SignoffError:
        approvals, void = [], []
    history = []
    if ledger is not None:
        for event in ledger.events(config.account.key):
            if event.kind in ("approved", "returned") and event.message.startswith(post.rel + "："):
                history.append((local(config, event.at), "审核通过" if event.kind == "approved" else "退回", event.message))
    errors = sum(1 for p in post.problems if p.severity == ERROR)
    return PostView(post, errors, text, complete, approvals, void, history[::-1])
