"""Markdown → HTML that survives the WeChat editor: inline styles only, lists and code
written out, outside links as numbered references, images collected for upload.

``render`` never raises on content: whatever it leaves out is returned as a
:class:`Removal` for ``publish check`` to show.  The steps live in their own modules:
``markdown_ext`` parses, ``wechat_html`` rewrites the tree, ``local_images`` collects the
images, ``page`` puts the theme's header and footer around the body.
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element

from .assets import real_folder
from .base import Article
from .elements import clean_text, digest, plain_tree
from .limits import wechat_len
from .local_images import LocalImages
from .markdown_ext import FastInline as _FastInline  # noqa: F401 — tests compare it with the stock pass
from .markdown_ext import parse_markdown, resolve_stash
from .page import page_html, styles
from .rendered import ImageRef, Note, Removal, Rendered, Theme, content_problems, replace_images
from .sanitize import inner_html, snippet
from .wechat_html import BodyWriter

__all__ = ["ImageRef", "Note", "Removal", "Rendered", "Theme", "content_problems", "render", "replace_images"]

DEFAULT_COLOR = "#2b6cb0"

_COLOR = re.compile(r"#(?:[0-9a-fA-F]{3}){1,2}")


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
