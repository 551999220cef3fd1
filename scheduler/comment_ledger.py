"""The comments (留言) of pushed articles, as the ledger keeps them.

One row per comment, keyed by the account, the mass send's ``msg_data_id``, the article's
index in it (from 0, as WeChat's comment API counts) and WeChat's ``user_comment_id``, so a
fetch repeated by any number of processes writes each comment once.  The commenter's openid
is kept only as a salted hash: enough to tell one person's comments apart, nothing more.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError, OperationalError

from .ledger import Ledger
from .tables import Base, Comment, CommentFetch, UTCDateTime, utcnow  # noqa: F401 - re-exported


@dataclass(frozen=True)
class Seen:
    """One comment as comment/list shows it."""

    user_comment_id: int
    content: str
    created_at: datetime
    selected: bool
    openid: str | None = None
    reply: str | None = None
    replied_at: datetime | None = None


def hash_openid(account: str, openid: str | None) -> str | None:
    """The openid, salted with the account key and hashed: comparable, not reversible by lookup."""
    if not openid:
        return None
    return hashlib.sha256(f"tuiwen comment\0{account}\0{openid}".encode()).hexdigest()


def store(ledger: Ledger, account: str, release_id: int, msg_data_id: str, idx: int, seen: Sequence[Seen],
          now: datetime, *, complete: bool) -> list[Comment]:
    """Write what one fetch of an article showed; the comments new to the ledger.

    ``complete``: every page was read, so a comment the ledger holds and WeChat no longer
    lists was deleted (by its writer or in WeChat's back office).  Safe to run at once in
    several processes: an insert that collides is retried as an update.
    """
    for attempt in range(3):
        with ledger.session() as session:
            rows = {c.user_comment_id: c for c in session.scalars(select(Comment).where(
                Comment.account == account, Comment.msg_data_id == msg_data_id, Comment.idx == idx))}
            new = []
            for item in seen:
                row = rows.get(item.user_comment_id)
                if row is None:
                    row = Comment(account=account, release_id=release_id, msg_data_id=msg_data_id, idx=idx,
                                  user_comment_id=item.user_comment_id, openid_hash=hash_openid(account, item.openid),
                                  content=item.content, created_at=item.created_at, seen_at=now,
                                  selected=item.selected, reply=item.reply, replied_at=item.replied_at)
                    session.add(row)
                    new.append(row)
                    continue
                row.selected, row.content = item.selected, item.content
                if item.reply is not None and row.reply is None:  # answered in WeChat's back office
                    row.reply, row.replied_at = item.reply, item.replied_at or now
                elif item.reply is None and row.reply is not None and not row.deleted:
                    row.reply = row.replied_at = row.replied_by = None  # the reply was deleted there
            if complete:
                listed = {item.user_comment_id for item in seen}
                for row in rows.values():
                    if row.user_comment_id not in listed and not row.deleted:
                        row.deleted, row.deleted_at = True, now
            try:
                session.commit()
                return new
            except (IntegrityError, OperationalError):  # a row another process wrote, or a deadlock: again
                session.rollback()
                if attempt == 2:
                    raise
    return []  # pragma: no cover - the loop returns or raises


def get(ledger: Ledger, account: str, comment_id: int) -> Comment | None:
    with ledger.session() as session:
        row = session.get(Comment, comment_id)
        return row if row is not None and row.account == account else None


def of_account(ledger: Ledger, account: str, *, unanswered: bool = False,
               release_ids: Iterable[int] | None = None) -> list[Comment]:
    """The account's comments not deleted, oldest first; ``unanswered``: only those without a reply."""
    query = select(Comment).where(Comment.account == account, Comment.deleted.is_(False))
    if unanswered:
        query = query.where(Comment.reply.is_(None))
    if release_ids is not None:
        query = query.where(Comment.release_id.in_(list(release_ids)))
    with ledger.session() as session:
        return list(session.scalars(query.order_by(Comment.created_at, Comment.id)))


def of_releases(ledger: Ledger, account: str, release_ids: Iterable[int]) -> list[Comment]:
    """Every comment of these releases, deleted ones too (a report counts what was received)."""
    with ledger.session() as session:
        return list(session.scalars(select(Comment).where(
            Comment.account == account, Comment.release_id.in_(list(release_ids)))))


def record_reply(ledger: Ledger, comment_id: int, text: str, by: str, at: datetime) -> None:
    _set(ledger, comment_id, reply=text, replied_at=at, replied_by=by[:64])


def record_selected(ledger: Ledger, comment_id: int, selected: bool) -> None:
    _set(ledger, comment_id, selected=selected)


def record_deleted(ledger: Ledger, comment_id: int, at: datetime) -> None:
    _set(ledger, comment_id, deleted=True, deleted_at=at)


def _set(ledger: Ledger, comment_id: int, **values) -> None:
    with ledger.session() as session:
        session.execute(update(Comment).where(Comment.id == comment_id).values(**values))
        session.commit()


def claim_alert(ledger: Ledger, comment_id: int, now: datetime) -> bool:
    """Take the reply-deadline alert of a comment; False when it was taken (by any process) before."""
    with ledger.session() as session:
        result = session.execute(update(Comment).where(Comment.id == comment_id, Comment.alerted_at.is_(None))
                                 .values(alerted_at=now))
        session.commit()
        return cast(CursorResult, result).rowcount == 1


def release_alert(ledger: Ledger, comment_id: int) -> None:
    """Give an alert back when no channel took it, so a later look tries again."""
    _set(ledger, comment_id, alerted_at=None)


def claim_fetch(ledger: Ledger, account: str, now: datetime, every: float) -> bool:
    """True when this process should fetch the account's comments now: the last fetch (by any
    process on this ledger) is at least ``every`` seconds old.  The first row is an INSERT (one
    wins the primary key), later turns a conditional UPDATE: of several daemons looking at once
    exactly one wins.  A lock conflict is a turn lost, which is harmless: someone else fetches."""
    from datetime import timedelta

    with ledger.session() as session:
        try:
            if session.get(CommentFetch, account) is None:
                session.add(CommentFetch(account=account, fetched_at=now))
                session.commit()
                return True
            result = session.execute(update(CommentFetch).where(
                CommentFetch.account == account, CommentFetch.fetched_at <= now - timedelta(seconds=every))
                .values(fetched_at=now))
            session.commit()
            return cast(CursorResult, result).rowcount == 1
        except (IntegrityError, OperationalError):  # another process wrote the first row, or holds it
            session.rollback()
            return False
