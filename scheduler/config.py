"""Settings of tuiwen: what callers import (the code lives in :mod:`scheduler.settings`)."""

from __future__ import annotations

from .settings.accounts import load_accounts, load_config
from .settings.load import settings_table
from .settings.model import DEFAULT_CONFIG, Config, ConfigError
from .settings.sections import (
    DEFAULT_CAMPAIGNS,
    DEFAULT_CATEGORIES,
    SECTIONS,
    AccountSettings,
    AlertSettings,
    CampaignSettings,
    Category,
    CheckSettings,
    ContentSettings,
    DaemonSettings,
    DatabaseSettings,
    FreshnessSettings,
    ReviewSettings,
    ScheduleSettings,
    SmtpSettings,
    ThemeSettings,
)
from .settings.values import WEEKDAY_NAMES, WEEKDAYS, Slot, parse_slot

__all__ = [
    "DEFAULT_CAMPAIGNS", "DEFAULT_CATEGORIES", "DEFAULT_CONFIG", "SECTIONS", "WEEKDAYS", "WEEKDAY_NAMES",
    "AccountSettings", "AlertSettings", "CampaignSettings", "Category", "CheckSettings", "Config", "ConfigError",
    "ContentSettings", "DaemonSettings", "DatabaseSettings", "FreshnessSettings", "ReviewSettings", "ScheduleSettings", "Slot",
    "SmtpSettings", "ThemeSettings", "load_accounts", "load_config", "parse_slot", "settings_table",
]
