"""Settings: ``config.toml`` → frozen, typed dataclasses with defaults.

Every setting is declared once, as a dataclass field carrying its default, its
parser and its help text; the loader, the README and a test all read that one
table.  Anything wrong is a single :class:`ConfigError` naming the key.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from publishers.limits import AUTHOR_MAX, wechat_len
from publishers.limits import MAX_ARTICLES as WECHAT_MAX_ARTICLES

DEFAULT_CONFIG = "config.toml"


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key and the fix."""


# --- slots -------------------------------------------------------------------

WEEKDAYS = {
    "mon": 0, "monday": 0, "周一": 0, "星期一": 0,
    "tue": 1, "tuesday": 1, "周二": 1, "星期二": 1,
    "wed": 2, "wednesday": 2, "周三": 2, "星期三": 2,
    "thu": 3, "thursday": 3, "周四": 3, "星期四": 3,
    "fri": 4, "friday": 4, "周五": 4, "星期五": 4,
    "sat": 5, "saturday": 5, "周六": 5, "星期六": 5,
    "sun": 6, "sunday": 6, "周日": 6, "星期日": 6, "周天": 6, "星期天": 6,
}
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SLOT = re.compile(r"^\s*(\S+)\s+([01]\d|2[0-3]):([0-5]\d)\s*$")


@dataclass(frozen=True, order=True)
class Slot:
    """A weekly publishing time, in the account's timezone."""

    weekday: int  # 0 = Monday
    hour: int
    minute: int

    def __str__(self) -> str:
        return f"{WEEKDAY_NAMES[self.weekday]} {self.hour:02d}:{self.minute:02d}"


def parse_slot(text: str) -> Slot:
    """``"tue 09:00"`` → Slot; ValueError with a Chinese reason otherwise."""
    match = _SLOT.match(text) if isinstance(text, str) else None
    if not match or match.group(1).lower() not in WEEKDAYS:
        raise ValueError('应为“星期 时:分”，例如 "tue 09:00" 或 "周五 09:00"')
    day, hour, minute = match.groups()
    return Slot(WEEKDAYS[day.lower()], int(hour), int(minute))


# --- value parsers: (value, context) → parsed value, or ValueError -------------

@dataclass(frozen=True)
class _Context:
    root: Path  # the config file's folder: relative paths start here


def _str(value: Any, ctx: _Context) -> str:
    if not isinstance(value, str):
        raise ValueError("应为字符串")
    return value


def _nonempty_str(value: Any, ctx: _Context) -> str:
    if not _str(value, ctx).strip():
        raise ValueError("不能为空")
    return value.strip()


def _author(value: Any, ctx: _Context) -> str:
    if wechat_len(_str(value, ctx)) > AUTHOR_MAX:
        raise ValueError(f"作者最多 {AUTHOR_MAX} 个字（微信的限制）")
    return value


def _bool(value: Any, ctx: _Context) -> bool:
    if not isinstance(value, bool):
        raise ValueError("应为 true 或 false")
    return value


def _int_between(low: int, high: int | None = None) -> Callable[[Any, _Context], int]:
    def parse(value: Any, ctx: _Context) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("应为整数")
        if value < low or (high is not None and value > high):
            raise ValueError(f"应在 {low} 到 {high} 之间" if high is not None else f"应不小于 {low}")
        return value
    return parse


MAX_HOURS = 24 * 366  # a year: anything longer is a typo, and time arithmetic overflows far beyond


def _hours(value: Any, ctx: _Context) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_HOURS:
        raise ValueError(f"应为 0 到 {MAX_HOURS} 之间的小时数，例如 6")  # also refuses nan and inf
    return float(value)


def _path(value: Any, ctx: _Context) -> Path:
    text = _nonempty_str(value, ctx)
    if "\x00" in text:
        raise ValueError("路径里有 NUL 字符")
    return (ctx.root / Path(text).expanduser()).resolve()


def _optional_path(value: Any, ctx: _Context) -> Path | None:
    return None if value in ("", None) else _path(value, ctx)


def _git_mode(value: Any, ctx: _Context) -> bool | str:
    if value == "auto" or isinstance(value, bool):
        return value
    raise ValueError('应为 true、false 或 "auto"')


def _timezone(value: Any, ctx: _Context) -> str:
    try:
        ZoneInfo(_nonempty_str(value, ctx))
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "Asia" is a folder of zones: OSError
        raise ValueError('不是有效的 IANA 时区名，例如 "Asia/Shanghai"') from None
    return value


def _choice(*options: str) -> Callable[[Any, _Context], str]:
    def parse(value: Any, ctx: _Context) -> str:
        if value not in options:
            raise ValueError("应为 " + " 或 ".join(f'"{o}"' for o in options))
        return value
    return parse


def _env_name(value: Any, ctx: _Context) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        raise ValueError("应为环境变量名，例如 \"WECHAT_APP_SECRET\"（密钥本身不能写在配置文件里）")
    return value


def _http_url(value: Any, ctx: _Context) -> str:
    parts = urlsplit(_nonempty_str(value, ctx))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("应为 http:// 或 https:// 开头的网址")
    return value if value.endswith("/") else value + "/"


def _slots(value: Any, ctx: _Context) -> tuple[Slot, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError('应为非空列表，例如 ["tue 09:00", "fri 09:00"]')
    slots = []
    for i, item in enumerate(value):
        try:
            slots.append(parse_slot(item))
        except ValueError as exc:
            raise ValueError(f"第 {i + 1} 项 {item!r} 无效：{exc}") from None
    if len(set(slots)) != len(slots):
        raise ValueError("有重复的时间")
    return tuple(sorted(slots))


def _database_url(value: Any, ctx: _Context) -> str:
    url = _nonempty_str(value, ctx)
    # A relative SQLite file lives beside config.toml, not wherever the daemon was started.
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix + ":memory:":
        database = url[len(prefix):]
        return prefix + str((ctx.root / database).resolve())
    if not _DIALECT.match(url):
        raise ValueError('应为 SQLAlchemy 数据库地址，例如 "sqlite:///state/tuiwen.db"、'
                         '"postgresql+psycopg://user@db/tuiwen" 或 "mysql+pymysql://user@db/tuiwen"')
    return url


# The databases SQLAlchemy itself knows (checked here: importing SQLAlchemy to ask would slow every command).
_DIALECT = re.compile(r"^(sqlite|postgresql|mysql|mariadb|oracle|mssql)(\+\w+)?://")


def _redis_url(value: Any, ctx: _Context) -> str:
    text = _str(value, ctx).strip()
    if text and urlsplit(text).scheme not in ("redis", "rediss", "unix"):
        raise ValueError('应为 redis:// 或 rediss:// 开头的地址，例如 "redis://127.0.0.1:6379/0"')
    return text


def _color(value: Any, ctx: _Context) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"#[0-9a-fA-F]{6}", value):
        raise ValueError('应为 #RRGGBB 形式的颜色，例如 "#c53030"')
    return value.lower()


def _months(value: Any, ctx: _Context) -> tuple[int, ...]:
    if not isinstance(value, list) or not value or not all(
            isinstance(m, int) and not isinstance(m, bool) and 1 <= m <= 12 for m in value):
        raise ValueError("应为 1 到 12 的月份列表，例如 [4] 或 [9, 10, 11, 12]")
    return tuple(sorted(set(value)))


def _str_list(value: Any, ctx: _Context) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise ValueError('应为非空的字符串列表，例如 ["fund-supervision", "typical-cases"]')
    return tuple(value)


def _optional_cap(value: Any, ctx: _Context) -> int | None:
    return None if value == 0 else _int_between(1, WECHAT_MAX_ARTICLES)(value, ctx)


def _names(value: Any, ctx: _Context) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError('应为字符串列表，例如 ["初审", "复审", "终审"]（可为空）')
    names = tuple(v.strip() for v in value)
    if len(set(names)) != len(names):
        raise ValueError("有重复的项")
    return names


def _days(value: Any, ctx: _Context) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in value):
        raise ValueError("应为正整数天数的列表，例如 [4, 7, 10, 12]（可为空）")
    return tuple(sorted(set(value)))


def _numbers(value: Any, ctx: _Context) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and re.search(r"\d", v) for v in value):
        raise ValueError('应为号码字符串列表，例如 ["13800000000"]（可为空）')
    return frozenset(re.sub(r"\D", "", v) for v in value)


def _alert_url(value: Any, ctx: _Context) -> str:
    """An http(s) URL, or ``env:NAME`` to read it from the environment (robot keys are secrets)."""
    if value == "":
        return ""
    if isinstance(value, str) and value.startswith("env:"):
        _env_name(value[4:], ctx)
        return value
    parts = urlsplit(_str(value, ctx))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError('应为 http:// 或 https:// 开头的网址，或 "env:变量名"（从环境变量读取）')
    return value


def _optional_env_name(value: Any, ctx: _Context) -> str:
    return "" if value == "" else _env_name(value, ctx)


def _words_file(value: Any, ctx: _Context) -> Path | None:
    path = _optional_path(value, ctx)
    if path is not None:
        from .wording import validate_words_file  # the rule format lives with the rules

        validate_words_file(path)
    return path


def _local_words(value: Any, ctx: _Context) -> tuple:
    if value == {}:
        return ()  # the default: no need to load the matcher to say so
    from .wording import parse_local_words

    return parse_local_words(value)


def setting(default: Any, parse: Callable[[Any, _Context], Any], help: str, key: str | None = None) -> Any:
    """Declare one setting: its default (as written in TOML), parser and help (``key``: its TOML name, if not the field's)."""
    metadata = {"default": default, "parse": parse, "help": help}
    return field(default=None, metadata=metadata | ({"key": key} if key else {}))


def subsection(cls: type, help: str, key: str | None = None) -> Any:
    """Declare a nested table such as ``[alerts.smtp]``; its own settings are declared on ``cls``."""
    metadata: dict[str, Any] = {"default": {}, "parse": None, "help": help, "section": cls}
    return field(default=None, metadata=metadata | ({"key": key} if key else {}))


def _toml_key(f: Any) -> str:
    """The key a field is written as in TOML (``from`` cannot be a Python name)."""
    return f.metadata.get("key", f.name)


# --- sections -----------------------------------------------------------------

@dataclass(frozen=True)
class AccountSettings:
    name: str = setting("医保公众号", _nonempty_str, "公众号名称，用于页脚和预览")
    author: str = setting("", _author, "默认作者（≤16 字），文章未写 author 时使用")
    cover: Path | None = setting("", _optional_path, "账号默认封面图，相对配置文件")
    timezone: str = setting("Asia/Shanghai", _timezone, "账号时区（IANA 名称）")
    mode: str = setting("mass_send", _choice("mass_send", "publish"),
                        '"mass_send" 群发（通知粉丝，计入更新）或 "publish" 仅发布')
    type: str = setting("subscription", _choice("subscription", "service"),
                        '"subscription" 订阅号（每天可群发 1 次）或 "service" 服务号（粉丝每月最多收到 4 次群发）')
    app_id_env: str = setting("WECHAT_APP_ID", _env_name, "存放 AppID 的环境变量名")
    app_secret_env: str = setting("WECHAT_APP_SECRET", _env_name, "存放 AppSecret 的环境变量名")
    app_secret_file: Path | None = setting("", _optional_path,
                                           "存放 AppSecret 的文件（权限须为 600），相对配置文件；设置后代替 app_secret_env")
    api_base_url: str = setting("https://api.weixin.qq.com/", _http_url,
                                "微信接口地址：官方、网关、代理或本地测试服务器")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class ContentSettings:
    dir: Path = setting("content", _path, "Markdown 内容仓库目录，相对配置文件")
    git: bool | str = setting("auto", _git_mode,
                              "true：发布前拉取并只发布已提交的内容；false：直接读目录；\"auto\"：目录在 git 仓库中即为 true")
    git_remote: str = setting("origin", _nonempty_str, "发布前拉取的远端名")
    git_branch: str = setting("", _str, "发布的分支（默认当前分支）")


@dataclass(frozen=True)
class ScheduleSettings:
    slots: tuple[Slot, ...] = setting(["tue 09:00", "fri 09:00"], _slots,
                                      "每周推送时间（账号时区），如 \"tue 09:00\"")
    catch_up_hours: float = setting(6, _hours, "停机错过的推送在此时长内补发，超过则记为错过")
    max_articles: int = setting(WECHAT_MAX_ARTICLES, _int_between(1, WECHAT_MAX_ARTICLES),
                                "每次推送最多文章数（微信上限 8）")


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = setting("sqlite:///state/tuiwen.db", _database_url,
                       "发布台账数据库（SQLAlchemy 地址），SQLite 相对路径相对配置文件")
    redis_url: str = setting("", _redis_url, "可选：在 Redis 中共享 access_token（如 \"redis://127.0.0.1:6379/0\"），默认存在台账里")


@dataclass(frozen=True)
class ReviewSettings:
    required: bool = setting(False, _bool, "为 true 时，文章须有 reviewed_by（审核）和 approved_by（签发）才能发布")
    roles: tuple[str, ...] = setting([], _names,
                                     "三审角色，如 [\"初审\", \"复审\", \"终审\"]：设了之后，每个角色都用 publish approve "
                                     "审核过文章的当前内容才能发布，改动即失效")


@dataclass(frozen=True)
class ThemeSettings:
    hotline: str = setting("医保服务热线：12393", _str, "页脚热线文字，如基金监管举报电话")
    qr_image: Path | None = setting("", _optional_path, "页脚关注二维码图片（须在内容仓库内），相对配置文件")
    templates: Path | None = setting("", _optional_path,
                                     "自定义模板目录（header.html、footer.html、article.html），相对配置文件")


@dataclass(frozen=True)
class CheckSettings:
    words_file: Path | None = setting("", _words_file,
                                      "账号自己的用词规则文件（格式同 scheduler/rules/words.toml），补充或覆盖默认规则")
    local_words: tuple = setting({}, _local_words,
                                 "本地须一字不差的写法：{\"王某某\" = \"区医保局局长\"}（领导姓名 = 职务），"
                                 "或 {\"错误写法\" = { right = \"正确写法\" }}")
    allowed_numbers: frozenset[str] = setting([], _numbers,
                                              "有意公开的手机号等号码（如咨询专线），隐私检查不报")


@dataclass(frozen=True)
class FreshnessSettings:
    warn_days: tuple[int, ...] = setting([4, 7, 10, 12], _days,
                                         "距上次群发多少天时提醒（14 天未更新按检查指标判为不合格）")


@dataclass(frozen=True)
class SmtpSettings:
    host: str = setting("", _str, "SMTP 服务器；为空则不发邮件")
    port: int = setting(587, _int_between(1, 65535), "SMTP 端口；465 使用 SSL")
    from_addr: str = setting("", _str, "发件人地址", key="from")
    to: tuple[str, ...] = setting([], _names, "收件人地址列表")
    username: str = setting("", _str, "登录用户名（为空则不登录）")
    password_env: str = setting("", _optional_env_name, "存放登录密码的环境变量名（密码不写在配置文件里）")
    starttls: bool = setting(True, _bool, "是否使用 STARTTLS 加密")


@dataclass(frozen=True)
class AlertSettings:
    wecom_robot_url: str = setting("", _alert_url,
                                   "企业微信群机器人 Webhook 地址，或 \"env:变量名\" 从环境变量读取")
    webhook_url: str = setting("", _alert_url, "通用 Webhook：POST JSON（event、account、slot、status、message）")
    empty_hours: float = setting(24, _hours, "推送前这么多小时仍没有可发布的文章就告警（0 为不检查）")
    smtp: SmtpSettings = subsection(SmtpSettings, "邮件告警")

    @property
    def channels(self) -> bool:
        """Whether any alert channel is configured."""
        return bool(self.wecom_robot_url or self.webhook_url or (self.smtp.host and self.smtp.to))


@dataclass(frozen=True)
class Category:
    key: str
    name: str = setting("", _nonempty_str, "分类显示名，如 \"基金监管\"")
    max_per_bundle: int | None = setting(0, _optional_cap, "每次推送中该分类最多几篇（0 为不限）")
    cover: Path | None = setting("", _optional_path, "分类默认封面图，相对配置文件")
    color: str = setting("#2b6cb0", _color, "分类强调色 #RRGGBB，用于标题和分隔线")


@dataclass(frozen=True)
class CampaignSettings:
    name: str = setting("", _nonempty_str, "宣传活动名称，如 \"基金监管集中宣传月\"")
    months: tuple[int, ...] = setting([], _months, "活动月份（1–12），如 [4]")
    categories: tuple[str, ...] = setting([], _str_list, "活动期间优先的分类键，如 [\"fund-supervision\"]")
    weight: int = setting(10, _int_between(0), "优先程度：加到这些分类文章的 priority 上")


SECTIONS: dict[str, type] = {
    "account": AccountSettings,
    "content": ContentSettings,
    "schedule": ScheduleSettings,
    "database": DatabaseSettings,
    "review": ReviewSettings,
    "theme": ThemeSettings,
    "checks": CheckSettings,
    "freshness": FreshnessSettings,
    "alerts": AlertSettings,
}

# Seed 000's campaign calendar: April is the fund-supervision publicity month, and
# autumn is the enrolment season for residents' insurance.
DEFAULT_CAMPAIGNS: list[dict[str, Any]] = [
    {"name": "基金监管集中宣传月", "months": [4], "categories": ["fund-supervision", "typical-cases"]},
    {"name": "城乡居民医保参保缴费", "months": [9, 10, 11, 12], "categories": ["policy", "services"]},
]

# The seeds' columns (屈原医保 2024 宣传工作方案), in the order editors think of them.
DEFAULT_CATEGORIES: dict[str, dict[str, Any]] = {
    "weekly-study": {"name": "每周一学", "max_per_bundle": 1, "color": "#2b6cb0"},
    "fund-supervision": {"name": "基金监管", "color": "#c53030"},
    "typical-cases": {"name": "典型案例", "color": "#b7791f"},
    "policy": {"name": "待遇政策", "color": "#2f855a"},
    "services": {"name": "经办业务", "color": "#319795"},
    "news": {"name": "工作动态", "color": "#4a5568"},
    "province-city": {"name": "省市动态", "color": "#6b46c1"},
    "other": {"name": "其他", "color": "#718096"},
}


@dataclass(frozen=True)
class Config:
    """Everything ``config.toml`` says, with defaults filled in and paths resolved."""

    path: Path
    account: AccountSettings
    content: ContentSettings
    schedule: ScheduleSettings
    database: DatabaseSettings
    review: ReviewSettings
    theme: ThemeSettings
    checks: CheckSettings
    freshness: FreshnessSettings
    alerts: AlertSettings
    categories: dict[str, Category]
    campaigns: tuple[CampaignSettings, ...]

    @property
    def root(self) -> Path:
        return self.path.parent

    def category(self, key_or_name: str) -> Category | None:
        """Look a category up by key (``fund-supervision``) or display name (``基金监管``)."""
        if key_or_name in self.categories:
            return self.categories[key_or_name]
        return next((c for c in self.categories.values() if c.name == key_or_name), None)

    def credentials(self) -> tuple[str, str]:
        """AppID and AppSecret from the environment variables the config names, or the AppSecret
        from ``[account].app_secret_file`` — refused when other users can read that file."""
        values = []
        keys = ("app_id_env",) if self.account.app_secret_file else ("app_id_env", "app_secret_env")
        for key in keys:
            name = getattr(self.account, key)
            value = os.environ.get(name, "").strip()
            if not value:
                raise ConfigError(f"环境变量 {name} 未设置（[account].{key}）：请在运行环境中提供公众号的 AppID 和 AppSecret")
            values.append(value)
        if self.account.app_secret_file:
            values.append(_secret_from_file(self.account.app_secret_file))
        return values[0], values[1]


def _secret_from_file(path: Path) -> str:
    """The AppSecret in ``path``; ConfigError when it is missing, empty, or readable by others."""
    import stat

    try:
        mode = path.stat().st_mode
    except OSError:
        raise ConfigError(f"找不到密钥文件 {path}（[account].app_secret_file）") from None
    if not stat.S_ISREG(mode):
        raise ConfigError(f"密钥文件 {path} 不是普通文件（[account].app_secret_file）")
    if mode & 0o077:
        raise ConfigError(f"密钥文件 {path} 的权限是 {stat.S_IMODE(mode):03o}，同组或其他用户也能读取，已拒绝使用："
                          f"请执行 chmod 600 {path}（[account].app_secret_file）")
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        raise ConfigError(f"无法读取密钥文件 {path}（[account].app_secret_file）") from None
    if not secret:
        raise ConfigError(f"密钥文件 {path} 是空的（[account].app_secret_file）")
    return secret


# --- loading ------------------------------------------------------------------

def load_config(path: str | Path = DEFAULT_CONFIG) -> Config:
    """Read and validate a config file; ConfigError (one message, naming the key) otherwise."""
    path = Path(path).expanduser().resolve()
    data = _read_toml(path)
    ctx = _Context(root=path.parent)
    where = path.name
    unknown = sorted(set(data) - set(SECTIONS) - {"categories", "campaigns"})
    if unknown:
        known = ", ".join([*SECTIONS, "categories", "campaigns"])
        raise ConfigError(f"{where}: 未知的配置节 [{unknown[0]}]（可用：{known}）")
    sections = {}
    for name, cls in SECTIONS.items():
        table = data.get(name, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: [{name}] 应为一个配置节")
        sections[name] = _build(cls, table, ctx, f"{where}: [{name}]")
    categories = _categories(data.get("categories", {}), ctx, where)
    campaigns = _campaigns(data.get("campaigns", DEFAULT_CAMPAIGNS), categories, ctx, where)
    return Config(path=path, categories=categories, campaigns=campaigns, **sections)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except FileNotFoundError:
        raise ConfigError(f"找不到配置文件 {path}（可用 --config 指定）") from None
    except IsADirectoryError:
        raise ConfigError(f"配置文件 {path} 是一个目录") from None
    except OSError as exc:
        raise ConfigError(f"无法读取配置文件 {path}：{exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path.name}: 配置文件不是 UTF-8 编码") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name}: {toml_error(exc)}") from None


# tomllib's English reasons → Chinese (the first that matches), for one line an editor can act on.
_TOML_REASONS = (
    ("Invalid value", "值的写法不对：文字要加英文引号（name = \"屈原医保\"），列表写成 [\"a\", \"b\"]"),
    ("Cannot overwrite a value", "同一个键写了两次，请删去一个"),
    ("Cannot declare", "同一个配置节写了两次，请合并成一个"),
    ("Unterminated string", "引号没有配对"),
    ("Expected '=' after a key", "键后面缺少“=”，应写成 键 = 值"),
    ("Expected ']' at the end of a table", "配置节名缺少右方括号，应写成 [account]"),
    ("Unclosed inline table", "花括号没有配对"),
    ("Unclosed array", "方括号没有配对"),
    ("Expected newline or end of document", "一行只能写一个 键 = 值，值后面多了内容（时间要写成 \"09:00\" 这样加引号）"),
    ("Invalid statement", "这一行不是 键 = 值 或 [配置节]"),
    ("Unescaped '\\'", "引号里的反斜杠 \\ 要写两个，或改用单引号"),
    ("Illegal character '\\n'", "引号没有配对：这一行的文字没有结束引号"),
    ("Illegal character", "有不允许的字符（如控制字符），请删去"),
)


def toml_error(exc: Exception) -> str:
    """A TOML syntax error in Chinese, with the line and column tomllib found it at."""
    text = str(exc)
    where = re.search(r"\(at line (\d+), column (\d+)\)", text)
    place = f"第 {where.group(1)} 行第 {where.group(2)} 列" if where else "文件末尾" if "end of document" in text else ""
    reason = next((chinese for english, chinese in _TOML_REASONS if english in text), "无法解析")
    return f"TOML 语法错误（{place}）：{reason}" if place else f"TOML 语法错误：{reason}"


def _build(cls: type, table: dict[str, Any], ctx: _Context, where: str, **given: Any) -> Any:
    known = {_toml_key(f): f for f in fields(cls) if "parse" in f.metadata}
    unknown = sorted(set(table) - set(known))
    if unknown:
        key = unknown[0]
        if any(word in key.lower() for word in ("secret", "token", "password")):
            raise ConfigError(f"{where}.{key}: 密钥不能写在配置文件里，请放进环境变量，"
                              "变量名由 [account].app_id_env / app_secret_env 指定")
        raise ConfigError(f"{where}.{key}: 未知的配置项（可用：{', '.join(known)}）")
    values = {}
    for name, spec in known.items():
        raw = table.get(name, spec.metadata["default"])
        if "section" in spec.metadata:  # a nested table: [alerts] → [alerts.smtp]
            inner = f"{where.removesuffix(']')}.{name}]"
            if not isinstance(raw, dict):
                raise ConfigError(f"{inner} 应为一个配置节")
            values[spec.name] = _build(spec.metadata["section"], raw, ctx, inner)
            continue
        try:
            values[spec.name] = spec.metadata["parse"](raw, ctx)
        except ValueError as exc:
            raise ConfigError(f"{where}.{name} = {_show(raw)} 无效：{exc}") from None
    return cls(**given, **values)


def _categories(table: Any, ctx: _Context, where: str) -> dict[str, Category]:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [categories] 应为配置节，如 [categories.policy]")
    merged = {key: dict(value) for key, value in DEFAULT_CATEGORIES.items()}
    for key, value in table.items():
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", key):
            raise ConfigError(f"{where}: [categories.{key}] 的键应由小写字母、数字和连字符组成（如 fund-supervision）")
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: [categories.{key}] 应为配置节")
        merged.setdefault(key, {}).update(value)
    categories = {}
    for key, value in merged.items():
        value.setdefault("name", key)
        categories[key] = _build(Category, value, ctx, f"{where}: [categories.{key}]", key=key)
    names = [c.name for c in categories.values()]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise ConfigError(f"{where}: [categories] 中有两个分类都叫“{duplicate}”")
    return categories


def _campaigns(value: Any, categories: dict[str, Category], ctx: _Context, where: str) -> tuple[CampaignSettings, ...]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigError(f"{where}: campaigns 应写成 [[campaigns]] 表数组")
    campaigns = []
    for i, table in enumerate(value, 1):
        campaign = _build(CampaignSettings, table, ctx, f"{where}: 第 {i} 个 [[campaigns]]")
        unknown = [key for key in campaign.categories if key not in categories]
        if unknown:
            raise ConfigError(f"{where}: 第 {i} 个 [[campaigns]].categories 中的分类 {unknown[0]} 不存在")
        campaigns.append(campaign)
    return tuple(campaigns)


def _show(value: Any) -> str:
    """A value as written, on one line: control and invisible characters escaped, long ones cut."""
    text = f'"{value}"' if isinstance(value, str) else repr(value)
    text = re.sub(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]",
                  lambda m: f"\\u{ord(m.group()):04x}", text)
    return text if len(text) <= 60 else text[:60] + "…"


def settings_table() -> list[tuple[str, str, Any, str]]:
    """(section, key, default, help) for every setting: documentation and tests read this."""
    rows = []
    sections = [*SECTIONS.items(), ("categories.<key>", Category), ("[campaigns]", CampaignSettings)]
    while sections:
        name, cls = sections.pop(0)
        for f in fields(cls):
            if "section" in f.metadata:
                sections.append((f"{name}.{_toml_key(f)}", f.metadata["section"]))
            elif "parse" in f.metadata:
                rows.append((name, _toml_key(f), f.metadata["default"], f.metadata["help"]))
    return rows

