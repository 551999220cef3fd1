"""The ``publish`` command: parse options, load settings, call the core, print.

Heavy modules are imported inside the commands so ``publish --help`` starts fast.
Exit codes: 0 success, 1 content problems, 2 usage or configuration error,
3 WeChat or network failure.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from .usage import ChineseGroup

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
    from .config import DEFAULT_CONFIG, ConfigError, load_accounts

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

    from .posts import parse_when

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

            from .faults import describe

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
    """
    if ctx.invoked_subcommand is not None:
        return
    from . import commands

    if dry_run or preview_to:  # one account: what would go out, or a preview on one phone
        config = load_settings(ctx)
        at = when(ctx, config)
        require_content(config)
        if dry_run:
            commands.dry_run(config, at, out or Path("preview"), console())
        else:
            sys.exit(commands.preview_to(config, at, preview_to or "", console()))
        return
    from . import fleet

    def publish_one(config, con) -> int:
        # Never serve a slot from a folder that is not there: it would go out empty.
        if (message := missing_content(config)) is not None:
            from rich.markup import escape

            con.print(f"[red]{escape(message)}[/]")
            return EXIT_CONFIG
        return commands.publish(config, when(ctx, config), force_slot, con)

    sys.exit(fleet.each(load_all(ctx), console(), publish_one))


@main.command()
@common_options
@click.pass_context
def check(ctx: click.Context) -> None:
    """检查所有文章：格式、字段、字数、图片、排版后的长度。有错误时退出码为 1。"""
    from . import fleet

    configs = load_all(ctx)
    sys.exit(fleet.each(configs, console(), lambda config, con: _check(ctx, config, len(configs) > 1)))


def _check(ctx: click.Context, config, several: bool) -> int:
    from .cache import Cache
    from .checks import check_repository
    from .commands import account_warnings

    tag = f"[{config.account.key}] " if several else ""  # every line says whose it is
    if (message := missing_content(config)) is not None:
        click.echo(f"{tag}{message}", err=True)
        return EXIT_CONFIG
    from .dryrun import with_web_approvals

    at = when(ctx, config)
    config = with_web_approvals(config)  # approvals given in the web console count as the file's do
    result = check_repository(config, cache=Cache.for_config(config))
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
    from . import commands, fleet

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
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True, help="最多显示几次发布。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出（每次发布一个对象，供脚本使用）。")
@click.pass_context
def log(ctx: click.Context, limit: int, as_json: bool) -> None:
    """发布记录：时间、状态（含补发/错过）、文章、链接（或“链接未知”）、撤回、错误。"""
    from . import commands, fleet

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
    from . import commands

    configs = load_all(ctx)
    if len(configs) > 1:  # the city office's view: one row per account
        from .fleet import overview

        sys.exit(overview(configs, lambda config: when(ctx, config), console()))
    config = configs[0]
    commands.status(config, when(ctx, config), console())


@main.command()
@common_options
@click.pass_context
def daemon(ctx: click.Context) -> None:
    """按计划持续运行，直到收到 SIGTERM/SIGINT。"""
    from . import commands

    if option(ctx, "at") is not None:
        fail("用法错误：守护进程按真实时间运行，不接受 --at。要看某个时间会推送什么，"
             '请用 publish --dry-run --at "2024-04-02 09:00"', EXIT_CONFIG)
    configs = load_all(ctx)
    for config in configs:
        require_content(config)
    sys.exit(commands.daemon(configs))


@main.command()
@common_options
@click.argument("path")
@click.option("--by", "by", required=True, metavar="姓名", help="审核人姓名。")
@click.option("--role", "role", required=True, metavar="角色",
              help="审核角色：初审、复审、终审（或 [review].roles 中的角色）。")
@click.pass_context
def approve(ctx: click.Context, path: str, by: str, role: str) -> None:
    """记录审核：某人以某角色审核通过了文章 PATH 的当前内容（写入 content/.signoff.toml）。"""
    from . import commands

    config = load_settings(ctx)
    sys.exit(commands.approve(config, path, by, role, when(ctx, config), console()))


def _date(ctx: click.Context, param: click.Parameter, value: str | None):
    if value is None:
        return None
    from datetime import date

    try:
        return date.fromisoformat(value.strip().replace("/", "-"))
    except ValueError:
        raise click.BadParameter(f"“{value}”不是有效的日期，应写成 2024-04-01") from None


@main.command()
@common_options
@click.option("--from", "start", metavar="DATE", callback=_date, help="起始日期（含），默认本月 1 日。")
@click.option("--to", "end", metavar="DATE", callback=_date, help="结束日期（含），默认今天。")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="另存为 CSV 文件（UTF-8，Excel 可直接打开）。")
@click.pass_context
def report(ctx: click.Context, start, end, csv_path: Path | None) -> None:
    """报表：一段时间内的推送次数、各栏目文章数、标题、作者、审核签发人和时间、检查结果。"""
    from . import commands

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
@click.argument("category")
@click.argument("title")
@click.pass_context
def new(ctx: click.Context, category: str, title: str) -> None:
    """新建文章：content/<分类>/<今天日期>-<slug>.md，草稿，各字段带说明。"""
    from . import commands

    config = load_settings(ctx)
    sys.exit(commands.new(config, category, title, when(ctx, config), console()))


@main.command()
@common_options
@click.option("--from", "start", metavar="DATE", callback=_date, help="起始推送日期（含），默认 30 天前。")
@click.option("--to", "end", metavar="DATE", callback=_date, help="结束推送日期（含），默认昨天。")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="另存为 CSV 文件（UTF-8，Excel 可直接打开）。")
@click.pass_context
def stats(ctx: click.Context, start, end, csv_path: Path | None) -> None:
    """阅读数据：先从微信读取台账里还没有的数据，再列出每篇文章的阅读、分享、在看人数和各账号合计。"""
    from .stats_command import stats as run

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
    from . import commands

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
    from .withdraw_command import run

    sys.exit(run(load_settings(ctx), release_id, article, reason, by, yes, console()))


@main.command()
@common_options
@click.option("--host", help="监听地址（默认 [serve].host，即 127.0.0.1：只接受本机访问，对外请经 nginx 等反向代理）。")
@click.option("--port", type=click.IntRange(1, 65535), help="监听端口（默认 [serve].port，即 8080）。")
@click.option("--behind-https", is_flag=True, default=None,
              help="经 HTTPS 反向代理访问：会话 Cookie 加 Secure 标记，并信任代理转发的地址（或 [serve].behind_https）。")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, behind_https: bool | None) -> None:
    """网页控制台：各账号总览、推送日历、预览，审核人在浏览器里审核签发。"""
    from .console.serve import run_console

    configs = load_all(ctx)
    settings = configs[0].serve  # one console for the installation: the shared [serve] table
    sys.exit(run_console(configs, host or settings.host, port or settings.port,
                         settings.behind_https if behind_https is None else behind_https))


@main.group(cls=ChineseGroup)
def archive() -> None:
    """发布存档：每次确认成功的推送都存一份（[archive].dir），可随时核对有没有被改动。"""


@archive.command("verify")
@common_options
@click.pass_context
def archive_verify(ctx: click.Context) -> None:
    """核对全部存档：文件被改动或缺失时逐个列出，退出码为 1。"""
    from .archive import Verified, verify

    result = Verified()
    for root in dict.fromkeys(config.archive.dir for config in load_all(ctx)):
        verify(root, result)
    for problem in result.problems:
        click.echo(f"存档有问题：{problem}")
    if result.problems:
        fail(f"共 {len(result.problems)} 处问题（已核对 {result.releases} 次推送的存档）：存档在写入后被改动或删除，"
             "请从备份恢复这些文件，并查明是谁改动的。", EXIT_CONTENT)
    click.echo(f"存档完好：已核对 {result.releases} 次推送、{result.files} 个文件，与清单一致。")


@main.group(cls=ChineseGroup)
def user() -> None:
    """网页控制台的用户：添加、列出、停用、重设密码。"""


def _password(from_stdin: bool, prompt: bool = True) -> str | None:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not prompt:
        return None
    return click.prompt("密码", hide_input=True, confirmation_prompt="再输入一次")


def _user_ledger(ctx: click.Context):
    """The ledger that holds console users: the first account's (the top-level [database])."""
    from .config import DEFAULT_CONFIG, ConfigError, load_accounts
    from .runtime import open_ledger

    try:
        configs = load_accounts(option(ctx, "config", DEFAULT_CONFIG))
    except ConfigError as exc:
        fail(f"配置错误：{exc}", EXIT_CONFIG)
    return configs, open_ledger(configs[0])


@user.command("add")
@common_options
@click.argument("name")
@click.option("--role", "role", required=True, metavar="角色",
              help="在该账号的角色：初审、复审、终审（或 [review].roles 中的角色），或 查看（只看不审）。")
@click.option("--password-stdin", is_flag=True, help="从标准输入读一行作为密码（脚本用）；否则提示输入。")
@click.pass_context
def user_add(ctx: click.Context, name: str, role: str, password_stdin: bool) -> None:
    """添加用户 NAME，或给已有用户加一个账号的角色（需 --account KEY）。"""
    from .console import users
    from .signoff import roles_of

    keys = option(ctx, "account") or []
    if len(keys) != 1:
        fail("用法错误：请用 --account KEY 指定一个账号", EXIT_CONFIG)
    configs, ledger = _user_ledger(ctx)
    config = next((c for c in configs if c.account.key == keys[0]), None)
    if config is None:
        fail(f"用法错误：没有键为 {keys[0]} 的账号（config.toml 中有：{'、'.join(c.account.key for c in configs)}）", EXIT_CONFIG)
    allowed = (*roles_of(config), users.VIEWER)
    if role not in allowed:
        fail(f"用法错误：角色“{role}”不可用，可用：{'、'.join(allowed)}", EXIT_CONFIG)
    try:
        exists = users.get(ledger, name.strip()) is not None
        password = _password(password_stdin, prompt=not exists)
        created = users.add(ledger, name, config.account.key, role, password)
    except users.UserError as exc:
        fail(str(exc), EXIT_CONFIG)
    finally:
        ledger.close()
    what = "已添加用户" if created else "已更新用户"
    click.echo(f"{what} {name.strip()}：在账号 {config.account.key} 的角色为 {role}。")


@user.command("list")
@common_options
@click.pass_context
def user_list(ctx: click.Context) -> None:
    """列出控制台用户、各账号角色和状态（不显示密码）。"""
    from .console import users

    _configs, ledger = _user_ledger(ctx)
    try:
        everyone = users.every(ledger)
    finally:
        ledger.close()
    if not everyone:
        click.echo("还没有控制台用户：用 publish user add 姓名 --account 账号 --role 角色 添加。")
    for person in everyone:
        grants = "；".join(f"{key}：{role}" for key, role in person.grants) or "无角色"
        state = "已停用" if person.disabled else "正常"
        click.echo(f"{person.name}\t{state}\t{grants}")


@user.command("disable")
@common_options
@click.argument("name")
@click.pass_context
def user_disable(ctx: click.Context, name: str) -> None:
    """停用用户 NAME：立即不能再登录和审核（已登录的也随即失效）。"""
    from .console import users

    _configs, ledger = _user_ledger(ctx)
    try:
        users.disable(ledger, name)
    except users.UserError as exc:
        fail(str(exc), EXIT_CONFIG)
    finally:
        ledger.close()
    click.echo(f"已停用用户 {name}。")


@user.command("reset")
@common_options
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="从标准输入读一行作为新密码；否则提示输入。")
@click.pass_context
def user_reset(ctx: click.Context, name: str, password_stdin: bool) -> None:
    """重设用户 NAME 的密码，同时解除锁定、重新启用。"""
    from .console import users

    _configs, ledger = _user_ledger(ctx)
    try:
        if users.get(ledger, name) is None:
            fail(f"没有用户 {name}（publish user list 列出全部用户）", EXIT_CONFIG)
        users.reset(ledger, name, _password(password_stdin) or "")
    except users.UserError as exc:
        fail(str(exc), EXIT_CONFIG)
    finally:
        ledger.close()
    click.echo(f"已重设用户 {name} 的密码。")


# Commands kept in modules of their own use the helpers above.  Run as ``python -m scheduler.cli``
# this file is ``__main__``, and those modules import ``scheduler.cli`` proper: only that one registers them.
if __name__ != "__main__":
    from .comments_cli import comments as _comments

    main.add_command(_comments)


def run() -> None:  # pragma: no cover - console entry for `python -m scheduler.cli`
    main(prog_name="publish")


if __name__ == "__main__":  # pragma: no cover
    from scheduler.cli import run as _run  # the module proper, every command registered

    _run()
