"""The whole configuration of an account, and the credentials it names."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .sections import (
    AccountSettings,
    AlertSettings,
    ArchiveSettings,
    CampaignSettings,
    Category,
    CheckSettings,
    CommentSettings,
    ContentSettings,
    DaemonSettings,
    DatabaseSettings,
    FreshnessSettings,
    ReviewSettings,
    ScheduleSettings,
    ServeSettings,
    ThemeSettings,
)

DEFAULT_CONFIG = "config.toml"


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key and the fix."""


@dataclass(frozen=True)
class Config:
    """Everything ``config.toml`` says, with defaults filled in and paths resolved."""

    path: Path
    account: AccountSettings
    content: ContentSettings
    schedule: ScheduleSettings
    database: DatabaseSettings
    review: ReviewSettings
    theme: ThemeSettings
    checks: CheckSettings
    freshness: FreshnessSettings
    alerts: AlertSettings
    daemon: DaemonSettings
    comments: CommentSettings
    serve: ServeSettings
    archive: ArchiveSettings
    categories: dict[str, Category]
    campaigns: tuple[CampaignSettings, ...]
    # Approvals given in the web console, read from the ledger (``signoff.with_ledger``):
    # ((post path, signoff.Approval), ...).  Part of the config so that every check of a
    # run, in any worker process, sees the same ones, and the check cache notices a change.
    web_approvals: tuple = ()

    @property
    def root(self) -> Path:
        return self.path.parent

    def category(self, key_or_name: str) -> Category | None:
        """Look a category up by key (``fund-supervision``) or display name (``基金监管``)."""
        if key_or_name in self.categories:
            return self.categories[key_or_name]
        return next((c for c in self.categories.values() if c.name == key_or_name), None)

    def credentials(self) -> tuple[str, str]:
        """AppID and AppSecret from the environment variables the config names, or the AppSecret
        from ``[account].app_secret_file`` — refused when other users can read that file."""
        values = []
        keys = ("app_id_env",) if self.account.app_secret_file else ("app_id_env", "app_secret_env")
        for key in keys:
            name = getattr(self.account, key)
            value = os.environ.get(name, "").strip()
            if not value:
                raise ConfigError(f"环境变量 {name} 未设置（[account].{key}）：请在运行环境中提供公众号的 AppID 和 AppSecret")
            values.append(value)
        if self.account.app_secret_file:
            values.append(_secret_from_file(self.account.app_secret_file))
        return values[0], values[1]


def _secret_from_file(path: Path) -> str:
    """The AppSecret in ``path``; ConfigError when it is missing, empty, or readable by others."""
    import stat

    try:
        mode = path.stat().st_mode
    except OSError:
        raise ConfigError(f"找不到密钥文件 {path}（[account].app_secret_file）") from None
    if not stat.S_ISREG(mode):
        raise ConfigError(f"密钥文件 {path} 不是普通文件（[account].app_secret_file）")
    if mode & 0o077:
        raise ConfigError(f"密钥文件 {path} 的权限是 {stat.S_IMODE(mode):03o}，同组或其他用户也能读取，已拒绝使用："
                          f"请执行 chmod 600 {path}（[account].app_secret_file）")
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        raise ConfigError(f"无法读取密钥文件 {path}（[account].app_secret_file）") from None
    if not secret:
        raise ConfigError(f"密钥文件 {path} 是空的（[account].app_secret_file）")
    return secret
