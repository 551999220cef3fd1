"""Faults outside the content as one Chinese line for people: what failed and what to do.

The CLI turns these into exit code 3 and the daemon into a log line and a retry, so neither
ever shows a traceback for a database gone away, a full disk or an unexpected answer.
Nothing here imports SQLAlchemy: a fault is recognised by its class's module.
"""

from __future__ import annotations

import errno
import sys

DATABASE_HINT = "请确认台账数据库在运行、可以写入、磁盘未满（[database].url），然后重试"
_DISK = {errno.ENOSPC: "磁盘已满", errno.EROFS: "文件系统只读", errno.EACCES: "没有写权限",
         errno.EDQUOT: "磁盘配额已用完"}


def is_database_error(exc: BaseException) -> bool:
    """An error of the ledger's database (SQLAlchemy or the sqlite3 driver), of any kind."""
    sqlalchemy = sys.modules.get("sqlalchemy.exc")
    if sqlalchemy is not None and isinstance(exc, sqlalchemy.SQLAlchemyError):
        return True
    sqlite3 = sys.modules.get("sqlite3")
    return sqlite3 is not None and isinstance(exc, sqlite3.Error)


def is_fault(exc: BaseException) -> bool:
    """A failure of something outside the content (database, disk, WeChat, network): exit 3."""
    from publishers.base import PublishError

    return is_database_error(exc) or isinstance(exc, (OSError, PublishError))


def describe(exc: BaseException) -> str:
    """One line for people, without a traceback, a password or a token."""
    from publishers.base import PublishError

    if isinstance(exc, PublishError):
        return _line(exc.message)
    if is_database_error(exc):
        return f"台账数据库出错：{_database_cause(exc)}。{DATABASE_HINT}"
    if type(exc).__name__ == "CommandError" and "locate revision" in str(exc):  # alembic
        return ("台账数据库是更新版本的 tuiwen 建立或升级过的，这个版本不认识它的结构。"
                "请把 tuiwen 升级到与其他机器相同的版本后再运行")
    if isinstance(exc, OSError) and exc.errno in _DISK:
        where = f"（{exc.filename}）" if exc.filename else ""
        return f"写入文件失败{where}：{_DISK[exc.errno]}。请腾出磁盘空间或检查权限后重试"
    if isinstance(exc, OSError):
        return f"读写文件或网络出错：{_line(exc.strerror or str(exc))}。请检查后重试"
    return f"意外错误（{type(exc).__name__}：{_line(str(exc))}）。请把这行信息告诉维护人员"


def _database_cause(exc: BaseException) -> str:
    """The driver's own words, first line only (SQLAlchemy appends the statement and a link)."""
    orig = getattr(exc, "orig", None) or exc
    text = _line(str(orig)) or type(orig).__name__
    lowered = text.lower()
    for needle, zh in (("readonly", "数据库只读"), ("read-only", "数据库只读"), ("disk is full", "磁盘已满"),
                       ("disk full", "磁盘已满"), ("no space", "磁盘已满"), ("connection refused", "连接被拒绝"),
                       ("can't connect", "无法连接"), ("could not connect", "无法连接"),
                       ("server closed the connection", "连接被服务器断开"),
                       ("lost connection", "连接已断开"), ("gone away", "连接已断开"),
                       ("terminating connection", "数据库正在关闭或重启"), ("unable to open", "无法打开数据库文件"),
                       ("database is locked", "数据库被其他进程锁住")):
        if needle in lowered:
            return f"{zh}（{text[:160]}）"
    return text[:200]


def _line(text: str) -> str:
    return " ".join(str(text).split("\n")[0].split()).rstrip("。")
