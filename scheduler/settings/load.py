"""Reading ``config.toml``: TOML → validated sections, one ConfigError naming the key otherwise."""

from __future__ import annotations

import re
import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

from .model import Config, ConfigError
from .sections import DEFAULT_CAMPAIGNS, DEFAULT_CATEGORIES, SECTIONS, CampaignSettings, Category
from .values import _Context, _toml_key


def config_from(data: dict[str, Any], path: Path, prefix: str = "") -> Config:
    """One account's Config from its TOML tables (``prefix``: where they were written, for messages)."""
    ctx = _Context(root=path.parent)
    where = path.name
    unknown = sorted(set(data) - set(SECTIONS) - {"categories", "campaigns"})
    if unknown:
        known = ", ".join([*SECTIONS, "categories", "campaigns", "accounts"])
        raise ConfigError(f"{where}: 未知的配置节 [{prefix}{unknown[0]}]（可用：{known}）")
    sections = {}
    for name, cls in SECTIONS.items():
        table = data.get(name, {})
        label = prefix.removesuffix(".") if prefix and name == "account" else prefix + name
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: [{label}] 应为一个配置节")
        sections[name] = _build(cls, table, ctx, f"{where}: [{label}]")
    categories = _categories(data.get("categories", {}), ctx, where)
    campaigns = _campaigns(data.get("campaigns", DEFAULT_CAMPAIGNS), categories, ctx, where)
    return Config(path=path, categories=categories, campaigns=campaigns, **sections)


def read_toml(path: Path) -> dict[str, Any]:
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
