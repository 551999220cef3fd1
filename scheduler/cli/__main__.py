"""``python -m scheduler.cli``."""

from . import run

run()  # pragma: no cover
