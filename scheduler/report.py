"""``publish report``: what went out in a period, with who wrote, reviewed and signed it.

The figures a bureau reports upward (seed 003's summary table counts “广播、电视、微信等
媒体宣传报道”): pushes, articles per category, titles, authors, approvers and
when they approved, and how each article checks now.  On screen with rich, and as
a CSV with fixed columns, UTF-8 with a BOM so Excel opens the Chinese correctly.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path

from . import ledger as L
from . import signoff
from .config import Config
from .ledger import Ledger
from .withdraw import withdrawn

COLUMNS = ("推送时间", "方式", "状态", "位置", "分类", "标题", "作者", "审核", "签发", "审核记录",
           "文件", "内容指纹", "检查结果", "链接", "撤回", "留言数", "已回复", "按时回复", "阅读", "分享", "在看")
MODES_ZH = {"mass_send": "群发", "publish": "发布"}
STATUS_ZH = {L.SENT: "已发送", L.CONFIRMED: "成功", L.FAILED: "失败", L.MISSED: "错过",
             L.UNCONFIRMED: "结果待确认", L.EMPTY: "无文章"}
WENT_OUT = (L.SENT, L.CONFIRMED)


@dataclass(frozen=True)
class Row:
    """One published article, as the CSV has it."""

    slot: datetime
    mode: str
    status: str
    position: int
    category: str
    title: str
    author: str
    reviewed_by: str
    approved_by: str
    approvals: str
    path: str
    sha256: str
    check: str
    url: str
    comments: int = 0  # received (deleted ones too: they were received)
    answered: int = 0
    in_time: int = 0  # answered within [comments].reply_days working days
    withdrawn: str = ""  # "已撤回 <when> <who>：<why>" after publish withdraw
    reads: int | None = None  # WeChat's figures held in the ledger (publish stats); None: none yet
    shares: int | None = None
    zaikan: int | None = None

    def cells(self, config: Config) -> list[str]:
        return [self.slot.astimezone(config.account.tz).strftime("%Y-%m-%d %H:%M"), MODES_ZH.get(self.mode, self.mode),
                STATUS_ZH.get(self.status, self.status), str(self.position), self.category, self.title, self.author,
                self.reviewed_by, self.approved_by, self.approvals, self.path, self.sha256, self.check, self.url,
                self.withdrawn, str(self.comments), str(self.answered), str(self.in_time),
                *("" if n is None else str(n) for n in (self.reads, self.shares, self.zaikan))]


@dataclass
class Report:
    start: date
    end: date  # inclusive
    rows: list[Row] = field(default_factory=list)
    pushes: dict[str, int] = field(default_factory=dict)  # mode → pushes that went out
    not_out: list[tuple[datetime, str, str]] = field(default_factory=list)  # (slot, status, error)
    order: list[str] = field(default_factory=list)  # category names in the config's order

    @property
    def articles(self) -> int:
        return len(self.rows)

    def comment_totals(self) -> tuple[int, int, int]:
        """(received, answered, answered in time) over every article."""
        return (sum(r.comments for r in self.rows), sum(r.answered for r in self.rows),
                sum(r.in_time for r in self.rows))

    def per_category(self) -> list[tuple[str, int]]:
        counts: dict[str, int] = {}
        for row in self.rows:
            counts[row.category] = counts.get(row.category, 0) + 1
        rank = {name: i for i, name in enumerate(self.order)}
        return sorted(counts.items(), key=lambda c: (-c[1], rank.get(c[0], len(rank)), c[0]))


def period(config: Config, start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, the day after end 00:00) in the account's timezone."""
    tz = config.account.tz
    return datetime.combine(start, time(), tz), datetime.combine(end + timedelta(days=1), time(), tz)


def build(config: Config, ledger: Ledger | None, start: date, end: date) -> Report:
    """The report of releases whose slot falls between ``start`` and ``end`` (both included)."""
    report = Report(start, end, order=[c.name for c in config.categories.values()])
    if ledger is None:
        return report
    low, high = period(config, start, end)
    releases = [r for r in ledger.releases(config.account.key) if low <= r.slot < high]
    config = signoff.with_ledger(config, ledger)  # approvals given in the web console, beside the file's
    try:
        records = signoff.load(signoff.records_path(config))
    except signoff.SignoffError:
        records = {}
    from .comments import Counts, counts

    comments = counts(config, ledger, [r.id for r in releases if r.status in WENT_OUT])
    taken = withdrawn(ledger, config.account.key, [r.id for r in releases]) if releases else {}
    from .stats import figures_by_item

    figures = figures_by_item(config, ledger, [r for r in releases if r.status in WENT_OUT])
    for release in sorted(releases, key=lambda r: r.slot):
        if release.status not in WENT_OUT:
            report.not_out.append((release.slot, release.status, release.error or ""))
            continue
        report.pushes[release.mode] = report.pushes.get(release.mode, 0) + 1
        for item in release.items:
            got = comments.get((release.id, item.position), Counts())
            row = replace(_row(config, release, item, records), comments=got.received,
                          answered=got.answered, in_time=got.in_time)
            if (gone := taken.get((release.id, item.position))) is not None:
                when = gone.at.astimezone(config.account.tz).strftime("%Y-%m-%d %H:%M")
                row = replace(row, withdrawn=f"已撤回 {when} {gone.by}：{gone.reason}")
            held = figures.get((release.id, item.position))
            if held is not None:
                row = replace(row, reads=held.reads, shares=held.shares, zaikan=held.zaikan)
            report.rows.append(row)
    return report


def _row(config: Config, release, item, records) -> Row:
    from .checks import check_post
    from .posts import read_post

    category = config.categories.get(item.category or "")
    author, check, post = "", "", None
    path = config.content.dir / item.post_path
    if path.is_file():
        post = read_post(path, config.content.dir, config)
    entries = signoff.entries_of(config, records, item.post_path)
    digests = {item.sha256}
    if post is not None and post.sha256 == item.sha256:
        digests.add(signoff.post_digest(post, {a.sha256 for a in entries}))  # CRLF copies: see signoff
    approvals = tuple(a for a in entries if a.sha256 in digests)
    reviewed, approved = signoff.signers(approvals, signoff.roles_of(config))
    if post is None:
        check = "文件已不存在"
    else:
        if post.sha256 != item.sha256:
            check = "发布后文件已修改"
        else:
            check_post(post, config)
            errors = sum(p.severity == "error" for p in post.problems)
            warnings = len(post.problems) - errors
            check = "通过" if not post.problems else "，".join(
                x for x in (f"{errors} 个错误" if errors else "", f"{warnings} 个警告" if warnings else "") if x)
            reviewed, approved = reviewed or post.reviewed_by, approved or post.approved_by
        author = post.author
    order = {role: i for i, role in enumerate(signoff.roles_of(config))}
    trail = "；".join(f"{a.role} {a.by} {a.at.astimezone(config.account.tz):%Y-%m-%d %H:%M}"
                     for a in sorted(approvals, key=lambda a: (order.get(a.role, len(order)), a.at)))
    return Row(release.slot, release.mode, release.status, item.position, category.name if category else "—",
               item.title, author or config.account.author, reviewed, approved, trail, item.post_path,
               item.sha256, check, item.article_url or "")


def write_csv(report: Report, config: Config, path: Path) -> None:
    """The rows with fixed columns; UTF-8 with BOM (Excel), CRLF line ends as the csv module writes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(COLUMNS)
        for row in report.rows:
            writer.writerow(row.cells(config))


def write_csv_accounts(reports: list[tuple[Config, Report]], path: Path) -> None:
    """Several accounts' rows in one file, the account's key and name first on every row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["账号", "账号名称", *COLUMNS])
        for config, report in reports:
            for row in report.rows:
                writer.writerow([config.account.key, config.account.name, *row.cells(config)])


def summary(report: Report) -> str:
    """One sentence with the figures to report upward."""
    mass, free = report.pushes.get("mass_send", 0), report.pushes.get("publish", 0)
    pushes = f"群发 {mass} 次" + (f"、发布 {free} 次" if free else "")
    categories = "、".join(f"{name} {n} 篇" for name, n in report.per_category()) or "无"
    received, answered, in_time = report.comment_totals()
    return (f"{report.start:%Y-%m-%d} 至 {report.end:%Y-%m-%d}：微信公众号{pushes}，共 {report.articles} 篇文章"
            f"（{categories}）；收到留言 {received} 条，已回复 {answered} 条，其中按时回复 {in_time} 条；"
            f"未成功的推送 {len(report.not_out)} 次。")
