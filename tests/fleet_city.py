"""A city of many accounts served by several daemon processes on a shared, movable clock.

Used by tests/test_fleet.py and bench/accounts.py.  Every account has its own content
(``posts`` ready posts, one article per push, no images) and its own AppID variable; they
may share one fake WeChat.  Each daemon process runs with ``time_machine`` on a clock that
is the real one plus an offset read from a file, so the caller can jump every daemon at once
from one slot to just before the next (``SharedClock.jump``) while minutes around a slot
pass in real time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The daemon process: time_machine at real time + the file's offset, moved whenever the file
# changes; APScheduler looks at the clock at least every 0.2 s, so it sees a jump at once.
CLOCK_SHIM = r"""
import os, sys, threading, time
from datetime import UTC, datetime, timedelta
import time_machine
from apscheduler.schedulers.base import BaseScheduler

path = sys.argv.pop(1)
base_real, base_mono = datetime.now(UTC), time.monotonic()

def real():
    return base_real + timedelta(seconds=time.monotonic() - base_mono)

def offset():
    with open(path) as f:
        return float(f.read())

def stamp():
    st = os.stat(path)
    return (st.st_ino, st.st_mtime_ns)

traveller = time_machine.travel(real() + timedelta(seconds=offset()), tick=True).start()
seen = stamp()

def follow():
    global seen
    while True:
        time.sleep(0.05)
        try:
            now = stamp()
            if now != seen:
                seen = now
                traveller.move_to(real() + timedelta(seconds=offset()))
        except (OSError, ValueError):
            pass

threading.Thread(target=follow, daemon=True).start()
_process = BaseScheduler._process_jobs
BaseScheduler._process_jobs = lambda self: min(_process(self) or 0.2, 0.2)
from scheduler.cli import main
main()
"""


class SharedClock:
    """The simulated time of every daemon started with it: real time plus an offset in a file."""

    def __init__(self, path: Path, at: datetime) -> None:
        self.path = path
        self.set(at)

    def set(self, at: datetime) -> None:
        """Make it ``at`` now, in every daemon (written whole, then renamed: never read half)."""
        self.offset = (at - datetime.now(UTC)).total_seconds()
        part = self.path.with_suffix(".part")
        part.write_text(repr(self.offset), encoding="ascii")
        os.replace(part, self.path)

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset)


def write_city(root: Path, accounts: int, posts: int, database_url: str, api_base_url: str, *,
               special: dict[str, str] | None = None, workers: int = 4,
               slots: tuple[str, ...] = ("tue 09:00", "fri 09:00")) -> tuple[Path, dict[str, str]]:
    """config.toml and content for ``accounts`` accounts; (config path, the environment it needs).

    ``special`` maps an account key to an api_base_url of its own (a failing WeChat).
    """
    keys = account_keys(accounts)
    lines = [f'[database]\nurl = "{database_url}"\n', f"[daemon]\nworkers = {workers}\n",
             "[schedule]\nslots = [{}]\nmax_articles = 1\n".format(", ".join(f'"{s}"' for s in slots))]
    env: dict[str, str] = {}
    for key in keys:
        variable = key.upper().replace("-", "_")
        env[f"{variable}_ID"], env[f"{variable}_SECRET"] = "", ""
        url = (special or {}).get(key, api_base_url)
        lines.append(f'[accounts.{key}]\nname = "城市医保{key}"\napp_id_env = "{variable}_ID"\n'
                     f'app_secret_env = "{variable}_SECRET"\napi_base_url = "{url}"\n'
                     f'[accounts.{key}.content]\ndir = "accounts/{key}"\n')
        folder = root / "accounts" / key / "news"
        folder.mkdir(parents=True, exist_ok=True)
        for n in range(posts):
            (folder / f"2023-12-{n + 1:02d}-post.md").write_text(
                f"---\ntitle: {key}工作动态第{n + 1}期\nstatus: ready\npriority: {posts - n}\n---\n"
                f"{key}第{n + 1}期正文。\n", encoding="utf-8")
    config = root / "config.toml"
    config.write_text("\n".join(lines), encoding="utf-8")
    return config, env


def account_keys(accounts: int) -> list[str]:
    return [f"a{n:03d}" for n in range(accounts)]


def credentials(env: dict[str, str], appid: str, secret: str) -> dict[str, str]:
    """Every account's AppID and secret variables set (all to one fake's)."""
    return {name: appid if name.endswith("_ID") else secret for name in env}


def start_daemon(config: Path, clock: SharedClock, env: dict[str, str], reconcile_seconds: float,
                 log: Path) -> subprocess.Popen:
    """A `publish daemon` process on the shared clock, its output in ``log``."""
    full = {**os.environ, **env, "TUIWEN_RECONCILE_SECONDS": str(reconcile_seconds), "PYTHONPATH": str(ROOT)}
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-c", CLOCK_SHIM, str(clock.path), "daemon", "--config", str(config)],
                                env=full, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)


def kill_hard(process: subprocess.Popen) -> None:
    """kill -9: no checkpoint, no heartbeat removed, its sessions cut by the kernel."""
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def stop(process: subprocess.Popen, timeout: float = 60) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def owner_of_port(port: int, pids: list[int]) -> int | None:
    """The process (of ``pids``) holding the local TCP port ``port``: who made a fake's call."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as file:
                next(file)
                for line in file:
                    fields = line.split()
                    if int(fields[1].rsplit(":", 1)[1], 16) == port:
                        inodes.add(fields[9])
        except OSError:
            continue
    for pid in pids:
        if any(f"socket:[{inode}]" in _open_files(pid) for inode in inodes):
            return pid
    return None


def _open_files(pid: int) -> set[str]:
    """What the descriptors of ``pid`` point at; one closed while looked at is simply not there
    (a busy daemon opens and closes descriptors all the time: skipping the whole process lost it)."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return set()
    links = set()
    for fd in fds:
        try:
            links.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            continue
    return links


def wait_for(condition, what: str, timeout: float) -> None:
    """Poll ``condition`` (every 0.2 s) until it holds; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.2)
