"""The comment inbox of the console: ``/a/<key>/comments`` lists the comments waiting for a reply,
with reply, select (精选) and delete forms, for the roles ``[comments].roles`` names (by default
every role of the account but 查看).  The actions are the ones ``publish comments`` runs, recorded
in the ledger under the signed-in user's name; the page itself reads only the ledger (the daemon
fetches new comments), so it opens fast.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..config import Config, ConfigError
from . import users, views
from .web import account_of, console_of, form_post, page, signed_in

ACTIONS = ("reply", "select", "unselect", "delete")


def may_answer(config: Config, user: users.User) -> bool:
    """Whether ``user`` may reply to, select and delete the account's comments."""
    roles = set(user.roles(config.account.key))  # never 查看
    allowed = set(config.comments.roles)
    return bool(roles & allowed) if allowed else bool(roles)


def inbox(request: Request, *, status_code: int = 200, notice: str = "", error: str = "") -> Response:
    from .. import comment_ledger as C
    from .. import comments

    user = signed_in(request)
    config = account_of(request, user)
    console = console_of(request)
    ledger = console.ledger(config)
    now = console.now(config)
    with ledger.session() as session:
        fetched = session.get(C.CommentFetch, config.account.key)
    return page(request, "comments.html", status_code, user=user, config=config,
                lines=comments.lines(config, ledger), now=now, may_answer=may_answer(config, user),
                fetched=fetched.fetched_at if fetched else None, notice=notice, error=error,
                roles="、".join(config.comments.roles) or "除“查看”外的所有角色", views_local=views.local)


@form_post
def act(request: Request, form: dict[str, str]) -> Response:
    """POST /a/<key>/comments/<id>/<reply|select|unselect|delete>: CSRF and role checked."""
    from .. import comments
    from ..runtime import make_publisher

    user = signed_in(request)
    config = account_of(request, user)
    if not may_answer(config, user):
        raise HTTPException(403, "你的角色不能处理留言（见 [comments].roles）")
    action = request.path_params["action"]
    if action not in ACTIONS:
        raise HTTPException(404, "没有这个操作")
    try:
        comment_id = int(request.path_params["id"])
    except ValueError:
        raise HTTPException(404, "没有这条留言") from None
    console = console_of(request)
    ledger = console.ledger(config)
    now = console.now(config)
    try:
        client = make_publisher(config, ledger).client
        if action == "reply":
            comments.reply(config, ledger, client, comment_id, form.get("content", ""), user.name, now)
            notice = f"已回复留言 {comment_id}"
        elif action == "delete":
            comments.delete(config, ledger, client, comment_id, user.name, now)
            notice = f"已删除留言 {comment_id}"
        else:
            comments.select(config, ledger, client, comment_id, action == "select", user.name)
            notice = f"留言 {comment_id} 已{'设为精选' if action == 'select' else '取消精选'}"
    except (comments.CommentError, ConfigError) as exc:  # ConfigError: this server has no AppSecret
        return inbox(request, status_code=400, error=str(exc))
    return inbox(request, notice=notice)


ROUTES = [
    Route("/a/{key}/comments", inbox, methods=["GET"]),
    Route("/a/{key}/comments/{id}/{action}", act, methods=["POST"]),
]
