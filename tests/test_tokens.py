"""Access tokens shared between processes: in the ledger by default, in Redis when configured;
sealed with the AppSecret either way."""

from __future__ import annotations

import os

import pytest

from publishers.wechat import WeChatPublisher
from scheduler.ledger import Ledger
from scheduler.runtime import RedisTokens, SealedTokenStorage, make_publisher
from tests.fake_wechat import CLIENT_TIMEOUT


@pytest.fixture
def fake():
    """A fake WeChat with an AppID of this run's own: two test runs share one Redis database, and a
    token is stored under its AppID, so neither reads, nor clears, the other's."""
    import uuid

    from tests.fake_wechat import FakeWeChat

    with FakeWeChat(appid=f"wx{uuid.uuid4().hex[:16]}", send_polls=0, publish_polls=0) as server:
        yield server
        assert server.errors == [], "the fake WeChat server hit a bug"


def mine(fake) -> str:
    """The Redis keys of this run's tokens."""
    return f"{RedisTokens.PREFIX}{fake.appid}_*"


@pytest.fixture
def redis_url(fake):
    url = os.environ.get("TUIWEN_TEST_REDIS_URL")
    if not url:
        pytest.skip("TUIWEN_TEST_REDIS_URL is not set")
    store = RedisTokens(url)
    yield url
    for key in store.client.scan_iter(mine(fake)):
        store.client.delete(key)


def test_two_processes_share_one_token_through_redis(redis_url, fake):
    publishers = [WeChatPublisher(fake.appid, fake.secret, api_base_url=fake.url, timeout=CLIENT_TIMEOUT,
                                  session=SealedTokenStorage(RedisTokens(redis_url), fake.secret))
                  for _ in range(2)]
    for publisher in publishers:
        publisher.draft_exists("no-such-draft")  # any call needs a token
    assert fake.count("cgi-bin/stable_token") == 1

    raw = RedisTokens(redis_url)
    stored = [raw.client.get(key) for key in raw.client.scan_iter(mine(fake))]
    assert stored and all(fake.tokens_issued[0].encode() not in value for value in stored)  # sealed
    assert all(0 < raw.client.ttl(key) <= 7200 for key in raw.client.scan_iter(mine(fake)))


def test_the_config_chooses_redis(site, fake, redis_url):
    text = site.config_path.read_text(encoding="utf-8")
    site.config_path.write_text(text.replace('[database]\n', f'[database]\nredis_url = "{redis_url}"\n'),
                                encoding="utf-8")
    config = site.config
    ledger = Ledger(config.database.url)
    make_publisher(config, ledger).draft_exists("no-such-draft")
    assert isinstance(make_publisher(config, ledger).client.session.ledger, RedisTokens)
    assert ledger.token(f"{fake.appid}_access_token") is None  # not in the ledger
    assert any(RedisTokens(redis_url).client.scan_iter(mine(fake)))


def test_without_redis_tokens_live_sealed_in_the_ledger(site, fake):
    config = site.config
    ledger = Ledger(config.database.url)
    make_publisher(config, ledger).draft_exists("no-such-draft")
    sealed = ledger.token(f"{fake.appid}_access_token")
    assert sealed is not None and fake.tokens_issued[0] not in sealed
