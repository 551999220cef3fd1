"""Taking pushed articles down: ``publish withdraw``, through real HTTP against the fake WeChat."""

from __future__ import annotations

import contextlib
import json

from click.testing import CliRunner

from scheduler.cli import main
from scheduler.runtime import open_ledger

SLOT_AT = "2024-04-02 09:00"  # a Tuesday slot of the sample content
NEXT_AT = "2024-04-05 09:00"  # the Friday slot after it


def log_json(site) -> list[dict]:
    result = site.publish("log", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def withdraw(site, *args: str, input: str | None = None):
    return CliRunner().invoke(main, ["--config", str(site.config_path), "withdraw", *args], input=input,
                              catch_exceptions=False)


def pushed(site, fake) -> dict:
    result = site.publish("--at", SLOT_AT)
    assert result.exit_code == 0, result.output
    [release] = log_json(site)
    return release


def test_one_article_of_a_mass_send_disappears_and_the_rest_stay(site, fake):
    release = pushed(site, fake)
    [send] = fake.mass_sends
    urls = [a["url"] for a in send["articles"]]
    assert all(fake.served(url) for url in urls)
    assert [a["url"] for a in release["articles"]] == [None, None, None]  # a mass send's links come later
    assert site.publish("log").output.count("链接未知") == 3

    result = withdraw(site, str(release["id"]), "--article", "2", "--reason", "数据有误", "--by", "张三", "--yes")
    assert result.exit_code == 0, result.output
    assert release["articles"][1]["title"] in result.output  # what disappears was shown
    [call] = [c for c in fake.calls if c.endpoint == "message/mass/delete"]
    assert call.body == {"msg_id": send["msg_id"], "article_idx": 2}
    assert fake.served(urls[1]) is None
    assert fake.served(urls[0]) and fake.served(urls[2])

    [after] = log_json(site)
    assert [a["withdrawn"] for a in after["articles"]] == [False, True, False]
    assert after["articles"][1]["withdrawal"]["by"] == "张三"
    assert after["articles"][1]["withdrawal"]["reason"] == "数据有误"
    assert after["status"] == "confirmed"
    human = site.publish("log").output
    assert "（已撤回）" in human and release["articles"][1]["title"] in human
    status = site.publish("status", "--at", "2024-04-03 10:00").output
    assert "最近撤回" in status and "数据有误" in status


def test_a_withdrawn_post_is_never_chosen_again(site, fake):
    release = pushed(site, fake)
    title = release["articles"][0]["title"]
    assert withdraw(site, str(release["id"]), "--reason", "政策已调整", "--yes").exit_code == 0
    assert all(fake.served(a["url"]) is None for a in fake.mass_sends[0]["articles"])
    dry = site.publish("--dry-run", "--at", NEXT_AT, "--out", str(site.root / "preview"))
    assert dry.exit_code == 0, dry.output
    chosen = dry.output.split("未入选")[0]
    assert title not in chosen
    config = site.config
    ledger = open_ledger(config)
    try:
        paths, _ = ledger.published(config.account.key)
    finally:
        ledger.close()
    assert release["articles"][0]["path"] in paths


def test_withdrawing_again_says_so_and_calls_wechat_no_more(site, fake):
    release = pushed(site, fake)
    assert withdraw(site, str(release["id"]), "--article", "1", "--reason", "错字", "--yes").exit_code == 0
    again = withdraw(site, str(release["id"]), "--article", "1", "--reason", "错字", "--yes")
    assert again.exit_code == 0
    assert "已经撤回过" in again.output
    assert fake.count("message/mass/delete") == 1


def test_without_a_reason_nothing_is_withdrawn(site, fake):
    release = pushed(site, fake)
    result = withdraw(site, str(release["id"]), "--yes")
    assert result.exit_code == 2
    assert "--reason" in result.output
    blank = withdraw(site, str(release["id"]), "--reason", "  ", "--yes")
    assert blank.exit_code == 2
    assert fake.count("message/mass/delete") == 0


def test_the_question_is_asked_and_no_keeps_it(site, fake):
    release = pushed(site, fake)
    result = withdraw(site, str(release["id"]), "--reason", "测试", input="n\n")
    assert result.exit_code == 0
    assert "确定撤回吗" in result.output and "未撤回" in result.output
    assert fake.count("message/mass/delete") == 0
    assert not any(a["withdrawn"] for a in log_json(site)[0]["articles"])


def test_a_whole_publish_is_deleted_with_freepublish_delete(site, fake):
    site.write_config(site.config_path.read_text(encoding="utf-8").replace('mode = "mass_send"', 'mode = "publish"'))
    release = pushed(site, fake)
    assert release["article_id"]
    result = withdraw(site, str(release["id"]), "--reason", "误发", "--yes")
    assert result.exit_code == 0, result.output
    assert "不可恢复" in result.output
    [call] = [c for c in fake.calls if c.endpoint == "freepublish/delete"]
    assert call.body == {"article_id": release["article_id"], "index": 0}
    assert all(fake.served(a["url"]) is None for a in release["articles"])
    assert all(a["withdrawn"] for a in log_json(site)[0]["articles"])


def test_one_article_of_a_publish(site, fake):
    site.write_config(site.config_path.read_text(encoding="utf-8").replace('mode = "mass_send"', 'mode = "publish"'))
    release = pushed(site, fake)
    result = withdraw(site, str(release["id"]), "--article", "3", "--reason", "误发", "--yes")
    assert result.exit_code == 0, result.output
    urls = [a["url"] for a in release["articles"]]
    assert fake.served(urls[2]) is None and fake.served(urls[0]) is not None


def test_a_refusal_from_wechat_is_said_in_chinese_and_nothing_is_recorded(site, fake):
    release = pushed(site, fake)
    fake.inject("message/mass/delete", {"errcode": 48001, "errmsg": "api unauthorized"})
    result = withdraw(site, str(release["id"]), "--article", "1", "--reason", "错字", "--yes")
    assert result.exit_code == 3
    assert "撤回失败" in result.output and "发表记录" in result.output
    assert not any(a["withdrawn"] for a in log_json(site)[0]["articles"])


def test_a_mass_send_deleted_by_hand_is_recorded_when_withdrawn_whole(site, fake):
    release = pushed(site, fake)
    fake.mass_sends[0]["deleted"] = True  # deleted in the web backend meanwhile
    result = withdraw(site, str(release["id"]), "--reason", "已在后台删除", "--yes")
    assert result.exit_code == 0, result.output
    assert all(a["withdrawn"] for a in log_json(site)[0]["articles"])


def test_an_unknown_release_or_article_is_a_usage_error(site, fake):
    release = pushed(site, fake)
    assert withdraw(site, "999", "--reason", "x", "--yes").exit_code == 2
    result = withdraw(site, str(release["id"]), "--article", "9", "--reason", "x", "--yes")
    assert result.exit_code == 2 and "没有第 9 篇" in result.output


# --- the report --------------------------------------------------------------------------

def test_the_report_and_its_csv_say_which_article_was_withdrawn(site, fake, tmp_path):
    import csv

    release = pushed(site, fake)
    assert withdraw(site, str(release["id"]), "--article", "2", "--reason", "数据有误", "--by", "张三", "--yes").exit_code == 0
    out = tmp_path / "report.csv"
    result = site.publish("report", "--from", "2024-04-01", "--to", "2024-04-30", "--csv", str(out))
    assert result.exit_code == 0, result.output
    assert "（已撤回）" in result.output
    with out.open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [r["撤回"].startswith("已撤回") for r in rows] == [False, True, False]
    assert "张三：数据有误" in rows[1]["撤回"]


# --- the console's button ----------------------------------------------------------------

def _console(site):
    import re
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from starlette.testclient import TestClient

    from scheduler.config import load_accounts
    from scheduler.console.app import create_app

    now = datetime(2024, 4, 3, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    app = create_app(load_accounts(site.config_path), secret="s" * 40, now=lambda config: now)

    def login(name):
        client = TestClient(app)
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
        client.post("/login", data={"username": name, "password": "correct horse battery", "csrf_token": token})
        return client

    return app, login


def _user(site, name, role):
    result = CliRunner().invoke(main, ["--config", str(site.config_path), "user", "add", name, "--account",
                                       site.config.account.key, "--role", role, "--password-stdin"],
                                input="correct horse battery\n")
    assert result.exit_code == 0, result.output


def _csrf(html):
    import re

    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@contextlib.contextmanager
def _release_page(site, fake, name, role):
    """A release pushed, and its console page as ``name`` (with ``role``) sees it: (client, page, its URL)."""
    release = pushed(site, fake)
    _user(site, name, role)
    app, login = _console(site)
    url = f"/a/{site.config.account.key}/releases/{release['id']}"
    try:
        client = login(name)
        yield client, client.get(url), url
    finally:
        app.state.console.close()


def test_the_final_signer_withdraws_one_article_in_the_console(site, fake):
    key = site.config.account.key
    with _release_page(site, fake, "zhong", "终审") as (client, page, url):
        assert page.status_code == 200 and "撤回这一篇" in page.text
        done = client.post(f"{url}/withdraw", data={"article": "1", "reason": "标题有误", "csrf_token": _csrf(page.text)})
        assert done.status_code == 200, done.text
        assert "已撤回：zhong" in done.text and "标题有误" in done.text
        assert "（已撤回 1 篇）" in client.get(f"/a/{key}/releases").text
        no_csrf = client.post(f"{url}/withdraw", data={"article": "2", "reason": "x"})
        assert no_csrf.status_code == 403
    urls = [a["url"] for a in fake.mass_sends[0]["articles"]]
    assert fake.served(urls[0]) is None and fake.served(urls[1]) is not None
    [after] = log_json(site)
    assert after["articles"][0]["withdrawal"]["by"] == "zhong"


def test_a_user_without_the_final_role_is_refused_and_it_is_recorded(site, fake):
    with _release_page(site, fake, "chu", "初审") as (client, page, url):
        assert "撤回这一篇" not in page.text and "需要“终审”角色" in page.text
        refused = client.post(f"{url}/withdraw", data={"article": "1", "reason": "想撤", "csrf_token": _csrf(page.text)})
        assert refused.status_code == 403
    assert fake.count("message/mass/delete") == 0
    config = site.config
    ledger = open_ledger(config)
    try:
        refusals = [e.message for e in ledger.events(config.account.key) if e.kind == "withdraw_refused"]
    finally:
        ledger.close()
    assert refusals and "chu" in refusals[0]


# --- the ledger -------------------------------------------------------------------------------

class _Deleting:
    """A publisher that only records deletes (the HTTP path is tested above against the fake)."""

    def __init__(self):
        self.deleted = []

    def delete_mass(self, msg_id, index=0):
        self.deleted.append((msg_id, index))


def test_a_ledger_from_before_withdrawals_is_upgraded_and_takes_them(tmp_path):
    from datetime import UTC, datetime

    from alembic import command
    from sqlalchemy import text

    from scheduler.ledger import Ledger, make_engine
    from scheduler.ledger_view import SQLiteView
    from scheduler.migrations import alembic_config, current, head
    from scheduler.withdraw import recent, target, withdraw, withdrawn

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    command.upgrade(alembic_config(engine), "0005")  # a ledger written before withdrawals
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO release (id, account, slot, status, attempt, mode, late, forced, msg_id, created_at, "
            "updated_at) VALUES (1, 'qy', '2024-04-02 01:00:00', 'confirmed', 1, 'mass_send', 0, 0, '1000000001', "
            "'2024-04-02 01:00:00', '2024-04-02 01:00:00')"))
        for n in (1, 2):
            connection.execute(text(
                "INSERT INTO release_item (release_id, account, position, post_path, sha256, title, live) "
                f"VALUES (1, 'qy', {n}, 'news/{n}.md', '{n:064d}', '标题{n}', 1)"))
    engine.dispose()
    ledger = Ledger(url)
    try:
        assert current(ledger.engine) == head()
        [release] = ledger.releases("qy")
        assert release.article_id is None and withdrawn(ledger, "qy") == {}
        publisher = _Deleting()
        withdraw(ledger, publisher, target(ledger, "qy", 1, 2), "张三", "错字")
        assert publisher.deleted == [("1000000001", 2)]
        assert set(withdrawn(ledger, "qy")) == {(1, 2)}
        assert ledger.published_paths("qy") == {"news/1.md", "news/2.md"}  # still never chosen again
        view = SQLiteView.open(url)
        assert view is not None
        assert view.withdrawals("qy", 5) == recent(ledger, "qy", 5)
        [row] = recent(ledger, "qy", 5)
        assert (row.title, row.by, row.reason) == ("标题2", "张三", "错字") and row.at <= datetime.now(UTC)
    finally:
        ledger.close()


def test_withdrawals_are_kept_on_each_ledger_backend(database_url):
    from datetime import UTC, datetime

    import pytest

    from scheduler import ledger as L
    from scheduler.ledger import ItemPlan, Ledger
    from scheduler.withdraw import AlreadyWithdrawn, recent, target, withdraw, withdrawn

    ledger = Ledger(database_url)
    try:
        release = ledger.claim("qy", datetime(2024, 4, 2, 1, tzinfo=UTC), "mass_send",
                               [ItemPlan(n, f"news/{n}.md", f"{n:064d}", f"标题{n}") for n in (1, 2, 3)])
        ledger.advance(release.id, L.CONFIRMED, "测试", msg_id="1000000001")
        publisher = _Deleting()
        withdraw(ledger, publisher, target(ledger, "qy", release.id, 2), "张三", "错字")
        whole = target(ledger, "qy", release.id, None)
        assert whole.positions == (1, 3) and whole.index == 0  # the rest, with WeChat's "whole message"
        withdraw(ledger, publisher, whole, "李四", "整次误发")
        assert publisher.deleted == [("1000000001", 2), ("1000000001", 0)]
        taken = withdrawn(ledger, "qy")
        assert {key: (w.by, w.whole) for key, w in taken.items()} == {
            (release.id, 1): ("李四", True), (release.id, 2): ("张三", False), (release.id, 3): ("李四", True)}
        assert [r.title for r in recent(ledger, "qy", 2)] in (["标题3", "标题1"], ["标题1", "标题3"])
        with pytest.raises(AlreadyWithdrawn):
            target(ledger, "qy", release.id, None)
        assert ledger.published_paths("qy") == {"news/1.md", "news/2.md", "news/3.md"}
    finally:
        ledger.close()
