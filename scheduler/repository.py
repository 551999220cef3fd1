"""``publish check`` over a whole content repository: every post read and checked, and what
concerns the repository rather than one post (covers named in config.toml, uncommitted files)."""

from __future__ import annotations

from dataclasses import dataclass

from .bulk import read_checked
from .cache import Cache
from .checks import image_problem
from .config import Config
from .posts import ERROR, WARNING, Post, Problem


@dataclass(frozen=True)
class CheckResult:
    posts: list[Post]
    problems: list[Problem]

    @property
    def errors(self) -> int:
        return sum(p.severity == ERROR for p in self.problems)

    @property
    def warnings(self) -> int:
        return sum(p.severity == WARNING for p in self.problems)


def check_repository(config: Config, *, cache: Cache | None = None, workers: int | None = None) -> CheckResult:
    """Read and validate every post; problems sorted by file and line.

    With a cache, unchanged posts are not read again; with many posts to read, every
    core works on them (``workers``: see ``bulk.read_checked``).  Same result either way.
    """
    posts = read_checked(config, render=True, cache=cache, workers=workers)
    problems = sorted(p for post in posts for p in post.problems)
    return CheckResult(posts, _config_problems(config) + _uncommitted_problems(config) + problems)


def _uncommitted_problems(config: Config) -> list[Problem]:
    """In an editor's clone: files the publishing machine will not see until they are committed."""
    from .gitcontent import enabled, uncommitted

    if not enabled(config):
        return []
    return [Problem(rel, 1, WARNING, "尚未提交到 git：服务器只发布已提交并推送的内容")
            for rel in uncommitted(config)]


def _config_problems(config: Config) -> list[Problem]:
    """Covers named in config.toml that do not exist: warned, since a cover is generated instead."""
    problems = []
    named = [("[account].cover", config.account.cover)]
    named += [(f"[categories.{c.key}].cover", c.cover) for c in config.categories.values()]
    for key, path in named:
        if path is not None and (reason := image_problem(path)):
            problems.append(Problem(config.path.name, 1, WARNING, f"{key} 封面 {path.name} {reason}，将使用自动生成的封面"))
    return problems
