"""Wiring: the ledger, the WeChat publisher and the releaser built from a Config."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .config import Config
from .ledger import Ledger, utcnow
from .release import Progress, Releaser


class LedgerSessionStorage:
    """wechatpy's session storage on the ledger: every process shares one access token.

    ``stable_token`` hands back the same token while it is valid, and keeping it in
    the database means the CLI and the daemon never fetch (or force) one another's.
    """

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def get(self, key: str, default: Any = None) -> Any:
        value = self.ledger.token(key)
        return default if value is None else value

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        expires = utcnow() + timedelta(seconds=ttl if ttl else 7200)
        self.ledger.store_token(key, str(value), expires)

    def delete(self, key: str) -> None:
        self.ledger.forget_token(key)


def open_ledger(config: Config) -> Ledger:
    return Ledger(config.database.url)


def make_publisher(config: Config, ledger: Ledger, **options: Any):
    """The WeChat publisher, with credentials from the environment (ConfigError when unset)."""
    from publishers.wechat import WeChatPublisher

    app_id, app_secret = config.credentials()
    return WeChatPublisher(app_id, app_secret, api_base_url=config.account.api_base_url,
                           session=LedgerSessionStorage(ledger), **options)


def make_releaser(config: Config, ledger: Ledger, publisher=None, *, progress: Progress | None = None,
                  now=utcnow) -> Releaser:
    return Releaser(config, ledger, publisher or make_publisher(config, ledger), progress=progress, now=now)


def minute(at: datetime) -> datetime:
    """A forced slot's time: the minute it was asked for (slots are minute-precise)."""
    return at.replace(second=0, microsecond=0)
