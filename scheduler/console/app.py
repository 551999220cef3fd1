"""The console's Starlette application: routes, sessions, and who may see what.

Every page under ``/a/<key>/`` is refused (403) unless the signed-in user holds a
role on that account, whatever link or typed URL led there; every POST must carry
the session's CSRF token.  Endpoints are plain functions: Starlette runs them in
its thread pool, so reading posts and the ledger never blocks the event loop.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from .. import signoff
from ..config import Config
from ..plan import next_slots
from . import callback, links, users, views, withdrawals
from .inbox import ROUTES as INBOX
from .security import SecurityHeaders, csrf_token
from .web import (
    SESSION_COOKIE,
    SESSION_HOURS,
    Console,
    account_of,
    client,
    console_of,
    current_user,
    form_post,
    form_with_csrf,
    page,
    signed_in,
)

log = logging.getLogger(__name__)

_IMAGE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}\.[A-Za-z0-9]{1,8}")

# --- login ------------------------------------------------------------------------

def login_form(request: Request) -> Response:
    if current_user(request) is not None:
        return RedirectResponse("/", 303)
    return page(request, "login.html")


@form_post
def login(request: Request, form: dict[str, str]) -> Response:
    console = console_of(request)
    name, password = form.get("username", "").strip(), form.get("password", "")
    address = client(request)
    if console.brake.blocked(address):
        return page(request, "login.html", 429, error="登录失败次数过多，请 15 分钟后再试", username=name)
    result = users.authenticate(console.users, name, password)
    if result.user is None:
        console.brake.failed(address)
        _record(console, name, "login_failed", f"控制台用户 {name[:64]} 登录失败（{address}）：{result.message}")
        return page(request, "login.html", 401, error=result.message, username=name)
    request.session.clear()  # a fresh session (and CSRF token) for the signed-in user
    request.session["user"] = result.user.name
    csrf_token(request.session)
    for account in result.user.accounts:
        if account in console.configs:
            console.ledger(console.configs[account]).event(account, "login", f"控制台用户 {result.user.name} 登录（{address}）")
    return RedirectResponse("/", 303)


def _record(console: Console, name: str, kind: str, message: str) -> None:
    """A failed login goes to the accounts of the user it named (if any), else to the first account."""
    user = users.get(console.users, name) if name else None
    accounts = [a for a in (user.accounts if user else ()) if a in console.configs] or [next(iter(console.configs))]
    for account in accounts:
        console.ledger(console.configs[account]).event(account, kind, message)


async def logout(request: Request) -> Response:
    await form_with_csrf(request)
    request.session.clear()
    return RedirectResponse("/login", 303)


# --- pages --------------------------------------------------------------------------

def overview(request: Request) -> Response:
    user = signed_in(request)
    console = console_of(request)
    rows = []
    for key in user.accounts:
        config = console.configs.get(key)
        if config is None:
            continue
        try:
            ledger = console.ledger(config)
            rows.append(views.overview_row(signoff.with_ledger(config, ledger), ledger, console.now(config)))
        except Exception as exc:  # noqa: BLE001 - one account's broken content or ledger: said in its row
            from ..faults import describe

            rows.append(views.AccountRow(key, config.account.name, error=describe(exc)))
    return page(request, "overview.html", user=user, rows=rows)


def calendar(request: Request) -> Response:
    user = signed_in(request)
    config = account_of(request, user)
    console = console_of(request)
    slots = views.calendar(config, console.ledger(config), console.now(config))
    return page(request, "calendar.html", user=user, config=config, slots=slots, weeks=views.CALENDAR_WEEKS)


def slot(request: Request, *, new_link: str = "") -> Response:
    user = signed_in(request)
    config = account_of(request, user)
    console = console_of(request)
    moment = views.parse_slot(config, request.path_params["slot"])
    if moment is None:
        raise HTTPException(404, "时间应写成 2024-04-02T09:00")
    now = console.now(config)
    release = console.ledger(config).find(config.account.key, moment)
    if release is not None:
        return RedirectResponse(f"/a/{config.account.key}/releases/{release.id}", 303)
    if moment < now.replace(second=0, microsecond=0):
        return page(request, "slot.html", 404, user=user, config=config, when=views.local(config, moment),
                    view=None, message="这个推送时间已经过去，台账中没有它的发布记录")
    name = f"slot-{config.account.key}-{moment:%Y%m%d%H%M}"
    with console.preview_lock(name):
        view = views.slot_view(config, moment, console.previews / name)
    if view is None:
        return page(request, "slot.html", 404, user=user, config=config, when=views.local(config, moment),
                    view=None, message="这不是计划中的推送时间（见推送日历）")
    following = next_slots(config.schedule.slots, config.account.tz, now, 1)[0]
    shared = views.preview_links(config, console.ledger(config), views.slot_id(config, moment), now)
    return page(request, "slot.html", user=user, config=config, when=views.local(config, moment), view=view,
                preview=f"/a/{config.account.key}/previews/{name}/index.html", later=moment > following,
                links=shared, new_link=new_link, slot_id=views.slot_id(config, moment))


async def make_link(request: Request) -> Response:
    """POST …/slots/<slot>/link: a signed, expiring preview link of this slot, recorded in the ledger."""
    await form_with_csrf(request)
    return await run_in_threadpool(_make_link, request)


def _make_link(request: Request) -> Response:
    user = signed_in(request)
    config = account_of(request, user)
    console = console_of(request)
    moment = views.parse_slot(config, request.path_params["slot"])
    if moment is None:
        raise HTTPException(404, "时间应写成 2024-04-02T09:00")
    slot_text = views.slot_id(config, moment)
    token, link = links.make(console.secret, config.account.key, slot_text, console.now(config))
    console.ledger(config).event(config.account.key, links.MADE,
                                 f"{links.label(link.id)}：{slot_text} 的推送预览，{user.name} 生成，"
                                 f"有效至 {views.local(config, link.expires)}")
    return slot(request, new_link=str(request.base_url).rstrip("/") + f"/p/{token}")


@form_post
def revoke_link(request: Request, form: dict[str, str]) -> Response:
    """POST …/links/<id>/revoke: the link stops working at once, on every console reading this ledger."""
    user = signed_in(request)
    config = account_of(request, user)
    link_id = request.path_params["id"]
    ledger = console_of(request).ledger(config)
    made = [m for m in views.preview_links(config, ledger, None, None) if m.id == link_id]
    if not made:
        raise HTTPException(404, "没有这个预览链接")
    ledger.event(config.account.key, links.REVOKED, f"{links.label(link_id)}：{user.name} 撤销")
    return RedirectResponse(f"/a/{config.account.key}/slots/{made[0].slot}", 303)


# --- the shared preview: no sign-in, one slot, nothing else ------------------------------------

def _shared(request: Request) -> tuple[Console, Config, links.Link]:
    console = console_of(request)
    link = links.read(console.secret, request.path_params["token"])
    config = console.configs.get(link.account) if link is not None else None
    if link is None or config is None:
        raise _SharedError(404, "预览链接无效", "链接不完整或被改动过，请向发链接的人重新索取")
    if console.now(config) >= link.expires:
        raise _SharedError(403, "预览链接已过期", "请向发链接的人重新索取")
    if console.ledger(config).count_events(config.account.key, links.REVOKED, links.label(link.id) + "："):
        raise _SharedError(403, "预览链接已撤销", "请向发链接的人重新索取")
    return console, config, link


class _SharedError(Exception):
    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(title)
        self.status, self.title, self.message = status, title, message


def _shared_page(console: Console, exc: _SharedError) -> HTMLResponse:
    html = console.templates.get_template("shared_error.html").render(title=exc.title, message=exc.message)
    return HTMLResponse(html, status_code=exc.status, headers={"cache-control": "no-store"})


def shared_preview(request: Request) -> Response:
    """GET /p/<token>: the preview of the link's slot as a phone shows it, and no way to anywhere else."""
    try:
        console, config, link = _shared(request)
        moment = views.parse_slot(config, link.slot)
        if moment is None or moment < console.now(config).replace(second=0, microsecond=0):
            raise _SharedError(404, "这次推送已经过去", "预览只在推送之前可以查看")
        config = signoff.with_ledger(config, console.ledger(config))
        name = f"link-{link.id}"
        with console.preview_lock(name):
            view = views.slot_view(config, moment, console.previews / name)
            index = console.previews / name / "index.html"
            if view is None or not view.articles or not index.is_file():
                raise _SharedError(404, "这次推送没有文章", "现在没有可以推送的文章，稍后再看或联系编辑")
            html = index.read_text(encoding="utf-8")
    except _SharedError as exc:
        return _shared_page(console_of(request), exc)
    # Images are relative ("images/…"): resolved under this link, and only there.
    base = f'<base href="/p/{request.path_params["token"]}/">'
    html = html.replace("<head>", "<head>" + base, 1) if "<head>" in html else base + html
    return HTMLResponse(html, headers={"cache-control": "no-store", "referrer-policy": "no-referrer"})


def shared_image(request: Request) -> Response:
    try:
        console, _config, link = _shared(request)
    except _SharedError as exc:
        return _shared_page(console_of(request), exc)
    file = request.path_params["file"]
    target = console.previews / f"link-{link.id}" / "images" / file
    if not _IMAGE_NAME.fullmatch(file) or not target.is_file():
        return _shared_page(console, _SharedError(404, "找不到图片", "请刷新预览页"))
    return FileResponse(target, headers={"cache-control": "no-store"})


def post(request: Request, *, status_code: int = 200, notice: str = "", error: str = "") -> Response:
    user = signed_in(request)
    config = account_of(request, user)
    console = console_of(request)
    rel = request.path_params["path"]
    try:
        path = views.find_post(config, rel)
    except views.Refused:
        raise HTTPException(403, "只能查看内容仓库中的文章") from None
    import hashlib

    name = f"post-{config.account.key}-{hashlib.sha256(rel.encode()).hexdigest()[:16]}"
    with console.preview_lock(name):
        view = views.post_view(config, path, console.ledger(config), console.previews / name)
    return page(request, "post.html", status_code, user=user, config=config, view=view, rel=rel,
                roles=user.roles(config.account.key), notice=notice, error=error,
                preview=f"/a/{config.account.key}/previews/{name}/index.html")


@form_post
def sign(request: Request, form: dict[str, str]) -> Response:
    """POST …/approve and …/return: the same record as ``publish approve``, and a ledger event either way."""
    user = signed_in(request)
    config = account_of(request, user)
    role, comment = form.get("role", ""), form.get("comment", "").strip()[:500]
    if role not in user.roles(config.account.key):
        raise HTTPException(403, f"你在这个账号没有“{role}”角色")
    rel = request.path_params["path"]
    try:
        views.find_post(config, rel)
    except views.Refused:
        raise HTTPException(403, "只能审核内容仓库中的文章") from None
    action = request.url.path.rsplit("/", 1)[-1]
    notice, error = _sign(console_of(request), config, user, rel, action, role, comment)
    return post(request, status_code=400 if error else 200, notice=notice, error=error)


def _sign(console: Console, config: Config, user: users.User, rel: str, action: str, role: str,
          comment: str) -> tuple[str, str]:
    ledger = console.ledger(config)
    said = f"。意见：{comment}" if comment else ""
    if action == "return":
        ledger.event(config.account.key, "returned", f"{rel}：{role} {user.name} 退回修改{said}")
        return f"已退回：{role} {user.name}", ""
    try:  # in the ledger, not the file: it counts at once, git clone or not (see README 网页控制台)
        _post, approval, _state = signoff.approve_in_ledger(config, ledger, rel, user.name, role, console.now(config))
    except signoff.SignoffError as exc:
        return "", str(exc)
    ledger.event(config.account.key, "approved",
                 f"{rel}：{role} {user.name} 审核通过（内容指纹 {approval.sha256[:12]}…）{said}")
    return f"已记录：{role} {user.name} 审核通过当前内容", ""


def preview_file(request: Request) -> Response:
    """A file of a preview folder this process wrote: its index.html or one of its images, nothing else."""
    user = signed_in(request)
    config = account_of(request, user)
    name, file = request.path_params["name"], request.path_params["file"]
    if not re.fullmatch(rf"(slot|post)-{re.escape(config.account.key)}-[0-9a-f]{{12,16}}", name):
        raise HTTPException(403, "预览不存在或不属于这个账号")
    folder = console_of(request).previews / name
    if file == "index.html":
        target = folder / "index.html"
    elif file.startswith("images/") and _IMAGE_NAME.fullmatch(file.removeprefix("images/")):
        target = folder / "images" / file.removeprefix("images/")
    else:
        raise HTTPException(403, "只能查看预览页和它的图片")
    if not target.is_file():
        raise HTTPException(404, "预览已过期，请刷新上一页")
    return FileResponse(target)


def releases(request: Request) -> Response:
    user = signed_in(request)
    config = account_of(request, user)
    from ..withdraw import withdrawn

    ledger = console_of(request).ledger(config)
    rows = ledger.releases(config.account.key, 200)
    gone: dict[int, set[int]] = {}
    for release_id, position in withdrawn(ledger, config.account.key, [r.id for r in rows]):
        gone.setdefault(release_id, set()).add(position)
    return page(request, "releases.html", user=user, config=config, releases=rows, views=views, withdrawn=gone)


def release(request: Request, *, status_code: int = 200, notice: str = "", error: str = "") -> Response:
    from ..withdraw import withdrawn

    user = signed_in(request)
    config = account_of(request, user)
    ledger = console_of(request).ledger(config)
    release_id = _release_id(request)
    found = ledger.find_id(config.account.key, release_id)
    if found is None:
        raise HTTPException(404, "没有这次发布")
    events = ledger.events(config.account.key, release_id)
    return page(request, "release.html", status_code, user=user, config=config, release=found, events=events,
                views=views, withdrawn=withdrawn(ledger, config.account.key, [release_id]), notice=notice,
                error=error, may_withdraw=withdrawals.allowed(config, user), final_role=withdrawals.final_role(config))


def _release_id(request: Request) -> int:
    try:
        return int(request.path_params["id"])
    except ValueError:
        raise HTTPException(404, "没有这次发布") from None


@form_post
def withdraw(request: Request, form: dict[str, str]) -> Response:
    """POST …/releases/<id>/withdraw (fields ``article``, ``reason``): what ``publish withdraw`` does."""
    from ..runtime import make_publisher

    user = signed_in(request)
    config = account_of(request, user)
    ledger = console_of(request).ledger(config)
    try:
        done = withdrawals.submit(config, ledger, user, _release_id(request), form, make_publisher)
    except withdrawals.Refused as exc:
        raise HTTPException(403, str(exc)) from None
    return release(request, status_code=400 if done.error else 200, notice=done.notice, error=done.error)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code in (301, 302, 303) and exc.headers:
        return RedirectResponse(exc.headers["location"], exc.status_code)
    titles = {403: "没有权限", 404: "找不到页面", 405: "不支持的请求方式"}
    html = console_of(request).templates.get_template("error.html").render(
        title=titles.get(exc.status_code, "出错了"), message=exc.detail, user=None)
    return HTMLResponse(html, status_code=exc.status_code)


async def server_error(request: Request, exc: Exception) -> Response:
    """Anything unforeseen (a broken records file, the database gone): one Chinese line, never a traceback."""
    from ..faults import describe

    log.exception("控制台请求 %s 出错", request.url.path)
    html = console_of(request).templates.get_template("error.html").render(
        title="出错了", message=f"{describe(exc)}。请稍后重试；一直这样请联系管理员", user=None)
    return HTMLResponse(html, status_code=500)


def create_app(configs: list[Config], *, secret: str, secure: bool = False,
               now: Callable[[Config], datetime] | None = None) -> Starlette:
    """The console for ``configs``; ``secure``: behind HTTPS, so the session cookie is marked Secure."""
    console = Console(configs, now, secret)
    routes = [
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/", overview, methods=["GET"]),
        Route("/a/{key}/calendar", calendar, methods=["GET"]),
        Route("/a/{key}/slots/{slot}", slot, methods=["GET"]),
        Route("/a/{key}/slots/{slot}/link", make_link, methods=["POST"]),
        Route("/a/{key}/links/{id}/revoke", revoke_link, methods=["POST"]),
        Route("/p/{token}", shared_preview, methods=["GET"]),
        Route("/p/{token}/images/{file}", shared_image, methods=["GET"]),
        Route("/a/{key}/posts/{path:path}/approve", sign, methods=["POST"]),
        Route("/a/{key}/posts/{path:path}/return", sign, methods=["POST"]),
        Route("/a/{key}/posts/{path:path}", post, methods=["GET"]),
        Route("/a/{key}/previews/{name}/{file:path}", preview_file, methods=["GET"]),
        Route("/a/{key}/releases", releases, methods=["GET"]),
        Route("/a/{key}/releases/{id}", release, methods=["GET"]),
        # WeChat's server callback: no sign-in and no CSRF (WeChat calls it), its own signature instead.
        Route("/wechat/{key}", callback.verify, methods=["GET"]),
        Route("/wechat/{key}", callback.receive, methods=["POST"]),
        Route("/a/{key}/releases/{id}/withdraw", withdraw, methods=["POST"]),
    ]
    routes += INBOX
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(SessionMiddleware, secret_key=secret, session_cookie=SESSION_COOKIE,
                   max_age=SESSION_HOURS * 3600, same_site="lax", https_only=secure),
    ]
    app = Starlette(routes=routes, middleware=middleware, exception_handlers={HTTPException: http_error, Exception: server_error})
    app.state.console = console
    return app
