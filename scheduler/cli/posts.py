"""Commands on the posts: check them, plan the coming slots, record a sign-off, start a new one."""

from __future__ import annotations

import sys

import click

from .group import main
from .options import (
    EXIT_CONFIG,
    EXIT_CONTENT,
    common_options,
    console,
    load_all,
    load_settings,
    missing_content,
    when,
)


@main.command()
@common_options
@click.option("--jobs", type=click.IntRange(1, 64), default=None, envvar="TUIWEN_JOBS", show_envvar=True,
              help="用几个进程检查（默认：文章多时每个 CPU 核一个）。")
@click.pass_context
def check(ctx: click.Context, jobs: int | None) -> None:
    """检查所有文章：格式、字段、字数、图片、排版后的长度。有错误时退出码为 1。"""
    from .. import fleet

    configs = load_all(ctx)
    sys.exit(fleet.each(configs, console(), lambda config, con: _check(ctx, config, len(configs) > 1, jobs)))


def _check(ctx: click.Context, config, several: bool, jobs: int | None = None) -> int:
    from ..cache import Cache
    from ..commands import account_warnings
    from ..repository import check_repository

    tag = f"[{config.account.key}] " if several else ""  # every line says whose it is
    if (message := missing_content(config)) is not None:
        click.echo(f"{tag}{message}", err=True)
        return EXIT_CONFIG
    from ..dryrun import with_web_approvals

    at = when(ctx, config)
    config = with_web_approvals(config)  # approvals given in the web console count as the file's do
    result = check_repository(config, cache=Cache.for_config(config), workers=jobs)
    for problem in result.problems:
        click.echo(f"{tag}{problem}")
    for warning in account_warnings(config, at):
        click.echo(f"{tag}config.toml: 警告：{warning}")
    ready = sum(1 for p in result.posts if p.ok and p.status == "ready" and not (p.expires and p.expires <= at))
    expired = sum(1 for p in result.posts if p.ok and p.status == "ready" and p.expires and p.expires <= at)
    click.echo(
        f"{tag}共检查 {len(result.posts)} 篇文章：{result.errors} 个错误，{result.warnings} 个警告；"
        f"{ready} 篇可发布" + (f"（另有 {expired} 篇已过期）" if expired else "") + "。"
    )
    return EXIT_CONTENT if result.errors else 0


@main.command()
@common_options
@click.option("--weeks", type=click.IntRange(1, 52), default=2, show_default=True, help="看今后几周。")
@click.pass_context
def plan(ctx: click.Context, weeks: int) -> None:
    """今后的推送时间，以及每次会带哪些文章（假设期间不再新增文章）。"""
    from .. import commands, fleet

    configs = load_all(ctx)
    several = len(configs) > 1
    def plan_one(config, con) -> int:
        if (message := missing_content(config)) is not None:
            click.echo(message, err=True)
            return EXIT_CONFIG
        commands.plan(config, when(ctx, config), weeks, con, several=several)
        return 0

    sys.exit(fleet.each(configs, console(), plan_one))


@main.command()
@common_options
@click.argument("path")
@click.option("--by", "by", required=True, metavar="姓名", help="审核人姓名。")
@click.option("--role", "role", required=True, metavar="角色",
              help="审核角色：初审、复审、终审（或 [review].roles 中的角色）。")
@click.pass_context
def approve(ctx: click.Context, path: str, by: str, role: str) -> None:
    """记录审核：某人以某角色审核通过了文章 PATH 的当前内容（写入 content/.signoff.toml）。"""
    from .. import commands

    config = load_settings(ctx)
    sys.exit(commands.approve(config, path, by, role, when(ctx, config), console()))


@main.command()
@common_options
@click.argument("category")
@click.argument("title")
@click.pass_context
def new(ctx: click.Context, category: str, title: str) -> None:
    """新建文章：content/<分类>/<今天日期>-<slug>.md，草稿，各字段带说明。"""
    from .. import commands

    config = load_settings(ctx)
    sys.exit(commands.new(config, category, title, when(ctx, config), console()))
