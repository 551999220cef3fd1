"""The daemon: APScheduler fires at each slot; a reconcile job makes the ledger true.

The job store is memory only.  What was published lives in the ledger, whose
unique key (account, slot) decides who publishes: two daemons on one database
both fire, one claims, the other backs off.  The reconcile job, at start-up and
every few minutes, serves a slot that is due (late if it was missed while down,
within ``catch_up_hours``), records older missed slots, and carries unfinished
releases forward (unconfirmed sends are confirmed by asking WeChat).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from . import ledger as L
from .config import Config
from .gitcontent import GitError
from .ledger import Ledger
from .plan import due, overdue
from .states import RECONCILE_MINUTES  # shared with `publish status`

if TYPE_CHECKING:  # the releaser (and the renderer behind it) is not needed to name them
    from .ledger import Release
    from .release import Outcome

log = logging.getLogger(__name__)


def reconcile_seconds() -> float:
    """The reconcile interval; ``TUIWEN_RECONCILE_SECONDS`` shortens it for benchmarks and soak tests."""
    return float(os.environ.get("TUIWEN_RECONCILE_SECONDS") or RECONCILE_MINUTES * 60)

DAEMON_STARTED = "daemon"  # the event kind recorded at a daemon's first reconcile
LOOKBACK = timedelta(days=62)  # older gaps are history, not missed slots to record now


@dataclass
class Report:
    """What one reconcile did, for logs and tests."""

    released: list[Outcome] = field(default_factory=list)
    missed: list[datetime] = field(default_factory=list)
    resumed: list[Outcome] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # why a due slot could not be served now


class SlotReleaser(Protocol):
    """What the daemon asks of a releaser: the Releaser itself, or one built at its first use."""

    should_stop: Callable[[], bool]

    def release(self, slot: datetime, *, late: bool = False, forced: bool = False) -> Outcome: ...
    def resume(self, release: Release) -> Outcome: ...


class Daemon:
    def __init__(self, config: Config, ledger: Ledger, releaser: SlotReleaser, *,
                 now: Callable[[], datetime] = L.utcnow) -> None:
        self.config = config
        self.ledger = ledger
        self.releaser = releaser
        self.account = config.account.name
        self.now = now
        self.started_at = now()
        # Unique per daemon, so two daemons (even in one process) never share a heartbeat row.
        self.name = f"{self.account}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.stopping = threading.Event()
        self._lock = threading.Lock()  # one reconcile at a time within this process
        self._announced = False  # its start is in the ledger (from then on, slots are promised)
        releaser.should_stop = self.stopping.is_set

    # --- the work ---------------------------------------------------------

    def reconcile(self, *, beat: bool = True) -> Report:
        """Serve what is due, record what was missed, carry unfinished releases on.

        ``beat`` is off for a one-shot ``publish``: only a running daemon has a heartbeat.
        """
        report = Report()
        if self.stopping.is_set() or not self._lock.acquire(blocking=False):
            return report
        try:
            now = self.now()
            if beat:
                self.ledger.beat(self.name, self.account, self.started_at, now)
                if not self._announced:
                    self.ledger.event(self.account, DAEMON_STARTED, f"守护进程启动：{self.name}")
                    self._announced = True
            self._resume_unfinished(report)
            self._record_missed(now, report)
            self._serve_due(now, report)
            self._alert(now, report)
        finally:
            self._lock.release()
        return report

    def _alert(self, now: datetime, report: Report) -> None:
        """Failures, missed slots, a stale account, an empty push ahead: tell people once. Never raises."""
        if self.stopping.is_set():
            return
        try:
            from .alerts import notify
            from .freshness import freshness

            notify(self.config, self.ledger, report, freshness(self.config, self.ledger, now), now)
        except Exception:  # an alert must never break a release
            log.exception("处理告警时出错（不影响发布）")

    def _resume_unfinished(self, report: Report) -> None:
        for release in self.ledger.releases(self.account, statuses=L.IN_PROGRESS):
            if self.stopping.is_set():
                return
            log.info("继续未完成的发布 %s（%s）", release.slot, release.status)
            report.resumed.append(self.releaser.resume(release))

    def _record_missed(self, now: datetime, report: Report) -> None:
        tz = self.config.account.tz
        since = self.ledger.last_slot(self.account)
        if since is None:
            # No slot served yet: slots count from the first daemon ever started on this ledger
            # (one stopped before its first slot and started after it must still report it).
            since = self.ledger.first_event(self.account, DAEMON_STARTED)
            if since is None:
                return  # nothing was promised before a daemon existed
        since = max(since, now - LOOKBACK)
        hours = self.config.schedule.catch_up_hours
        for slot, state in overdue(self.config.schedule.slots, tz, since.astimezone(tz), now.astimezone(tz), hours):
            if state == "missed" and self.ledger.find(self.account, slot) is None:
                self.ledger.claim(self.account, slot, self.config.account.mode, [], status=L.MISSED,
                                  error=f"推送时间已过 {hours:g} 小时补发时限，未发送")
                report.missed.append(slot)
                log.warning("错过推送 %s", slot)

    def _serve_due(self, now: datetime, report: Report) -> None:
        tz = self.config.account.tz
        slot = due(self.config.schedule.slots, tz, now.astimezone(tz), self.config.schedule.catch_up_hours)
        if slot is None or self.ledger.find(self.account, slot.slot) is not None:
            return
        try:
            outcome = self.releaser.release(slot.slot, late=slot.state == "late")
        except GitError as exc:
            # Nothing is claimed: the next reconcile tries again, until the slot is missed.
            message = f"内容仓库状态不允许发布：{exc}"
            log.error("%s", message)
            self.ledger.event(self.account, "content", message)
            report.errors.append(message)
            return
        report.released.append(outcome)

    # --- running ----------------------------------------------------------

    def run(self) -> None:
        """Block until SIGTERM/SIGINT; then stop claiming, checkpoint, and return."""
        from apscheduler.schedulers.blocking import BlockingScheduler

        scheduler = BlockingScheduler(timezone=self.config.account.tz)
        for job_id, trigger in self.triggers():
            # coalesce + a generous grace: a slot missed while the machine slept runs once, not in a burst.
            scheduler.add_job(self.reconcile, trigger, id=job_id, coalesce=True, max_instances=1,
                              misfire_grace_time=int(self.config.schedule.catch_up_hours * 3600) or 60)
        scheduler.add_job(self.reconcile, "interval", seconds=reconcile_seconds(), id="reconcile",
                          coalesce=True, max_instances=1, next_run_time=datetime.now(UTC))

        def stop(signum, frame):
            log.info("收到信号 %s，停止认领新的发布", signum)
            self.stopping.set()
            scheduler.shutdown(wait=False)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            scheduler.start()
        finally:
            with self._lock:  # wait for a running step to reach its checkpoint
                self.ledger.stop_beating(self.name)

    def triggers(self):
        """(job id, CronTrigger) per slot; ids derive from the config, so a restart is idempotent."""
        from apscheduler.triggers.cron import CronTrigger

        for slot in self.config.schedule.slots:
            yield (f"slot-{slot}".replace(" ", "-"),
                   CronTrigger(day_of_week=slot.weekday, hour=slot.hour, minute=slot.minute,
                               timezone=self.config.account.tz))
