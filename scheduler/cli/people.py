"""The web console and its users."""

from __future__ import annotations

import sys

import click

from ..usage import ChineseGroup
from .group import main
from .options import (
    EXIT_CONFIG,
    common_options,
    fail,
    load_all,
    option,
)


@main.command()
@common_options
@click.option("--host", help="监听地址（默认 [serve].host，即 127.0.0.1：只接受本机访问，对外请经 nginx 等反向代理）。")
@click.option("--port", type=click.IntRange(1, 65535), help="监听端口（默认 [serve].port，即 8080）。")
@click.option("--behind-https", is_flag=True, default=None,
              help="经 HTTPS 反向代理访问：会话 Cookie 加 Secure 标记，并信任代理转发的地址（或 [serve].behind_https）。")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, behind_https: bool | None) -> None:
    """网页控制台：各账号总览、推送日历、预览，审核人在浏览器里审核签发。"""
    from ..console.serve import run_console

    configs = load_all(ctx)
    settings = configs[0].serve  # one console for the installation: the shared [serve] table
    sys.exit(run_console(configs, host or settings.host, port or settings.port,
                         settings.behind_https if behind_https is None else behind_https))


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
    from ..config import DEFAULT_CONFIG, ConfigError, load_accounts
    from ..runtime import open_ledger

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
    from ..console import users
    from ..signoff import roles_of

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
    from ..console import users

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
    from ..console import users

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
    from ..console import users

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
