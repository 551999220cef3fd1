"""Publishing: the dry run, a push (cron or by hand), a preview on one phone, settling an unknown send."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .. import states as L  # not ..ledger: SQLAlchemy is slow to import, and most commands never need it
from ..config import Config, ConfigError
from ..states import retryable
from .common import EXIT_CONFIG, EXIT_OK, EXIT_REMOTE, STATUS_ZH, local
from .history import release_table


def dry_run(config: Config, at: datetime, out: Path, con: Console) -> None:
    from ..cache import Cache
    from ..dryrun import dry_run as run
    from ..dryrun import with_web_approvals

    config = with_web_approvals(config)
    result = run(config, at, out, cache=Cache.for_config(config))
    when = {"on_time": "现在到期", "late": "已过推送时间，将补发", "next": "下一次"}[result.state]
    con.print(f"[bold]{escape(config.account.name)}[/] 推送：{local(config, result.slot)}  {when}  [dim]（试运行：不联网、不记台账）[/]")
    if result.bundle.empty:
        con.print("[yellow]没有可发布的文章。[/]")
    else:
        table = Table("序号", "分类", "标题", "排版后字符", "图片", "封面", title="本次推送")
        for i, article in enumerate(result.articles, 1):
            table.add_row(str(i), escape(article.category), escape(article.draft.title), f"{article.rendered.chars:,}",
                          str(len(article.rendered.images)), escape(article.cover_label))
        con.print(table)
    _print_left_out(result.bundle, con)
    if result.index:
        con.print(escape(f"预览：{result.index}    草稿内容：{result.payload}"))


LEFT_OUT_ROWS = 40  # a province keeps years of posts: past this many, the least telling are counted


# Reasons, most worth an editor's attention first, with a short label for the count line.
LEFT_OUT_ORDER = {
    "invalid": "有错误", "not_reviewed": "未审核签发", "no_category": "无分类", "duplicate": "重复",
    "category_cap": "分类已满", "bundle_full": "本次已满", "not_yet": "未到发布时间", "draft": "草稿",
    "expired": "已过期", "published": "已发布",
}


def _print_left_out(bundle, con: Console) -> None:
    from collections import Counter

    if not bundle.left_out:
        return
    shown = list(bundle.left_out)
    if len(shown) > LEFT_OUT_ROWS:  # stable: by path within a reason
        rank = {code: i for i, code in enumerate(LEFT_OUT_ORDER)}
        shown = sorted(shown, key=lambda o: rank.get(o.reason_code, len(rank)))[:LEFT_OUT_ROWS]
    table = Table("文章", "原因", title="未入选", title_style="dim")
    for left in shown:
        table.add_row(escape(left.post.rel), escape(left.message_zh))  # "[review]" is text, not markup
    con.print(table)
    if len(shown) < len(bundle.left_out):
        rest = Counter(o.reason_code for o in bundle.left_out) - Counter(o.reason_code for o in shown)
        order = list(LEFT_OUT_ORDER)
        codes = sorted(rest, key=lambda code: order.index(code) if code in order else len(order))
        counts = "，".join(f"{escape(LEFT_OUT_ORDER.get(code, code))} {rest[code]} 篇" for code in codes)
        con.print(f"[dim]另有 {sum(rest.values())} 篇未列出：{counts}。[/]")


def publish(config: Config, at: datetime, force: bool, con: Console) -> int:
    """Serve the slot due at ``at`` (or an extra one with ``force``); the exit code."""
    from ..daemon import Daemon
    from ..gitcontent import GitError
    from ..runtime import make_releaser, minute, open_ledger

    _quiet_logs()
    ledger = open_ledger(config)
    try:
        releaser = make_releaser(config, ledger, progress=_progress(con), now=lambda: at)
    except ConfigError as exc:
        con.print(f"[red]配置错误：{escape(str(exc))}[/]")  # "[account]" is text, not markup
        return EXIT_CONFIG
    except GitError as exc:  # [content].git = true, but no repository (or no git) to read it from
        con.print(f"[red]{escape(str(exc))}[/]")
        return EXIT_CONFIG
    if force:
        outcomes = [releaser.release(minute(at), forced=True, retry=True)]
    else:
        daemon = Daemon(config, ledger, releaser, now=lambda: at)
        daemon.backoff = False  # a person asked for it now: a failed slot is tried again at once
        report = daemon.reconcile(beat=False)
        for slot in report.missed:
            release = ledger.find(config.account.key, slot)
            why = f"：{escape(release.error)}" if release is not None and release.error else ""
            con.print(f"[yellow]{local(config, slot)} 的推送已记为错过{why}[/]")
        for message in report.errors + report.faults:
            con.print(f"[red]{escape(message)}[/]")
        if report.errors:
            return EXIT_CONFIG
        outcomes = report.resumed + report.released
        if not report.released and not report.resumed and not report.faults:
            _print_nothing_due(config, ledger, at, con, bool(report.missed))
        if report.faults:
            return max([EXIT_REMOTE, *(_print_outcome(config, o, con) for o in outcomes)])
    return max((_print_outcome(config, o, con) for o in outcomes), default=EXIT_OK)


def _quiet_logs() -> None:
    """A command prints what people need itself; the core's log lines (each of which the command
    reports in its own words) are not printed a second time by logging's last-resort handler."""
    if not logging.getLogger().handlers:
        for name in ("scheduler", "publishers"):
            logging.getLogger(name).addHandler(logging.NullHandler())


def _print_nothing_due(config: Config, ledger, at: datetime, con: Console, missed: bool = False) -> None:
    from ..plan import due, next_slots

    current = due(config.schedule.slots, config.account.tz, at, config.schedule.catch_up_hours)
    done = ledger.find(config.account.key, current.slot) if current else None
    if done is None:
        done = _latest_failed(config, ledger, at)
    if done is not None and retryable(done):
        con.print(f"[red]{local(config, done.slot)} 的推送失败：{escape(done.error or '原因未知')}[/]")
        con.print("文章已放回待发。如需现在推送，请运行：publish --force-slot")
    elif done is not None:
        con.print(f"{local(config, done.slot)} 的推送已处理（{STATUS_ZH[done.status]}），不会重复发送。")
    upcoming = next_slots(config.schedule.slots, config.account.tz, at, 1)[0]
    lead = "" if missed else "现在没有到期的推送。"
    con.print(f"{lead}下一次：{local(config, upcoming)}")


def _latest_failed(config: Config, ledger, at: datetime):
    """The latest slot's release, when it failed before its send and is past its catch-up window."""
    latest = ledger.releases(config.account.key, 1)
    if latest and retryable(latest[0]) and latest[0].slot <= at:
        return latest[0]
    return None


def _print_outcome(config: Config, outcome, con: Console) -> int:
    release = outcome.release
    for message in outcome.messages:
        con.print(f"[yellow]{escape(str(message))}[/]")
    if release is None:
        return EXIT_OK
    if outcome.note == "taken":
        con.print(f"{local(config, release.slot)} 的推送已由另一个进程处理（{STATUS_ZH[release.status]}）。")
        return EXIT_OK
    if outcome.note == "already":
        con.print(f"{local(config, release.slot)} 的推送已完成（{STATUS_ZH[release.status]}），不会重复发送。")
        return EXIT_OK
    if outcome.note == "missed":
        con.print(f"[yellow]{local(config, release.slot)} 的推送已记为错过：{escape(release.error or '')}[/]")
        return EXIT_OK
    con.print(release_table(config, [release], title="发布结果"))
    if release.status in (L.FAILED, L.UNCONFIRMED):
        con.print(f"[red]{escape(release.error or STATUS_ZH[release.status])}[/]")
        if release.status == L.UNCONFIRMED:
            con.print(unconfirmed_advice(release))
        elif retryable(release):
            con.print("文章已放回待发。守护进程会在补发时限内自动重试；现在再运行 publish 会立即重试"
                      "（超过补发时限后请用 publish --force-slot 加推一次）。")
        return EXIT_REMOTE
    if release.status in (L.CLAIMED, L.UPLOADED, L.DRAFTED):
        con.print("[red]本次推送没有完成（见上方原因），下次运行 publish 或守护进程会从中断处继续。[/]")
        return EXIT_REMOTE
    return EXIT_OK


def unconfirmed_advice(release) -> str:
    """What a person does about a send whose outcome WeChat has not confirmed."""
    return (f"文章暂不放回待发。请到公众号后台“发表记录”核对：已经发出，运行 publish resolve {release.id} --sent；"
            f"没有发出，运行 publish resolve {release.id} --not-sent（文章放回待发）。")


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

    from ..dryrun import target_slot
    from ..gitcontent import GitError
    from ..runtime import make_releaser, open_ledger

    ledger = open_ledger(config)
    try:
        releaser = make_releaser(config, ledger, progress=_progress(con))
        bundle = releaser.preview(target_slot(config, at)[0], to)
    except ConfigError as exc:
        con.print(f"[red]配置错误：{escape(str(exc))}[/]")  # "[account]" is text, not markup
        return EXIT_CONFIG
    except GitError as exc:
        con.print(f"[red]{escape(str(exc))}[/]")
        return EXIT_CONFIG
    except PublishError as exc:
        con.print(f"[red]{escape(exc.message)}[/]")
        return EXIT_REMOTE
    if bundle.empty:
        con.print("[yellow]没有可发布的文章，未发送预览。[/]")
    else:
        con.print(escape(f"已把 {len(bundle.items)} 篇文章的预览发给 {to}（未记入台账，草稿已删除）。"))
    return EXIT_OK


def resolve(config: Config, release_id: int, sent: bool, con: Console) -> int:
    """A person's word on a send WeChat never confirmed: went out (confirmed) or not (posts freed)."""
    from ..runtime import open_ledger

    ledger = open_ledger(config)
    release = ledger.find_id(config.account.key, release_id)
    if release is None:
        con.print(f"[red]没有编号为 {release_id} 的发布（publish log 可查看编号）。[/]")
        return EXIT_CONFIG
    if release.status != L.UNCONFIRMED:
        con.print(f"[red]发布 {release_id}（{local(config, release.slot)}）的状态是“{STATUS_ZH[release.status]}”，"
                  "不是“结果待确认”，无需核对。[/]")
        return EXIT_CONFIG
    if sent:
        from ..archive import keep

        keep(config, ledger, ledger.advance(release.id, L.CONFIRMED, "经人工核对：已经发出", error=None))
        con.print(f"已记下：{local(config, release.slot)} 的推送已经发出。")
    else:
        from ..archive import discard

        ledger.advance(release.id, L.FAILED, "经人工核对：没有发出，文章放回待发", error="经人工核对：没有发出")
        discard(config, release.id)
        con.print(f"已记下：{local(config, release.slot)} 的推送没有发出，文章已放回待发，会在以后的推送中重新入选。")
    return EXIT_OK
