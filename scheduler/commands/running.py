"""``publish daemon``: every account served on the schedule until a signal stops it."""

from __future__ import annotations

import logging
from datetime import datetime

from ..config import Config, ConfigError
from .common import EXIT_CONFIG, EXIT_OK, local


def daemon(configs: list[Config]) -> int:
    """Serve every account given from one process; an account whose credentials are missing is
    left out (and said so) while the others are served."""
    from concurrent.futures import ThreadPoolExecutor

    from ..daemon import Daemon
    from ..ledger import Ledger
    from ..runtime import DeferredReleaser, open_ledger
    from ..serving import serve
    from ..stats import daily_figures

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
        from ..serving import current

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
    from ..bulk import read_checked
    from ..dryrun import read_published
    from ..plan import forecast, rules_from_config

    logger = logging.getLogger("scheduler.daemon")
    now = datetime.now(config.account.tz)
    try:
        posts = read_checked(config, render=False)
        [bundle] = forecast(posts, read_published(config), config.schedule.slots, config.account.tz, now, 1,
                            rules_from_config(config))
    except Exception as exc:  # noqa: BLE001 - the start line is a courtesy; the slot is read again when due
        from ..faults import describe

        logger.warning("守护进程已启动；暂时无法预测下一次推送：%s", describe(exc))
        return
    titles = "、".join(f"《{p.title}》" for p in bundle.items)
    carries = f"按现有文章将推送 {len(bundle.items)} 篇：{titles}" if bundle.items else "目前没有可发布的文章"
    logger.info("守护进程已启动（%s）。下一次推送：%s，%s", config.account.name, local(config, bundle.slot), carries)
