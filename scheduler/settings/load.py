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
        raise ConfigError(f"{path.name}: TOML 语法错误：{exc}") from None


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
    return f'"{value}"' if isinstance(value, str) else repr(value)


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
