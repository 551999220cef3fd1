"""The web console (`publish serve`): sign-in, CSRF, who sees which account, and sign-off in the browser."""

from __future__ import annotations

import os
import re
import stat
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from scheduler.cli import main
from scheduler.config import load_accounts
from scheduler.console import users
from scheduler.console.app import create_app
from scheduler.console.secret import SECRET_ENV, session_secret
from scheduler.runtime import open_ledger
from tests.conftest import Repo, image_bytes
from tests.test_git import repos  # noqa: F401 - the fixture: an editor's clone and the publisher's

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2024, 4, 1, 10, 0, tzinfo=SHANGHAI)  # a Monday; the next slot is Tuesday 09:00
NEXT_SLOT = "2024-04-02T09:00"
POST = "fund-supervision/2024-03-30-qidong.md"
PASSWORD = "correct horse battery"

CONFIG = """\
[account]
author = "测试区医保局"

[review]
roles = ["初审", "复审", "终审"]

[accounts.qy]
name = "屈原医保"
app_id_env = "QY_APP_ID"
app_secret_env = "QY_APP_SECRET"
[accounts.qy.content]
dir = "accounts/qy"

[accounts.ml]
name = "汨罗医保"
app_id_env = "ML_APP_ID"
app_secret_env = "ML_APP_SECRET"
[accounts.ml.content]
dir = "accounts/ml"
"""


@pytest.fixture
def site(tmp_path):
    repo = Repo(tmp_path / "site", CONFIG)
    qy, ml = repo.root / "accounts" / "qy", repo.root / "accounts" / "ml"
    repo.content = qy
    repo.post(POST, "title: 打击欺诈骗保 维护基金安全\nstatus: ready\n",
              "4月是医保基金监管集中宣传月。区医保局将通过定点咨询、以案说法等形式，守护群众的“救命钱”。\n")
    repo.content = ml
    repo.post("news/2024-03-30-huiyi.md", "title: 汨罗市医保局召开工作会议\nstatus: ready\n", "会议部署了今年的重点工作。\n")
    return repo


def add_user(site, name, account, role, password=PASSWORD):
    result = CliRunner().invoke(main, ["--config", str(site.config_path), "user", "add", name, "--account", account,
                                       "--role", role, "--password-stdin"], input=password + "\n")
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def app(site):
    configs = load_accounts(site.config_path)
    application = create_app(configs, secret="s" * 40, now=lambda config: NOW.astimezone(config.account.tz))
    yield application
    application.state.console.close()


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def login(client, name, password=PASSWORD):
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"username": name, "password": password, "csrf_token": token})


def events(site, kind):
    configs = load_accounts(site.config_path)
    ledger = open_ledger(configs[0])
    try:
        return [e.message for e in ledger.events("qy") if e.kind == kind]
    finally:
        ledger.close()


# --- signing in ---------------------------------------------------------------------------

def test_a_user_signs_in_and_sees_only_their_accounts(site, client):
    add_user(site, "zhang", "qy", "初审")
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    response = login(client, "zhang")
    assert response.status_code == 200
    assert "屈原医保" in response.text and "汨罗医保" not in response.text
    cookie = response.history[0].headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert PASSWORD not in response.text and "argon2" not in response.text
    assert any("zhang 登录" in m for m in events(site, "login"))


def test_a_wrong_password_is_refused_and_recorded(site, client):
    add_user(site, "zhang", "qy", "初审")
    response = login(client, "zhang", "not the password")
    assert response.status_code == 401
    assert "用户名或密码不对" in response.text
    assert client.get("/", follow_redirects=False).status_code == 303
    assert any("zhang 登录失败" in m for m in events(site, "login_failed"))


def test_passwords_are_stored_as_argon2id_hashes(site):
    add_user(site, "zhang", "qy", "初审")
    ledger = open_ledger(load_accounts(site.config_path)[0])
    try:
        from scheduler.ledger import ConsoleUser

        with ledger.session() as session:
            stored = session.get(ConsoleUser, "zhang").password_hash
    finally:
        ledger.close()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_five_wrong_passwords_lock_the_user_even_against_the_right_one(site, client):
    add_user(site, "zhang", "qy", "初审")
    for _ in range(users.MAX_FAILURES):
        assert login(client, "zhang", "guess").status_code == 401
    response = login(client, "zhang")
    assert response.status_code == 401 and "锁定" in response.text
    result = CliRunner().invoke(main, ["--config", str(site.config_path), "user", "reset", "zhang", "--password-stdin"],
                                input="a new password 1\n")
    assert result.exit_code == 0, result.output
    assert login(client, "zhang", "a new password 1").status_code == 200


def test_a_disabled_user_is_signed_out_at_once(site, client):
    add_user(site, "zhang", "qy", "初审")
    assert login(client, "zhang").status_code == 200
    result = CliRunner().invoke(main, ["--config", str(site.config_path), "user", "disable", "zhang"])
    assert result.exit_code == 0, result.output
    assert client.get("/a/qy/calendar", follow_redirects=False).headers["location"] == "/login"
    assert login(client, "zhang").status_code == 401


def test_user_list_shows_roles_and_never_the_password(site):
    add_user(site, "zhang", "qy", "初审")
    add_user(site, "zhang", "ml", "查看")
    result = CliRunner().invoke(main, ["--config", str(site.config_path), "user", "list"])
    assert result.exit_code == 0
    assert "zhang" in result.output and "qy：初审" in result.output and "ml：查看" in result.output
    assert "argon2" not in result.output and PASSWORD not in result.output


def test_a_role_the_account_does_not_have_is_a_usage_error(site):
    result = CliRunner().invoke(main, ["--config", str(site.config_path), "user", "add", "li", "--account", "qy",
                                       "--role", "主任", "--password-stdin"], input=PASSWORD + "\n")
    assert result.exit_code == 2 and "初审、复审、终审" in result.output


# --- CSRF and access ----------------------------------------------------------------------

def test_a_form_without_or_with_a_wrong_csrf_token_is_refused(site, client):
    add_user(site, "zhang", "qy", "初审")
    assert client.post("/login", data={"username": "zhang", "password": PASSWORD}).status_code == 403
    login(client, "zhang")
    url = f"/a/qy/posts/{POST}/approve"
    assert client.post(url, data={"role": "初审", "comment": ""}).status_code == 403
    assert client.post(url, data={"role": "初审", "comment": "", "csrf_token": "forged"}).status_code == 403
    assert events(site, "approved") == []


def test_another_accounts_pages_are_refused_by_direct_url(site, client):
    add_user(site, "zhang", "qy", "终审")
    token = csrf_of(login(client, "zhang").text)
    for url in ("/a/ml/calendar", "/a/ml/releases", "/a/ml/releases/1", f"/a/ml/slots/{NEXT_SLOT}",
                "/a/ml/posts/news/2024-03-30-huiyi.md", "/a/nosuch/calendar"):
        assert client.get(url).status_code == 403, url
    response = client.post("/a/ml/posts/news/2024-03-30-huiyi.md/approve",
                           data={"role": "终审", "comment": "", "csrf_token": token})
    assert response.status_code == 403
    assert not (site.root / "accounts" / "ml" / ".signoff.toml").exists()


def test_a_viewer_sees_but_cannot_sign(site, client):
    add_user(site, "wang", "qy", "查看")
    token = csrf_of(login(client, "wang").text)
    page = client.get(f"/a/qy/posts/{POST}")
    assert page.status_code == 200 and "只能查看" in page.text
    response = client.post(f"/a/qy/posts/{POST}/approve", data={"role": "查看", "comment": "", "csrf_token": token})
    assert response.status_code == 403


# --- sign-off in the browser ----------------------------------------------------------------

def test_three_roles_approving_in_the_browser_put_the_post_into_the_bundle(site, app, monkeypatch):
    from scheduler import cache
    from scheduler.console import index

    # Files taken as settled at once: the console keeps what it read of them between requests, and
    # an approval changes no file.
    monkeypatch.setattr(cache, "RACY_SECONDS", 0.0)
    monkeypatch.setattr(index, "RACY_SECONDS", 0.0)
    roles = (("zhang", "初审"), ("li", "复审"), ("wang", "终审"))
    for name, role in roles:
        add_user(site, name, "qy", role)
    before = TestClient(app)
    login(before, "zhang")
    slot = before.get(f"/a/qy/slots/{NEXT_SLOT}")
    assert slot.status_code == 200
    assert "这次没有可发布的文章" in slot.text and "缺少 初审、复审、终审" in slot.text
    for name, role in roles:
        with TestClient(app) as browser:
            token = csrf_of(login(browser, name).text)
            response = browser.post(f"/a/qy/posts/{POST}/approve",
                                    data={"role": role, "comment": "同意", "csrf_token": token})
            assert response.status_code == 200, response.text
            assert f"已记录：{role} {name} 审核通过当前内容" in response.text
    slot = before.get(f"/a/qy/slots/{NEXT_SLOT}")
    assert "1. <a href=\"/a/qy/posts/" + POST in slot.text and "审核签发已完成" in slot.text
    # Kept in the ledger, which `publish check`, the dry run and the release read beside the file.
    check = site.publish("check", "--account", "qy")
    assert check.exit_code == 0, check.output
    assert len(events(site, "approved")) == 3


def test_an_edit_after_approval_voids_it_on_the_post_page(site, client):
    add_user(site, "zhang", "qy", "初审")
    token = csrf_of(login(client, "zhang").text)
    client.post(f"/a/qy/posts/{POST}/approve", data={"role": "初审", "comment": "", "csrf_token": token})
    path = site.root / "accounts" / "qy" / POST
    path.write_text(path.read_text(encoding="utf-8") + "补充一句。\n", encoding="utf-8")
    page = client.get(f"/a/qy/posts/{POST}")
    assert "审核后内容被修改，已失效" in page.text


def test_a_return_is_recorded_with_its_comment(site, client):
    add_user(site, "li", "qy", "复审")
    token = csrf_of(login(client, "li").text)
    response = client.post(f"/a/qy/posts/{POST}/return",
                           data={"role": "复审", "comment": "第二段数字请核实", "csrf_token": token})
    assert response.status_code == 200 and "已退回" in response.text
    assert "第二段数字请核实" in response.text  # in the post's history
    assert any("退回修改" in m and "第二段数字请核实" in m for m in events(site, "returned"))
    assert not (site.root / "accounts" / "qy" / ".signoff.toml").exists()


# --- hostile content and paths -----------------------------------------------------------------

def test_a_hostile_post_is_shown_harmless(site, client):
    site.content = site.root / "accounts" / "qy"
    site.post("news/2024-03-31-evil.md", 'title: "<script>alert(1)</script>标题"\nstatus: ready\n',
              '正文<script>alert("x")</script>\n\n<img src="x.png" onerror="alert(2)">\n\n'
              '[点我](javascript:alert(3))\n\n<iframe src="https://evil.example/"></iframe>\n\n'
              '![密钥](../../../config.toml)\n')
    add_user(site, "zhang", "qy", "初审")
    login(client, "zhang")
    page = client.get("/a/qy/posts/news/2024-03-31-evil.md")
    assert page.status_code == 200
    assert "<script" not in page.text and "&lt;script&gt;" in page.text
    assert "script-src 'none'" in page.headers["content-security-policy"]
    preview = re.search(r'<iframe class="preview" src="([^"]+)"', page.text).group(1)
    body = client.get(preview)
    assert body.status_code == 200
    lowered = body.text.lower()
    for bad in ("<script", "onerror", "javascript:", "evil.example", "config.toml"):
        assert bad not in lowered, bad
    assert "内容仓库" in page.text  # the image outside content/ is named as a problem of the post
    for image in re.findall(r'src="(images/[^"]+)"', body.text):
        assert "[account]" not in client.get(preview.rsplit("/", 1)[0] + "/" + image).text
    assert "script-src 'none'" in body.headers["content-security-policy"]


@pytest.mark.parametrize("url", [
    "/a/qy/posts/..%2F..%2Fconfig.toml",
    "/a/qy/posts/news/%2e%2e/%2e%2e/%2e%2e/config.toml",
    "/a/qy/posts/%2Fetc%2Fpasswd",
    "/a/qy/posts/.signoff.toml",
    "/a/qy/previews/post-qy-0123456789abcdef/images/..%2F..%2F..%2Fconfig.toml",
    "/a/qy/previews/post-qy-0123456789abcdef/..%2F..%2Fconfig.toml",
    "/a/qy/previews/..%2F..%2Fetc/passwd",
    "/a/qy/previews/post-ml-0123456789abcdef/index.html",
])
def test_paths_that_leave_the_content_repository_are_refused(site, client, url):
    add_user(site, "zhang", "qy", "初审")
    login(client, "zhang")
    response = client.get(url)
    assert response.status_code == 403, url
    assert "[account]" not in response.text and "root:" not in response.text


# --- the other pages -------------------------------------------------------------------------------

def test_overview_calendar_and_releases_render_for_a_phone(site, client):
    add_user(site, "zhang", "qy", "初审")
    add_user(site, "zhang", "ml", "查看")
    overview = login(client, "zhang").text
    assert "屈原医保" in overview and "汨罗医保" in overview
    assert "台账中没有群发记录" in overview and 'name="viewport"' in overview
    calendar = client.get("/a/ml/calendar")
    assert calendar.status_code == 200
    assert f'/a/ml/slots/{NEXT_SLOT}' in calendar.text
    assert "没有可发布的文章" in calendar.text  # its one post still waits for sign-off
    for by, role in (("张三", "初审"), ("李四", "复审"), ("王五", "终审")):
        signed = site.publish("approve", str(site.root / "accounts/ml/news/2024-03-30-huiyi.md"), "--account", "ml", "--by", by,
                              "--role", role, "--at", "2024-04-01 09:00")
        assert signed.exit_code == 0, signed.output
    calendar = client.get("/a/ml/calendar")
    assert calendar.text.count("汨罗市医保局召开工作会议") == 1  # in the next slot, and then published
    assert "还没有发布记录" in client.get("/a/qy/releases").text
    assert client.get("/a/qy/releases/999").status_code == 404
    assert client.get("/a/qy/slots/2024-04-02T10:00").status_code == 404  # not a slot of the schedule


# --- the session key ----------------------------------------------------------------------------------

def test_the_session_key_is_generated_once_readable_by_the_owner_only(tmp_path, monkeypatch):
    monkeypatch.delenv(SECRET_ENV, raising=False)
    url = f"sqlite:///{tmp_path}/state/tuiwen.db"
    first = session_secret(url, tmp_path)
    assert session_secret(url, tmp_path) == first and len(first) >= 32
    path = tmp_path / "state" / "console-secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    monkeypatch.setenv(SECRET_ENV, "e" * 40)
    assert session_secret(url, tmp_path) == "e" * 40


# --- backends, the real process, TLS -------------------------------------------------------------------

def test_users_sign_in_and_approve_on_each_ledger_backend(tmp_path, database_url):
    repo = Repo(tmp_path / "one", '[account]\nname = "测试医保"\n\n[review]\nroles = ["初审", "复审", "终审"]\n\n'
                                  f'[database]\nurl = "{database_url}"\n')
    repo.post(POST, "title: 打击欺诈骗保 维护基金安全\nstatus: ready\n", "4月是医保基金监管集中宣传月。\n")
    add_user(repo, "zhang", "main", "初审")
    application = create_app(load_accounts(repo.config_path), secret="s" * 40,
                             now=lambda config: NOW.astimezone(config.account.tz))
    try:
        with TestClient(application) as browser:
            for _ in range(users.MAX_FAILURES):
                assert login(browser, "zhang", "guess").status_code == 401
            assert "锁定" in login(browser, "zhang").text
        ledger = open_ledger(load_accounts(repo.config_path)[0])
        try:
            users.reset(ledger, "zhang", PASSWORD)
        finally:
            ledger.close()
        with TestClient(application) as browser:
            token = csrf_of(login(browser, "zhang").text)
            response = browser.post(f"/a/main/posts/{POST}/approve", data={"role": "初审", "comment": "", "csrf_token": token})
            assert "已记录：初审 zhang 审核通过当前内容" in response.text
    finally:
        application.state.console.close()
    ledger = open_ledger(load_accounts(repo.config_path)[0])
    try:  # the console's approvals live in the ledger, on every backend
        assert [(a.post_path, a.role, a.by) for a in ledger.approvals("main")] == [(POST, "初审", "zhang")]
    finally:
        ledger.close()
    assert not (repo.content / ".signoff.toml").exists()


def test_behind_https_the_session_cookie_is_secure(site):
    add_user(site, "zhang", "qy", "初审")
    application = create_app(load_accounts(site.config_path), secret="s" * 40, secure=True)
    try:
        with TestClient(application, base_url="https://console.example") as browser:
            response = login(browser, "zhang")
            assert response.status_code == 200
            assert "secure" in response.history[0].headers["set-cookie"].lower()
    finally:
        application.state.console.close()


def test_many_names_guessed_from_one_address_pause_its_logins(site, client):
    add_user(site, "zhang", "qy", "初审")
    for i in range(20):
        assert login(client, f"guess{i}", "whatever1").status_code == 401
    response = login(client, "zhang")
    assert response.status_code == 429 and "15 分钟后再试" in response.text


def test_publish_serve_is_a_process_of_its_own_that_stops_on_sigterm(site, monkeypatch, tmp_path):
    import socket
    import subprocess
    import sys

    import httpx

    from tests.conftest import wait_until

    add_user(site, "zhang", "qy", "初审")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.delenv(SECRET_ENV, raising=False)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))  # where the console keeps its preview folders
    # The port comes from config.toml's [serve] table when the command line does not give one.
    with site.config_path.open("a", encoding="utf-8") as config:
        config.write(f"\n[serve]\nport = {port}\n")
    process = subprocess.Popen([sys.executable, "-m", "scheduler.cli", "--config", str(site.config_path), "serve"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        def answers() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(answers, process, "the console answering")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as browser:
            token = csrf_of(browser.get("/login").text)
            response = browser.post("/login", data={"username": "zhang", "password": PASSWORD, "csrf_token": token},
                                    follow_redirects=True)
            assert "屈原医保" in response.text
            assert browser.get("/a/ml/calendar").status_code == 403
            assert browser.get(f"/a/qy/posts/{POST}").status_code == 200  # writes a preview folder
            assert list(scratch.iterdir())
        secret = site.root / "state" / "console-secret"
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    assert process.returncode == 0, output
    assert "控制台已启动" in output
    assert list(scratch.iterdir()) == []  # its preview folders went with it


def test_a_broken_sign_off_file_is_named_on_the_post_page(site, app):
    add_user(site, "zhang", "qy", "初审")
    (site.root / "accounts" / "qy" / ".signoff.toml").write_text("[[broken\n", encoding="utf-8")
    with TestClient(app, raise_server_exceptions=False) as browser:
        login(browser, "zhang")
        page = browser.get(f"/a/qy/posts/{POST}")
    assert page.status_code == 200
    assert "审核记录 .signoff.toml 格式错误" in page.text and "Traceback" not in page.text


def test_signing_out_needs_the_csrf_token_and_ends_the_session(site, client):
    add_user(site, "zhang", "qy", "初审")
    token = csrf_of(login(client, "zhang").text)
    assert client.post("/logout", data={}).status_code == 403
    assert client.get("/a/qy/calendar").status_code == 200
    client.post("/logout", data={"csrf_token": token})
    assert client.get("/a/qy/calendar", follow_redirects=False).headers["location"] == "/login"


# --- git-backed content: the console's approvals count without a commit ---------------------------

def test_in_git_mode_three_web_approvals_put_the_post_in_the_bundle_without_a_commit(request, fake):
    from tests.test_git import LEAD, SLOT_AT, git, push_post, sent_titles

    editor, publisher = request.getfixturevalue("repos")
    config = editor.root / "config.toml"  # [review].roles, committed with the content
    config.write_text(config.read_text(encoding="utf-8").replace(
        "[review]\n", '[review]\nroles = ["初审", "复审", "终审"]\n'), encoding="utf-8")
    push_post(editor.root, LEAD, "基金监管宣传月启动")
    git(publisher.root, "pull", "--quiet", "origin", "main")  # the console shows the pushed post
    head = git(publisher.root, "rev-parse", "HEAD")
    roles = (("zhang", "初审"), ("li", "复审"), ("wang", "终审"))
    for name, role in roles:
        add_user(publisher, name, "main", role)
    application = create_app(load_accounts(publisher.config_path), secret="s" * 40,
                             now=lambda config: NOW.astimezone(config.account.tz))
    try:
        with TestClient(application) as browser:
            login(browser, "zhang")
            assert "缺少 初审、复审、终审" in browser.get(f"/a/main/slots/{NEXT_SLOT}").text
        for name, role in roles:
            with TestClient(application) as browser:
                token = csrf_of(login(browser, name).text)
                response = browser.post(f"/a/main/posts/{LEAD}/approve",
                                        data={"role": role, "comment": "", "csrf_token": token})
                assert f"已记录：{role} {name} 审核通过当前内容" in response.text, response.text
        with TestClient(application) as browser:
            login(browser, "wang")
            slot = browser.get(f"/a/main/slots/{NEXT_SLOT}").text
        assert f'1. <a href="/a/main/posts/{LEAD}' in slot and "审核签发已完成" in slot
    finally:
        application.state.console.close()
    assert git(publisher.root, "status", "--porcelain", "--", "content") == ""  # nothing beside the posts to commit
    check = publisher.publish("check")
    assert "审核签发未完成" in check.output and LEAD not in check.output, check.output  # only the unapproved one
    result = publisher.publish("--at", SLOT_AT)
    assert result.exit_code == 0, result.output
    assert "打击欺诈骗保 维护基金安全——集中宣传月启动" in sent_titles(fake)
    assert git(publisher.root, "rev-parse", "HEAD") == head  # no commit was needed


# --- preview links: /p/<token> ----------------------------------------------------------------------

def make_link(client, slot=NEXT_SLOT):
    token = csrf_of(client.get(f"/a/qy/slots/{slot}").text)
    response = client.post(f"/a/qy/slots/{slot}/link", data={"csrf_token": token})
    assert response.status_code == 200, response.text
    found = re.search(r"http://testserver(/p/[A-Za-z0-9_.-]+)", response.text)
    assert found, "the slot page shows no new link"
    return found.group(1)


def approve_all(site, client):
    for name, role in (("li", "复审"), ("wang", "终审")):
        add_user(site, name, "qy", role)
    for name, role in (("zhang", "初审"), ("li", "复审"), ("wang", "终审")):
        token = csrf_of(login(client, name).text)
        client.post(f"/a/qy/posts/{POST}/approve", data={"role": role, "comment": "", "csrf_token": token})


def test_a_preview_link_opens_the_slot_preview_without_signing_in_and_nothing_else(site, app):
    add_user(site, "zhang", "qy", "初审")
    with TestClient(app) as editor:
        approve_all(site, editor)
        login(editor, "zhang")
        link = make_link(editor)
    assert any("zhang 生成" in m for m in events(site, "preview_link"))
    with TestClient(app) as phone:  # no session at all
        page = phone.get(link)
        assert page.status_code == 200, page.text
        assert "打击欺诈骗保 维护基金安全" in page.text and "守护群众" in page.text
        assert "/a/qy" not in page.text and "推文控制台" not in page.text and "csrf" not in page.text
        assert phone.get(f"/a/qy/slots/{NEXT_SLOT}", follow_redirects=False).status_code == 303  # still signed out
        assert phone.get(f"/a/qy/posts/{POST}", follow_redirects=False).status_code == 303


def test_a_tampered_made_up_or_foreign_token_opens_nothing(site, app):
    add_user(site, "zhang", "qy", "初审")
    with TestClient(app) as editor:
        approve_all(site, editor)
        login(editor, "zhang")
        link = make_link(editor)
    token = link.removeprefix("/p/")
    payload, signature = token.rsplit(".", 1)
    other = "A" if signature[0] != "A" else "B"
    with TestClient(app) as phone:
        assert phone.get(f"/p/{payload}.{other}{signature[1:]}").status_code == 404
        assert phone.get("/p/made-up").status_code == 404
    import base64
    import json

    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["s"] = "2024-04-04T09:00"  # slot A's token rewritten to name slot B: the signature no longer fits
    forged = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")
    with TestClient(app) as phone:
        assert phone.get(f"/p/{forged}.{signature}").status_code == 404
    other_app = create_app(load_accounts(site.config_path), secret="t" * 40, now=lambda c: NOW.astimezone(c.account.tz))
    try:
        with TestClient(other_app) as phone:  # another secret: links made elsewhere do not open
            assert phone.get(link).status_code == 404
    finally:
        other_app.state.console.close()


def test_a_preview_link_expires_and_can_be_revoked(site):
    add_user(site, "zhang", "qy", "初审")
    clock = {"now": NOW}
    application = create_app(load_accounts(site.config_path), secret="s" * 40,
                             now=lambda config: clock["now"].astimezone(config.account.tz))
    try:
        with TestClient(application) as editor:
            approve_all(site, editor)
            login(editor, "zhang")
            first, second = make_link(editor), make_link(editor)
            with TestClient(application) as phone:
                assert phone.get(first).status_code == 200
                page = editor.get(f"/a/qy/slots/{NEXT_SLOT}")
                ids = re.findall(r'/a/qy/links/([0-9a-f]{16})/revoke', page.text)
                assert len(ids) == 2
                response = editor.post(f"/a/qy/links/{ids[1]}/revoke", data={"csrf_token": csrf_of(page.text)})
                assert response.status_code == 200  # back on the slot page
                assert phone.get(first).status_code == 403 and "撤销" in phone.get(first).text
                assert phone.get(second).status_code == 200
                assert editor.post(f"/a/qy/links/{ids[0]}/revoke", data={}).status_code == 403  # no CSRF: refused
                clock["now"] = NOW + timedelta(hours=72, minutes=1)
                assert phone.get(second).status_code == 403 and "过期" in phone.get(second).text
    finally:
        application.state.console.close()
    assert any("zhang 撤销" in m for m in events(site, "preview_revoked"))


# --- charts ---------------------------------------------------------------------------------------------

def test_the_overview_draws_articles_per_category_and_the_gaps_between_mass_sends(site, client):
    from scheduler import states
    from scheduler.ledger import ItemPlan

    add_user(site, "zhang", "qy", "初审")
    ledger = open_ledger(load_accounts(site.config_path)[0])
    sends = [  # (day, status, categories of its articles)
        (datetime(2024, 2, 6, 9, 0), states.SENT, ["fund-supervision", "news"]),
        (datetime(2024, 2, 27, 9, 0), states.CONFIRMED, ["fund-supervision"]),  # 21 days after: over the line
        (datetime(2024, 3, 5, 9, 0), states.SENT, ["news", "news"]),  # 7 days
        (datetime(2024, 3, 12, 9, 0), states.FAILED, ["policy"]),  # never reached readers: not drawn
        (datetime(2024, 3, 19, 9, 0), states.SENT, ["policy"]),  # 14 days: on the line counts as over
    ]
    try:
        for n, (day, status, categories) in enumerate(sends):
            items = [ItemPlan(i, f"{c}/post-{n}-{i}.md", f"{n:02d}{i:02d}" * 16, f"文章 {n}-{i}", c)
                     for i, c in enumerate(categories, 1)]
            ledger.claim("qy", day.replace(tzinfo=SHANGHAI), "mass_send", items, status=status)
    finally:
        ledger.close()
    page = login(client, "zhang").text
    charts = page[page.index('id="charts-qy"'):]
    assert charts.count("<svg") == 2 and "<script" not in page
    first, second = charts.split("</svg>")[:2]
    # Feb: 基金监管 + 新闻; Mar: 新闻 (2 articles, one segment) + 政策 — four segments, none for the failed send.
    assert first.count('class="bar"') == 4
    assert "2024-03" in first and "2 篇" in first
    assert second.count('class="point') == 3 and second.count('class="point over"') == 2
    assert 'class="limit"' in second and "14 天" in second


def test_the_overview_draws_readers_per_category_and_month(site, client):
    from scheduler import states
    from scheduler.figures import store
    from scheduler.ledger import ItemPlan

    add_user(site, "zhang", "qy", "初审")
    ledger = open_ledger(load_accounts(site.config_path)[0])
    sends = [(datetime(2024, 2, 6, 9, 0), "2247483001", ["fund-supervision", "news"], [300, 40]),
             (datetime(2024, 3, 5, 9, 0), "2247483002", ["news", "news"], [50, 25]),
             (datetime(2024, 3, 12, 9, 0), "2247483003", ["policy"], [0])]  # no readers: no segment
    try:
        for n, (day, data_id, categories, readers) in enumerate(sends):
            items = [ItemPlan(i, f"{c}/read-{n}-{i}.md", f"{n:02d}{i:02d}" * 16, f"文章 {n}-{i}", c)
                     for i, c in enumerate(categories, 1)]
            release = ledger.claim("qy", day.replace(tzinfo=SHANGHAI), "mass_send", items)
            ledger.advance(release.id, states.CONFIRMED, "ok", msg_data_id=data_id)
            store(ledger, "qy", [{"msg_data_id": data_id, "idx": i, "stat_date": f"{day:%Y-%m-%d}",
                                  "pub_date": f"{day:%Y-%m-%d}", "reads": r, "shares": 0, "zaikan": 0, "likes": 0,
                                  "comments": 0, "collections": 0, "final": True}
                                 for i, r in enumerate(readers, 1)])
    finally:
        ledger.close()
    page = login(client, "zhang").text
    charts = page[page.index('id="charts-qy"'):]
    assert charts.count("<svg") == 3 and "<script" not in page
    readers = charts.split("</svg>")[2]
    assert "阅读人数" in readers and readers.count('class="bar"') == 3  # Feb: 基金监管 + 新闻; Mar: 新闻
    assert "2024-02" in readers and "300 人" in readers and "2024-03" in readers and "75 人" in readers


def test_an_edit_shows_on_the_next_request_though_the_console_keeps_the_posts_in_memory(site, client):
    add_user(site, "zhang", "qy", "初审")
    login(client, "zhang")
    path = site.root / "accounts" / "qy" / POST
    os.utime(path, (1_700_000_000, 1_700_000_000))  # old enough to be kept (a fresh file never is)
    time.sleep(2.1)  # and its ctime too
    for _ in range(2):  # the second answer comes from the posts kept in memory
        assert "打击欺诈骗保 维护基金安全" in client.get(f"/a/qy/slots/{NEXT_SLOT}").text
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("打击欺诈骗保 维护基金安全", "医保基金监管集中宣传月启动"), encoding="utf-8")
    os.utime(path, (1_700_000_000, 1_700_000_000))  # even with the old modification time back
    page = client.get(f"/a/qy/slots/{NEXT_SLOT}").text
    assert "医保基金监管集中宣传月启动" in page and "打击欺诈骗保 维护基金安全" not in page
    (path.parent / "2024-03-31-xin.md").write_text("---\ntitle: 新增的一篇\nstatus: ready\n---\n正文。\n", encoding="utf-8")
    assert "新增的一篇" in client.get(f"/a/qy/slots/{NEXT_SLOT}").text


def aged(*paths):
    """Files and folders old enough to be kept in memory (the console keeps nothing changed in the last 2 s)."""
    for path in paths:
        os.utime(path, (1_700_000_000, 1_700_000_000))
    time.sleep(2.1)  # their ctimes too


def test_an_added_or_removed_post_shows_on_every_page_at_the_next_request(site, client):
    add_user(site, "zhang", "qy", "初审")
    folder = site.root / "accounts" / "qy" / "fund-supervision"

    def pending() -> str:
        return re.findall(r'data-label="待审核">(?:<span class="warn">)?([^<]+)', client.get("/").text)[0]

    aged(folder / POST.split("/")[1], folder, folder.parent)
    login(client, "zhang")
    for _ in range(2):  # the second answers come from what the console keeps in memory
        assert "打击欺诈骗保 维护基金安全" in client.get(f"/a/qy/slots/{NEXT_SLOT}").text
        assert pending() == "1 篇"
    added = folder / "2024-03-31-xin.md"
    added.write_text("---\ntitle: 新增的一篇\nstatus: ready\n---\n正文。\n", encoding="utf-8")
    assert "新增的一篇" in client.get(f"/a/qy/slots/{NEXT_SLOT}").text
    assert pending() == "2 篇"
    aged(added, folder)
    assert pending() == "2 篇"  # kept again, with the new post
    (folder / POST.split("/")[1]).unlink()
    page = client.get(f"/a/qy/slots/{NEXT_SLOT}").text
    assert "打击欺诈骗保 维护基金安全" not in page and "新增的一篇" in page
    assert pending() == "1 篇"
    aged(folder)
    assert pending() == "1 篇"
    added.unlink()
    nested = folder / "2024" / "q1"
    nested.mkdir(parents=True)  # a new folder two levels down: its parent's listing changes
    (nested / "zai.md").write_text("---\ntitle: 子目录里的一篇\nstatus: ready\n---\n正文。\n", encoding="utf-8")
    page = client.get(f"/a/qy/slots/{NEXT_SLOT}").text
    assert "子目录里的一篇" in page and "新增的一篇" not in page
    assert pending() == "1 篇"


def chosen(page: str) -> str:
    """The slot page's articles, without the posts left out."""
    return page.split("<h2>没有选入的文章</h2>")[0]


def test_a_mended_picture_and_a_new_release_show_at_the_next_request(site, client):
    add_user(site, "zhang", "qy", "初审")
    login(client, "zhang")
    content = site.root / "accounts" / "qy"
    post = content / POST
    broken = content / "news" / "2024-03-31-tu.md"
    broken.parent.mkdir()
    broken.write_text("---\ntitle: 带图的一篇\nstatus: ready\n---\n正文。\n\n![现场](现场.png)\n", encoding="utf-8")
    for by, role in (("张三", "初审"), ("李四", "复审"), ("王五", "终审")):
        site.publish("approve", str(broken), "--account", "qy", "--by", by, "--role", role, "--at", "2024-04-01 09:00")
    aged(post, broken, post.parent, broken.parent, content)
    for _ in range(2):
        page = client.get(f"/a/qy/slots/{NEXT_SLOT}").text
        assert "带图的一篇" in page and "带图的一篇" not in chosen(page)  # left out: the picture is missing
    (broken.parent / "现场.png").write_bytes(image_bytes("PNG"))
    page = client.get(f"/a/qy/slots/{NEXT_SLOT}").text
    assert "带图的一篇" in chosen(page) and "打击欺诈骗保 维护基金安全" in page
    aged(broken.parent / "现场.png")
    for _ in range(2):
        assert "打击欺诈骗保 维护基金安全" in client.get(f"/a/qy/slots/{NEXT_SLOT}").text
    from scheduler.ledger import ItemPlan

    configs = load_accounts(site.config_path)
    ledger = open_ledger(configs[0])
    try:  # the post went out last week (sent from another machine, say)
        sha = __import__("hashlib").sha256(post.read_bytes()).hexdigest()
        ledger.claim("qy", NOW - timedelta(days=4), "mass_send", [ItemPlan(1, POST, sha, "打击欺诈骗保", "fund-supervision")],
                     status="sent")
    finally:
        ledger.close()
    page = client.get(f"/a/qy/slots/{NEXT_SLOT}").text
    assert "带图的一篇" in chosen(page) and "打击欺诈骗保 维护基金安全" not in page


def test_the_overview_counts_pending_reviews_afresh_after_each_approval_and_edit(site, client):
    add_user(site, "zhang", "qy", "初审")
    add_user(site, "zhang", "ml", "查看")

    def pending(html: str) -> list[str]:
        return re.findall(r'data-label="待审核">(?:<span class="warn">)?([^<]+)', html)

    assert pending(login(client, "zhang").text) == ["1 篇", "1 篇"]
    for by, role in (("张三", "初审"), ("李四", "复审"), ("王五", "终审")):
        site.publish("approve", str(site.root / "accounts/ml/news/2024-03-30-huiyi.md"), "--account", "ml",
                     "--by", by, "--role", role, "--at", "2024-04-01 09:00")
    assert pending(client.get("/").text) == ["0", "1 篇"]  # 汨罗 (ml) is listed first
    path = site.root / "accounts/ml/news/2024-03-30-huiyi.md"
    path.write_text(path.read_text(encoding="utf-8") + "补充一句。\n", encoding="utf-8")  # voids the approvals
    assert pending(client.get("/").text) == ["1 篇", "1 篇"]
