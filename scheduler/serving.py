"""Serving accounts: one scheduler fires at every slot and sweeps all accounts on a timer, a pool
of threads runs their reconciles, and SIGTERM/SIGINT stop it at the next checkpoint.

The scheduler's jobs only hand accounts to the pool (``Fleet``); what a reconcile does is the
daemon's (``daemon.Daemon``).
"""

from __future__ import annotations

import logging
import random
import signal
import threading
from datetime import UTC, datetime

from .daemon import Daemon, Snapshot, reconcile_seconds
from .faults import describe

log = logging.getLogger(__name__)


# The account a job is working for, per thread: log lines name it when one process serves several.
current = threading.local()


class Fleet:
    """Every account's reconciles, run by a pool of ``workers`` threads.

    The scheduler's jobs are shared by all accounts (one per slot time, one reconcile timer),
    and only hand accounts to the pool: 300 accounts cost three jobs, not 900.  A slow or
    failing account holds one thread while the others go on.  Each process takes the accounts
    in an order of its own, so several daemons on one database spread over the accounts at a
    slot instead of all racing for the same one first.
    """

    def __init__(self, daemons: list[Daemon], workers: int) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.daemons = random.sample(daemons, len(daemons))
        self.several = len(daemons) > 1
        self.pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="tuiwen")
        self._lock = threading.Lock()
        self._busy: set[str] = set()  # accounts queued or running
        self._again: set[str] = set()  # asked for while busy: run once more when done

    def sweep(self, daemons: list[Daemon] | None = None) -> None:
        """Queue a reconcile of each account given (by default all, after one look at the ledger)
        that is not queued already.  A slot's accounts get a full reconcile each."""
        snapshots = self._look() if daemons is None else {}
        for daemon in daemons if daemons is not None else self.daemons:
            with self._lock:
                if daemon.account in self._busy:
                    # A slot fired while its account was busy: served right after, not a timer later.
                    self._again.add(daemon.account)
                    continue
                self._busy.add(daemon.account)
            self._submit(daemon, snapshots.get(id(daemon.ledger)))

    def _look(self) -> dict[int, Snapshot]:
        """One snapshot per ledger, and every heartbeat of it touched, in three statements."""
        snapshots: dict[int, Snapshot] = {}
        ledgers = {id(d.ledger): d.ledger for d in self.daemons}
        for key, ledger in ledgers.items():
            mine = [d for d in self.daemons if d.ledger is ledger]
            try:
                ledger.beat_many([d.name for d in mine if d._announced], mine[0].now())
                unfinished, last_slots = ledger.overview(d.account for d in mine)
            except Exception as exc:  # noqa: BLE001 - each account's reconcile then looks (and reports) itself
                log.debug("snapshot failed: %s", describe(exc))
                continue
            snapshots[key] = Snapshot(frozenset(unfinished), last_slots)
        return snapshots

    def _submit(self, daemon: Daemon, snapshot: Snapshot | None = None) -> None:
        try:
            self.pool.submit(self._run, daemon, snapshot)
        except RuntimeError:  # the pool is shut down: the daemon is stopping
            with self._lock:
                self._busy.discard(daemon.account)

    def _run(self, daemon: Daemon, snapshot: Snapshot | None) -> None:
        current.account = daemon.account if self.several else ""
        try:
            daemon.reconcile(snapshot=snapshot)
        except Exception as exc:  # noqa: BLE001 - reconcile guards its parts; this thread must live on
            log.error("对账出错（%s 后重试）：%s", f"{reconcile_seconds() / 60:g} 分钟", describe(exc))
        finally:
            current.account = ""
            with self._lock:
                again = daemon.account in self._again and not daemon.stopping.is_set()
                self._again.discard(daemon.account)
                if not again:
                    self._busy.discard(daemon.account)
            if again:
                self._submit(daemon)

    def stop(self) -> None:
        """Stop claiming; wait for running steps to reach their checkpoints; drop the heartbeats."""
        for daemon in self.daemons:
            daemon.stopping.set()
        self.pool.shutdown(wait=True, cancel_futures=True)
        for daemon in self.daemons:
            try:
                daemon.ledger.stop_beating(daemon.name)
            except Exception as exc:  # noqa: BLE001 - the heartbeat then just ages out
                log.error("退出时未能更新心跳：%s", describe(exc))

    def slot_groups(self) -> dict[str, tuple[object, list[Daemon]]]:
        """Job id → (CronTrigger, the accounts with a slot at that time); ids derive from the config."""
        from apscheduler.triggers.cron import CronTrigger

        groups: dict[str, tuple[object, list[Daemon]]] = {}
        for daemon in self.daemons:
            tz = daemon.config.account.tz
            for slot in daemon.config.schedule.slots:
                key = f"slot-{slot}-{tz}".replace(" ", "-")
                if key not in groups:
                    groups[key] = (CronTrigger(day_of_week=slot.weekday, hour=slot.hour, minute=slot.minute,
                                               timezone=tz), [])
                groups[key][1].append(daemon)
        return groups


def serve(daemons: list[Daemon], workers: int) -> None:
    """Serve every account's slots from one scheduler until SIGTERM/SIGINT; then checkpoint and return.

    One CronTrigger per distinct slot time hands its accounts to the fleet's pool; one reconcile
    timer sweeps every account (at start, then every few minutes): it carries on releases left
    unfinished by a daemon that died (its run lock died with it), and serves what a slot job missed.
    """
    from apscheduler.schedulers.background import BackgroundScheduler

    fleet = Fleet(daemons, workers)
    # The jobs only queue work, so the scheduler's own pool needs a thread or two.
    scheduler = BackgroundScheduler(timezone=daemons[0].config.account.tz,
                                    executors={"default": {"type": "threadpool", "max_workers": 2}})
    grace = max(int(max(d.config.schedule.catch_up_hours for d in daemons) * 3600), 60)
    for job_id, (trigger, group) in fleet.slot_groups().items():
        # coalesce + a generous grace: a slot missed while the machine slept runs once, not in a burst.
        scheduler.add_job(fleet.sweep, trigger, args=[group], id=job_id, coalesce=True, max_instances=1,
                          misfire_grace_time=grace)
    # A late sweep (a busy machine, a suspended one) still runs, once.
    scheduler.add_job(fleet.sweep, "interval", seconds=reconcile_seconds(), id="reconcile",
                      coalesce=True, max_instances=1, misfire_grace_time=None, next_run_time=datetime.now(UTC))
    received = StopSignals()
    scheduler.start()
    try:
        signum = received.wait()
        log.info("收到停止信号（%s），当前步骤完成后退出，不再认领新的推送", signal.Signals(signum).name)
    finally:
        for daemon in daemons:
            daemon.stopping.set()
        scheduler.shutdown(wait=True)  # no sweep is left running to beat or queue after the stop
        fleet.stop()
        log.info("守护进程已退出")


class StopSignals:
    """SIGTERM and SIGINT, noted by a handler that takes no lock.

    A Python signal handler runs in the main thread between two of its instructions: had it
    taken a lock (an Event's, a thread pool's, the scheduler's) while the main thread held that
    same lock, the process would hang for good.  So the handler only appends to a list, and the
    main thread, which does nothing else, looks at the list a few times a second.
    """

    def __init__(self, signals: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT)) -> None:
        self.received: list[int] = []
        for signum in signals:
            signal.signal(signum, self._note)

    def _note(self, signum: int, frame: object) -> None:
        self.received.append(signum)  # a second signal (`timeout` sends two) is noted, and changes nothing

    def wait(self, every: float = 0.2) -> int:
        import time

        while not self.received:
            time.sleep(every)
        return self.received[0]
