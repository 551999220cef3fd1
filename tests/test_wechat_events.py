"""WeChat's server callback at /wechat/<key>: the URL check, signed and encrypted pushes of job events,
WeChat's retries, and the article links they fill — all through real HTTP from the fake WeChat."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import httpx
import pytest
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler import wechat_events
from scheduler.config import load_accounts
from scheduler.console.app import create_app
from scheduler.ledger import ItemPlan, Ledger
from scheduler.runtime import open_ledger
from tests.receivers import free_port

SLOT_AT = "2024-04-02 09:00"
TOKEN = "tuiwenCallbackToken2024"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as the admin page makes them


class ConsoleServer:
    """``publish serve``'s app under uvicorn in a thread: a real HTTP server the fake can push to."""

    def __init__(self, config_path) -> None:
        self.app = create_app(load_accounts(config_path), secret="s" * 40)
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def url(self, key: str = "main") -> str:
        return f"http://127.0.0.1:{self.port}/wechat/{key}"

    def __enter__(self) -> ConsoleServer:
        self.thread.start()
        for _ in range(500):
            if self.server.started:
                return self
            threading.Event().wait(0.02)
        raise RuntimeError("the console did not start")

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        self.app.state.console.close()


@pytest.fixture
def keys(monkeypatch):
    monkeypatch.setenv("WECHAT_CALLBACK_TOKEN", TOKEN)
    monkeypatch.setenv("WECHAT_CALLBACK_AES_KEY", AES_KEY)


@pytest.fixture
def console(site, keys):
    with ConsoleServer(site.config_path) as server:
        yield server


def recorded(site):
    ledger = open_ledger(site.config)
    try:
        return wechat_events.events(ledger, "main")
    finally:
        ledger.close()


def release_urls(site):
    ledger = open_ledger(site.config)
    try:
        [release] = ledger.releases("main")
        return [item.article_url for item in release.items]
    finally:
        ledger.close()


def release_page(site, console) -> str:
    """The release's page in the console, as a signed-in user sees it."""
    import re

    from click.testing import CliRunner

    from scheduler.cli import main

    CliRunner().invoke(main, ["--config", str(site.config_path), "user", "add", "zhang", "--account", "main",
                              "--role", "查看", "--password-stdin"], input="correct horse battery\n")
    with httpx.Client(base_url=f"http://127.0.0.1:{console.port}") as browser:
        token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/login").text).group(1)
        browser.post("/login", data={"username": "zhang", "password": "correct horse battery", "csrf_token": token})
        return browser.get("/a/main/releases/1").text


# --- the URL check when 服务器配置 is saved --------------------------------------------------------------

def test_the_url_check_echoes_echostr_only_under_the_right_token(fake, console):
    status, answer, echostr = fake.configure_callback(console.url(), TOKEN).verify()
    assert (status, answer) == (200, echostr)
    status, answer, echostr = fake.configure_callback(console.url(), "someone-elses-token").verify()
    assert status == 403 and echostr not in answer and TOKEN not in answer


def test_an_unknown_account_or_one_without_a_token_is_not_found(fake, site, monkeypatch):
    monkeypatch.delenv("WECHAT_CALLBACK_TOKEN", raising=False)
    with ConsoleServer(site.config_path) as server:
        assert fake.configure_callback(server.url(), TOKEN).verify()[0] == 404  # no Token configured
        monkeypatch.setenv("WECHAT_CALLBACK_TOKEN", TOKEN)
        assert fake.configure_callback(server.url("nope"), TOKEN).verify()[0] == 404
        assert fake.configure_callback(server.url(), TOKEN).verify()[0] == 200


# --- job events: recorded once, links filled -----------------------------------------------------------

@pytest.mark.parametrize("mode", ["plain", "compatible", "safe"])
def test_a_mass_send_event_delivered_twice_is_recorded_once_and_fills_the_links(fake, site, console, mode):
    pusher = fake.configure_callback(console.url(), TOKEN, aes_key=AES_KEY if mode != "plain" else "", mode=mode)
    pusher.lost_answers = 1  # the first "success" does not reach WeChat in time: it pushes the event again
    result = site.publish("--at", SLOT_AT)
    assert result.exit_code == 0, result.output
    deliveries = fake.wait_for_pushes()
    assert [(p.event, p.status, p.accepted) for p in deliveries] == [
        ("MASSSENDJOBFINISH", None, False), ("MASSSENDJOBFINISH", 200, True)]  # None: lost
    [send] = fake.mass_sends
    [event] = recorded(site)
    assert (event.kind, event.job_id, event.status) == ("MASSSENDJOBFINISH", str(send["msg_id"]), "send success")
    assert event.counts == {"total": 296, "filter": 295, "sent": 295, "error": 0}
    assert release_urls(site) == send["urls"]
    log = site.publish("log")
    assert all(url in log.output.replace("\n", "").replace("│", "").replace(" ", "") for url in send["urls"])
    assert "链接未知" not in log.output
    page = release_page(site, console)
    assert all(f'<a href="{url}"' in page for url in send["urls"]) and "链接未知" not in page


def test_a_publish_event_in_safe_mode_is_recorded(fake, site, console):
    site.write_config(site.config_path.read_text(encoding="utf-8").replace('mode = "mass_send"', 'mode = "publish"'))
    fake.configure_callback(console.url(), TOKEN, aes_key=AES_KEY, mode="safe")
    result = site.publish("--at", SLOT_AT)
    assert result.exit_code == 0, result.output
    assert [(p.event, p.accepted) for p in fake.wait_for_pushes()] == [("PUBLISHJOBFINISH", True)]
    [job] = fake.published.values()
    [event] = recorded(site)
    assert (event.kind, event.job_id, event.status, event.article_id) == (
        "PUBLISHJOBFINISH", job["publish_id"], "0", job["article_id"])
    assert release_urls(site) == [a["url"] for a in job["articles"]]


def test_without_a_callback_the_log_says_which_links_are_unknown(fake, site):
    result = site.publish("--at", SLOT_AT)
    assert result.exit_code == 0, result.output
    assert release_urls(site) == [None, None, None]
    log = site.publish("log")
    assert "1. 链接未知" in log.output and "3. 链接未知" in log.output
    with ConsoleServer(site.config_path) as server:
        assert release_page(site, server).count("链接未知") == 3


# --- what is refused -----------------------------------------------------------------------------------

def test_a_bad_signature_is_refused_and_nothing_is_recorded(fake, site, console):
    result = site.publish("--at", SLOT_AT)
    assert result.exit_code == 0, result.output
    [send] = fake.mass_sends
    event = fake.mass_send_event(send)
    forged = fake.configure_callback(console.url(), "a-guessed-token").push(event)
    assert [(p.status, p.accepted) for p in forged] == [(403, False)] * 3  # WeChat would give up after 3
    assert all(TOKEN not in p.answer and AES_KEY not in p.answer for p in forged)
    # Safe mode with the right Token but a body that is not the one signed.
    pusher = fake.configure_callback(console.url(), TOKEN, aes_key=AES_KEY, mode="safe")
    body, query = pusher.body_and_query(event)
    tampered = body.replace(b"<Encrypt><![CDATA[", b"<Encrypt><![CDATA[AAAA")
    answer = httpx.post(console.url(), params=query, content=tampered)
    assert answer.status_code == 403
    assert recorded(site) == [] and release_urls(site) == [None, None, None]
    # The genuine event still gets through afterwards.
    assert pusher.push(event)[-1].accepted
    assert release_urls(site) == send["urls"]


def test_huge_bodies_are_refused_unread(fake, console):
    pusher = fake.configure_callback(console.url(), TOKEN)
    _body, query = pusher.body_and_query([("ToUserName", "gh_x"), ("MsgType", "event"), ("Event", "x")])
    answer = httpx.post(console.url(), params=query, content=b"<xml>" + b"a" * (1024 * 1024) + b"</xml>")
    assert answer.status_code == 413


def test_the_callback_needs_no_sign_in_and_opens_no_console_page(fake, console):
    pusher = fake.configure_callback(console.url(), TOKEN)
    body, query = pusher.body_and_query([("ToUserName", "gh_x"), ("FromUserName", "o1"), ("CreateTime", 1),
                                         ("MsgType", "event"), ("Event", "subscribe")])
    with httpx.Client() as client:
        answer = client.post(console.url(), params=query, content=body)
        assert (answer.status_code, answer.text) == (200, "success")  # other pushes: acknowledged, ignored
        assert "set-cookie" not in answer.headers
        page = client.get(f"http://127.0.0.1:{console.port}/a/main/calendar", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/login"


# --- the ledger side -------------------------------------------------------------------------------------

MASS_EVENT = {"MsgType": "event", "Event": "MASSSENDJOBFINISH", "MsgID": "1000000338", "Status": "send success",
              "TotalCount": "10", "FilterCount": "9", "SentCount": "9", "ErrorCount": "0", "CreateTime": "1758783896",
              "ArticleUrlResult": {"Count": "2", "ResultList": {"item": [
                  {"ArticleIdx": "1", "ArticleUrl": "https://mp.weixin.qq.com/s/one"},
                  {"ArticleIdx": "2", "ArticleUrl": "https://mp.weixin.qq.com/s/two"}]}}}


def test_an_event_is_recorded_once_and_waits_for_its_release(database_url):
    ledger = Ledger(database_url)
    try:
        event = wechat_events.job_event(MASS_EVENT)
        assert event is not None
        first = wechat_events.record(ledger, "qy", event)
        assert (first.new, first.release_id) == (True, None)  # it arrived before the release knew its msg_id
        assert not wechat_events.record(ledger, "qy", event).new
        slot = datetime(2024, 4, 2, 1, 0, tzinfo=UTC)
        release = ledger.claim("qy", slot, "mass_send", [ItemPlan(i, f"p{i}.md", f"{i:064d}", f"标题{i}", "news")
                                                          for i in (1, 2)])
        assert release is not None
        ledger.advance(release.id, "sent", "已提交", msg_id="1000000338")
        assert wechat_events.settle(ledger, "qy") == 2
        assert [i.article_url for i in ledger.get(release.id).items] == [
            "https://mp.weixin.qq.com/s/one", "https://mp.weixin.qq.com/s/two"]
        assert wechat_events.settle(ledger, "qy") == 0
        assert len(wechat_events.events(ledger, "qy")) == 1
    finally:
        ledger.close()


@pytest.mark.parametrize("data", [
    {"MsgType": "text", "Content": "你好"},
    {"MsgType": "event", "Event": "subscribe"},
    {"MsgType": "event", "Event": "MASSSENDJOBFINISH"},  # no MsgID
    {"MsgType": "event", "Event": "PUBLISHJOBFINISH", "PublishEventInfo": ""},
])
def test_other_pushes_are_not_job_events(data):
    assert wechat_events.job_event(data) is None


def test_only_wechat_article_links_are_taken_and_over_https():
    data = dict(MASS_EVENT, ArticleUrlResult={"Count": "3", "ResultList": {"item": [
        {"ArticleIdx": "1", "ArticleUrl": "javascript:alert(1)"},
        {"ArticleIdx": "2", "ArticleUrl": "http://mp.weixin.qq.com/s/two"},
        {"ArticleIdx": "3", "ArticleUrl": "https://mp.weixin.qq.com.evil.cn/s/three"}]}})
    event = wechat_events.job_event(data)
    assert event is not None and event.urls == {2: "https://mp.weixin.qq.com/s/two"}


def test_an_existing_ledger_gains_the_event_table(tmp_path):
    from alembic import command
    from sqlalchemy import text

    from scheduler.ledger import make_engine
    from scheduler.migrations import alembic_config, current, head

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    command.upgrade(alembic_config(engine), "0005")
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO release (account, slot, status, attempt, mode, late, forced, msg_id, created_at, updated_at) "
            "VALUES ('qy', '2024-04-02 01:00:00', 'confirmed', 1, 'mass_send', 0, 0, '1000000338', "
            "'2024-04-02 01:00:00', '2024-04-02 01:00:00')"))
        connection.execute(text(
            "INSERT INTO release_item (release_id, account, position, post_path, sha256, title, live) "
            "VALUES (1, 'qy', 1, 'a.md', 'x', '标题', 1)"))
    engine.dispose()
    ledger = Ledger(url)
    try:
        assert current(ledger.engine) == head()
        event = wechat_events.job_event(MASS_EVENT)
        assert event is not None
        assert wechat_events.record(ledger, "qy", event).filled == 1
        assert ledger.get(1).items[0].article_url == "https://mp.weixin.qq.com/s/one"
    finally:
        ledger.close()


def test_the_same_event_arriving_at_two_consoles_at_once_is_recorded_once(database_url):
    from tests.conftest import run_together

    ledgers = [Ledger(database_url), Ledger(database_url)]
    event = wechat_events.job_event(MASS_EVENT)
    assert event is not None
    results: list[wechat_events.Recorded] = []
    try:
        run_together([lambda ledger=ledger: results.append(wechat_events.record(ledger, "qy", event))
                      for ledger in ledgers])
        assert sorted(r.new for r in results) == [False, True]
        assert len(wechat_events.events(ledgers[0], "qy")) == 1
    finally:
        for ledger in ledgers:
            ledger.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(articles=st.integers(min_value=1, max_value=8), mode=st.sampled_from(["plain", "compatible", "safe"]),
       outcome=st.sampled_from(["SEND_SUCCESS", "SEND_FAIL"]))
def test_every_mass_send_event_the_fake_makes_reads_back_through_wechatpy(fake, articles, mode, outcome):
    """One article or eight, any mode: the links come back by index, through wechatpy's crypto and parser."""
    from wechatpy import parse_message
    from wechatpy.crypto import WeChatCrypto

    send = {"msg_id": 1000000001, "outcome": outcome, "articles": [{}] * articles}
    pusher = fake.configure_callback("http://127.0.0.1:9/", TOKEN, aes_key=AES_KEY, mode=mode)
    body, query = pusher.body_and_query(fake.mass_send_event(send))
    xml = body if mode == "plain" else WeChatCrypto(TOKEN, AES_KEY, fake.appid).decrypt_message(
        body, query["msg_signature"], query["timestamp"], query["nonce"])
    event = wechat_events.job_event(parse_message(xml)._data)
    assert event is not None and event.job_id == "1000000001"
    expected = dict(enumerate(send.get("urls", []), 1))
    assert event.urls == expected and (len(expected) == articles) == (outcome == "SEND_SUCCESS")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(signature=st.text(alphabet="0123456789abcdef", min_size=0, max_size=40),
       timestamp=st.text(alphabet="0123456789", max_size=12), nonce=st.text(max_size=20),
       encrypted=st.booleans())
def test_no_request_without_the_tokens_signature_is_recorded(fake, site, console, signature, timestamp, nonce,
                                                             encrypted):
    event = fake.mass_send_event({"msg_id": 1000000001, "outcome": "SEND_SUCCESS", "articles": [{}]})
    pusher = fake.configure_callback(console.url(), TOKEN, aes_key=AES_KEY, mode="safe" if encrypted else "plain")
    body, query = pusher.body_and_query(event)
    query |= {"signature": signature, "timestamp": timestamp, "nonce": nonce}
    answer = httpx.post(console.url(), params=query, content=body)
    assert answer.status_code == 403 and TOKEN not in answer.text
    assert recorded(site) == []


def test_an_address_that_keeps_failing_the_signature_is_paused(fake, console):
    pusher = fake.configure_callback(console.url(), "wrong")
    for _ in range(30):
        assert pusher.verify()[0] == 403
    assert fake.configure_callback(console.url(), TOKEN).verify()[0] == 429


def test_without_the_aes_key_safe_mode_is_refused_and_compatible_mode_read_in_plain(fake, site, monkeypatch):
    monkeypatch.setenv("WECHAT_CALLBACK_TOKEN", TOKEN)
    monkeypatch.delenv("WECHAT_CALLBACK_AES_KEY", raising=False)
    event = fake.mass_send_event({"msg_id": 1000000001, "outcome": "SEND_SUCCESS", "articles": [{}]})
    with ConsoleServer(site.config_path) as server:
        safe = fake.configure_callback(server.url(), TOKEN, aes_key=AES_KEY, mode="safe").push(event)
        assert [(p.status, p.answer) for p in safe] == [(503, "not configured")] * 3
        assert recorded(site) == []
        compatible = fake.configure_callback(server.url(), TOKEN, aes_key=AES_KEY, mode="compatible").push(event)
        assert [p.accepted for p in compatible] == [True]
        assert [e.job_id for e in recorded(site)] == ["1000000001"]
