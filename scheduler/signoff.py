"""Sign-off bound to content: who approved which version (sha256) of a post, in which role.

The records live in ``content/.signoff.toml``, beside the posts, so they are
committed with them and show in git history.  An approval names the sha256 of the
file it saw; any later edit changes the hash and voids it.  With ``[review].roles``
set, a ``status: ready`` post goes out only when every role has approved its
current content — the check reports an error otherwise, and the bundle choice
skips posts with errors.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .cache import ParsedFiles, approvals_of
from .posts import ERROR, WARNING, Post, is_post, read_post, scan

if TYPE_CHECKING:
    from .config import Config

log = logging.getLogger(__name__)

SIGNOFF_FILE = ".signoff.toml"
DEFAULT_ROLES = ("初审", "复审", "终审")
SIGN_ROLE = "终审"  # 签发; without it the last configured role signs

HEADER = """\
# 审核签发记录：由 `publish approve` 写入，请随文章一起提交到 git，不要手工修改。
# 每篇文章（路径相对 content/）一组记录：role 角色、by 审核人、sha256 审核时文章的内容指纹、at 审核时间。
# 文章审核后再改动（包括改 status），sha256 就对不上，原审核失效，需要重新审核。
"""


class SignoffError(Exception):
    """The approval cannot be recorded (or the records cannot be read); the message says why."""


@dataclass(frozen=True)
class Approval:
    role: str
    by: str
    sha256: str
    at: datetime


@dataclass(frozen=True)
class Status:
    """Where a post stands against the required roles."""

    approved: tuple[Approval, ...]  # for the current content
    missing: tuple[str, ...]  # required roles with no approval at all
    void: tuple[Approval, ...]  # required roles approved for an earlier version only

    @property
    def complete(self) -> bool:
        return not self.missing and not self.void


def records_path(config: Config) -> Path:
    return config.content.dir / SIGNOFF_FILE


# --- reading ------------------------------------------------------------------

def load(path: Path) -> dict[str, tuple[Approval, ...]]:
    """Post path → its approvals; empty when there is no file yet; SignoffError when unreadable."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise SignoffError(f"无法读取审核记录 {path.name}：{exc.strerror}") from None
    return _records.get(path, st)


def _parse(path: Path) -> dict[str, tuple[Approval, ...]]:
    try:
        with path.open("rb") as file:
            data = tomllib.load(file)
    except (OSError, UnicodeDecodeError) as exc:
        raise SignoffError(f"无法读取审核记录 {path.name}：{exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SignoffError(f"审核记录 {path.name} 格式错误：{exc}（可用 git 恢复此文件）") from None
    records: dict[str, tuple[Approval, ...]] = {}
    for rel, entries in data.items():
        if not isinstance(entries, list):
            raise SignoffError(f"审核记录 {path.name} 中“{rel}”的格式不对（可用 git 恢复此文件）")
        approvals = []
        for entry in entries:
            try:
                at = entry["at"]
                if not isinstance(at, datetime) or at.tzinfo is None:
                    raise TypeError
                approvals.append(Approval(str(entry["role"]), str(entry["by"]), str(entry["sha256"]), at))
            except (KeyError, TypeError):
                raise SignoffError(f"审核记录 {path.name} 中“{rel}”的一条记录缺少 role、by、sha256 或 at") from None
        records[rel] = tuple(approvals)
    return records


_records = ParsedFiles(_parse)


def content_sha256(data: bytes) -> str:
    """The sha256 an approval names: of the file with CRLF line ends read as LF.

    Git for Windows checks files out with CRLF and commits them with LF, so the
    editor's copy and the publishing machine's differ in bytes, not in content.
    """
    return hashlib.sha256(data.replace(b"\r\n", b"\n")).hexdigest()


def post_digest(post: Post, names: set[str] | frozenset[str] = frozenset()) -> str:
    """The post's content hash as approvals record it (``names``: hashes worth a second look)."""
    if not names or post.sha256 in names:
        return post.sha256  # no CRLF question to ask: the common case needs no second read
    try:
        data = post.path.read_bytes()
    except OSError:
        return post.sha256
    if b"\r\n" not in data or hashlib.sha256(data).hexdigest() != post.sha256:
        return post.sha256  # no CRLF, or changed since it was read: the bytes decide
    return content_sha256(data)


def roles_of(config: Config) -> tuple[str, ...]:
    return config.review.roles or DEFAULT_ROLES


def with_ledger(config: Config, ledger) -> Config:
    """``config`` carrying the approvals given in the web console, as the ledger holds them now.

    The file records travel with the content (in git mode: the committed snapshot); the
    console's approvals are in the ledger, so a browser approval counts without a commit.
    """
    from dataclasses import replace

    rows = ledger.approvals(config.account.key) if ledger is not None else []
    tz = config.account.tz
    web = tuple((r.post_path, Approval(r.role, r.by, r.sha256, r.at.astimezone(tz))) for r in rows)
    return replace(config, web_approvals=web)


def _web(config: Config, rel: str) -> tuple[Approval, ...]:
    web = config.web_approvals
    last = _web_index[0]
    if last[0] is not web:  # asked for every post in turn: indexed once per set of approvals
        last = _web_index[0] = (web, approvals_of(config))
    return last[1].get(rel, ())


_web_index: list[tuple[Any, dict[str, tuple[Approval, ...]]]] = [(None, {})]


def entries_of(config: Config, records: dict[str, tuple[Approval, ...]], rel: str) -> tuple[Approval, ...]:
    """Every approval of the post at ``rel``: the file's and the console's."""
    return records.get(rel, ()) + (_web(config, rel) if config.web_approvals else ())


def status(post: Post, config: Config, records: dict[str, tuple[Approval, ...]] | None = None) -> Status:
    """The post's approvals for its current content (file records and console approvals), and what is missing or void."""
    if records is None:
        records = load(records_path(config))
    entries = entries_of(config, records, post.rel)
    digest = post_digest(post, {a.sha256 for a in entries})
    current = tuple(a for a in entries if a.sha256 == digest)
    approved_roles = {a.role for a in current}
    missing, void = [], []
    for role in config.review.roles:
        if role in approved_roles:
            continue
        earlier = [a for a in entries if a.role == role]
        if earlier:
            void.append(max(earlier, key=lambda a: a.at))
        else:
            missing.append(role)
    return Status(current, tuple(missing), tuple(void))


def signers(approved: tuple[Approval, ...], roles: tuple[str, ...]) -> tuple[str, str]:
    """(审核, 签发) names from approvals: 终审 (or the last role) signs, the others review."""
    if not approved:
        return "", ""
    order = {role: i for i, role in enumerate(roles)}
    ranked = sorted(approved, key=lambda a: (order.get(a.role, len(order)), a.at))
    present = {a.role for a in ranked}
    # 初审 and 复审 alone are reviews, not a sign-off: only the signing role signs.
    sign_role = SIGN_ROLE if SIGN_ROLE in present else (roles[-1] if roles and roles[-1] in present else "")
    reviewers = _unique(a.by for a in ranked if a.role != sign_role)
    approvers = _unique(a.by for a in ranked if a.role == sign_role)
    return "、".join(reviewers), "、".join(approvers)


def _unique(names) -> list[str]:
    seen: list[str] = []
    for name in names:
        if name not in seen:
            seen.append(name)
    return seen


def names(post: Post, config: Config) -> tuple[str, str]:
    """The footer's 审核 and 签发: the records for the current content when present, else the front matter."""
    try:
        current = status(post, config).approved
    except SignoffError:
        current = ()
    reviewed, approved = signers(current, roles_of(config))
    return reviewed or post.reviewed_by, approved or post.approved_by


# --- the check ----------------------------------------------------------------

def _when(moment: datetime, config: Config) -> str:
    return moment.astimezone(config.account.tz).strftime("%Y-%m-%d %H:%M")


def check_signoff(post: Post, config: Config, records: dict[str, tuple[Approval, ...]] | None = None) -> bool:
    """Fill the post's 审核/签发 from the records; with ``[review].roles``, report what is missing.

    True when the roles decided (the front-matter rule of ``[review].required`` is then not used).
    """
    try:
        state = status(post, config, records)
    except SignoffError as exc:
        if post.status == "ready":  # blocks only when the roles depend on the records
            post.report(1, ERROR if config.review.roles else WARNING, str(exc))
        return bool(config.review.roles)
    reviewed, approved = signers(state.approved, roles_of(config))
    post.reviewed_by, post.approved_by = reviewed or post.reviewed_by, approved or post.approved_by
    if not config.review.roles:
        return False
    if post.status == "ready" and not state.complete:
        post.report(post.line_of("status"), ERROR, describe(state, config))
    return True


def describe(state: Status, config: Config) -> str:
    """Why a post is not signed off, in one sentence for editors (and the dry run's reason)."""
    parts = []
    if state.void:
        who = "、".join(f"{a.role}（{a.by}，{_when(a.at, config)}）" for a in state.void)
        parts.append(f"内容在 {who} 审核后被修改，需要重新审核")
    if state.missing:
        parts.append(f"缺少 {'、'.join(state.missing)}")
    return "审核签发未完成（[review].roles）：" + "；".join(parts) + "。审核人用 publish approve 文章路径 --by 姓名 --role 角色 确认"


# --- recording ----------------------------------------------------------------

def resolve_post(config: Config, given: str | Path, cwd: Path | None = None) -> Path:
    """The post a user named, relative to the current folder or to content/; SignoffError otherwise."""
    root = config.content.dir.resolve()
    given = Path(given).expanduser()
    candidates = [given] if given.is_absolute() else [(cwd or Path.cwd()) / given, root / given]
    path = next((c for c in candidates if c.exists()), candidates[0])
    resolved = path.resolve()
    if not resolved.is_relative_to(root):
        raise SignoffError(f"{given} 不在内容仓库 {root} 之内，只能审核 content/ 里的文章")
    if not resolved.is_file():
        raise SignoffError(f"找不到文章 {given}")
    # Where it is, looked at once; resolving every post only when it may be a link to the file.
    if not (is_post(root, resolved.relative_to(root).as_posix()) or resolved in {p.resolve() for p in scan(root)}):
        raise SignoffError(f"{given} 不是文章：文章是 content/<分类>/ 下的 .md 文件（以 _ 或 . 开头的文件夹不算）")
    return resolved


def approve(config: Config, given: str | Path, by: str, role: str, at: datetime,
            cwd: Path | None = None) -> tuple[Post, Approval, Status]:
    """Record that ``by`` approved the post's current content as ``role``; the post, the record and what remains."""
    post, approval = _approval(config, given, by, role, at, cwd)
    allowed = roles_of(config)
    target = records_path(config)
    with _locked(target.parent):
        records = dict(_parse(target)) if target.exists() else {}
        kept = [a for a in records.get(post.rel, ()) if a.role != role]  # one current entry per role
        records[post.rel] = (*kept, approval)
        write(target, records, allowed)
    return post, approval, status(post, config, records)


def approve_in_ledger(config: Config, ledger, given: str | Path, by: str, role: str,
                      at: datetime) -> tuple[Post, Approval, Status]:
    """The console's approval: checked as ``approve`` checks, recorded in the ledger instead of the file."""
    post, approval = _approval(config, given, by, role, at, config.content.dir)
    ledger.approve(config.account.key, post.rel, approval.sha256, role, approval.by, approval.at)
    return post, approval, status(post, with_ledger(config, ledger))


def _approval(config: Config, given: str | Path, by: str, role: str, at: datetime,
              cwd: Path | None) -> tuple[Post, Approval]:
    by = by.strip()
    if not by:
        raise SignoffError("--by 不能为空：请写审核人姓名")
    allowed = roles_of(config)
    if role not in allowed:
        where = "（[review].roles）" if config.review.roles else ""
        raise SignoffError(f"角色“{role}”不在可用角色 {'、'.join(allowed)} 之中{where}")
    root = config.content.dir.resolve()
    path = resolve_post(config, given, cwd)
    post = read_post(path, root, config)
    if not post.parsed:
        reason = next((p.message for p in post.problems), "无法读取")
        raise SignoffError(f"{post.rel} 不是可审核的文章：{reason}")
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != post.sha256:
        raise SignoffError(f"{post.rel} 正在被修改，请保存后再审核")
    return post, Approval(role, by, content_sha256(data), at.astimezone(config.account.tz).replace(microsecond=0))


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Serialise writers on one machine (two editors approving at once must not lose a record)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: rename is still atomic, only a race can lose a record
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _quote(text: str) -> str:
    """A TOML basic string."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def render(records: dict[str, tuple[Approval, ...]], roles: tuple[str, ...]) -> str:
    """The records as TOML: sorted by post path, then role order, so diffs stay small."""
    order = {role: i for i, role in enumerate(roles)}
    parts = [HEADER]
    for rel in sorted(records):
        for a in sorted(records[rel], key=lambda a: (order.get(a.role, len(order)), a.role, a.at)):
            parts.append(f"\n[[{_quote(rel)}]]\nrole = {_quote(a.role)}\nby = {_quote(a.by)}\n"
                         f"sha256 = {_quote(a.sha256)}\nat = {a.at.isoformat()}\n")
    return "".join(parts)


def write(path: Path, records: dict[str, tuple[Approval, ...]], roles: tuple[str, ...]) -> None:
    """Replace the records file atomically: a reader sees the old file or the new one, never half."""
    text = render(records, roles)
    fd, temp = tempfile.mkstemp(prefix=SIGNOFF_FILE + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
