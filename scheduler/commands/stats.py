"""``publish stats``: fetch the read figures not held yet, then print them per article and account."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..config import Config, ConfigError
from ..fleet import EXIT_CONFIG, EXIT_OK, EXIT_REMOTE, each, label
from ..stats import Line, StatsError, check_period, fetch, lines, write_csv


def stats(configs: list[Config], start: date | None, end: date | None, csv_path: Path | None,
          at: Callable[[Config], datetime], con: Console) -> int:
    """Every account given: fetch what is missing for the period, print, and write the CSV."""
    today = at(configs[0]).date()
    try:
        start, end = check_period(*_defaults(start, end, today), today)
    except StatsError as exc:
        con.print(f"[red]{escape(str(exc))}[/]")
        return EXIT_CONFIG
    found: list[Line] = []

    def one(config: Config, con: Console) -> int:
        code, rows = _account(config, start, end, at(config).date(), con)
        found.extend(rows)
        return code

    code = each(configs, con, one)
    if csv_path is not None:
        write_csv(found, {c.account.key: c.account.name for c in configs}, csv_path)
        con.print(f"已写出 {csv_path}（{len(found)} 行，UTF-8，可用 Excel 打开）")
    return code


def _defaults(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    """Unless given: to yesterday, from 30 days before (not before WeChat keeps figures)."""
    from datetime import timedelta

    from ..stats import SINCE, WINDOW

    end = end or today - timedelta(days=1)
    return start or max(end - timedelta(days=WINDOW - 1), SINCE), end


def _account(config: Config, start: date, end: date, today: date, con: Console) -> tuple[int, list[Line]]:
    from publishers.base import PublishError

    from ..faults import describe
    from ..runtime import make_publisher
    from .common import existing_ledger

    ledger = existing_ledger(config)
    if ledger is None:
        con.print("还没有台账（尚未推送过），没有阅读数据。")
        return EXIT_OK, []
    code = EXIT_OK
    try:
        done = fetch(config, ledger, lambda: make_publisher(config, ledger), start, end, today)
        if done.days:
            note = "；其中有微信尚未最终统计的数据，明天再看会更准" if done.delayed else ""
            con.print(f"已从微信读取 {len(done.days)} 个推送日的阅读数据{note}。")
    except (ConfigError, PublishError) as exc:
        con.print(f"[yellow]未能从微信读取阅读数据：{escape(describe(exc))}\n下面是台账里已有的数据。[/]")
        code = EXIT_CONFIG if isinstance(exc, ConfigError) else EXIT_REMOTE
    rows = lines(config, ledger, start, end)
    _print(config, rows, start, end, con)
    return code, rows


def _print(config: Config, rows: list[Line], start: date, end: date, con: Console) -> None:
    if not rows:
        con.print(f"{start} 至 {end} 没有推送出去的文章。")
        return
    table = Table("日期", "账号", "位置", "标题", "阅读", "分享", "在看", "截至",
                  title=f"阅读数据（{start} 至 {end}）")

    def cell(n: int | None) -> str:
        return "—" if n is None else str(n)

    for row in rows:
        through = row.through + ("" if row.final or not row.through else "（未最终统计）")
        table.add_row(row.day, config.account.key, str(row.position), escape(row.title),
                      cell(row.reads), cell(row.shares), cell(row.zaikan), through or "尚无数据")
    totals = [sum(getattr(r, name) or 0 for r in rows) for name in ("reads", "shares", "zaikan")]
    table.add_section()
    table.add_row("合计", escape(label(config)), "", f"{len(rows)} 篇", *map(str, totals), "")
    con.print(table)
    if any(r.reads is None for r in rows):
        con.print("[dim]“—”：微信还没有这篇文章的数据（当天推送的文章次日 8 点后才有）。[/]")
