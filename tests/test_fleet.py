"""Several daemon processes serving many accounts on one database.

Real `publish daemon` processes on a shared simulated clock (tests/fleet_city.py), on
SQLite, PostgreSQL and MariaDB: every (account, slot) is pushed exactly once however the
daemons race; a daemon killed with kill -9 in the middle of a send leaves the release to
another, which finishes it without sending twice; one account whose WeChat hangs or
answers errors never holds up the others.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

from scheduler import ledger as L
from scheduler.ledger import Ledger
from tests.fake_wechat import FakeWeChat
from tests.fleet_city import (
    SharedClock,
    account_keys,
    credentials,
    kill_hard,
    owner_of_port,
    start_daemon,
    stop,
    wait_for,
    write_city,
)

SHANGHAI = timezone(timedelta(hours=8))
TUESDAY = datetime(2024, 4, 2, 9, 0, tzinfo=SHANGHAI)
FRIDAY = TUESDAY + timedelta(days=3)
RECONCILE = 2.0  # seconds between a daemon's sweeps of every account


def releases_of(ledger: Ledger, keys: list[str], slot: datetime) -> dict[str, L.Release | None]:
    return {key: ledger.find(key, slot) for key in keys}


def all_final(ledger: Ledger, keys: list[str], slot: datetime) -> bool:
    found = releases_of(ledger, keys, slot).values()
    return all(r is not None and r.status in L.FINAL for r in found)


def pushes_per_account(fake: FakeWeChat) -> Counter:
    """Mass sends per account key, read from the pushed titles ("a007工作动态第1期")."""
    return Counter(send["articles"][0]["title"][:4] for send in fake.mass_sends)


def city(tmp_path, fake, database_url, accounts, posts=4, **options):
    config, names = write_city(tmp_path, accounts, posts, database_url, fake.url, **options)
    Ledger(database_url).close()  # the tables exist before the race, as after any first run
    return config, credentials(names, fake.appid, fake.secret)


def test_three_daemons_push_every_account_once_per_slot(database_url, fake, tmp_path, counts):
    fake.mass_quota = 1000
    keys = account_keys(20)
    config, env = city(tmp_path, fake, database_url, len(keys))
    clock = SharedClock(tmp_path / "clock", TUESDAY - timedelta(seconds=5))
    daemons = [start_daemon(config, clock, env, RECONCILE, tmp_path / f"daemon{n}.log") for n in range(3)]
    ledger = Ledger(database_url)
    try:
        wait_for(lambda: all_final(ledger, keys, TUESDAY), "every account's Tuesday push", 180)
        clock.set(FRIDAY - timedelta(seconds=3))
        wait_for(lambda: all_final(ledger, keys, FRIDAY), "every account's Friday push", 180)
    finally:
        codes = [stop(d) for d in daemons]
    logs = "\n".join((tmp_path / f"daemon{n}.log").read_text(encoding="utf-8") for n in range(3))
    assert codes == [0, 0, 0], logs
    for slot in (TUESDAY, FRIDAY):
        assert {k: r.status for k, r in releases_of(ledger, keys, slot).items()} == dict.fromkeys(keys, L.CONFIRMED)
    assert pushes_per_account(fake) == dict.fromkeys(keys, 2)  # each account, each slot: once
    assert fake.count("draft/add") == 40
    backend = database_url.split(":", 1)[0].split("+", 1)[0]
    counts(f"{backend}: 3 daemons x 20 accounts x 2 slots: {len(fake.mass_sends)} pushes, 0 doubled")
    ledger.close()


def test_a_daemon_killed_mid_send_leaves_the_release_to_another(database_url, fake, tmp_path, counts):
    fake.mass_quota, fake.timeout_hold, fake.clientmsgid_retry_window = 1000, 60.0, 1.0
    fake.inject("message/mass/sendall", "hang_after", after=2)  # the third send goes out; its answer never comes
    keys = account_keys(6)
    config, env = city(tmp_path, fake, database_url, len(keys))
    clock = SharedClock(tmp_path / "clock", TUESDAY - timedelta(seconds=5))
    daemons = [start_daemon(config, clock, env, RECONCILE, tmp_path / f"daemon{n}.log") for n in range(3)]
    ledger = Ledger(database_url)
    try:
        wait_for(lambda: any(c.fault == "hang_after" for c in list(fake.calls)), "the held send", 180)
        [held] = [c for c in fake.calls if c.fault == "hang_after"]
        holders: list[int] = []

        def found_holder() -> bool:  # looked at again: a busy daemon's descriptors come and go meanwhile
            pid = owner_of_port(held.port, [d.pid for d in daemons])
            holders.extend([pid] if pid is not None else [])
            return bool(holders)

        wait_for(found_holder, "the daemon holding the send's connection", 30)
        [killed] = [d for d in daemons if d.pid == holders[0]]
        kill_hard(killed)
        survivors = [d for d in daemons if d is not killed]
        wait_for(lambda: all_final(ledger, keys, TUESDAY), "every account's push, the held one included", 180)
    finally:
        codes = [stop(d) for d in daemons if d.poll() is None]
    assert codes == [0, 0]
    assert len(survivors) == 2
    assert {k: r.status for k, r in releases_of(ledger, keys, TUESDAY).items()} == dict.fromkeys(keys, L.CONFIRMED)
    assert pushes_per_account(fake) == dict.fromkeys(keys, 1)  # the held send was confirmed, not repeated
    resumed = [key for key in keys if any(e.kind == L.UNCONFIRMED or "确认" in e.message
                                          for e in ledger.events(key, ledger.find(key, TUESDAY).id))]
    assert resumed, "the held release was carried on by asking WeChat"
    backend = database_url.split(":", 1)[0].split("+", 1)[0]
    counts(f"{backend}: kill -9 mid-send: carried on by another daemon, {len(fake.mass_sends)} pushes for 6 accounts")
    ledger.close()


def test_one_account_hanging_and_one_failing_never_hold_up_the_others(tmp_path, fake):
    fake.mass_quota = 1000
    # Accounts of their own: their own AppIDs (and so their own access tokens).
    with FakeWeChat("wx_hanging", "hanging_secret", send_polls=0, publish_polls=0, timeout_hold=120.0) as hanging, \
            FakeWeChat("wx_failing", "failing_secret", send_polls=0, publish_polls=0) as failing:
        hanging.inject("draft/add", "timeout", times=100)
        failing.inject("draft/add", {"errcode": 40007, "errmsg": "invalid media_id"}, times=100)
        keys = account_keys(8)
        special = {keys[0]: hanging.url, keys[1]: failing.url}
        url = f"sqlite:///{tmp_path / 'ledger.db'}"
        config, env = city(tmp_path, fake, url, len(keys), special=special, workers=2)
        for key, other in ((keys[0], hanging), (keys[1], failing)):
            env[f"{key.upper()}_ID"], env[f"{key.upper()}_SECRET"] = other.appid, other.secret
        clock = SharedClock(tmp_path / "clock", TUESDAY - timedelta(seconds=5))
        daemon = start_daemon(config, clock, env, RECONCILE, tmp_path / "daemon.log")
        ledger = Ledger(url)
        healthy = keys[2:]
        try:
            # The daemon takes the accounts in an order of its own: the hanging one may come first or
            # last. Either way, the others all go out while its draft waits (held again at each retry).
            wait_for(lambda: hanging.count("draft/add") >= 1 and all_final(ledger, healthy, TUESDAY),
                     "the healthy accounts' pushes and the hanging account's draft", 120)
            assert {k: r.status for k, r in releases_of(ledger, healthy, TUESDAY).items()} == dict.fromkeys(
                healthy, L.CONFIRMED)
            stuck = ledger.find(keys[0], TUESDAY)
            assert stuck is not None and stuck.status not in L.FINAL
            wait_for(lambda: ledger.find(keys[1], TUESDAY) is not None
                     and ledger.find(keys[1], TUESDAY).status == L.FAILED, "the failing account's failure", 60)
        finally:
            hanging.stop()  # its held answer is dropped: the daemon's thread comes back to stop
            code = stop(daemon, timeout=120)
        log = (tmp_path / "daemon.log").read_text(encoding="utf-8")
        assert code == 0, log
    assert pushes_per_account(fake) == dict.fromkeys(healthy, 1)
    assert hanging.mass_sends == [] and failing.mass_sends == []
    assert f"[{keys[1]}]" in log  # the failure is logged under its account's name
    ledger.close()
