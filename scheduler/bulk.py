"""Reading and checking every post at once: through the cache, and on every core.

``read_checked`` gives the same posts with the same problems as reading each post
and running ``check_post`` (and ``check_rendered``) on it, whatever the cache holds
and however many processes do the work: the cache only skips work whose inputs are
unchanged, and the processes each handle whole posts.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .cache import Cache, collector_paused, dependencies, file_key, racy
from .config import Config
from .posts import Post, read_post, scan_rel

PARALLEL_MIN = 200  # fewer posts to read than this: starting processes costs more than it saves
_CHUNKS_PER_WORKER = 4

# (path, rel, stat or None when it cannot be stat'ed) of every post file, in ``scan_rel`` order
Files = Sequence[tuple[Path, str, os.stat_result | None]]


def stat_files(root: Path) -> Files:
    """``scan_rel(root)`` with each file's stat, as read_checked and read_headers take them."""
    out = []
    for path, rel in scan_rel(root):
        try:
            info: os.stat_result | None = os.stat(path)
        except OSError:
            info = None
        out.append((path, rel, info))
    return out


def read_checked(config: Config, *, render: bool, cache: Cache | None = None, workers: int | None = None,
                 parallel_min: int = PARALLEL_MIN, files: Files | None = None) -> list[Post]:
    """Every post, read and checked; with ``render`` also checked as rendered. In ``scan`` order.

    ``workers`` None uses every available core once at least ``parallel_min`` posts
    need reading; 1 keeps everything in this process.  ``files``: the post files as
    ``stat_files`` gives them, when the caller has just looked.
    """
    cache = cache or Cache.disabled()
    root = config.content.dir
    now = time.time()
    posts: list[Post | None] = []
    todo: list[tuple[int, Path, os.stat_result | None]] = []
    for path, rel, info in stat_files(root) if files is None else files:
        post = _from_cache(cache, path, rel, info, root, render) if info is not None and cache.enabled else None
        if post is None:
            todo.append((len(posts), path, info))
        posts.append(post)
    if workers is None:
        workers = _cores() if len(todo) >= parallel_min else 1
    done = _in_processes(_read_and_check, config, [t[1] for t in todo], workers, render, cache.enabled)
    for (index, _, info), (post, read, ruled, deps) in zip(todo, done, strict=True):
        posts[index] = post
        if not cache.enabled:
            continue
        if info is not None and not racy(info, now):
            cache.put_post(post, file_key(info), read)
        if post.parsed and deps is not None:
            cache.put_check(post, deps, post.problems[read:ruled], post.problems[ruled:] if render else None)
    cache.save()
    return posts  # type: ignore[return-value]


def read_headers(config: Config, *, cache: Cache | None = None, files: Files | None = None,
                 workers: int | None = None, parallel_min: int = PARALLEL_MIN) -> tuple[list[Post], BodyChecks]:
    """Every post with its front matter and header rules only (``check_header``), in ``scan`` order,
    and the means to run the body rules on the few posts that need them (what choosing a bundle asks).

    A post passed through the returned ``BodyChecks`` ends with exactly the problems
    ``read_checked(render=False)`` gives it.  ``files``, ``workers`` and ``parallel_min``:
    as for ``read_checked`` (a first run over thousands of posts reads them on every core).
    """
    cache = cache or Cache.disabled()
    now = time.time()
    records = signoff_records(config)
    posts: list[Post | None] = []
    todo: list[tuple[int, Path, str, os.stat_result | None]] = []
    read: dict[int, int] = {}
    with collector_paused():
        for path, rel, info in stat_files(config.content.dir) if files is None else files:
            post = cache.post(path, rel, file_key(info)) if info is not None and cache.enabled else None
            if post is None:
                todo.append((len(posts), path, rel, info))
            else:
                cache.keep_post(rel)
                _cached_header(config, cache, post, records, read)
            posts.append(post)
        if workers is None:
            workers = _cores() if len(todo) >= parallel_min else 1
        fresh = _in_processes(_read_headers, config, [(path, rel) for _, path, rel, _ in todo], workers, records)
        for (index, _, _, info), (post, count) in zip(todo, fresh, strict=True):
            posts[index] = post
            if post.parsed:
                read[id(post)] = count
                cache.keep_check(post.rel, post.sha256)  # still this post's results, for the next full check
            if cache.enabled and info is not None and not racy(info, now):
                cache.put_post(post, file_key(info), count)
                if post.parsed:
                    cache.put_header(post.rel, post.sha256, post.problems[count:])
    return posts, BodyChecks(config, cache, read)  # type: ignore[return-value]


def _cached_header(config: Config, cache: Cache, post: Post, records: dict | None, read: dict[int, int]) -> None:
    """A post from the cache, with its header rules (stored too when they ran on this version)."""
    if not post.parsed:
        return
    count = len(post.problems)
    cache.keep_check(post.rel, post.sha256)
    read[id(post)] = count
    stored = cache.header(post.rel, post.sha256)
    if stored is not None:  # the cached post carries what the rules filled in (审核/签发) too
        post.problems.extend(stored)
        return
    from .checks import check_header

    check_header(post, config, records)  # fills 审核/签发 from the records: stored so, as read_checked does
    cache.put_header(post.rel, post.sha256, post.problems[count:])


def _read_headers(config: Config, files: list[tuple[Path, str]], records: dict | None) -> list[tuple[Post, int]]:
    """(post, how many of its problems came from reading) for each file, read with its header rules."""
    from .checks import check_header

    root = config.content.dir
    folders: dict[str, bool] = {}
    out = []
    for path, rel in files:
        post = read_post(path, root, config, folders, rel)
        count = len(post.problems)
        check_header(post, config, records)
        out.append((post, count))
    return out


class BodyChecks:
    """Runs the body rules once on each post of a ``read_headers`` list that needs them; the cache
    answers for a post whose version and images it already checked.  ``save`` writes the cache."""

    def __init__(self, config: Config, cache: Cache, read: dict[int, int]) -> None:
        from .checks import _ImageChecker

        self.config, self.cache = config, cache
        self._read = read  # id(post) → how many problems came from reading it; absent once done
        self._images = _ImageChecker(config.content.dir)

    def __call__(self, post: Post) -> None:
        from .checks import check_body

        read = self._read.pop(id(post), None)
        if read is None:
            return  # done already, or never read (unparsed posts have no body rules)
        root = self.config.content.dir
        entry = self.cache.check(post, root, False) if self.cache.enabled else None
        if entry is not None:
            post.problems[read:] = entry.rules  # header and body rules, as stored by a full check
            return
        deps = dependencies(self.cache, post, root) if self.cache.enabled else None
        check_body(post, self.config, self._images)
        if deps is not None:
            self.cache.put_check(post, deps, post.problems[read:], None)

    def save(self) -> None:
        self.cache.save()


def signoff_records(config: Config) -> dict | None:
    """The sign-off records, read once for a pass over every post; None when each post must read
    them itself (they cannot be read: each post then says so, as alone)."""
    from .signoff import SignoffError, load, records_path

    try:
        return load(records_path(config))
    except SignoffError:
        return None


def _from_cache(cache: Cache, path: Path, rel: str, info: os.stat_result, root: Path, render: bool) -> Post | None:
    """The post with all its problems from the cache, or None when anything must be redone."""
    post = cache.post(path, rel, file_key(info))
    if post is None:
        return None
    if post.parsed:
        entry = cache.check(post, root, render)
        if entry is None:
            return None
        post.problems.extend(entry.rules)
        if render:
            post.problems.extend(entry.rendered or ())
    cache.keep_post(rel)
    return post


def _cores() -> int:
    """How many processes a big first read uses: ``TUIWEN_JOBS`` when it is a number (as
    ``publish check --jobs`` takes it), else every core this process may run on."""
    jobs = os.environ.get("TUIWEN_JOBS", "").strip()
    if jobs.isdigit() and int(jobs) >= 1:
        return min(int(jobs), 64)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _in_processes(function: Callable[..., list[tuple]], config: Config, items: list, workers: int,
                  *args: Any) -> list[tuple]:
    """``function(config, items, *args)``: a list of tuples, a post first in each.  With more than
    one worker, the items are cut into chunks that many processes work on, and the posts come
    back without their bodies (read again by whoever needs one)."""
    if workers <= 1 or len(items) < 2:
        return function(config, items, *args)
    from concurrent.futures import ProcessPoolExecutor  # here: a warm run never starts a process

    # Imported before the pool starts, so forked workers inherit them instead of each importing.
    from . import articles, checks  # noqa: F401

    size = max(1, -(-len(items) // (workers * _CHUNKS_PER_WORKER)))
    chunks = [items[i:i + size] for i in range(0, len(items), size)]
    n = len(chunks)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        results = pool.map(_worker_chunk, [function] * n, [config] * n, chunks, *([arg] * n for arg in args))
        return [item for chunk in results for item in chunk]


def _read_and_check(config: Config, paths: list[Path], render: bool, want_deps: bool = True) -> list[tuple]:
    """(post, problems from reading, … plus the rules, image dependencies) for each path.

    The dependencies (for the cache) are None when ``want_deps`` is off.
    """
    from publishers.assets import resolving_once

    with resolving_once():  # the posts of a category share a few images: each is resolved once
        return _read_and_check_all(config, paths, render, want_deps)


def _read_and_check_all(config: Config, paths: list[Path], render: bool, want_deps: bool) -> list[tuple]:
    from .articles import theme
    from .checks import _ImageChecker, check_post, check_rendered

    root = config.content.dir
    images = _ImageChecker(root)
    look = theme(config) if render else None
    memo = Cache.disabled()  # image states, looked up once per folder and reference
    folders: dict[str, bool] = {}
    records = signoff_records(config)
    out = []
    for path in paths:
        post = read_post(path, root, config, folders)
        read = len(post.problems)
        # Dependencies first: an image changed during the check then shows as a change next time.
        deps = (dependencies(memo, post, root) if post.parsed else ()) if want_deps else None
        check_post(post, config, images, records)
        ruled = len(post.problems)
        if render:
            check_rendered(post, config, look)
        out.append((post, read, ruled, deps))
    return out


def _worker_chunk(function: Callable[..., list[tuple]], config: Config, items: list, *args: Any) -> list[tuple]:
    out = function(config, items, *args)
    for post, *_ in out:
        if post.parsed:
            post.body = None  # not sent back: read again by whoever needs it
    return out
