"""The local images one article uses: found inside the content repository, checked to be
images, fingerprinted, and collected once per distinct file content for upload.

A collected image stands in the HTML as ``tuiwen-image:<sha256>`` until it is uploaded.
"""

from __future__ import annotations

import hashlib
import os
import stat
from functools import lru_cache
from pathlib import Path

from .assets import WECHAT_IMAGE_HOSTS, UnsafePath, resolve_local, sniff_image
from .elements import clean_text, url_parts
from .rendered import PLACEHOLDER_PREFIX, ImageRef, Removal
from .sanitize import snippet


class LocalImages:
    """The images of one article, by sha256 in order of appearance; what cannot be used is noted."""

    def __init__(self, root: Path, base_dir: Path, removals: dict[Removal, None]) -> None:
        self.root = root  # both resolved (realpath)
        self.base_dir = base_dir
        self.removals = removals
        self.found: dict[str, ImageRef] = {}

    def body_src(self, src: str, alt: str) -> str | None:
        """The ``src`` a body image keeps: a WeChat URL as it is, a local file's placeholder, or None."""
        if not src:
            return None
        scheme, host = url_parts(src)
        if (scheme in ("http", "https") or src.startswith("//")) and _wechat_host(host):
            return "https:" + src if src.startswith("//") else src
        if scheme or src.startswith("//"):
            self._remove(src, f"已移除外部图片 {snippet(src, 50)}（微信只显示上传到微信的图片）")
            return None
        found = self.local(src, alt, "图片")
        return found.placeholder if found else None

    def from_path(self, path: Path, what: str, alt: str = "", collect: bool = True) -> ImageRef | None:
        """The cover or QR image: a path (absolute or relative to the post) inside the repository."""
        text = clean_text(str(path))
        if Path(text).is_absolute():
            try:
                text = os.path.relpath(text, self.base_dir)
            except ValueError:
                self._remove(str(path), f"已忽略{what} {path}：不在内容仓库之内")
                return None
        return self.local(Path(text).as_posix(), alt, what, collect=collect)

    def local(self, ref: str, alt: str, what: str, collect: bool = True) -> ImageRef | None:
        """The image file ``ref`` names, collected unless ``collect`` is false; None (noted) if unusable."""
        try:
            path = resolve_local(self.root, self.base_dir, ref)
        except UnsafePath as exc:
            self._remove(ref, f"已移除{what}：{exc}")
            return None
        found = _fingerprint(path)
        if isinstance(found, str):
            self._remove(ref, f"已移除{what} {snippet(ref, 50)}：{found}")
            return None
        sha, kind = found
        if kind is None:
            self._remove(ref, f"已移除{what} {snippet(ref, 50)}：不是图片文件（请用 JPG 或 PNG）")
            return None
        image = ImageRef(PLACEHOLDER_PREFIX + sha, path, sha, alt)
        return self.found.setdefault(sha, image) if collect else image

    def _remove(self, ref: str, message: str) -> None:
        """Note an image left out, once."""
        self.removals.setdefault(Removal("image", snippet(ref), message))


def _wechat_host(host: str) -> bool:
    """True for an image host WeChat serves (its own CDN): such images need no upload."""
    return any(host == h or host.endswith("." + h) for h in WECHAT_IMAGE_HOSTS)


@lru_cache(maxsize=4096)
def _read_fingerprint(path: Path, mtime_ns: int, size: int) -> tuple[str, str | None] | str:
    """``_fingerprint`` of a file as read now; the cache key includes mtime and size."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return f"无法读取（{exc.strerror or exc}）"
    return hashlib.sha256(data).hexdigest(), sniff_image(data[:16])


def _fingerprint(path: Path) -> tuple[str, str | None] | str:
    """(sha256, image format) of a file, or why it cannot be used; cached while the file is unchanged."""
    try:
        info = path.stat()
    except OSError:
        return "文件不存在"
    if not stat.S_ISREG(info.st_mode):
        return "不是文件"
    return _read_fingerprint(path, info.st_mtime_ns, info.st_size)
