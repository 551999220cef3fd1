"""Comments (留言): what a fetch costs against a local fake WeChat, and what the daemon's turn check costs.

A month of mass sends (8 pushes of 8 articles) with COMMENTS comments per article is fetched
twice into a fresh SQLite ledger: the first fetch writes every comment, the second finds them
all known.  Then the fetch-turn check the daemon makes (one conditional UPDATE) is timed.

    python bench/comments.py [COMMENTS]
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from publishers.wechat import TuiwenClient  # noqa: E402
from scheduler import comment_ledger as C  # noqa: E402
from scheduler import comments  # noqa: E402
from scheduler import ledger as L  # noqa: E402
from scheduler.config import load_config  # noqa: E402
from scheduler.ledger import ItemPlan, Ledger  # noqa: E402
from tests.fake_wechat import FakeWeChat  # noqa: E402

PUSHES, ARTICLES = 8, 8


def main() -> None:
    per_article = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    with tempfile.TemporaryDirectory() as folder, FakeWeChat(mass_quota=100) as fake:
        config_path = Path(folder) / "config.toml"
        config_path.write_text(f'[database]\nurl = "sqlite:///{folder}/ledger.db"\n', encoding="utf-8")
        config = load_config(config_path)
        ledger = Ledger(config.database.url)
        now = datetime.now(UTC)
        for push in range(PUSHES):
            msg_data_id = 2_247_490_000 + push
            fake.mass_sends.append({"msg_data_id": msg_data_id, "articles": [{"need_open_comment": 1}] * ARTICLES})
            items = [ItemPlan(i + 1, f"p{push}-{i}.md", "0" * 64, f"文章{push}-{i}") for i in range(ARTICLES)]
            release = ledger.claim(config.account.key, now - timedelta(days=push * 3 + 1), "mass_send", items)
            assert release is not None
            ledger.advance(release.id, L.CONFIRMED, msg_data_id=str(msg_data_id))
            for i in range(ARTICLES):
                for n in range(per_article):
                    fake.add_user_comment(msg_data_id, i, f"留言{n}")
        client = TuiwenClient(fake.appid, fake.secret, api_base_url=fake.url)
        total = PUSHES * ARTICLES * per_article
        for label in ("first fetch (all new)", "second fetch (all known)"):
            fake.reset_counts()
            started = time.perf_counter()
            done = comments.fetch(config, ledger, client, now)
            took = time.perf_counter() - started
            print(f"{label}: {total} comments on {done.articles} articles, {len(done.new)} new, "
                  f"{fake.count('comment/list')} comment/list calls, {took:.2f} s")
        started = time.perf_counter()
        rounds = 200
        for n in range(rounds):
            C.claim_fetch(ledger, config.account.key, now + timedelta(seconds=n), 1800)
        print(f"fetch-turn check: {(time.perf_counter() - started) / rounds * 1000:.2f} ms each")
        started = time.perf_counter()
        found = comments.lines(config, ledger)
        print(f"unanswered list of {len(found)} comments: {time.perf_counter() - started:.2f} s")
        ledger.close()


if __name__ == "__main__":
    main()
