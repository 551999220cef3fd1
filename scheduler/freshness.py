"""Freshness: days since the last update followers saw, against the inspection line.

The 2019 government new-media inspection indicators fail an account with no update
for about two weeks.  Only a mass send (群发) notifies followers and counts as an
update; a free publish (发布) does not.  Warnings come at ``[freshness].warn_days``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from . import states as L  # not .ledger: `publish status` reads without SQLAlchemy
from .config import Config

if TYPE_CHECKING:
    from .ledger import Ledger

INSPECTION_DAYS = 14  # 2019 检查指标：两周未更新判为不合格
COUNTS_AS_UPDATE = (L.SENT, L.CONFIRMED)
RECENT = 200  # releases looked at, newest first: months of history


@dataclass(frozen=True)
class Freshness:
    """How stale the account is at ``at``."""

    at: datetime
    last_update: datetime | None  # the last mass send that went out
    days: int | None  # whole days since then
    level: int  # the highest warn_days threshold reached (0: none)
    inspection_days: int = INSPECTION_DAYS

    @property
    def failing(self) -> bool:
        return self.days is not None and self.days >= self.inspection_days

    def message(self) -> str:
        """e.g. 距上次群发 8 天（已超过 7 天提醒线；14 天未更新将被判定为不合格）"""
        if self.days is None:
            return "台账中没有群发记录（群发才通知粉丝、计入公众号更新）"
        head = f"距上次群发 {self.days} 天"
        if self.failing:
            return f"{head}（已达 {self.inspection_days} 天：按政府网站与政务新媒体检查指标将被判定为不合格，请尽快群发）"
        if self.level:
            return f"{head}（已超过 {self.level} 天提醒线；{self.inspection_days} 天未更新将被判定为不合格）"
        return f"{head}（正常；{self.inspection_days} 天未更新将被判定为不合格）"


def last_update(ledger: Ledger, account: str, at: datetime) -> datetime | None:
    """When the last mass send at or before ``at`` went out (its send time, else its slot)."""
    times = [r.sent_at or r.slot for r in ledger.releases(account, RECENT, statuses=COUNTS_AS_UPDATE)
             if r.mode == "mass_send"]
    return max((t for t in times if t <= at), default=None)


def assess(last: datetime | None, at: datetime, warn_days: tuple[int, ...]) -> Freshness:
    if last is None:
        return Freshness(at, None, None, 0)
    days = max(0, int((at - last).total_seconds() // 86400))
    level = max((d for d in warn_days if days >= d), default=0)
    return Freshness(at, last, days, level)


def freshness(config: Config, ledger: Ledger | None, at: datetime) -> Freshness:
    """The account's freshness at ``at``; no ledger means no record of any send."""
    last = last_update(ledger, config.account.key, at) if ledger is not None else None
    return assess(last, at, config.freshness.warn_days)
