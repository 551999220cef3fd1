"""What every ``publish`` command shares: the options accepted on either side of the
subcommand, loading the accounts they name, exit codes, and the console to print on."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    import datetime

EXIT_CONTENT = 1
EXIT_CONFIG = 2
EXIT_REMOTE = 3

_META = "tuiwen.options"


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    # ctx.meta is shared by the group and its subcommands, so an option given on
    # either side of the subcommand lands in the same place (the later one wins).
    if value is not None:
        ctx.meta.setdefault(_META, {})[param.name] = value
    return value


def _remember_accounts(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    # Repeatable, and given on either side of the subcommand: the keys add up.
    if value:
        keys = ctx.meta.setdefault(_META, {}).setdefault("account", [])
        keys.extend(key for key in value if key not in keys)
    return value


def common_options(command: Callable) -> Callable:
    """``--config``, ``--at`` and ``--account``, accepted before or after the subcommand."""
    command = click.option(
        "--account", "account", metavar="KEY", multiple=True, expose_value=False, callback=_remember_accounts,
        is_eager=True, help="只处理这个账号（按 config.toml 中的键，可重复）；默认全部账号。",
    )(command)
    command = click.option(
        "--at", "at", metavar="TIME", default=None, expose_value=False, callback=_remember, is_eager=True,
        help='按此时间（账号时区）计算，例如 "2024-04-02 09:00"。',
    )(command)
    command = click.option(
        "--config", "config", metavar="PATH", default=None, expose_value=False, callback=_remember, is_eager=True,
        help="配置文件路径（默认 ./config.toml）。",
    )(command)
    return command


def option(ctx: click.Context, name: str, default: Any = None) -> Any:
    return ctx.meta.get(_META, {}).get(name, default)


def load_all(ctx: click.Context) -> list:
    """The Configs of the accounts named by --account (all of them without it); exit 2 on an error."""
    from ..config import DEFAULT_CONFIG, ConfigError, load_accounts

    try:
        configs = load_accounts(option(ctx, "config", DEFAULT_CONFIG))
    except ConfigError as exc:
        fail(f"配置错误：{exc}", EXIT_CONFIG)
    wanted = option(ctx, "account") or []
    by_key = {c.account.key: c for c in configs}
    unknown = [key for key in wanted if key not in by_key]
    if unknown:
        fail(f"用法错误：没有键为 {unknown[0]} 的账号（config.toml 中有：{'、'.join(by_key)}）", EXIT_CONFIG)
    return [by_key[key] for key in wanted] if wanted else configs


def load_settings(ctx: click.Context):
    """The Config of the one account a command works on; a configuration error ends it with exit 2."""
    configs = load_all(ctx)
    if len(configs) > 1:
        keys = "、".join(c.account.key for c in configs)
        fail(f"用法错误：这个命令一次只处理一个账号，请用 --account 指定（可用：{keys}）", EXIT_CONFIG)
    return configs[0]


def missing_content(config) -> str | None:
    """Why the account's posts cannot be read (its content folder is not there), or None."""
    if config.content.dir.is_dir():
        return None
    return f"配置错误：内容目录 {config.content.dir} 不存在，请检查 [content].dir 或先克隆内容仓库"


def require_content(config) -> None:
    """A missing content folder is a configuration error (exit 2), for every command that reads posts."""
    if (message := missing_content(config)) is not None:
        fail(message, EXIT_CONFIG)


def fail(message: str, code: int) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(code)


def when(ctx: click.Context, config) -> datetime.datetime:
    """--at in the account timezone, else now."""
    from datetime import datetime

    from ..posts import parse_when

    text = option(ctx, "at")
    if text is None:
        return datetime.now(config.account.tz)
    try:
        return parse_when(text, config.account.tz)
    except ValueError:
        fail(f'用法错误：--at "{text}" 不是有效的时间，应写成 "2024-04-02 09:00"', EXIT_CONFIG)


def console():
    from rich.console import Console

    plain = Console(highlight=False)
    # Piped or captured output (logs, CI): wide enough that Chinese titles are not folded.
    return plain if plain.is_terminal else Console(highlight=False, width=160)


def date_value(ctx: click.Context, param: click.Parameter, value: str | None):
    if value is None:
        return None
    from datetime import date

    try:
        return date.fromisoformat(value.strip().replace("/", "-"))
    except ValueError:
        raise click.BadParameter(f"“{value}”不是有效的日期，应写成 2024-04-01") from None


def period_options(start_help: str, end_help: str) -> Callable[[Callable], Callable]:
    """``--from``, ``--to`` and ``--csv``: the period and the spreadsheet of a report-like command."""
    from pathlib import Path

    def decorate(command: Callable) -> Callable:
        command = click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
                               help="另存为 CSV 文件（UTF-8，Excel 可直接打开）。")(command)
        command = click.option("--to", "end", metavar="DATE", callback=date_value, help=end_help)(command)
        return click.option("--from", "start", metavar="DATE", callback=date_value, help=start_help)(command)

    return decorate
