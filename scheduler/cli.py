"""The ``publish`` command: parse options, load settings, call the core, print.

Heavy modules are imported inside the commands so ``publish --help`` starts fast.
Exit codes: 0 success, 1 content problems, 2 usage or configuration error,
3 WeChat or network failure.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable

import click

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


def common_options(command: Callable) -> Callable:
    """``--config`` and ``--at``, accepted before or after the subcommand."""
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


def load_settings(ctx: click.Context):
    """The Config named by --config; a configuration error ends the command with exit 2."""
    from .config import DEFAULT_CONFIG, ConfigError, load_config

    try:
        return load_config(option(ctx, "config", DEFAULT_CONFIG))
    except ConfigError as exc:
        fail(f"配置错误：{exc}", EXIT_CONFIG)


def fail(message: str, code: int) -> None:
    click.echo(message, err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@common_options
@click.version_option(package_name="tuiwen", prog_name="publish", message="%(prog)s (tuiwen) %(version)s")
@click.pass_context
def main(ctx: click.Context) -> None:
    """tuiwen（推文）：按计划把 content/ 里的 Markdown 文章汇总推送到微信公众号。

    \b
    常用：
      publish check        检查所有文章
    """


@main.command()
@common_options
@click.pass_context
def check(ctx: click.Context) -> None:
    """检查所有文章：格式、字段、字数、图片。有错误时退出码为 1。"""
    from .checks import check_repository

    config = load_settings(ctx)
    if not config.content.dir.is_dir():
        fail(f"配置错误：内容目录 {config.content.dir} 不存在（[content].dir）", EXIT_CONFIG)
    result = check_repository(config)
    for problem in result.problems:
        click.echo(str(problem))
    ready = sum(1 for p in result.posts if p.ok and p.status == "ready")
    click.echo(
        f"共检查 {len(result.posts)} 篇文章：{result.errors} 个错误，{result.warnings} 个警告；"
        f"{ready} 篇可发布。"
    )
    if result.errors:
        sys.exit(EXIT_CONTENT)


def run() -> None:  # pragma: no cover - console entry for `python -m scheduler.cli`
    main(prog_name="publish")


if __name__ == "__main__":  # pragma: no cover
    run()
