"""Alembic migrations of the ledger, applied automatically when a Ledger opens."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["engine"] = engine
    return config


def head() -> str:
    return ScriptDirectory(str(HERE)).get_current_head()


def current(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, attempts: int = 5) -> None:
    """Bring the schema to head; safe when several processes start at once.

    Two processes may both see an old schema and race; the loser's DDL fails, and
    on the next attempt it finds the schema at head and stops.
    """
    target = head()
    for attempt in range(1, attempts + 1):
        if current(engine) == target:
            return
        try:
            command.upgrade(alembic_config(engine), "head")
            return
        except DBAPIError:
            if attempt == attempts:
                raise
            log.info("schema upgrade raced with another process; checking again")
            time.sleep(0.2 * attempt)
