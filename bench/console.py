"""The console's pages over a province-sized repository: server time per page.

    python bench/console.py [--posts 5000] [--dir DIR] [--repeat 5]

A corpus of ``--posts`` posts (bench/make_corpus.py; kept in DIR between runs when
given), three-role sign-off, and a ledger of two years of releases (two a week,
three articles each, with their events).  Each page is requested in-process
through the ASGI app (no network): the first request (the check cache cold) and
the median of the next ``--repeat`` are printed in milliseconds, against the
150 ms target, with the median CPU time of the process (what a busy machine
does not inflate).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.make_corpus import make_corpus  # noqa: E402

TARGET_MS = 150
PASSWORD = "bench password 1"
NOW = datetime(2026, 1, 5, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Monday, after the corpus


def corpus(posts: int, folder: Path) -> Path:
    config = folder / "config.toml"
    if not (folder / "content").is_dir() or len(list((folder / "content").rglob("*.md"))) != posts:
        started = time.perf_counter()
        make_corpus(posts, folder)
        text = config.read_text(encoding="utf-8").replace(
            "[review]\nrequired = true\n", '[review]\nroles = ["初审", "复审", "终审"]\n')
        config.write_text(text, encoding="utf-8")
        print(f"语料：{posts} 篇，生成用时 {time.perf_counter() - started:.0f} 秒")
    return config


def two_years_of_releases(config) -> None:
    from scheduler import states
    from scheduler.ledger import ItemPlan
    from scheduler.runtime import open_ledger

    ledger = open_ledger(config)
    try:
        if ledger.releases(config.account.key, 1):
            return
        posts = sorted(p for p in config.content.dir.rglob("*.md") if not p.name.startswith("_"))
        day, n = NOW - timedelta(days=730), 0
        while day < NOW - timedelta(days=1):
            for weekday in (1, 4):  # Tuesday and Friday, 09:00
                slot = (day + timedelta(days=(weekday - day.weekday()) % 7)).replace(hour=9, minute=0)
                if slot >= NOW:
                    continue
                items = []
                for i in range(3):
                    index = n * 3 + i  # a post goes out once: past the corpus, posts since deleted
                    rel = posts[index].relative_to(config.content.dir).as_posix() if index < len(posts) else f"news/gone-{index}.md"
                    items.append(ItemPlan(i + 1, rel, f"{n:08d}{i:02d}".ljust(64, "0"), f"文章 {n}-{i}", rel.split("/")[0]))
                release = ledger.claim(config.account.key, slot, "mass_send", items, status=states.SENT)
                if release is not None:
                    ledger.event(config.account.key, "sent", "已群发", release.id)
                n += 1
            day += timedelta(days=7)
        print(f"台账：两年 {n} 次发布")
    finally:
        ledger.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=5000)
    parser.add_argument("--dir", type=Path, help="keep the corpus here between runs")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    folder = args.dir or Path(tempfile.mkdtemp(prefix="tuiwen-console-bench-"))
    folder.mkdir(parents=True, exist_ok=True)

    from starlette.testclient import TestClient

    from scheduler.config import load_accounts
    from scheduler.console import users
    from scheduler.console.app import create_app
    from scheduler.runtime import open_ledger

    [config] = load_accounts(corpus(args.posts, folder))
    two_years_of_releases(config)
    ledger = open_ledger(config)
    try:
        users.add(ledger, "bench", config.account.key, "终审", PASSWORD)
        if not ledger.approvals(config.account.key):  # the newest posts signed off in the console
            from scheduler import signoff

            newest = sorted(config.content.dir.rglob("*.md"), key=lambda p: p.name)[-30:]
            for path in newest:
                for role in ("初审", "复审", "终审"):
                    signoff.approve_in_ledger(config, ledger, path, "审核人", role, NOW)
        release = ledger.releases(config.account.key, 1)[0]
    finally:
        ledger.close()
    key = config.account.key
    app = create_app([config], secret="b" * 40, now=lambda c: NOW.astimezone(c.account.tz))
    try:
        with TestClient(app) as client:
            import re

            token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
            client.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token})
            from scheduler.plan import next_slots

            slot = next_slots(config.schedule.slots, config.account.tz, NOW, 1)[0].strftime("%Y-%m-%dT%H:%M")
            post = max(config.content.dir.rglob("*.md"), key=lambda p: p.name).relative_to(config.content.dir).as_posix()
            page = client.get(f"/a/{key}/slots/{slot}")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
            made = client.post(f"/a/{key}/slots/{slot}/link", data={"csrf_token": token}).text
            link = re.search(r"http://testserver(/p/[A-Za-z0-9_.-]+)", made).group(1)
            pages = {"总览 /": "/", "日历 calendar": f"/a/{key}/calendar", "推送 slot": f"/a/{key}/slots/{slot}",
                     "文章 post": f"/a/{key}/posts/{post}", "发布记录 releases": f"/a/{key}/releases",
                     "一次发布 release": f"/a/{key}/releases/{release.id}", "预览链接 /p/": link}
            print(f"{'页面':<20}{'首次 ms':>10}{'中位 ms':>10}{'CPU 中位 ms':>12}  目标 ≤ {TARGET_MS} ms"
                  f"（负载 {os.getloadavg()[0]:.1f}；机器忙时看 CPU 一栏）")
            for name, url in pages.items():
                times, cpu = [], []
                for _ in range(args.repeat + 1):
                    started, used = time.perf_counter(), time.process_time()
                    response = client.get(url)
                    times.append((time.perf_counter() - started) * 1000)
                    cpu.append((time.process_time() - used) * 1000)
                    assert response.status_code == 200, (url, response.status_code)
                median = statistics.median(times[1:])
                mark = "" if median <= TARGET_MS else "  超出目标"
                print(f"{name:<20}{times[0]:>10.0f}{median:>10.0f}{statistics.median(cpu[1:]):>12.0f}{mark}")
    finally:
        app.state.console.close()


if __name__ == "__main__":
    main()
