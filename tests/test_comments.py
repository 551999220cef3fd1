"""Comments (留言): the comment API, the ledger, `publish comments`, the reply deadline and its
alert, the report's counts — through real HTTP against the fake WeChat."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from publishers.base import PublishError
from publishers.wechat import TuiwenClient
from scheduler import comment_ledger as C
from scheduler import comments
from scheduler.cli import main
from scheduler.ledger import Ledger
from tests.fake_wechat import CLIENT_TIMEOUT

SLOT_AT = "2024-04-02 09:00"  # a Tuesday slot of the sample content
BEIJING = "Asia/Shanghai"
WEEKLY = "content/weekly-study/2024-03-12-yidi-jiuyi-beian.md"  # the second article of that push


def pushed(site, fake) -> int:
    """Push the sample bundle at SLOT_AT; the mass send's msg_data_id."""
    result = site.publish("--at", SLOT_AT)
    assert result.exit_code == 0, result.output
    [send] = fake.mass_sends
    return send["msg_data_id"]


def stamp(text: str) -> float:
    """A Beijing wall-clock time as the fake's timestamp."""
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(BEIJING)).timestamp()


def client_for(fake) -> TuiwenClient:
    return TuiwenClient(fake.appid, fake.secret, api_base_url=fake.url, timeout=CLIENT_TIMEOUT, sleep=lambda s: None)


def rows(site) -> list[C.Comment]:
    ledger = Ledger(site.config.database.url)
    try:
        return C.of_account(ledger, site.config.account.key) + [
            c for c in C.of_releases(ledger, site.config.account.key, range(1, 50)) if c.deleted]
    finally:
        ledger.close()


# --- the API: WeChat counts articles from 0 and refuses 50 at a time ------------------------------

def test_the_comment_api_counts_articles_from_0_where_wechatpy_would_ask_for_the_second(site, fake):
    msg_data_id = pushed(site, fake)
    fake.add_user_comment(msg_data_id, 0, "头条的留言")
    client = client_for(fake)
    answer = client.comments.list(msg_data_id, 0)
    assert [c["content"] for c in answer["comment"]] == ["头条的留言"]
    # wechatpy 1.8.18's defaults (index=1, count=50): the wrong article, and a page WeChat refuses.
    with pytest.raises(PublishError) as refused:
        client.material.list_comment(msg_data_id)
    assert refused.value.code == 88010 and "49" in str(refused.value)
    assert client.material.list_comment(msg_data_id, count=49)["comment"] == []  # index 1: the second article


def test_a_page_of_50_is_refused_before_it_is_asked_for(fake):
    with pytest.raises(ValueError, match="50"):
        client_for(fake).comments.list(2_247_483_001, 0, count=50)
    with pytest.raises(ValueError, match="从 0 开始"):
        client_for(fake).comments.list(2_247_483_001, -1)
    assert fake.count("comment/list") == 0


# --- comments are opened on new articles unless the post says otherwise --------------------------

def test_new_articles_open_comments_unless_the_front_matter_says_comments_false(site, fake):
    path = site.root / WEEKLY
    path.write_text(path.read_text(encoding="utf-8").replace("status: ready\n", "status: ready\ncomments: false\n"),
                    encoding="utf-8")
    pushed(site, fake)
    [send] = fake.mass_sends
    flags = {a["title"]: a["need_open_comment"] for a in send["articles"]}
    assert flags.pop("每周一学｜异地就医备案，这些要点请记牢") == 0
    assert set(flags.values()) == {1}
    with pytest.raises(ValueError, match="closed"):  # followers cannot comment there
        fake.add_user_comment(send["msg_data_id"], 1, "能留言吗")


# --- publish comments -------------------------------------------------------------------------------

def test_new_comments_are_listed_once_however_often_they_are_fetched(site, fake):
    msg_data_id = pushed(site, fake)
    fake.add_user_comment(msg_data_id, 1, "异地备案要带什么材料？", at=stamp("2024-04-02 20:00"))
    for _ in range(2):
        result = site.publish("comments", "--at", "2024-04-03 10:00")
        assert result.exit_code == 0, result.output
        assert "异地备案要带什么材料？" in result.output and "每周一学" in result.output
        assert "publish comments reply 编号" in result.output  # the next step
    [comment] = rows(site)
    assert (comment.idx, comment.user_comment_id, comment.reply) == (1, 1, None)
    assert comment.openid_hash and "o-fan-1" not in comment.openid_hash  # kept only as a hash
    assert "2024-04-09 24:00" in result.output or "2024-04-10 00:00" in result.output  # 5 working days on


def test_a_reply_goes_to_wechat_and_leaves_the_list(site, fake):
    msg_data_id = pushed(site, fake)
    fake.add_user_comment(msg_data_id, 0, "举报电话是多少？")
    site.publish("comments", "--at", "2024-04-03 10:00")
    [comment] = rows(site)
    result = site.publish("comments", "reply", str(comment.id), "您好，举报电话 12393。", "--by", "张三",
                          "--at", "2024-04-03 11:00")
    assert result.exit_code == 0, result.output
    assert "已回复" in result.output
    [kept] = fake.comment_threads[(msg_data_id, 0)]["comments"]
    assert kept["reply"]["content"] == "您好，举报电话 12393。"
    [comment] = rows(site)
    assert (comment.reply, comment.replied_by) == ("您好，举报电话 12393。", "张三")
    listed = site.publish("comments", "--at", "2024-04-03 12:00")
    assert "没有待回复的留言" in listed.output
    again = site.publish("comments", "reply", str(comment.id), "再答一次", "--at", "2024-04-03 12:00")
    assert again.exit_code != 0 and "已经回复过了" in again.output
    assert sum(c.endpoint == "comment/reply/add" for c in fake.calls) == 1


def test_a_reply_made_in_wechats_back_office_counts(site, fake):
    msg_data_id = pushed(site, fake)
    fake.add_user_comment(msg_data_id, 0, "谢谢")
    fake.comment_threads[(msg_data_id, 0)]["comments"][0]["reply"] = {"content": "不客气", "create_time": 1712109600}
    site.publish("comments", "--at", "2024-04-03 10:00")
    [comment] = rows(site)
    assert comment.reply == "不客气" and comment.replied_by is None


def test_select_unselect_and_delete_act_on_wechat_and_are_recorded(site, fake):
    msg_data_id = pushed(site, fake)
    fake.add_user_comment(msg_data_id, 2, "写得好")
    site.publish("comments", "--at", "2024-04-03 10:00")
    [comment] = rows(site)
    kept = fake.comment_threads[(msg_data_id, 2)]["comments"][0]
    assert site.publish("comments", "select", str(comment.id)).exit_code == 0
    assert kept["comment_type"] == 1 and rows(site)[0].selected
    assert site.publish("comments", "unselect", str(comment.id)).exit_code == 0
    assert kept["comment_type"] == 0 and not rows(site)[0].selected
    refused = CliRunner().invoke(main, ["--config", str(site.config_path), "comments", "delete", str(comment.id)],
                                 input="n\n")
    assert refused.exit_code != 0 and not kept["deleted"]
    deleted = site.publish("comments", "delete", str(comment.id), "--yes")
    assert deleted.exit_code == 0, deleted.output
    assert kept["deleted"] and rows(site)[0].deleted
    ledger = Ledger(site.config.database.url)
    kinds = [e.kind for e in ledger.events(site.config.account.key)]
    assert {"comment_select", "comment_unselect", "comment_delete"} <= set(kinds)


def test_an_unknown_number_and_a_comment_its_writer_deleted_are_said_plainly(site, fake):
    msg_data_id = pushed(site, fake)
    fake.add_user_comment(msg_data_id, 0, "留言后又删了")
    site.publish("comments", "--at", "2024-04-03 10:00")
    [comment] = rows(site)
    unknown = site.publish("comments", "reply", "999", "你好")
    assert unknown.exit_code == 2 and "没有编号为 999 的留言" in unknown.output
    fake.user_deletes_comment(msg_data_id, 0, 1)
    result = site.publish("comments", "reply", str(comment.id), "你好")
    assert result.exit_code == 3 and "已被留言者本人删除" in result.output
    site.publish("comments", "--at", "2024-04-03 11:00")  # the next fetch sees it gone
    assert rows(site)[0].deleted


def test_many_comments_are_read_in_pages_under_50(site, fake):
    msg_data_id = pushed(site, fake)
    for n in range(120):
        fake.add_user_comment(msg_data_id, 0, f"第 {n} 条")
    result = site.publish("comments", "--at", "2024-04-03 10:00")
    assert result.exit_code == 0, result.output
    assert len(rows(site)) == 120
    pages = [c.body for c in fake.calls if c.endpoint == "comment/list" and c.body["index"] == 0]
    assert [p["begin"] for p in pages] == [0, 49, 98] and all(p["count"] < 50 for p in pages)


# --- the reply deadline -------------------------------------------------------------------------------

@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)), st.integers(1, 30))
def test_the_deadline_is_the_nth_working_day_after(day, n):
    last = comments.add_working_days(day, n)
    assert last > day and last.weekday() < 5
    between = [day + timedelta(days=i) for i in range(1, (last - day).days + 1)]
    assert sum(d.weekday() < 5 for d in between) == n


def test_a_friday_comment_is_due_at_the_end_of_the_next_friday(repo):
    config = repo.config
    friday = datetime(2024, 4, 5, 18, 0, tzinfo=config.account.tz)
    assert comments.deadline(config, friday) == datetime(2024, 4, 13, 0, 0, tzinfo=config.account.tz)
    saturday = friday + timedelta(days=1)
    assert comments.deadline(config, saturday) == datetime(2024, 4, 13, 0, 0, tzinfo=config.account.tz)


class Channel:
    name = "测试渠道"

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, alert, account, text) -> None:
        self.sent.append(text)


def test_an_unanswered_comment_raises_one_alert_before_its_deadline(site, fake):
    """A comment written on Friday 2024-04-05 is due at the end of Friday 2024-04-12 (5 working
    days); the alert comes within [comments].alert_hours (24) of that, once, though two daemons
    on one database look every hour."""
    from tests.receivers import HttpReceiver

    msg_data_id = pushed(site, fake)
    fake.add_user_comment(msg_data_id, 0, "医保卡丢了怎么补办？", at=stamp("2024-04-05 18:00"))
    with HttpReceiver() as hook:
        with site.config_path.open("a", encoding="utf-8") as file:
            file.write(f'\n[alerts]\nwebhook_url = "{hook.url}"\n[comments]\nfetch_minutes = 60\n'
                       '[serve]\nbase_url = "https://tuiwen.example.gov.cn/"\n')
        config = site.config
        daemons = [Ledger(config.database.url), Ledger(config.database.url)]  # two daemons, one database

        def hour(at: datetime) -> None:
            with time_machine.travel(at, tick=False):
                for ledger in daemons:
                    comments.daemon_work(config, ledger, datetime.now(UTC), lambda: client_for(fake))

        start = datetime(2024, 4, 8, 2, 0, tzinfo=UTC)  # Monday 10:00 in Beijing
        for hours in range(0, 86):  # to Thursday 23:00 Beijing: 25 hours before the deadline
            hour(start + timedelta(hours=hours))
        assert len(rows(site)) == 1 and hook.requests == []
        for hours in range(86, 130):  # through the deadline and a day past it
            hour(start + timedelta(hours=hours))
    [alert] = hook.requests
    assert alert["json"]["event"] == "comment_due" and alert["json"]["title"] == "留言待回复"
    assert "医保卡丢了怎么补办？" in alert["json"]["message"] and "publish comments reply" in alert["json"]["message"]
    assert "2024-04-13 00:00" in alert["json"]["message"]
    assert "https://tuiwen.example.gov.cn/a/main/comments" in alert["json"]["message"]  # the inbox, linked


def test_an_alert_no_channel_took_is_tried_again_later(site, fake):
    class Broken(Channel):
        def send(self, alert, account, text) -> None:
            from scheduler.alerts import AlertError

            raise AlertError("连接失败")

    msg_data_id = pushed(site, fake)
    fake.add_user_comment(msg_data_id, 0, "在吗", at=stamp("2024-04-05 18:00"))
    site.publish("comments", "--at", "2024-04-08 10:00")
    config, ledger = site.config, Ledger(site.config.database.url)
    late = datetime(2024, 4, 12, 8, 0, tzinfo=UTC)
    assert comments.due_alerts(config, ledger, late, channels=[Broken()], sleep=lambda s: None) == []
    working = Channel()
    assert len(comments.due_alerts(config, ledger, late, channels=[working])) == 1 and len(working.sent) == 1


def test_a_comment_answered_in_time_raises_no_alert(site, fake):
    msg_data_id = pushed(site, fake)
    fake.add_user_comment(msg_data_id, 0, "几点上班？", at=stamp("2024-04-05 18:00"))
    site.publish("comments", "--at", "2024-04-08 10:00")
    [comment] = rows(site)
    site.publish("comments", "reply", str(comment.id), "8:30 上班。", "--at", "2024-04-08 11:00")
    channel = Channel()
    config = site.config
    ledger = Ledger(config.database.url)
    later = datetime(2024, 4, 12, 12, 0, tzinfo=UTC)
    assert comments.due_alerts(config, ledger, later, channels=[channel]) == [] and channel.sent == []


def test_the_daemon_fetches_comments_only_every_fetch_minutes_and_never_near_a_slot(site, fake):
    from scheduler.daemon import Daemon
    from tests.test_release import releaser_for

    msg_data_id = pushed(site, fake)
    fake.add_user_comment(msg_data_id, 0, "好")
    config = site.config
    with time_machine.travel(datetime(2024, 4, 3, 10, 0, tzinfo=UTC), tick=False) as clock:
        from scheduler.ledger import utcnow

        releaser = releaser_for(site, fake, now=utcnow)
        daemon = Daemon(config, releaser.ledger, releaser)
        daemon.reconcile()
        assert fake.count("comment/list") == 3 and len(rows(site)) == 1
        clock.shift(timedelta(minutes=10))
        daemon.reconcile()
        assert fake.count("comment/list") == 3  # within [comments].fetch_minutes (30)
        other = Daemon(config, Ledger(config.database.url), releaser)
        other.reconcile()
        assert fake.count("comment/list") == 3  # another daemon on the ledger waits its turn too
        clock.move_to(datetime(2024, 4, 5, 0, 50, tzinfo=UTC))  # 10 minutes before Friday 09:00 Beijing
        daemon.reconcile()
        assert fake.count("comment/list") == 3


# --- the report --------------------------------------------------------------------------------------

def test_the_report_counts_comments_received_answered_and_answered_in_time(site, fake, tmp_path):
    import csv

    msg_data_id = pushed(site, fake)
    for text in ("一", "二", "三"):
        fake.add_user_comment(msg_data_id, 0, text, at=stamp("2024-04-02 12:00"))
    site.publish("comments", "--at", "2024-04-02 13:00")
    first, second, _third = sorted(rows(site), key=lambda c: c.user_comment_id)
    site.publish("comments", "reply", str(first.id), "答一", "--at", "2024-04-03 09:00")  # in time
    site.publish("comments", "reply", str(second.id), "答二", "--at", "2024-04-15 09:00")  # late
    out = tmp_path / "report.csv"
    result = site.publish("report", "--from", "2024-04-01", "--to", "2024-04-30", "--csv", str(out))
    assert result.exit_code == 0, result.output
    assert "收到留言3条，已回复2条，其中按时回复1条" in re.sub(r"\s+", "", result.output)
    with out.open(encoding="utf-8-sig") as file:
        table = list(csv.DictReader(file))
    assert [(r["位置"], r["留言数"], r["已回复"], r["按时回复"]) for r in table] == [
        ("1", "3", "2", "1"), ("2", "0", "0", "0"), ("3", "0", "0", "0")]


def test_the_migration_upgrades_an_existing_ledger(database_url):
    """A ledger at 0005 (before comments) gains the tables and keeps its rows, on every backend."""
    from alembic import command
    from sqlalchemy import inspect

    from scheduler.migrations import alembic_config

    url = database_url
    old = Ledger(url, migrate=False)
    command.upgrade(alembic_config(old.engine), "0005")
    old.event("qy", "note", "旧台账里的事件")
    old.close()
    ledger = Ledger(url)
    assert {"comment", "comment_fetch"} <= set(inspect(ledger.engine).get_table_names())
    assert [e.message for e in ledger.events("qy")] == ["旧台账里的事件"]
    now = datetime(2024, 4, 3, 2, 0, tzinfo=UTC)
    assert len(C.store(ledger, "qy", 1, "2247483001", 0, [C.Seen(1, "新表可用", now, False)], now, complete=True)) == 1
    ledger.close()


# --- the ledger on every backend: idempotent, and one winner among several processes -------------

def test_a_fetch_stored_by_several_processes_at_once_writes_each_comment_once(database_url):
    from tests.conftest import run_together

    written = datetime(2024, 4, 2, 12, 0, tzinfo=UTC)
    seen = [C.Seen(n, f"留言{n}", written, n == 2, openid=f"o-{n}") for n in range(1, 6)]
    ledgers = [Ledger(database_url) for _ in range(3)]
    new: list[list] = []
    run_together([lambda ledger=ledger: new.append(C.store(ledger, "qy", 1, "2247483001", 0, seen, written,
                                                            complete=True)) for ledger in ledgers])
    stored = C.of_account(ledgers[0], "qy")
    assert sorted(c.user_comment_id for c in stored) == [1, 2, 3, 4, 5]
    assert sum(len(n) for n in new) == 5  # each comment is new to exactly one of them
    assert [c.selected for c in stored] == [False, True, False, False, False]
    again = C.store(ledgers[0], "qy", 1, "2247483001", 0, seen[1:], written, complete=True)
    assert again == [] and len(C.of_account(ledgers[0], "qy")) == 4  # the first one was deleted on WeChat
    for ledger in ledgers:
        ledger.close()


def test_one_process_of_several_takes_a_fetch_turn_and_an_alert(database_url):
    from tests.conftest import run_together

    now = datetime(2024, 4, 3, 2, 0, tzinfo=UTC)
    ledgers = [Ledger(database_url) for _ in range(4)]
    turns: list[bool] = []
    run_together([lambda ledger=ledger: turns.append(C.claim_fetch(ledger, "qy", now, 1800)) for ledger in ledgers])
    assert sorted(turns) == [False, False, False, True]
    assert not C.claim_fetch(ledgers[0], "qy", now + timedelta(minutes=29), 1800)
    assert C.claim_fetch(ledgers[0], "qy", now + timedelta(minutes=30), 1800)
    [comment] = C.store(ledgers[0], "qy", 1, "2247483001", 0, [C.Seen(1, "在吗", now, False)], now, complete=True)
    alerts: list[bool] = []
    run_together([lambda ledger=ledger: alerts.append(C.claim_alert(ledger, comment.id, now)) for ledger in ledgers])
    assert sorted(alerts) == [False, False, False, True]
    for ledger in ledgers:
        ledger.close()


# --- the console's inbox ------------------------------------------------------------------------------

def test_the_console_inbox_answers_selects_and_deletes_for_allowed_roles_only(site, fake):
    from starlette.testclient import TestClient

    from scheduler.config import load_accounts
    from scheduler.console.app import create_app
    from tests.test_console import add_user, csrf_of, login

    msg_data_id = pushed(site, fake)
    fake.add_user_comment(msg_data_id, 0, "医保卡丢了怎么补办？", at=stamp("2024-04-02 20:00"))
    fake.add_user_comment(msg_data_id, 1, "备案要多久？", at=stamp("2024-04-02 21:00"))
    site.publish("comments", "--at", "2024-04-03 10:00")
    first, second = sorted(rows(site), key=lambda c: c.idx)
    add_user(site, "zhang", "main", "初审")
    add_user(site, "li", "main", "查看")
    moment = datetime(2024, 4, 3, 11, 0, tzinfo=UTC)
    app = create_app(load_accounts(site.config_path), secret="s" * 40,
                     now=lambda config: moment.astimezone(config.account.tz))
    try:
        with TestClient(app) as viewer:
            login(viewer, "li")
            page = viewer.get("/a/main/comments")
            assert page.status_code == 200 and "医保卡丢了怎么补办？" in page.text and "<textarea" not in page.text
            refused = viewer.post(f"/a/main/comments/{first.id}/reply",
                                  data={"content": "查看者的回复", "csrf_token": csrf_of(page.text)})
            assert refused.status_code == 403
        with TestClient(app) as client:
            login(client, "zhang")
            page = client.get("/a/main/comments")
            assert "备案要多久？" in page.text and "<textarea" in page.text
            token = csrf_of(page.text)
            assert client.post(f"/a/main/comments/{first.id}/reply", data={"content": "无 CSRF"}).status_code == 403
            answered = client.post(f"/a/main/comments/{first.id}/reply",
                                   data={"content": "请到政务服务大厅补办。", "csrf_token": token})
            assert answered.status_code == 200 and "已回复留言" in answered.text
            assert "医保卡丢了怎么补办？" not in answered.text  # answered: off the list
            selected = client.post(f"/a/main/comments/{second.id}/select", data={"csrf_token": token})
            assert selected.status_code == 200 and "★ 精选" in selected.text
            deleted = client.post(f"/a/main/comments/{second.id}/delete", data={"csrf_token": token})
            assert deleted.status_code == 200 and "备案要多久？" not in deleted.text
            empty = client.post(f"/a/main/comments/{second.id}/reply", data={"content": "x", "csrf_token": token})
            assert empty.status_code == 400 and "已删除" in empty.text
    finally:
        app.state.console.close()
    assert fake.comment_threads[(msg_data_id, 0)]["comments"][0]["reply"]["content"] == "请到政务服务大厅补办。"
    assert fake.comment_threads[(msg_data_id, 1)]["comments"][0]["deleted"]
    ledger = Ledger(site.config.database.url)
    said = [e.message for e in ledger.events("main") if e.kind.startswith("comment_")]
    assert any("zhang 回复" in m for m in said) and any("zhang 设为精选" in m for m in said)
    assert any("zhang 删除" in m for m in said)
    assert not any("查看者的回复" in m for m in said)


def test_comments_roles_name_who_may_answer_in_the_console(repo):
    from scheduler.console.inbox import may_answer
    from scheduler.console.users import User

    def user(*roles: str) -> User:
        return User("zhang", False, None, tuple(("main", role) for role in roles))

    config = repo.config
    assert may_answer(config, user("初审")) and not may_answer(config, user("查看"))
    repo.write_config('[comments]\nroles = ["终审"]\n')
    config = repo.config
    assert may_answer(config, user("初审", "终审")) and not may_answer(config, user("初审"))
    repo.write_config('[comments]\nreply_days = 0\n')
    with pytest.raises(Exception, match=r"\[comments\]\.reply_days"):
        repo.config  # noqa: B018 - loading is the point
