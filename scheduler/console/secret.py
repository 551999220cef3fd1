"""The key that signs console session cookies.

From the environment variable ``TUIWEN_SERVE_SECRET`` when set (several console
processes behind one proxy must share it); else a random key generated once into
``console-secret`` (mode 600) beside the SQLite ledger, or beside config.toml for
a PostgreSQL/MariaDB ledger.  Changing it signs everyone out.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SECRET_ENV = "TUIWEN_SERVE_SECRET"
SECRET_FILE = "console-secret"
MIN_CHARS = 32


class SecretError(Exception):
    pass


def secret_path(database_url: str, config_dir: Path) -> Path:
    if database_url.startswith("sqlite"):
        path = database_url.split("///", 1)[-1]
        if path and path != ":memory:":
            return Path(path).resolve().parent / SECRET_FILE
    return config_dir / SECRET_FILE


def session_secret(database_url: str, config_dir: Path) -> str:
    value = os.environ.get(SECRET_ENV, "")
    if value:
        if len(value) < MIN_CHARS:
            raise SecretError(f"环境变量 {SECRET_ENV} 太短：至少 {MIN_CHARS} 个字符（可用 openssl rand -hex 32 生成）")
        return value
    path = secret_path(database_url, config_dir)
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    try:  # O_EXCL: two consoles starting at once keep the first one's key
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(value + "\n")
    return value
