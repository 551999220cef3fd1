"""Markdown → HTML that survives the WeChat editor: inline styles only, lists and code
written out, outside links as numbered references, images collected for upload.

``render`` never raises on content: whatever it leaves out is returned as a
:class:`Removal` for ``publish check`` to show.  The steps live in their own modules:
``markdown_ext`` parses, ``wechat_html`` rewrites the tree, ``local_images`` collects the
images, ``page`` puts the theme's header and footer around the body.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from xml.etree.ElementTree import Element

from .assets import real_folder
from .base import Article
from .editor_lines import Note
from .elements import clean_text, digest, plain_tree
from .limits import CONTENT_MAX_BYTES, CONTENT_MAX_CHARS, wechat_len
from .local_images import PLACEHOLDER_PREFIX, ImageRef, LocalImages
from .markdown_ext import FastInline as _FastInline  # noqa: F401 — tests compare it with the stock pass
from .markdown_ext import parse_markdown, resolve_stash
from .page import page_html, styles
from .sanitize import Removal, inner_html, snippet
from .wechat_html import BodyWriter

__all__ = ["ImageRef", "Note", "Removal", "Rendered", "Theme", "content_problems", "render", "replace_images"]

URL_GROWTH = 80  # an mmbiz.qpic.cn URL is up to ~80 characters longer than its placeholder
DEFAULT_COLOR = "#2b6cb0"

_COLOR = re.compile(r"#(?:[0-9a-fA-F]{3}){1,2}")
_PLACEHOLDER_SRC = re.compile(r'src="(tuiwen-image:[0-9a-f]{64})"')


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


def render(article: Article, theme: Theme) -> Rendered:
    """The article as WeChat HTML, with its images, references and everything left out."""
    removals: dict[Removal, None] = {}  # in order, each once
    color = _accent(article.color, removals)
    s = styles(color)
    notes: list[Note] = []
    body, tree, writer = _body(article, s, removals, notes)
    images = writer.images
    summary = clean_text(article.digest).strip() or digest(tree, writer.skip)
    cover = images.from_path(article.cover, "封面图片", collect=False) if article.cover is not None else None
    qr = None
    if theme.qr_image is not None:
        qr = images.from_path(theme.qr_image, "关注二维码", alt=f"关注“{theme.account_name}”")
    page = _page(article, theme, s, writer.references, body, qr, removals)
    return Rendered(
        html=page,
        digest=summary,
        images=tuple(images.found.values()),
        cover=cover,
        references=tuple(writer.references),
        removed=tuple(removals),
        chars=wechat_len(page),
        size=len(page.encode("utf-8", "replace")),
        notes=tuple(notes),
    )


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


# --- the steps -------------------------------------------------------------------------------


def _left_out(removals: dict[Removal, None], kind: str, what: str, message: str) -> None:
    """Note what was left out, once, in order of appearance."""
    removals.setdefault(Removal(kind, snippet(what), message))


def _accent(color: str, removals: dict[Removal, None]) -> str:
    """The article's accent colour in lower case, or the default one (noted) if it is no #rrggbb."""
    if _COLOR.fullmatch(color or ""):
        return color.lower()
    _left_out(removals, "color", color, f"强调色 {color} 不是 #rrggbb 颜色，已使用默认颜色")
    return DEFAULT_COLOR


def _body(article: Article, s: dict[str, str], removals: dict[Removal, None],
          notes: list[Note]) -> tuple[str, Element, BodyWriter]:
    """The body's HTML, its tree and its writer; the text as plain paragraphs if it cannot be laid out."""
    root, base_dir = real_folder(article.root), real_folder(article.base_dir)
    source = clean_text(article.body)
    before = dict(removals)
    try:
        tree, stash, found = parse_markdown(source)
        notes.extend(found)
        removals.update(dict.fromkeys(resolve_stash(tree, stash)))
        writer = BodyWriter(s, LocalImages(root, base_dir, removals), removals, stash)
        writer.write(tree)
        return inner_html(tree), tree, writer
    except Exception as exc:  # noqa: BLE001 — e.g. RecursionError on absurd nesting: show the text plainly
        removals.clear()
        removals.update(before)  # nothing of the body is left out: it is all shown as text
        notes.clear()
        writer = BodyWriter(s, LocalImages(root, base_dir, removals), removals, [])
        _left_out(removals, "markdown", type(exc).__name__, "正文无法按 Markdown 排版（嵌套过深或格式异常），已按纯文本显示")
        tree = plain_tree(source, s["p"])
        return inner_html(tree), tree, writer


def _page(article: Article, theme: Theme, s: dict[str, str], references: dict[str, tuple[int, str]],
          body: str, qr: ImageRef | None, removals: dict[Removal, None]) -> str:
    """The whole page: the account's templates if it has them and they work, else ours."""
    context = {
        "account_name": clean_text(theme.account_name),
        "category": clean_text(article.category),
        "title": clean_text(article.title),
        "author": clean_text(article.author).strip(),
        "reviewed_by": clean_text(article.reviewed_by).strip(),
        "approved_by": clean_text(article.approved_by).strip(),
        "hotline": clean_text(theme.hotline).strip(),
        "qr": qr,
        "color": s["color"],
        "tint": s["tint"],
        "references": [{"number": number, "text": text, "url": url} for url, (number, text) in references.items()],
    }
    if theme.templates_dir is not None:
        try:
            return page_html(context, body, theme.templates_dir)
        except Exception as exc:  # noqa: BLE001 — any error in the account's templates: use ours
            _left_out(removals, "template", str(theme.templates_dir), f"自定义模板有误（{snippet(str(exc), 60)}），已使用默认模板")
    return page_html(context, body)
