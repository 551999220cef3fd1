"""`publish --dry-run`: the preview folder, the payload, and the page at phone width in Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import UTC
from http.server import SimpleHTTPRequestHandler
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, Repo

SLOT_AT = "2024-04-02 09:00"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.fixture
def offline_site(tmp_path, monkeypatch):
    """The shipped config and content, with no WeChat credentials in the environment."""
    root = tmp_path / "site"
    shutil.copytree(REPO_ROOT / "content", root / "content")
    shutil.copyfile(REPO_ROOT / "config.toml", root / "config.toml")
    monkeypatch.delenv("WECHAT_APP_ID", raising=False)
    monkeypatch.delenv("WECHAT_APP_SECRET", raising=False)
    return Repo.__new__(Repo)._attach(root)


def test_dry_run_writes_preview_and_payload_without_credentials_or_ledger(offline_site, tmp_path):
    out = tmp_path / "preview"
    result = offline_site.publish("--dry-run", "--at", SLOT_AT, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "2024-04-02 09:00（周二）  现在到期" in result.output
    assert "打击欺诈骗保 维护基金安全——集中宣传月启动" in result.output
    assert "未到发布时间" in result.output and "草稿" in result.output  # what was left out, and why
    assert not (offline_site.root / "state").exists()  # no ledger written, not even created

    payload = json.loads((out / "payload.json").read_text(encoding="utf-8"))
    titles = [a["title"] for a in payload["articles"]]
    assert titles[0] == "打击欺诈骗保 维护基金安全——集中宣传月启动"
    assert len(titles) == 3
    for article in payload["articles"]:
        assert set(article) == {"title", "author", "digest", "content", "content_source_url", "thumb_media_id",
                                "need_open_comment", "only_fans_can_comment"}
        assert "tuiwen-image:" not in article["content"]
        for src in re.findall(r'<img[^>]*src="([^"]+)"', article["content"]):
            assert src.startswith("content/") and (offline_site.root / src).is_file()
    page = (out / "index.html").read_text(encoding="utf-8")
    for src in re.findall(r'src="([^"]+)"', page):
        assert (out / src).is_file(), src  # the folder is self-contained


def test_dry_run_when_nothing_is_due_shows_the_next_slot(offline_site, tmp_path):
    result = offline_site.publish("--dry-run", "--at", "2024-04-03 10:00", "--out", str(tmp_path / "p"))
    assert result.exit_code == 0
    assert "2024-04-05 09:00（周五）  下一次" in result.output


def test_dry_run_skips_posts_the_ledger_says_were_published(offline_site, tmp_path, monkeypatch):
    from datetime import datetime

    from scheduler.ledger import ItemPlan, Ledger

    config = offline_site.config
    ledger = Ledger(config.database.url)
    lead = "fund-supervision/2024-04-01-jijin-jianguan-xuanchuanyue-qidong.md"
    ledger.claim(config.account.key, datetime(2024, 3, 29, 1, tzinfo=UTC), "mass_send",
                 [ItemPlan(1, lead, "0" * 64, "x")])
    ledger.close()
    result = offline_site.publish("--dry-run", "--at", SLOT_AT, "--out", str(tmp_path / "p"))
    assert "已发布过" in result.output or "已经发布" in result.output
    payload = json.loads((tmp_path / "p" / "payload.json").read_text(encoding="utf-8"))
    assert "集中宣传月启动" not in payload["articles"][0]["title"]


# Headless Chromium will not make a window narrower than 500 px, so the page is measured
# inside a 375 px iframe (a phone's width), served over HTTP so the probe may look inside.
LAYOUT_PROBE = """<!DOCTYPE html><html><body style="margin:0">
<iframe id="phone" src="index.html" style="width:%dpx;height:900px;border:0"></iframe>
<script>
document.getElementById('phone').addEventListener('load', () => {
  const win = document.getElementById('phone').contentWindow, doc = win.document;
  const width = win.innerWidth;
  const images = [...doc.images].map(img => {
    const r = img.getBoundingClientRect();
    return {src: img.getAttribute('src'), left: r.left, right: r.right, width: r.width, loaded: img.naturalWidth > 0};
  });
  const blocks = [...doc.querySelectorAll('article *')].filter(el => {
    const r = el.getBoundingClientRect();
    let clipped = false;
    for (let p = el.parentElement; p && p !== doc.body; p = p.parentElement) {
      if (win.getComputedStyle(p).overflowX !== 'visible') { clipped = true; break; }
    }
    return r.right > width + 1 && !clipped;
  }).map(el => el.tagName + ':' + (el.textContent || '').slice(0, 20));
  const box = el => { const r = el.getBoundingClientRect(); return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
  const rows = [...doc.querySelectorAll('#push-card .row')].map(row => ({
    row: box(row), title: box(row.querySelector('span')), thumb: box(row.querySelector('img'))}));
  const out = document.createElement('pre');
  out.id = 'layout';
  out.textContent = JSON.stringify({width, scrollWidth: doc.documentElement.scrollWidth, images, blocks, rows});
  document.body.appendChild(out);
});
</script></body></html>
"""


def measure(page: Path, width: int = 375) -> dict:
    import html
    import threading
    from functools import partial
    from http.server import ThreadingHTTPServer

    (page.parent / "probe.html").write_text(LAYOUT_PROBE % width, encoding="utf-8")
    handler = partial(_QuietHandler, directory=str(page.parent))
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/probe.html"
        command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update", "--disable-sync",
                   f"--user-data-dir={page.parent.parent / 'chromium-profile'}", "--hide-scrollbars",
                   "--window-size=800,1000", "--virtual-time-budget=10000", "--dump-dom", url]
        dom = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False).stdout
        server.shutdown()
    match = re.search(r'<pre id="layout">(.*?)</pre>', dom, re.S)
    assert match, "Chromium did not report the layout"
    return json.loads(html.unescape(match.group(1)))


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (.ci/run installs it)")
def test_preview_fits_a_phone_screen(offline_site, tmp_path):
    out = tmp_path / "preview"
    assert offline_site.publish("--dry-run", "--at", SLOT_AT, "--out", str(out)).exit_code == 0
    layout = measure(out / "index.html")
    assert layout["width"] == 375
    assert layout["scrollWidth"] <= 375, "the page scrolls sideways on a phone"
    assert layout["blocks"] == [], "some content sticks out past the screen"
    assert len(layout["images"]) >= 6  # covers in the push card plus body images
    for image in layout["images"]:
        assert image["loaded"], f"{image['src']} did not load"
        assert image["left"] >= 0 and image["right"] <= 375 + 0.5, image


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (.ci/run installs it)")
def test_each_push_card_row_has_its_thumbnail_beside_the_title(offline_site, tmp_path):
    """As WeChat shows a push: under the lead cover, each article a row, title left, thumbnail right."""
    out = tmp_path / "preview"
    assert offline_site.publish("--dry-run", "--at", SLOT_AT, "--out", str(out)).exit_code == 0
    layout = measure(out / "index.html", width=390)
    assert layout["width"] == 390 and len(layout["rows"]) >= 2
    for row in layout["rows"]:
        title, thumb = row["title"], row["thumb"]
        assert thumb["left"] >= title["right"] - 0.5, row  # to the right, not underneath
        assert thumb["top"] < title["bottom"] and thumb["bottom"] > title["top"], row  # on the same line
        assert abs(thumb["right"] - (row["row"]["right"] - 12)) <= 1, row  # at the card's right edge, however short the title


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (.ci/run installs it)")
def test_a_wide_table_scrolls_inside_its_box_not_the_page(tmp_path, monkeypatch):
    repo = Repo(tmp_path / "site")
    row = "| " + " | ".join(f"第{i}列内容较长的表头" for i in range(9)) + " |\n"
    table = row + "|" + "---|" * 9 + "\n" + row.replace("表头", "数据") * 3
    repo.post("policy/wide.md", "title: 宽表格\nstatus: ready\n", "表格如下：\n\n" + table)
    out = tmp_path / "preview"
    result = repo.publish("--dry-run", "--at", "2024-04-02 09:00", "--out", str(out))
    assert result.exit_code == 0, result.output
    layout = measure(out / "index.html")
    assert layout["scrollWidth"] <= 375


def test_a_quote_in_an_image_description_adds_no_event_handler_to_the_preview(tmp_path):
    from tests.test_render import attributes

    repo = Repo(tmp_path / "site")
    repo.image("news/a.png", "PNG")
    repo.post("news/quote.md", "title: 图片说明里的引号\nstatus: ready\n", '正文\n\n![说明" onerror="steal()](a.png)\n')
    out = tmp_path / "preview"
    assert repo.publish("--dry-run", "--at", SLOT_AT, "--out", str(out)).exit_code == 0
    page = (out / "index.html").read_text(encoding="utf-8")
    payload = (out / "payload.json").read_text(encoding="utf-8")
    content = json.loads(payload)["articles"][0]["content"]
    for html in (page, content):
        seen = attributes(html)
        assert [a for a in seen if a[1].startswith("on")] == []
        assert ("img", "alt", '说明" onerror="steal()') in seen
