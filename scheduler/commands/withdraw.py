"""``publish withdraw``: show what will disappear, ask, take it down, say what was recorded."""

from __future__ import annotations

import getpass

import click
from rich.console import Console
from rich.markup import escape

from ..config import Config, ConfigError
from .common import EXIT_CONFIG, EXIT_OK, EXIT_REMOTE, local


def os_user() -> str:
    """Who runs the command, as the operating system knows them (the default of --by)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        return ""


def run(config: Config, release_id: int, article: int | None, reason: str | None, by: str | None, yes: bool,
        con: Console) -> int:
    from ..runtime import make_publisher, open_ledger
    from ..withdraw import AlreadyWithdrawn, WithdrawError, describe, target, withdraw

    if not (reason or "").strip():
        con.print("[red]用法错误：请用 --reason \"原因\" 写明为什么撤回（记入台账，供日后查阅）。[/]")
        return EXIT_CONFIG
    who = (by or os_user()).strip()
    if not who:
        con.print("[red]用法错误：无法得知操作人，请用 --by 姓名 写明。[/]")
        return EXIT_CONFIG
    ledger = open_ledger(config)
    try:
        try:
            chosen = target(ledger, config.account.key, release_id, article)
        except AlreadyWithdrawn as exc:
            con.print(escape(exc.message))
            return EXIT_OK
        except WithdrawError as exc:
            con.print(f"[red]{escape(exc.message)}[/]")
            return EXIT_CONFIG
        for line in describe(chosen, config.account.name, local(config, chosen.release.slot)):
            con.print(escape(line))
        if not yes and not click.confirm("确定撤回吗？", default=False):
            con.print("未撤回。")
            return EXIT_OK
        try:
            publisher = make_publisher(config, ledger)
        except ConfigError as exc:
            con.print(f"[red]配置错误：{escape(str(exc))}[/]")
            return EXIT_CONFIG
        try:
            rows = withdraw(ledger, publisher, chosen, who, reason or "")
        except WithdrawError as exc:
            con.print(f"[red]{escape(exc.message)}[/]")
            return EXIT_REMOTE if exc.remote else EXIT_CONFIG
    finally:
        ledger.close()
    con.print(escape(f"已撤回 {len(rows)} 篇，已记入台账（操作人 {who}）。publish log 中这些文章标为“已撤回”。"))
    return EXIT_OK
