"""CSRF tokens, response headers, and a per-address brake on login attempts."""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSRF_FIELD = "csrf_token"
# No script at all; styles inline (WeChat articles carry only inline styles); frames and images from here.
CSP = ("default-src 'none'; script-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'self'")
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "SAMEORIGIN",
    "cache-control": "no-store",
}


def csrf_token(session: dict) -> str:
    """The session's CSRF token, made on first use."""
    token = session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def csrf_ok(session: dict, given: object) -> bool:
    token = session.get("csrf")
    return isinstance(token, str) and isinstance(given, str) and secrets.compare_digest(token, given)


class SecurityHeaders:
    """Every response carries the CSP and its companions."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, with_headers)


class AddressBrake:
    """At most ``limit`` failed logins per client address in ``window`` seconds (guessing many names)."""

    def __init__(self, limit: int = 20, window: float = 900.0) -> None:
        self.limit, self.window = limit, window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def blocked(self, address: str) -> bool:
        with self._lock:
            return len(self._recent(address)) >= self.limit

    def failed(self, address: str) -> None:
        with self._lock:
            self._recent(address).append(time.monotonic())

    def _recent(self, address: str) -> deque[float]:
        times = self._failures.setdefault(address, deque())
        while times and times[0] < time.monotonic() - self.window:
            times.popleft()
        return times
