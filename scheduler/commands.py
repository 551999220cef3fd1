"""What each ``publish`` command does once its options are parsed: call the core, print with rich."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from . import states as L  # not .ledger: SQLAlchemy is slow to import, and most commands never need it
from .config import Config, ConfigError
from .states import retryable

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


def account_warnings(config: Config, at: datetime) -> list[str]:
    """What the account's kind makes of its schedule, for check, plan and status."""
    from .plan import SERVICE_MASS_SENDS_PER_MONTH, busiest_month

    if config.account.type != "service" or config.account.mode != "mass_send":
        return []
    month, count = busiest_month(config.schedule.slots, config.account.tz, at)
    if count <= SERVICE_MASS_SENDS_PER_MONTH:
        return []
    return [f"服务号每位粉丝每月最多收到 {SERVICE_MASS_SENDS_PER_MONTH} 次群发，而 [schedule].slots 在{month}有 "
            f"{count} 次推送：超出的群发会被微信拒绝（45028）。请减少推送时间，或改用 [account].mode = \"publish\"。"]


def print_account_warnings(config: Config, at: datetime, con: Console) -> None:
    for warning in account_warnings(config, at):
        con.print(f"[yellow]警告：{escape(warning)}[/]")


# --- dry run ------------------------------------------------------------------

def dry_run(config: Config, at: datetime, out: Path, con: Console) -> None:
    from .cache import Cache
    from .dryrun import dry_run as run
    from .dryrun import with_web_approvals

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


# --- publishing ---------------------------------------------------------------

def publish(config: Config, at: datetime, force: bool, con: Console) -> int:
    """Serve the slot due at ``at`` (or an extra one with ``force``); the exit code."""
    from .daemon import Daemon
    from .gitcontent import GitError
    from .runtime import make_releaser, minute, open_ledger

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
    from .plan import due, next_slots

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
    con.print(_release_table(config, [release], title="发布结果"))
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

    from .dryrun import target_slot
    from .gitcontent import GitError
    from .runtime import make_releaser, open_ledger

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


# --- plan, log, status ----------------------------------------------------------

def plan(config: Config, at: datetime, weeks: int, con: Console, *, several: bool = False) -> None:
    from .bulk import read_checked
    from .cache import Cache
    from .dryrun import read_published, with_web_approvals
    from .plan import forecast, rules_from_config

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


def log(config: Config, limit: int, con: Console, *, several: bool = False) -> None:
    from .withdraw import withdrawn

    ledger = _existing_ledger(config)
    if ledger:
        from .wechat_events import settle

        settle(ledger, config.account.key)  # links WeChat pushed before the release knew its msg_id
    releases = ledger.releases(config.account.key, limit) if ledger else []
    if not releases:
        con.print(f"{escape(config.account.name)}还没有发布记录。" if several else "还没有发布记录。")
        return
    taken = withdrawn(ledger, config.account.key, [r.id for r in releases])
    con.print(_release_table(config, releases, title="发布记录", several=several, withdrawn=taken))


def log_json(configs: list[Config], limit: int) -> int:
    """``publish log --json``: every account's latest releases in one JSON list."""
    import json

    from .release_log import releases_data

    data = [row for config in configs for row in releases_data(config, _existing_ledger(config), limit)]
    print(json.dumps(data, ensure_ascii=False, indent=2))
    return EXIT_OK


def _release_table(config: Config, releases, title: str, *, several: bool = False,
                   withdrawn: dict | None = None) -> Table:
    account = [config.account.key] if several else []  # several accounts: every row says whose
    table = Table(*(["账号"] if several else []), "编号", "推送时间", "状态", "文章", "提交", "链接 / 错误",
                  title=f"{escape(config.account.name)} {title}" if several else title)
    taken = withdrawn or {}
    for release in releases:
        marks = [m for m, on in (("补发", release.late), ("加推", release.forced)) if on]
        state = STATUS_ZH.get(release.status, release.status) + (f"（{'、'.join(marks)}）" if marks else "")
        gone = {i.position for i in release.items if (release.id, i.position) in taken}
        titles = escape("\n".join(f"{i.position}. {i.title}" + ("（已撤回）" if i.position in gone else "")
                                  for i in release.items) or "—")
        links = "\n".join(x for i in release.items if (x := _link(release, i, i.position in gone)))
        detail = escape("\n".join(x for x in (links, release.error or "") if x) or "—")
        commit = (release.commit_sha or "")[:10] or "—"
        table.add_row(*account, str(release.id), local(config, release.slot), state, titles, commit, detail)
    return table


def _link(release, item, gone: bool) -> str:
    """An article's line in the links column: its URL, 链接未知 once it went out, 已撤回 after a withdrawal."""
    if gone:
        return f"{item.position}. 已撤回" + (f" {item.article_url}" if item.article_url else "")
    if item.article_url:
        return item.article_url
    return f"{item.position}. 链接未知" if release.status in (L.SENT, L.CONFIRMED) else ""


def status(config: Config, at: datetime, con: Console) -> None:
    from .plan import next_slots
    from .states import RECONCILE_MINUTES

    ledger = _reader(config)
    name = config.account.name
    releases = ledger.releases(config.account.key, 50) if ledger else []
    pushed = [r for r in releases if r.status in (L.SENT, L.CONFIRMED) and r.slot <= at]
    pending = [r for r in releases if r.status in (L.UNCONFIRMED, L.SENT, L.CLAIMED, L.UPLOADED, L.DRAFTED)]
    upcoming = next_slots(config.schedule.slots, config.account.tz, at, 1)[0]
    beat = ledger.last_beat(config.account.key) if ledger else None
    table = Table(show_header=False, title=escape(f"{name} 状态（{local(config, at)}）"))
    table.add_row("上次发布", f"{local(config, releases[0].slot)} {STATUS_ZH[releases[0].status]}" if releases else "无")
    if releases and releases[0].status in (L.FAILED, L.MISSED, L.UNCONFIRMED) and releases[0].error:
        label = {L.FAILED: "上次推送失败", L.MISSED: "上次推送错过", L.UNCONFIRMED: "结果待确认"}[releases[0].status]
        table.add_row(label, f"[red]{escape(releases[0].error)}[/]")
    if pushed:
        days = (at - pushed[0].slot).total_seconds() / 86400
        table.add_row("上次成功推送", f"{local(config, pushed[0].slot)}，{days:.0f} 天前")
    else:
        table.add_row("上次成功推送", "无")
    table.add_row("更新提醒", _freshness_line(config, ledger, at))
    table.add_row("下次推送", local(config, upcoming))
    if beat is None:
        table.add_row("守护进程", "[yellow]未运行[/]")
    else:
        alive = at - beat <= timedelta(minutes=2 * RECONCILE_MINUTES + 1)
        table.add_row("守护进程", ("运行中" if alive else "[red]无响应[/]") + f"，最后心跳 {local(config, beat)}")
    table.add_row("待确认的发布", "\n".join(f"{local(config, r.slot)} {STATUS_ZH[r.status]}" for r in pending) or "无")
    if taken := _withdrawals(config, ledger):
        table.add_row("最近撤回", taken)
    try:
        config.credentials()  # the environment, or a secret file (refused when others can read it)
        table.add_row("微信凭据", "已设置" if config.account.app_secret_file else "环境变量已设置")
    except ConfigError as exc:
        table.add_row("微信凭据", f"[red]{escape(str(exc))}[/]")
    con.print(table)
    print_account_warnings(config, at, con)


def _withdrawals(config: Config, ledger) -> str:
    """The latest articles taken down (publish withdraw), one line each; "" when none."""
    from .ledger_view import SQLiteView

    if ledger is None:
        return ""
    if isinstance(ledger, SQLiteView):
        rows = ledger.withdrawals(config.account.key, 3) or []
    else:
        from .withdraw import recent

        rows = recent(ledger, config.account.key, 3)
    return "\n".join(escape(f"发布 {r.release_id} 第 {r.position} 篇《{r.title}》已撤回（{r.by}，"
                               f"{local(config, r.at)}，原因：{r.reason}）") for r in rows)


def _freshness_line(config: Config, ledger, at: datetime) -> str:
    from .freshness import freshness

    fresh = freshness(config, ledger, at)
    colour = "red" if fresh.failing else "yellow" if fresh.level or fresh.days is None else ""
    return f"[{colour}]{fresh.message()}[/]" if colour else fresh.message()


# --- sign-off, report, new post (government-account duties) ------------------------

def approve(config: Config, path: str, by: str, role: str, at: datetime, con: Console) -> int:
    from .signoff import SignoffError, describe
    from .signoff import approve as record

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


def report(config: Config, start, end, csv_path: Path | None, con: Console) -> int:
    from .report import build, summary, write_csv

    result = build(config, _existing_ledger(config), start, end)
    con.print(escape(summary(result)))
    _print_report(config, result, con)
    if csv_path is not None:
        write_csv(result, config, csv_path)
        con.print(f"已写出 {csv_path}（{len(result.rows)} 行，UTF-8，可用 Excel 打开）")
    return EXIT_OK


def _print_report(config: Config, result, con: Console, *, several: bool = False) -> None:
    account = [config.account.key] if several else []  # several accounts: every row says whose
    head = ["账号"] if several else []
    if result.rows:
        counts = Table(*head, "分类", "篇数", title="各栏目文章数")
        for name, n in result.per_category():
            counts.add_row(*account, escape(name), str(n))
        con.print(counts)
        table = Table(*head, "推送时间", "位置", "分类", "标题", "作者", "审核", "签发", "检查结果", "阅读",
                      "留言/已回/按时", title="推送文章")
        for row in result.rows:
            title = ("（已撤回）" if row.withdrawn else "") + row.title  # first: a narrow column folds the end
            cells = (row.category, title, row.author, row.reviewed_by or "—", row.approved_by or "—", row.check)
            table.add_row(*account, local(config, row.slot), str(row.position), *map(escape, cells),
                          "—" if row.reads is None else str(row.reads), f"{row.comments}/{row.answered}/{row.in_time}")
        con.print(table)
    if result.not_out:
        table = Table(*head, "推送时间", "状态", "原因", title="未成功的推送", title_style="dim")
        for slot, state, error in result.not_out:
            table.add_row(*account, local(config, slot), STATUS_ZH.get(state, state), escape(error or "—"))
        con.print(table)


def report_accounts(configs: list[Config], start, end, csv_path: Path | None, con: Console) -> int:
    """The report of every account: each grouped under its name, one summary line per account,
    and one CSV whose first column names the account."""
    from .fleet import each, label
    from .report import build, summary, write_csv_accounts

    built = []

    def one(config: Config, con: Console) -> int:
        result = build(config, _existing_ledger(config), start, end)
        built.append((config, result))
        _print_report(config, result, con, several=True)
        return EXIT_OK

    code = each(configs, con, one)
    for config, result in built:
        con.print(escape(f"{label(config)}：{summary(result)}"))
    if csv_path is not None:
        write_csv_accounts(built, csv_path)
        rows = sum(len(result.rows) for _, result in built)
        con.print(f"已写出 {csv_path}（{len(built)} 个账号，{rows} 行，UTF-8，可用 Excel 打开）")
    return code


def new(config: Config, category: str, title: str, at: datetime, con: Console) -> int:
    from .newpost import NewPostError, new_post

    try:
        path, warnings = new_post(config, category, title, at)
    except NewPostError as exc:
        con.print(f"[red]{escape(str(exc))}[/]")
        return EXIT_CONFIG
    con.print(escape(f"已创建 {path.relative_to(config.root) if path.is_relative_to(config.root) else path}（草稿）"))
    for warning in warnings:
        con.print(f"[yellow]{escape(warning)}[/]")
    return EXIT_OK


def _reader(config: Config):
    """Something to read releases and heartbeats from: a plain SQLite view when it can answer
    (``status`` must start fast, and SQLAlchemy alone takes most of that), else the ledger."""
    from .ledger_view import SQLiteView

    view = SQLiteView.open(config.database.url)
    if view is not None and view.knows(config.account.key) and view.releases(config.account.key, 1) is not None:
        return view
    return _existing_ledger(config)


def _existing_ledger(config: Config):
    """The ledger, or None where there is none yet (status and log never create one)."""
    from .ledger_view import not_created
    from .runtime import open_ledger

    if not_created(config.database.url):
        return None

    return open_ledger(config)


def resolve(config: Config, release_id: int, sent: bool, con: Console) -> int:
    """A person's word on a send WeChat never confirmed: went out (confirmed) or not (posts freed)."""
    from .runtime import open_ledger

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
        from .archive import keep

        keep(config, ledger, ledger.advance(release.id, L.CONFIRMED, "经人工核对：已经发出", error=None))
        con.print(f"已记下：{local(config, release.slot)} 的推送已经发出。")
    else:
        from .archive import discard

        ledger.advance(release.id, L.FAILED, "经人工核对：没有发出，文章放回待发", error="经人工核对：没有发出")
        discard(config, release.id)
        con.print(f"已记下：{local(config, release.slot)} 的推送没有发出，文章已放回待发，会在以后的推送中重新入选。")
    return EXIT_OK


# --- daemon ---------------------------------------------------------------------

def daemon(configs: list[Config]) -> int:
    """Serve every account given from one process; an account whose credentials are missing is
    left out (and said so) while the others are served."""
    from concurrent.futures import ThreadPoolExecutor

    from .daemon import Daemon, serve
    from .ledger import Ledger
    from .runtime import DeferredReleaser, open_ledger
    from .stats import daily_figures

    _daemon_logging(configs[0])
    logger = logging.getLogger(__name__)
    daemons: list[Daemon] = []
    ledgers: dict[str, Ledger] = {}
    for config in configs:
        ledger = ledgers.get(config.database.url)
        if ledger is None:
            # One engine per database (not per account): an idle daemon of 300 accounts holds one pool.
            ledger = ledgers[config.database.url] = open_ledger(config, threads=configs[0].daemon.workers)
        else:
            ledger.adopt(config.account.key, config.account.name)
        try:
            releaser = DeferredReleaser(config, ledger)  # built at the first release: an idle daemon stays small
        except ConfigError as exc:
            who = f"账号 {config.account.key}：" if len(configs) > 1 else ""
            logger.error("%s配置错误：%s", who, exc)
            continue
        _announce(config)
        daemons.append(Daemon(config, ledger, releaser))
    if not daemons:
        return EXIT_CONFIG
    figures = ThreadPoolExecutor(1, thread_name_prefix="tuiwen-figures")  # read figures: never in a release's way
    for one in daemons:
        one.figures = daily_figures(one, figures.submit)
    try:
        serve(daemons, configs[0].daemon.workers)
    finally:
        figures.shutdown(wait=False, cancel_futures=True)
    return EXIT_OK


LEVELS_ZH = {"DEBUG": "调试", "INFO": "信息", "WARNING": "警告", "ERROR": "错误", "CRITICAL": "严重"}


class _LocalFormatter(logging.Formatter):
    """Log lines for the people who read them: the account's local time, Chinese level names."""

    def __init__(self, config: Config) -> None:
        super().__init__("%(asctime)s %(levelname_zh)s %(account_tag)s%(message)s")
        self.tz = config.account.tz

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return datetime.fromtimestamp(record.created, self.tz).strftime("%Y-%m-%d %H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        from .daemon import current

        record.levelname_zh = LEVELS_ZH.get(record.levelname, record.levelname)
        account = getattr(current, "account", "")  # one process serving several accounts: whose line
        record.account_tag = f"[{account}] " if account else ""
        return super().format(record)


def _daemon_logging(config: Config) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(_LocalFormatter(config))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    # APScheduler's own INFO lines ("Added job", "Running job") are English chatter: warnings only.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def _announce(config: Config) -> None:
    """One line at start: the next slot and what it would carry with the posts as they are now."""
    from .bulk import read_checked
    from .dryrun import read_published
    from .plan import forecast, rules_from_config

    logger = logging.getLogger("scheduler.daemon")
    now = datetime.now(config.account.tz)
    try:
        posts = read_checked(config, render=False)
        [bundle] = forecast(posts, read_published(config), config.schedule.slots, config.account.tz, now, 1,
                            rules_from_config(config))
    except Exception as exc:  # noqa: BLE001 - the start line is a courtesy; the slot is read again when due
        from .faults import describe

        logger.warning("守护进程已启动；暂时无法预测下一次推送：%s", describe(exc))
        return
    titles = "、".join(f"《{p.title}》" for p in bundle.items)
    carries = f"按现有文章将推送 {len(bundle.items)} 篇：{titles}" if bundle.items else "目前没有可发布的文章"
    logger.info("守护进程已启动（%s）。下一次推送：%s，%s", config.account.name, local(config, bundle.slot), carries)
