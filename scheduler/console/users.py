"""Console users: argon2id password hashes, roles per account, and the login lockout.

Everything is stored in the ledger (tables ``console_user`` and ``console_grant``),
so every console process on one database sees the same users and the same locks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select

from ..ledger import ConsoleGrant, ConsoleUser, Ledger, utcnow

MAX_FAILURES = 5  # wrong passwords in a row before the account is locked
LOCK_MINUTES = 15
MIN_PASSWORD = 8
VIEWER = "查看"  # a role that sees the account's pages and signs nothing
NAME_CHARS = 64

_hasher = PasswordHasher()  # argon2id with the library's current recommended costs
# Verified when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY = _hasher.hash("tuiwen-console-placeholder")


class UserError(Exception):
    """The user cannot be added or changed; the message says why and what to do."""


@dataclass(frozen=True)
class User:
    name: str
    disabled: bool
    locked_until: datetime | None
    grants: tuple[tuple[str, str], ...]  # (account key, role)

    def roles(self, account: str) -> tuple[str, ...]:
        """The roles this user may sign with on ``account``."""
        return tuple(role for key, role in self.grants if key == account and role != VIEWER)

    @property
    def accounts(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(key for key, _ in self.grants))


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"密码太短：至少 {MIN_PASSWORD} 个字符")


def add(ledger: Ledger, name: str, account: str, role: str, password: str | None) -> bool:
    """Give ``name`` the ``role`` on ``account``; a new user needs a password. True when the user is new."""
    name = name.strip()
    if not name or len(name) > NAME_CHARS or any(ch.isspace() or ord(ch) < 0x20 for ch in name):
        raise UserError(f"用户名“{name}”无效：不能为空、不能含空白，最多 {NAME_CHARS} 个字符")
    with ledger.session() as session:
        user = session.get(ConsoleUser, name)
        created = user is None
        if user is None:
            if password is None:
                raise UserError(f"新用户 {name} 需要密码：请用 --password-stdin 从标准输入给出，或按提示输入")
            check_password(password)
            session.add(ConsoleUser(name=name, password_hash=_hasher.hash(password), disabled=False, failures=0))
            session.flush()
        elif password is not None:
            check_password(password)
            user.password_hash = _hasher.hash(password)
        if session.get(ConsoleGrant, (name, account, role)) is None:
            session.add(ConsoleGrant(user=name, account=account, role=role))
        session.commit()
    ledger.event(account, "user_added", f"控制台用户 {name} 获得角色 {role}")
    return created


def get(ledger: Ledger, name: str) -> User | None:
    with ledger.session() as session:
        user = session.get(ConsoleUser, name)
        if user is None:
            return None
        grants = session.execute(select(ConsoleGrant.account, ConsoleGrant.role)
                                 .where(ConsoleGrant.user == name).order_by(ConsoleGrant.account)).all()
        return User(user.name, user.disabled, user.locked_until, tuple((a, r) for a, r in grants))


def every(ledger: Ledger) -> list[User]:
    with ledger.session() as session:
        names = list(session.scalars(select(ConsoleUser.name).order_by(ConsoleUser.name)))
    return [u for u in (get(ledger, n) for n in names) if u is not None]


def disable(ledger: Ledger, name: str) -> None:
    with ledger.session() as session:
        user = session.get(ConsoleUser, name)
        if user is None:
            raise UserError(f"没有用户 {name}（publish user list 列出全部用户）")
        user.disabled = True
        accounts = list(session.scalars(select(ConsoleGrant.account).where(ConsoleGrant.user == name)))
        session.commit()
    for account in dict.fromkeys(accounts):
        ledger.event(account, "user_disabled", f"控制台用户 {name} 已停用")


def reset(ledger: Ledger, name: str, password: str) -> None:
    """A new password; the user is enabled again and any lock lifted."""
    check_password(password)
    with ledger.session() as session:
        user = session.get(ConsoleUser, name)
        if user is None:
            raise UserError(f"没有用户 {name}（publish user list 列出全部用户）")
        user.password_hash = _hasher.hash(password)
        user.disabled, user.failures, user.locked_until = False, 0, None
        accounts = list(session.scalars(select(ConsoleGrant.account).where(ConsoleGrant.user == name)))
        session.commit()
    for account in dict.fromkeys(accounts):
        ledger.event(account, "user_reset", f"控制台用户 {name} 的密码已重设")


@dataclass(frozen=True)
class Login:
    user: User | None  # signed in, or None
    message: str = ""  # why not, for the person at the form


def authenticate(ledger: Ledger, name: str, password: str, now: datetime | None = None) -> Login:
    """Check a password; five wrong ones in a row lock the user for fifteen minutes."""
    now = now or utcnow()
    wrong = Login(None, "用户名或密码不对，请再试一次")
    with ledger.session() as session:
        user = session.get(ConsoleUser, name.strip()[:NAME_CHARS]) if name.strip() else None
        if user is None:
            _verify(_DUMMY, password)
            return wrong
        if user.locked_until is not None and user.locked_until > now:
            minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
            return Login(None, f"登录失败次数过多，账号已锁定，请 {minutes} 分钟后再试，或请管理员用 publish user reset 重设密码")
        if not _verify(user.password_hash, password):
            user.failures += 1
            if user.failures >= MAX_FAILURES:
                user.locked_until, user.failures = now + timedelta(minutes=LOCK_MINUTES), 0
                session.commit()
                return Login(None, f"登录失败次数过多，账号已锁定 {LOCK_MINUTES} 分钟")
            session.commit()
            return wrong
        if user.disabled:
            return Login(None, "这个用户已停用，请联系管理员")
        user.failures, user.locked_until = 0, None
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
        session.commit()
    return Login(get(ledger, name.strip()))


def _verify(digest: str, password: str) -> bool:
    try:
        return _hasher.verify(digest, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
