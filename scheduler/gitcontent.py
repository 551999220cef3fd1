"""Git-backed content: publish what was committed, never a half-edited file.

Editors commit and push; the publishing machine holds another clone.  Before a
bundle is chosen the configured remote branch is fetched and, where the work tree
allows, fast-forwarded.  Posts are then read from a snapshot of the commit (the
content folder exported with ``git archive``), so uncommitted or untracked files
in the server's work tree are never published.  The git command does the work:
it is on every machine that holds a clone, and it needs no extra package.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import subprocess
import tarfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, overload

from .config import Config

log = logging.getLogger(__name__)

FETCH_TIMEOUT = 60  # seconds: a hung network must not hold a slot for ever
KEEP_SNAPSHOTS = 3


class GitError(Exception):
    """The clone is in a state tuiwen will not publish from; the message says what to do."""


@dataclass(frozen=True)
class Commit:
    sha: str
    author: str = ""
    date: str = ""  # ISO 8601


@dataclass
class Checkout:
    """The content a release is read from: a snapshot folder of one commit."""

    config: Config  # the config with [content].dir pointing at the snapshot
    commit: str
    warnings: list[str] = field(default_factory=list)


def _git(cwd: Path, *args: str, timeout: float = 30, check: bool = True) -> subprocess.CompletedProcess:
    # The caller's environment (HOME for SSH keys and credential helpers), but never a prompt
    # that would hang a daemon, and messages in a language the code can read.
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=timeout, env=env, check=False)
    if check and result.returncode != 0:
        raise GitError(result.stderr.decode("utf-8", "replace").strip() or f"git {args[0]} 失败")
    return result


def work_tree(folder: Path) -> Path | None:
    """The top of the git work tree holding ``folder``, or None."""
    if shutil.which("git") is None or not folder.is_dir():
        return None
    try:
        result = _git(folder, "rev-parse", "--show-toplevel", check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return Path(result.stdout.decode().strip()).resolve() if result.returncode == 0 else None


def enabled(config: Config) -> bool:
    """``[content].git``: true, false, or (auto) whether the content folder is in a git work tree."""
    setting = config.content.git
    return work_tree(config.content.dir) is not None if setting == "auto" else bool(setting)


def uncommitted(config: Config) -> list[str]:
    """Post and image files under content/ that differ from HEAD or are untracked (rel paths)."""
    top = work_tree(config.content.dir)
    if top is None:
        return []
    result = _git(top, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--", str(config.content.dir))
    paths = []
    for entry in result.stdout.decode("utf-8", "replace").split("\0"):
        if len(entry) > 3:
            path = (top / entry[3:]).resolve()
            if path.is_relative_to(config.content.dir):
                paths.append(path.relative_to(config.content.dir).as_posix())
    return sorted(set(paths))


class GitContent:
    """Fetch, fast-forward and snapshot the content repository of one config."""

    def __init__(self, config: Config, snapshots: Path | None = None) -> None:
        self.config = config
        top = work_tree(config.content.dir)
        if top is None:
            raise GitError(f"内容目录 {config.content.dir} 不在 git 仓库中（[content].git = true）")
        self.top = top
        self.subdir = config.content.dir.relative_to(top).as_posix() if config.content.dir != top else ""
        self.snapshots = snapshots or config.root / "state" / "snapshots"

    # --- updating -----------------------------------------------------------

    def update(self) -> tuple[str, list[str]]:
        """Fetch and fast-forward; (the commit to publish, warnings).  Refuses a diverged clone."""
        warnings = []
        branch = self.config.content.git_branch or self._current_branch()
        remote = self.config.content.git_remote
        try:
            _git(self.top, "fetch", "--quiet", remote, branch, timeout=FETCH_TIMEOUT)
        except (GitError, subprocess.TimeoutExpired, OSError) as exc:
            warnings.append(f"从 {remote} 拉取 {branch} 失败，使用上次拉取到的提交发布：{_first_line(exc)}")
        local = self._rev(f"refs/heads/{branch}")
        upstream = self._rev(f"refs/remotes/{remote}/{branch}", missing_ok=True) or local
        if local != upstream:
            if self._is_ancestor(upstream, local):
                raise GitError(f"本机分支 {branch} 有未推送到 {remote} 的提交，与编辑们的仓库不一致；"
                               f"请先推送或撤销这些提交（git log {remote}/{branch}..{branch}），tuiwen 不会强行覆盖")
            if not self._is_ancestor(local, upstream):
                raise GitError(f"本机分支 {branch} 与 {remote}/{branch} 已分叉，tuiwen 不会强行覆盖；"
                               f"请人工合并或重置后再发布（git status；git log --oneline --graph --all）")
            warnings += self._fast_forward(branch, upstream)
        dirty = uncommitted(self.config)
        if dirty:
            warnings.append("服务器上的内容目录有未提交的修改，不会发布：" + "、".join(dirty[:10])
                            + ("……" if len(dirty) > 10 else ""))
        return upstream, warnings

    def _fast_forward(self, branch: str, target: str) -> list[str]:
        if self._current_branch() != branch:
            _git(self.top, "update-ref", f"refs/heads/{branch}", target)
            return []
        result = _git(self.top, "merge", "--ff-only", "--quiet", target, check=False)
        if result.returncode != 0:
            # Local edits collide with the update: publish the fetched commit, leave the files alone.
            return ["服务器上的工作区有与更新冲突的未提交修改，工作区未更新（不会强行覆盖）；仍按已拉取的提交发布"]
        return []

    # --- reading ------------------------------------------------------------

    def checkout(self) -> Checkout:
        """Update, then a snapshot of the commit to publish."""
        commit, warnings = self.update()
        return Checkout(self.at(commit), commit, warnings)

    def at(self, commit: str) -> Config:
        """The config reading content from a snapshot of ``commit`` (made once, then reused)."""
        folder = self.snapshots / commit
        if not (folder / ".complete").exists():
            self._export(commit, folder)
        # The archive is of the content folder's own tree: the snapshot *is* the content folder.
        return rebased(self.config, folder.resolve())

    def _export(self, commit: str, folder: Path) -> None:
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        spec = [f"{commit}:{self.subdir}"] if self.subdir else [commit]
        archive = _git(self.top, "archive", "--format=tar", *spec, timeout=120).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(folder, filter="data")  # no absolute paths, no links out of the folder
        (folder / ".complete").touch()
        self._prune(keep=folder)

    def _prune(self, keep: Path) -> None:
        old = sorted((p for p in self.snapshots.iterdir() if p.is_dir() and p != keep),
                     key=lambda p: p.stat().st_mtime, reverse=True)
        for folder in old[KEEP_SNAPSHOTS - 1:]:
            shutil.rmtree(folder, ignore_errors=True)

    def last_commit(self, commit: str, rel: str) -> Commit:
        """The last commit at or before ``commit`` that touched a post (author and date)."""
        path = f"{self.subdir}/{rel}" if self.subdir else rel
        out = _git(self.top, "log", "-1", "--format=%H%x00%an%x00%aI", commit, "--", path).stdout.decode()
        sha, author, date = [*out.strip().split("\0"), "", "", ""][:3]
        return Commit(sha, author, date)

    # --- plumbing -----------------------------------------------------------

    def _current_branch(self) -> str:
        name = _git(self.top, "symbolic-ref", "--quiet", "--short", "HEAD", check=False).stdout.decode().strip()
        if not name:
            raise GitError("内容仓库处于分离 HEAD 状态：请在 [content].git_branch 写明要发布的分支")
        return name

    @overload
    def _rev(self, ref: str, missing_ok: Literal[False] = False) -> str: ...
    @overload
    def _rev(self, ref: str, missing_ok: bool) -> str | None: ...

    def _rev(self, ref: str, missing_ok: bool = False) -> str | None:
        result = _git(self.top, "rev-parse", "--verify", "--quiet", ref + "^{commit}", check=False)
        if result.returncode != 0:
            if missing_ok:
                return None
            raise GitError(f"找不到 {ref}：请检查 [content].git_branch 和 git_remote")
        return result.stdout.decode().strip()

    def _is_ancestor(self, older: str, newer: str) -> bool:
        return _git(self.top, "merge-base", "--is-ancestor", older, newer, check=False).returncode == 0


def rebased(config: Config, snapshot: Path) -> Config:
    """The config with the content folder, and every file config.toml names inside it
    (covers, the QR code), moved to a snapshot: nothing is read from the work tree."""
    old = config.content.dir

    def move(path: Path | None) -> Path | None:
        return snapshot / path.relative_to(old) if path is not None and path.is_relative_to(old) else path

    categories = {key: replace(c, cover=move(c.cover)) for key, c in config.categories.items()}
    return replace(config, content=replace(config.content, dir=snapshot),
                   account=replace(config.account, cover=move(config.account.cover)),
                   theme=replace(config.theme, qr_image=move(config.theme.qr_image)),
                   categories=categories)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[-1][:200]


class ContentSource:
    """Where a release reads its posts: the committed snapshot when git is on, else the folder."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._git: GitContent | None = GitContent(config) if enabled(config) else None

    @property
    def git(self) -> bool:
        return self._git is not None

    def current(self) -> Checkout:
        """The content to choose a new bundle from (fetching first when git is on)."""
        if self._git is None:
            return Checkout(self.config, "")
        return self._git.checkout()

    def of(self, commit: str | None) -> Config:
        """The content a release recorded at claim time, so a resumed release reads the same posts."""
        if self._git is None or not commit:
            return self.config
        return self._git.at(commit)

    def last_commit(self, commit: str, rel: str) -> Commit:
        return self._git.last_commit(commit, rel) if self._git and commit else Commit("")
