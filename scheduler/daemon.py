"""The daemon's reconcile: what one account's turn does to make the ledger true.

``serving`` fires it at each slot and on a timer (APScheduler, job store in memory
only).  What was published lives in the ledger, whose unique key (account, slot)
decides who publishes: two daemons on one database both fire, one claims, the
other backs off.  The reconcile job, at start-up and
every few minutes, serves a slot that is due (late if it was missed while down,
within ``catch_up_hours``), records older missed slots, and carries unfinished
releases forward (unconfirmed sends are confirmed by asking WeChat).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from . import ledger as L
from .config import Config
from .faults import describe, is_database_error
from .gitcontent import GitError
from .ledger import Ledger
from .plan import INVALID, LeftOut, due, overdue, previous_slot
from .states import (
    RECONCILE_MINUTES,  # shared with `publish status`
    retryable,
)

if TYPE_CHECKING:  # the releaser (and the renderer behind it) is not needed to name them
    from .ledger import Release
    from .release import Outcome
    from .stats import DailyFigures

log = logging.getLogger(__name__)


def reconcile_seconds() -> float:
    """The reconcile interval; ``TUIWEN_RECONCILE_SECONDS`` shortens it for benchmarks and soak tests."""
    return float(os.environ.get("TUIWEN_RECONCILE_SECONDS") or RECONCILE_MINUTES * 60)

DAEMON_STARTED = "daemon"  # the event kind recorded at a daemon's first reconcile
LOOKBACK = timedelta(days=62)  # older gaps are history, not missed slots to record now
ALERT_EVERY = timedelta(minutes=15)  # a quiet sweep looks for alerts (a stale account) this often
COMMENTS_QUIET = timedelta(minutes=15)  # no comment fetch this close to a slot
COMMENTS_BUDGET = 60.0  # seconds a fetch may take; the rest waits for the next one
RETRY_PAUSES = tuple(timedelta(minutes=m) for m in (5, 15, 30, 60))  # then every hour, inside catch-up


@dataclass(frozen=True)
class Snapshot:
    """What one look at the ledger told of every account at the start of a sweep.

    A sweep of 300 idle accounts then costs three queries, not 300 times six; a release
    begun after the look is carried by whoever began it, or seen at the next sweep.
    """

    unfinished: frozenset[str]  # accounts with a release in progress
    last_slots: dict[str, datetime]  # each account's latest slot in the ledger


@dataclass
class Report:
    """What one reconcile did, for logs and tests."""

    released: list[Outcome] = field(default_factory=list)
    missed: list[datetime] = field(default_factory=list)
    resumed: list[Outcome] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # the content repository refused a due slot
    faults: list[str] = field(default_factory=list)  # a database, WeChat or other fault, retried later
    invalid: list[LeftOut] = field(default_factory=list)  # ready posts left out of a bundle for errors


class SlotReleaser(Protocol):
    """What the daemon asks of a releaser: the Releaser itself, or one built at its first use."""

    should_stop: Callable[[], bool]

    def release(self, slot: datetime, *, late: bool = False, forced: bool = False,
                retry: bool = False) -> Outcome: ...
    def resume(self, release: Release) -> Outcome: ...


class Daemon:
    def __init__(self, config: Config, ledger: Ledger, releaser: SlotReleaser, *,
                 now: Callable[[], datetime] = L.utcnow) -> None:
        self.config = config
        self.ledger = ledger
        self.releaser = releaser
        self.account = config.account.key
        self.now = now
        self.started_at = now()
        # Unique per daemon, so two daemons (even in one process) never share a heartbeat row.
        self.name = f"{self.account}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.stopping = threading.Event()
        self._lock = threading.Lock()  # one reconcile at a time within this process
        self._announced = False  # its start is in the ledger (from then on, slots are promised)
        self.backoff = True  # a person's `publish` turns it off: a failed slot is tried again at once
        self._retries: dict[int, tuple[int, datetime]] = {}  # failed release → (rounds, next try)
        self._trouble: dict[datetime | None, str] = {}  # why a slot (None: anything) could not be served
        self._snapshot: Snapshot | None = None  # the running sweep's look at the ledger
        self._alerted = datetime.min.replace(tzinfo=UTC)  # alerts last looked for
        self._first_start: datetime | None = None  # the first daemon start in the ledger (never changes)
        self._comments_next = datetime.min.replace(tzinfo=UTC)  # comments looked for no sooner than this
        self.figures: DailyFigures | None = None  # the daily read-figures fetch (a running daemon only)
        releaser.should_stop = self.stopping.is_set

    # --- the work ---------------------------------------------------------

    def reconcile(self, *, beat: bool = True, snapshot: Snapshot | None = None) -> Report:
        """Serve what is due, record what was missed, carry unfinished releases on.

        ``beat`` is off for a one-shot ``publish``: only a running daemon has a heartbeat.
        ``snapshot``: a sweep's look at the ledger (its heartbeat touched by the sweep too).
        """
        report = Report()
        if self.stopping.is_set() or not self._lock.acquire(blocking=False):
            return report
        try:
            now = self.now()
            self._snapshot = snapshot
            if beat and (snapshot is None or not self._announced):
                self._guarded(self._beat, now, report)
            # Each part on its own: a fault in one (a bad post, a database gone away) is reported
            # and retried at the next reconcile, and never escapes into the scheduler.
            for part in (self._resume_unfinished, self._record_missed, self._serve_due):
                self._guarded(part, now, report)
            if beat and self.figures is not None:
                self._fetch_figures(now)
            if not (report.errors or report.faults):
                self._trouble.clear()
            if snapshot is None or self._eventful(report) or now - self._alerted >= ALERT_EVERY:
                self._alerted = now
                self._alert(now, report)
            if beat and not self._eventful(report):
                self._comments(now)
        finally:
            self._snapshot = None
            self._lock.release()
        return report

    @staticmethod
    def _eventful(report: Report) -> bool:
        return any((report.released, report.missed, report.resumed, report.errors, report.faults, report.invalid))

    def _guarded(self, part: Callable[[datetime, Report], None], now: datetime, report: Report) -> None:
        try:
            part(now, report)
        except Exception as exc:
            message = describe(exc)
            report.faults.append(message)
            log.error("%s（%s 后重试）", message, f"{reconcile_seconds() / 60:g} 分钟")
            log.debug("details", exc_info=True)
            self._trouble[None] = message

    def _beat(self, now: datetime, report: Report) -> None:
        self.ledger.beat(self.name, self.account, self.started_at, now)
        if not self._announced:
            self.ledger.event(self.account, DAEMON_STARTED, f"守护进程启动：{self.name}")
            self._announced = True

    def _fetch_figures(self, now: datetime) -> None:
        """Once a day, hand the read-figures fetch on (it runs apart); never part of a release."""
        if self.stopping.is_set() or self.figures is None:
            return
        try:
            self.figures.tick(now)
        except Exception as exc:  # noqa: BLE001 - figures never affect a push
            log.error("安排读取阅读数据时出错（不影响推送）：%s", describe(exc))

    def _alert(self, now: datetime, report: Report) -> None:
        """Failures, missed slots, a stale account, an empty push ahead: tell people once. Never raises."""
        if self.stopping.is_set():
            return
        try:
            from .alerts import notify
            from .freshness import freshness

            notify(self.config, self.ledger, report, freshness(self.config, self.ledger, now), now)
        except Exception as exc:  # noqa: BLE001 - an alert must never break a release
            log.error("处理告警时出错（不影响发布）：%s", describe(exc))

    def _comments(self, now: datetime) -> None:
        """New comments and reply-deadline alerts, every ``[comments].fetch_minutes`` (one daemon of
        several does it), only in a quiet reconcile and never close to a slot: a push waits for nothing."""
        every = timedelta(minutes=self.config.comments.fetch_minutes)
        if self.stopping.is_set() or not every or now < self._comments_next:
            return
        self._comments_next = now + every  # no look at the ledger before then (whichever daemon fetched)
        try:
            from .plan import next_slots

            slots = self.config.schedule.slots
            if slots and next_slots(slots, self.config.account.tz, now, 1)[0] - now < COMMENTS_QUIET:
                return
            from .comments import daemon_work
            from .runtime import make_publisher

            daemon_work(self.config, self.ledger, now, lambda: make_publisher(self.config, self.ledger).client,
                        budget=COMMENTS_BUDGET)
        except Exception as exc:  # noqa: BLE001 - comments are a courtesy: never break a release
            log.error("取留言时出错（不影响发布，稍后重试）：%s", describe(exc))

    def _resume_unfinished(self, now: datetime, report: Report) -> None:
        if self._snapshot is not None and self.account not in self._snapshot.unfinished:
            return
        for release in self.ledger.releases(self.account, statuses=L.IN_PROGRESS):
            if self.stopping.is_set():
                return
            log.info("继续未完成的发布 %s（%s）", release.slot, release.status)
            report.resumed.append(self.releaser.resume(release))

    def _record_missed(self, now: datetime, report: Report) -> None:
        tz = self.config.account.tz
        slots, hours = self.config.schedule.slots, self.config.schedule.catch_up_hours
        if self._snapshot is not None:
            since = self._snapshot.last_slots.get(self.account)
        else:
            since = self.ledger.last_slot(self.account)
        if since is None:
            if self._first_start is None:
                self._first_start = self.ledger.first_event(self.account, DAEMON_STARTED)
            since = self._first_start
        if since is None:
            # A new ledger: its latest slot counts like any other (served late, or missed);
            # the ones before it were before tuiwen, and are nobody's to report.
            since = previous_slot(slots, tz, now.astimezone(tz)) - timedelta(minutes=1)
        since = max(since, now - LOOKBACK)
        for slot, state in overdue(slots, tz, since.astimezone(tz), now.astimezone(tz), hours):
            if state == "missed" and self.ledger.find(self.account, slot) is None:
                cause = self._trouble.get(slot) or self._trouble.get(None)
                if cause and self.started_at <= slot + timedelta(hours=hours):
                    error = f"守护进程在运行，但在补发时限内没能推送：{cause}"
                else:
                    error = f"推送时间已过 {hours:g} 小时补发时限，未发送（守护进程当时没有运行）"
                self.ledger.claim(self.account, slot, self.config.account.mode, [], status=L.MISSED, error=error)
                report.missed.append(slot)
                log.warning("错过推送 %s：%s", self._local(slot), error)

    def _serve_due(self, now: datetime, report: Report) -> None:
        tz = self.config.account.tz
        slot = due(self.config.schedule.slots, tz, now.astimezone(tz), self.config.schedule.catch_up_hours)
        if slot is None:
            return
        existing = self.ledger.find(self.account, slot.slot)
        if existing is not None and not (retryable(existing) and self._may_retry(existing, now)):
            return
        try:
            outcome = self.releaser.release(slot.slot, late=slot.state == "late", retry=existing is not None)
        except GitError as exc:
            # Nothing is claimed: the next reconcile tries again, until the slot is missed.
            message = f"内容仓库状态不允许发布：{exc}"
            log.error("%s", message)
            self.ledger.event(self.account, "content", message)
            self._trouble[slot.slot] = message
            report.errors.append(message)
            return
        except Exception as exc:
            if is_database_error(exc):
                raise  # nothing can be recorded now: reported once by _guarded, retried next time
            self._failed_before_claim(slot.slot, slot.state == "late", exc, report)
            return
        report.released.append(outcome)
        self._note_invalid(outcome, report)
        if outcome.release is not None and retryable(outcome.release):
            self._note_failure(outcome.release, now)

    def _note_invalid(self, outcome: Outcome, report: Report) -> None:
        """Ready posts kept out of the bundle by their errors: in the ledger with the cause, and alerted."""
        left_out = outcome.bundle.left_out if outcome.bundle is not None else ()
        for left in left_out:
            if left.reason_code == INVALID and left.post.status == "ready":
                report.invalid.append(left)
                release_id = outcome.release.id if outcome.release is not None else None
                self.ledger.event(self.account, "content", f"文章 {left.post.rel} {left.message_zh}，未发出", release_id)

    def _may_retry(self, release, now: datetime) -> bool:
        """A failed, unsent release of the due slot: tried again at once by a person's ``publish``,
        and by the daemon after a growing pause."""
        if not self.backoff:
            return True
        after = self._retries.get(release.id, (0, None))[1]
        return after is None or now >= after

    def _note_failure(self, release, now: datetime) -> None:
        rounds, _ = self._retries.get(release.id, (0, None))
        pause = RETRY_PAUSES[min(rounds, len(RETRY_PAUSES) - 1)]
        self._retries[release.id] = (rounds + 1, now + pause)
        log.warning("%s 的推送失败：%s；%s 再试", self._local(release.slot), release.error or "原因未知",
                    self._local(now + pause))

    def _failed_before_claim(self, slot: datetime, late: bool, exc: Exception, report: Report) -> None:
        """An error before anything was claimed (a bad post, the database): record the slot as
        failed with its true cause, so it is retried, alerted and never mistaken for a missed slot."""
        message = f"准备推送时出错：{describe(exc)}"
        log.error("%s：%s", self._local(slot), message)
        self._trouble[slot] = message
        report.faults.append(message)
        if self.ledger.find(self.account, slot) is not None:  # it failed mid-release: resumed next time
            self.ledger.event(self.account, "error", message)
            return
        release = self.ledger.claim(self.account, slot, self.config.account.mode, [], late=late,
                                    status=L.FAILED, error=message)
        if release is not None:
            self._note_failure(release, self.now())

    def _local(self, moment: datetime) -> str:
        return f"{moment.astimezone(self.config.account.tz):%Y-%m-%d %H:%M}"
