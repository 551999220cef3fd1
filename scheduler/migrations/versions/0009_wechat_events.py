"""WeChat's pushed job events (MASSSENDJOBFINISH, PUBLISHJOBFINISH), each job recorded once.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# Naive UTC, with microseconds on MySQL/MariaDB (as in 0001).
UTCDateTime = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

revision = '0009'
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('wechat_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('job_id', sa.String(length=64), nullable=False),
    sa.Column('received_at', UTCDateTime, nullable=False),
    sa.Column('created', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=64), nullable=True),
    sa.Column('counts', sa.JSON(), nullable=True),
    sa.Column('urls', sa.JSON(), nullable=True),
    sa.Column('article_id', sa.String(length=128), nullable=True),
    sa.Column('release_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account', 'kind', 'job_id', name='uq_wechat_event_job')
    )


def downgrade() -> None:
    op.drop_table('wechat_event')
