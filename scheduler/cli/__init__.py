"""The ``publish`` command: parse options, load settings, call the core, print.

Heavy modules are imported inside the commands so ``publish --help`` starts fast.
Exit codes: 0 success, 1 content problems, 2 usage or configuration error,
3 WeChat or network failure.  The group is in ``group``; each module beside it adds the
commands on one subject to it.
"""

from __future__ import annotations

from . import comments, people, posts, releases  # noqa: F401 - each adds its commands to main
from .group import main
from .options import EXIT_CONFIG, EXIT_CONTENT, EXIT_REMOTE

__all__ = ["EXIT_CONFIG", "EXIT_CONTENT", "EXIT_REMOTE", "main", "run"]


def run() -> None:  # pragma: no cover - the console entry point
    main(prog_name="publish")
