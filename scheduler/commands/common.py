"""What the commands share: exit codes, how times and states are said, the account warnings, the ledger to read."""

from __future__ import annotations

from datetime import datetime

from rich.console import Console
from rich.markup import escape

from ..config import Config
from ..states import STATUS_ZH  # noqa: F401 - the commands name states as people read them

EXIT_OK, EXIT_CONTENT, EXIT_CONFIG, EXIT_REMOTE = 0, 1, 2, 3
WEEKDAYS_ZH = "一二三四五六日"


def local(config: Config, moment: datetime) -> str:
    moment = moment.astimezone(config.account.tz)
    return f"{moment:%Y-%m-%d %H:%M}（周{WEEKDAYS_ZH[moment.weekday()]}）"


def category_name(config: Config, key: str | None) -> str:
    category = config.categories.get(key or "")
    return category.name if category else "—"


def account_warnings(config: Config, at: datetime) -> list[str]:
    """What the account's kind makes of its schedule, for check, plan and status."""
    from ..plan import SERVICE_MASS_SENDS_PER_MONTH, busiest_month

    if config.account.type != "service" or config.account.mode != "mass_send":
        return []
    month, count = busiest_month(config.schedule.slots, config.account.tz, at)
    if count <= SERVICE_MASS_SENDS_PER_MONTH:
        return []
    return [f"服务号每位粉丝每月最多收到 {SERVICE_MASS_SENDS_PER_MONTH} 次群发，而 [schedule].slots 在{month}有 "
            f"{count} 次推送：超出的群发会被微信拒绝（45028）。请减少推送时间，或改用 [account].mode = \"publish\"。"]


def print_account_warnings(config: Config, at: datetime, con: Console) -> None:
    for warning in account_warnings(config, at):
        con.print(f"[yellow]警告：{escape(warning)}[/]")


def ledger_reader(config: Config):
    """Something to read releases and heartbeats from: a plain SQLite view when it can answer
    (``status`` must start fast, and SQLAlchemy alone takes most of that), else the ledger."""
    from ..ledger_view import SQLiteView

    view = SQLiteView.open(config.database.url)
    if view is not None and view.knows(config.account.key) and view.releases(config.account.key, 1) is not None:
        return view
    return existing_ledger(config)


def existing_ledger(config: Config):
    """The ledger, or None where there is none yet (status and log never create one)."""
    from ..ledger_view import not_created
    from ..runtime import open_ledger

    if not_created(config.database.url):
        return None

    return open_ledger(config)
