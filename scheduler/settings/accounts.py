"""Several accounts in one ``config.toml``: ``[accounts.<key>]`` tables over shared defaults.

The top-level sections are written once and hold for every account; an account's
table overrides any of them (``[accounts.quyuan.schedule]``), and its plain keys
are ``[account]`` keys (``name``, ``app_id_env``...).  With no ``[accounts.*]``
table the top level is the one account, whose key is ``[account].key``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from .load import config_from, read_toml
from .model import DEFAULT_CONFIG, Config, ConfigError
from .sections import SECTIONS

_TABLES = {*SECTIONS, "categories", "campaigns"}


def load_accounts(path: str | Path = DEFAULT_CONFIG) -> list[Config]:
    """Every account of a config file, in the order written; ConfigError naming the key otherwise."""
    path = Path(path).expanduser().resolve()
    data = read_toml(path)
    accounts = data.pop("accounts", None)
    if accounts is None:
        return [config_from(data, path)]
    if not isinstance(accounts, dict) or not accounts or not all(isinstance(t, dict) for t in accounts.values()):
        raise ConfigError(f"{path.name}: accounts 应写成 [accounts.<键>] 配置节，例如 [accounts.quyuan]")
    configs = [config_from(_merged(data, key, table, path), path, f"accounts.{key}.")
               for key, table in accounts.items()]
    _refuse_shared(configs, path)
    return configs


def load_config(path: str | Path = DEFAULT_CONFIG) -> Config:
    """The first (or only) account of a config file: what single-account callers use."""
    return load_accounts(path)[0]


def _merged(shared: dict[str, Any], key: str, table: dict[str, Any], path: Path) -> dict[str, Any]:
    """The shared tables with the account's own laid over them, key by key."""
    from .values import _Context, account_key

    try:
        account_key(key, _Context(path.parent))
    except ValueError as exc:
        raise ConfigError(f"{path.name}: [accounts.{key}] 的键无效：{exc}") from None
    data = copy.deepcopy(shared)
    own = {name: value for name, value in table.items() if name in _TABLES}
    plain = {name: value for name, value in table.items() if name not in _TABLES}
    if own.get("account", {}).get("key", key) != key or plain.get("key", key) != key:
        raise ConfigError(f"{path.name}: [accounts.{key}] 的 key 只能是 {key}（账号的键就是表名）")
    for name, value in own.items():
        base = data.get(name)
        data[name] = _overlay(base, value) if isinstance(base, dict) and isinstance(value, dict) else value
    data["account"] = _overlay(data.get("account", {}), plain) | {"key": key}
    return data


def _overlay(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for name, value in top.items():
        inner = merged.get(name)
        merged[name] = _overlay(inner, value) if isinstance(inner, dict) and isinstance(value, dict) else value
    return merged


def _refuse_shared(configs: list[Config], path: Path) -> None:
    """Two accounts on one AppID, one secret file or one content folder would publish each other's posts."""
    seen: dict[tuple[str, object], str] = {}
    for config in configs:
        account = config.account
        owned = [("AppID 环境变量", account.app_id_env), ("content 目录", config.content.dir)]
        if account.app_secret_file:
            owned.append(("密钥文件", account.app_secret_file))
        for what, value in owned:
            other = seen.setdefault((what, value), account.key)
            if other != account.key:
                raise ConfigError(f"{path.name}: 账号 {other} 和 {account.key} 用了同一个{what} {value}："
                                  "每个账号须有自己的 app_id_env、app_secret_file 和 [content].dir")
