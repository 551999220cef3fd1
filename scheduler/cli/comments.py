"""``publish comments``: the comments (留言) waiting for an answer, and answering them.

``publish comments`` (or ``comments list``) fetches new comments from WeChat and lists those
without a reply; ``reply ID TEXT``, ``select ID``, ``unselect ID`` and ``delete ID`` act on one
comment by the number the list shows.
"""

from __future__ import annotations

import getpass
import sys

import click

from ..usage import ChineseGroup
from .group import main
from .options import EXIT_CONFIG, EXIT_REMOTE, common_options, console, fail, load_all, when

NEXT_STEPS = ('回复：publish comments reply 编号 "回复内容"；精选：publish comments select 编号；'
              "取消精选：publish comments unselect 编号；删除：publish comments delete 编号")


def _by() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in this environment (a container): say so plainly
        return "命令行"


_BY = click.option("--by", "by", metavar="姓名", default=None, help="记入台账的操作人（默认当前系统用户名）。")


@main.group(cls=ChineseGroup, invoke_without_command=True)
@common_options
@click.option("--all", "show_all", is_flag=True, help="也列出已回复的留言。")
@click.option("--no-fetch", is_flag=True, help="不联网取新留言，只看台账里已有的。")
@click.pass_context
def comments(ctx: click.Context, show_all: bool, no_fetch: bool) -> None:
    """留言：列出待回复的留言；reply 回复、select 精选、unselect 取消精选、delete 删除。"""
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_comments, show_all=show_all, no_fetch=no_fetch)


@comments.command("list")
@common_options
@click.option("--all", "show_all", is_flag=True, help="也列出已回复的留言。")
@click.option("--no-fetch", is_flag=True, help="不联网取新留言，只看台账里已有的。")
@click.pass_context
def list_comments(ctx: click.Context, show_all: bool, no_fetch: bool) -> None:
    """从微信取新留言，列出近期群发文章中待回复的留言（编号、文章、内容、回复期限）。"""
    from .. import fleet

    configs = load_all(ctx)
    sys.exit(fleet.each(configs, console(), lambda config, con: _list(config, con, show_all, no_fetch,
                                                                      when(ctx, config))))


def _list(config, con, show_all: bool, no_fetch: bool, now) -> int:
    from rich.markup import escape
    from rich.table import Table

    from .. import comments as core
    from ..commands import local
    from ..runtime import make_publisher, open_ledger

    ledger = open_ledger(config)
    try:
        code = 0
        if not no_fetch and core.recent_releases(config, ledger, now):
            fetched = core.fetch(config, ledger, make_publisher(config, ledger).client, now)
            for problem in fetched.problems:
                con.print(f"[yellow]取留言未成功：{escape(problem)}[/]")
                code = EXIT_REMOTE
            con.print(f"已从微信读取 {fetched.articles} 篇文章的留言，新留言 {len(fetched.new)} 条。")
        found = core.lines(config, ledger, unanswered=not show_all)
        if not found:
            con.print("没有待回复的留言。" if not show_all else "台账中还没有留言。")
            return code
        table = Table("编号", "推送", "文章", "留言", "留言时间", "回复期限", "精选", "回复",
                      title="留言" if show_all else "待回复的留言")
        for line in found:
            c = line.comment
            due = local(config, line.due)
            table.add_row(str(c.id), local(config, line.slot), f"{line.position}. {escape(line.title)}",
                          escape(c.content), local(config, c.created_at),
                          "—" if c.reply is not None else f"[red]{due}（已超时）[/]" if line.overdue(now) else due,
                          "★" if c.selected else "", escape(c.reply or ""))
        con.print(table)
        con.print(NEXT_STEPS)
        return code
    finally:
        ledger.close()


def _act(ctx: click.Context, comment_id: int, action) -> None:
    """Run ``action(config, ledger, client)`` on the account that holds the comment."""
    from .. import comment_ledger as C
    from ..comments import CommentError
    from ..runtime import make_publisher, open_ledger

    for config in load_all(ctx):
        ledger = open_ledger(config)
        try:
            if C.get(ledger, config.account.key, comment_id) is None:
                continue
            try:
                click.echo(action(config, ledger, make_publisher(config, ledger).client))
            except CommentError as exc:
                fail(str(exc), EXIT_REMOTE if exc.remote else EXIT_CONFIG)
            return
        finally:
            ledger.close()
    fail(f"没有编号为 {comment_id} 的留言；运行 publish comments 查看留言和编号", EXIT_CONFIG)


@comments.command()
@common_options
@click.argument("comment_id", metavar="编号", type=int)
@click.argument("text", metavar="回复内容")
@_BY
@click.pass_context
def reply(ctx: click.Context, comment_id: int, text: str, by: str | None) -> None:
    """回复一条留言（每条留言只能回复一次）。"""
    from .. import comments as core

    def run(config, ledger, client) -> str:
        core.reply(config, ledger, client, comment_id, text, by or _by(), when(ctx, config))
        return f"已回复留言 {comment_id}。回复会显示在文章留言区；运行 publish comments 查看其余待回复的留言。"

    _act(ctx, comment_id, run)


def _selector(selected: bool):
    def command(ctx: click.Context, comment_id: int, by: str | None) -> None:
        from .. import comments as core

        def run(config, ledger, client) -> str:
            core.select(config, ledger, client, comment_id, selected, by or _by())
            return (f"留言 {comment_id} 已设为精选，会显示在文章下方。" if selected
                    else f"留言 {comment_id} 已取消精选，不再显示在文章下方。")

        _act(ctx, comment_id, run)
    return command


comments.command("select", help="把一条留言设为精选（显示在文章下方）。")(
    common_options(click.argument("comment_id", metavar="编号", type=int)(_BY(click.pass_context(_selector(True))))))
comments.command("unselect", help="取消一条留言的精选。")(
    common_options(click.argument("comment_id", metavar="编号", type=int)(_BY(click.pass_context(_selector(False))))))


@comments.command()
@common_options
@click.argument("comment_id", metavar="编号", type=int)
@_BY
@click.option("--yes", is_flag=True, help="不再确认（脚本用）。")
@click.pass_context
def delete(ctx: click.Context, comment_id: int, by: str | None, yes: bool) -> None:
    """删除一条留言（微信上删除后不能恢复；台账保留记录）。"""
    from .. import comments as core

    if not yes and not click.confirm(f"删除留言 {comment_id}？删除后读者看不到，也不能恢复", default=False):
        fail("未删除。", EXIT_CONFIG)

    def run(config, ledger, client) -> str:
        core.delete(config, ledger, client, comment_id, by or _by(), when(ctx, config))
        return f"已删除留言 {comment_id}（台账中保留记录，报表仍计入收到的留言）。"

    _act(ctx, comment_id, run)
