"""Alerts and freshness: a local HTTP receiver (webhook, WeCom robot) and a local SMTP server
(aiosmtpd) receive what the daemon sends; each alert is sent once, secrets never."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import pytest
import time_machine

from scheduler import alerts
from scheduler import ledger as L
from scheduler.daemon import Report
from scheduler.freshness import assess, freshness
from scheduler.ledger import ItemPlan, Ledger
from tests.conftest import GOOD_FRONT, MINIMAL_CONFIG
from tests.receivers import HttpReceiver, SmtpReceiver, free_port

SHANGHAI = timezone(timedelta(hours=8))
TUESDAY = datetime(2024, 4, 2, 9, 0, tzinfo=SHANGHAI)
ROBOT_KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
# The README: a failed alert is tried 3 times within seconds, then again at later
# reconciles, at most 3 of them (the module's own constants are not the promise).
TRIES = 3
RECONCILES = 3


def configure(repo, *, webhook=None, robot=None, smtp_port=None, extra=""):
    text = MINIMAL_CONFIG + "[alerts]\n"
    if webhook:
        text += f'webhook_url = "{webhook}"\n'
    if robot:
        text += f'wecom_robot_url = "{robot}/cgi-bin/webhook/send?key={ROBOT_KEY}"\n'
    if smtp_port:
        text += (f'[alerts.smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\nfrom = "tuiwen@yb.example.cn"\n'
                 'to = ["admin@yb.example.cn", "duty@yb.example.cn"]\nstarttls = false\n')
    repo.write_config(text + extra)
    return repo.config


def failed_release(ledger, account, slot=TUESDAY, error="微信报告失败：群发次数已用完（45028）"):
    release = ledger.claim(account, slot, "mass_send", [ItemPlan(1, "news/a.md", "0" * 64, "标题")])
    return ledger.advance(release.id, L.FAILED, error, error=error)


def mass_send(ledger, account, slot, mode="mass_send"):
    release = ledger.claim(account, slot, mode, [])
    return ledger.advance(release.id, L.CONFIRMED, "微信确认发送成功", sent_at=slot)


def no_sleep(delays):
    return delays.append


# --- the channels ---------------------------------------------------------------------------

def test_a_failed_release_reaches_robot_webhook_and_mail_once(repo):
    with HttpReceiver() as robot, HttpReceiver() as hook, SmtpReceiver() as mail:
        config = configure(repo, webhook=hook.url + "/tuiwen", robot=robot.url, smtp_port=mail.port)
        ledger = Ledger(config.database.url)
        failed_release(ledger, config.account.key)
        now = TUESDAY + timedelta(minutes=1)
        sent = alerts.notify(config, ledger, Report(), freshness(config, ledger, now), now, sleep=no_sleep([]))
        assert [a.event for a in sent] == ["release_failed"]

        [robot_request] = robot.requests
        assert robot_request["path"] == f"/cgi-bin/webhook/send?key={ROBOT_KEY}"
        body = robot_request["json"]
        assert set(body) == {"msgtype", "markdown"} and body["msgtype"] == "markdown"
        content = body["markdown"]["content"]
        assert content.startswith("**测试医保 · 发布失败**\n> ")
        assert "2024-04-02 09:00（周二） 的推送失败：微信报告失败：群发次数已用完（45028）" in content

        [hook_request] = hook.requests
        assert hook_request["headers"]["Content-Type"].startswith("application/json")
        payload = hook_request["json"]
        assert {k: payload[k] for k in ("event", "account", "slot", "status")} == {
            "event": "release_failed", "account": "测试医保", "slot": "2024-04-02T09:00:00+08:00", "status": "failed"}
        assert "群发次数已用完" in payload["message"]

        [message] = mail.messages
        assert message["Subject"] == "【测试医保】发布失败"
        assert message["To"] == "admin@yb.example.cn, duty@yb.example.cn"
        assert message["From"] == "tuiwen@yb.example.cn"
        assert "群发次数已用完" in message.get_content()
        assert mail.envelopes[0].rcpt_tos == ["admin@yb.example.cn", "duty@yb.example.cn"]

        # The next reconciles find the alert in the ledger and stay quiet.
        for minutes in (6, 11):
            later = TUESDAY + timedelta(minutes=minutes)
            assert alerts.notify(config, ledger, Report(), freshness(config, ledger, later), later) == []
        assert len(robot.requests) == len(hook.requests) == len(mail.messages) == 1
    [event] = [e for e in ledger.events(config.account.key) if e.kind == "alert"]
    assert "企业微信机器人、Webhook、邮件" in event.message and "发布失败" in event.message


def test_alerts_link_to_the_console_page_when_its_address_is_known(repo):
    """README: with [serve].base_url set, an alert names the console page that shows the problem."""
    with HttpReceiver() as hook:
        config = configure(repo, webhook=hook.url, extra='[serve]\nbase_url = "https://yb.example.cn/tuiwen"\n')
        ledger = Ledger(config.database.url)
        release = failed_release(ledger, config.account.key)
        now = TUESDAY + timedelta(minutes=1)
        alerts.notify(config, ledger, Report(), None, now, sleep=no_sleep([]))
    [payload] = [r["json"] for r in hook.requests]
    page = f"https://yb.example.cn/tuiwen/a/{config.account.key}/releases/{release.id}"
    assert payload["link"] == page
    assert payload["message"].endswith(f"详情：{page}")


def test_alerts_carry_no_link_without_a_console_address(repo):
    with HttpReceiver() as hook:
        config = configure(repo, webhook=hook.url)
        ledger = Ledger(config.database.url)
        failed_release(ledger, config.account.key)
        alerts.notify(config, ledger, Report(), None, TUESDAY + timedelta(minutes=1), sleep=no_sleep([]))
    [payload] = [r["json"] for r in hook.requests]
    assert payload["link"] is None and "详情" not in payload["message"] and "http" not in payload["message"]


def test_delivery_is_retried_briefly(repo):
    delays = []
    with HttpReceiver(fail_first=2) as hook:
        config = configure(repo, webhook=hook.url)
        ledger = Ledger(config.database.url)
        failed_release(ledger, config.account.key)
        sent = alerts.notify(config, ledger, Report(), None, TUESDAY, sleep=no_sleep(delays))
    assert len(sent) == 1 and hook.hits == TRIES and len(hook.requests) == 1
    assert delays == [1.0, 2.0]


def test_an_undeliverable_alert_is_logged_retried_later_then_dropped(repo, caplog):
    with HttpReceiver(fail_first=1000) as hook:
        config = configure(repo, webhook=hook.url)
        ledger = Ledger(config.database.url)
        failed_release(ledger, config.account.key)
        with caplog.at_level(logging.WARNING, logger="scheduler.alerts"):
            for minutes in range(0, 30, 5):
                now = TUESDAY + timedelta(minutes=minutes)
                assert alerts.notify(config, ledger, Report(), None, now, sleep=no_sleep([])) == []
    assert hook.hits == TRIES * RECONCILES == 9  # six reconciles ran; the last three did not try
    kinds = [e.kind for e in ledger.events(config.account.key) if e.kind.startswith("alert")]
    assert kinds == ["alert_failed"] * RECONCILES
    assert "HTTP 500" in caplog.text and hook.url not in caplog.text


def test_a_wecom_error_code_is_a_failure(repo):
    with HttpReceiver(answer={"errcode": 93000, "errmsg": "invalid webhook url"}) as robot:
        config = configure(repo, robot=robot.url)
        ledger = Ledger(config.database.url)
        failed_release(ledger, config.account.key)
        assert alerts.notify(config, ledger, Report(), None, TUESDAY, sleep=no_sleep([])) == []
        assert len(robot.requests) == TRIES


def test_no_secret_reaches_a_receiver_or_the_log(repo, monkeypatch, caplog):
    monkeypatch.setenv("WECHAT_APP_SECRET", "f0e1d2c3b4a5968778695a4b3c2d1e0f")
    monkeypatch.setenv("ROBOT_URL", "")
    leak = ("请求失败：https://api.weixin.qq.com/cgi-bin/token?grant_type=client_credential&appid=wx1"
            "&secret=f0e1d2c3b4a5968778695a4b3c2d1e0f access_token=ACCESS123TOKEN")
    with HttpReceiver() as robot, HttpReceiver() as hook:
        config = configure(repo, webhook=hook.url, robot=robot.url)
        ledger = Ledger(config.database.url)
        failed_release(ledger, config.account.key, error=leak)
        with caplog.at_level(logging.INFO):
            alerts.notify(config, ledger, Report(), None, TUESDAY, sleep=no_sleep([]))
        bodies = str(robot.requests[0]["json"]) + str(hook.requests[0]["json"])
    for secret in ("f0e1d2c3b4a5968778695a4b3c2d1e0f", "ACCESS123TOKEN", ROBOT_KEY):
        assert secret not in bodies and secret not in caplog.text
        assert all(secret not in e.message for e in ledger.events(config.account.key) if e.kind == "alert")
    assert "secret=***" in bodies


def test_a_robot_url_can_come_from_the_environment(repo, monkeypatch):
    with HttpReceiver() as robot:
        monkeypatch.setenv("TUIWEN_ROBOT", f"{robot.url}/send?key={ROBOT_KEY}")
        repo.write_config(MINIMAL_CONFIG + '[alerts]\nwecom_robot_url = "env:TUIWEN_ROBOT"\n')
        config = repo.config
        ledger = Ledger(config.database.url)
        failed_release(ledger, config.account.key)
        assert len(alerts.notify(config, ledger, Report(), None, TUESDAY, sleep=no_sleep([]))) == 1
        assert robot.requests[0]["path"] == f"/send?key={ROBOT_KEY}"


def test_without_channels_alerts_are_logged_once(repo, caplog):
    config = repo.config
    ledger = Ledger(config.database.url)
    failed_release(ledger, config.account.key)
    with caplog.at_level(logging.WARNING, logger="scheduler.alerts"):
        assert len(alerts.notify(config, ledger, Report(), None, TUESDAY)) == 1
        assert alerts.notify(config, ledger, Report(), None, TUESDAY + timedelta(minutes=5)) == []
    assert caplog.text.count("发布失败") == 1 and "未配置告警渠道" in caplog.text


# --- what is alerted ------------------------------------------------------------------------

def test_missed_and_unconfirmed_releases_are_alerted(repo):
    with HttpReceiver() as hook:
        config = configure(repo, webhook=hook.url)
        ledger = Ledger(config.database.url)
        account = config.account.key
        ledger.claim(account, TUESDAY, "mass_send", [], status=L.MISSED, error="推送时间已过 6 小时补发时限，未发送")
        friday = TUESDAY + timedelta(days=3)
        release = ledger.claim(account, friday, "mass_send", [ItemPlan(1, "news/a.md", "0" * 64, "标题")])
        ledger.advance(release.id, L.UNCONFIRMED, "发送结果未知：连接超时", error="连接超时")
        alerts.notify(config, ledger, Report(missed=[TUESDAY]), None, friday + timedelta(minutes=1),
                      sleep=no_sleep([]))
    events = [(r["json"]["event"], r["json"]["status"]) for r in hook.requests]
    assert events == [("release_missed", "missed"), ("release_unconfirmed", "unconfirmed")]
    assert "补发时限" in hook.requests[0]["json"]["message"]


def test_empty_bundle_is_alerted_24_hours_before_the_slot(repo):
    repo.post("news/draft.md", "title: 草稿\nstatus: draft\n")
    with HttpReceiver() as hook:
        config = configure(repo, webhook=hook.url)
        ledger = Ledger(config.database.url)
        early = TUESDAY - timedelta(hours=30)
        assert alerts.notify(config, ledger, Report(), None, early, sleep=no_sleep([])) == []
        close = TUESDAY - timedelta(hours=20)
        [_alert] = alerts.notify(config, ledger, Report(), None, close, sleep=no_sleep([]))
        assert alerts.notify(config, ledger, Report(), None, close + timedelta(minutes=5)) == []
    [request] = hook.requests
    payload = request["json"]
    assert payload["event"] == "empty_bundle" and payload["slot"] == "2024-04-02T09:00:00+08:00"
    assert "2024-04-02 09:00（周二） 的推送目前没有可发布的文章（未入选：草稿" in payload["message"]


def test_a_ready_post_means_no_empty_alert(repo):
    repo.post("news/ok.md", GOOD_FRONT)
    with HttpReceiver() as hook:
        config = configure(repo, webhook=hook.url)
        ledger = Ledger(config.database.url)
        assert alerts.notify(config, ledger, Report(), None, TUESDAY - timedelta(hours=2)) == []
    assert hook.requests == []


# --- freshness --------------------------------------------------------------------------------

def test_freshness_levels_and_messages():
    last = TUESDAY
    warn = (4, 7, 10, 12)
    assert assess(last, last + timedelta(days=3), warn).message() == "距上次群发 3 天（正常；14 天未更新将被判定为不合格）"
    eight = assess(last, last + timedelta(days=8, hours=1), warn)
    assert (eight.days, eight.level) == (8, 7)
    assert eight.message() == "距上次群发 8 天（已超过 7 天提醒线；14 天未更新将被判定为不合格）"
    fourteen = assess(last, last + timedelta(days=14), warn)
    assert fourteen.failing and "将被判定为不合格，请尽快群发" in fourteen.message()
    assert assess(None, last, warn).message().startswith("台账中没有群发记录")


def test_status_shows_days_and_level(site):
    ledger = Ledger(site.config.database.url)
    mass_send(ledger, site.config.account.key, TUESDAY)
    result = site.publish("status", "--at", "2024-04-10 10:00")
    assert result.exit_code == 0
    assert "距上次群发 8 天（已超过 7 天提醒线；14 天未更新将被判定为不合格）" in result.output


def test_a_free_publish_is_not_an_update(repo):
    config = repo.config
    ledger = Ledger(config.database.url)
    mass_send(ledger, config.account.key, TUESDAY)
    mass_send(ledger, config.account.key, TUESDAY + timedelta(days=3), mode="publish")
    fresh = freshness(config, ledger, TUESDAY + timedelta(days=5))
    assert fresh.last_update == TUESDAY and fresh.days == 5


def test_each_threshold_is_alerted_once_per_gap(repo):
    with HttpReceiver() as hook:
        config = configure(repo, webhook=hook.url)
        ledger = Ledger(config.database.url)
        account = config.account.key
        mass_send(ledger, account, TUESDAY)

        def tick(days, hours=0):
            now = TUESDAY + timedelta(days=days, hours=hours)
            return [a.status for a in alerts.notify(config, ledger, Report(), freshness(config, ledger, now), now,
                                                    sleep=no_sleep([]))
                    if a.event == "freshness"]

        assert tick(3) == []
        assert tick(4) == ["4d"]
        assert tick(4, 1) == [] and tick(6) == []
        assert tick(8) == ["8d"]  # the 7-day line, announced at day 8 (the daemon was down on day 7)
        assert tick(9) == []
        mass_send(ledger, account, TUESDAY + timedelta(days=9, hours=1))  # a new gap starts
        assert tick(13, 2) == ["4d"]
    messages = [r["json"]["message"] for r in hook.requests if r["json"]["event"] == "freshness"]
    assert messages[1].startswith("距上次群发 8 天（已超过 7 天提醒线")


# --- the daemon -----------------------------------------------------------------------------

def test_the_daemon_alerts_a_missed_slot(site, fake):
    from tests.test_daemon import daemon_for, seed_previous_release

    with HttpReceiver() as hook:
        text = site.config_path.read_text(encoding="utf-8")
        site.config_path.write_text(text + f'\n[alerts]\nwebhook_url = "{hook.url}"\n', encoding="utf-8")
        seed_previous_release(site, TUESDAY - timedelta(days=4))
        with time_machine.travel(TUESDAY + timedelta(hours=7), tick=False):
            report = daemon_for(site, fake).reconcile()
        assert [s.astimezone(SHANGHAI) for s in report.missed] == [TUESDAY]
    assert [r["json"]["event"] for r in hook.requests] == ["release_missed"]


def test_an_alert_failure_never_breaks_a_release(site, fake, monkeypatch):
    from tests.test_daemon import daemon_for, seed_previous_release

    monkeypatch.setattr(alerts, "RETRY_DELAYS", (0.0, 0.0))
    text = site.config_path.read_text(encoding="utf-8")
    site.config_path.write_text(text + f'\n[alerts]\nwebhook_url = "http://127.0.0.1:{free_port()}/down"\n',
                                encoding="utf-8")
    seed_previous_release(site, TUESDAY - timedelta(days=4))
    with time_machine.travel(TUESDAY + timedelta(days=14, hours=2), tick=False):
        report = daemon_for(site, fake).reconcile()  # four missed slots to alert, no receiver
    assert len(report.missed) == 4
    [outcome] = report.released
    assert outcome.release.status == L.CONFIRMED and len(fake.mass_sends) == 1
    ledger = Ledger(site.config.database.url)
    assert [e.kind for e in ledger.events(site.config.account.key) if e.kind.startswith("alert")] == ["alert_failed"] * 4

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the alert code")

    monkeypatch.setattr(alerts, "collect", broken)
    with time_machine.travel(TUESDAY + timedelta(days=17, hours=0, minutes=1), tick=False):
        report = daemon_for(site, fake).reconcile()
    assert report.released and report.released[0].release.status == L.EMPTY  # served: nothing left to send


@pytest.mark.parametrize("toml, key", [
    ('[alerts]\nwebhook_url = "ftp://example.cn"\n', "[alerts].webhook_url"),
    ('[alerts]\nwecom_robot_url = "env:not a name"\n', "[alerts].wecom_robot_url"),
    ('[alerts.smtp]\nport = 0\n', "[alerts.smtp].port"),
    ('[alerts.smtp]\nto = "a@b.cn"\n', "[alerts.smtp].to"),
    ('[alerts.smtp]\nhots = "smtp.example.cn"\n', "[alerts.smtp].hots"),
    ('[alerts]\nsmtp = 3\n', "[alerts.smtp]"),
    ('[freshness]\nwarn_days = [0, 7]\n', "[freshness].warn_days"),
    ('[review]\nroles = "初审"\n', "[review].roles"),
    ('[review]\nroles = ["初审", "初审"]\n', "[review].roles"),
])
def test_bad_alert_settings_name_the_key(repo, toml, key):
    from scheduler.config import ConfigError, load_config

    repo.write_config(MINIMAL_CONFIG + toml)
    with pytest.raises(ConfigError) as caught:
        load_config(repo.config_path)
    assert key in str(caught.value)


def test_alert_settings_load(repo):
    repo.write_config(MINIMAL_CONFIG + """
[alerts]
webhook_url = "https://ops.example.cn/hook"
[alerts.smtp]
host = "smtp.example.cn"
port = 465
from = "tuiwen@example.cn"
to = ["a@example.cn"]
username = "tuiwen@example.cn"
password_env = "TUIWEN_SMTP_PASSWORD"
[freshness]
warn_days = [12, 4]
""")
    config = repo.config
    assert config.alerts.smtp.from_addr == "tuiwen@example.cn" and config.alerts.smtp.port == 465
    assert config.alerts.channels and config.freshness.warn_days == (4, 12)
    assert config.alerts.empty_hours == 24


# --- e-mail over TLS with a login: the password is used, never shown ---------------------------

MAIL_PASSWORD = "Mail-Pa55-7f3a9c"


def configure_tls_mail(repo, port):
    return configure(repo, extra=(
        f'[alerts.smtp]\nhost = "127.0.0.1"\nport = {port}\nfrom = "tuiwen@yb.example.cn"\n'
        'to = ["admin@yb.example.cn"]\nusername = "tuiwen@yb.example.cn"\n'
        'password_env = "TUIWEN_SMTP_PASSWORD"\nstarttls = true\n'))


def test_mail_goes_over_starttls_with_the_login_and_the_password_never_appears(repo, tmp_path, monkeypatch, caplog):
    from tests.receivers import self_signed_certificate

    certificate = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", certificate[0])  # this machine trusts the test server's certificate
    monkeypatch.setenv("TUIWEN_SMTP_PASSWORD", MAIL_PASSWORD)
    with SmtpReceiver(certificate, login=("tuiwen@yb.example.cn", MAIL_PASSWORD)) as mail:
        config = configure_tls_mail(repo, mail.port)
        ledger = Ledger(config.database.url)
        # An error text that happens to carry the password (a misconfigured proxy echoing it, say).
        failed_release(ledger, config.account.key, error=f"代理返回：login {MAIL_PASSWORD} refused")
        with caplog.at_level(logging.DEBUG):
            sent = alerts.notify(config, ledger, Report(), None, TUESDAY, sleep=no_sleep([]))
    assert len(sent) == 1
    assert mail.logins == [("tuiwen@yb.example.cn", MAIL_PASSWORD, True)]  # logged in, inside TLS
    [message] = mail.messages
    body = message.get_content()
    assert "代理返回：login *** refused" in body
    assert MAIL_PASSWORD not in message.as_string() and MAIL_PASSWORD not in caplog.text


def test_a_wrong_mail_password_is_reported_without_showing_it(repo, tmp_path, monkeypatch, caplog):
    from tests.receivers import self_signed_certificate

    certificate = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", certificate[0])
    monkeypatch.setenv("TUIWEN_SMTP_PASSWORD", "not-the-password-42")
    with SmtpReceiver(certificate, login=("tuiwen@yb.example.cn", MAIL_PASSWORD)) as mail:
        config = configure_tls_mail(repo, mail.port)
        ledger = Ledger(config.database.url)
        failed_release(ledger, config.account.key)
        with caplog.at_level(logging.WARNING, logger="scheduler.alerts"):
            assert alerts.notify(config, ledger, Report(), None, TUESDAY, sleep=no_sleep([])) == []
    assert mail.messages == [] and mail.logins and all(tls for *_, tls in mail.logins)
    assert f"第 {TRIES} 次" in caplog.text and f"第 {TRIES + 1} 次" not in caplog.text
    assert "SMTP 登录失败" in caplog.text and "password_env" in caplog.text
    assert "not-the-password-42" not in caplog.text


def test_a_mail_server_whose_certificate_is_not_trusted_gets_no_password(repo, tmp_path, monkeypatch, caplog):
    from tests.receivers import self_signed_certificate

    certificate = self_signed_certificate(tmp_path)  # not in SSL_CERT_FILE: an impostor
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "no-such-bundle.pem"))
    monkeypatch.setenv("TUIWEN_SMTP_PASSWORD", MAIL_PASSWORD)
    with SmtpReceiver(certificate, login=("tuiwen@yb.example.cn", MAIL_PASSWORD)) as mail:
        config = configure_tls_mail(repo, mail.port)
        ledger = Ledger(config.database.url)
        failed_release(ledger, config.account.key)
        with caplog.at_level(logging.WARNING, logger="scheduler.alerts"):
            assert alerts.notify(config, ledger, Report(), None, TUESDAY, sleep=no_sleep([])) == []
    assert mail.logins == [] and mail.messages == []
    assert "SMTP 发送失败" in caplog.text
