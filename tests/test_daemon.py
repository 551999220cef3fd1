"""The daemon's reconcile with frozen time: due, late and missed slots, restarts, races,
plus `publish plan` / `status` and a real daemon process stopped by SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import time
from datetime import datetime, timedelta, timezone

import pytest
import time_machine

from scheduler import ledger as L
from scheduler.daemon import Daemon
from scheduler.ledger import Ledger
from tests.conftest import cli_at, run_together, wait_until, wechat_env
from tests.test_release import EXPECTED_TITLES, releaser_for

SHANGHAI = timezone(timedelta(hours=8))
TUESDAY = datetime(2024, 4, 2, 9, 0, tzinfo=SHANGHAI)


def daemon_for(site, fake):
    releaser = releaser_for(site, fake, now=L.utcnow)  # the clock time_machine moves
    return Daemon(site.config, releaser.ledger, releaser)


def statuses(site):
    ledger = Ledger(site.config.database.url)
    return [(r.slot.astimezone(SHANGHAI), r.status, r.late) for r in reversed(ledger.releases(site.config.account.key))]


def seed_previous_release(site, when):
    """The ledger of a daemon that has been running: its last slot was ``when``."""
    ledger = Ledger(site.config.database.url)
    ledger.claim(site.config.account.key, when, "mass_send", [], status=L.EMPTY)
    ledger.close()


def test_a_slot_is_served_on_time(site, fake):
    with time_machine.travel(TUESDAY + timedelta(seconds=30), tick=False):
        report = daemon_for(site, fake).reconcile()
    [outcome] = report.released
    assert outcome.release.status == L.CONFIRMED and not outcome.release.late
    assert [a["title"] for a in fake.mass_sends[0]["articles"]] == EXPECTED_TITLES


def test_a_second_reconcile_in_the_same_slot_does_nothing(site, fake):
    with time_machine.travel(TUESDAY + timedelta(minutes=1), tick=False):
        daemon = daemon_for(site, fake)
        daemon.reconcile()
        again = daemon.reconcile()
    assert again.released == [] and len(fake.mass_sends) == 1


def test_down_over_the_slot_but_back_within_catch_up_releases_late(site, fake):
    seed_previous_release(site, TUESDAY - timedelta(days=4))
    with time_machine.travel(TUESDAY + timedelta(hours=3), tick=False):
        report = daemon_for(site, fake).reconcile()
    assert report.missed == []
    [outcome] = report.released
    assert outcome.release.late and outcome.release.status == L.CONFIRMED
    assert "补发" in site.publish("log").output


def test_down_beyond_catch_up_records_missed_and_pushes_nothing(site, fake):
    seed_previous_release(site, TUESDAY - timedelta(days=4))
    with time_machine.travel(TUESDAY + timedelta(hours=7), tick=False):
        report = daemon_for(site, fake).reconcile()
    assert report.released == [] and fake.mass_sends == []
    assert [s.astimezone(SHANGHAI) for s in report.missed] == [TUESDAY]
    assert statuses(site)[-1] == (TUESDAY, L.MISSED, False)
    assert "错过" in site.publish("log").output


def test_a_long_outage_is_never_a_burst_of_old_slots(site, fake):
    seed_previous_release(site, TUESDAY - timedelta(days=4))
    back = TUESDAY + timedelta(days=14, hours=2)  # two weeks later, two hours after a Tuesday slot
    with time_machine.travel(back, tick=False):
        report = daemon_for(site, fake).reconcile()
    assert len(report.missed) == 4  # Tue, Fri, Tue, Fri
    assert [o.release.slot.astimezone(SHANGHAI) for o in report.released] == [TUESDAY + timedelta(days=14)]
    assert len(fake.mass_sends) == 1


def test_an_unfinished_release_is_resumed_at_start_up(site, fake):
    fake.inject("message/mass/sendall", "lost")
    with time_machine.travel(TUESDAY, tick=False):
        first = daemon_for(site, fake).reconcile()
    assert first.released[0].release.status == L.UNCONFIRMED
    with time_machine.travel(TUESDAY + timedelta(minutes=5), tick=False):
        report = daemon_for(site, fake).reconcile()  # a restarted daemon
    [resumed] = report.resumed
    assert resumed.release.status == L.CONFIRMED
    assert len(fake.mass_sends) == 1


def test_two_daemons_at_once_push_the_slot_once(site, fake):
    with time_machine.travel(TUESDAY, tick=True):
        daemons = [daemon_for(site, fake) for _ in range(2)]
        run_together([daemon.reconcile for daemon in daemons])
    assert len(fake.mass_sends) == 1
    assert [s for _, s, _ in statuses(site)] == [L.CONFIRMED]


def test_plan_lists_the_coming_slots(site):
    result = site.publish("plan", "--at", "2024-04-01 12:00")
    assert result.exit_code == 0
    assert "2024-04-02 09:00（周二）" in result.output
    assert "2024-04-05 09:00（周五）" in result.output
    assert result.output.index("2024-04-02") < result.output.index("2024-04-05")
    assert "打击欺诈骗保 维护基金安全——集中宣传月启动" in result.output


def test_status_reports_last_push_next_slot_and_heartbeat(site, fake):
    with time_machine.travel(TUESDAY, tick=False):
        daemon_for(site, fake).reconcile()
    result = site.publish("status", "--at", "2024-04-05 12:00")
    assert result.exit_code == 0
    assert "2024-04-02 09:00（周二），3 天前" in result.output
    assert "下次推送" in result.output and "2024-04-09 09:00（周二）" in result.output
    assert "无响应" in result.output  # the heartbeat is three days old


def test_status_without_a_ledger(site):
    result = site.publish("status", "--at", "2024-04-01 12:00")
    assert result.exit_code == 0
    assert "守护进程" in result.output and "未运行" in result.output
    assert not (site.root / "state").exists()


def test_daemon_process_beats_and_stops_cleanly_on_sigterm(site, fake):
    monday_noon = TUESDAY - timedelta(hours=21)  # no slot due and none missed, whatever today is
    process = _start_daemon(site, fake, monday_noon)
    try:
        ledger = Ledger(site.config.database.url)
        wait_until(lambda: ledger.last_beat(site.config.account.key) is not None, process, "a heartbeat")
        process.send_signal(signal.SIGTERM)
        # Read while waiting: a daemon blocked on a full pipe could never exit.
        output = _stopped(process)
        assert process.returncode == 0, output
    finally:
        process.kill()
        process.stdout.close()
    assert ledger.last_beat(site.config.account.key) is None  # a clean stop removes its heartbeat
    assert fake.count("draft/add") == 0 and fake.mass_sends == []  # Monday noon: nothing to push


def test_sigterm_at_any_moment_of_a_busy_daemon_stops_it_cleanly(site, fake):
    """Its scheduler sweeping a hundred times a second, a signal lands at a random moment of that
    work: the daemon still exits at once, and leaves no heartbeat behind."""
    import random

    monday_noon = TUESDAY - timedelta(hours=21)
    ledger = Ledger(site.config.database.url)
    for moment in sorted(random.uniform(0, 1.5) for _ in range(3)):
        process = _start_daemon(site, fake, monday_noon, TUIWEN_RECONCILE_SECONDS="0.01")
        try:
            wait_until(lambda: ledger.last_beat(site.config.account.key) is not None, process, "a heartbeat")
            time.sleep(moment)
            process.send_signal(signal.SIGTERM)
            output = _stopped(process)
            assert process.returncode == 0, f"SIGTERM {moment:.2f} s after the first heartbeat:\n{output}"
        finally:
            process.kill()
            process.stdout.close()
        assert ledger.last_beat(site.config.account.key) is None, f"SIGTERM {moment:.2f} s after the heartbeat"
    ledger.close()


# --- restarts: a daemon that really ran before, stopped, and started again ------------------

def test_stopped_before_a_slot_and_started_within_catch_up_releases_late(site, fake):
    with time_machine.travel(TUESDAY - timedelta(hours=1), tick=False):
        assert daemon_for(site, fake).reconcile().released == []  # running; nothing due yet
    # stopped here; the slot passes; started again three hours later
    with time_machine.travel(TUESDAY + timedelta(hours=3), tick=False):
        report = daemon_for(site, fake).reconcile()
    [outcome] = report.released
    assert report.missed == [] and outcome.release.late and outcome.release.status == L.CONFIRMED
    assert len(fake.mass_sends) == 1


def test_stopped_before_a_slot_and_started_beyond_catch_up_records_it_missed(site, fake):
    with time_machine.travel(TUESDAY - timedelta(hours=1), tick=False):
        daemon_for(site, fake).reconcile()  # the first daemon of a new ledger: no slot served yet
    with time_machine.travel(TUESDAY + timedelta(hours=7), tick=False):
        report = daemon_for(site, fake).reconcile()
    assert report.released == [] and fake.mass_sends == []
    assert [s.astimezone(SHANGHAI) for s in report.missed] == [TUESDAY]
    assert statuses(site) == [(TUESDAY, L.MISSED, False)]


def test_slots_before_the_first_daemon_ever_ran_are_not_missed(site, fake):
    with time_machine.travel(TUESDAY + timedelta(hours=7), tick=False):
        report = daemon_for(site, fake).reconcile()  # installed today, after this morning's slot
    assert report.missed == [] and statuses(site) == []


def test_a_daemon_started_twice_in_one_slot_pushes_once(site, fake):
    with time_machine.travel(TUESDAY + timedelta(minutes=1), tick=False):
        daemon_for(site, fake).reconcile()
    for later in (timedelta(minutes=10), timedelta(hours=2)):  # restarted, within catch-up both times
        with time_machine.travel(TUESDAY + later, tick=False):
            report = daemon_for(site, fake).reconcile()
        assert report.released == [] and report.resumed == [] and report.missed == []
    assert len(fake.mass_sends) == 1 and fake.count("draft/add") == 1
    assert [s for _, s, _ in statuses(site)] == [L.CONFIRMED]


def _three_posts(site, posts: int = 3) -> None:
    """Only three ready posts, each with its own body image, in place of the sample content."""
    from tests.conftest import image_bytes

    for post in site.content.rglob("*.md"):
        if post.name != "README.md":
            post.unlink()
    colours = ["#c53030", "#2f855a", "#2b6cb0", "#b7791f", "#6b46c1"]
    for n in range(posts):
        site.raw(f"news/images/p{n}.jpg", image_bytes(color=colours[n % len(colours)], size=(64 + n, 48)))
        site.post(f"news/2024-03-0{n + 1}-post.md",
                  f"title: 第{n + 1}篇\nstatus: ready\nreviewed_by: 王丽\napproved_by: 李明\n",
                  f"正文{n + 1}。\n\n![图](images/p{n}.jpg)\n")


def _start_daemon(site, fake, at: datetime, **environ: str) -> subprocess.Popen:
    """A real `publish daemon` process on the shipped slots, its clock starting at ``at``."""
    # PYTHONFAULTHANDLER: should it ever fail to stop, SIGABRT prints where each of its threads is.
    env = wechat_env(fake, PYTHONFAULTHANDLER="1", **environ)
    return subprocess.Popen(cli_at(at, "daemon", "--config", str(site.config_path)),
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _stopped(process: subprocess.Popen, timeout: float = 120) -> str:
    """The output of a daemon sent SIGTERM, once it has exited (read meanwhile: a full pipe would hold it)."""
    try:
        return process.communicate(timeout=timeout)[0]
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)
        pytest.fail(f"the daemon did not stop within {timeout:.0f} s of SIGTERM; where its threads were:\n"
                    f"{process.communicate(timeout=30)[0]}")


def test_sigterm_during_an_upload_stops_at_the_step_and_a_restart_finishes_without_re_uploading(site, fake, counts):
    _three_posts(site)
    fake.timeout_hold = 3.0
    fake.inject("media/uploadimg", "timeout", after=1)  # the second body image hangs
    ledger = Ledger(site.config.database.url)
    account = site.config.account.key

    daemon = _start_daemon(site, fake, TUESDAY + timedelta(seconds=5))
    try:
        wait_until(lambda: any(c.fault == "timeout" for c in list(fake.calls)), daemon, "the held upload")
        daemon.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        output = _stopped(daemon)
        stopped_in = time.monotonic() - signalled
        assert daemon.returncode == 0, output
    finally:
        daemon.kill()
    daemon.stdout.close()
    [release] = ledger.releases(account)
    assert release.status == L.CLAIMED, output  # stopped at its recorded step, nothing half-done
    assert fake.count("draft/add") == 0 and fake.mass_sends == []
    assert ledger.last_beat(account) is None
    uploaded_before = len(fake.images)
    assert 1 <= uploaded_before < 3

    restarted = _start_daemon(site, fake, TUESDAY + timedelta(minutes=10))
    try:
        wait_until(lambda: ledger.find(account, release.slot).status == L.CONFIRMED, restarted, "the release")
        restarted.send_signal(signal.SIGTERM)
        output = _stopped(restarted)
        assert restarted.returncode == 0, output
    finally:
        restarted.kill()
        restarted.stdout.close()
    assert len(fake.mass_sends) == 1 and fake.count("draft/add") == 1
    body = [u["sha256"] for u in fake.images.values()]
    assert len(body) == len(set(body)) == 3  # what was uploaded before the stop was not sent again
    covers = [m["sha256"] for m in fake.materials.values()]
    assert len(covers) == len(set(covers))
    counts(f"daemon SIGTERM during upload: exit 0 after {stopped_in:.1f} s at '{release.status}' with "
           f"{uploaded_before} of 3 images up; restart: pushes={len(fake.mass_sends)} images {len(body)}/3")
    ledger.close()
