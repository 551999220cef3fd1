"""Article figures in the ledger: WeChat's read counts per article, and who fetches them when.

``article_figures`` holds one row per article (msg_data_id, index from 1) and ``stat_date``: the
running totals from publication to that day, as ``getarticletotaldetail`` gives them.  Writing
the same answer twice changes nothing (an upsert on the key), on SQLite, PostgreSQL and MariaDB.

``figures_fetch`` is the daily fetch's claim: one row per account and local day.  The first
daemon to insert it fetches; the others see the row and skip.  A fetch that got ``is_delay``
figures sets ``retry_at``, and a fetch whose daemon died leaves a stale claim: either may be
taken over by one UPDATE whose row count says who won.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from .ledger import Ledger, utcnow
from .tables import ArticleFigure, FiguresFetch

STALE_CLAIM = timedelta(hours=1)  # a claim this old, never finished, was left by a daemon that died
FIGURES = ("reads", "shares", "zaikan", "likes", "comments", "collections")


@dataclass(frozen=True)
class Held:
    """The newest figures held for one article."""

    msg_data_id: str
    idx: int
    pub_date: str
    stat_date: str
    reads: int
    shares: int
    zaikan: int
    comments: int
    final: bool


def store(ledger: Ledger, account: str, rows: Iterable[dict], now: datetime | None = None) -> int:
    """Upsert figure rows (dicts with the columns but ``account``); how many were given."""
    values = [{**row, "account": account, "fetched_at": now or utcnow()} for row in rows]
    if not values:
        return 0
    changed = (*FIGURES, "pub_date", "final", "fetched_at")
    with ledger.session() as session, session.begin():
        statement: Any
        dialect = session.get_bind().dialect.name
        if dialect in ("mysql", "mariadb"):
            from sqlalchemy.dialects.mysql import insert as mysql_insert

            statement = mysql_insert(ArticleFigure).values(values)
            statement = statement.on_duplicate_key_update({c: statement.inserted[c] for c in changed})
        else:
            if dialect == "postgresql":
                from sqlalchemy.dialects.postgresql import insert as pg_insert

                statement = pg_insert(ArticleFigure).values(values)
            else:
                from sqlalchemy.dialects.sqlite import insert as sqlite_insert

                statement = sqlite_insert(ArticleFigure).values(values)
            statement = statement.on_conflict_do_update(
                index_elements=["account", "msg_data_id", "idx", "stat_date"],
                set_={c: statement.excluded[c] for c in changed})
        session.execute(statement)
    return len(values)


def newest(ledger: Ledger, account: str, msg_data_ids: Sequence[str]) -> dict[tuple[str, int], Held]:
    """The newest row held for each article of these messages, by (msg_data_id, index)."""
    if not msg_data_ids:
        return {}
    f = ArticleFigure
    latest = (select(f.msg_data_id, f.idx, func.max(f.stat_date).label("stat_date"))
              .where(f.account == account, f.msg_data_id.in_(list(msg_data_ids)))
              .group_by(f.msg_data_id, f.idx).subquery())
    query = select(f).join(latest, and_(f.msg_data_id == latest.c.msg_data_id, f.idx == latest.c.idx,
                                        f.stat_date == latest.c.stat_date)).where(f.account == account)
    with ledger.session() as session:
        return {(r.msg_data_id, r.idx): Held(r.msg_data_id, r.idx, r.pub_date, r.stat_date, r.reads, r.shares,
                                             r.zaikan, r.comments, r.final)
                for r in session.scalars(query)}


def pushed(ledger: Ledger, account: str, low: datetime, high: datetime, statuses: Sequence[str]) -> list:
    """Releases of ``account`` in these statuses with a msg_data_id and a slot in [low, high)."""
    from .ledger import Release

    query = (select(Release).where(Release.account == account, Release.status.in_(list(statuses)),
                                   Release.msg_data_id.is_not(None), Release.slot >= low, Release.slot < high)
             .order_by(Release.slot))
    with ledger.session() as session:
        return list(session.scalars(query))


def claim(ledger: Ledger, account: str, day: str, by: str, now: datetime) -> bool:
    """True when this caller is the one to fetch ``account``'s figures on ``day`` now."""
    with ledger.session() as session:
        try:
            with session.begin():
                session.add(FiguresFetch(account=account, day=day, by=by, started_at=now))
            return True
        except IntegrityError:
            pass
    row = FiguresFetch
    takeover = (update(row).where(row.account == account, row.day == day,
                                  or_(and_(row.retry_at.is_not(None), row.retry_at <= now),
                                      and_(row.done_at.is_(None), row.retry_at.is_(None),
                                           row.started_at < now - STALE_CLAIM)))
                .values(by=by, started_at=now, retry_at=None, done_at=None, error=None))
    with ledger.session() as session, session.begin():
        return (session.execute(takeover).rowcount or 0) == 1  # type: ignore[attr-defined]


def finish(ledger: Ledger, account: str, day: str, now: datetime, *, retry_at: datetime | None = None,
           error: str | None = None) -> None:
    """Close the day's claim: done (``retry_at`` set when figures were delayed), with any error."""
    row = FiguresFetch
    with ledger.session() as session, session.begin():
        session.execute(update(row).where(row.account == account, row.day == day)
                        .values(done_at=now, retry_at=retry_at, error=error))


def fetch_of(ledger: Ledger, account: str, day: str) -> FiguresFetch | None:
    with ledger.session() as session:
        return session.get(FiguresFetch, (account, day))
