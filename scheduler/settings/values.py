"""Single settings: weekly slots, the parsers of TOML values, and how a setting is declared."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from publishers.limits import AUTHOR_MAX, wechat_len
from publishers.limits import MAX_ARTICLES as WECHAT_MAX_ARTICLES

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


def account_key(value: Any, ctx: _Context) -> str:
    """An account's stable key: the ledger files everything under it, so it never changes."""
    if not isinstance(value, str) or not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,31}", value):
        raise ValueError('应由小写字母、数字和连字符组成（最多 32 个字符），例如 "quyuan"')
    return value


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


def _optional_http_url(value: Any, ctx: _Context) -> str:
    return "" if value == "" else _http_url(value, ctx)


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
        from ..wording import validate_words_file  # the rule format lives with the rules

        validate_words_file(path)
    return path


def _local_words(value: Any, ctx: _Context) -> tuple:
    if value == {}:
        return ()  # the default: no need to load the matcher to say so
    from ..wording import parse_local_words

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
