"""Approvals given in the web console (``publish serve``), beside the records of content/.signoff.toml.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# Naive UTC, with microseconds on MySQL/MariaDB (as in 0001).
UTCDateTime = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('web_approval',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('post_path', sa.String(length=512), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('by', sa.String(length=64), nullable=False),
    sa.Column('at', UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_web_approval_account_path', 'web_approval', ['account', 'post_path'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_web_approval_account_path', table_name='web_approval')
    op.drop_table('web_approval')
