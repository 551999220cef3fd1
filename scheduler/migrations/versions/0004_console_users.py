"""Console users and their roles per account (``publish user add``, ``publish serve``).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# Naive UTC, with microseconds on MySQL/MariaDB (as in 0001).
UTCDateTime = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('console_user',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('locked_until', UTCDateTime, nullable=True),
    sa.Column('created_at', UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('console_grant',
    sa.Column('user', sa.String(length=64), nullable=False),
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['user'], ['console_user.name'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user', 'account', 'role')
    )


def downgrade() -> None:
    op.drop_table('console_grant')
    op.drop_table('console_user')
