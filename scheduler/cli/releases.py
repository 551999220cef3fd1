"""Commands on the releases: the log, status, the daemon, reports and read figures, and what
follows a push (settling an unknown send, withdrawing, the archive)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..usage import ChineseGroup
from .group import main
from .options import (
    EXIT_CONFIG,
    EXIT_CONTENT,
    common_options,
    console,
    fail,
    load_all,
    load_settings,
    option,
    period_options,
    require_content,
    when,
)


@main.command()
@common_options
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True, help="最多显示几次发布。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出（每次发布一个对象，供脚本使用）。")
@click.pass_context
def log(ctx: click.Context, limit: int, as_json: bool) -> None:
    """发布记录：时间、状态（含补发/错过）、文章、链接（或“链接未知”）、撤回、错误。"""
    from .. import commands, fleet

    configs = load_all(ctx)
    if as_json:
        sys.exit(commands.log_json(configs, limit))
    several = len(configs) > 1
    sys.exit(fleet.each(configs, console(), lambda config, con: commands.log(config, limit, con, several=several)))


@main.command()
@common_options
@click.pass_context
def status(ctx: click.Context) -> None:
    """上次推送、下次推送、距上次成功推送的天数、守护进程心跳、待确认的发布。"""
    from .. import commands

    configs = load_all(ctx)
    if len(configs) > 1:  # the city office's view: one row per account
        from ..fleet import overview

        sys.exit(overview(configs, lambda config: when(ctx, config), console()))
    config = configs[0]
    commands.status(config, when(ctx, config), console())


@main.command()
@common_options
@click.pass_context
def daemon(ctx: click.Context) -> None:
    """按计划持续运行，直到收到 SIGTERM/SIGINT。"""
    from .. import commands

    if option(ctx, "at") is not None:
        fail("用法错误：守护进程按真实时间运行，不接受 --at。要看某个时间会推送什么，"
             '请用 publish --dry-run --at "2024-04-02 09:00"', EXIT_CONFIG)
    configs = load_all(ctx)
    for config in configs:
        require_content(config)
    sys.exit(commands.daemon(configs))


@main.command()
@common_options
@period_options("起始日期（含），默认本月 1 日。", "结束日期（含），默认今天。")
@click.pass_context
def report(ctx: click.Context, start, end, csv_path: Path | None) -> None:
    """报表：一段时间内的推送次数、各栏目文章数、标题、作者、审核签发人和时间、检查结果。"""
    from .. import commands

    configs = load_all(ctx)
    today = when(ctx, configs[0]).date()
    end = end or today
    start = start or end.replace(day=1)
    if start > end:
        fail(f"用法错误：--from {start} 晚于 --to {end}", EXIT_CONFIG)
    if len(configs) > 1:
        sys.exit(commands.report_accounts(configs, start, end, csv_path, console()))
    sys.exit(commands.report(configs[0], start, end, csv_path, console()))


@main.command()
@common_options
@period_options("起始推送日期（含），默认 30 天前。", "结束推送日期（含），默认昨天。")
@click.pass_context
def stats(ctx: click.Context, start, end, csv_path: Path | None) -> None:
    """阅读数据：先从微信读取台账里还没有的数据，再列出每篇文章的阅读、分享、在看人数和各账号合计。"""
    from ..commands.stats import stats as run

    configs = load_all(ctx)
    sys.exit(run(configs, start, end, csv_path, lambda config: when(ctx, config), console()))


@main.command()
@common_options
@click.argument("release_id", type=int)
@click.option("--sent", "sent", flag_value=True, default=None, help="核对后确认：已经发出。")
@click.option("--not-sent", "sent", flag_value=False, help="核对后确认：没有发出（文章放回待发）。")
@click.pass_context
def resolve(ctx: click.Context, release_id: int, sent: bool | None) -> None:
    """结果未知的推送，由人到公众号后台“发表记录”核对后在这里记下结果。"""
    from .. import commands

    if sent is None:
        fail("用法错误：请写明核对结果：--sent（已发出）或 --not-sent（未发出）", EXIT_CONFIG)
    config = load_settings(ctx)
    sys.exit(commands.resolve(config, release_id, bool(sent), console()))


@main.command()
@common_options
@click.argument("release_id", type=int)
@click.option("--article", "article", type=click.IntRange(1), default=None, metavar="N",
              help="只撤回第 N 篇（从 1 数起）；不写则撤回整次推送。")
@click.option("--reason", "reason", default=None, metavar="原因", help="撤回原因（必填，记入台账）。")
@click.option("--by", "by", default=None, metavar="姓名", help="操作人（默认为当前系统用户）。")
@click.option("--yes", is_flag=True, help="不再询问，直接撤回（脚本用）。")
@click.pass_context
def withdraw(ctx: click.Context, release_id: int, article: int | None, reason: str | None, by: str | None,
             yes: bool) -> None:
    """撤回已推送的文章：删除群发（或发布）中的一篇或整次推送，并记下操作人、时间和原因。"""
    from ..commands.withdraw import run

    sys.exit(run(load_settings(ctx), release_id, article, reason, by, yes, console()))


@main.group(cls=ChineseGroup)
def archive() -> None:
    """发布存档：每次确认成功的推送都存一份（[archive].dir），可随时核对有没有被改动。"""


@archive.command("verify")
@common_options
@click.pass_context
def archive_verify(ctx: click.Context) -> None:
    """核对全部存档：文件被改动或缺失时逐个列出，退出码为 1。"""
    from ..archive import Verified, verify

    result = Verified()
    for root in dict.fromkeys(config.archive.dir for config in load_all(ctx)):
        verify(root, result)
    for problem in result.problems:
        click.echo(f"存档有问题：{problem}")
    if result.problems:
        fail(f"共 {len(result.problems)} 处问题（已核对 {result.releases} 次推送的存档）：存档在写入后被改动或删除，"
             "请从备份恢复这些文件，并查明是谁改动的。", EXIT_CONTENT)
    click.echo(f"存档完好：已核对 {result.releases} 次推送、{result.files} 个文件，与清单一致。")
