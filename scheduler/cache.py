"""A cache of parsed posts and check results, so that ``publish check`` and
``publish --dry-run`` over years of posts only redo what changed.

One file per config file, in ``$TUIWEN_CACHE_DIR``, else ``$XDG_CACHE_HOME/tuiwen``,
else ``~/.cache/tuiwen`` (``TUIWEN_CACHE=off`` turns it off).  It never changes a
result, because nothing in it is trusted blindly:

* the whole file is dropped when the cache format, the tuiwen version or source
  files, the config, or any file the config names (templates, QR image, word
  lists, the sign-off records beside the posts) differ;
* a parsed post is reused only while its file's inode, size, mtime and ctime are
  unchanged — and a file changed in the last ``RACY_SECONDS`` is not stored at
  all, since a second edit within the file system's timestamp granularity could
  leave all four unchanged (git's "racy clean" rule);
* check results are keyed by post path and content sha256, and reused only while
  every image the post names still resolves to the same file, same size and mtime.

The file is a pickle written atomically with mode 0600 in a 0700 folder, and read
only when the current user owns it and nobody else can write it.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import logging
import os
import pickle
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields, is_dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .posts import Post, Problem

if TYPE_CHECKING:  # annotations only: the settings load word rules, which use this cache
    from .config import Config

log = logging.getLogger(__name__)

FORMAT = 4  # bump when the layout of the file or of Post changes
RACY_SECONDS = 2.0
_PACKAGES = ("scheduler", "publishers")
# Every target a post may name a file with, in one pass and generously (code blocks and
# plain links included: an extra dependency costs nothing but a stat): ](target),
# ](<target>), src="target", and link definitions "[1]: target".
_TARGETS = re.compile(
    r"""\]\(\s*(?:<([^>\n]*)>|([^)\s]+))"""
    r"""|\bsrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))"""
    r"""|^\ {0,3}\[[^\]\n]+\]:[ \t]*(?:<([^>\n]*)>|(\S+))""",
    re.IGNORECASE | re.MULTILINE,
)


def cache_dir() -> Path | None:
    """Where cache files live; None when caching is turned off."""
    if os.environ.get("TUIWEN_CACHE", "").lower() in ("0", "off", "no", "false"):
        return None
    if os.environ.get("TUIWEN_CACHE_DIR"):
        return Path(os.environ["TUIWEN_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "tuiwen"


def file_key(info: os.stat_result) -> tuple[int, int, int, int]:
    """What must be unchanged for a file to be taken as unchanged."""
    return info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns


class ParsedFiles:
    """Small files (rule files, sign-off records) parsed once per version of each file."""

    def __init__(self, parse: Callable[[Path], Any]) -> None:
        self._parse = parse
        self._seen: dict[Path, tuple[tuple, Any]] = {}

    def get(self, path: Path, info: os.stat_result) -> Any:
        key = file_key(info)
        cached = self._seen.get(path)
        if cached is None or cached[0] != key:
            cached = self._seen[path] = (key, self._parse(path))
        return cached[1]


@contextmanager
def collector_paused() -> Iterator[None]:
    """For building or loading thousands of objects that hold no reference cycles: the cyclic garbage
    collector would otherwise walk them again and again for nothing (a tenth of a cold dry run)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            if not gc.get_freeze_count():  # (frozen objects of a long-lived cache stay frozen)
                # What was built lives on: moved to the oldest generation at once, instead of being
                # walked by the next young collection and the one after (a twentieth of a warm dry run).
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def racy(info: os.stat_result, now: float) -> bool:
    """Changed so recently that a further edit might not show in its stat."""
    return now - max(info.st_mtime_ns, info.st_ctime_ns) / 1e9 < RACY_SECONDS


@dataclass
class CheckEntry:
    """What the rules (and, when ``rendered`` is not None, the renderer) said about one post version."""

    deps: tuple  # ((base dir, ref, state), ...) of every local image the post names
    rules: tuple[Problem, ...]
    rendered: tuple[Problem, ...] | None


class Cache:
    """Posts and check results of one config, loaded at start and saved once at the end."""

    def __init__(self, path: Path | None, stamp: str) -> None:
        self.path = path
        self.stamp = stamp
        self.posts: dict[str, tuple[tuple, tuple]] = {}  # rel → (file key, Post state but path, as _STATE)
        # Results are keyed by post version: (rel, sha256, the console approvals the post has).
        self.checks: dict[tuple, CheckEntry] = {}
        self.headers: dict[tuple, tuple[Problem, ...]] = {}  # what the header rules said
        # The pages of the posts a dry run chose last (deps, page, problems): the next dry run of an
        # unchanged repository shows the same bundle, and need not render it again.
        self.pages: dict[tuple, tuple[tuple, Any, tuple]] = {}
        self.web: dict[str, tuple] = {}  # rel → its approvals given in the web console (see approvals_of)
        self._dirty = False
        self._states: dict[tuple[str, str], tuple] = {}  # image states, once per run
        self._seen_posts: set[str] = set()
        self._seen_checks: set[tuple] = set()
        self._seen_headers: set[tuple] = set()
        self._seen_pages: set[tuple] = set()
        self._load()

    @classmethod
    def for_config(cls, config: Config) -> Cache:
        """The cache of a config file (a disabled one when caching is off)."""
        folder = cache_dir()
        name = hashlib.sha256(str(config.path).encode()).hexdigest()[:20] + ".pickle"
        cache = cls(folder / name if folder else None, stamp(config))
        cache.web = approvals_of(config)
        return cache

    @classmethod
    def kept(cls, config: Config) -> Cache:
        """``for_config`` for a process that lives on (the web console): the file is read once and the
        cache kept in memory, each use starting a new run (image states are looked at afresh, as
        every post's stat is).  A config or code change gives a new one, as a new stamp drops the file.
        Not for two threads at once: the caller serialises its uses."""
        folder = cache_dir()
        if folder is None:
            return cls.disabled()
        path = folder / (hashlib.sha256(str(config.path).encode()).hexdigest()[:20] + ".pickle")
        current = stamp(config)
        cache = _kept.get(path)
        if cache is None or cache.stamp != current:
            cache = _kept[path] = cls(path, current)
            # Tens of thousands of long-lived objects: left to the collector, every full collection
            # walks them all (tens of ms, at random in some request).  Frozen, they are skipped;
            # they hold no cycles, so they are still freed when this cache is replaced.
            gc.collect()  # garbage of the past is not frozen with them
            gc.freeze()
        else:
            cache.new_run()
        cache.web = approvals_of(config)  # an approval in the console changes its post's results only
        return cache

    def new_run(self) -> None:
        """Forget what the last run looked at: image states, and which entries it used."""
        self._states = {}
        self._seen_posts = set()
        self._seen_checks = set()
        self._seen_headers = set()
        self._seen_pages = set()

    @classmethod
    def disabled(cls) -> Cache:
        return cls(None, "")

    @property
    def enabled(self) -> bool:
        return self.path is not None

    # --- posts ----------------------------------------------------------------

    def post(self, path: Path, rel: str, key: tuple) -> Post | None:
        """The cached post at ``rel`` (a new object) while its file key is unchanged."""
        entry = self.posts.get(rel)
        if entry is None or entry[0] != key:
            return None
        post = object.__new__(Post)  # stored as field values: rebuilding beats unpickling Path objects
        post.__dict__.update(zip(_STATE, entry[1], strict=True))
        post.path = path
        post.problems = list(post.problems)
        return post

    def keep_post(self, rel: str) -> None:
        """This cached post is still current: keep it at the next save."""
        self._seen_posts.add(rel)

    def put_post(self, post: Post, key: tuple, read_problems: int) -> None:
        """Remember a post as read (its first ``read_problems`` problems came from reading)."""
        state = dict(post.__dict__)
        state["problems"] = post.problems[:read_problems]
        if post.parsed:
            state["_body"] = None  # read again on demand: the cache holds front matter only
        # A tuple in field order, not a dict: 5,000 posts pickle and load in half the time.
        self.posts[post.rel] = (key, tuple(state[name] for name in _STATE))
        self._seen_posts.add(post.rel)
        self._dirty = True

    def read_problems(self, rel: str) -> tuple[Problem, ...] | None:
        """What reading the stored post at ``rel`` found (None when none is stored)."""
        entry = self.posts.get(rel)
        return None if entry is None else tuple(entry[1][_PROBLEMS])

    # --- check results --------------------------------------------------------

    def check(self, post: Post, root: Path, rendered: bool) -> CheckEntry | None:
        """The stored results for this version of the post, if its images are unchanged."""
        key = self.version(post.rel, post.sha256)
        entry = self.checks.get(key)
        if entry is None or (rendered and entry.rendered is None):
            return None
        if not self._unchanged(root, entry.deps):
            return None
        self._seen_checks.add(key)
        return entry

    def keep_check(self, rel: str, sha256: str) -> None:
        """Keep the stored results of this post version at the next save, unused this run (they are
        still checked against its images whenever used)."""
        key = self.version(rel, sha256)
        if key in self.checks:
            self._seen_checks.add(key)

    def put_check(self, post: Post, deps: tuple, rules: list[Problem], rendered: list[Problem] | None) -> None:
        key = self.version(post.rel, post.sha256)
        self.checks[key] = CheckEntry(deps, tuple(rules), None if rendered is None else tuple(rendered))
        self._seen_checks.add(key)
        self._dirty = True

    def header(self, rel: str, sha256: str) -> tuple[Problem, ...] | None:
        """What the header rules (``checks.check_header``) said about this post version."""
        key = self.version(rel, sha256)
        found = self.headers.get(key)
        if found is not None:
            self._seen_headers.add(key)
        return found

    def put_header(self, rel: str, sha256: str, problems: list[Problem]) -> None:
        key = self.version(rel, sha256)
        self.headers[key] = tuple(problems)
        self._seen_headers.add(key)
        self._dirty = True

    def page(self, post: Post, root: Path) -> tuple[Any, tuple] | None:
        """The stored (page, problems) of this post version, if its images are unchanged."""
        key = self.version(post.rel, post.sha256)
        entry = self.pages.get(key)
        if entry is None or not self._unchanged(root, entry[0]):
            return None
        self._seen_pages.add(key)
        return entry[1], entry[2]

    def put_page(self, post: Post, deps: tuple, page: Any, problems: tuple) -> None:
        key = self.version(post.rel, post.sha256)
        self.pages[key] = (deps, page, problems)
        self._seen_pages.add(key)
        self._dirty = True

    def _unchanged(self, root: Path, deps: tuple) -> bool:
        return all(self.image_state(root, base, ref) == state for base, ref, state in deps)

    def version(self, rel: str, sha256: str) -> tuple:
        """What the rules' results for a post depend on besides the stamp: its content, and the
        approvals given to it in the web console (those of the file records are in the stamp)."""
        return rel, sha256, self.web.get(rel, ())

    def image_state(self, root: Path, base: str, ref: str) -> tuple:
        """Where a local image reference from folder ``base`` leads and what is there now (once per run)."""
        state = self._states.get((base, ref))
        if state is None:
            state = self._states[(base, ref)] = image_state(root, Path(base), ref)
        return state

    # --- the file -------------------------------------------------------------

    def _load(self) -> None:
        if self.path is None:
            return
        try:
            with open(self.path, "rb") as file:
                info = os.fstat(file.fileno())
                if info.st_uid != os.getuid() or info.st_mode & 0o022:
                    log.warning("缓存文件 %s 不是当前用户私有的，已忽略", self.path)
                    return
                with collector_paused():
                    data = pickle.load(file)
        except FileNotFoundError:
            return
        except Exception as exc:  # noqa: BLE001 — a damaged or foreign cache is simply rebuilt
            log.info("缓存文件 %s 无法读取（%s），已忽略", self.path, type(exc).__name__)
            return
        if not isinstance(data, dict) or data.get("stamp") != self.stamp:
            return
        self.posts, self.checks, self.headers = data["posts"], data["checks"], data["headers"]
        self.pages = data["pages"]

    def save(self) -> None:
        """Write what this run saw (entries of vanished posts are dropped); quietly skip on any error."""
        if self.path is None:
            return
        # A run that rendered nothing (a check) keeps the last dry run's pages of posts still there.
        seen_pages = self._seen_pages or {key for key in self.pages if key[0] in self._seen_posts}
        if (not self._dirty and len(self._seen_posts) == len(self.posts) and len(self._seen_checks) == len(self.checks)
                and len(self._seen_headers) == len(self.headers) and len(seen_pages) == len(self.pages)):
            return
        data = {
            "stamp": self.stamp,
            "posts": {rel: entry for rel, entry in self.posts.items() if rel in self._seen_posts},
            "checks": {key: entry for key, entry in self.checks.items() if key in self._seen_checks},
            "headers": {key: entry for key, entry in self.headers.items() if key in self._seen_headers},
            "pages": {key: entry for key, entry in self.pages.items() if key in seen_pages},
        }
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".tmp-", suffix=".pickle")
            try:
                with os.fdopen(fd, "wb") as file:
                    pickle.dump(data, file, protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(temp, self.path)  # readers see the old file or the new one, never half
            except BaseException:
                os.unlink(temp)
                raise
        except OSError as exc:
            log.warning("无法写入缓存文件 %s：%s（不影响结果，只是下次会慢一些）", self.path, exc.strerror or exc)
        self._dirty = False


_kept: dict[Path, Cache] = {}  # Cache.kept: cache file → the cache in memory
# A post's state as stored: its __dict__ but the path (the body lives in "_body", see posts._Body).
_STATE = tuple("_body" if f.name == "body" else f.name for f in fields(Post) if f.name != "path")
_PROBLEMS = _STATE.index("problems")


# --- keys -----------------------------------------------------------------------

def image_state(root: Path, base: Path, ref: str) -> tuple:
    """What a check of a local image reference depends on: where it leads, and that file's stat."""
    from publishers.assets import UnsafePath, resolve_local

    try:
        path = resolve_local(root, base, ref)
    except UnsafePath:
        return ("unsafe",)  # decided from the text alone
    try:
        info = os.stat(path)
    except OSError:
        return (str(path), None)
    return (str(path), info.st_mode, *file_key(info))


def image_refs(post: Post) -> list[str]:
    """Every local file the post's checks and rendering may look at (a generous superset), and the cover."""
    from publishers.assets import is_remote

    refs = [next(group for group in match.groups() if group is not None) for match in _TARGETS.finditer(post.body)]
    if post.cover:
        refs.append(post.cover)
    return list(dict.fromkeys(ref for ref in refs if ref.strip() and not is_remote(ref)))


def dependencies(cache: Cache, post: Post, root: Path) -> tuple | None:
    """The images of a post with their states now; None when one changed too recently to cache."""
    base = str(post.path.parent)
    deps = []
    now = time.time()
    for ref in image_refs(post):
        state = cache.image_state(root, base, ref)
        if len(state) > 3 and now - max(state[-2], state[-1]) / 1e9 < RACY_SECONDS:
            return None
        deps.append((base, ref, state))
    return tuple(deps)


def stamp(config: Config) -> str:
    """Everything that changes what reading or checking any post says, besides the post and its images.

    The tuiwen code, the config, and every file the config names (templates, QR
    image, word lists; for a folder, the files directly in it — such as the
    sign-off records at the top of the content folder).
    """
    # Console approvals are not in it: each post's results are keyed by its own (Cache.version).
    parts: list[Any] = [FORMAT, __version__, repr(replace(config, web_approvals=())), *_code_state()]
    parts.extend((str(path), _files_state(path)) for path in sorted(set(_paths(config))))
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def approvals_of(config: Config) -> dict[str, tuple]:
    """Each post's approvals given in the web console (``Config.web_approvals``), by post path."""
    index: dict[str, tuple] = {}
    for rel, approval in config.web_approvals:
        index[rel] = (*index.get(rel, ()), approval)
    return index


@functools.cache
def _code_state() -> tuple:
    """The tuiwen source files as this process first looked: looked at once, since a process runs
    the code it started with (the web console asks at every request)."""
    parts = []
    here = Path(__file__).resolve().parent
    for package in _PACKAGES:
        for path in sorted((here.parent / package).rglob("*")):
            if path.suffix in (".py", ".html", ".toml", ".txt") and "__pycache__" not in path.parts:
                info = path.stat()
                parts.append((str(path.relative_to(here.parent)), info.st_size, info.st_mtime_ns))
    return tuple(parts)


def _paths(value: Any) -> list[Path]:
    """Every path in a config value, however deep."""
    if isinstance(value, Path):
        return [value]
    if is_dataclass(value):
        return [p for f in fields(value) for p in _paths(getattr(value, f.name))]
    if isinstance(value, dict):
        return [p for v in value.values() for p in _paths(v)]
    if isinstance(value, (list, tuple)):
        return [p for v in value for p in _paths(v)]
    return []


def _files_state(path: Path) -> list:
    """The keys of a file, or of the files directly in a folder (its subfolders do not count)."""
    try:
        if path.is_dir():
            with os.scandir(path) as entries:
                return sorted((e.name, *file_key(e.stat())) for e in entries if e.is_file())
        return [file_key(path.stat())]
    except OSError:
        return ["missing"]
