"""What every console page needs: the process's accounts and ledgers, the signed-in user,
their access to an account, CSRF-checked forms, and rendering a template."""

from __future__ import annotations

import functools
import shutil
import tempfile
import threading
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from .. import signoff
from ..config import Config
from ..ledger import Ledger
from . import users
from .security import CSRF_FIELD, AddressBrake, csrf_ok, csrf_token

SESSION_COOKIE = "tuiwen_console"
SESSION_HOURS = 12


class Console:
    """The accounts, their ledgers and the preview folders of one ``publish serve`` process."""

    def __init__(self, configs: list[Config], now: Callable[[Config], datetime] | None = None,
                 secret: str = "") -> None:
        from ..runtime import open_ledger

        self.secret = secret  # signs the preview links as it signs the sessions

        self.configs = {c.account.key: c for c in configs}
        self._ledgers: dict[str, Ledger] = {}
        for config in configs:  # accounts on one database share one ledger
            if config.database.url not in self._ledgers:
                self._ledgers[config.database.url] = open_ledger(config)
            else:
                self._ledgers[config.database.url].adopt(config.account.key, config.account.name)
        # Users live in the ledger of the first account (the top-level [database]).
        self.users = self._ledgers[configs[0].database.url]
        self.now = now or (lambda config: datetime.now(config.account.tz))
        self.brake = AddressBrake()
        self.previews = Path(tempfile.mkdtemp(prefix="tuiwen-console-"))
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self.templates = Environment(loader=PackageLoader("scheduler.console", "templates"),
                                     autoescape=select_autoescape(["html"]))

    def ledger(self, config: Config) -> Ledger:
        return self._ledgers[config.database.url]

    def preview_lock(self, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(name, threading.Lock())

    def close(self) -> None:
        for ledger in self._ledgers.values():
            ledger.close()
        shutil.rmtree(self.previews, ignore_errors=True)


# --- helpers -------------------------------------------------------------------

def console_of(request: Request) -> Console:
    return request.app.state.console


def page(request: Request, name: str, status_code: int = 200, **context) -> HTMLResponse:
    console = console_of(request)
    user = context.pop("user", None)
    html = console.templates.get_template(name).render(
        csrf_field=CSRF_FIELD, csrf=csrf_token(request.session), user=user, **context)
    return HTMLResponse(html, status_code=status_code)


def current_user(request: Request) -> users.User | None:
    name = request.session.get("user")
    if not isinstance(name, str):
        return None
    user = users.get(console_of(request).users, name)
    if user is None or user.disabled:  # disabled since signing in: out at once
        request.session.pop("user", None)
        return None
    return user


def signed_in(request: Request) -> users.User:
    user = current_user(request)
    if user is None:
        raise HTTPException(303, headers={"location": "/login"})
    return user


def account_of(request: Request, user: users.User) -> Config:
    """The account in the URL, if the user holds a role on it; 403 otherwise (unknown keys too)."""
    key = request.path_params["key"]
    config = console_of(request).configs.get(key)
    if config is None or key not in user.accounts:
        raise HTTPException(403, "你没有这个账号的权限")
    console = console_of(request)
    return signoff.with_ledger(config, console.ledger(config))  # the console's approvals, as the release sees them


def form_post(handler: Callable[[Request, dict[str, str]], Response]) -> Callable[[Request], Awaitable[Response]]:
    """A POST endpoint: the form, refused (403) without this session's CSRF token, then
    ``handler(request, form)`` in the thread pool (it reads files and the ledger, which must
    not hold up the event loop)."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        form = await form_with_csrf(request)
        return await run_in_threadpool(handler, request, form)

    return endpoint


async def form_with_csrf(request: Request) -> dict[str, str]:
    form = await request.form()
    if not csrf_ok(request.session, form.get(CSRF_FIELD)):
        raise HTTPException(403, "表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试")
    return {k: v for k, v in form.items() if isinstance(v, str)}


def client(request: Request) -> str:
    return request.client.host if request.client else "?"
