"""What each ``publish`` command does once its options are parsed: call the core, print with rich.

One module a subject: ``publishing`` (dry run, push, preview, resolve), ``history`` (log,
status, report), ``editing`` (plan, approve, new), ``running`` (the daemon), ``withdraw``
and ``stats``; ``common`` holds what they share.
"""

from __future__ import annotations

from .common import EXIT_CONFIG, EXIT_CONTENT, EXIT_OK, EXIT_REMOTE, STATUS_ZH, account_warnings, local
from .editing import approve, new, plan
from .history import log, log_json, report, report_accounts, status
from .publishing import dry_run, preview_to, publish, resolve
from .running import daemon

__all__ = [
    "EXIT_CONFIG", "EXIT_CONTENT", "EXIT_OK", "EXIT_REMOTE", "STATUS_ZH", "account_warnings", "approve", "daemon",
    "dry_run", "local", "log", "log_json", "new", "plan", "preview_to", "publish", "report", "report_accounts",
    "resolve", "status",
]
