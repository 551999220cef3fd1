"""WeChat's event pushes to ``/wechat/<key>``: how fast the console answers (WeChat waits 5 s).

    python bench/callback.py [--events 300] [--mode safe] [--database URL]

A ledger of ``--events`` mass-send releases (three articles each, msg_id known), the console
under uvicorn on loopback, and the fake WeChat's pusher delivering each release's
MASSSENDJOBFINISH once, then every one again (WeChat's retry).  Printed: answer times
(p50/p95/max, ms) of first deliveries and of repeats, events recorded, links filled.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TOKEN = "benchCallbackToken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--mode", choices=("plain", "compatible", "safe"), default="safe")
    parser.add_argument("--database", default="")
    args = parser.parse_args()

    import uvicorn

    from scheduler import wechat_events
    from scheduler.config import load_accounts
    from scheduler.console.app import create_app
    from scheduler.ledger import ItemPlan
    from scheduler.runtime import open_ledger
    from tests.fake_wechat import FakeWeChat
    from tests.receivers import free_port

    folder = Path(tempfile.mkdtemp(prefix="tuiwen-bench-callback-"))
    (folder / "content").mkdir()
    database = args.database or f"sqlite:///{folder / 'ledger.db'}"
    (folder / "config.toml").write_text(f'[account]\nname = "压测医保"\n[database]\nurl = "{database}"\n',
                                        encoding="utf-8")
    fake = FakeWeChat()
    os.environ |= {"WECHAT_CALLBACK_TOKEN": TOKEN, "WECHAT_CALLBACK_AES_KEY": AES_KEY, "WECHAT_APP_ID": fake.appid}
    [config] = load_accounts(folder / "config.toml")
    ledger = open_ledger(config)
    start = datetime(2024, 1, 2, 1, 0, tzinfo=UTC)
    for n in range(args.events):
        items = [ItemPlan(i, f"news/{n}-{i}.md", f"{n:032d}{i:032d}", f"标题{i}", "news") for i in (1, 2, 3)]
        release = ledger.claim("main", start + timedelta(days=n), "mass_send", items)
        assert release is not None
        ledger.advance(release.id, "confirmed", "已确认", msg_id=str(1_000_000_000 + n))
    ledger.close()

    app = create_app([config], secret="s" * 40)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    pusher = fake.configure_callback(f"http://127.0.0.1:{port}/wechat/main", TOKEN,
                                     aes_key=AES_KEY if args.mode != "plain" else "", mode=args.mode)
    events = [fake.mass_send_event({"msg_id": 1_000_000_000 + n, "outcome": "SEND_SUCCESS", "articles": [{}] * 3})
              for n in range(args.events)]
    try:
        first, again = [], []
        for times in (first, again):
            for event in events:
                began = time.perf_counter()
                [push] = pusher.push(event)
                times.append((time.perf_counter() - began) * 1000)
                assert push.accepted, push
        ledger = open_ledger(config)
        recorded = len(wechat_events.events(ledger, "main"))
        filled = sum(bool(i.article_url) for r in ledger.releases("main") for i in r.items)
        ledger.close()
    finally:
        server.should_exit = True
        app.state.console.close()

    def line(name: str, times: list[float]) -> str:
        ordered = sorted(times)
        return (f"{name:<16} p50 {statistics.median(ordered):6.1f} ms  p95 {ordered[int(len(ordered) * 0.95) - 1]:6.1f} ms"
                f"  max {ordered[-1]:6.1f} ms")

    print(f"{args.events} events, {args.mode} mode, {database.split(':', 1)[0]} ledger")
    print(line("first delivery", first))
    print(line("repeat", again))
    print(f"events recorded {recorded} (expected {args.events}), links filled {filled} (expected {args.events * 3})")


if __name__ == "__main__":
    main()
