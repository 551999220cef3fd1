"""The release ledger: what was pushed, when, and what WeChat answered.

The queries the scheduler needs (the tables are in ``tables``, engines and locks in
``engine``; both are re-exported here, so callers write ``ledger.Release``).  The database, not
the job store, decides who publishes a slot: the claim is an INSERT guarded by
UNIQUE(account, slot), and a post path can be live in only one release
(UNIQUE(account, post_path, live), where ``live`` is 1 or NULL — NULLs never
collide, on SQLite, PostgreSQL and MariaDB alike).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from .engine import LOCK_CLASS, file_lock, make_engine

# Release states are defined apart, so the CLI can name them without importing SQLAlchemy.
from .states import (  # noqa: F401 - re-exported: callers write ledger.CLAIMED
    CLAIMED,
    CONFIRMED,
    DRAFTED,
    EMPTY,
    FAILED,
    FINAL,
    IN_PROGRESS,
    MISSED,
    SENT,
    UNCONFIRMED,
    UPLOADED,
)
from .tables import (  # noqa: F401 - re-exported: callers write ledger.Release
    ACCOUNT_TABLES,
    Account,
    Base,
    ConsoleGrant,
    ConsoleUser,
    Event,
    Heartbeat,
    Media,
    Release,
    ReleaseItem,
    Token,
    UTCDateTime,
    WebApproval,
    rekey,
    utcnow,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ItemPlan:
    """What a release will carry at one position (written at claim time)."""

    position: int
    post_path: str
    sha256: str
    title: str
    category: str | None = None
    commit_sha: str | None = None
    commit_author: str | None = None
    commit_date: str | None = None


class PostTaken(Exception):
    """A post of the planned bundle is already live in another release (a race): plan again."""


class Ledger:
    """All reads and writes of the release ledger."""

    def __init__(self, url: str, *, migrate: bool = True, names: dict[str, str] | None = None,
                 threads: int = 1) -> None:
        """``names``: display name → key of the accounts, for a ledger written before keys;
        ``threads``: how many threads use it at once (a daemon's workers)."""
        self.url = url
        self.engine = make_engine(url, threads)
        self._session = sessionmaker(self.engine, expire_on_commit=False)
        if migrate:
            from .migrations import upgrade

            upgrade(self.engine, names=names or {})

    def adopt(self, key: str, name: str) -> None:
        """Know the account ``key``: the first time, rows filed under its display name move to it.

        Later, a new display name is only recorded: the rows stay under the key, so renaming
        an account keeps its history.
        """
        with self.session() as session:
            known = session.get(Account, key)
            if known is not None:
                if known.name != name:
                    known.name = name[:128]
                    session.commit()
                return
            if name != key:
                moved = rekey(session.connection(), name, key)
                if moved:
                    log.info("台账中“%s”的 %d 条记录已改记在账号 %s 下", name, moved, key)
            session.add(Account(key=key, name=name[:128]))
            try:
                session.commit()
            except IntegrityError:  # another process adopted it first: its move stands
                session.rollback()

    def accounts(self) -> dict[str, str]:
        """Key → display name of every account the ledger knows."""
        with self.session() as session:
            return {row.key: row.name for row in session.scalars(select(Account))}

    def session(self) -> Session:
        return self._session()

    def close(self) -> None:
        self.engine.dispose()

    # --- releases ---------------------------------------------------------

    def claim(self, account: str, slot: datetime, mode: str, items: Sequence[ItemPlan], *,
              late: bool = False, forced: bool = False, status: str = CLAIMED, error: str | None = None,
              digest: str | None = None, commit_sha: str | None = None) -> Release | None:
        """Insert the release of a slot with its items; None when another process holds it.

        The unique keys make this safe with several processes on one database:
        the slot is claimed once, and a post can be live in one release only
        (PostTaken when a post, not the slot, collided).
        """
        with self.session() as session:
            release = Release(account=account, slot=slot, mode=mode, late=late, forced=forced,
                              status=status, error=error, digest=digest, commit_sha=commit_sha)
            release.items = _items(account, None, items)
            session.add(release)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                if self.find(account, slot) is None:
                    raise PostTaken(f"{_local(slot)} 的文章已被另一次发布占用") from None
                return None
            self._event(session, account, release.id, "claimed" if status == CLAIMED else status,
                        f"{_local(slot)} 认领，{len(items)} 篇文章")
            session.commit()
            return release

    def reopen(self, failed: Release, items: Sequence[ItemPlan], *, late: bool = False, forced: bool = False,
               status: str = CLAIMED, error: str | None = None, digest: str | None = None,
               commit_sha: str | None = None) -> Release | None:
        """Plan a release that failed before its send again, with ``items``; None when another
        process reopened (or otherwise changed) it first.  Its earlier items were freed when it
        failed and are replaced; the events keep what happened before."""
        with self.session() as session:
            changed = session.execute(
                update(Release).where(Release.id == failed.id, Release.status == FAILED,
                                      Release.send_started_at.is_(None))
                .values(status=status, error=error, late=late or failed.late, forced=forced or failed.forced,
                        digest=digest, commit_sha=commit_sha, attempt=1, draft_media_id=None,
                        updated_at=utcnow()))
            if cast(CursorResult, changed).rowcount != 1:
                session.rollback()
                return None
            session.execute(delete(ReleaseItem).where(ReleaseItem.release_id == failed.id))
            session.add_all(_items(failed.account, failed.id, items))
            try:
                session.flush()
            except IntegrityError:
                session.rollback()
                raise PostTaken(f"{_local(failed.slot)} 的文章已被另一次发布占用") from None
            self._event(session, failed.account, failed.id, "reopened",
                        f"{_local(failed.slot)} 重新安排，{len(items)} 篇文章（上次失败：{failed.error or '原因未知'}）")
            session.commit()
        return self.get(failed.id)

    def get(self, release_id: int) -> Release:
        with self.session() as session:
            return session.get_one(Release, release_id)

    def find_id(self, account: str, release_id: int) -> Release | None:
        with self.session() as session:
            release = session.get(Release, release_id)
            return release if release is not None and release.account == account else None

    def find(self, account: str, slot: datetime) -> Release | None:
        with self.session() as session:
            return session.scalar(select(Release).where(Release.account == account, Release.slot == slot))

    def advance(self, release_id: int, status: str, message: str = "", **fields) -> Release:
        """Record a step of a release (and its event) in one committed transaction."""
        with self.session() as session:
            release = session.get_one(Release, release_id)
            release.status = status
            for key, value in fields.items():
                setattr(release, key, value)
            if status in (FAILED, MISSED):
                # A release that never went out frees its posts for a later slot.
                session.execute(update(ReleaseItem).where(ReleaseItem.release_id == release_id).values(live=None))
            self._event(session, release.account, release_id, status, message or status)
            session.commit()
            return release

    def set_urls(self, release_id: int, urls: dict[int, str]) -> None:
        """Article URLs by position, once WeChat reports them."""
        with self.session() as session:
            for item in session.scalars(select(ReleaseItem).where(ReleaseItem.release_id == release_id)):
                if item.position in urls:
                    item.article_url = urls[item.position]
            session.commit()

    def retry(self, release_id: int) -> Release:
        """Count another attempt at a release that had not been sent."""
        with self.session() as session:
            release = session.get_one(Release, release_id)
            release.attempt += 1
            session.commit()
            return release

    @contextmanager
    def running(self, release_id: int) -> Iterator[bool]:
        """Hold the run lock of a release while the block runs; False when another process holds it.

        The claim decides who owns a slot, but an unfinished release is resumed by whoever
        reconciles next, so two processes could otherwise carry one release at once (two drafts,
        two sends).  The lock lives as long as its holder: a PostgreSQL advisory lock or a
        MySQL/MariaDB GET_LOCK on a session held open, or for SQLite an flock on a file beside the
        database.  A process killed anywhere loses it at once, so a restart never waits for a lease.
        """
        dialect = self.engine.dialect.name
        if dialect == "sqlite":
            with file_lock(self.url, release_id) as held:
                yield held
            return
        if dialect == "postgresql":
            take = text("SELECT pg_try_advisory_lock(:a, :b)")
            give = text("SELECT pg_advisory_unlock(:a, :b)")
            params: dict[str, object] = {"a": LOCK_CLASS, "b": release_id}
        elif dialect in ("mysql", "mariadb"):
            take = text("SELECT GET_LOCK(:name, 0)")
            give = text("SELECT RELEASE_LOCK(:name)")
            # GET_LOCK names are server-wide: tell apart two ledgers on one server.
            where = hashlib.sha256(str(self.engine.url.database).encode()).hexdigest()[:16]
            params = {"name": f"tuiwen:{where}:release:{release_id}"}
        else:  # pragma: no cover - only the three tested backends are supported
            yield True
            return
        with self.engine.connect() as connection:
            held = bool(connection.execute(take, params).scalar())
            connection.commit()  # the lock belongs to the session, not to a transaction
            try:
                yield held
            finally:
                if held:
                    try:
                        connection.execute(give, params)
                        connection.commit()
                    except Exception:  # noqa: BLE001 - the database went away: so did the lock
                        log.warning("无法释放发布 %s 的运行锁（数据库连接已断开），丢弃该连接", release_id)
                        connection.invalidate()  # never hand a session that may hold it back to the pool

    def releases(self, account: str, limit: int | None = None, *, statuses: Iterable[str] | None = None) -> list[Release]:
        """Newest first."""
        query = select(Release).where(Release.account == account).order_by(Release.slot.desc())
        if statuses is not None:
            query = query.where(Release.status.in_(list(statuses)))
        with self.session() as session:
            return list(session.scalars(query.limit(limit)))

    def last_slot(self, account: str) -> datetime | None:
        with self.session() as session:
            return session.scalar(select(func.max(Release.slot)).where(Release.account == account))

    def published(self, account: str) -> tuple[set[str], set[str]]:
        """(paths, sha256s) of posts live in a release (claimed, sent or confirmed): never chosen again."""
        with self.session() as session:
            query = select(ReleaseItem.post_path, ReleaseItem.sha256).where(
                ReleaseItem.account == account, ReleaseItem.live == 1)
            rows = session.execute(query).all()
        return {path for path, _ in rows}, {sha for _, sha in rows}

    def published_paths(self, account: str) -> set[str]:
        return self.published(account)[0]

    # --- media cache ------------------------------------------------------

    def media(self, account: str, sha256: str, kind: str) -> Media | None:
        with self.session() as session:
            return session.get(Media, (account, sha256, kind))

    def remember_media(self, account: str, sha256: str, kind: str, *, media_id: str | None = None,
                       url: str | None = None) -> None:
        self._put(lambda: Media(account=account, sha256=sha256, kind=kind, media_id=media_id, url=url))

    def _put(self, row: Callable[[], Base]) -> None:
        """Insert or replace a row by primary key, safe when another process writes it at once.

        ``merge`` reads then inserts: two processes storing the same new key (a token both fetched,
        an image both saw uploaded) collide on the INSERT.  The loser retries, and finds the row.
        """
        for attempt in range(3):
            with self.session() as session:
                session.merge(row())
                try:
                    session.commit()
                    return
                except IntegrityError:
                    session.rollback()
                    if attempt == 2:
                        raise

    # --- events, heartbeat, tokens ----------------------------------------

    def event(self, account: str, kind: str, message: str, release_id: int | None = None) -> None:
        with self.session() as session:
            self._event(session, account, release_id, kind, message)
            session.commit()

    def events(self, account: str, release_id: int | None = None) -> list[Event]:
        query = select(Event).where(Event.account == account).order_by(Event.id)
        if release_id is not None:
            query = query.where(Event.release_id == release_id)
        with self.session() as session:
            return list(session.scalars(query))

    def count_events(self, account: str, kind: str, prefix: str = "") -> int:
        """How many events of ``kind`` were recorded, counting those whose message starts with ``prefix``."""
        query = select(func.count()).select_from(Event).where(
            Event.account == account, Event.kind == kind, Event.message.startswith(prefix, autoescape=True))
        with self.session() as session:
            return session.scalar(query) or 0

    def first_event(self, account: str, kind: str) -> datetime | None:
        """When the first event of ``kind`` was recorded, if ever."""
        with self.session() as session:
            return session.scalar(select(func.min(Event.at)).where(Event.account == account, Event.kind == kind))

    @staticmethod
    def _event(session: Session, account: str, release_id: int | None, kind: str, message: str) -> None:
        session.add(Event(account=account, release_id=release_id, kind=kind[:32], message=message))

    # --- web approvals -----------------------------------------------------

    def approve(self, account: str, post_path: str, sha256: str, role: str, by: str, at: datetime) -> None:
        """Record a console approval; it replaces the same role's earlier one for the post (one per role)."""
        with self.session() as session:
            session.execute(delete(WebApproval).where(WebApproval.account == account, WebApproval.post_path == post_path,
                                                      WebApproval.role == role))
            session.add(WebApproval(account=account, post_path=post_path[:512], sha256=sha256, role=role[:32],
                                    by=by[:64], at=at))
            session.commit()

    def approvals(self, account: str) -> list[WebApproval]:
        with self.session() as session:
            return list(session.scalars(select(WebApproval).where(WebApproval.account == account)
                                        .order_by(WebApproval.id)))

    def beat(self, name: str, account: str, started_at: datetime, now: datetime | None = None) -> None:
        """Touch a running daemon's heartbeat row (``name`` identifies the daemon)."""
        with self.session() as session:
            row = session.get(Heartbeat, name)
            if row is None:
                session.add(Heartbeat(name=name[:128], account=account, started_at=started_at, beat_at=now or utcnow()))
            else:
                row.beat_at = now or utcnow()
            session.commit()

    def beat_many(self, names: Sequence[str], now: datetime) -> None:
        """Touch the heartbeat rows of several daemons (already written once) in one statement."""
        with self.session() as session:
            session.execute(update(Heartbeat).where(Heartbeat.name.in_([n[:128] for n in names])).values(beat_at=now))
            session.commit()

    def overview(self, accounts: Iterable[str]) -> tuple[set[str], dict[str, datetime]]:
        """(the accounts with an unfinished release, each account's latest slot): one look for many."""
        keys = list(accounts)
        with self.session() as session:
            unfinished = set(session.scalars(select(Release.account).distinct().where(
                Release.account.in_(keys), Release.status.in_(list(IN_PROGRESS)))))
            latest = session.execute(select(Release.account, func.max(Release.slot)).where(
                Release.account.in_(keys)).group_by(Release.account)).all()
        return unfinished, dict(latest)

    def stop_beating(self, name: str) -> None:
        with self.session() as session:
            session.execute(delete(Heartbeat).where(Heartbeat.name == name[:128]))
            session.commit()

    def last_beat(self, account: str) -> datetime | None:
        with self.session() as session:
            return session.scalar(select(func.max(Heartbeat.beat_at)).where(Heartbeat.account == account))

    def token(self, key: str, now: datetime | None = None) -> str | None:
        """A stored token still valid at ``now``, or None."""
        with self.session() as session:
            row = session.get(Token, key)
            if row is None or row.expires_at <= (now or utcnow()):
                return None
            return row.value

    def store_token(self, key: str, value: str, expires_at: datetime) -> None:
        self._put(lambda: Token(key=key, value=value, expires_at=expires_at))

    def forget_token(self, key: str) -> None:
        with self.session() as session:
            session.execute(delete(Token).where(Token.key == key))
            session.commit()


def _items(account: str, release_id: int | None, items: Sequence[ItemPlan]) -> list[ReleaseItem]:
    return [ReleaseItem(account=account, release_id=release_id, position=i.position, post_path=i.post_path,
                        sha256=i.sha256, title=i.title[:255], category=i.category, commit_sha=i.commit_sha,
                        commit_author=(i.commit_author or None) and i.commit_author[:128],
                        commit_date=i.commit_date)
            for i in items]


def _local(slot: datetime) -> str:
    return slot.strftime("%Y-%m-%d %H:%M UTC")

