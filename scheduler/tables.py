"""The ledger's tables: SQLAlchemy 2.0 models, one class a table.

The schema itself is made and changed only by the migrations (scheduler/migrations);
these classes are how the code reads and writes it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, update
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from .states import CLAIMED


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out; stored naive UTC (MySQL has no zones)."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the ledger")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class Release(Base):
    __tablename__ = "release"
    __table_args__ = (UniqueConstraint("account", "slot", name="uq_release_account_slot"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(64))
    slot: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default=CLAIMED)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    mode: Mapped[str] = mapped_column(String(16))
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
    draft_media_id: Mapped[str | None] = mapped_column(String(128))
    msg_id: Mapped[str | None] = mapped_column(String(64))
    msg_data_id: Mapped[str | None] = mapped_column(String(64))
    publish_id: Mapped[str | None] = mapped_column(String(64))
    article_id: Mapped[str | None] = mapped_column(String(128))  # a 发布's, to delete it by (withdraw)
    clientmsgid: Mapped[str | None] = mapped_column(String(32))
    digest: Mapped[str | None] = mapped_column(String(64))
    commit_sha: Mapped[str | None] = mapped_column(String(64))  # the content commit it was read from
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    send_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # intent, before the call
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)

    items: Mapped[list[ReleaseItem]] = relationship(
        back_populates="release", order_by="ReleaseItem.position", lazy="selectin")


class ReleaseItem(Base):
    __tablename__ = "release_item"
    __table_args__ = (
        UniqueConstraint("release_id", "position", name="uq_item_position"),
        UniqueConstraint("account", "post_path", "live", name="uq_item_live_post"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("release.id", ondelete="CASCADE"))
    account: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer)
    post_path: Mapped[str] = mapped_column(String(512))
    sha256: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(255))
    category: Mapped[str | None] = mapped_column(String(64))
    live: Mapped[int | None] = mapped_column(Integer, default=1)  # 1, or NULL once its release failed
    article_url: Mapped[str | None] = mapped_column(Text)
    commit_sha: Mapped[str | None] = mapped_column(String(64))  # the post's last commit
    commit_author: Mapped[str | None] = mapped_column(String(128))
    commit_date: Mapped[str | None] = mapped_column(String(40))  # ISO 8601, as git reports it
    extra: Mapped[dict | None] = mapped_column(JSON)

    release: Mapped[Release] = relationship(back_populates="items")


class Media(Base):
    """Uploaded images, by content: the same bytes are never uploaded twice."""

    __tablename__ = "media"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # "body" | "cover"
    media_id: Mapped[str | None] = mapped_column(String(128))
    url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Event(Base):
    """Append-only audit log."""

    __tablename__ = "event"
    __table_args__ = (Index("ix_event_account_release", "account", "release_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    account: Mapped[str] = mapped_column(String(64))
    release_id: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)


class Heartbeat(Base):
    """One row per running daemon, touched on every reconcile."""

    __tablename__ = "heartbeat"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)  # account@host:pid
    account: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Account(Base):
    """The accounts this ledger files rows for: the stable key, and the display name it last had."""

    __tablename__ = "account"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))


# The tables whose rows belong to an account (by its key; by its display name before 0003).
ACCOUNT_TABLES = ("release", "release_item", "media", "event", "heartbeat")


def rekey(connection, name: str, key: str) -> int:
    """File the rows written under an account's display name under its key; how many moved."""
    from sqlalchemy import column, table

    moved = 0
    for name_of_table in ACCOUNT_TABLES:  # table constructs: "release" and "key" need quoting on MariaDB
        rows = table(name_of_table, column("account"))
        result = connection.execute(update(rows).where(rows.c.account == name).values(account=key))
        moved += result.rowcount or 0
    return moved


class ConsoleUser(Base):
    """A person who signs in to the web console (``publish user add``); the password only as an argon2id hash."""

    __tablename__ = "console_user"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failures: Mapped[int] = mapped_column(Integer, default=0)  # failed logins in a row
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ConsoleGrant(Base):
    """A console user's role on one account: what the server lets them see and sign."""

    __tablename__ = "console_grant"

    user: Mapped[str] = mapped_column(ForeignKey("console_user.name", ondelete="CASCADE"), primary_key=True)
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)


class WebApproval(Base):
    """An approval given in the web console: the same record as a line of content/.signoff.toml.

    Kept in the ledger so it counts at once on every machine that reads this ledger,
    whether or not the content folder is a git clone; an edit voids it as it voids a
    file record, because it names the sha256 of the content that was approved.
    """

    __tablename__ = "web_approval"
    __table_args__ = (Index("ix_web_approval_account_path", "account", "post_path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(64))
    post_path: Mapped[str] = mapped_column(String(512))
    sha256: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Token(Base):
    """Access tokens shared by every process on this ledger, so none invalidates another's."""

    __tablename__ = "token"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


# --- after the push: withdrawals, read figures, comments, WeChat's job events ---------------

class ArticleFigure(Base):
    __tablename__ = "article_figures"
    __table_args__ = (Index("ix_article_figures_account_pub", "account", "pub_date"),)

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    msg_data_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # from 1
    stat_date: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD
    pub_date: Mapped[str] = mapped_column(String(10))
    reads: Mapped[int] = mapped_column(Integer, default=0)
    shares: Mapped[int] = mapped_column(Integer, default=0)
    zaikan: Mapped[int] = mapped_column(Integer, default=0)  # 在看
    likes: Mapped[int] = mapped_column(Integer, default=0)
    comments: Mapped[int] = mapped_column(Integer, default=0)
    collections: Mapped[int] = mapped_column(Integer, default=0)
    final: Mapped[bool] = mapped_column(Boolean, default=False)  # WeChat's is_delay was false
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FiguresFetch(Base):
    __tablename__ = "figures_fetch"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # the account's local date
    by: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # is_delay: fetch again then
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)


class WeChatEvent(Base):
    """One job event WeChat pushed to ``/wechat/<key>``, recorded once."""

    __tablename__ = "wechat_event"
    __table_args__ = (UniqueConstraint("account", "kind", "job_id", name="uq_wechat_event_job"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))        # MASSSENDJOBFINISH | PUBLISHJOBFINISH
    job_id: Mapped[str] = mapped_column(String(64))      # MsgID of a mass send, publish_id of a publish
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created: Mapped[int | None] = mapped_column(Integer)  # WeChat's CreateTime (Unix seconds)
    status: Mapped[str | None] = mapped_column(String(64))  # "send success", "err(20001)", publish_status
    counts: Mapped[dict | None] = mapped_column(JSON)     # total / filter / sent / error (mass sends)
    urls: Mapped[dict | None] = mapped_column(JSON)       # {"1": url, ...}: article index from 1
    article_id: Mapped[str | None] = mapped_column(String(128))
    release_id: Mapped[int | None] = mapped_column(Integer)  # the release it reported on, once known


class Comment(Base):
    """A follower's comment on one article of a push, and what was done with it."""

    __tablename__ = "comment"
    __table_args__ = (
        UniqueConstraint("account", "msg_data_id", "idx", "user_comment_id", name="uq_comment_wechat_id"),
        Index("ix_comment_account_release", "account", "release_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(64))
    release_id: Mapped[int] = mapped_column(Integer)
    msg_data_id: Mapped[str] = mapped_column(String(64))
    idx: Mapped[int] = mapped_column(Integer)  # the article's index in the push, from 0
    user_comment_id: Mapped[int] = mapped_column(Integer)
    openid_hash: Mapped[str | None] = mapped_column(String(64))  # None: commented without a WeChat identity
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())  # when the follower wrote it (WeChat's time)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)  # first fetched
    selected: Mapped[bool] = mapped_column(Boolean, default=False)  # 精选
    reply: Mapped[str | None] = mapped_column(Text)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    replied_by: Mapped[str | None] = mapped_column(String(64))  # None: replied in WeChat's own back office
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the reply-deadline alert, once


class CommentFetch(Base):
    """When an account's comments were last fetched: a lease that several daemons share."""

    __tablename__ = "comment_fetch"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Withdrawal(Base):
    """One article taken down: which release and position, who, when and why."""

    __tablename__ = "withdrawal"
    __table_args__ = (UniqueConstraint("release_id", "position", name="uq_withdrawal_article"),
                      Index("ix_withdrawal_account", "account"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(64))
    release_id: Mapped[int] = mapped_column(ForeignKey("release.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    whole: Mapped[bool] = mapped_column(Boolean, default=False)  # taken down with the whole push
    by: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
