"""Images referenced by a post: finding them, and resolving them safely.

A post is untrusted input: an image path like ``../../etc/passwd`` or a symlink
out of the repository must be refused before anything is opened.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from urllib.parse import unquote, urlsplit

WECHAT_IMAGE_HOSTS = ("mmbiz.qpic.cn", "mmbiz.qlogo.cn")

# Magic numbers of the formats we accept; the renderer converts the ones WeChat refuses.
_MAGIC = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
)

_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'(][^)]*)?\)")
_HTML_IMAGE = re.compile(r"<img\b[^>]*?\bsrc\s*=\s*[\"']?([^\"'\s>]+)", re.IGNORECASE)


class UnsafePath(ValueError):
    """An image reference that must not be followed; the message says why, in Chinese."""


def sniff_image(head: bytes) -> str | None:
    """The image format named by a file's first bytes, or None."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def is_remote(ref: str) -> bool:
    return bool(urlsplit(ref).scheme) or ref.startswith("//")


def is_wechat_image(ref: str) -> bool:
    host = urlsplit(ref if "://" in ref else "http:" + ref).hostname or ""
    return any(host == h or host.endswith("." + h) for h in WECHAT_IMAGE_HOSTS)


_resolved: ContextVar[dict | None] = ContextVar("resolved", default=None)


@contextmanager
def resolving_once() -> Iterator[None]:
    """Within the block each (root, folder, reference) is resolved once: for one pass over many
    posts that share a few images (a check of every post), not for a process that lives on."""
    token = _resolved.set({})
    try:
        yield
    finally:
        _resolved.reset(token)


def real_folder(path: Path) -> Path:
    """``realpath`` of a folder, looked up once inside ``resolving_once``."""
    memo = _resolved.get()
    if memo is None:
        return Path(os.path.realpath(path))
    found = memo.get(path)
    if found is None:
        found = memo[path] = Path(os.path.realpath(path))
    return found


def resolve_local(root: Path, base_dir: Path, ref: str) -> Path:
    """``_resolve_local``, looked up once per reference inside ``resolving_once``."""
    memo = _resolved.get()
    if memo is None:
        return _resolve_local(root, base_dir, ref)
    key = (root, base_dir, ref)
    found = memo.get(key)
    if found is None:
        try:
            found = memo[key] = _resolve_local(root, base_dir, ref)
        except UnsafePath as exc:
            found = memo[key] = exc
    if isinstance(found, UnsafePath):
        raise UnsafePath(*found.args)
    return found


def _resolve_local(root: Path, base_dir: Path, ref: str) -> Path:
    """The file a relative image reference names, refused if it leaves ``root``.

    ``root`` and ``base_dir`` must be absolute and resolved.  The check is lexical
    first, so a ``..`` path is refused without touching the file system; then
    symlinks are resolved (stat only) so a link out of the repository is refused too.
    """
    text = unquote(ref.split("#", 1)[0].split("?", 1)[0]).strip().replace("\\", "/")
    if not text:
        raise UnsafePath("图片路径为空")
    if "\x00" in text or text.startswith("/") or re.match(r"^[A-Za-z]:", text):
        raise UnsafePath(f"图片路径 {ref} 必须是相对于文章的路径")
    candidate = Path(os.path.normpath(base_dir / text))
    if not candidate.is_relative_to(root):
        raise UnsafePath(f"图片路径 {ref} 指向内容仓库之外，已拒绝")
    real = Path(os.path.realpath(candidate))
    if not real.is_relative_to(root):
        raise UnsafePath(f"图片 {ref} 是指向内容仓库之外的链接，已拒绝")
    return real


_IMG_TAG = re.compile(r"<img\b", re.IGNORECASE)
_last_refs: list[tuple[str, list[tuple[int, str]]]] = [("", [])]  # the checks ask up to three times for one body


def find_image_refs(markdown: str) -> list[tuple[int, str]]:
    """(line index within the text, reference) of every image, outside code blocks."""
    last = _last_refs[0]
    if last[0] is markdown:
        return list(last[1])
    refs = _image_refs(markdown) if "![" in markdown or _IMG_TAG.search(markdown) else []
    _last_refs[0] = (markdown, refs)
    return list(refs)


def _image_refs(markdown: str) -> list[tuple[int, str]]:
    refs: list[tuple[int, str]] = []
    fence = None
    for index, line in enumerate(markdown.split("\n")):
        opening = _FENCE.match(line)
        if opening:
            marker = opening.group(1)
            if fence is None:
                fence = marker
            elif marker[0] == fence[0] and len(marker) >= len(fence):
                fence = None
            continue
        if fence is None:
            refs.extend((index, m.group(1)) for m in _MD_IMAGE.finditer(line))
            refs.extend((index, m.group(1)) for m in _HTML_IMAGE.finditer(line))
    return refs
