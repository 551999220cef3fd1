"""Read figures: fetched from WeChat once a day by the daemon, and by ``publish stats`` on demand.

WeChat's figures (``getarticletotaldetail``) come per publication day: one call gives every
article published that day, with running totals for up to 30 days.  So a fetch asks, for each
day tuiwen pushed on, only while that day's figures can still grow or are not final: at most
``MAX_CALLS`` calls.  Data exists from 2025-11-01; a day's figures are asked for after 08:00 the
next day, and an answer marked ``is_delay`` is asked for again later.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from . import states as S
from .config import Config

log = logging.getLogger(__name__)

BEIJING = timezone(timedelta(hours=8))  # WeChat's figures are dated in Beijing time
SINCE = date(2025, 11, 1)  # WeChat keeps figures from this day on
WINDOW = 30  # days of running totals after publication
FETCH_HOUR = 8  # yesterday's figures are ready after 08:00
MAX_CALLS = WINDOW + 1  # one fetch never makes more calls than days it can still need
RETRY_DELAYED = timedelta(hours=2)  # is_delay: ask again this much later
LOOK_AGAIN = timedelta(hours=1)  # another daemon holds today's claim: look at it again then
WENT_OUT = (S.SENT, S.CONFIRMED)
COLUMNS = ("日期", "账号", "位置", "标题", "阅读", "分享", "在看", "截至")


class StatsError(Exception):
    """Bad input for ``publish stats``, said in Chinese with the fix."""


@dataclass(frozen=True)
class Line:
    """One article's newest figures, as ``publish stats`` prints them."""

    day: str
    account: str
    position: int
    title: str
    category: str | None
    reads: int | None  # None: no figures held (yet)
    shares: int | None
    zaikan: int | None
    through: str  # the stat date the figures run to ("" when none)
    final: bool


@dataclass
class Fetched:
    """What one fetch did."""

    days: list[str] = field(default_factory=list)  # publication days asked for
    rows: int = 0
    delayed: bool = False


def check_period(start: date, end: date, today: date) -> tuple[date, date]:
    """The period to show, or a StatsError saying what to change."""
    if start > end:
        raise StatsError(f"--from {start} 晚于 --to {end}：请调换两个日期。")
    if end < SINCE:
        raise StatsError(f"微信的阅读数据从 {SINCE} 起才有，{start} 至 {end} 没有数据：请把 --from 改为 {SINCE} 或之后。")
    if start < SINCE:
        raise StatsError(f"微信的阅读数据从 {SINCE} 起才有：请把 --from 改为 {SINCE} 或之后。")
    if start >= today:
        raise StatsError(f"今天（{today}）推送的文章要到明天 8 点后才有阅读数据：请把 --from 改为 {today - timedelta(days=1)} "
                         "或之前。")
    return start, min(end, today - timedelta(days=1))


def pushed_days(config: Config, ledger: Any, start: date, end: date) -> dict[str, list]:
    """Publication day (as WeChat dates it: Beijing time) → the releases that went out that day
    with a msg_data_id."""
    from .figures import pushed

    tz = BEIJING
    days: dict[str, list] = {}
    # A day of margin each side: a send may be confirmed (sent_at) after its slot.
    low = datetime.combine(start - timedelta(days=1), datetime.min.time(), tz)
    high = datetime.combine(end + timedelta(days=2), datetime.min.time(), tz)
    for release in pushed(ledger, config.account.key, low, high, WENT_OUT):
        day = (release.sent_at or release.slot).astimezone(tz).date()
        if start <= day <= end:
            days.setdefault(day.isoformat(), []).append(release)
    return days


def _complete(day: str, releases: list, held: dict, yesterday: date) -> bool:
    """All articles of the day have final figures running as far as they ever will (or to yesterday)."""
    last = min(date.fromisoformat(day) + timedelta(days=WINDOW - 1), yesterday).isoformat()
    for release in releases:
        for item in release.items:
            figures = held.get((release.msg_data_id, item.position))
            if figures is None or not figures.final or figures.stat_date < last:
                return False
    return True


def fetch(config: Config, ledger: Any, publisher: Callable[[], Any], start: date, end: date, today: date,
          should_stop: Callable[[], bool] = lambda: False) -> Fetched:
    """Ask WeChat for the figures of the days in [start, end] not held complete yet; store them.

    ``publisher`` builds the WeChat publisher: only when there is something to ask.  A stopping
    daemon stops between days (what was stored stays; the rest is asked for next time)."""
    from .figures import newest, store

    yesterday = today - timedelta(days=1)
    start, end = max(start, SINCE), min(end, yesterday)
    days = pushed_days(config, ledger, start, end)
    ours = {r.msg_data_id for releases in days.values() for r in releases}
    held = newest(ledger, config.account.key, sorted(ours))
    wanted = [d for d in sorted(days, reverse=True) if not _complete(d, days[d], held, yesterday)]
    done, client = Fetched(), None
    for day in wanted[:MAX_CALLS]:
        if should_stop():
            break
        client = client or publisher()
        answer = client.article_figures(day)
        rows = [{"msg_data_id": a.msg_data_id, "idx": a.index, "stat_date": a.stat_date, "pub_date": day,
                 "reads": a.reads, "shares": a.shares, "zaikan": a.zaikan, "likes": a.likes,
                 "comments": a.comments, "collections": a.collections, "final": not answer.delayed}
                for a in answer.articles if a.msg_data_id in ours]
        done.rows += store(ledger, config.account.key, rows)
        done.days.append(day)
        done.delayed = done.delayed or answer.delayed
    if len(wanted) > MAX_CALLS:
        log.warning("账号 %s 还有 %d 天的阅读数据没有读取，下次继续", config.account.key, len(wanted) - MAX_CALLS)
    return done


def lines(config: Config, ledger: Any, start: date, end: date) -> list[Line]:
    """Every article pushed in the period with the newest figures held for it."""
    from .figures import newest

    days = pushed_days(config, ledger, start, end)
    held = newest(ledger, config.account.key, sorted({r.msg_data_id for rs in days.values() for r in rs}))
    found = []
    for day in sorted(days):
        for release in sorted(days[day], key=lambda r: r.slot):
            for item in release.items:
                f = held.get((release.msg_data_id, item.position))
                found.append(Line(day, config.account.key, item.position, item.title, item.category,
                                  f.reads if f else None, f.shares if f else None, f.zaikan if f else None,
                                  f.stat_date if f else "", bool(f and f.final)))
    return found


def figures_by_item(config: Config, ledger: Any, releases: list) -> dict[tuple[int, int], Any]:
    """(release id, position) → the newest figures held, for the report."""
    from .figures import newest

    held = newest(ledger, config.account.key, sorted({r.msg_data_id for r in releases if r.msg_data_id}))
    return {(r.id, item.position): held[(r.msg_data_id, item.position)]
            for r in releases for item in r.items if (r.msg_data_id, item.position) in held}


def write_csv(rows: list[Line], names: dict[str, str], path: Path) -> None:
    """UTF-8 with BOM (Excel); an empty cell where no figures are held yet."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow([row.day, names.get(row.account, row.account), row.position, row.title,
                             *("" if n is None else n for n in (row.reads, row.shares, row.zaikan)), row.through])


# --- the daemon's daily fetch ---------------------------------------------------------------

class DailyFigures:
    """One account's fetch, once a day after 08:00 local time, for the last 30 days.

    Cheap on every reconcile: a date comparison until the day's claim is due, then one INSERT
    (the claim row in the ledger), so of several daemons on one database only one fetches.
    The fetch itself is handed to ``run`` (a thread of its own in the daemon): it never holds
    up a release.  A failure is logged and tried again the next day; delayed figures in two hours.
    """

    def __init__(self, config: Config, ledger: Any, name: str, publisher: Callable[[], Any],
                 run: Callable[[Callable[[], None]], Any] = lambda job: job(),
                 should_stop: Callable[[], bool] = lambda: False) -> None:
        self.config, self.ledger, self.name = config, ledger, name
        self.publisher, self.run, self.should_stop = publisher, run, should_stop
        self._next: datetime | None = None  # no need to look at the ledger before this

    def tick(self, now: datetime) -> None:
        from .figures import claim, fetch_of

        local = now.astimezone(self.config.account.tz)
        if local.hour < FETCH_HOUR or (self._next is not None and now < self._next):
            return
        day, key = local.date().isoformat(), self.config.account.key
        if not claim(self.ledger, key, day, self.name, now):
            row = fetch_of(self.ledger, key, day)
            if row is not None and row.done_at is not None and row.retry_at is None:
                self._next = _next_morning(local)
            else:
                self._next = row.retry_at if row is not None and row.retry_at is not None else now + LOOK_AGAIN
            return
        self._next = now + LOOK_AGAIN  # while it runs; set properly when it ends
        self.run(lambda: self._fetch(day, now))

    def _fetch(self, day: str, now: datetime) -> None:
        from .faults import describe
        from .figures import finish

        key, today = self.config.account.key, date.fromisoformat(day)
        local = now.astimezone(self.config.account.tz)
        try:
            done = fetch(self.config, self.ledger, self.publisher, today - timedelta(days=WINDOW), today, today,
                         self.should_stop)
        except Exception as exc:  # noqa: BLE001 - figures never affect a push: say so, try tomorrow
            message = describe(exc)
            log.error("账号 %s 读取阅读数据失败（不影响推送，明天再试）：%s", key, message)
            self._next = _next_morning(local)
            try:
                finish(self.ledger, key, day, now, error=message)
            except Exception as again:  # noqa: BLE001 - the claim then goes stale and is taken over
                log.error("账号 %s 记录阅读数据读取结果时出错：%s", key, describe(again))
            return
        # Delayed figures, or a daemon stopped half-way: any daemon asks again later today.
        retry = now + RETRY_DELAYED if done.delayed or self.should_stop() else None
        finish(self.ledger, key, day, now, retry_at=retry)
        self._next = retry or _next_morning(local)
        log.info("账号 %s 已读取 %d 个推送日的阅读数据（%d 行）%s", key, len(done.days), done.rows,
                 "；部分数据微信尚未最终统计，稍后再读" if done.delayed else "")


def _next_morning(local: datetime) -> datetime:
    nxt = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), local.tzinfo)
    return nxt.replace(hour=FETCH_HOUR)


def daily_figures(daemon: Any, run: Callable[[Callable[[], None]], Any]) -> DailyFigures:
    """A daemon's daily fetch, with the WeChat publisher built at its first use."""
    from .runtime import make_publisher

    built: list = []

    def publisher() -> Any:
        if not built:
            built.append(make_publisher(daemon.config, daemon.ledger))
        return built[0]

    return DailyFigures(daemon.config, daemon.ledger, daemon.name, publisher, run, daemon.stopping.is_set)
