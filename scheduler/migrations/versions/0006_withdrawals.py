"""Withdrawals of pushed articles (``publish withdraw``), and the article_id of a 发布 (to delete it by).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# Naive UTC, with microseconds on MySQL/MariaDB (as in 0001).
UTCDateTime = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('withdrawal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('release_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('whole', sa.Boolean(), nullable=False),
    sa.Column('by', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('at', UTCDateTime, nullable=False),
    sa.ForeignKeyConstraint(['release_id'], ['release.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('release_id', 'position', name='uq_withdrawal_article')
    )
    op.create_index('ix_withdrawal_account', 'withdrawal', ['account'], unique=False)
    with op.batch_alter_table('release') as batch:
        batch.add_column(sa.Column('article_id', sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('release') as batch:
        batch.drop_column('article_id')
    op.drop_index('ix_withdrawal_account', table_name='withdrawal')
    op.drop_table('withdrawal')
