"""Taking pushed articles down: ``publish withdraw`` and the console's 撤回 button.

A mass send's article is deleted with ``message/mass/delete`` (its page stops opening;
followers keep the card in their chat), a 发布's with ``freepublish/delete`` (irreversible).
Who, when and why is kept in the ``withdrawal`` table, one row per article, beside an event.
The release keeps its items live: a withdrawn post stays "published" for the planner, so
it is never chosen again by accident (to push it again, copy it to a new post).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from . import states as S
from .ledger import Ledger, Release, ReleaseItem, utcnow
from .ledger_view import WithdrawalRow
from .tables import Withdrawal

if TYPE_CHECKING:
    from publishers.base import PublishError

log = logging.getLogger(__name__)

EVENT = "withdrawn"
REFUSED = "withdraw_refused"
MODES_ZH = {"mass_send": "群发", "publish": "发布"}


class WithdrawError(Exception):
    """The withdrawal cannot be done; the message is Chinese and says what to do.

    ``remote``: WeChat refused or did not answer (exit 3), else a usage error (exit 2).
    """

    def __init__(self, message: str, *, remote: bool = False) -> None:
        super().__init__(message)
        self.message, self.remote = message, remote


class AlreadyWithdrawn(WithdrawError):
    """Nothing left to take down: said, and not an error for a script that repeats itself."""


@dataclass(frozen=True)
class Target:
    """What one withdrawal takes down."""

    release: Release
    positions: tuple[int, ...]  # the articles that disappear (not withdrawn before)
    whole: bool  # every article of the push (WeChat's index 0)

    @property
    def index(self) -> int:
        """WeChat's article index: from 1, or 0 for the whole push."""
        return 0 if self.whole else self.positions[0]


# --- reading ---------------------------------------------------------------------

def withdrawn(ledger: Ledger, account: str, release_ids: Iterable[int] | None = None) -> dict[tuple[int, int], Withdrawal]:
    """(release id, position) → its withdrawal, for the account's releases (or those given)."""
    query = select(Withdrawal).where(Withdrawal.account == account)
    if release_ids is not None:
        query = query.where(Withdrawal.release_id.in_(list(release_ids)))
    with ledger.session() as session:
        return {(w.release_id, w.position): w for w in session.scalars(query)}


def recent(ledger: Ledger, account: str, limit: int = 5) -> list[WithdrawalRow]:
    """The latest withdrawals, newest first (what SQLiteView.withdrawals answers)."""
    query = (select(Withdrawal, ReleaseItem.title)
             .outerjoin(ReleaseItem, (ReleaseItem.release_id == Withdrawal.release_id)
                        & (ReleaseItem.position == Withdrawal.position))
             .where(Withdrawal.account == account).order_by(Withdrawal.at.desc(), Withdrawal.id.desc()).limit(limit))
    with ledger.session() as session:
        return [WithdrawalRow(w.release_id, w.position, title or "", w.by, w.at, w.reason)
                for w, title in session.execute(query).all()]


# --- planning ----------------------------------------------------------------------

def target(ledger: Ledger, account: str, release_id: int, article: int | None) -> Target:
    """What ``publish withdraw release_id [--article N]`` would take down; WithdrawError when it cannot."""
    release = ledger.find_id(account, release_id)
    if release is None:
        raise WithdrawError(f"没有编号为 {release_id} 的发布（publish log 可查看编号）。")
    if release.status != S.CONFIRMED:
        raise WithdrawError(f"发布 {release_id} 的状态是“{_status_zh(release.status)}”：只有微信确认发送成功的推送才能撤回。"
                            "发送中的请等确认后再撤回（publish log 可查看状态）。")
    positions = [item.position for item in release.items]
    if article is not None and article not in positions:
        raise WithdrawError(f"发布 {release_id} 没有第 {article} 篇（共 {len(positions)} 篇，从 1 数起）。")
    done = withdrawn(ledger, account, [release_id])
    wanted = positions if article is None else [article]
    left = tuple(p for p in wanted if (release_id, p) not in done)
    if not left:
        first = done[(release_id, wanted[0])]
        what = "这次推送的全部文章" if article is None else f"第 {article} 篇"
        raise AlreadyWithdrawn(f"{what}已经撤回过（{first.by}，原因：{first.reason}），无需再撤。")
    if release.mode == "mass_send" and not release.msg_id:
        raise WithdrawError(f"台账中发布 {release_id} 没有 msg_id，无法通过接口撤回：请到公众号后台“发表记录”中删除。")
    if release.mode == "publish" and not (release.article_id or release.publish_id):
        raise WithdrawError(f"台账中发布 {release_id} 没有 article_id，无法通过接口撤回：请到公众号后台“发表记录”中删除。")
    return Target(release, left, whole=article is None)


def describe(target: Target, account_name: str, when: str) -> list[str]:
    """What will disappear, line by line, for the confirmation question."""
    release = target.release
    mode = MODES_ZH.get(release.mode, release.mode)
    lines = [f"账号：{account_name}（{release.account}）",
             f"发布 {release.id}：{when}，{mode}，共 {len(release.items)} 篇"]
    scope = "整次推送" if target.whole else f"第 {target.positions[0]} 篇"
    lines.append(f"将撤回{scope}：")
    for item in release.items:
        if item.position in target.positions:
            lines.append(f"  {item.position}. {item.title}  {item.article_url or '链接未知'}")
    if release.mode == "publish":
        lines.append("删除发布不可恢复：文章页面将无法再打开。")
    else:
        lines.append("删除群发后文章页面将无法再打开，已收到的粉丝仍能在聊天记录中看到消息卡片；不可恢复。")
    lines.append("撤回的文章不会被再次推送（如需重发，请复制为一篇新文章）。")
    return lines


# --- doing ---------------------------------------------------------------------------

def withdraw(ledger: Ledger, publisher, target: Target, by: str, reason: str, *, via: str = "") -> list[Withdrawal]:
    """Take the target down on WeChat, then record it; WithdrawError (remote) when WeChat refuses."""
    by, reason = by.strip(), reason.strip()
    if not reason:
        raise WithdrawError("请写明撤回原因（--reason），它会记入台账，供日后查阅。")
    if not by:
        raise WithdrawError("请写明操作人（--by）。")
    release = target.release
    note = _delete(ledger, publisher, target)
    rows = [Withdrawal(account=release.account, release_id=release.id, position=p, whole=target.whole,
                       by=by[:64], reason=reason, at=utcnow()) for p in target.positions]
    titles = {item.position: item.title for item in release.items}
    scope = "整次推送" if target.whole else f"第 {target.positions[0]} 篇"
    named = "、".join(f"{p}.《{titles[p]}》" for p in target.positions)
    message = f"{scope}已撤回（{named}），操作人 {by}{via}，原因：{reason}{note}"
    with ledger.session() as session:
        session.add_all(rows)
        ledger._event(session, release.account, release.id, EVENT, message)
        try:
            session.commit()
        except IntegrityError:  # another person withdrew it meanwhile: theirs stands
            session.rollback()
    log.info("发布 %s %s", release.id, message)
    return rows


def _delete(ledger: Ledger, publisher, target: Target) -> str:
    """The WeChat call; a note for the event when WeChat had already deleted it."""
    from publishers.base import PublishError, UnknownOutcome  # not at import: the ledger maps this module

    release = target.release
    try:
        if release.mode == "mass_send":
            publisher.delete_mass(str(release.msg_id), target.index)
        else:
            publisher.delete_publication(_article_id(ledger, publisher, release), target.index)
        return ""
    except UnknownOutcome as exc:
        raise WithdrawError(f"撤回结果未知：{exc.message}请到公众号后台“发表记录”核对；再运行一次同一命令是安全的"
                            "（已删除的会如实记下）。", remote=True) from None
    except PublishError as exc:
        if release.mode == "mass_send" and exc.code == 40059 and target.whole and _mass_gone(publisher, release):
            return "（微信上此次群发此前已删除）"
        raise WithdrawError(_refused(release, exc), remote=True) from None


def _article_id(ledger: Ledger, publisher, release: Release) -> str:
    """The 发布's article_id: recorded at confirmation, or asked of WeChat by its publish_id."""
    if release.article_id:
        return release.article_id
    found = publisher.publish_status(str(release.publish_id)).article_id
    if not found:
        raise WithdrawError(f"微信没有给出发布 {release.id} 的 article_id，无法通过接口撤回："
                            "请到公众号后台“发表记录”中删除。", remote=True)
    ledger.advance(release.id, release.status, f"向微信查得 article_id {found}", article_id=found)
    return found


def _mass_gone(publisher, release: Release) -> bool:
    """Whether WeChat reports the whole mass send deleted already (by hand, or by an earlier try)."""
    from publishers.base import PublishError

    try:
        return publisher.mass_status(str(release.msg_id)).detail == "群发已被删除"
    except PublishError:
        return False


# WeChat's refusals of a delete, and what a person does next.
_NEXT = {
    40059: "这次群发在微信上找不到：可能已在公众号后台删除，或尚未发送成功。请到“发表记录”核对；已删除的不必再撤。",
    40035: "微信不认这次发布的编号（article_id 或序号有误）：请到公众号后台“发表记录”中手动删除。",
    48001: "公众号没有删除接口的权限（需已认证）：请到公众号后台“发表记录”中手动删除。",
}


def _refused(release: Release, exc: PublishError) -> str:
    advice = _NEXT.get(exc.code or 0, "请到公众号后台“发表记录”中手动删除，或稍后再试。")
    return f"撤回失败，微信答复：{exc.message}{advice}"


def _status_zh(status: str) -> str:
    return S.STATUS_ZH.get(status, status)


def may_withdraw(roles: Iterable[str], final_role: str) -> bool:
    """The console's rule: whoever holds the account's final sign-off role (终审) may take a post down."""
    return final_role in set(roles)
