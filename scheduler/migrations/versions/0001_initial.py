"""The initial ledger: releases and their items, media cache, events, heartbeats, tokens.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# Naive UTC, with microseconds on MySQL/MariaDB (whose DATETIME drops them by default).
UTCDateTime = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', UTCDateTime, nullable=False),
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('release_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('heartbeat',
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('started_at', UTCDateTime, nullable=False),
    sa.Column('beat_at', UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('media',
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('media_id', sa.String(length=128), nullable=True),
    sa.Column('url', sa.Text(), nullable=True),
    sa.Column('created_at', UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint('account', 'sha256', 'kind')
    )
    op.create_table('release',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('slot', UTCDateTime, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('forced', sa.Boolean(), nullable=False),
    sa.Column('draft_media_id', sa.String(length=128), nullable=True),
    sa.Column('msg_id', sa.String(length=64), nullable=True),
    sa.Column('msg_data_id', sa.String(length=64), nullable=True),
    sa.Column('publish_id', sa.String(length=64), nullable=True),
    sa.Column('clientmsgid', sa.String(length=32), nullable=True),
    sa.Column('digest', sa.String(length=64), nullable=True),
    sa.Column('created_at', UTCDateTime, nullable=False),
    sa.Column('updated_at', UTCDateTime, nullable=False),
    sa.Column('send_started_at', UTCDateTime, nullable=True),
    sa.Column('sent_at', UTCDateTime, nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account', 'slot', name='uq_release_account_slot')
    )
    op.create_index('ix_event_account_release', 'event', ['account', 'release_id'])
    op.create_table('token',
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('expires_at', UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('release_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('release_id', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('post_path', sa.String(length=512), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=True),
    sa.Column('live', sa.Integer(), nullable=True),
    sa.Column('article_url', sa.Text(), nullable=True),
    sa.Column('extra', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['release_id'], ['release.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account', 'post_path', 'live', name='uq_item_live_post'),
    sa.UniqueConstraint('release_id', 'position', name='uq_item_position')
    )


def downgrade() -> None:
    op.drop_index('ix_event_account_release', table_name='event')
    op.drop_table('release_item')
    op.drop_table('token')
    op.drop_table('release')
    op.drop_table('media')
    op.drop_table('heartbeat')
    op.drop_table('event')
