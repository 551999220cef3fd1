"""Record the content commit of each release and the last commit of each post.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('release') as batch:
        batch.add_column(sa.Column('commit_sha', sa.String(length=64), nullable=True))
    with op.batch_alter_table('release_item') as batch:
        batch.add_column(sa.Column('commit_sha', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('commit_author', sa.String(length=128), nullable=True))
        batch.add_column(sa.Column('commit_date', sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('release_item') as batch:
        batch.drop_column('commit_date')
        batch.drop_column('commit_author')
        batch.drop_column('commit_sha')
    with op.batch_alter_table('release') as batch:
        batch.drop_column('commit_sha')
