"""Two processes racing for the same slots, on SQLite, PostgreSQL and MariaDB.

Two long-lived worker processes (spawned: nothing shared but the database and the fake
WeChat) receive the same list of 50 slots and race for each one, released together by a
barrier: either as two `publish --at <slot>` runs or as two daemons reconciling. Every
slot must be claimed once and pushed once: 50 mass sends, 0 doubles, one release per slot,
and no post in two releases.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import textwrap
import traceback
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone

import pytest

from scheduler import ledger as L
from scheduler.ledger import Ledger
from tests.conftest import image_bytes

REPS = 50
SHANGHAI = timezone(timedelta(hours=8))
FIRST = datetime(2024, 1, 2, 9, 0, tzinfo=SHANGHAI)  # a Tuesday


def slots(count: int) -> list[datetime]:
    """Consecutive Tuesday and Friday 09:00 slots."""
    found, day = [], FIRST
    while len(found) < count:
        if day.weekday() in (1, 4):
            found.append(day)
        day += timedelta(days=1)
    return found


def make_site(root, api_base_url: str, database_url: str, posts: int):
    """A repository of ``posts`` ready posts sharing one image, one article per push."""
    content = root / "content" / "news"
    (content / "images").mkdir(parents=True)
    (content / "images" / "photo.jpg").write_bytes(image_bytes())
    for n in range(posts):
        (content / f"2023-12-{n:02d}-post.md").write_text(
            f"---\ntitle: 工作动态第{n}期\nstatus: ready\npriority: {posts - n}\n---\n"
            f"第{n}期正文。\n\n![现场](images/photo.jpg)\n", encoding="utf-8")
    config = root / "config.toml"
    config.write_text(textwrap.dedent(f"""\
        [account]
        name = "竞速医保"
        author = "测试区医保局"
        api_base_url = "{api_base_url}"

        [schedule]
        slots = ["tue 09:00", "fri 09:00"]
        max_articles = 1

        [database]
        url = "{database_url}"
        """), encoding="utf-8")
    return config


def racer(kind: str, config_path: str, env: dict, at_list: list[datetime], barrier, results) -> None:
    """One worker: for each slot, wait for the other at the barrier, then publish or reconcile."""
    os.environ.update(env)
    from rich.console import Console

    from scheduler import commands
    from scheduler.config import load_config
    from scheduler.daemon import Daemon
    from scheduler.runtime import make_releaser, open_ledger

    config = load_config(config_path)
    clock = {"now": at_list[0]}
    daemon = None
    if kind == "daemon":
        ledger = open_ledger(config)
        releaser = make_releaser(config, ledger, now=lambda: clock["now"])
        daemon = Daemon(config, ledger, releaser, now=lambda: clock["now"])
    for at in at_list:
        clock["now"] = at
        try:
            barrier.wait(timeout=120)
        except Exception:  # noqa: BLE001 - reported to the test through the queue
            results.put((at, "barrier", traceback.format_exc()))
            continue
        try:
            if daemon is not None:
                report = daemon.reconcile()
                pushed = [o.release.status for o in report.released if o.note not in ("taken", "already")]
                results.put((at, "pushed" if pushed else "backed-off", ",".join(pushed)))
            else:
                out = io.StringIO()
                code = commands.publish(config, at, False, Console(file=out, width=200))
                text = out.getvalue()
                taken = "另一个进程处理" in text or "不会重复发送" in text
                results.put((at, "backed-off" if taken else "pushed", f"exit {code}"))
        except Exception:  # noqa: BLE001 - reported to the test through the queue
            results.put((at, "error", traceback.format_exc()))
    if daemon is not None:
        daemon.ledger.stop_beating(daemon.name)


def collect(results, workers, expected: int, timeout: float = 120) -> list[tuple]:
    """The workers' reports; fails at once when a worker died instead of waiting for it."""
    import queue
    import time

    seen, deadline = [], time.monotonic() + timeout
    while len(seen) < expected:
        try:
            seen.append(results.get(timeout=0.5))
        except queue.Empty:
            dead = [w.exitcode for w in workers if not w.is_alive() and w.exitcode != 0]
            if dead or time.monotonic() > deadline:
                pytest.fail(f"a worker died (exit codes {dead}) or hung after {len(seen)} reports")
    return seen


@pytest.mark.parametrize("kind", ["publish", "daemon"])
def test_two_processes_racing_push_each_slot_once(kind, database_url, fake, tmp_path, counts):
    fake.mass_quota = 10 * REPS  # 50 slots span months: lift the documented 4 a month
    backend = database_url.split(":", 1)[0].split("+", 1)[0]
    config_path = make_site(tmp_path / "site", fake.url, database_url, posts=REPS + 5)
    at_list = slots(REPS)
    env = {"WECHAT_APP_ID": fake.appid, "WECHAT_APP_SECRET": fake.secret}
    Ledger(database_url).close()  # the tables exist before the race (as after any first run)

    spawn = multiprocessing.get_context("spawn")
    barrier, results = spawn.Barrier(2), spawn.Queue()
    workers = [spawn.Process(target=racer, args=(kind, str(config_path), env, at_list, barrier, results))
               for _ in range(2)]
    for worker in workers:
        worker.start()
    try:
        seen = collect(results, workers, 2 * REPS)
    finally:
        for worker in workers:
            worker.join(timeout=60)
            if worker.is_alive():
                worker.kill()
    errors = [detail for _, what, detail in seen if what in ("error", "barrier")]
    assert errors == [], errors[0]

    per_slot = Counter(at for at, what, _ in seen if what == "pushed")
    sends = Counter(send["clientmsgid"] for send in fake.mass_sends)
    doubles = sum(1 for n in sends.values() if n > 1) + sum(1 for n in per_slot.values() if n > 1)
    ledger = Ledger(database_url)
    releases = ledger.releases("main")  # the account's key: its config names none
    items = [item.post_path for release in releases for item in release.items]
    ledger.close()
    drafts, sendalls = fake.count("draft/add"), fake.count("message/mass/sendall")
    counts(f"races {backend:>10} {kind:>7}: {REPS} slots, pushes={len(fake.mass_sends)} doubles={doubles} "
           f"releases={len(releases)} draft/add={drafts} sendall={sendalls} "
           f"uploads={len(fake.images)} body + {len(fake.materials)} cover")

    assert doubles == 0
    assert len(fake.mass_sends) == REPS and len(sends) == REPS
    assert sorted(per_slot) == at_list and set(per_slot.values()) == {1}
    assert len(releases) == REPS and {r.status for r in releases} == {L.CONFIRMED}
    assert sorted(r.slot for r in releases) == [at.astimezone(UTC) for at in at_list]
    assert len(items) == len(set(items)) == REPS  # no post in two releases
    assert drafts == sendalls == REPS  # no release was ever carried by both processes at once
    assert len(fake.images) == len(fake.materials) == 1  # the shared image went up once, whoever won
