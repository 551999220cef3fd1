"""What rendering gives, apart from how: the page, its images and what was left out or read two ways.

Light to import (no Markdown, no sanitiser): a dry run whose pages come from the cache,
the preview and the checks use these without loading the renderer (``render``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .limits import CONTENT_MAX_BYTES, CONTENT_MAX_CHARS

PLACEHOLDER_PREFIX = "tuiwen-image:"
URL_GROWTH = 80  # an mmbiz.qpic.cn URL is up to ~80 characters longer than its placeholder

_PLACEHOLDER_SRC = re.compile(r'src="(tuiwen-image:[0-9a-f]{64})"')


@dataclass(frozen=True)
class ImageRef:
    """A local image to upload; its ``placeholder`` stands in the HTML until ``replace_images``."""

    placeholder: str
    path: Path
    sha256: str
    alt: str = ""


@dataclass(frozen=True)
class Removal:
    """One thing the renderer left out, for ``publish check`` to show the editor."""

    kind: str  # the removed tag ("script", "iframe" …) or "event", "url", "class", "id", "image" …
    snippet: str  # what it was, shortened
    message: str  # in Chinese, for the editor

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Note:
    """Where the source could be read two ways, and the reading tuiwen chose (in Chinese, for the editor)."""

    line: int  # 1-based, in the body as given to the renderer
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Theme:
    """Account-level presentation settings, filled from config by the caller."""

    account_name: str
    hotline: str = "医保服务热线：12393"
    qr_image: Path | None = None  # absolute; must be inside Article.root or it is ignored with a removal note
    templates_dir: Path | None = None  # header.html / footer.html / article.html here win over the defaults


@dataclass(frozen=True)
class Rendered:
    """An article as WeChat takes it, with what the publisher needs to finish it and what was left out."""

    html: str  # image placeholders still in it: see replace_images
    digest: str
    images: tuple[ImageRef, ...]  # body and footer images, in order, one per distinct file content
    cover: ImageRef | None
    references: tuple[str, ...]  # the outside links, reference [1] first
    removed: tuple[Removal, ...]
    chars: int  # wechat_len(html)
    size: int  # UTF-8 bytes of html
    notes: tuple[Note, ...] = ()  # lines of the body that could be read two ways, and the reading chosen


def replace_images(html_text: str, urls: Mapping[str, str]) -> str:
    """The HTML with each image placeholder ``src`` swapped for its uploaded URL (unknown ones stay)."""

    def swap(match: re.Match[str]) -> str:
        url = urls.get(match.group(1))
        return match.group(0) if url is None else f'src="{html.escape(url, quote=True)}"'

    return _PLACEHOLDER_SRC.sub(swap, html_text)


def content_problems(rendered: Rendered) -> list[str]:
    """Why WeChat would refuse this content (it must stay under 20,000 characters and 1 MB)."""
    # Placeholders become mmbiz URLs after upload, which are longer: measure what will be sent.
    growth = rendered.html.count(PLACEHOLDER_PREFIX) * URL_GROWTH
    chars, size = rendered.chars + growth, rendered.size + growth
    problems = []
    if chars >= CONTENT_MAX_CHARS:
        problems.append(
            f"正文排版后约 {chars} 字符（含排版代码和图片地址），超过微信上限：须少于 {CONTENT_MAX_CHARS} 字符，请删减或拆成两篇"
        )
    if size >= CONTENT_MAX_BYTES:
        problems.append(f"正文排版后共 {size / 1024 / 1024:.2f} MB，超过微信上限：须小于 1 MB，请删减或拆成两篇")
    return problems
