"""Planning: which slot is due, and which posts one push carries.

Pure functions: they take posts, what was published, a slot and the rules, and
return a decision with reasons.  No clock, file, database or network.

Time arithmetic is done in UTC on purpose: Python compares and subtracts two
datetimes of the *same* zone by wall clock, which is wrong across a DST change.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import PurePosixPath
from typing import Literal
from zoneinfo import ZoneInfo

from publishers.limits import MAX_ARTICLES

from . import config as config_module
from .config import Slot
from .posts import ERROR, Post

ON_TIME_GRACE = timedelta(minutes=10)
_TICK = timedelta(microseconds=1)  # datetime resolution: "t > at" is "t >= at + _TICK"

State = Literal["on_time", "late", "missed"]
ON_TIME: State = "on_time"
LATE: State = "late"
MISSED: State = "missed"

# Why a post is not in a bundle (LeftOut.reason_code).
PUBLISHED, INVALID, DRAFT, NO_CATEGORY = "published", "invalid", "draft", "no_category"
NOT_REVIEWED, NOT_YET, EXPIRED = "not_reviewed", "not_yet", "expired"
DUPLICATE, CATEGORY_CAP, BUNDLE_FULL = "duplicate", "category_cap", "bundle_full"


# --- slots --------------------------------------------------------------------

def _zone(tz: ZoneInfo | str) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)


def _utc(moment: datetime, zone: tzinfo) -> datetime:
    """The same instant in UTC; a naive datetime is read as wall time in ``zone``."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).astimezone(UTC)


def _occurrence(day: date, slot: Slot, zone: ZoneInfo) -> datetime:
    """The UTC instant of ``slot`` on local ``day``.

    fold=0: a wall time skipped by spring-forward happens once, shifted by the gap
    (02:30 → 03:30 CEST); one repeated by fall-back happens once, at its first pass.
    """
    return datetime(day.year, day.month, day.day, slot.hour, slot.minute, tzinfo=zone).astimezone(UTC)


def slot_times(slots: Iterable[Slot], tz: ZoneInfo | str, start: datetime, end: datetime) -> list[datetime]:
    """Every slot time t with start ≤ t < end, as aware datetimes in ``tz``, sorted, each once."""
    zone, slots = _zone(tz), tuple(slots)
    lo, hi = _utc(start, zone), _utc(end, zone)
    day, last = lo.astimezone(zone).date() - timedelta(days=1), hi.astimezone(zone).date() + timedelta(days=1)
    found: set[datetime] = set()
    while day <= last:
        found.update(_occurrence(day, s, zone) for s in slots if s.weekday == day.weekday())
        day += timedelta(days=1)
    return [t.astimezone(zone) for t in sorted(t for t in found if lo <= t < hi)]


SERVICE_MASS_SENDS_PER_MONTH = 4  # a service account's follower receives at most 4 mass sends a month


def busiest_month(slots: Iterable[Slot], tz: ZoneInfo | str, at: datetime, months: int = 12) -> tuple[str, int]:
    """("2024年4月", n): the month among the next ``months`` with the most slots, and how many."""
    zone = _zone(tz)
    start = at.astimezone(zone)
    counts: dict[str, int] = {}
    for t in slot_times(slots, zone, start, start + timedelta(days=31 * months)):
        label = f"{t.year}年{t.month}月"
        counts[label] = counts.get(label, 0) + 1
    if not counts:
        return "", 0
    label = max(counts, key=lambda k: counts[k])
    return label, counts[label]


def previous_slot(slots: Iterable[Slot], tz: ZoneInfo | str, at: datetime) -> datetime:
    """The latest slot time t ≤ at (ValueError when there are no slots)."""
    zone, slots = _zone(tz), tuple(slots)
    if not slots:
        raise ValueError("没有配置推送时间（[schedule].slots 为空）")
    end = _utc(at, zone) + _TICK
    return slot_times(slots, zone, end - timedelta(days=8), end)[-1]


def next_slots(slots: Iterable[Slot], tz: ZoneInfo | str, at: datetime, n: int) -> list[datetime]:
    """The earliest n slot times t > at."""
    zone, slots = _zone(tz), tuple(slots)
    if n <= 0 or not slots:
        return []
    start = _utc(at, zone) + _TICK
    weeks = n // len(slots) + 2  # one spare week: DST can merge two slots into one instant
    return slot_times(slots, zone, start, start + timedelta(weeks=weeks))[:n]


@dataclass(frozen=True)
class Due:
    """The slot to serve now, and whether serving it now is on time or late."""

    slot: datetime
    state: State


def due(slots: Iterable[Slot], tz: ZoneInfo | str, at: datetime, catch_up_hours: float) -> Due | None:
    """The latest slot t ≤ at still to be served at ``at`` (within catch-up), else None.

    On time within ON_TIME_GRACE of the slot (even when catch_up_hours is smaller),
    late up to catch_up_hours after it.
    """
    zone, slots = _zone(tz), tuple(slots)
    if not slots:
        return None
    slot = previous_slot(slots, zone, at)
    delay = _utc(at, zone) - _utc(slot, zone)
    if delay <= ON_TIME_GRACE:
        return Due(slot, ON_TIME)
    return Due(slot, LATE) if delay <= timedelta(hours=catch_up_hours) else None


def overdue(slots: Iterable[Slot], tz: ZoneInfo | str, since: datetime, at: datetime,
            catch_up_hours: float) -> list[tuple[datetime, State]]:
    """Every slot in (since, at], oldest first: the one ``due`` serves keeps its state, all others "missed"."""
    zone, slots = _zone(tz), tuple(slots)
    times = slot_times(slots, zone, _utc(since, zone) + _TICK, _utc(at, zone) + _TICK)
    current = due(slots, zone, at, catch_up_hours)
    served = _utc(current.slot, zone) if current else None
    return [(t, current.state if current and served == _utc(t, zone) else MISSED) for t in times]


# --- rules --------------------------------------------------------------------

@dataclass(frozen=True)
class Campaign:
    """A publicity season: in these months these categories rank ``weight`` higher."""

    name: str
    months: frozenset[int]
    categories: frozenset[str]
    weight: int = 10


def _campaign(name: str, months, categories, weight: int = 10) -> Campaign:
    return Campaign(name, frozenset(months), frozenset(categories), weight)


DEFAULT_CAMPAIGNS: tuple[Campaign, ...] = tuple(_campaign(**c) for c in config_module.DEFAULT_CAMPAIGNS)


@dataclass(frozen=True)
class Rules:
    """What a bundle may hold; ``tz`` (account timezone) decides the slot's month, else the slot's own zone."""

    max_articles: int = MAX_ARTICLES
    caps: Mapping[str, int] = field(default_factory=dict)  # category key → max per bundle
    review_required: bool = False
    campaigns: tuple[Campaign, ...] = DEFAULT_CAMPAIGNS
    category_names: Mapping[str, str] = field(default_factory=dict)  # key → 显示名, for messages
    tz: str | None = None


def rules_from_config(config) -> Rules:
    """The bundle rules a :class:`~scheduler.config.Config` describes."""
    categories = config.categories.values()
    return Rules(
        max_articles=config.schedule.max_articles,
        caps={c.key: c.max_per_bundle for c in categories if c.max_per_bundle is not None},
        review_required=config.review.required,
        campaigns=tuple(_campaign(c.name, c.months, c.categories, c.weight) for c in config.campaigns),
        category_names={c.key: c.name for c in categories},
        tz=config.account.timezone,
    )


@dataclass(frozen=True)
class Published:
    """What went out before: rel paths and content hashes (a post matching either counts)."""

    rels: frozenset[str] = frozenset()
    sha256s: frozenset[str] = frozenset()

    def __contains__(self, post: Post) -> bool:
        return post.rel in self.rels or (bool(post.sha256) and post.sha256 in self.sha256s)

    def adding(self, posts: Iterable[Post]) -> Published:
        """These records plus ``posts``."""
        posts = tuple(posts)
        return Published(self.rels | {p.rel for p in posts}, self.sha256s | {p.sha256 for p in posts if p.sha256})


def as_published(value: Published | Iterable[str] | None) -> Published:
    """A Published from itself, or from strings (64 hex digits = a sha256, else a rel path)."""
    if isinstance(value, Published):
        return value
    names = set(value or ())
    hashes = {s for s in names if re.fullmatch(r"[0-9a-f]{64}", s)}
    return Published(frozenset(names - hashes), frozenset(hashes))


# --- choosing -----------------------------------------------------------------

@dataclass(frozen=True)
class LeftOut:
    """A post not in the bundle, why (a code for programs) and 原因 (for people)."""

    post: Post
    reason_code: str
    message_zh: str


@dataclass(frozen=True)
class Bundle:
    """One push: its slot, the posts in push order (first = 头条), and every post left out."""

    slot: datetime
    items: tuple[Post, ...]
    left_out: tuple[LeftOut, ...]

    @property
    def empty(self) -> bool:
        return not self.items

    @property
    def headline(self) -> Post | None:
        return self.items[0] if self.items else None


def _fmt(moment: datetime, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _first_error(post: Post) -> str:
    problem = next(p for p in post.problems if p.severity == ERROR)
    return f"有错误，不能发布：第 {problem.line} 行：{problem.message}"


def _unsigned(post: Post) -> str:
    missing = [label for key, label in (("reviewed_by", "reviewed_by（审核）"), ("approved_by", "approved_by（签发）"))
               if not str(getattr(post, key) or "").strip()]
    return "、".join(missing)


def _ineligible(post: Post, published: Published, at: datetime, zone: tzinfo, rules: Rules,
                never: Mapping[int, LeftOut | None] | None = None) -> LeftOut | None:
    """Why ``post`` can never be in the bundle at ``at`` (UTC), or None when it may be.

    ``never``: ``_never`` of each post (by id), worked out once for many slots.
    """
    if post in published:
        return LeftOut(post, PUBLISHED, "已发布过，不再重复推送")
    reason = never[id(post)] if never is not None else _never(post, rules)
    if reason is not None:
        return reason
    if post.publish_after is not None and at < _utc(post.publish_after, zone):
        return LeftOut(post, NOT_YET, f"未到发布时间：{_fmt(post.publish_after, zone)} 之后才发布")
    if post.expires is not None and at >= _utc(post.expires, zone):
        return LeftOut(post, EXPIRED, f"已过期：{_fmt(post.expires, zone)} 起不再发布")
    return None


def _never(post: Post, rules: Rules) -> LeftOut | None:
    """Why ``post`` can be in no bundle at all, whatever the slot and whatever went out before."""
    if not post.ok:
        return LeftOut(post, INVALID, _first_error(post))
    if post.status != "ready":
        return LeftOut(post, DRAFT, "草稿（status 不是 ready），不会发布；改为 status: ready 才会发布")
    if not post.category:
        return LeftOut(post, NO_CATEGORY, "没有分类，无法发布；请放入分类文件夹或写 category 字段")
    if rules.review_required and _unsigned(post):
        return LeftOut(post, NOT_REVIEWED, f"未完成审核签发：缺少 {_unsigned(post)}")
    return None


def effective_priority(post: Post, month: int, campaigns: Iterable[Campaign]) -> int:
    """The post's priority plus the weight of every campaign of ``month`` covering its category."""
    return post.priority + sum(c.weight for c in campaigns if month in c.months and post.category in c.categories)


_DATED_NAME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


def post_date(post: Post, zone: tzinfo) -> datetime | None:
    """How old a post is: publish_after, else a date opening its file name (2024-04-01-slug.md), else None."""
    if post.publish_after is not None:
        return _utc(post.publish_after, zone)
    match = _DATED_NAME.match(PurePosixPath(post.rel).name)
    if match is None:
        return None
    year, month, day = map(int, match.groups())
    try:
        return datetime(year, month, day, tzinfo=zone).astimezone(UTC)
    except ValueError:  # 2024-13-45-…: not a date after all
        return None


def _ranked(posts: list[Post], month: int, zone: tzinfo, rules: Rules) -> list[Post]:
    """Push order: the headline lead, then priority (high first), age (old first, undated last), path."""
    def weight(post: Post) -> int:
        return effective_priority(post, month, rules.campaigns)

    def dated(post: Post, newest_first: bool) -> tuple[int, float]:
        when = post_date(post, zone)
        return (1, 0.0) if when is None else (0, -when.timestamp() if newest_first else when.timestamp())

    order = sorted(posts, key=lambda p: (-weight(p), dated(p, False), p.rel, p.sha256))
    leads = sorted((p for p in posts if p.lead), key=lambda p: (-weight(p), dated(p, True), p.rel, p.sha256))
    if leads:  # by identity: two equal Post values are still two inputs
        order = [leads[0], *(p for p in order if p is not leads[0])]
    return order


def _fill(ranked: list[Post], rules: Rules) -> tuple[list[Post], list[LeftOut]]:
    """Take ranked posts in order while category caps and the article limit allow."""
    limit = min(rules.max_articles, MAX_ARTICLES)
    items: list[Post] = []
    left: list[LeftOut] = []
    taken: dict[str | None, int] = {}  # uncategorised posts count under None
    for post in ranked:
        twin = next((p for p in items if p.rel == post.rel or (post.sha256 and p.sha256 == post.sha256)), None)
        cap = rules.caps.get(post.category) if post.category is not None else None
        name = rules.category_names.get(post.category, post.category) if post.category is not None else ""
        if twin is not None:
            left.append(LeftOut(post, DUPLICATE, f"与 {twin.rel} 是同一篇，同一次推送只发一次"))
        elif cap is not None and taken.get(post.category, 0) >= cap:
            left.append(LeftOut(post, CATEGORY_CAP, f"本次推送“{name}”已有 {cap} 篇（每次最多 {cap} 篇），留待下次"))
        elif len(items) >= limit:
            left.append(LeftOut(post, BUNDLE_FULL, f"本次推送已满 {limit} 篇，留待下次"))
        else:
            items.append(post)
            taken[post.category] = taken.get(post.category, 0) + 1
    return items, left


def choose(posts: Iterable[Post], already_published: Published | Iterable[str] | None,
           slot: datetime, rules: Rules = Rules(), *, _never_of: Mapping[int, LeftOut | None] | None = None,
           reasons: bool = True) -> Bundle:
    """The bundle for ``slot``: eligible posts in push order, and every other post with its reason
    (``reasons`` False: none, for callers that show only what goes out)."""
    zone = ZoneInfo(rules.tz) if rules.tz else slot.tzinfo
    if zone is None:
        raise ValueError("slot 须带时区（或在 Rules.tz 中给出账号时区）")
    at = _utc(slot, zone)
    slot = at.astimezone(zone)
    published = as_published(already_published)
    eligible: list[Post] = []
    left: list[LeftOut] = []
    for post in posts:
        reason = _ineligible(post, published, at, zone, rules, _never_of)
        if reason is None:
            eligible.append(post)
        else:
            left.append(reason)
    items, rest = _fill(_ranked(eligible, slot.month, zone, rules), rules)
    if not reasons:
        return Bundle(slot, tuple(items), ())
    left_out = sorted(left + rest, key=lambda o: (o.post.rel, o.post.sha256, o.reason_code))
    return Bundle(slot, tuple(items), tuple(left_out))


# Eligible posts that other posts kept out of a bundle: the only ones a second choice can take.
_CROWDED_OUT = frozenset({DUPLICATE, CATEGORY_CAP, BUNDLE_FULL})


def choose_again(bundle: Bundle, already_published: Published | Iterable[str] | None,
                 rules: Rules = Rules()) -> Bundle:
    """``choose`` of the same posts for the same slot, after some of ``bundle``'s items were found
    wrong (their problems grew): only the eligible posts are ranked again; a post ineligible for
    itself (published, a draft, out of its dates, wrong) stays so whatever the others are."""
    contenders = [*bundle.items, *(o.post for o in bundle.left_out if o.reason_code in _CROWDED_OUT)]
    again = choose(contenders, already_published, bundle.slot, rules)
    kept = [o for o in bundle.left_out if o.reason_code not in _CROWDED_OUT]
    left_out = sorted(kept + list(again.left_out), key=lambda o: (o.post.rel, o.post.sha256, o.reason_code))
    return Bundle(again.slot, again.items, tuple(left_out))


def forecast(posts: Iterable[Post], published: Published | Iterable[str] | None, slots: Iterable[Slot],
             tz: ZoneInfo | str, at: datetime, n: int, rules: Rules = Rules(), *, reasons: bool = True) -> list[Bundle]:
    """The bundles of the next n slots after ``at``, each assuming the earlier ones went out.

    ``reasons`` False: the bundles without the posts left out (as ``choose``); the posts that no
    slot can take are then not looked at again for each slot.
    """
    posts, record, bundles = tuple(posts), as_published(published), []
    never = {id(post): _never(post, rules) for post in posts}  # the same for every slot: judged once
    if not reasons:
        posts = tuple(post for post in posts if never[id(post)] is None)
    for slot in next_slots(slots, tz, at, n):
        bundle = choose(posts, record, slot, rules, _never_of=never, reasons=reasons)
        bundles.append(bundle)
        record = record.adding(bundle.items)
    return bundles
