"""Read figures: `publish stats`, the daemon's daily fetch, and their place in the ledger.

The articles are really mass-sent to the fake WeChat (which then serves their figures), and
recorded in the ledger as a release would record them.  Clocks: the fake's ManualClock and
the CLI's --at; no waiting on the wall clock.
"""

from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from publishers.wechat import WeChatPublisher
from scheduler import ledger as L
from scheduler.figures import FiguresFetch, fetch_of, newest, store
from scheduler.ledger import ItemPlan, Ledger
from scheduler.stats import DailyFigures
from tests.conftest import MINIMAL_CONFIG
from tests.fake_wechat import CLIENT_TIMEOUT, FakeWeChat, ManualClock
from tests.test_fake_wechat import Api

SHANGHAI = timezone(timedelta(hours=8))
MONDAY = datetime(2025, 12, 1, 9, 0, tzinfo=SHANGHAI)
TITLES = ["医保政策解读", "参保缴费提醒"]


@pytest.fixture
def clock():
    return ManualClock(MONDAY.timestamp())


@pytest.fixture
def wechat(clock):
    with FakeWeChat(clock=clock, send_polls=0) as server:
        yield server
        assert server.errors == []


@pytest.fixture
def site(repo, wechat, monkeypatch):
    repo.write_config(MINIMAL_CONFIG + f'api_base_url = "{wechat.url}"\n')
    monkeypatch.setenv("WECHAT_APP_ID", wechat.appid)
    monkeypatch.setenv("WECHAT_APP_SECRET", wechat.secret)
    return repo


def push(wechat, clock, ledger, account, when, titles=TITLES):
    """A bundle mass-sent to the fake at ``when`` and recorded in the ledger."""
    clock.now = when.timestamp()
    api = Api(wechat)
    sent = api.sendall(api.post("draft/add", {"articles": [api.article(title=t) for t in titles]})["media_id"])
    plans = [ItemPlan(i, f"news/{when:%m%d}-{i}.md", f"{i}" * 64, t, "news") for i, t in enumerate(titles, 1)]
    release = ledger.claim(account, when, "mass_send", plans)
    ledger.advance(release.id, L.CONFIRMED, "ok", msg_id=str(sent["msg_id"]),
                   msg_data_id=str(sent["msg_data_id"]), sent_at=when)
    return str(sent["msg_data_id"])


def answered(wechat) -> int:
    """Figures calls WeChat answered (a token the fake's clock expired is refreshed and asked again)."""
    return sum(c.endpoint == "datacube/getarticletotaldetail" and c.errcode == 0 for c in wechat.calls)


def stats_at(site, clock, at: datetime, *args):
    clock.now = at.timestamp()
    return site.publish("stats", "--at", f"{at:%Y-%m-%d %H:%M}", *args)


def test_stats_fetches_what_it_lacks_and_prints_each_article(site, wechat, clock, tmp_path):
    ledger = Ledger(site.config.database.url)
    push(wechat, clock, ledger, "main", MONDAY)
    out = tmp_path / "reads.csv"
    result = stats_at(site, clock, MONDAY + timedelta(days=3, hours=1), "--from", "2025-12-01", "--csv", str(out))
    assert result.exit_code == 0, result.output
    assert answered(wechat) == 1
    rows = list(csv.reader(out.open(encoding="utf-8-sig")))
    assert rows[0] == ["日期", "账号", "位置", "标题", "阅读", "分享", "在看", "截至"]
    # 120 + 60 + 40 readers over three days for the lead; half as many for the second.
    assert rows[1:] == [["2025-12-01", "测试医保", "1", TITLES[0], "220", "22", "11", "2025-12-03"],
                        ["2025-12-01", "测试医保", "2", TITLES[1], "110", "11", "5", "2025-12-03"]]
    assert "合计" in result.output and "330" in result.output and "医保政策解读" in result.output
    again = stats_at(site, clock, MONDAY + timedelta(days=3, hours=2), "--from", "2025-12-01")
    assert again.exit_code == 0 and answered(wechat) == 1  # all held, final
    stats_at(site, clock, MONDAY + timedelta(days=4, hours=1), "--from", "2025-12-01")
    assert answered(wechat) == 2  # a day more to add


def test_a_free_publish_gets_its_figures_too(site, wechat, clock, tmp_path):
    """A 发布 (mode = "publish") keeps the msg_data_id WeChat answers, so its reads are fetched like a mass send's."""
    site.write_config(MINIMAL_CONFIG + f'mode = "publish"\napi_base_url = "{wechat.url}"\n')
    site.post("news/2025-12-01-reads.md", "title: 发布的文章也有阅读数据\nstatus: ready\n")
    tuesday = MONDAY + timedelta(days=1)
    clock.now = tuesday.timestamp()
    pushed = site.publish("--at", f"{tuesday:%Y-%m-%d %H:%M}")
    assert pushed.exit_code == 0, pushed.output
    [release] = Ledger(site.config.database.url).releases("main")
    assert release.status == L.CONFIRMED and release.mode == "publish" and release.msg_data_id
    out = tmp_path / "reads.csv"
    result = stats_at(site, clock, tuesday + timedelta(days=2, hours=1), "--from", "2025-12-02", "--csv", str(out))
    assert result.exit_code == 0, result.output
    [_header, row] = list(csv.reader(out.open(encoding="utf-8-sig")))
    assert row[:4] == ["2025-12-02", "测试医保", "1", "发布的文章也有阅读数据"] and int(row[4]) > 0


def test_a_period_before_wechat_keeps_figures_is_refused(site, clock):
    result = stats_at(site, clock, MONDAY, "--from", "2025-10-01", "--to", "2025-10-31")
    assert result.exit_code == 2 and "2025-11-01" in result.output
    result = stats_at(site, clock, MONDAY, "--from", "2025-11-20", "--to", "2025-11-10")
    assert result.exit_code == 2 and "晚于" in result.output


def test_todays_push_shows_no_figures_yet(site, wechat, clock):
    ledger = Ledger(site.config.database.url)
    push(wechat, clock, ledger, "main", MONDAY)
    result = stats_at(site, clock, MONDAY + timedelta(hours=1), "--from", "2025-12-01", "--to", "2025-12-01")
    assert result.exit_code == 2 and "明天 8 点" in result.output
    assert answered(wechat) == 0


def test_figures_go_into_the_report_csv(site, wechat, clock, tmp_path):
    ledger = Ledger(site.config.database.url)
    push(wechat, clock, ledger, "main", MONDAY)
    stats_at(site, clock, MONDAY + timedelta(days=2, hours=1))
    out = tmp_path / "report.csv"
    result = site.publish("report", "--from", "2025-12-01", "--to", "2025-12-31", "--csv", str(out))
    assert result.exit_code == 0, result.output
    header, lead, second = list(csv.reader(out.open(encoding="utf-8-sig")))
    assert header[-3:] == ["阅读", "分享", "在看"]
    assert lead[-3:] == ["180", "18", "9"] and second[-3:] == ["90", "9", "4"]


def daily(site, wechat, ledger, name):
    publisher = WeChatPublisher(wechat.appid, wechat.secret, api_base_url=wechat.url, timeout=CLIENT_TIMEOUT,
                                sleep=lambda s: None)
    return DailyFigures(site.config, ledger, name, lambda: publisher)


def test_the_daily_fetch_runs_once_after_8_among_several_daemons(site, wechat, clock):
    ledger = Ledger(site.config.database.url)
    push(wechat, clock, ledger, "main", MONDAY)
    first, second = daily(site, wechat, ledger, "a"), daily(site, wechat, ledger, "b")
    tuesday = MONDAY + timedelta(days=1)
    for daemon in (first, second):
        clock.now = (tuesday - timedelta(hours=2)).timestamp()
        daemon.tick(tuesday - timedelta(hours=2))  # 07:00: too early
    assert answered(wechat) == 0
    for minutes in (0, 1, 30):
        for daemon in (first, second):
            at = tuesday - timedelta(minutes=59) + timedelta(minutes=minutes)
            clock.now = at.timestamp()
            daemon.tick(at)
    assert answered(wechat) == 1
    assert fetch_of(ledger, "main", "2025-12-02").done_at is not None
    at = tuesday + timedelta(days=1)  # Wednesday 09:00: the next day's fetch
    clock.now = at.timestamp()
    second.tick(at)
    first.tick(at)
    assert answered(wechat) == 2


def test_delayed_figures_are_fetched_again_later_by_any_daemon(site, wechat, clock):
    ledger = Ledger(site.config.database.url)
    data_id = push(wechat, clock, ledger, "main", MONDAY)
    wechat.delayed_dates.add("2025-12-01")
    first, second = daily(site, wechat, ledger, "a"), daily(site, wechat, ledger, "b")
    at = MONDAY + timedelta(days=1)
    clock.now = at.timestamp()
    first.tick(at)
    held = newest(ledger, "main", [data_id])[(data_id, 1)]
    assert (held.reads, held.final) == (60, False)
    assert fetch_of(ledger, "main", "2025-12-02").retry_at is not None
    at += timedelta(hours=1)
    second.tick(at)
    assert answered(wechat) == 1  # not yet
    wechat.delayed_dates.clear()
    at += timedelta(hours=1, minutes=1)
    clock.now = at.timestamp()
    second.tick(at)
    first.tick(at)
    assert answered(wechat) == 2
    held = newest(ledger, "main", [data_id])[(data_id, 1)]
    assert (held.reads, held.final) == (120, True)


def test_a_failed_fetch_is_logged_and_tried_the_next_day(site, wechat, clock, caplog):
    ledger = Ledger(site.config.database.url)
    push(wechat, clock, ledger, "main", MONDAY)
    wechat.inject("datacube/getarticletotaldetail", {"errcode": 45009, "errmsg": "reach max api daily quota limit"})
    daemon = daily(site, wechat, ledger, "a")
    at = MONDAY + timedelta(days=1)
    clock.now = at.timestamp()
    daemon.tick(at)  # never raises: figures never affect a push
    assert "读取阅读数据失败" in caplog.text and "不影响推送" in caplog.text
    assert "调用次数" in fetch_of(ledger, "main", "2025-12-02").error
    daemon.tick(at + timedelta(hours=5))
    assert wechat.count("datacube/getarticletotaldetail") == 1
    at += timedelta(days=1)
    clock.now = at.timestamp()
    daemon.tick(at)
    assert answered(wechat) == 1


def test_a_daemon_that_died_mid_fetch_leaves_a_claim_another_takes_over(site, wechat, clock):
    ledger = Ledger(site.config.database.url)
    push(wechat, clock, ledger, "main", MONDAY)
    at = MONDAY + timedelta(days=1)
    with ledger.session() as session, session.begin():
        session.add(FiguresFetch(account="main", day="2025-12-02", by="dead", started_at=at))
    daemon = daily(site, wechat, ledger, "b")
    clock.now = at.timestamp()
    daemon.tick(at + timedelta(minutes=10))
    assert answered(wechat) == 0
    clock.now = (at + timedelta(hours=1, minutes=11)).timestamp()
    daemon.tick(at + timedelta(hours=1, minutes=11))
    assert answered(wechat) == 1


def figure_rows(reads):
    return [{"msg_data_id": "2247483001", "idx": i, "stat_date": "2025-12-02", "pub_date": "2025-12-01",
             "reads": reads * i, "shares": 1, "zaikan": 0, "likes": 0, "comments": 0, "collections": 0,
             "final": True} for i in (1, 2)]


def test_storing_figures_again_is_an_update_on_every_database(database_url):
    ledger = Ledger(database_url)
    store(ledger, "main", figure_rows(10))
    store(ledger, "main", figure_rows(10))
    store(ledger, "main", figure_rows(12))
    held = newest(ledger, "main", ["2247483001"])
    assert {k: v.reads for k, v in held.items()} == {("2247483001", 1): 12, ("2247483001", 2): 24}
    with ledger.session() as session:
        assert session.execute(text("SELECT COUNT(*) FROM article_figures")).scalar() == 2
    ledger.close()


def test_only_one_claim_per_account_and_day_on_every_database(database_url):
    from scheduler.figures import claim, finish

    ledger = Ledger(database_url)
    now = MONDAY + timedelta(days=1)
    assert claim(ledger, "main", "2025-12-02", "a", now) is True
    assert claim(ledger, "main", "2025-12-02", "b", now) is False
    assert claim(ledger, "other", "2025-12-02", "b", now) is True
    later = now + timedelta(hours=1, minutes=1)  # "a" never finished: its claim is stale
    assert claim(ledger, "main", "2025-12-02", "c", later) is True
    assert claim(ledger, "main", "2025-12-02", "d", later) is False
    finish(ledger, "main", "2025-12-02", later, retry_at=later + timedelta(hours=2))  # delayed figures
    assert claim(ledger, "main", "2025-12-02", "e", later + timedelta(hours=1)) is False
    assert claim(ledger, "main", "2025-12-02", "f", later + timedelta(hours=2)) is True
    assert fetch_of(ledger, "main", "2025-12-02").by == "f"
    ledger.close()


def test_migration_0007_upgrades_an_existing_ledger(tmp_path):
    from alembic import command

    from scheduler.migrations import alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    command.upgrade(alembic_config(engine), "0005")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO release (account, slot, status, attempt, mode, late, forced, created_at, "
                                "updated_at) VALUES ('main', '2025-12-01 01:00:00', 'confirmed', 1, 'mass_send', 0, 0, "
                                "'2025-12-01 01:00:00', '2025-12-01 01:00:00')"))
    engine.dispose()
    ledger = Ledger(url)
    assert [r.status for r in ledger.releases("main")] == ["confirmed"]
    store(ledger, "main", figure_rows(5))
    assert len(newest(ledger, "main", ["2247483001"])) == 2
    ledger.close()


def test_the_client_asks_the_configured_base_for_all_four_endpoints(wechat, clock):
    publisher = WeChatPublisher(wechat.appid, wechat.secret, api_base_url=wechat.url, timeout=CLIENT_TIMEOUT,
                                sleep=lambda s: None)
    api = Api(wechat)
    sent = api.sendall(api.draft())
    clock.now += 86_400
    cube = publisher.client.datacube
    assert cube.getarticleread("2025-12-01")["list"][0]["msgid"] == f"{sent['msg_data_id']}_1"
    assert cube.getarticleshare("2025-12-01")["list"][0]["detail"]["share_user"] == 12
    assert cube.getbizsummary("2025-12-01")["list"][0]["detail"]["read_user"] == 120
    figures = publisher.article_figures("2025-12-01")
    assert not figures.delayed and [(a.index, a.reads, a.zaikan, a.notified) for a in figures.articles] == [
        (1, 120, 6, True)]
    from publishers.base import PublishError

    with pytest.raises(PublishError) as refused:
        publisher.article_figures("2025-10-31")
    assert refused.value.code == 61501 and "2025-11-01" in refused.value.message


def test_a_running_daemons_reconcile_fetches_figures_and_a_one_shot_publish_does_not(site, wechat, clock):
    from scheduler.daemon import Daemon

    ledger = Ledger(site.config.database.url)
    push(wechat, clock, ledger, "main", MONDAY)

    class Idle:  # nothing due: the releaser is never asked
        should_stop = staticmethod(lambda: False)

    at = MONDAY + timedelta(days=1)
    clock.now = at.timestamp()
    daemon = Daemon(site.config, ledger, Idle(), now=lambda: at)
    daemon.figures = daily(site, wechat, ledger, daemon.name)
    daemon.reconcile(beat=False)  # `publish` run by hand
    assert wechat.count("datacube/getarticletotaldetail") == 0
    report = daemon.reconcile()
    assert report.faults == [] and answered(wechat) == 1
    daemon.reconcile()
    assert answered(wechat) == 1


@given(st.from_regex(r"[0-9]{1,12}", fullmatch=True), st.integers(1, 8), st.text(alphabet="0123456789_x", max_size=12))
def test_an_article_name_is_a_message_and_an_index_from_1(data_id, index, noise):
    from publishers.figures import split_msgid

    assert split_msgid(f"{data_id}_{index}") == (data_id, index)
    head, _, tail = noise.rpartition("_")
    assert (split_msgid(noise) is not None) == (bool(head) and tail.isdigit() and int(tail) >= 1)


def test_stats_of_several_accounts_totals_each_and_one_can_be_picked(tmp_path, clock, monkeypatch):
    from click.testing import CliRunner

    from scheduler.cli import main
    from tests.test_accounts import TWO_ACCOUNTS

    with FakeWeChat("wx_quyuan_appid", clock=clock, send_polls=0) as quyuan, \
         FakeWeChat("wx_miluo_appid", clock=clock, send_polls=0) as miluo:
        url = f"sqlite:///{tmp_path / 'ledger.db'}"
        config = tmp_path / "config.toml"
        config.write_text(TWO_ACCOUNTS.format(url=url, quyuan_url=quyuan.url, miluo_url=miluo.url), encoding="utf-8")
        for key, fake in (("quyuan", quyuan), ("miluo", miluo)):
            monkeypatch.setenv(f"{key.upper()}_APP_ID", fake.appid)
            monkeypatch.setenv(f"{key.upper()}_APP_SECRET", fake.secret)
        ledger = Ledger(url)
        push(quyuan, clock, ledger, "quyuan", MONDAY)
        push(miluo, clock, ledger, "miluo", MONDAY + timedelta(days=1), ["汨罗医保动态"])
        ledger.close()
        at = MONDAY + timedelta(days=3, hours=1)
        clock.now = at.timestamp()
        out = tmp_path / "all.csv"

        def stats(*args):
            return CliRunner().invoke(main, ["--config", str(config), "stats", "--at", f"{at:%Y-%m-%d %H:%M}",
                                             "--from", "2025-12-01", *args], catch_exceptions=False)

        result = stats("--csv", str(out))
        assert result.exit_code == 0, result.output
        rows = list(csv.reader(out.open(encoding="utf-8-sig")))[1:]
        assert sorted((r[1], r[3], r[4]) for r in rows) == [
            ("屈原医保", TITLES[0], "220"), ("屈原医保", TITLES[1], "110"), ("汨罗医保", "汨罗医保动态", "180")]
        assert "屈原医保" in result.output and "汨罗医保" in result.output and result.output.count("合计") == 2
        only = stats("--account", "miluo")
        assert only.exit_code == 0 and "汨罗医保动态" in only.output and TITLES[0] not in only.output


def test_without_credentials_stats_still_shows_what_the_ledger_holds(site, wechat, clock, monkeypatch):
    ledger = Ledger(site.config.database.url)
    push(wechat, clock, ledger, "main", MONDAY)
    stats_at(site, clock, MONDAY + timedelta(days=2, hours=1))
    monkeypatch.delenv("WECHAT_APP_SECRET")
    result = stats_at(site, clock, MONDAY + timedelta(days=3, hours=1))
    assert result.exit_code == 2 and "未能从微信读取阅读数据" in result.output
    assert "180" in result.output and "2025-12-02" in result.output  # what was read the day before


def test_no_push_in_the_period_needs_no_credentials_and_no_call(site, wechat, clock, monkeypatch):
    monkeypatch.delenv("WECHAT_APP_SECRET")
    Ledger(site.config.database.url).close()
    result = stats_at(site, clock, MONDAY + timedelta(days=3))
    assert result.exit_code == 0 and "没有推送出去的文章" in result.output
    assert wechat.calls == []


def test_a_stopping_daemon_asks_no_more_and_leaves_the_day_to_another(site, wechat, clock):
    ledger = Ledger(site.config.database.url)
    push(wechat, clock, ledger, "main", MONDAY)
    at = MONDAY + timedelta(days=1)
    clock.now = at.timestamp()
    publisher = daily(site, wechat, ledger, "x").publisher
    DailyFigures(site.config, ledger, "stopping", publisher, should_stop=lambda: True).tick(at)
    assert wechat.count("datacube/getarticletotaldetail") == 0
    later = at + timedelta(hours=2, minutes=1)
    clock.now = later.timestamp()
    daily(site, wechat, ledger, "other").tick(later)
    assert answered(wechat) == 1
