"""Alembic environment: the engine comes from the Ledger, never from an ini file."""

from alembic import context

from scheduler.ledger import Base

engine = context.config.attributes["engine"]

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
