"""Preview links: ``/p/<token>``, one slot's preview for a reviewer without an account.

The token is signed with the session secret and names the account, the slot and
when it expires, plus a random id; nothing else opens with it.  Making one and
revoking one are ledger events (the id is in both), so a revoked link stays dead
on every console process reading the same ledger.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer

LINK_HOURS = 72
SALT = "tuiwen-preview-link"
MADE, REVOKED = "preview_link", "preview_revoked"
_ID = re.compile(r"[0-9a-f]{16}")


@dataclass(frozen=True)
class Link:
    id: str
    account: str
    slot: str  # YYYY-MM-DDTHH:MM, the account's local time
    expires: datetime  # aware, UTC


def make(secret: str, account: str, slot: str, now: datetime, hours: int = LINK_HOURS) -> tuple[str, Link]:
    link = Link(secrets.token_hex(8), account, slot, (now + timedelta(hours=hours)).astimezone(UTC).replace(microsecond=0))
    payload = {"i": link.id, "a": account, "s": slot, "e": int(link.expires.timestamp())}
    return URLSafeSerializer(secret, salt=SALT).dumps(payload), link


def read(secret: str, token: str) -> Link | None:
    """The link the token names, or None for anything not signed by this secret (tampered, made up)."""
    try:
        payload = URLSafeSerializer(secret, salt=SALT).loads(token)
    except BadSignature:
        return None
    try:
        link = Link(str(payload["i"]), str(payload["a"]), str(payload["s"]), datetime.fromtimestamp(int(payload["e"]), UTC))
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return None
    return link if _ID.fullmatch(link.id) else None


def label(link_id: str) -> str:
    """How the ledger events name a link: both events start with it, so a revocation is found by prefix."""
    return f"预览链接 {link_id}"
