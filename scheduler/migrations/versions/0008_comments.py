"""Comments (留言) on pushed articles, and when each account's comments were last fetched.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# Naive UTC, with microseconds on MySQL/MariaDB (as in 0001).
UTCDateTime = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('comment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('release_id', sa.Integer(), nullable=False),
    sa.Column('msg_data_id', sa.String(length=64), nullable=False),
    sa.Column('idx', sa.Integer(), nullable=False),
    sa.Column('user_comment_id', sa.Integer(), nullable=False),
    sa.Column('openid_hash', sa.String(length=64), nullable=True),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('created_at', UTCDateTime, nullable=False),
    sa.Column('seen_at', UTCDateTime, nullable=False),
    sa.Column('selected', sa.Boolean(), nullable=False),
    sa.Column('reply', sa.Text(), nullable=True),
    sa.Column('replied_at', UTCDateTime, nullable=True),
    sa.Column('replied_by', sa.String(length=64), nullable=True),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('deleted_at', UTCDateTime, nullable=True),
    sa.Column('alerted_at', UTCDateTime, nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account', 'msg_data_id', 'idx', 'user_comment_id', name='uq_comment_wechat_id')
    )
    op.create_index('ix_comment_account_release', 'comment', ['account', 'release_id'], unique=False)
    op.create_table('comment_fetch',
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('fetched_at', UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint('account')
    )


def downgrade() -> None:
    op.drop_table('comment_fetch')
    op.drop_index('ix_comment_account_release', table_name='comment')
    op.drop_table('comment')
