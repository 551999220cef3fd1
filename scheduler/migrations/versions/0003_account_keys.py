"""Key the ledger by each account's stable key instead of its display name.

Rows were filed under ``[account].name``, so renaming an account orphaned its
history.  This adds the ``account`` table (key → the display name it last had)
and moves the rows of the accounts the opening config names (display name →
key, handed over by the Ledger).  An account not named here is moved the first
time its config opens the ledger (``Ledger.adopt``).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import context, op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    from scheduler.ledger import rekey

    account = op.create_table('account',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    names = context.config.attributes.get("account_names", {})
    connection = op.get_bind()
    for name, key in names.items():
        if name != key:
            rekey(connection, name, key)
    op.bulk_insert(account, [{"key": key, "name": name[:128]} for name, key in names.items()])


def downgrade() -> None:
    from scheduler.ledger import rekey

    connection = op.get_bind()
    rows = sa.table('account', sa.column('key'), sa.column('name'))
    for key, name in connection.execute(sa.select(rows.c.key, rows.c.name)).all():
        rekey(connection, key, name)
    op.drop_table('account')
