"""What the release archive costs a push, and how fast ``publish archive verify`` reads it back.

The sample content is published slot after slot against the fake WeChat (real HTTP) until
nothing is left to push; the time spent staging (re-preparing the images as uploaded, writing
HTML and payload) and writing the archive is measured beside the whole release. Then every
archive is verified.

    python bench/archive.py [--slots 6]

Printed: per release the articles, the archive's files and bytes, the release's wall time and
the archive's share of it; then the verify time for all archives.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from click.testing import CliRunner  # noqa: E402

from scheduler import archive  # noqa: E402
from scheduler.cli import main  # noqa: E402
from tests.conftest import write_site_config  # noqa: E402
from tests.fake_wechat import FakeWeChat  # noqa: E402


def timed(spent: list[float], function):
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - start)
    return wrapper


def main_bench(slots: int) -> None:
    spent: list[float] = []
    archive.stage = timed(spent, archive.stage)  # type: ignore[assignment]
    archive.write = timed(spent, archive.write)  # type: ignore[assignment]
    with tempfile.TemporaryDirectory() as tmp, FakeWeChat(send_polls=0, publish_polls=0, mass_quota=1000) as fake:
        root = Path(tmp) / "site"
        shutil.copytree(ROOT / "content", root / "content")
        config = write_site_config(root, fake.url)
        os.environ.update(WECHAT_APP_ID=fake.appid, WECHAT_APP_SECRET=fake.secret)
        moment = datetime(2024, 4, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
        print(f"{'推送':<18}{'篇':>4}{'文件':>6}{'KB':>8}{'发布 s':>9}{'存档 s':>9}{'占比':>7}")
        for _ in range(slots):
            spent.clear()
            start = time.perf_counter()
            result = CliRunner().invoke(main, ["--config", str(config), "--at", f"{moment:%Y-%m-%d %H:%M}"])
            took = time.perf_counter() - start
            folders = sorted(archive.manifests(root / "state" / "archive"))
            if result.exit_code != 0 or not spent:
                print(f"{moment:%Y-%m-%d %H:%M} 没有再推送（退出码 {result.exit_code}）：示例内容已全部推送")
                break
            folder = folders[-1]
            files = [p for p in folder.rglob("*") if p.is_file()]
            size = sum(p.stat().st_size for p in files) / 1024
            articles = len(list((folder / "articles").glob("*.html")))
            share = sum(spent) / took
            print(f"{moment:%Y-%m-%d %H:%M}      {articles:>4}{len(files):>6}{size:>8.0f}{took:>9.2f}"
                  f"{sum(spent):>9.3f}{share:>7.1%}")
            moment += timedelta(days=3 if moment.weekday() == 1 else 4)
        start = time.perf_counter()
        verified = archive.verify(root / "state" / "archive")
        print(f"verify：{verified.releases} 次推送、{verified.files} 个文件，{time.perf_counter() - start:.3f} s，"
              f"问题 {len(verified.problems)} 处")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slots", type=int, default=6)
    main_bench(parser.parse_args().slots)
