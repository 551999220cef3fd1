"""Trust under faults, with real processes: one push at most, the right exit code, one Chinese
line, and a ledger that tells the truth.

- The answer to a mass send is lost and the confirming re-send is refused (45028), or a proxy
  answers the send with its own HTML page: the release stays unconfirmed, its posts are held (the
  next slot does not send them again), and a person settles it with ``publish resolve``.
- A release killed before its send and restarted past ``catch_up_hours`` is closed as missed,
  never sent late; a release that failed before its send is tried again inside the window.
- The ledger's database stops mid-release (PostgreSQL, MariaDB), is read-only (SQLite) or its
  disk is full: exit 3 with one line, and the next run pushes exactly once.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy.engine import make_url

from scheduler import ledger as L
from scheduler.ledger import Ledger
from tests.conftest import REPO_ROOT, SERVER_URLS, reset_database, server_url, start_publish, wait_until, wechat_env
from tests.test_faults import advance_fake_clock
from tests.test_release import SLOT, SLOT_AT

FRIDAY_AT = "2024-04-05 09:00"  # the next slot after SLOT_AT
NEXT_TUESDAY_AT = "2024-04-09 09:00"  # a week on: a post of its own is ready by then
TRACEBACK = "Traceback"


def run_publish(site, fake, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """``publish`` as a person runs it: a new process, its output as they would read it."""
    env = wechat_env(fake)
    env.pop("TUIWEN_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "scheduler.cli", "--config", str(site.config_path), *args],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def output(result: subprocess.CompletedProcess) -> str:
    return result.stdout + result.stderr


def the_release(site, slot=SLOT):
    ledger = Ledger(site.config.database.url)
    try:
        return ledger.find(site.config.account.key, slot)
    finally:
        ledger.close()


def sent_title_sets(fake) -> list[set[str]]:
    return [{a["title"] for a in send["articles"]} for send in fake.mass_sends]


# --- an unknown send is settled only by a definite answer ----------------------------------------

@pytest.mark.parametrize("refusal", [
    {"errcode": 45028, "errmsg": "has no masssend quota"},
    {"errcode": 40007, "errmsg": "invalid media_id"},
    "proxy_page_after",
], ids=["45028", "40007", "proxy-page"])
def test_a_refused_resend_after_a_lost_answer_holds_the_posts(site, fake, refusal):
    fake.inject("message/mass/sendall", "lost")
    first = run_publish(site, fake, "--at", SLOT_AT)
    assert first.returncode == 3, output(first)
    assert TRACEBACK not in output(first)
    assert the_release(site).status == L.UNCONFIRMED and len(fake.mass_sends) == 1

    advance_fake_clock(fake, 120)  # past WeChat's one-minute clientmsgid window
    fake.inject("message/mass/sendall", refusal)
    again = run_publish(site, fake, "--at", "2024-04-02 09:05")
    text = output(again)
    assert again.returncode == 3, text
    assert TRACEBACK not in text
    release = the_release(site)
    assert release.status == L.UNCONFIRMED, (release.status, release.error)
    assert f"publish resolve {release.id} --sent" in text  # what a person runs, once they know
    held = {item.title for item in release.items}

    advance_fake_clock(fake, 7 * 86_400)
    later = run_publish(site, fake, "--at", NEXT_TUESDAY_AT)
    # The new slot is served; the old push still waits for a person, and the exit code says so.
    assert later.returncode == 3 and "publish resolve" in output(later), output(later)
    assert len(fake.mass_sends) == 2
    assert sent_title_sets(fake)[1].isdisjoint(held), "an unconfirmed push's posts went out again"

    settled = run_publish(site, fake, "resolve", str(release.id), "--sent")
    assert settled.returncode == 0, output(settled)
    assert the_release(site).status == L.CONFIRMED


def test_a_proxy_page_answering_the_first_send_is_confirmed_by_asking(site, fake):
    fake.inject("message/mass/sendall", "proxy_page_after")
    first = run_publish(site, fake, "--at", SLOT_AT)
    assert first.returncode == 3 and TRACEBACK not in output(first), output(first)
    assert the_release(site).status == L.UNCONFIRMED  # not failed: the send may have gone out

    advance_fake_clock(fake, 120)
    later = run_publish(site, fake, "--at", "2024-04-02 09:05")
    assert later.returncode == 0, output(later)
    release = the_release(site)
    assert release.status == L.CONFIRMED and release.msg_id == str(fake.mass_sends[0]["msg_id"])
    assert len(fake.mass_sends) == 1


def test_resolve_not_sent_frees_the_posts_and_refuses_a_settled_release(site, fake):
    fake.inject("message/mass/sendall", "lost")
    run_publish(site, fake, "--at", SLOT_AT)
    release = the_release(site)
    freed = run_publish(site, fake, "resolve", str(release.id), "--not-sent")
    assert freed.returncode == 0, output(freed)
    assert the_release(site).status == L.FAILED
    again = run_publish(site, fake, "resolve", str(release.id), "--sent")
    assert again.returncode == 2 and "无需核对" in output(again)
    unknown = run_publish(site, fake, "resolve", "999", "--sent")
    assert unknown.returncode == 2 and "没有编号为 999" in output(unknown)


# --- never sent late, never burned -----------------------------------------------------------

def test_a_release_killed_before_its_send_is_not_sent_after_the_window(site, fake):
    fake.timeout_hold = 120.0
    fake.inject("draft/add", "timeout")
    process = start_publish(site, fake, "--at", SLOT_AT)
    try:
        wait_until(lambda: any(c.endpoint == "draft/add" for c in list(fake.calls)), process, "draft/add")
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        process.kill()
        process.stdout.close()
    fake.clear_faults()
    held = {item.title for item in the_release(site).items}

    # 56 hours later, the next slot: the interrupted one is closed as missed, only Friday's goes out.
    advance_fake_clock(fake, 3 * 86_400)
    later = run_publish(site, fake, "--at", FRIDAY_AT)
    text = output(later)
    assert later.returncode == 0, text
    release = the_release(site)
    assert release.status == L.MISSED and "补发时限" in release.error
    assert "错过" in text
    assert len(fake.mass_sends) == 1, "one run must not send two slots"
    assert held <= sent_title_sets(fake)[0], "the interrupted release's posts were not freed"


def test_a_release_failed_before_its_send_is_retried_inside_the_window(site, fake):
    # An IP-whitelist refusal is no busy answer: the release fails at once, nothing sent.
    fake.inject("draft/add", {"errcode": 40164, "errmsg": "invalid ip 10.0.0.9, not in whitelist"})
    first = run_publish(site, fake, "--at", SLOT_AT)
    assert first.returncode == 3 and "IP 白名单" in output(first), output(first)
    assert the_release(site).status == L.FAILED and fake.mass_sends == []

    # The administrator adds the address; a person runs publish again an hour later.
    retried = run_publish(site, fake, "--at", "2024-04-02 10:00")
    assert retried.returncode == 0, output(retried)
    release = the_release(site)
    assert release.status == L.CONFIRMED and len(fake.mass_sends) == 1
    assert release.late  # 补发: it went out after its slot


def test_past_the_window_publish_names_the_command_that_pushes_now(site, fake):
    fake.inject("draft/add", {"errcode": 40164, "errmsg": "invalid ip 10.0.0.9, not in whitelist"})
    run_publish(site, fake, "--at", SLOT_AT)
    later = run_publish(site, fake, "--at", "2024-04-02 20:00")  # catch_up_hours = 6 has passed
    text = output(later)
    assert later.returncode == 0, text
    assert "publish --force-slot" in text and "推送失败" in text
    assert fake.mass_sends == []

    forced = run_publish(site, fake, "--at", "2024-04-02 20:00", "--force-slot")
    assert forced.returncode == 0, output(forced)
    assert len(fake.mass_sends) == 1


def test_busy_answers_exhausting_the_retries_exit_3(site, fake):
    fake.inject("draft/add", "busy", times=20)
    result = run_publish(site, fake, "--at", SLOT_AT)
    assert result.returncode == 3, output(result)
    assert TRACEBACK not in output(result) and "没有完成" in output(result)


def test_a_fresh_ledger_records_a_slot_past_the_window_as_missed(site, fake):
    result = run_publish(site, fake, "--at", "2024-04-02 20:00")
    text = output(result)
    assert result.returncode == 0, text
    assert "错过" in text and "现在没有到期的推送" not in text
    assert the_release(site).status == L.MISSED and fake.mass_sends == []


def test_a_fresh_ledger_serves_a_slot_inside_the_window_late(site, fake):
    result = run_publish(site, fake, "--at", "2024-04-02 12:00")
    assert result.returncode == 0, output(result)
    release = the_release(site)
    assert release.status == L.CONFIRMED and release.late


# --- the ledger's database fails ---------------------------------------------------------------

class CuttableProxy:
    """A TCP forwarder in front of a database server, which the test can cut (every connection
    dropped, new ones refused) and restore: the server, as the client sees it, stops and starts."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = _free_port()
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            if self._listener is not None:
                # shutdown() wakes the thread blocked in accept(); close() alone would leave it listening.
                with contextlib.suppress(OSError):
                    self._listener.shutdown(socket.SHUT_RDWR)
                self._listener.close()
                self._listener = None
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=_pump, args=(a, b), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        # shutdown() first: the other direction's thread is blocked in recv() on one of these, and
        # close() alone would keep that socket open (and the database session, with its locks).
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def use_ledger(site, url: str) -> None:
    text = site.config_path.read_text(encoding="utf-8")
    old = 'url = "sqlite:///state/tuiwen.db"'
    assert old in text
    site.config_path.write_text(text.replace(old, f'url = "{url}"'), encoding="utf-8")


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
def test_the_ledger_database_stopping_mid_release_exits_3_then_pushes_once(site, fake, backend):
    url = server_url(backend)
    if not url:
        pytest.skip(f"{SERVER_URLS[backend]} is not set")
    reset_database(url)
    real = make_url(url)
    proxy = CuttableProxy(real.host or "127.0.0.1", real.port or (5432 if backend == "postgresql" else 3306))
    try:
        use_ledger(site, real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False))
        fake.timeout_hold = 2.0
        fake.inject("draft/add", "hang_after")  # WeChat makes the draft; the answer waits
        process = start_publish(site, fake, "--at", SLOT_AT)
        try:
            wait_until(lambda: any(c.endpoint == "draft/add" for c in list(fake.calls)), process, "draft/add")
            proxy.cut()  # the database stops while the release waits for WeChat
            text = process.communicate(timeout=120)[0]
        finally:
            process.kill()
        assert process.returncode == 3, text
        assert TRACEBACK not in text and "台账数据库出错" in text
        assert text.count("台账数据库出错") == 1, text
        assert fake.mass_sends == []

        proxy.restore()
        fake.clear_faults()
        # The server frees the run lock of the cut session when it notices the session is gone;
        # until then a run says another process holds the release, and the next one carries it.
        for _ in range(30):
            again = run_publish(site, fake, "--at", "2024-04-02 09:05")
            assert again.returncode == 0, output(again)
            if the_release(site).status == L.CONFIRMED:
                break
            assert "另一个进程" in output(again), output(again)
            time.sleep(1)
        assert len(fake.mass_sends) == 1 and the_release(site).status == L.CONFIRMED, output(again)
    finally:
        proxy.cut()
        reset_database(url)


def mounted_tmpfs(where, size: str) -> None:
    """A small file system of its own (tmpfs), as root can mount one; skipped where it cannot."""
    where.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small file system needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True,
                          check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount tmpfs here: {done.stderr.decode(errors='replace').strip()}")


@pytest.fixture
def small_disk(tmp_path):
    where = tmp_path / "disk"
    mounted_tmpfs(where, "2m")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_read_only_sqlite_ledger_exits_3_with_one_line(site, fake, small_disk):
    db = small_disk / "tuiwen.db"
    Ledger(f"sqlite:///{db}").close()  # a ledger with its tables, then its file system turns read-only
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    use_ledger(site, f"sqlite:///{db}")
    result = run_publish(site, fake, "--at", SLOT_AT)
    text = output(result)
    assert result.returncode == 3, text
    assert TRACEBACK not in text and "台账数据库出错" in text
    assert text.count("台账数据库出错") == 1, text
    assert fake.mass_sends == []


def test_a_full_disk_under_the_ledger_exits_3_then_pushes_once(site, fake, small_disk):
    use_ledger(site, f"sqlite:///{small_disk / 'tuiwen.db'}")
    fake.timeout_hold = 2.0
    fake.inject("draft/add", "hang_after")
    filler = small_disk / "filler"
    process = start_publish(site, fake, "--at", SLOT_AT)
    try:
        wait_until(lambda: any(c.endpoint == "draft/add" for c in list(fake.calls)), process, "draft/add")
        with open(filler, "wb") as out:  # the disk fills up while the release waits for WeChat
            try:
                while True:
                    out.write(b"\0" * 65536)
                    out.flush()
            except OSError:
                pass
        text = process.communicate(timeout=120)[0]
    finally:
        process.kill()
    assert process.returncode == 3, text
    assert TRACEBACK not in text and "磁盘已满" in text
    assert fake.mass_sends == []

    filler.unlink()
    fake.clear_faults()
    again = run_publish(site, fake, "--at", "2024-04-02 09:05")
    assert again.returncode == 0, output(again)
    assert len(fake.mass_sends) == 1 and the_release(site).status == L.CONFIRMED


# --- the daemon process --------------------------------------------------------------------------

def test_daemon_refuses_at(site, fake):
    result = run_publish(site, fake, "daemon", "--at", SLOT_AT)
    assert result.returncode == 2 and "--dry-run" in output(result)


def slots_away_from_now(site) -> None:
    """One slot a week, three days from now: nothing is due while the test runs, whatever the day."""
    from datetime import datetime

    names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    away = datetime.now(site.config.account.tz) + timedelta(days=3)
    text = site.config_path.read_text(encoding="utf-8")
    assert 'slots = ["tue 09:00", "fri 09:00"]' in text
    site.config_path.write_text(
        text.replace('slots = ["tue 09:00", "fri 09:00"]', f'slots = ["{names[away.weekday()]} {away:%H:%M}"]'),
        encoding="utf-8")


def test_two_sigterms_in_quick_succession_stop_the_daemon_cleanly(site, fake):
    slots_away_from_now(site)
    process = start_publish(site, fake, "daemon")
    ledger = Ledger(site.config.database.url)
    try:
        wait_until(lambda: ledger.last_beat(site.config.account.key) is not None, process, "a heartbeat")
        process.send_signal(signal.SIGTERM)
        process.send_signal(signal.SIGTERM)  # as `timeout` does
        text = process.communicate(timeout=60)[0]
    finally:
        process.kill()
    assert process.returncode == 0, text
    assert TRACEBACK not in text and "SchedulerNotRunning" not in text
    assert "守护进程已启动" in text and "下一次推送" in text  # its start line, in Chinese
    assert "Added job" not in text and "Scheduler started" not in text  # no APScheduler chatter
    assert ledger.last_beat(site.config.account.key) is None  # `status` will not say it runs
    ledger.close()


def test_the_mass_send_waiting_for_the_administrator_is_announced_then_failed(site, fake):
    import time_machine

    from tests.receivers import HttpReceiver
    from tests.test_daemon import TUESDAY, daemon_for

    fake.mass_protection = True
    with HttpReceiver() as hook:
        text = site.config_path.read_text(encoding="utf-8")
        site.config_path.write_text(text + f'\n[alerts]\nwebhook_url = "{hook.url}"\n', encoding="utf-8")
        with time_machine.travel(TUESDAY + timedelta(seconds=30), tick=False):
            daemon = daemon_for(site, fake)
            daemon.reconcile()
        assert the_release(site).status == L.SENT
        with time_machine.travel(TUESDAY + timedelta(minutes=5), tick=False):
            daemon.reconcile()
        waiting = [r["json"] for r in hook.requests if r["json"]["event"] == "release_waiting"]
        assert len(waiting) == 1 and "请管理员在手机微信上确认群发" in waiting[0]["message"]

        advance_fake_clock(fake, 31 * 60)  # nobody confirmed: WeChat cancels it
        with time_machine.travel(TUESDAY + timedelta(minutes=35), tick=False):
            daemon.reconcile()
    release = the_release(site)
    assert release.status == L.FAILED and "群发保护" in release.error
    assert len(fake.mass_sends) == 1


# --- the account's kind ------------------------------------------------------------------------

def set_account(site, **values: str) -> None:
    text = site.config_path.read_text(encoding="utf-8")
    lines = "".join(f'{key} = "{value}"\n' for key, value in values.items())
    site.config_path.write_text(text.replace("[account]\n", "[account]\n" + lines, 1), encoding="utf-8")


@pytest.mark.parametrize("command", ["check", "plan", "status"])
def test_a_service_account_mass_sending_more_than_four_times_a_month_is_warned(site, command):
    set_account(site, type="service")  # the shipped schedule: Tuesdays and Fridays, 8 or 9 a month
    result = site.publish(command, "--at", SLOT_AT)
    assert "每月最多收到 4 次群发" in result.output and "45028" in result.output, result.output


@pytest.mark.parametrize("kind, mode", [("subscription", "mass_send"), ("service", "publish")])
def test_no_monthly_warning_where_the_limit_does_not_apply(site, kind, mode):
    text = site.config_path.read_text(encoding="utf-8").replace('mode = "mass_send"', f'mode = "{mode}"')
    site.config_path.write_text(text, encoding="utf-8")
    set_account(site, type=kind)
    assert "每月最多收到" not in site.publish("plan", "--at", SLOT_AT).output


def test_status_names_the_cause_of_the_last_failure(site, fake):
    fake.inject("draft/add", {"errcode": 40164, "errmsg": "invalid ip 10.0.0.9, not in whitelist"})
    run_publish(site, fake, "--at", SLOT_AT)
    status = site.publish("status", "--at", "2024-04-02 09:30")
    assert "上次推送失败" in status.output and "白名单" in status.output, status.output


# --- one bad post among good ones, under the daemon ----------------------------------------------

def test_the_daemon_pushes_the_valid_posts_on_time_beside_an_impossible_date(site, fake):
    import time_machine

    from tests.receivers import HttpReceiver
    from tests.test_daemon import TUESDAY, daemon_for
    from tests.test_release import EXPECTED_TITLES

    bad = site.content / "news" / "2024-03-30-bad-date.md"
    bad.write_text("---\ntitle: 日期写错的文章\nstatus: ready\npublish_after: 2024-02-30\n---\n正文。\n",
                   encoding="utf-8")
    with HttpReceiver() as hook:
        text = site.config_path.read_text(encoding="utf-8")
        site.config_path.write_text(text + f'\n[alerts]\nwebhook_url = "{hook.url}"\n', encoding="utf-8")
        with time_machine.travel(TUESDAY + timedelta(seconds=30), tick=False):
            report = daemon_for(site, fake).reconcile()
    assert report.faults == [] and report.errors == []
    [outcome] = report.released
    assert outcome.release.status == L.CONFIRMED and not outcome.release.late
    assert [a["title"] for a in fake.mass_sends[0]["articles"]] == EXPECTED_TITLES
    about_it = [r["json"] for r in hook.requests if r["json"]["event"] == "post_invalid"]
    assert len(about_it) == 1 and "news/2024-03-30-bad-date.md" in about_it[0]["message"]
    ledger = Ledger(site.config.database.url)
    causes = [e.message for e in ledger.events(site.config.account.key) if e.kind == "content"]
    assert any("news/2024-03-30-bad-date.md" in c and "2024-02-30" in c for c in causes), causes


def test_a_ledger_from_a_newer_version_is_named_as_such(site, fake, tmp_path):
    from sqlalchemy import create_engine, text

    db = tmp_path / "newer.db"
    Ledger(f"sqlite:///{db}").close()
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    use_ledger(site, f"sqlite:///{db}")
    result = run_publish(site, fake, "--at", SLOT_AT)
    assert result.returncode == 3 and TRACEBACK not in output(result)
    assert "更新版本的 tuiwen" in output(result), output(result)


def test_the_log_shows_the_number_resolve_takes(site, fake):
    fake.inject("message/mass/sendall", "lost")
    run_publish(site, fake, "--at", SLOT_AT)
    release = the_release(site)
    log = site.publish("log")
    assert "编号" in log.output and f"│ {release.id} " in log.output, log.output
