"""Wiring: the ledger, the WeChat publisher and the releaser built from a Config."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, cast

from .config import Config
from .ledger import Ledger, utcnow

if TYPE_CHECKING:  # imported when a releaser is made: `publish status` needs the ledger only
    from .release import Progress, Releaser


class TokenStore(Protocol):
    """Where tokens are shared: the ledger (the default) or Redis."""

    def token(self, key: str) -> str | None: ...
    def store_token(self, key: str, value: str, expires_at: datetime) -> None: ...
    def forget_token(self, key: str) -> None: ...


class RedisTokens:
    """Tokens in Redis (``[database].redis_url``), for sites that run Redis beside several hosts."""

    PREFIX = "tuiwen:token:"

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url)

    def token(self, key: str) -> str | None:
        value = cast("bytes | None", self.client.get(self.PREFIX + key))  # redis-py types sync and async alike
        return None if value is None else value.decode("ascii")

    def store_token(self, key: str, value: str, expires_at: datetime) -> None:
        # Redis forgets it when it expires, as the ledger's query ignores an expired row.
        ttl = max(1, int((expires_at - utcnow()).total_seconds()))
        self.client.set(self.PREFIX + key, value, ex=ttl)

    def forget_token(self, key: str) -> None:
        self.client.delete(self.PREFIX + key)


class SealedTokenStorage:
    """wechatpy's session storage, shared by every process: one access token for all.

    ``stable_token`` hands back the same token while it is valid, and keeping it in the
    ledger (or Redis) means the CLI and the daemon never fetch (or force) one another's.
    Values are sealed (Fernet) with a key derived from the AppSecret, so the store, its
    backups and whoever reads them never see a usable token; a process without the
    same secret reads nothing (and fetches its own).
    """

    def __init__(self, ledger: TokenStore, secret: str) -> None:
        import base64
        import hashlib

        from cryptography.fernet import Fernet

        self.ledger = ledger
        key = hashlib.sha256(b"tuiwen access token seal\0" + secret.encode("utf-8")).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def get(self, key: str, default: Any = None) -> Any:
        from cryptography.fernet import InvalidToken

        sealed = self.ledger.token(key)
        if sealed is None:
            return default
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError, ValueError):
            return default  # sealed with another secret, or written in the clear before: fetch anew

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        expires = utcnow() + timedelta(seconds=ttl if ttl else 7200)
        sealed = self._fernet.encrypt(str(value).encode("utf-8")).decode("ascii")
        self.ledger.store_token(key, sealed, expires)

    def delete(self, key: str) -> None:
        self.ledger.forget_token(key)


def open_ledger(config: Config, threads: int = 1) -> Ledger:
    """The ledger, with this account's rows filed under its key (moved there from its display name once);
    ``threads`` use it at once (a daemon's workers)."""
    account = config.account
    ledger = Ledger(config.database.url, names={account.name: account.key}, threads=threads)
    ledger.adopt(account.key, account.name)
    return ledger


def make_publisher(config: Config, ledger: Ledger, **options: Any):
    """The WeChat publisher, with credentials from the environment (ConfigError when unset)."""
    from publishers.wechat import WeChatPublisher

    app_id, app_secret = config.credentials()
    store = RedisTokens(config.database.redis_url) if config.database.redis_url else ledger
    return WeChatPublisher(app_id, app_secret, api_base_url=config.account.api_base_url,
                           session=SealedTokenStorage(store, app_secret), **options)


def make_releaser(config: Config, ledger: Ledger, publisher=None, *, progress: Progress | None = None,
                  now=utcnow) -> Releaser:
    from .release import Releaser

    return Releaser(config, ledger, publisher or make_publisher(config, ledger), progress=progress, now=now)


class DeferredReleaser:
    """A releaser built at its first use, for the daemon.

    A daemon spends nearly all its time waiting for a slot, and building a releaser
    loads the renderer and wechatpy (some 30 MB), so that happens at the first
    release instead of at start.  The credentials are still checked at start.
    """

    def __init__(self, config: Config, ledger: Ledger) -> None:
        config.credentials()  # a ConfigError now, not at the first slot
        self._parts = (config, ledger)
        self._real: Releaser | None = None
        self.should_stop = lambda: False  # set by the daemon; handed on to the real releaser

    def __getattr__(self, name: str) -> Any:  # only for what the proxy itself does not have
        if self._real is None:
            self._real = make_releaser(*self._parts)
        self._real.should_stop = self.should_stop
        return getattr(self._real, name)


def minute(at: datetime) -> datetime:
    """A forced slot's time: the minute it was asked for (slots are minute-precise)."""
    return at.replace(second=0, microsecond=0)
