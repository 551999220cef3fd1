"""The console in a real browser: `publish serve` in its own process, driven by Playwright through
the system's Chromium (never a downloaded one).

Set TUIWEN_UPDATE_SCREENSHOTS=1 to also write docs/console-overview.png and docs/console-slot.png.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from scheduler import states
from scheduler.config import load_accounts
from scheduler.ledger import ItemPlan
from scheduler.runtime import open_ledger
from tests.conftest import REPO_ROOT, Repo, wait_until
from tests.test_console import CONFIG, PASSWORD, POST, add_user

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed")

EVIL = "news/2024-03-31-evil.md"
EVIL_TITLE = "<script>alert(1)</script>标题"
PHONE = {"width": 390, "height": 844}
ROLES = (("zhang", "初审"), ("li", "复审"), ("wang", "终审"))


@pytest.fixture
def console(tmp_path, monkeypatch):
    """(base URL, site) of a running `publish serve` with three reviewers, a hostile post and a year of sends."""
    import httpx

    site = Repo(tmp_path / "site", CONFIG)
    site.content = site.root / "accounts" / "qy"
    site.post(POST, "title: 打击欺诈骗保 维护基金安全\nstatus: ready\n",
              "4月是医保基金监管集中宣传月。区医保局将通过定点咨询、以案说法等形式，守护群众的“救命钱”。\n")
    site.post(EVIL, f'title: "{EVIL_TITLE}"\nstatus: ready\n',
              '正文<script>alert("x")</script>\n\n<img src="x.png" onerror="alert(2)">\n\n'
              '[点我](javascript:alert(3))\n')
    site.content = site.root / "accounts" / "ml"
    site.post("news/2024-03-30-huiyi.md", "title: 汨罗市医保局召开工作会议\nstatus: ready\n", "会议部署了今年的重点工作。\n")
    for name, role in ROLES:
        add_user(site, name, "qy", role)
    _a_year_of_sends(site)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch), "TUIWEN_SERVE_SECRET": "b" * 40}
    process = subprocess.Popen([sys.executable, "-m", "scheduler.cli", "--config", str(site.config_path), "serve",
                                "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env=env)
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return httpx.get(f"{base}/login", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(answers, process, "the console answering")
        yield base, site
    finally:
        process.terminate()
        process.communicate(timeout=30)


def _a_year_of_sends(site) -> None:
    """Weekly mass sends over the past year, with two long pauses, for the overview's charts."""
    config = load_accounts(site.config_path)[0]
    ledger = open_ledger(config)
    categories = ["fund-supervision", "news", "policy", "weekly-study", "services"]
    now = datetime.now(config.account.tz).replace(hour=9, minute=0, second=0, microsecond=0)
    try:
        day, n = now - timedelta(days=360), 0
        while day < now - timedelta(days=2):
            items = [ItemPlan(i, f"{categories[(n + i) % 5]}/old-{n}-{i}.md", f"{n:06d}{i:02d}" * 8,
                              f"旧文章 {n}-{i}", categories[(n + i) % 5]) for i in range(1 + n % 3)]
            ledger.claim("qy", day, "mass_send", items, status=states.SENT)
            n += 1
            day += timedelta(days=7 if n % 13 else 16)
    finally:
        ledger.close()


@pytest.fixture
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            yield chromium
        finally:
            chromium.close()


def signed_in(browser, base: str, name: str, viewport=PHONE):
    page = browser.new_context(viewport=viewport).new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    return page


def watched(page):
    """Dialogs and console errors the page raises, collected (a dialog is dismissed at once)."""
    seen: list[str] = []
    page.on("dialog", lambda dialog: (seen.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    page.on("console", lambda message: seen.append(f"console: {message.text}") if message.type == "error" else None)
    page.on("pageerror", lambda error: seen.append(f"pageerror: {error}"))
    return seen


def next_slot(page, base: str) -> str:
    """Walk from the overview through the calendar to the next slot; its URL."""
    page.goto(f"{base}/")
    page.click("text=屈原医保")
    page.wait_for_url("**/a/qy/calendar")
    page.locator("a[href*='/a/qy/slots/']").first.click()
    page.wait_for_url("**/a/qy/slots/**")
    return page.url


def test_three_reviewers_approve_in_the_browser_and_the_post_joins_the_bundle(console, browser):
    base, _site = console
    page = signed_in(browser, base, "zhang")
    slot = next_slot(page, base)
    assert "缺少 初审、复审、终审" in page.content()
    assert page.locator(f"a[href='/a/qy/posts/{POST}']").count() == 1  # left out, linked
    for name, role in ROLES:
        reviewer = signed_in(browser, base, name)
        reviewer.goto(f"{base}/a/qy/posts/{POST}")
        reviewer.select_option("select[name=role]", role)
        reviewer.fill("textarea[name=comment]", "同意")
        reviewer.click("text=审核通过当前内容")
        assert reviewer.locator(".notice").inner_text() == f"已记录：{role} {name} 审核通过当前内容"
        reviewer.context.close()
    page.goto(slot)
    first = page.locator(".card").first
    assert "打击欺诈骗保 维护基金安全" in first.inner_text() and "审核签发已完成" in first.inner_text()


def test_a_hostile_post_shows_as_harmless_text_without_a_dialog_or_a_console_error(console, browser):
    base, _site = console
    page = signed_in(browser, base, "zhang")
    seen = watched(page)
    page.goto(f"{base}/a/qy/posts/{EVIL}")
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == EVIL_TITLE  # the markup, shown as text
    frame = page.frame_locator("iframe.preview")
    body = frame.locator("body").inner_text()
    assert "点我" in body and "alert(" not in body.replace(EVIL_TITLE, "")
    assert frame.locator("script, [onerror], a[href^='javascript']").count() == 0
    next_slot(page, base)
    page.wait_for_load_state("networkidle")
    assert EVIL_TITLE in page.locator("body").inner_text()
    assert seen == []


def test_a_post_without_the_csrf_token_is_refused(console, browser):
    base, site = console
    page = signed_in(browser, base, "zhang")
    response = page.request.post(f"{base}/a/qy/posts/{POST}/approve", form={"role": "初审", "comment": ""})
    assert response.status == 403
    forged = page.request.post(f"{base}/a/qy/posts/{POST}/approve",
                               form={"role": "初审", "comment": "", "csrf_token": "forged"})
    assert forged.status == 403
    ledger = open_ledger(load_accounts(site.config_path)[0])
    try:
        assert ledger.approvals("qy") == []
    finally:
        ledger.close()


def test_at_phone_width_nothing_is_wider_than_the_screen_and_the_articles_line_up(console, browser):
    base, _site = console
    for name, role in ROLES:  # an approved post, so the slot has an article row
        reviewer = signed_in(browser, base, name)
        reviewer.goto(f"{base}/a/qy/posts/{POST}")
        reviewer.select_option("select[name=role]", role)
        reviewer.click("text=审核通过当前内容")
        reviewer.context.close()
    page = signed_in(browser, base, "wang")
    overview = page.screenshot(full_page=True)
    assert page.locator("svg.chart").count() == 2
    next_slot(page, base)
    page.wait_for_load_state("networkidle")
    wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5 || e.getBoundingClientRect().left < -0.5)
        .map(e => e.tagName + '.' + e.className)""")
    assert wide == []
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    rows = page.evaluate("""() => [...document.querySelectorAll('main .card')]
        .map(e => { const r = e.getBoundingClientRect(); return [Math.round(r.left), Math.round(r.width)]; })""")
    assert len(rows) >= 1 and len(set(map(tuple, rows))) == 1  # every row starts and ends at the same x
    slot = page.screenshot(full_page=True)
    if os.environ.get("TUIWEN_UPDATE_SCREENSHOTS"):
        (REPO_ROOT / "docs" / "console-overview.png").write_bytes(overview)
        (REPO_ROOT / "docs" / "console-slot.png").write_bytes(slot)
