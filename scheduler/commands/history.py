"""What went out: the log (also as JSON), status, and the audit report."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .. import states as L  # not ..ledger: SQLAlchemy is slow to import, and most commands never need it
from ..config import Config, ConfigError
from .common import EXIT_OK, STATUS_ZH, existing_ledger, ledger_reader, local, print_account_warnings


def log(config: Config, limit: int, con: Console, *, several: bool = False) -> None:
    from ..withdraw import withdrawn

    ledger = existing_ledger(config)
    if ledger:
        from ..wechat_events import settle

        settle(ledger, config.account.key)  # links WeChat pushed before the release knew its msg_id
    releases = ledger.releases(config.account.key, limit) if ledger else []
    if not releases:
        con.print(f"{escape(config.account.name)}还没有发布记录。" if several else "还没有发布记录。")
        return
    taken = withdrawn(ledger, config.account.key, [r.id for r in releases])
    con.print(release_table(config, releases, title="发布记录", several=several, withdrawn=taken))


def log_json(configs: list[Config], limit: int) -> int:
    """``publish log --json``: every account's latest releases in one JSON list."""
    import json

    from ..release_log import releases_data

    data = [row for config in configs for row in releases_data(config, existing_ledger(config), limit)]
    print(json.dumps(data, ensure_ascii=False, indent=2))
    return EXIT_OK


def release_table(config: Config, releases, title: str, *, several: bool = False,
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
    from ..plan import next_slots
    from ..states import RECONCILE_MINUTES

    ledger = ledger_reader(config)
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
    from ..ledger_view import SQLiteView

    if ledger is None:
        return ""
    if isinstance(ledger, SQLiteView):
        rows = ledger.withdrawals(config.account.key, 3) or []
    else:
        from ..withdraw import recent

        rows = recent(ledger, config.account.key, 3)
    return "\n".join(escape(f"发布 {r.release_id} 第 {r.position} 篇《{r.title}》已撤回（{r.by}，"
                               f"{local(config, r.at)}，原因：{r.reason}）") for r in rows)


def _freshness_line(config: Config, ledger, at: datetime) -> str:
    from ..freshness import freshness

    fresh = freshness(config, ledger, at)
    colour = "red" if fresh.failing else "yellow" if fresh.level or fresh.days is None else ""
    return f"[{colour}]{fresh.message()}[/]" if colour else fresh.message()


def report(config: Config, start, end, csv_path: Path | None, con: Console) -> int:
    from ..report import build, summary, write_csv

    result = build(config, existing_ledger(config), start, end)
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
    from ..fleet import each, label
    from ..report import build, summary, write_csv_accounts

    built = []

    def one(config: Config, con: Console) -> int:
        result = build(config, existing_ledger(config), start, end)
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
