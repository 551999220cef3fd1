"""Databases of a run's own on the PostgreSQL and MariaDB servers, for tests and benchmarks.

Two runs at once (CI beside a developer, the suite twice, a benchmark) never drop each
other's tables: each works in a database named after its process.
"""

from __future__ import annotations

import os
from collections.abc import Callable


def private_database(base: str, tag: str) -> tuple[str, Callable[[], None]]:
    """A new database beside the one ``base`` names; (its URL, a function that drops it)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(base)
    name = f"{url.database}_{tag}{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    drop = f"DROP DATABASE IF EXISTS {name}" + (" WITH (FORCE)" if url.get_backend_name() == "postgresql" else "")
    with admin.connect() as connection:
        connection.execute(text(drop))
        connection.execute(text(f"CREATE DATABASE {name}"))

    def remove() -> None:
        with admin.connect() as connection:
            connection.execute(text(drop))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), remove
