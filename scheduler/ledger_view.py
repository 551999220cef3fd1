"""Read-only views of a SQLite ledger through the standard library.

Importing SQLAlchemy takes longer than ``publish status`` or a dry run may take in
all, and those commands only read.  For a SQLite ledger they read it here, opened
read-only; each method answers exactly as the :class:`~scheduler.ledger.Ledger`
method of the same name (a test compares them).  Anything unexpected — another
backend, a file of an older schema — returns None, and the caller opens the Ledger.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import overload

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReleaseRow:
    """The columns of a release that the read-only commands show."""

    slot: datetime
    status: str
    mode: str
    late: bool
    forced: bool
    sent_at: datetime | None
    send_started_at: datetime | None = None
    error: str | None = None


@dataclass(frozen=True)
class WithdrawalRow:
    """An article taken down (``publish withdraw``), as status shows it."""

    release_id: int
    position: int
    title: str
    by: str
    at: datetime
    reason: str


WITHDRAWALS_SQL = ("SELECT w.release_id, w.position, COALESCE(i.title, ''), w.by, w.at, w.reason FROM withdrawal w "
                   "LEFT JOIN release_item i ON i.release_id = w.release_id AND i.position = w.position "
                   "WHERE w.account = ? ORDER BY w.at DESC, w.id DESC LIMIT ?")


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite ledger URL, or None for any other backend."""
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


def not_created(url: str) -> bool:
    """True for a SQLite ledger whose file does not exist yet (read-only commands create none)."""
    path = sqlite_file(url)
    return path is not None and not path.exists()


class SQLiteView:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

    @classmethod
    def open(cls, url: str) -> SQLiteView | None:
        """A view of the SQLite ledger at ``url``, or None (not SQLite, or no such file)."""
        path = sqlite_file(url)
        if path is None or not path.is_file():
            return None
        try:
            return cls(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30))
        except sqlite3.Error:
            return None

    def close(self) -> None:
        self._db.close()

    def _rows(self, query: str, params: tuple) -> list[tuple] | None:
        try:
            return self._db.execute(query, params).fetchall()
        except sqlite3.Error as exc:
            log.debug("reading the ledger without SQLAlchemy failed: %s", exc)
            return None

    def published(self, account: str) -> tuple[set[str], set[str]] | None:
        rows = self._rows("SELECT post_path, sha256 FROM release_item WHERE account = ? AND live = 1", (account,))
        return None if rows is None else ({p for p, _ in rows}, {s for _, s in rows})

    def releases(self, account: str, limit: int | None = None, *,
                 statuses: Iterable[str] | None = None) -> list[ReleaseRow] | None:
        """Newest first."""
        query, params = ("SELECT slot, status, mode, late, forced, sent_at, send_started_at, error "
                         "FROM release WHERE account = ?"), [account]
        if statuses is not None:
            statuses = list(statuses)
            query += f" AND status IN ({', '.join('?' * len(statuses))})"
            params += statuses
        query += " ORDER BY slot DESC" + (" LIMIT ?" if limit is not None else "")
        rows = self._rows(query, tuple(params + ([limit] if limit is not None else [])))
        if rows is None:
            return None
        return [ReleaseRow(_utc(slot), status, mode, bool(late), bool(forced), _utc(sent), _utc(started), error)
                for slot, status, mode, late, forced, sent, started, error in rows]

    def withdrawals(self, account: str, limit: int) -> list[WithdrawalRow] | None:
        """The latest withdrawals, newest first (None for a ledger from before them)."""
        rows = self._rows(WITHDRAWALS_SQL, (account, limit))
        if rows is None:
            return None
        return [WithdrawalRow(release, position, title, by, _utc(at), reason)
                for release, position, title, by, at, reason in rows]

    def knows(self, key: str) -> bool:
        """Whether the ledger files rows under this account key yet (else the Ledger must adopt it)."""
        rows = self._rows("SELECT 1 FROM account WHERE key = ?", (key,))
        return bool(rows)

    def last_beat(self, account: str) -> datetime | None:
        rows = self._rows("SELECT MAX(beat_at) FROM heartbeat WHERE account = ?", (account,))
        return _utc(rows[0][0]) if rows else None


@overload
def _utc(value: str) -> datetime: ...
@overload
def _utc(value: str | None) -> datetime | None: ...


def _utc(value: str | None) -> datetime | None:
    # SQLAlchemy writes naive UTC as "YYYY-MM-DD HH:MM:SS[.ffffff]" on SQLite.
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)
