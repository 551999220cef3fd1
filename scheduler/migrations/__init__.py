"""Alembic migrations of the ledger, applied automatically when a Ledger opens."""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
_REVISION = re.compile(r"""^(down_revision|revision)\s*(?::[^=\n]+)?=\s*['"]?([\w-]+|None)['"]?\s*$""", re.MULTILINE)


def alembic_config(engine: Engine, names: dict[str, str] | None = None) -> Config:
    """``names`` (display name → account key) lets 0003 move rows keyed by display name."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["engine"] = engine
    config.attributes["account_names"] = dict(names or {})
    return config


def head() -> str | None:  # None only before a first revision exists
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(HERE)).get_current_head()


def current(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def newest_revision() -> str | None:
    """The head revision read from the version files themselves, for a linear history; else None.

    Importing alembic takes longer than a whole ``publish status``: this lets an
    up-to-date ledger open without it (a test keeps it equal to alembic's answer).
    """
    revisions, parents = set(), set()
    for path in (HERE / "versions").glob("*.py"):
        found = dict(_REVISION.findall(path.read_text(encoding="utf-8")))
        if "revision" not in found or "down_revision" not in found:  # a merge, or a layout not known here
            return None
        revisions.add(found["revision"])
        parents.add(found["down_revision"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _at_head(engine: Engine) -> bool:
    """True when the ledger's recorded revision is the newest one (no alembic needed to tell)."""
    newest = newest_revision()
    if newest is None:
        return False
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except SQLAlchemyError:  # no such table yet: a new ledger
        return False
    return [row[0] for row in rows] == [newest]


def upgrade(engine: Engine, attempts: int = 5, *, names: dict[str, str] | None = None) -> None:
    """Bring the schema to head; safe when several processes start at once.

    Two processes may both see an old schema and race; the loser's DDL fails, and
    on the next attempt it finds the schema at head and stops.
    """
    if _at_head(engine):
        return
    from alembic import command

    target = head()
    for attempt in range(1, attempts + 1):
        if current(engine) == target:
            return
        try:
            command.upgrade(alembic_config(engine, names), "head")
            return
        except DBAPIError:
            if attempt == attempts:
                raise
            log.info("schema upgrade raced with another process; checking again")
            time.sleep(0.2 * attempt)
