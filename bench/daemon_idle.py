"""``publish daemon`` left idle: memory (RSS) and CPU, sampled from /proc.

The reconcile job normally runs every 5 minutes; here ``TUIWEN_RECONCILE_SECONDS``
makes it run every second, so a minute of this is five hours of an idle daemon.
No slot falls in the run (the only slot is days away) and the WeChat address is a
closed local port, so nothing is ever sent.

    python bench/daemon_idle.py [SECONDS] [--new-ledger]
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

CONFIG = """\
[account]
name = "屈原医保"
api_base_url = "http://127.0.0.1:9/"

[schedule]
slots = ["{slot}"]

[database]
url = "sqlite:///{db}"
"""


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/statm") as file:
        return int(file.read().split()[1]) * PAGE / 2**20


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as file:
        fields = file.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def last_beat(db: Path) -> str | None:
    """When the daemon last reconciled, as its ledger says (read only, beside the daemon)."""
    import sqlite3

    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as connection:
            return connection.execute("SELECT max(beat_at) FROM heartbeat").fetchone()[0]
    except sqlite3.Error:
        return None


def publish_command() -> list[str]:
    return [sys.executable, "-m", "scheduler.cli"]


def baseline_rss(env: dict) -> float:
    """A bare Python interpreter, sampled the same way."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(2)"], env=env)
    time.sleep(1)
    value = rss_mb(child.pid)
    child.wait()
    return value


def run(seconds: float = 60, env: dict | None = None, new_ledger: bool = False) -> dict:
    """Sample an idle daemon for ``seconds``; its ledger already exists unless ``new_ledger``
    (a first start also loads alembic to create the tables: some 11 MB more)."""
    env = dict(env or os.environ)
    with tempfile.TemporaryDirectory(prefix="tuiwen-daemon-") as temp:
        root = Path(temp)
        if not new_ledger:
            sys.path.insert(0, str(ROOT))
            from scheduler.ledger import Ledger

            Ledger(f"sqlite:///{(root / 'ledger.db').as_posix()}").close()
        post = root / "content" / "news" / "a.md"
        post.parent.mkdir(parents=True)
        post.write_text("---\ntitle: 测试\nstatus: ready\n---\n正文。\n", encoding="utf-8")
        slot = DAYS[(datetime.now().weekday() + 3) % 7] + " 03:00"  # days away: nothing is due
        (root / "config.toml").write_text(CONFIG.format(slot=slot, db=(root / "ledger.db").as_posix()),
                                          encoding="utf-8")
        env.update(TUIWEN_RECONCILE_SECONDS="1", WECHAT_APP_ID="wx-bench", WECHAT_APP_SECRET="bench-secret")
        log = root / "daemon.log"
        with open(log, "wb") as err:
            child = subprocess.Popen([*publish_command(), "--config", str(root / "config.toml"), "daemon"],
                                     cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
            try:
                time.sleep(3)  # start-up and the first reconcile are not idling
                start_cpu, start = cpu_seconds(child.pid), time.monotonic()
                samples, beats = [], set()
                while time.monotonic() - start < seconds and child.poll() is None:
                    samples.append(rss_mb(child.pid))
                    beats.add(last_beat(root / "ledger.db"))  # every reconcile touches the heartbeat
                    time.sleep(0.5)
                cpu = cpu_seconds(child.pid) - start_cpu
                elapsed = time.monotonic() - start
            finally:
                child.send_signal(signal.SIGTERM)
                code = child.wait(timeout=30)
        text = log.read_text(encoding="utf-8", errors="replace")
        reconciles = len(beats - {None})
        errors = [line for line in text.splitlines() if " ERROR " in line or "Traceback" in line]
    return {
        "seconds": elapsed, "rss_max": max(samples, default=0.0), "rss_last": samples[-1] if samples else 0.0,
        "rss_first": samples[0] if samples else 0.0, "cpu": cpu, "cpu_percent": 100 * cpu / elapsed,
        "reconciles": reconciles, "exit": code, "errors": errors[:3], "baseline_rss": baseline_rss(env),
        "simulated": timedelta(minutes=5 * reconciles),
    }


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    result = run(float(args[0]) if args else 60, new_ledger="--new-ledger" in sys.argv)
    for key, value in result.items():
        print(f"{key:14} {value}")


if __name__ == "__main__":
    main()
