"""The ``publish`` group: without a subcommand it publishes the slot that is due."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ..usage import ChineseGroup
from .options import (
    EXIT_CONFIG,
    EXIT_REMOTE,
    common_options,
    console,
    fail,
    load_all,
    load_settings,
    missing_content,
    require_content,
    when,
)


class PublishGroup(ChineseGroup):
    """The command group; a fault outside the content ends any command with one Chinese line.

    A database gone away, a full disk or an error from WeChat is exit 3 with what failed and
    what to do, never a traceback (``TUIWEN_DEBUG=1`` shows it, for whoever fixes the bug).
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:
            import os

            from ..faults import describe

            if os.environ.get("TUIWEN_DEBUG"):
                raise
            fail(f"出错了：{describe(exc)}。", EXIT_REMOTE)


@click.group(cls=PublishGroup, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@common_options
@click.option("--dry-run", is_flag=True, help="只选文章和排版、写预览，不联网、不记台账。")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="--dry-run 的预览目录（默认 preview/）。")
@click.option("--force-slot", is_flag=True, help="计划外加推一次：以 --at 或现在为推送时间。")
@click.option("--preview-to", metavar="OPENID_OR_WXID", default=None,
              help="把本次推送发到一个人的手机上预览（不记台账，草稿随后删除）。")
@click.version_option(package_name="tuiwen", prog_name="publish", message="%(prog)s (tuiwen) %(version)s")
@click.pass_context
def main(ctx: click.Context, dry_run: bool, out: Path | None, force_slot: bool, preview_to: str | None) -> None:
    """tuiwen（推文）：按计划把 content/ 里的 Markdown 文章汇总推送到微信公众号。

    \b
    不带子命令时，发布当前到期的推送（记入台账）。
    常用：
      publish --dry-run    看下一次推送会发什么（不联网）
      publish check        检查所有文章
      publish plan         今后几次推送的安排
      publish log          发布记录
      publish status       上次推送、下次推送、守护进程状态
      publish daemon       按计划持续运行
      publish new          新建文章（草稿）
      publish approve      记录审核签发（初审、复审、终审）
      publish report       一段时间的推送报表（可导出 CSV）
      publish stats        文章阅读数据（阅读、分享、在看）
      publish comments     读者留言：列出待回复的，回复、精选、删除
      publish withdraw     撤回已推送的文章
      publish serve        网页控制台（总览、日历、预览、在浏览器里审核）
    """
    if ctx.invoked_subcommand is not None:
        return
    from .. import commands

    if dry_run or preview_to:  # one account: what would go out, or a preview on one phone
        config = load_settings(ctx)
        at = when(ctx, config)
        require_content(config)
        if dry_run:
            commands.dry_run(config, at, out or Path("preview"), console())
        else:
            sys.exit(commands.preview_to(config, at, preview_to or "", console()))
        return
    from .. import fleet

    def publish_one(config, con) -> int:
        # Never serve a slot from a folder that is not there: it would go out empty.
        if (message := missing_content(config)) is not None:
            from rich.markup import escape

            con.print(f"[red]{escape(message)}[/]")
            return EXIT_CONFIG
        return commands.publish(config, when(ctx, config), force_slot, con)

    sys.exit(fleet.each(load_all(ctx), console(), publish_one))
