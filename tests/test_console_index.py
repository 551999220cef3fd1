"""The console's kept listing of the content folder finds what a fresh scan finds, after any changes."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.bulk import stat_files
from scheduler.console import index

NAMES = ["a.md", "b.md", "README.md", "readme.md", "_c.md", ".d.md", "e.txt", "sub", "sub.md", "_drafts", "x"]
ACTIONS = st.lists(st.tuples(st.sampled_from(["file", "folder", "remove", "edit"]), st.integers(0, 20),
                             st.sampled_from(NAMES)), max_size=25)


def folders(root: Path) -> list[Path]:
    return [root, *sorted(p for p in root.rglob("*") if p.is_dir() and not p.is_symlink())]


def entries(root: Path) -> list[Path]:
    return sorted(root.rglob("*"))


@settings(max_examples=60, deadline=None)
@given(ACTIONS)
def test_the_kept_listing_finds_what_a_fresh_scan_finds_after_any_changes(actions):
    root = Path(tempfile.mkdtemp(prefix="tuiwen-listing-"))
    racy = index.RACY_SECONDS
    index.RACY_SECONDS = -1.0  # every listing kept: only a folder's own mtime says it changed
    try:
        listing = index.Listing(root)
        for step, (action, n, name) in enumerate(actions, 1):
            if action in ("file", "folder"):
                parent = folders(root)[n % len(folders(root))]
                target = parent / name
                if target.exists():
                    continue
                target.mkdir() if action == "folder" else target.write_text("---\ntitle: t\n---\n", encoding="utf-8")
            else:
                found = entries(root)
                if not found:
                    continue
                target = found[n % len(found)]
                parent = target.parent
                if action == "edit":
                    if target.is_file():
                        target.write_text("---\ntitle: 改过\n---\n", encoding="utf-8")
                    parent = None  # a file edited in place: its folder's mtime stays
                elif target.is_dir():
                    shutil.rmtree(target)
                else:
                    target.unlink()
            if parent is not None:  # the clock moved on: the folder changed at a time of its own
                os.utime(parent, ns=(step * 10**9, step * 10**9))
            fresh = [(str(path), rel) for path, rel, _ in stat_files(root)]
            kept = listing.files()
            assert [(str(path), rel) for path, rel, _ in kept] == fresh
            assert all(info is not None and info == os.stat(path) for path, _rel, info in kept)
    finally:
        index.RACY_SECONDS = racy
        shutil.rmtree(root)
