"""Charts drawn on the server as inline SVG: no script, readable on a phone, printable.

Three charts per account, from the ledger: articles per category per month (stacked
bars, one segment per category that month), the days between mass sends against the
14-day line of the inspection rule (one point per gap), and readers per category per
month (WeChat's figures held in the ledger, counted in the month of publication).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise

from markupsafe import Markup, escape

from .. import states as L
from ..freshness import INSPECTION_DAYS

MONTHS = 12
GAPS = 24
RELEASES = 400  # the releases the charts look at, newest first: years of twice-weekly sends
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 360, 180, 28, 22, 8
# Distinguishable colours, darkest first (the most common category gets the first).
PALETTE = ("#1f4e79", "#2f855a", "#b7791f", "#c53030", "#6b46c1", "#2c7a7b", "#97266d", "#4a5568", "#dd6b20", "#718096")


@dataclass(frozen=True)
class Charts:
    by_category: Markup
    gaps: Markup
    reads: Markup


def went_out(releases, tz) -> list:
    """The releases that reached readers, oldest first."""
    return sorted((r for r in releases if r.status in (L.SENT, L.CONFIRMED)), key=lambda r: r.slot)


def months_back(at: datetime, count: int = MONTHS) -> list[str]:
    year, month = at.year, at.month
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out[::-1]


def _per_month(releases, names: dict[str, str], tz, at: datetime,
               weight) -> tuple[list[str], Counter[tuple[str, str]]]:
    """The last twelve months, and ``weight(release, item)`` summed per (month, category) of the articles sent."""
    months = months_back(at.astimezone(tz))
    counts: Counter[tuple[str, str]] = Counter()
    for release in went_out(releases, tz):
        month = release.slot.astimezone(tz).strftime("%Y-%m")
        if month in months:
            for item in release.items:
                if (n := weight(release, item)):
                    counts[(month, names.get(item.category or "", "其他"))] += n
    return months, counts


def by_category(releases, names: dict[str, str], tz, at: datetime) -> Markup:
    """Stacked bars: articles sent per month of the last twelve, one segment per category."""
    months, counts = _per_month(releases, names, tz, at, lambda release, item: 1)
    if not counts:
        return Markup('<p class="muted">近 12 个月没有推送记录。</p>')
    return _stacked(counts, months, "近 12 个月各分类推送篇数", "篇")


def reads(releases, figures: dict[tuple[int, int], int], names: dict[str, str], tz, at: datetime) -> Markup:
    """Stacked bars: readers of the articles sent each month of the last twelve, per category."""
    months, counts = _per_month(releases, names, tz, at,
                                lambda release, item: figures.get((release.id, item.position)))
    if not counts:
        return Markup('<p class="muted">还没有阅读数据（守护进程每天 8 点后从微信读取，也可运行 publish stats）。</p>')
    return _stacked(counts, months, "近 12 个月各分类阅读人数（按推送月份）", "人")


def _stacked(counts: Counter[tuple[str, str]], months: list[str], title: str, unit: str) -> Markup:
    totals = _totals(counts)
    order = [c for c, _ in totals.most_common()]
    colour = {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(order)}
    most = max(sum(n for (m, _), n in counts.items() if m == month) for month in months) or 1
    plot_h, step = HEIGHT - BOTTOM - TOP, (WIDTH - LEFT) / len(months)
    parts = [_axis(most, plot_h)]
    for i, month in enumerate(months):
        x, base = LEFT + i * step + 3, float(HEIGHT - BOTTOM)
        for category in order:
            n = counts.get((month, category), 0)
            if not n:
                continue
            h = n / most * plot_h
            base -= h
            parts.append(f'<rect class="bar" x="{x:.1f}" y="{base:.1f}" width="{step - 6:.1f}" height="{h:.1f}" '
                         f'fill="{colour[category]}"><title>{escape(month)} {escape(category)}：{n} {unit}</title></rect>')
        parts.append(f'<text x="{x + (step - 6) / 2:.1f}" y="{HEIGHT - 6}" font-size="10" text-anchor="middle">'
                     f'{int(month[5:])}月</text>')
    legend = "".join(f'<span style="white-space:nowrap;margin-right:10px"><span style="display:inline-block;width:10px;'
                     f'height:10px;background:{colour[c]}"></span> {escape(c)}</span> ' for c in order)
    return Markup(_svg(title, parts) + f'<div class="muted">{legend}</div>')


def _totals(counts: Counter[tuple[str, str]]) -> Counter[str]:
    totals: Counter[str] = Counter()
    for (_, category), n in counts.items():
        totals[category] += n
    return totals


def gaps(releases, tz, limit: int = GAPS) -> Markup:
    """Days between consecutive mass sends (the last ``limit`` gaps), against the 14-day line."""
    sends = [r.sent_at or r.slot for r in went_out(releases, tz) if r.mode == "mass_send"]
    days = [(b - a).total_seconds() / 86400 for a, b in pairwise(sends)][-limit:]
    if not days:
        return Markup('<p class="muted">群发不足两次，还画不出间隔。</p>')
    top = max(*days, INSPECTION_DAYS + 2)
    plot_h = HEIGHT - BOTTOM - TOP
    step = (WIDTH - LEFT - 10) / max(len(days) - 1, 1)

    def y(value: float) -> float:
        return HEIGHT - BOTTOM - value / top * plot_h

    points = [(LEFT + 5 + i * step, y(d), d) for i, d in enumerate(days)]
    line = y(INSPECTION_DAYS)
    parts = [_axis(top, plot_h),
             f'<line class="limit" x1="{LEFT}" x2="{WIDTH}" y1="{line:.1f}" y2="{line:.1f}" stroke="#c53030" '
             f'stroke-dasharray="4 3"/><text x="{WIDTH - 2}" y="{line - 3:.1f}" font-size="10" text-anchor="end" '
             f'fill="#c53030">{INSPECTION_DAYS} 天</text>',
             '<polyline fill="none" stroke="#1f4e79" stroke-width="1.5" points="'
             + " ".join(f"{px:.1f},{py:.1f}" for px, py, _ in points) + '"/>']
    for px, py, d in points:
        over = d >= INSPECTION_DAYS
        parts.append(f'<circle class="point{" over" if over else ""}" cx="{px:.1f}" cy="{py:.1f}" r="3" '
                     f'fill="{"#c53030" if over else "#1f4e79"}"><title>间隔 {d:.1f} 天</title></circle>')
    return Markup(_svg(f"最近 {len(days)} 次群发之间的天数（红线：{INSPECTION_DAYS} 天）", parts))


def _axis(top: float, plot_h: float) -> str:
    bottom = HEIGHT - BOTTOM
    return (f'<line x1="{LEFT}" x2="{WIDTH}" y1="{bottom}" y2="{bottom}" stroke="#999"/>'
            f'<text x="{LEFT - 4}" y="{bottom - plot_h + 8:.1f}" font-size="10" text-anchor="end">{top:.0f}</text>'
            f'<text x="{LEFT - 4}" y="{bottom}" font-size="10" text-anchor="end">0</text>')


def _svg(title: str, parts: list[str]) -> str:
    return (f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" style="max-width:{WIDTH * 1.5:.0f}px" '
            f'role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
            + "".join(parts) + "</svg>")


def charts(config, ledger, at: datetime, releases: list | None = None) -> Charts:
    """The account's charts; ``releases``: its newest ``RELEASES`` releases, when already read."""
    if releases is None:
        releases = ledger.releases(config.account.key, RELEASES) if ledger is not None else []
    names = {key: c.name for key, c in config.categories.items()}
    tz = config.account.tz
    return Charts(by_category(releases, names, tz, at), gaps(releases, tz),
                  reads(releases, _reads(config, ledger, releases), names, tz, at))


def _reads(config, ledger, releases) -> dict[tuple[int, int], int]:
    """(release id, position) → readers held in the ledger; none from a ledger that cannot say."""
    if ledger is None or not hasattr(ledger, "session"):
        return {}
    from ..stats import figures_by_item

    return {key: held.reads for key, held in figures_by_item(config, ledger, went_out(releases, config.account.tz))
            .items()}
