"""The console's 撤回 button: who may press it, and what it does (the same as ``publish withdraw``).

The rule: a user holding the account's final sign-off role (the last of ``[review].roles``,
终审 by default) may withdraw — whoever may sign a post out may take it down.  Anyone else
is refused (403), and the refusal is a ledger event like the withdrawal itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Config, ConfigError
from ..ledger import Ledger
from ..signoff import roles_of
from ..withdraw import REFUSED, AlreadyWithdrawn, WithdrawError, may_withdraw, target, withdraw
from .users import User


def final_role(config: Config) -> str:
    return roles_of(config)[-1]


def allowed(config: Config, user: User) -> bool:
    return may_withdraw(user.roles(config.account.key), final_role(config))


class Refused(Exception):
    """Not this user's to withdraw: answered 403."""


@dataclass(frozen=True)
class Outcome:
    notice: str = ""
    error: str = ""


def refuse(config: Config, ledger: Ledger, user: User, release_id: int) -> Refused:
    role = final_role(config)
    ledger.event(config.account.key, REFUSED,
                 f"控制台用户 {user.name} 试图撤回发布 {release_id}，没有“{role}”角色，已拒绝", release_id)
    return Refused(f"只有“{role}”角色可以撤回已推送的文章")


def submit(config: Config, ledger: Ledger, user: User, release_id: int, form: dict[str, str], publisher_for) -> Outcome:
    """Withdraw what the form names (``article``: a position, or empty/0 for the whole push; ``reason``)."""
    if not allowed(config, user):
        raise refuse(config, ledger, user, release_id)
    reason = form.get("reason", "").strip()[:500]
    if not reason:
        return Outcome(error="请写明撤回原因，它会记入台账")
    text = form.get("article", "").strip()
    if text not in ("", "0") and not text.isdigit():
        return Outcome(error="文章序号应为数字")
    article = int(text) if text not in ("", "0") else None
    try:
        chosen = target(ledger, config.account.key, release_id, article)
        rows = withdraw(ledger, publisher_for(config, ledger), chosen, user.name, reason, via="（网页控制台）")
    except AlreadyWithdrawn as exc:
        return Outcome(notice=exc.message)
    except WithdrawError as exc:
        return Outcome(error=exc.message)
    except ConfigError as exc:
        return Outcome(error=f"配置错误：{exc}")
    scope = "整次推送" if article is None else f"第 {article} 篇"
    return Outcome(notice=f"已撤回{scope}（{len(rows)} 篇），已记入台账")
