"""The console's memory of each content folder, so a page over thousands of posts costs one stat pass.

A ``publish serve`` process answers the same questions again and again over a
folder that rarely changes.  What it keeps is never trusted blindly:

* a folder is listed again whenever its own mtime, ctime or inode changed (a post added,
  removed or renamed in it); every post file is still stat'ed at every request,
  since a file edited in place changes its own mtime, not its folder's;
* the checked posts are reused only while the check cache is the same (same config,
  code, sign-off records and console approvals: ``Cache.kept``), every post file has
  the same stat, and every image any post names has the same stat;
* a dry run (the slot page) is reused on the same terms, and while the ledger says
  the same posts went out;
* nothing changed in the last ``RACY_SECONDS`` is kept (git's "racy clean" rule).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ..bulk import Files
from ..cache import RACY_SECONDS, Cache, file_key
from ..config import Config
from ..posts import ERROR, Post

_Entry = tuple[str, Path, bool, bool]  # (name, path, a post file by name, a folder to enter)


class Listing:
    """``bulk.stat_files`` for a process that asks again and again: same files, same order."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._folders: dict[str, tuple[tuple[int, int, int], list[_Entry]]] = {}
        self._found: list[tuple[Path, str, str]] | None = None  # (path, str(path), rel)

    def files(self) -> Files:
        now = time.time()
        folders: dict[str, tuple[tuple[int, int, int], list[_Entry]]] = {}
        found: list[tuple[tuple[str, ...], Path]] = []
        changed = self._walk(str(self.root), self.root, (), folders, now, found)
        if changed or self._found is None or folders.keys() != self._folders.keys():
            found.sort(key=lambda item: item[0])
            self._found = [(path, str(path), "/".join(parts)) for parts, path in found]
        self._folders = folders
        out = []
        for path, name, rel in self._found:
            try:
                info: os.stat_result | None = os.stat(name)
            except OSError:
                info = None
            out.append((path, rel, info))
        return out

    def _walk(self, folder: str, at: Path, parts: tuple[str, ...], folders: dict, now: float,
              found: list) -> bool:
        """Visit every folder; True when a listing had to be read again."""
        entries, changed = self._entries(folder, at, parts, folders, now)
        for name, path, post, enter in entries:
            here = (*parts, name)
            if post:
                found.append((here, path))
            if enter:
                changed |= self._walk(str(path), path, here, folders, now, found)
        return changed

    def _entries(self, folder: str, at: Path, parts: tuple[str, ...], folders: dict,
                 now: float) -> tuple[list[_Entry], bool]:
        try:
            info = os.stat(folder)
        except OSError:
            folders[folder] = ((-1, -1, -1), [])  # gone: listed again (as gone or back) next time
            return [], True
        key = (info.st_ino, info.st_mtime_ns, info.st_ctime_ns)  # ctime: a chmod lets a listing be read
        kept = self._folders.get(folder)
        if kept is not None and kept[0] == key:
            folders[folder] = kept
            return kept[1], False
        entries: list[_Entry] = []
        try:
            with os.scandir(folder) as listing:
                for entry in sorted(listing, key=lambda e: e.name):
                    name = entry.name
                    if name.startswith(("_", ".")):
                        continue
                    post = name.endswith(".md") and not (not parts and name[:-3].lower() == "readme")
                    try:
                        enter = entry.is_dir() and not entry.is_symlink()
                    except OSError:
                        enter = False
                    if post or enter:
                        entries.append((name, at / name, post, enter))
        except OSError:
            entries = []
        racy = now - max(info.st_mtime_ns, info.st_ctime_ns) / 1e9 < RACY_SECONDS
        folders[folder] = ((-1, -1, -1) if racy else key, entries)  # a racy folder is listed again next time
        # (the key (-1, -1, -1) matches no folder)
        return entries, True


def fingerprint(files: Files) -> tuple | None:
    """What must be unchanged for the posts to be taken as unchanged; None when a file changed too recently."""
    now = time.time()
    keys: list[tuple[str, tuple | None]] = []
    for _path, rel, info in files:
        if info is None:
            keys.append((rel, None))
            continue
        if now - max(info.st_mtime_ns, info.st_ctime_ns) / 1e9 < RACY_SECONDS:
            return None
        keys.append((rel, file_key(info)))
    return tuple(keys)


def image_deps(cache: Cache, posts: list[Post], header_errors_suffice: bool = False) -> dict[tuple[str, str], tuple] | None:
    """Every image the posts name, with its state when they were checked; None when a post has no
    stored check (its images were not looked at, or changed too recently to store).

    ``header_errors_suffice``: a post refused for its front matter alone needs none (its
    images were never looked at, and cannot change that).
    """
    deps: dict[tuple[str, str], tuple] = {}
    for post in posts:
        if not post.parsed:
            continue
        entry = cache.checks.get(cache.version(post.rel, post.sha256))
        if entry is None and header_errors_suffice and _header_error(cache, post):
            continue
        if entry is None:
            return None
        for base, ref, state in entry.deps:
            deps[(base, ref)] = state
    return deps


def _header_error(cache: Cache, post: Post) -> bool:
    """Whether reading the post or its header rules, as the cache stored them, found an error."""
    read, header = cache.read_problems(post.rel), cache.headers.get(cache.version(post.rel, post.sha256))
    if read is None or header is None:
        return False
    return any(p.severity == ERROR for p in (*read, *header))


def images_unchanged(cache: Cache, root: Path, deps: dict[tuple[str, str], tuple]) -> bool:
    return all(cache.image_state(root, base, ref) == state for (base, ref), state in deps.items())


@dataclass
class _Kept:
    cache: Cache
    key: Any  # the fingerprint, with whatever else the result depends on
    deps: dict[tuple[str, str], tuple]
    value: Any


class Index:
    """One account's content folder as this process last read it; callers serialise their uses."""

    def __init__(self, config: Config) -> None:
        self.listing = Listing(config.content.dir)
        self.checked: _Kept | None = None
        self.runs: dict[datetime, _Kept] = {}  # dry runs by slot, with the preview folders written

    def checked_posts(self, config: Config) -> list[Post]:
        """``read_checked(config, render=False)`` through the kept cache; the same posts while nothing changed."""
        from ..bulk import read_checked

        cache = Cache.kept(config)
        files = self.listing.files()
        fingerprinted = fingerprint(files)
        # Approvals given in the console change what the checks say without touching a file.
        key = None if fingerprinted is None else (fingerprinted, config.web_approvals)
        kept = self.checked
        if (kept is not None and key is not None and kept.cache is cache and kept.key == key
                and images_unchanged(cache, config.content.dir, kept.deps)):
            return list(kept.value)
        posts = read_checked(config, render=False, cache=cache, files=files)
        deps = image_deps(cache, posts) if key is not None and cache.enabled else None
        self.checked = None if deps is None else _Kept(cache, key, deps, posts)
        return list(posts)

    def dry_run(self, config: Config, slot: datetime, out: Path):
        """``dryrun.dry_run`` of ``slot`` with its preview in ``out``; the same result while neither the
        posts, their images, nor what went out changed (its preview written again into a new folder)."""
        from ..dryrun import dry_run, read_published, write_dry_run

        cache = Cache.kept(config)
        files = self.listing.files()
        published = read_published(config)
        key = (fingerprint(files), published, config.web_approvals)
        kept = self.runs.get(slot)
        if (kept is not None and key[0] is not None and kept.cache is cache and kept.key == key
                and images_unchanged(cache, config.content.dir, kept.deps)):
            result, written = kept.value
            if out not in written or not (out / "index.html").is_file():
                write_dry_run(config, result, out)
                written.add(out)
            return result
        result = dry_run(config, slot, out, cache=cache, files=files)
        # The chosen posts, and those left out for their errors: a picture mended may let one in.
        looked = [*result.bundle.items, *(i.post for i in result.bundle.left_out if not i.post.ok)]
        deps = image_deps(cache, looked, header_errors_suffice=True) if key[0] is not None and cache.enabled else None
        self.runs.pop(slot, None)
        if deps is not None:
            if len(self.runs) >= _RUNS:
                self.runs.pop(next(iter(self.runs)))
            self.runs[slot] = _Kept(cache, key, deps, (result, {out}))
        return result


_RUNS = 8  # dry runs kept per account (each holds every post it looked at): the coming weeks
_indexes: dict[Path, Index] = {}
_guard = threading.Lock()


def index_of(config: Config) -> Index:
    with _guard:
        found = _indexes.get(config.content.dir)
        if found is None:
            found = _indexes[config.content.dir] = Index(config)
        return found
