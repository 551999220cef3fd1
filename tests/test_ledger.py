"""The release ledger on SQLite, PostgreSQL and MariaDB: claims, items, media, tokens, events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from sqlalchemy.exc import StatementError

from scheduler import ledger as L
from scheduler.ledger import ItemPlan, Ledger, PostTaken
from scheduler.migrations import current, head
from tests.conftest import run_together

SLOT = datetime(2024, 4, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


def items(*paths: str) -> list[ItemPlan]:
    return [ItemPlan(i + 1, p, f"{i:064d}", f"标题{i}", "news") for i, p in enumerate(paths)]


@pytest.fixture
def ledger(database_url):
    ledger = Ledger(database_url)
    yield ledger
    ledger.close()


def test_migrations_bring_a_new_database_to_head(ledger):
    assert current(ledger.engine) == head()
    Ledger(ledger.url).close()  # a second open finds the schema current and changes nothing
    assert current(ledger.engine) == head()


def test_models_match_the_migrations(ledger):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with ledger.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), L.Base.metadata)
    assert diff == []


def test_a_slot_is_claimed_once(ledger):
    first = ledger.claim("qy", SLOT, "mass_send", items("news/a.md", "policy/b.md"))
    assert first is not None and first.status == L.CLAIMED
    assert ledger.claim("qy", SLOT, "mass_send", items("news/c.md")) is None
    assert ledger.claim("other-account", SLOT, "mass_send", items("news/a.md")) is not None
    [release] = ledger.releases("qy")
    assert [i.post_path for i in release.items] == ["news/a.md", "policy/b.md"]
    assert release.slot == SLOT  # stored naive UTC, read back aware


def test_a_post_is_live_in_one_release_only(ledger):
    ledger.claim("qy", SLOT, "mass_send", items("news/a.md"))
    with pytest.raises(PostTaken):
        ledger.claim("qy", SLOT + timedelta(days=3), "mass_send", items("news/a.md"))
    assert ledger.find("qy", SLOT + timedelta(days=3)) is None  # nothing half-written
    assert ledger.published_paths("qy") == {"news/a.md"}


def test_a_failed_release_frees_its_posts(ledger):
    release = ledger.claim("qy", SLOT, "mass_send", items("news/a.md"))
    ledger.advance(release.id, L.FAILED, "微信返回 45009", error="45009")
    assert ledger.published_paths("qy") == set()
    later = ledger.claim("qy", SLOT + timedelta(days=3), "mass_send", items("news/a.md"))
    assert later is not None
    assert ledger.get(release.id).error == "45009"


def test_advance_records_fields_and_an_event(ledger):
    release = ledger.claim("qy", SLOT, "mass_send", items("news/a.md"))
    ledger.advance(release.id, L.DRAFTED, "草稿已建", draft_media_id="MEDIA1")
    ledger.advance(release.id, L.SENT, "已群发", msg_id="1000001", clientmsgid="qy-20240402T0100")
    ledger.set_urls(release.id, {1: "https://mp.weixin.qq.com/s/x"})
    got = ledger.get(release.id)
    assert (got.status, got.draft_media_id, got.msg_id) == (L.SENT, "MEDIA1", "1000001")
    assert got.items[0].article_url == "https://mp.weixin.qq.com/s/x"
    assert [e.kind for e in ledger.events("qy", release.id)] == ["claimed", "drafted", "sent"]


def test_each_item_records_the_commit_its_post_came_from(ledger):
    # `publish log` shows who last changed each post and in which commit, as git reported it.
    plan = ItemPlan(1, "news/a.md", "1" * 64, "标" * 300, "news", commit_sha="a" * 40,
                    commit_author="很" * 200, commit_date="2024-04-01T18:30:00+08:00")
    bare = ItemPlan(2, "news/b.md", "2" * 64, "无提交", commit_author="")
    [first, second] = ledger.claim("qy", SLOT, "mass_send", [plan, bare], commit_sha="b" * 40).items
    assert (first.commit_sha, first.commit_author, first.commit_date) == (
        "a" * 40, "很" * 128, "2024-04-01T18:30:00+08:00")
    assert first.title == "标" * 255  # cut to fit, not refused
    assert (second.commit_sha, second.commit_author, second.commit_date) == (None, None, None)
    assert ledger.get(first.release_id).commit_sha == "b" * 40


def test_a_step_without_words_is_logged_by_its_state(ledger):
    release = ledger.claim("qy", SLOT, "mass_send", items("news/a.md"))
    ledger.advance(release.id, L.UPLOADED)
    assert ledger.events("qy", release.id)[-1].message == "uploaded"


def test_the_newest_releases_come_first_and_can_be_limited_or_filtered_by_state(ledger):
    for days, status in [(0, L.CONFIRMED), (3, L.EMPTY), (7, L.CLAIMED)]:
        ledger.claim("qy", SLOT + timedelta(days=days), "mass_send", [], status=status)
    assert [r.slot for r in ledger.releases("qy", 2)] == [SLOT + timedelta(days=7), SLOT + timedelta(days=3)]
    assert [r.status for r in ledger.releases("qy", statuses=[L.CONFIRMED, L.EMPTY])] == [L.EMPTY, L.CONFIRMED]


def test_empty_and_missed_slots_are_recorded_without_items(ledger):
    ledger.claim("qy", SLOT, "mass_send", [], status=L.MISSED, error="停机超过补发时限")
    ledger.claim("qy", SLOT + timedelta(days=3), "mass_send", [], status=L.EMPTY)
    assert [r.status for r in ledger.releases("qy")] == [L.EMPTY, L.MISSED]
    assert ledger.last_slot("qy") == SLOT + timedelta(days=3)


def test_media_cache_by_content(ledger):
    assert ledger.media("qy", "ab" * 32, "body") is None
    ledger.remember_media("qy", "ab" * 32, "body", url="http://mmbiz.qpic.cn/a/0")
    ledger.remember_media("qy", "ab" * 32, "cover", media_id="PERM1", url="http://mmbiz.qpic.cn/b/0")
    assert ledger.media("qy", "ab" * 32, "body").url == "http://mmbiz.qpic.cn/a/0"
    assert ledger.media("qy", "ab" * 32, "cover").media_id == "PERM1"


def test_tokens_expire(ledger):
    now = datetime(2024, 4, 2, tzinfo=UTC)
    ledger.store_token("wx1", "TOKEN", now + timedelta(seconds=7000))
    assert ledger.token("wx1", now) == "TOKEN"
    assert ledger.token("wx1", now + timedelta(seconds=6999)) == "TOKEN"
    assert ledger.token("wx1", now + timedelta(seconds=7000)) is None  # at its end it is no longer used
    assert ledger.token("wx1", now + timedelta(seconds=7001)) is None
    ledger.forget_token("wx1")
    assert ledger.token("wx1", now) is None


def test_heartbeat(ledger):
    start = datetime(2024, 4, 2, tzinfo=UTC)
    assert ledger.last_beat("qy") is None
    ledger.beat("qy@host:1", "qy", start, start + timedelta(minutes=5))
    ledger.beat("qy@host:2", "qy", start, start + timedelta(minutes=7))
    ledger.beat("qy@host:1", "qy", start, start + timedelta(minutes=10))
    assert ledger.last_beat("qy") == start + timedelta(minutes=10)
    ledger.stop_beating("qy@host:1")
    assert ledger.last_beat("qy") == start + timedelta(minutes=7)
    ledger.stop_beating("qy@host:2")
    assert ledger.last_beat("qy") is None


def test_naive_datetimes_are_refused(ledger):

    # A slot without a time zone could be Beijing or UTC: eight hours apart. Refused, not guessed.
    with pytest.raises(StatementError, match="naive datetime given to the ledger"):
        ledger.claim("qy", datetime(2024, 4, 2, 9), "mass_send", [])
    assert ledger.releases("qy") == []  # and nothing was recorded


def test_sqlite_folder_is_created(tmp_path):
    url = f"sqlite:///{tmp_path / 'state' / 'deep' / 'tuiwen.db'}"
    Ledger(url).close()
    assert (tmp_path / "state" / "deep" / "tuiwen.db").exists()


def test_an_existing_ledger_is_upgraded_in_place(tmp_path):
    from alembic import command
    from sqlalchemy import text

    from scheduler.ledger import make_engine
    from scheduler.migrations import alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    command.upgrade(alembic_config(engine), "0001")  # a ledger written by the first release
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO release (account, slot, status, attempt, mode, late, forced, created_at, updated_at) "
            "VALUES ('qy', '2024-04-02 01:00:00', 'confirmed', 1, 'mass_send', 0, 0, "
            "'2024-04-02 01:00:00', '2024-04-02 01:00:00')"))
    engine.dispose()
    ledger = Ledger(url)
    assert current(ledger.engine) == head()
    [release] = ledger.releases("qy")
    assert (release.status, release.slot, release.commit_sha) == ("confirmed", SLOT, None)


# --- a failed release planned again (`publish --retry`, the daemon after a pause) -------------

def _failed(ledger, *paths, late=False, **fields):
    release = ledger.claim("qy", SLOT, "mass_send", items(*paths), late=late, digest="d1", commit_sha="c1")
    ledger.retry(release.id)
    ledger.advance(release.id, L.DRAFTED, "草稿已建", draft_media_id="MEDIA1")
    return ledger.advance(release.id, L.FAILED, "微信返回 45009", error="45009", **fields)


def test_a_release_that_failed_before_its_send_is_planned_again_with_new_posts(ledger):
    failed = _failed(ledger, "news/a.md", "news/b.md", late=True)
    again = ledger.reopen(failed, items("news/b.md", "news/c.md"), forced=True, digest="d2", commit_sha="c2")
    assert again.id == failed.id and len(ledger.releases("qy")) == 1  # the slot's own row, not a second one
    assert (again.status, again.error, again.attempt, again.draft_media_id) == (L.CLAIMED, None, 1, None)
    assert (again.late, again.forced, again.digest, again.commit_sha) == (True, True, "d2", "c2")
    assert [(i.position, i.post_path) for i in again.items] == [(1, "news/b.md"), (2, "news/c.md")]
    assert ledger.published_paths("qy") == {"news/b.md", "news/c.md"}  # held again; news/a.md stays free
    # The log keeps what happened before, and says why it failed last time.
    events = ledger.events("qy", failed.id)
    assert [e.kind for e in events] == ["claimed", "drafted", "failed", "reopened"]
    assert events[-1].message == "2024-04-02 01:00 UTC 重新安排，2 篇文章（上次失败：45009）"


def test_a_failed_slot_planned_again_with_nothing_to_push_is_recorded_empty(ledger):
    failed = _failed(ledger, "news/a.md")
    again = ledger.reopen(failed, [], status=L.EMPTY, error="没有可发布的文章")
    assert (again.status, again.error, again.items) == (L.EMPTY, "没有可发布的文章", [])
    assert ledger.published_paths("qy") == set()


def test_a_failed_release_is_reopened_by_one_process_only(ledger):
    failed = _failed(ledger, "news/a.md")
    other = ledger.claim("qy", SLOT + timedelta(days=3), "mass_send", items("news/x.md"))
    ledger.advance(other.id, L.FAILED, "微信返回 45009", error="45009")  # another failed slot stays failed
    assert ledger.reopen(failed, items("news/b.md")) is not None
    assert ledger.reopen(failed, items("news/c.md")) is None  # another process got there first
    assert ledger.published_paths("qy") == {"news/b.md"}
    assert [e.kind for e in ledger.events("qy", failed.id)].count("reopened") == 1
    assert ledger.get(other.id).status == L.FAILED


def test_a_release_whose_send_had_begun_is_never_reopened(ledger):
    # Its posts may be on followers' phones: planning the slot again could push them twice.
    failed = _failed(ledger, "news/a.md", send_started_at=SLOT + timedelta(minutes=1))
    assert ledger.reopen(failed, items("news/b.md")) is None
    got = ledger.get(failed.id)
    assert (got.status, got.draft_media_id, [i.post_path for i in got.items]) == (L.FAILED, "MEDIA1", ["news/a.md"])
    assert ledger.published_paths("qy") == set()


def test_reopening_with_a_post_live_elsewhere_changes_nothing(ledger):
    failed = _failed(ledger, "news/a.md")
    ledger.claim("qy", SLOT + timedelta(days=3), "mass_send", items("news/b.md"))
    with pytest.raises(PostTaken, match="2024-04-02 01:00 UTC 的文章已被另一次发布占用"):
        ledger.reopen(failed, items("news/b.md"))
    got = ledger.get(failed.id)
    assert (got.status, got.error, [i.post_path for i in got.items]) == (L.FAILED, "45009", ["news/a.md"])
    assert ledger.published_paths("qy") == {"news/b.md"}


def test_each_retry_counts_one_more_attempt(ledger):
    release = ledger.claim("qy", SLOT, "mass_send", items("news/a.md"))
    assert release.attempt == 1
    assert ledger.retry(release.id).attempt == 2
    assert ledger.retry(release.id).attempt == 3
    assert ledger.get(release.id).attempt == 3


def test_a_release_number_is_found_only_in_its_own_account(ledger):
    release = ledger.claim("qy", SLOT, "mass_send", items("news/a.md"))
    assert ledger.find_id("qy", release.id).slot == SLOT
    assert ledger.find_id("other-account", release.id) is None  # `publish log 7` of another account
    assert ledger.find_id("qy", release.id + 1000) is None


# --- accounts: the key keeps the history ------------------------------------------------------

def test_rows_written_under_the_display_name_move_to_the_key_and_stay_on_a_rename(ledger, caplog):
    import logging

    old = "医保公众号"
    ledger.claim(old, SLOT, "mass_send", items("news/a.md"))
    ledger.remember_media(old, "ab" * 32, "body", url="http://mmbiz.qpic.cn/a/0")
    ledger.beat("d@host:1", old, SLOT, SLOT)
    ledger.claim("other", SLOT, "mass_send", items("news/a.md"))
    with caplog.at_level(logging.INFO, logger="scheduler.ledger"):
        ledger.adopt("main", old)
    assert "台账中“医保公众号”的 5 条记录已改记在账号 main 下" in caplog.text  # release, item, event, media, beat
    assert [r.slot for r in ledger.releases("main")] == [SLOT] and ledger.releases(old) == []
    assert ledger.published_paths("main") == {"news/a.md"}
    assert ledger.media("main", "ab" * 32, "body").url == "http://mmbiz.qpic.cn/a/0"
    assert [e.kind for e in ledger.events("main")] == ["claimed"]
    assert ledger.last_beat("main") == SLOT
    assert ledger.published_paths("other") == {"news/a.md"}  # other accounts' rows stay theirs
    assert ledger.accounts() == {"main": old}

    ledger.claim(old, SLOT + timedelta(days=3), "mass_send", [], status=L.EMPTY)  # an old process, still running
    ledger.adopt("main", "医保局")  # renamed: recorded, and nothing moves any more
    assert ledger.accounts() == {"main": "医保局"}
    assert len(ledger.releases("main")) == 1 and len(ledger.releases(old)) == 1
    ledger.adopt("main", "很" * 200)
    assert ledger.accounts() == {"main": "很" * 128}  # a long name is cut to fit, not refused


def test_an_account_first_known_by_a_long_name_has_it_cut_to_fit(ledger):
    ledger.adopt("main", "很" * 200)
    assert ledger.accounts() == {"main": "很" * 128}


def test_an_account_whose_key_is_its_name_adopts_its_rows_as_they_are(ledger):
    ledger.claim("qy", SLOT, "mass_send", items("news/a.md"))
    ledger.adopt("qy", "qy")
    assert ledger.accounts() == {"qy": "qy"} and len(ledger.releases("qy")) == 1


# --- console approvals, events, heartbeats of many daemons -------------------------------------

def test_a_console_approval_replaces_the_same_roles_earlier_one_for_that_post_only(ledger):
    at = SLOT
    ledger.approve("qy", "news/a.md", "1" * 64, "初审", "张三", at)
    ledger.approve("qy", "news/a.md", "1" * 64, "终审", "李四", at + timedelta(minutes=1))
    ledger.approve("qy", "news/b.md", "2" * 64, "初审", "张三", at)
    ledger.approve("other", "news/a.md", "1" * 64, "初审", "王五", at)
    ledger.approve("qy", "news/a.md", "3" * 64, "初审", "赵六", at + timedelta(minutes=2))  # after an edit
    got = [(a.post_path, a.role, a.by, a.sha256, a.at) for a in ledger.approvals("qy")]
    assert got == [("news/a.md", "终审", "李四", "1" * 64, at + timedelta(minutes=1)),
                   ("news/b.md", "初审", "张三", "2" * 64, at),
                   ("news/a.md", "初审", "赵六", "3" * 64, at + timedelta(minutes=2))]
    assert [a.by for a in ledger.approvals("other")] == ["王五"]


def test_a_long_approver_name_is_cut_to_fit_not_refused(ledger):
    ledger.approve("qy", "news/a.md", "1" * 64, "初审", "很" * 100, SLOT)
    ledger.approve("qy", "news/a.md", "1" * 64, "初审", "张三", SLOT)  # still one record per role
    assert [a.by for a in ledger.approvals("qy")] == ["张三"]
    ledger.approve("qy", "news/b.md", "1" * 64, "复审", "很" * 100, SLOT)
    assert [a.by for a in ledger.approvals("qy")] == ["张三", "很" * 64]
    ledger.approve("qy", "news/" + "长" * 600 + ".md", "1" * 64, "终审", "王五", SLOT)
    assert [len(a.post_path) for a in ledger.approvals("qy")] == [9, 9, 512]


def test_events_of_a_release_and_of_the_account(ledger):
    release = ledger.claim("qy", SLOT, "mass_send", items("news/a.md"))
    ledger.event("qy", "draft", "未能删除草稿", release.id)
    ledger.event("qy", "content", "内容仓库有未提交的改动")
    ledger.event("other", "content", "别的账号")
    assert [(e.kind, e.release_id) for e in ledger.events("qy", release.id)] == [
        ("claimed", release.id), ("draft", release.id)]
    assert [(e.kind, e.message) for e in ledger.events("qy")][1:] == [
        ("draft", "未能删除草稿"), ("content", "内容仓库有未提交的改动")]


def test_events_are_counted_by_kind_and_by_the_start_of_their_message(ledger):
    # An alert is sent once: the ledger counts the events tagged with its key.
    for kind, message in [("alert", "[k1] 已经邮件发送：x"), ("alert", "[k1] 未配置告警渠道"),
                          ("alert", "[k2] 已经邮件发送：y"), ("alert_failed", "[k1] 所有告警渠道都发送失败"),
                          ("alert", "100% 完成")]:
        ledger.event("qy", kind, message)
    ledger.event("other", "alert", "[k1] 已经邮件发送：x")
    assert ledger.count_events("qy", "alert", "[k1]") == 2
    assert ledger.count_events("qy", "alert_failed", "[k1]") == 1
    assert ledger.count_events("qy", "alert") == 4
    assert ledger.count_events("qy", "alert", "[k3]") == 0
    # % and _ in a key are plain characters, not SQL wildcards.
    assert ledger.count_events("qy", "alert", "1_0") == 0
    assert ledger.count_events("qy", "alert", "%") == 0


def test_the_first_event_of_a_kind_tells_when_it_first_happened(ledger):
    assert ledger.first_event("qy", "daemon_started") is None
    ledger.event("other", "daemon_started", "别的账号")
    ledger.event("qy", "content", "x")
    ledger.event("qy", "daemon_started", "守护进程启动")
    ledger.event("qy", "daemon_started", "守护进程启动")
    firsts = [e.at for e in ledger.events("qy") if e.kind == "daemon_started"]
    assert ledger.first_event("qy", "daemon_started") == firsts[0] < firsts[1]


def test_one_statement_touches_the_heartbeats_of_several_daemons(ledger):
    start = datetime(2024, 4, 2, tzinfo=UTC)
    long_name = "a" * 200 + "@host:1"  # names are cut to 128 characters, here as when first written
    for name, account in [(long_name, "a"), ("b@host:1", "b"), ("c@host:1", "c")]:
        ledger.beat(name, account, start, start)
    ledger.beat_many([long_name, "b@host:1"], start + timedelta(minutes=5))
    assert [ledger.last_beat(a) for a in "abc"] == [start + timedelta(minutes=5)] * 2 + [start]
    ledger.stop_beating(long_name)  # a daemon that stops says so, however long its name
    assert ledger.last_beat("a") is None


def test_one_look_tells_which_accounts_have_an_unfinished_release_and_their_latest_slots(ledger):
    ledger.claim("a", SLOT, "mass_send", items("news/a.md"))  # claimed: unfinished
    done = ledger.claim("b", SLOT, "mass_send", items("news/a.md"))
    ledger.advance(done.id, L.CONFIRMED, "微信确认发送成功")
    ledger.claim("b", SLOT + timedelta(days=3), "mass_send", [], status=L.EMPTY)
    sent = ledger.claim("c", SLOT - timedelta(days=4), "mass_send", items("news/a.md"))
    ledger.advance(sent.id, L.UNCONFIRMED, "发送结果未知")
    ledger.claim("x", SLOT, "mass_send", items("news/a.md"))  # not asked about
    unfinished, latest = ledger.overview(iter(["a", "b", "c", "d"]))
    assert unfinished == {"a", "c"}
    assert latest == {"a": SLOT, "b": SLOT + timedelta(days=3), "c": SLOT - timedelta(days=4)}


# --- several processes on one ledger -----------------------------------------------------

def _at_once(calls) -> list[BaseException]:
    """Run the calls in threads released together; the exceptions they raised."""

    errors: list[BaseException] = []

    def collecting(call):
        def run():
            try:
                call()
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)
        return run

    run_together([collecting(call) for call in calls])
    return errors


def test_two_processes_storing_the_same_token_or_image_at_once_both_succeed(database_url):
    ledgers = [Ledger(database_url) for _ in range(2)]  # two engines: two processes' connections
    expires = datetime.now(UTC) + timedelta(hours=2)
    for n in range(20):
        assert _at_once([partial(db.store_token, f"wx_access_token_{n}", f"t{n}", expires) for db in ledgers]) == []
        assert _at_once([partial(db.remember_media, "qy", f"{n:064d}", "body", url=f"u{n}") for db in ledgers]) == []
    assert ledgers[0].token("wx_access_token_19") == "t19"
    assert ledgers[1].media("qy", f"{19:064d}", "body").url == "u19"
    for ledger in ledgers:
        ledger.close()


def test_one_process_at_a_time_runs_a_release(database_url):
    first, second = Ledger(database_url), Ledger(database_url)
    with first.running(7) as mine:
        assert mine
        with second.running(7) as theirs:
            assert not theirs
        with second.running(8) as other_release:
            assert other_release
    with second.running(7) as now_theirs:
        assert now_theirs
    first.close()
    second.close()


def test_the_run_lock_dies_with_a_killed_process(database_url, tmp_path):
    import signal
    import subprocess
    import sys
    import textwrap

    from tests.conftest import REPO_ROOT

    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""\
        import sys, time
        from scheduler.ledger import Ledger
        with Ledger({database_url!r}).running(7) as mine:
            print("held" if mine else "refused", flush=True)
            time.sleep(120)
        """)], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        ledger = Ledger(database_url)
        with ledger.running(7) as mine:
            assert not mine
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
        import time

        deadline = time.monotonic() + 10  # the server notices the closed session at once, or nearly
        while True:
            with ledger.running(7) as mine:
                if mine or time.monotonic() > deadline:
                    break
            time.sleep(0.1)
        assert mine
        ledger.close()
    finally:
        holder.kill()
        holder.stdout.close()


def test_a_write_that_keeps_colliding_is_reported_after_three_tries_not_lost(tmp_path, monkeypatch):
    # Two processes storing one new token collide once, and the loser finds the row on its retry;
    # a collision that never clears is an error to show, never a token silently not stored.
    from sqlalchemy.exc import IntegrityError
    from sqlalchemy.orm import Session

    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    tries = []

    def colliding(self):
        tries.append(1)
        raise IntegrityError("INSERT INTO token", {}, Exception("UNIQUE constraint failed: token.key"))

    monkeypatch.setattr(Session, "commit", colliding)
    with pytest.raises(IntegrityError):
        ledger.store_token("wx_access_token", "T", datetime(2024, 4, 2, tzinfo=UTC))
    assert len(tries) == 3
    ledger.close()
