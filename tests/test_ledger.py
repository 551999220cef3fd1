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
