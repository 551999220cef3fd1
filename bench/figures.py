"""What the daily read-figures fetch costs a daemon of many accounts.

N accounts on one ledger, each with a mass send of 3 articles on each of the last D days,
really sent to the fake WeChat.  Printed: the CPU of a reconcile's figures check when nothing
is due (the cost paid every few minutes), the wall time of the once-a-day round (N claims and
N fetches, one call per pushed day), calls made, rows stored, and the cost of a second daemon's
round on the same day (claims refused: no call).

    python bench/figures.py [--accounts 300] [--days 8] [--database URL]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SHANGHAI = timezone(timedelta(hours=8))
TODAY = datetime(2025, 12, 20, 9, 0, tzinfo=SHANGHAI)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=300)
    parser.add_argument("--days", type=int, default=8)
    parser.add_argument("--database", default=None)
    args = parser.parse_args()

    from publishers.wechat import WeChatPublisher
    from scheduler import ledger as L
    from scheduler.config import load_config
    from scheduler.ledger import ItemPlan, Ledger
    from scheduler.stats import DailyFigures
    from tests.fake_wechat import FakeWeChat, ManualClock
    from tests.test_fake_wechat import Api

    root = Path(tempfile.mkdtemp(prefix="tuiwen-figures-"))
    url = args.database or f"sqlite:///{root / 'ledger.db'}"
    clock = ManualClock((TODAY - timedelta(days=args.days)).timestamp())
    with FakeWeChat(clock=clock, send_polls=0, mass_quota=10 ** 6) as fake:
        ledger = Ledger(url)
        api = Api(fake)
        draft = [api.article(title=f"文章{i}") for i in range(3)]
        daemons = []
        for n in range(args.accounts):
            key = f"a{n:03d}"
            (root / key).mkdir()
            (root / key / "config.toml").write_text(f'[account]\nkey = "{key}"\nname = "{key}"\n'
                                                     f'api_base_url = "{fake.url}"\n', encoding="utf-8")
            config = load_config(root / key / "config.toml")
            for day in range(args.days, 0, -1):
                when = TODAY - timedelta(days=day)
                clock.now = when.timestamp()
                sent = api.sendall(api.post("draft/add", {"articles": draft})["media_id"], f"{key}-{day}")
                plans = [ItemPlan(i, f"p/{day}-{i}.md", f"{i}" * 64, f"文章{i}") for i in range(1, 4)]
                release = ledger.claim(key, when, "mass_send", plans)
                ledger.advance(release.id, L.CONFIRMED, "ok", msg_data_id=str(sent["msg_data_id"]), sent_at=when)
            publisher = WeChatPublisher(fake.appid, fake.secret, api_base_url=fake.url, sleep=lambda s: None)
            daemons.append(DailyFigures(config, ledger, f"bench-{key}", lambda p=publisher: p))
        clock.now = TODAY.timestamp()
        fake.reset_counts()

        early = TODAY.replace(hour=7)
        started = time.process_time()
        for daemon in daemons:
            daemon.tick(early)
        idle = time.process_time() - started
        started, cpu = time.perf_counter(), time.process_time()
        for daemon in daemons:
            daemon.tick(TODAY)
        daily, daily_cpu = time.perf_counter() - started, time.process_time() - cpu
        calls = fake.count("datacube/getarticletotaldetail")
        with ledger.session() as session:
            from sqlalchemy import func, select

            from scheduler.figures import ArticleFigure

            rows = session.scalar(select(func.count()).select_from(ArticleFigure))
        others = [DailyFigures(d.config, ledger, "other-" + d.name, d.publisher) for d in daemons]
        started = time.perf_counter()
        for daemon in others:
            daemon.tick(TODAY + timedelta(minutes=5))
        second = time.perf_counter() - started
        started = time.process_time()
        for daemon in daemons:
            daemon.tick(TODAY + timedelta(minutes=10))
        after = time.process_time() - started
        print(f"accounts {args.accounts}, pushed days each {args.days}, database {url.split(':')[0]}")
        print(f"figures check before 08:00, all accounts: {idle * 1000:.1f} ms CPU")
        print(f"daily round: {daily:.2f} s wall ({daily_cpu:.2f} s CPU, the fake included), {calls} calls"
              f" ({calls / args.accounts:.1f} per account), {rows} rows")
        print(f"a second daemon's round the same day: {second:.2f} s wall, "
              f"{fake.count('datacube/getarticletotaldetail') - calls} calls")
        print(f"figures check after the day's fetch, all accounts: {after * 1000:.1f} ms CPU")
        ledger.close()


if __name__ == "__main__":
    main()
