"""What each ``publish`` command does once its options are parsed: call the core, print with rich."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

from . import ledger as L
from .config import Config, ConfigError

EXIT_OK, EXIT_CONTENT, EXIT_CONFIG, EXIT_REMOTE = 0, 1, 2, 3
WEEKDAYS_ZH = "一二三四五六日"

STATUS_ZH = {
    L.CLAIMED: "已认领", L.UPLOADED: "图片已上传", L.DRAFTED: "草稿已建", L.SENT: "已发送，待确认",
    L.CONFIRMED: "成功", L.FAILED: "失败", L.MISSED: "错过", L.UNCONFIRMED: "结果待确认", L.EMPTY: "无文章",
}


def local(config: Config, moment: datetime) -> str:
    moment = moment.astimezone(config.account.tz)
    return f"{moment:%Y-%m-%d %H:%M}（周{WEEKDAYS_ZH[moment.weekday()]}）"


def category_name(config: Config, key: str | None) -> str:
    category = config.categories.get(key or "")
    return category.name if category else "—"


# --- dry run ------------------------------------------------------------------

def dry_run(config: Config, at: datetime, out: Path, con: Console) -> None:
    from .dryrun import dry_run as run

    result = run(config, at, out)
    when = {"on_time": "现在到期", "late": "已过推送时间，将补发", "next": "下一次"}[result.state]
    con.print(f"[bold]{config.account.name}[/] 推送：{local(config, result.slot)}  {when}  [dim]（试运行：不联网、不记台账）[/]")
    if result.bundle.empty:
        con.print("[yellow]没有可发布的文章。[/]")
    else:
        table = Table("序号", "分类", "标题", "字数", "图片", "封面", title="本次推送")
        for i, article in enumerate(result.articles, 1):
            table.add_row(str(i), article.category, article.draft.title, f"{article.rendered.chars:,}",
                          str(len(article.rendered.images)), article.cover_label)
        con.print(table)
    _print_left_out(result.bundle, con)
    if result.index:
        con.print(f"预览：{result.index}    草稿内容：{result.payload}")


def _print_left_out(bundle, con: Console) -> None:
    if not bundle.left_out:
        return
    table = Table("文章", "原因", title="未入选", title_style="dim")
    for left in bundle.left_out:
        table.add_row(left.post.rel, left.message_zh)
    con.print(table)


# --- publishing ---------------------------------------------------------------

def publish(config: Config, at: datetime, force: bool, con: Console) -> int:
    """Serve the slot due at ``at`` (or an extra one with ``force``); the exit code."""
    from .daemon import Daemon
    from .runtime import make_releaser, minute, open_ledger

    ledger = open_ledger(config)
    try:
        releaser = make_releaser(config, ledger, progress=_progress(con), now=lambda: at)
    except ConfigError as exc:
        con.print(f"[red]配置错误：{exc}[/]")
        return EXIT_CONFIG
    if force:
        outcomes = [releaser.release(minute(at), forced=True)]
    else:
        report = Daemon(config, ledger, releaser, now=lambda: at).reconcile(beat=False)
        for slot in report.missed:
            con.print(f"[yellow]错过的推送 {local(config, slot)} 已超过补发时限，已记录。[/]")
        for error in report.errors:
            con.print(f"[red]{error}[/]")
        if report.errors:
            return EXIT_CONFIG
        outcomes = report.resumed + report.released
        if not report.released and not report.resumed:
            _print_nothing_due(config, ledger, at, con)
    return max((_print_outcome(config, o, con) for o in outcomes), default=EXIT_OK)


def _print_nothing_due(config: Config, ledger, at: datetime, con: Console) -> None:
    from .plan import due, next_slots

    current = due(config.schedule.slots, config.account.tz, at, config.schedule.catch_up_hours)
    done = ledger.find(config.account.name, current.slot) if current else None
    if done is not None:
        con.print(f"{local(config, done.slot)} 的推送已处理（{STATUS_ZH[done.status]}），不会重复发送。")
    upcoming = next_slots(config.schedule.slots, config.account.tz, at, 1)[0]
    con.print(f"现在没有到期的推送。下一次：{local(config, upcoming)}")


def _print_outcome(config: Config, outcome, con: Console) -> int:
    release = outcome.release
    for message in outcome.messages:
        con.print(f"[yellow]{message}[/]")
    if release is None:
        return EXIT_OK
    if outcome.note == "taken":
        con.print(f"{local(config, release.slot)} 的推送已由另一个进程处理（{STATUS_ZH[release.status]}）。")
        return EXIT_OK
    if outcome.note == "already":
        con.print(f"{local(config, release.slot)} 的推送已完成（{STATUS_ZH[release.status]}），不会重复发送。")
        return EXIT_OK
    con.print(_release_table(config, [release], title="发布结果"))
    if release.status in (L.FAILED, L.UNCONFIRMED):
        con.print(f"[red]{release.error or STATUS_ZH[release.status]}[/]")
        return EXIT_REMOTE
    return EXIT_OK


def _progress(con: Console):
    """A rich progress bar for uploads, shown only when there is something to upload."""
    from rich.progress import Progress

    state: dict = {}

    def update(stage: str, done: int, total: int, label: str) -> None:
        if total == 0:
            return
        if "bar" not in state:
            state["bar"] = Progress(console=con, transient=False)
            state["bar"].start()
            state["task"] = state["bar"].add_task("上传图片", total=total)
        state["bar"].update(state["task"], completed=done, description=f"上传图片 {label}")
        if done >= total:
            state.pop("bar").stop()

    return update


def preview_to(config: Config, at: datetime, to: str, con: Console) -> int:
    from publishers.base import PublishError

    from .dryrun import target_slot
    from .runtime import make_releaser, open_ledger

    ledger = open_ledger(config)
    try:
        releaser = make_releaser(config, ledger, progress=_progress(con))
        bundle = releaser.preview(target_slot(config, at)[0], to)
    except ConfigError as exc:
        con.print(f"[red]配置错误：{exc}[/]")
        return EXIT_CONFIG
    except PublishError as exc:
        con.print(f"[red]{exc.message}[/]")
        return EXIT_REMOTE
    if bundle.empty:
        con.print("[yellow]没有可发布的文章，未发送预览。[/]")
    else:
        con.print(f"已把 {len(bundle.items)} 篇文章的预览发给 {to}（未记入台账，草稿已删除）。")
    return EXIT_OK


# --- plan, log, status ----------------------------------------------------------

def plan(config: Config, at: datetime, weeks: int, con: Console) -> None:
    from .checks import check_post
    from .dryrun import read_published
    from .plan import forecast, rules_from_config
    from .posts import load_posts

    posts = load_posts(config)
    for post in posts:
        check_post(post, config)
    count = len(config.schedule.slots) * weeks
    bundles = forecast(posts, read_published(config), config.schedule.slots, config.account.tz, at, count,
                       rules_from_config(config))
    table = Table("推送时间", "文章", title=f"今后 {weeks} 周的推送（按现有文章预测）")
    for bundle in bundles:
        titles = "\n".join(f"{i}. [{category_name(config, p.category)}] {p.title}"
                           for i, p in enumerate(bundle.items, 1)) or "[yellow]（没有可发布的文章）[/]"
        table.add_row(local(config, bundle.slot), titles)
    con.print(table)


def log(config: Config, limit: int, con: Console) -> None:
    ledger = _existing_ledger(config)
    releases = ledger.releases(config.account.name, limit) if ledger else []
    if not releases:
        con.print("还没有发布记录。")
        return
    con.print(_release_table(config, releases, title="发布记录"))


def _release_table(config: Config, releases, title: str) -> Table:
    table = Table("推送时间", "状态", "文章", "提交", "链接 / 错误", title=title)
    for release in releases:
        marks = [m for m, on in (("补发", release.late), ("加推", release.forced)) if on]
        state = STATUS_ZH.get(release.status, release.status) + (f"（{'、'.join(marks)}）" if marks else "")
        titles = "\n".join(f"{i.position}. {i.title}" for i in release.items) or "—"
        links = "\n".join(i.article_url for i in release.items if i.article_url)
        detail = "\n".join(x for x in (links, release.error or "") if x) or "—"
        commit = (release.commit_sha or "")[:10] or "—"
        table.add_row(local(config, release.slot), state, titles, commit, detail)
    return table


def status(config: Config, at: datetime, con: Console) -> None:
    import os

    from .daemon import RECONCILE_MINUTES
    from .plan import next_slots

    ledger = _existing_ledger(config)
    name = config.account.name
    releases = ledger.releases(name, 50) if ledger else []
    pushed = [r for r in releases if r.status in (L.SENT, L.CONFIRMED) and r.slot <= at]
    pending = [r for r in releases if r.status in (L.UNCONFIRMED, L.SENT, L.CLAIMED, L.UPLOADED, L.DRAFTED)]
    upcoming = next_slots(config.schedule.slots, config.account.tz, at, 1)[0]
    beat = ledger.last_beat(name) if ledger else None
    table = Table(show_header=False, title=f"{name} 状态（{local(config, at)}）")
    table.add_row("上次发布", f"{local(config, releases[0].slot)} {STATUS_ZH[releases[0].status]}" if releases else "无")
    if pushed:
        days = (at - pushed[0].slot).total_seconds() / 86400
        table.add_row("上次成功推送", f"{local(config, pushed[0].slot)}，{days:.0f} 天前")
    else:
        table.add_row("上次成功推送", "无")
    table.add_row("下次推送", local(config, upcoming))
    if beat is None:
        table.add_row("守护进程", "[yellow]未运行[/]")
    else:
        alive = at - beat <= timedelta(minutes=2 * RECONCILE_MINUTES + 1)
        table.add_row("守护进程", ("运行中" if alive else "[red]无响应[/]") + f"，最后心跳 {local(config, beat)}")
    table.add_row("待确认的发布", "\n".join(f"{local(config, r.slot)} {STATUS_ZH[r.status]}" for r in pending) or "无")
    env = [config.account.app_id_env, config.account.app_secret_env]
    missing = [e for e in env if not os.environ.get(e)]
    table.add_row("微信凭据", f"[red]环境变量 {'、'.join(missing)} 未设置[/]" if missing else "环境变量已设置")
    con.print(table)


def _existing_ledger(config: Config):
    """The ledger, or None where there is none yet (status and log never create one)."""
    url = config.database.url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return None
    from .runtime import open_ledger

    return open_ledger(config)


# --- daemon ---------------------------------------------------------------------

def daemon(config: Config) -> int:
    from .daemon import Daemon
    from .runtime import make_releaser, open_ledger

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ledger = open_ledger(config)
    try:
        releaser = make_releaser(config, ledger)
    except ConfigError as exc:
        logging.getLogger(__name__).error("配置错误：%s", exc)
        return EXIT_CONFIG
    Daemon(config, ledger, releaser).run()
    return EXIT_OK
