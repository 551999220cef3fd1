"""Engines and release locks for the ledger's backends (SQLite, PostgreSQL, MariaDB)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine


def make_engine(url: str, threads: int = 1) -> Engine:
    """An engine with the settings each backend needs for several processes at once.

    A thread carrying a release holds two connections (its run lock's session and its
    queries): the pool of a server database has room for that in every thread.
    """
    if url.startswith("sqlite"):
        _ensure_sqlite_folder(url)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, record):  # pragma: no cover - trivial
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=max(5, 2 * threads + 1), max_overflow=10)


LOCK_CLASS = 0x74770001  # PostgreSQL advisory locks of tuiwen releases: (this, release id)
_LOCAL_LOCKS: dict[str, threading.Lock] = {}  # in-memory SQLite: one process, so a process lock


@contextmanager
def file_lock(url: str, release_id: int) -> Iterator[bool]:
    """An exclusive, non-blocking flock on ``<database>.locks/release-<id>.lock``.

    flock belongs to the open file, so two threads of one process exclude each other too; the
    files are never deleted (deleting a lock file while another process opens it breaks it).
    """
    import fcntl

    path = url.split("///", 1)[-1]
    if not path or path == ":memory:":
        lock = _LOCAL_LOCKS.setdefault(f"{url}#{release_id}", threading.Lock())
        held = lock.acquire(blocking=False)
        try:
            yield held
        finally:
            if held:
                lock.release()
        return
    folder = os.path.abspath(path) + ".locks"
    os.makedirs(folder, exist_ok=True)
    fd = os.open(os.path.join(folder, f"release-{release_id}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # closing the file drops the lock


def _ensure_sqlite_folder(url: str) -> None:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
