"""The editors' side: the plan of the coming slots, a sign-off, a new post."""

from __future__ import annotations

from datetime import datetime

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..config import Config
from .common import EXIT_CONFIG, EXIT_OK, category_name, local, print_account_warnings


def plan(config: Config, at: datetime, weeks: int, con: Console, *, several: bool = False) -> None:
    from ..bulk import read_checked
    from ..cache import Cache
    from ..dryrun import read_published, with_web_approvals
    from ..plan import forecast, rules_from_config

    config = with_web_approvals(config)
    posts = read_checked(config, render=False, cache=Cache.for_config(config))
    count = len(config.schedule.slots) * weeks
    bundles = forecast(posts, read_published(config), config.schedule.slots, config.account.tz, at, count,
                       rules_from_config(config))
    account = [config.account.key] if several else []  # several accounts: every row says whose
    table = Table(*(["账号"] if several else []), "推送时间", "文章",
                  title=f"{escape(config.account.name)} 今后 {weeks} 周的推送（按现有文章预测）")
    for bundle in bundles:
        titles = "\n".join(escape(f"{i}. [{category_name(config, p.category)}] {p.title}")
                           for i, p in enumerate(bundle.items, 1)) or "[yellow]（没有可发布的文章）[/]"
        table.add_row(*account, local(config, bundle.slot), titles)
    con.print(table)
    print_account_warnings(config, at, con)


def approve(config: Config, path: str, by: str, role: str, at: datetime, con: Console) -> int:
    from ..signoff import SignoffError, describe
    from ..signoff import approve as record

    try:
        post, approval, state = record(config, path, by, role, at)
    except SignoffError as exc:
        con.print(f"[red]{escape(str(exc))}[/]")
        return EXIT_CONFIG
    con.print(escape(f"已记录：{approval.role} {approval.by} 审核通过 {post.rel}（内容指纹 {approval.sha256[:12]}…，"
                     f"{local(config, approval.at)}），写入 content/.signoff.toml，请随文章一起提交。"))
    if post.status != "ready":
        con.print("[yellow]注意：这篇文章还是草稿（status 不是 ready）。改为 ready 会改动文件，本次审核随之失效；"
                  "请先改为 ready 再审核。[/]")
    if config.review.roles:
        con.print("审核签发已完成，可以发布。" if state.complete else f"[yellow]{escape(describe(state, config))}[/]")
    return EXIT_OK


def new(config: Config, category: str, title: str, at: datetime, con: Console) -> int:
    from ..newpost import NewPostError, new_post

    try:
        path, warnings = new_post(config, category, title, at)
    except NewPostError as exc:
        con.print(f"[red]{escape(str(exc))}[/]")
        return EXIT_CONFIG
    con.print(escape(f"已创建 {path.relative_to(config.root) if path.is_relative_to(config.root) else path}（草稿）"))
    for warning in warnings:
        con.print(f"[yellow]{escape(warning)}[/]")
    return EXIT_OK
