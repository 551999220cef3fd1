"""Several accounts in one command: each served in turn, and the city office's overview.

One account's broken credentials, content or WeChat never stop the others: its
fault is printed under its name and counted in its summary line, and the command
goes on to the next account.  The exit code is the worst of them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from . import states as L
from .config import Config, ConfigError

EXIT_OK, EXIT_CONTENT, EXIT_CONFIG, EXIT_REMOTE = 0, 1, 2, 3
OUTCOME_ZH = {EXIT_OK: "正常", EXIT_CONTENT: "文章有问题", EXIT_CONFIG: "配置有问题", EXIT_REMOTE: "微信、网络或数据库出错"}
FAILURE_DAYS = 30  # the overview counts failures this far back


def label(config: Config) -> str:
    return f"{config.account.key}（{config.account.name}）"


def each(configs: list[Config], con: Console, run: Callable[[Config, Console], int | None]) -> int:
    """``run`` for every account; one account alone is run as before, several under a heading each."""
    if len(configs) == 1:
        return run(configs[0], con) or EXIT_OK
    codes = []
    for config in configs:
        con.rule(escape(label(config)))
        codes.append(_guarded(config, con, run))
    con.rule("各账号")
    for config, code in zip(configs, codes, strict=True):
        con.print(f"{escape(label(config))}：{OUTCOME_ZH.get(code, f'退出码 {code}')}")
    return max(codes)


def _guarded(config: Config, con: Console, run: Callable[[Config, Console], int | None]) -> int:
    try:
        return run(config, con) or EXIT_OK
    except ConfigError as exc:
        con.print(f"[red]配置错误：{escape(str(exc))}[/]")
        return EXIT_CONFIG
    except Exception as exc:  # noqa: BLE001 - one account's fault is reported; the next account still runs
        from .faults import describe

        con.print(f"[red]出错了：{escape(describe(exc))}。[/]")
        return EXIT_REMOTE


# --- status for the city office ----------------------------------------------------

def overview(configs: list[Config], at: Callable[[Config], datetime], con: Console) -> int:
    """One row per account: next slot, last push, days since the last mass send, failures, reviews."""
    table = Table("账号", "下次推送", "上次成功推送", "距上次群发", "近 30 天失败", "待审核", "守护进程",
                  title="各账号状态")
    worst = EXIT_OK
    for config in configs:
        try:
            table.add_row(escape(label(config)), *_row(config, at(config)))
        except Exception as exc:  # noqa: BLE001 - one account's broken ledger or content: say so in its row
            from .faults import describe

            table.add_row(escape(label(config)), f"[red]{escape(describe(exc))}[/]", "", "", "", "", "")
            worst = EXIT_REMOTE
    con.print(table)
    return worst


def _row(config: Config, at: datetime) -> list[str]:
    from .commands.common import ledger_reader, local
    from .freshness import freshness
    from .plan import next_slots
    from .states import RECONCILE_MINUTES

    ledger = ledger_reader(config)
    key = config.account.key
    releases = ledger.releases(key, 50) if ledger else []
    pushed = [r for r in releases if r.status in (L.SENT, L.CONFIRMED) and r.slot <= at]
    since = at - timedelta(days=FAILURE_DAYS)
    failed = [r for r in releases if r.status in (L.FAILED, L.MISSED, L.UNCONFIRMED) and since <= r.slot <= at]
    fresh = freshness(config, ledger, at)
    if fresh.days is None:
        days = "[yellow]无群发记录[/]"
    else:
        colour = "red" if fresh.failing else "yellow" if fresh.level else ""
        text = f"{fresh.days} 天" + (f"（过 {fresh.level} 天提醒线）" if fresh.level else "")
        days = f"[{colour}]{text}[/]" if colour else text
    beat = ledger.last_beat(key) if ledger else None
    alive = beat is not None and at - beat <= timedelta(minutes=2 * RECONCILE_MINUTES + 1)
    return [
        local(config, next_slots(config.schedule.slots, config.account.tz, at, 1)[0]),
        local(config, pushed[0].slot) if pushed else "无",
        days,
        f"[red]{len(failed)}[/]" if failed else "0",
        _pending_reviews(config),
        "运行中" if alive else "[yellow]未运行[/]",
    ]


def _pending_reviews(config: Config) -> str:
    """Ready posts still waiting for a role's sign-off; "—" when the account asks for none."""
    if not config.review.roles:
        return "—"
    from . import signoff
    from .bulk import read_checked
    from .cache import Cache
    from .dryrun import with_web_approvals

    if not config.content.dir.is_dir():
        return "[red]内容目录不存在[/]"
    config = with_web_approvals(config)  # approvals given in the console count as the release counts them
    records = signoff.load(signoff.records_path(config))
    posts = read_checked(config, render=False, cache=Cache.for_config(config))
    waiting = [p for p in posts if p.parsed and p.status == "ready" and not signoff.status(p, config, records).complete]
    return f"[yellow]{len(waiting)} 篇[/]" if waiting else "0"
