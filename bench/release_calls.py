"""WeChat API calls of real releases against the fake server: are they the minimum?

Release 1: 8 articles naming 12 distinct images (the first image of each is its
cover).  Release 2: 8 new articles naming 12 images, 10 of them already uploaded.
A valid access token is stored beforehand, as a running site has one.

    python bench/release_calls.py
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SLOTS = (datetime(2024, 4, 2, 1, 0, tzinfo=UTC), datetime(2024, 4, 5, 1, 0, tzinfo=UTC))
SEND_POLLS = 2  # the fake answers "sending" twice before "sent": polls back off in between
ENDPOINTS = ("token", "stable_token", "media/uploadimg", "material/add_material", "draft/add",
             "message/mass/sendall", "message/mass/get")

CONFIG = """\
[account]
name = "屈原医保"
author = "屈原区医保局"
api_base_url = "{url}"

[database]
url = "sqlite:///{db}"
"""

PARAGRAPH = ("今年以来，区医保局扎实推进城乡居民医保参保缴费工作，切实减轻群众就医负担。"
             "参保人员可通过国家医保服务平台APP或到村（社区）代收点缴纳。\n\n")


def _image(seed: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (320, 180), (seed * 37 % 256, seed * 91 % 256, seed * 53 % 256)).save(buffer, "JPEG")
    return buffer.getvalue()


def _post(content: Path, name: str, title: str, images: list[str], after: str) -> None:
    figures = "".join(f"![配图](images/{image})\n\n" for image in images)
    text = (f"---\ntitle: {title}\npublish_after: {after}\nstatus: ready\n---\n"
            f"{PARAGRAPH}{figures}{PARAGRAPH}")
    (content / "news" / name).write_text(text, encoding="utf-8")


def _bundle_images(first: list[str], extra: dict[int, str]) -> list[list[str]]:
    """Article k names image first[k] (its cover), plus extra[k] when given."""
    return [[image, *([extra[k]] if k in extra else [])] for k, image in enumerate(first)]


def run() -> dict:
    """Both releases; per release the call counts, the minimum and the poll back-off."""
    from publishers.wechat import WeChatPublisher
    from scheduler.config import load_config
    from scheduler.ledger import Ledger
    from scheduler.release import Releaser
    from scheduler.runtime import SealedTokenStorage
    from tests.fake_wechat import FakeWeChat

    results = {}
    with tempfile.TemporaryDirectory(prefix="tuiwen-release-") as temp, \
            FakeWeChat(send_polls=SEND_POLLS, publish_polls=0) as fake:
        root = Path(temp)
        content = root / "content"
        (content / "news" / "images").mkdir(parents=True)
        for i in range(1, 15):
            (content / "news" / "images" / f"p{i:02d}.jpg").write_bytes(_image(i))
        (root / "config.toml").write_text(CONFIG.format(url=fake.url, db=(root / "ledger.db").as_posix()),
                                          encoding="utf-8")
        config = load_config(root / "config.toml")
        ledger = Ledger(config.database.url)
        session = SealedTokenStorage(ledger, fake.secret)  # sealed as make_publisher seals it
        session.set(f"{fake.appid}_access_token", fake.valid_token(), 7200)  # as a running site has one
        session.set(f"{fake.appid}_access_token_expires_at", int(time.time()) + 7200, 7200)

        names = [f"p{i:02d}.jpg" for i in range(1, 15)]
        plans = (
            # release 1: covers p01–p08, and p09–p12 in articles 1–4: 12 distinct images
            _bundle_images(names[:8], {0: names[8], 1: names[9], 2: names[10], 3: names[11]}),
            # release 2: covers p01–p08 again, p09 and p10 again, and two new ones: p13, p14
            _bundle_images(names[:8], {0: names[8], 1: names[9], 2: names[12], 3: names[13]}),
        )
        for number, (slot, plan) in enumerate(zip(SLOTS, plans, strict=True), 1):
            for k, images in enumerate(plan):
                _post(content, f"r{number}-{k + 1}.md", f"第{number}次推送第{k + 1}篇", images,
                      f"{slot:%Y-%m-%d} 00:00")
            waits: list[float] = []
            publisher = WeChatPublisher(fake.appid, fake.secret, api_base_url=fake.url, session=session,
                                        timeout=2.0, sleep=lambda s: None)
            # The slot's own minute: on the real clock these slots are long past (a release then is "missed").
            releaser = Releaser(config, ledger, publisher, sleep=waits.append, now=lambda slot=slot: slot)
            fake.reset_counts()
            outcome = releaser.release(slot)
            counts = Counter(call.endpoint for call in fake.calls)
            distinct = {image for images in plan for image in images}
            new_body = distinct - (set() if number == 1 else {i for images in plans[0] for i in images})
            new_covers = {images[0] for images in plan} - (set() if number == 1 else {i[0] for i in plans[0]})
            minimum = {"token": 0, "stable_token": 0, "media/uploadimg": len(new_body),
                       "material/add_material": len(new_covers), "draft/add": 1, "message/mass/sendall": 1,
                       "message/mass/get": SEND_POLLS + 1}
            results[number] = {
                "status": outcome.release.status if outcome.release else "none",
                "articles": len(plan), "images": len(distinct), "counts": {e: counts.get(e, 0) for e in ENDPOINTS},
                "other": {e: n for e, n in counts.items() if e not in ENDPOINTS},
                "minimum": minimum, "waits": [w for w in waits if w], "total": sum(counts.values()),
            }
        ledger.close()
    return results


def main() -> None:
    for number, result in run().items():
        print(f"release {number}: {result['articles']} articles, {result['images']} images, {result['status']}")
        for endpoint in ENDPOINTS:
            print(f"  {endpoint:24} {result['counts'][endpoint]:3}   minimum {result['minimum'][endpoint]}")
        print(f"  other calls: {result['other'] or 'none'}; polls waited {result['waits']} s")


if __name__ == "__main__":
    main()
