"""Article figures from WeChat's 数据统计, and the daily fetch's claim per account and day.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# Naive UTC, with microseconds on MySQL/MariaDB (as in 0001).
UTCDateTime = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('article_figures',
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('msg_data_id', sa.String(length=64), nullable=False),
    sa.Column('idx', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('stat_date', sa.String(length=10), nullable=False),
    sa.Column('pub_date', sa.String(length=10), nullable=False),
    sa.Column('reads', sa.Integer(), nullable=False),
    sa.Column('shares', sa.Integer(), nullable=False),
    sa.Column('zaikan', sa.Integer(), nullable=False),
    sa.Column('likes', sa.Integer(), nullable=False),
    sa.Column('comments', sa.Integer(), nullable=False),
    sa.Column('collections', sa.Integer(), nullable=False),
    sa.Column('final', sa.Boolean(), nullable=False),
    sa.Column('fetched_at', UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint('account', 'msg_data_id', 'idx', 'stat_date')
    )
    op.create_index('ix_article_figures_account_pub', 'article_figures', ['account', 'pub_date'], unique=False)
    op.create_table('figures_fetch',
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('by', sa.String(length=128), nullable=False),
    sa.Column('started_at', UTCDateTime, nullable=False),
    sa.Column('retry_at', UTCDateTime, nullable=True),
    sa.Column('done_at', UTCDateTime, nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('account', 'day')
    )


def downgrade() -> None:
    op.drop_table('figures_fetch')
    op.drop_index('ix_article_figures_account_pub', table_name='article_figures')
    op.drop_table('article_figures')
