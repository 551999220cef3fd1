"""Markdown → HTML that survives the WeChat editor: inline styles only, lists and code
written out, outside links as numbered references, images collected for upload.

``render`` never raises on content: whatever it leaves out is returned as a
:class:`Removal` for ``publish check`` to show.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
import stat
import threading
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit
from xml.etree.ElementTree import Element, SubElement

import jinja2
import markdown
from markdown import util as md_util
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import InlineProcessor
from markupsafe import Markup

from .assets import WECHAT_IMAGE_HOSTS, UnsafePath, resolve_local, sniff_image
from .base import Article
from .limits import CONTENT_MAX_BYTES, CONTENT_MAX_CHARS, wechat_len
from .sanitize import (
    DANGEROUS_SCHEMES,
    Removal,
    clean_template_output,
    escape,
    inner_html,
    sanitize_fragment,
    snippet,
    to_html,
)

__all__ = ["ImageRef", "Removal", "Rendered", "Theme", "content_problems", "render", "replace_images"]

PLACEHOLDER_PREFIX = "tuiwen-image:"
URL_GROWTH = 80  # an mmbiz.qpic.cn URL is up to ~80 characters longer than its placeholder
DIGEST_LENGTH = 54
DEFAULT_COLOR = "#2b6cb0"
_TEMPLATES = Path(__file__).with_name("templates")
_BODY = "\ue000tuiwen-body\ue000"  # where the body goes in the rendered article.html

_COLOR = re.compile(r"#(?:[0-9a-fA-F]{3}){1,2}")
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATES = re.compile("[\ud800-\udfff]")
_STASHED = re.compile("\x02wzxhzdk:([0-9]+)\x03")
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_CJK = "\u2e80-\u9fff\u3000-\u303f\uf900-\ufaff\uff00-\uffef"
_SOFT_BREAK = re.compile(f"(?<=[{_CJK}])[ \t]*\n[ \t]*(?=[{_CJK}])")
_NEWLINE = re.compile(r"[ \t]*\n[ \t]*")
_CJK_SPACE = re.compile(f"(?<=[{_CJK}]) (?=[{_CJK}])")
_QA = re.compile(r"\s*(问|答|Q|A)\s*[：:]\s*")
_QA_BARE = re.compile(r"\s*(问|答|Q|A)\s*")
_COLON = re.compile(r"\s*[：:]\s*")
_PLACEHOLDER_SRC = re.compile(r'src="(tuiwen-image:[0-9a-f]{64})"')
_SQUASH = re.compile(r"\s*\n\s*")
_INLINE_SYNTAX = re.compile(r"[`\\\[\]!*_<&]|  \n")

_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_BLOCKS = frozenset({"p", "ul", "ol", "pre", "blockquote", "table", "div", "section", "figure", "hr"}) | _HEADINGS
_TEXT_BLOCKS = frozenset({"p", "section", "td", "th", "br"}) | _HEADINGS  # a space between them in the digest
# Inline tags as written out, and their theme style; anything unknown becomes a plain span.
_INLINE = {
    "strong": ("strong", "strong"), "b": ("strong", "strong"), "em": ("em", "em"), "i": ("em", "em"),
    "del": ("del", "del"), "s": ("del", "del"), "u": ("u", "u"), "sup": ("sup", "sup"),
    "sub": ("sub", "sub"), "mark": ("span", "mark"), "small": ("span", "small"), "span": ("span", None),
}
_BLOCK_OUTPUT = frozenset({"p", "section", "blockquote", "table", "hr", "img"}) | _HEADINGS


@dataclass(frozen=True)
class Theme:
    """Account-level presentation settings, filled from config by the caller."""

    account_name: str
    hotline: str = "医保服务热线：12393"
    qr_image: Path | None = None  # absolute; must be inside Article.root or it is ignored with a removal note
    templates_dir: Path | None = None  # header.html / footer.html / article.html here win over the defaults


@dataclass(frozen=True)
class ImageRef:
    """A local image to upload; its ``placeholder`` stands in the HTML until ``replace_images``."""

    placeholder: str
    path: Path
    sha256: str
    alt: str = ""


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


def render(article: Article, theme: Theme) -> Rendered:
    """The article as WeChat HTML, with its images, references and everything left out."""
    return _Job(article, theme).run()


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


# --- Markdown ------------------------------------------------------------------------------


class _FencedCode(Preprocessor):
    """Fenced code blocks, closed or not, stashed as ``<pre><code>`` elements."""

    _OPEN = re.compile(r"( {0,3})(`{3,}|~{3,})(.*)")

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        index = 0
        while index < len(lines):
            opening = self._OPEN.fullmatch(lines[index])
            if opening is None or (opening.group(2)[0] == "`" and "`" in opening.group(3)):
                out.append(lines[index])
                index += 1
                continue
            indent, fence = len(opening.group(1)), opening.group(2)
            closing = re.compile(f" {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*")
            code = []
            index += 1
            while index < len(lines) and not closing.fullmatch(lines[index]):
                line = lines[index]
                code.append(line[min(indent, len(line) - len(line.lstrip(" "))) :])
                index += 1
            index += 1  # the closing fence; an unclosed block runs to the end, as CommonMark says
            pre = Element("pre")
            SubElement(pre, "code").text = md_util.AtomicString(md_util.code_escape("\n".join(code)))
            out.extend(["", self.md.htmlStash.store(pre), ""])
        return out


# The text an inline pattern cannot match without (patterns not named here are always tried).
_PATTERN_NEEDS = {
    "backtick": "`", "escape": "\\", "reference": "[", "link": "[", "image_link": "![", "image_reference": "![",
    "short_reference": "[", "short_image_ref": "![", "autolink": "<", "automail": "<", "linebreak": "  \n",
    "html": "<", "entity": "&",
}


class _FastInline(InlineProcessor):
    """Python-Markdown's inline pass, not trying patterns on text that cannot match them.

    Most text of a Chinese article holds no inline syntax at all, and trying every
    pattern on every piece of text was half of the rendering time.  The output is
    the same (``test_render`` checks against the stock pass); should a later
    Markdown rename these private methods, the overrides are simply not called.
    """

    def __init__(self, md: markdown.Markdown) -> None:
        super().__init__(md)
        patterns = md.inlinePatterns
        self.needs = {id(patterns[name]): text for name, text in _PATTERN_NEEDS.items() if name in patterns}

    def _InlineProcessor__handleInline(self, data: str, patternIndex: int = 0) -> str:  # noqa: N802
        if _INLINE_SYNTAX.search(data) is None:
            return data
        return super()._InlineProcessor__handleInline(data, patternIndex)  # type: ignore[misc]

    def _InlineProcessor__applyPattern(self, pattern, data, patternIndex, startIndex=0):  # noqa: N802, ANN001, ANN202
        needed = self.needs.get(id(pattern))
        if needed is not None and needed not in data:
            return data, False, 0
        return super()._InlineProcessor__applyPattern(pattern, data, patternIndex, startIndex)  # type: ignore[misc]


def _new_markdown() -> markdown.Markdown:
    md = markdown.Markdown(extensions=["tables", "sane_lists"])
    md.preprocessors.register(_FencedCode(md), "tuiwen_fenced_code", 25)
    md.treeprocessors.register(_FastInline(md), "inline", 20)
    md.treeprocessors.deregister("prettify")
    return md


_local = threading.local()  # one Markdown per thread: an instance is not thread-safe


def _parse(source: str) -> tuple[Element, list]:
    """The Markdown element tree (before serialisation) and the raw HTML stash."""
    md = getattr(_local, "md", None)
    if md is None:
        md = _local.md = _new_markdown()
    _local.md = None  # an exception half-way leaves the parser's state dirty: start afresh then
    md.reset()
    lines = source.split("\n")
    for preprocessor in md.preprocessors:
        lines = preprocessor.run(lines)
    root = md.parser.parseDocument(lines).getroot()
    for treeprocessor in md.treeprocessors:
        new_root = treeprocessor.run(root)
        if new_root is not None:
            root = new_root
    _local.md = md
    return root, md.htmlStash.rawHtmlBlocks


# --- the render job --------------------------------------------------------------------------


class _Job:
    def __init__(self, article: Article, theme: Theme) -> None:
        self.article = article
        self.theme = theme
        self.root = Path(os.path.realpath(article.root))
        self.base_dir = Path(os.path.realpath(article.base_dir))
        self.removals: dict[Removal, None] = {}  # in order, each once
        self.color = DEFAULT_COLOR
        self._begin_body()

    def _begin_body(self) -> None:
        self.stash: list = []  # Markdown's raw HTML stash of this body
        self.images: dict[str, ImageRef] = {}  # by sha256, in order of appearance
        self.references: dict[str, tuple[int, str]] = {}  # url → (number, text)
        self.skip: set[Element] = set()  # decoration (badges, markers, captions): not digest text
        self.done: set[Element] = set()
        self.lists = {"ul": 0, "ol": 0}

    def remove(self, kind: str, what: str, message: str) -> None:
        self.removals.setdefault(Removal(kind, snippet(what), message))

    def run(self) -> Rendered:
        article = self.article
        if _COLOR.fullmatch(article.color or ""):
            self.color = article.color.lower()
        else:
            self.remove("color", article.color, f"强调色 {article.color} 不是 #rrggbb 颜色，已使用默认颜色")
        self.s = _styles(self.color)
        source = _clean(article.body)
        before = dict(self.removals)
        try:
            tree, self.stash = _parse(source)
            self._resolve_stash(tree, self.stash)
            self._container(tree, "root")
            body = inner_html(tree)
        except Exception as exc:  # noqa: BLE001 — e.g. RecursionError on absurd nesting: show the text plainly
            self._begin_body()
            self.removals = before  # nothing of the body is left out: it is all shown as text
            self.remove("markdown", type(exc).__name__, "正文无法按 Markdown 排版（嵌套过深或格式异常），已按纯文本显示")
            tree = _plain_tree(source, self.s["p"])
            body = inner_html(tree)
        digest = _clean(article.digest).strip() or _digest(tree, self.skip)
        cover = self._path_image(article.cover, "封面图片") if article.cover is not None else None
        qr = self._path_image(self.theme.qr_image, "关注二维码") if self.theme.qr_image is not None else None
        page = self._page(body, qr)
        return Rendered(
            html=page,
            digest=digest,
            images=tuple(self.images.values()),
            cover=cover,
            references=tuple(self.references),
            removed=tuple(self.removals),
            chars=wechat_len(page),
            size=len(page.encode("utf-8", "replace")),
        )

    # --- raw HTML and stashed code ---

    def _resolve_stash(self, tree: Element, stash: list) -> None:
        """Put stashed code blocks and cleaned raw HTML where their placeholders stand."""
        if not stash:
            return
        stack = [tree]
        while stack:
            element = stack.pop()
            for child in list(element):
                if child.tag == "p" and len(child) == 0 and child.text:
                    whole = _STASHED.fullmatch(child.text.strip())
                    if whole:
                        self._replace_block(element, child, _entry(stash, whole.group(1)))
            if any(not _is_entity(_entry(stash, m.group(1))) for m in _STASHED.finditer(_own_text(element))):
                self._clean_inline(element, stash)
            else:
                stack.extend(element)

    def _replace_block(self, parent: Element, paragraph: Element, entry: object) -> None:
        if isinstance(entry, str) and _is_entity(entry):
            return
        if isinstance(entry, Element):
            entry.tail = paragraph.tail
            parent[list(parent).index(paragraph)] = entry
            return
        fragment, removals = sanitize_fragment(str(entry))
        self.removals.update(dict.fromkeys(removals))
        _splice(parent, paragraph, fragment)

    def _clean_inline(self, element: Element, stash: list) -> None:
        """Raw HTML inside running text: the element's content re-read through the sanitizer."""
        inner = escape(element.text or "") + "".join(to_html(child) for child in element)

        def raw(match: re.Match[str]) -> str:
            entry = _entry(stash, match.group(1))
            return to_html(entry) if isinstance(entry, Element) else str(entry)

        inner = _STASHED.sub(raw, inner.replace(md_util.AMP_SUBSTITUTE, "&"))
        fragment, removals = sanitize_fragment(inner)
        self.removals.update(dict.fromkeys(removals))
        element.text = fragment.text
        element[:] = list(fragment)

    # --- block structure ---

    def _container(self, element: Element, where: str) -> None:
        """Style the children of a block container: the body, a quote, a list item, a cell."""
        element.text = self._fix(element.text)
        first = True
        for child in list(element):
            child.tail = self._fix(child.tail)
            if child in self.done:
                continue
            tag = child.tag
            if tag == "p":
                self._paragraph(element, child, where, first)
            elif tag in ("ul", "ol"):
                self._list(child)
            elif tag == "pre":
                self._code_block(child)
            elif tag == "table":
                self._table(element, child)
            elif tag == "blockquote":
                _restyle(child, self.s["blockquote"])
                self._container(child, "quote")
            elif tag in _HEADINGS:
                _restyle(child, self.s[tag])
                self._inline(child)
            elif tag == "hr":
                _restyle(child, self.s["hr"])
            elif tag in ("div", "section", "figure", "li"):
                child.tag = "section"
                _restyle(child, self.s["figure"] if tag == "figure" else "")
                self._container(child, where)
            elif tag == "figcaption":
                child.tag = "p"
                _restyle(child, self.s["caption"])
                self._inline(child)
            else:
                self._inline_child(element, child)
            first = False
        _trim_between_blocks(element)

    def _paragraph(self, parent: Element, paragraph: Element, where: str, first: bool) -> None:
        if _only_images(paragraph):
            self._figures(parent, paragraph)
            return
        if where == "root" and self._question_or_answer(paragraph):
            return
        key = {"root": "p", "quote": "p_quote" if first else "p_quote_next", "item": "p_item_next", "cell": "p_cell"}
        _restyle(paragraph, self.s[key.get(where, "p")])
        self._inline(paragraph)

    def _question_or_answer(self, paragraph: Element) -> bool:
        """政策问答: a paragraph opening with 问：/答： (or Q:/A:, bold or not) gets a badge."""
        text = paragraph.text or ""
        if text.strip():
            match = _QA.match(text)
            if match is None:
                return False
            paragraph.text = text[match.end() :]
        elif len(paragraph) and paragraph[0].tag in ("strong", "b"):
            bold = paragraph[0]
            match = _QA.match(bold.text or "")
            if match is not None:
                bold.text = (bold.text or "")[match.end() :]
            else:
                match = _QA_BARE.fullmatch(bold.text or "")
                colon = _COLON.match(bold.tail or "")
                if match is None or colon is None or len(bold):
                    return False
                bold.text, bold.tail = "", (bold.tail or "")[colon.end() :]
            if not (bold.text or "").strip() and not len(bold):
                paragraph.text = (paragraph.text or "") + (bold.tail or "").lstrip()
                paragraph.remove(bold)
        else:
            return False
        question = match.group(1) in ("问", "Q")
        self._inline(paragraph)
        badge = Element("span", {"style": self.s["badge_q" if question else "badge_a"]})
        badge.text, badge.tail = match.group(1), paragraph.text
        paragraph.text = None
        paragraph.insert(0, badge)
        self.skip.add(badge)
        _restyle(paragraph, self.s["qa_q" if question else "qa_a"])
        return True

    def _list(self, element: Element) -> None:
        """A list as sections with the bullet or number written in: WeChat flattens ul/ol."""
        kind = element.tag
        ordered = kind == "ol"
        nested = self.lists["ul"] + self.lists["ol"] > 0
        level = self.lists[kind]
        self.lists[kind] += 1
        try:
            items = [child for child in element if child.tag == "li"]
            if ordered:
                start = _int(element.get("start"), 1)
                markers = [f"{n}." if level == 0 else f"({n})" for n in range(start, start + len(items))]
            else:
                markers = [("•", "◦", "▪")[min(level, 2)]] * len(items)
            width = f"{max((_marker_em(m) for m in markers), default=1.2):g}em"
            element.tag = "section"
            _restyle(element, self.s["sublist" if nested else "list"])
            element.text = self._fix(element.text)
            for child in list(element):
                child.tail = self._fix(child.tail)
                if child.tag == "li":
                    self._item(child, markers.pop(0), width)
                else:
                    self._inline_child(element, child)
        finally:
            self.lists[kind] -= 1

    def _item(self, item: Element, marker: str, width: str) -> None:
        children = list(item)
        leading = next((n for n, child in enumerate(children) if child.tag in _BLOCKS), len(children))
        if (item.text or "").strip() or leading > 0 or not children or children[0].tag != "p":
            paragraph = Element("p")
            paragraph.text, item.text = item.text, None
            for child in children[:leading]:
                item.remove(child)
                paragraph.append(child)
            item.insert(0, paragraph)
        else:
            paragraph = children[0]
        # a hanging indent: the marker sits in the padding, wrapped lines align with the text
        item.tag = "section"
        item.attrib = {"style": f"{self.s['item']};padding-left:{width}"}
        self._inline(paragraph)
        mark = Element("span", {"style": f"{self.s['marker']};width:{width}"})
        mark.text, mark.tail = marker, paragraph.text
        paragraph.text = None
        paragraph.insert(0, mark)
        paragraph.attrib = {"style": f"{self.s['p_item']};text-indent:-{width}"}
        self.skip.add(mark)
        self.done.add(paragraph)
        self._container(item, "item")

    def _code_block(self, pre: Element) -> None:
        """Code keeps its layout only as &nbsp; and <br>: WeChat collapses anything else."""
        text = _unentity("".join(pre.itertext())).rstrip("\n")
        text = self._fix_placeholders(text) if "\x02" in text else text
        lines = text.split("\n")
        pre.clear()
        pre.tag = "section"
        pre.set("style", self.s["pre"])
        pre.text = lines[0].replace(" ", "\xa0")
        for line in lines[1:]:
            SubElement(pre, "br").tail = line.replace(" ", "\xa0")

    def _table(self, parent: Element, table: Element) -> None:
        wrapper = Element("section", {"style": self.s["table_wrap"]})
        wrapper.tail, table.tail = table.tail, None
        parent[list(parent).index(table)] = wrapper
        wrapper.append(table)
        _restyle(table, self.s["table"])
        self._table_part(table)

    def _table_part(self, element: Element) -> None:
        element.text = self._fix(element.text)
        for child in list(element):
            child.tail = self._fix(child.tail)
            if child.tag in ("thead", "tbody", "tfoot", "tr"):
                child.attrib.clear()
                self._table_part(child)
            elif child.tag in ("th", "td"):
                _restyle(child, self.s[child.tag], keep=("colspan", "rowspan"))
                self._container(child, "cell")
            elif child.tag == "caption":
                _restyle(child, self.s["caption"])
                self._inline(child)
            else:
                self._inline_child(element, child)

    # --- running text ---

    def _inline(self, element: Element) -> None:
        element.text = self._fix(element.text)
        for child in list(element):
            child.tail = self._fix(child.tail)
            self._inline_child(element, child)

    def _inline_child(self, parent: Element, child: Element) -> None:
        tag = child.tag
        if tag == "a":
            self._link(child)
        elif tag == "img":
            src = self._image_src(child)
            if src is None:
                _drop(parent, child)
            else:
                child.attrib = {"src": src, "alt": self._fix(child.get("alt", "")), "style": self.s["img"]}
        elif tag == "code":
            _restyle(child, self.s["code"])
            child.text = _unentity(self._fix(child.text) or "")
            for grandchild in list(child):
                self._inline_child(child, grandchild)
        elif tag == "br":
            child.attrib.clear()
        elif tag in _BLOCKS or tag in ("li", "figcaption"):
            wrapper = Element("section")  # block HTML inside a paragraph: styled as a container
            parent[list(parent).index(child)] = wrapper
            wrapper.append(child)
            wrapper.tail, child.tail = child.tail, None
            self._container(wrapper, "section")
        else:
            name, key = _INLINE.get(tag, ("span", None))
            child.tag = name
            _restyle(child, self.s[key] if key else "")
            self._inline(child)

    def _link(self, link: Element) -> None:
        """mp.weixin.qq.com links stay; other web links become text with a numbered reference."""
        href = _unentity(self._fix(link.get("href", "")).strip())
        scheme, host = _split(href)
        link.attrib.clear()
        self._inline(link)
        if scheme in ("http", "https") and host == "mp.weixin.qq.com":
            link.attrib.update(href=href, style=self.s["a"])
            return
        link.tag = "span"
        text = " ".join("".join(link.itertext()).split())
        if scheme in ("http", "https") and host:
            number = self.references.setdefault(href, (len(self.references) + 1, text or href))[0]
            marker = SubElement(link, "sup", {"style": self.s["ref"]})
            marker.text = f"[{number}]"
            self.skip.add(marker)
        elif scheme in ("mailto", "tel"):
            address = unquote(href.split(":", 1)[1]).split("?", 1)[0].strip()
            if address and address not in text:
                _append_text(link, f"（{address}）" if text else address)
        elif scheme in DANGEROUS_SCHEMES:
            self.remove("url", href, f"已移除危险链接 {snippet(href, 40)}")
        elif href:
            self.remove("link", href, f"链接 {snippet(href, 40)} 不是网址，已改为纯文本")

    # --- images ---

    def _figures(self, parent: Element, paragraph: Element) -> None:
        """A paragraph of images only: each a full-width figure, its alt text the caption."""
        index = list(parent).index(paragraph)
        parent.remove(paragraph)
        for image in paragraph.iter("img"):
            src = self._image_src(image)
            if src is None:
                continue
            alt = self._fix(image.get("alt", "")).strip()
            figure = Element("section", {"style": self.s["figure"]})
            SubElement(figure, "img", {"src": src, "alt": alt, "style": self.s["img"]})
            if alt:
                caption = SubElement(figure, "p", {"style": self.s["caption"]})
                caption.text = alt
            self.skip.add(figure)
            parent.insert(index, figure)
            index += 1

    def _image_src(self, image: Element) -> str | None:
        src = _unentity(self._fix(image.get("src", "")).strip())
        if not src:
            return None
        scheme, host = _split(src)
        if (scheme in ("http", "https") or src.startswith("//")) and _wechat_host(host):
            return "https:" + src if src.startswith("//") else src
        if scheme or src.startswith("//"):
            self.remove("image", src, f"已移除外部图片 {snippet(src, 50)}（微信只显示上传到微信的图片）")
            return None
        found = self._local_image(src, self._fix(image.get("alt", "")).strip(), "图片")
        return found.placeholder if found else None

    def _path_image(self, path: Path, what: str) -> ImageRef | None:
        """The cover or QR image: a path (absolute or relative to the post) inside the repository."""
        text = _clean(str(path))
        if Path(text).is_absolute():
            try:
                text = os.path.relpath(text, self.base_dir)
            except ValueError:
                self.remove("image", str(path), f"已忽略{what} {path}：不在内容仓库之内")
                return None
        alt = f"关注“{self.theme.account_name}”" if what == "关注二维码" else ""
        return self._local_image(Path(text).as_posix(), alt, what, collect=what != "封面图片")

    def _local_image(self, ref: str, alt: str, what: str, collect: bool = True) -> ImageRef | None:
        try:
            path = resolve_local(self.root, self.base_dir, ref)
        except UnsafePath as exc:
            self.remove("image", ref, f"已移除{what}：{exc}")
            return None
        found = _fingerprint(path)
        if isinstance(found, str):
            self.remove("image", ref, f"已移除{what} {snippet(ref, 50)}：{found}")
            return None
        sha, kind = found
        if kind is None:
            self.remove("image", ref, f"已移除{what} {snippet(ref, 50)}：不是图片文件（请用 JPG 或 PNG）")
            return None
        image = ImageRef(PLACEHOLDER_PREFIX + sha, path, sha, alt)
        return self.images.setdefault(sha, image) if collect else image

    # --- text ---

    def _fix(self, text: str | None) -> str | None:
        """Stash placeholders resolved; soft line breaks joined (without a space between CJK)."""
        if not text:
            return text
        if "\x02" in text or "\x03" in text:
            text = self._fix_placeholders(text)
        if "\n" in text:
            text = _NEWLINE.sub(" ", _SOFT_BREAK.sub("", text))
        return text

    def _fix_placeholders(self, text: str) -> str:
        if md_util.AMP_SUBSTITUTE in text:  # Markdown's e-mail obfuscation
            text = _unentity(text.replace(md_util.AMP_SUBSTITUTE, "&"))
        text = _STASHED.sub(lambda m: _entity_text(_entry(self.stash, m.group(1))), text)
        return text.replace("\x02", "").replace("\x03", "")

    # --- the page ---

    def _page(self, body: str, qr: ImageRef | None) -> str:
        article, theme = self.article, self.theme
        context = {
            "account_name": _clean(theme.account_name),
            "category": _clean(article.category),
            "title": _clean(article.title),
            "author": _clean(article.author).strip(),
            "reviewed_by": _clean(article.reviewed_by).strip(),
            "approved_by": _clean(article.approved_by).strip(),
            "hotline": _clean(theme.hotline).strip(),
            "qr": qr,
            "color": self.color,
            "tint": self.s["tint"],
            "references": [
                {"number": number, "text": text, "url": url} for url, (number, text) in self.references.items()
            ],
        }
        if theme.templates_dir is not None:
            try:
                return _fill(_environment(theme.templates_dir), context, body, custom=True)
            except Exception as exc:  # noqa: BLE001 — any error in the account's templates: use ours
                self.remove("template", str(theme.templates_dir), f"自定义模板有误（{snippet(str(exc), 60)}），已使用默认模板")
        return _fill(_environment(None), context, body, custom=False)


class _MissingBody(Exception):
    def __str__(self) -> str:
        return "article.html 中没有 {{ body }}"


@lru_cache(maxsize=16)
def _environment(templates_dir: Path | None) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = [jinja2.FileSystemLoader(str(_TEMPLATES))]
    if templates_dir is not None:
        loaders.insert(0, jinja2.FileSystemLoader(str(templates_dir)))
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders), autoescape=True, lstrip_blocks=True
    )


def _fill(env: jinja2.Environment, context: dict, body: str, custom: bool) -> str:
    """header, footer and article templates around the body; the account's own ones cleaned."""
    parts = {}
    for name in ("header", "footer"):
        text = _SQUASH.sub("", env.get_template(f"{name}.html").render(context))
        parts[name] = Markup(clean_template_output(text) if custom else text)
    page = env.get_template("article.html").render(context, body=Markup(_BODY), **parts)
    page = _SQUASH.sub("", page)
    if custom:
        page = clean_template_output(page)
    if _BODY not in page:
        raise _MissingBody()
    return page.replace(_BODY, body, 1)


# --- helpers ---------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _theme_table() -> dict[str, str]:
    with open(_TEMPLATES / "theme.toml", "rb") as file:
        return {key: str(value) for key, value in tomllib.load(file).items()}


@lru_cache(maxsize=64)
def _styles(color: str) -> dict[str, str]:
    """The theme's inline style of each kind of element, in the category's accent colour."""
    tint = _tint(color)
    table = _theme_table()
    found = {key: value.format(color=color, tint=tint, text=table["text"]) for key, value in table.items()}
    return found | {"color": color, "tint": tint}


def _tint(color: str, amount: float = 0.9) -> str:
    """The colour mixed with white: a light background in the same hue."""
    digits = color[1:] if len(color) == 7 else "".join(c * 2 for c in color[1:])
    channels = (int(digits[i : i + 2], 16) for i in (0, 2, 4))
    return "#" + "".join(f"{round(c + (255 - c) * amount):02x}" for c in channels)


def _marker_em(marker: str) -> float:
    """Room for a list marker: a bullet, "1." or "(1)", a little more for longer numbers."""
    return 1.2 if len(marker) == 1 else max(1.6, round(0.55 * len(marker) + 0.4, 1))


def _clean(text: str | None) -> str:
    """Text without control characters or lone surrogates (they break HTML and UTF-8)."""
    if not text:
        return ""
    return _SURROGATES.sub("\ufffd", _BAD_CHARS.sub("", text))


def _unentity(text: str) -> str:
    """Character references decoded (strictly: only complete ``&…;`` ones)."""
    return _ENTITY.sub(lambda m: html.unescape(m.group(0)), text) if "&" in text else text


def _entry(stash: list, index: str) -> object:
    number = int(index)
    return stash[number] if number < len(stash) else ""


def _is_entity(entry: object) -> bool:
    return isinstance(entry, str) and _ENTITY.fullmatch(entry) is not None


def _entity_text(entry: object) -> str:
    return html.unescape(entry) if _is_entity(entry) else ""


def _own_text(element: Element) -> str:
    return (element.text or "") + "".join(child.tail or "" for child in element)


def _split(url: str) -> tuple[str, str]:
    """(scheme, host) of a URL; an unparseable one has the scheme "invalid"."""
    try:
        parts = urlsplit(url)
        return parts.scheme.lower(), (parts.hostname or "")
    except ValueError:
        return "invalid", ""


def _wechat_host(host: str) -> bool:
    return any(host == h or host.endswith("." + h) for h in WECHAT_IMAGE_HOSTS)


def _int(value: str | None, default: int) -> int:
    try:
        return max(0, min(int(value or default), 10**6))
    except ValueError:
        return default


def _only_images(paragraph: Element) -> bool:
    if (paragraph.text or "").strip() or not len(paragraph):
        return False
    children = list(paragraph)
    if any(c.tag not in ("img", "br") or (c.tail or "").strip() for c in children):
        return False
    return any(c.tag == "img" for c in children)


def _restyle(element: Element, style: str, keep: tuple[str, ...] = ()) -> None:
    """Only the theme's style (then the author's own inline style) and the attributes in ``keep``."""
    own = element.get("style", "").strip()
    kept = {name: element.get(name, "") for name in keep if element.get(name)}
    element.attrib.clear()
    element.attrib.update(kept)
    merged = f"{style};{own}" if style and own else style or own
    if merged:
        element.set("style", merged)


def _trim_between_blocks(element: Element) -> None:
    """No whitespace text between block elements (raw HTML is full of it; it only adds spaces)."""
    children = list(element)
    if children and element.text and not element.text.strip() and children[0].tag in _BLOCK_OUTPUT:
        element.text = None
    for child, following in zip(children, children[1:] + [None]):
        if child.tail and not child.tail.strip():
            if child.tag in _BLOCK_OUTPUT or following is None or following.tag in _BLOCK_OUTPUT:
                child.tail = None


def _drop(parent: Element, child: Element) -> None:
    """Remove an element from running text, keeping the text after it."""
    index = list(parent).index(child)
    if child.tail:
        if index:
            parent[index - 1].tail = (parent[index - 1].tail or "") + child.tail
        else:
            parent.text = (parent.text or "") + child.tail
    parent.remove(child)


def _append_text(element: Element, text: str) -> None:
    if len(element):
        element[-1].tail = (element[-1].tail or "") + text
    else:
        element.text = (element.text or "") + text


def _splice(parent: Element, old: Element, fragment: Element) -> None:
    """Replace ``old`` by the content of ``fragment`` (its leading text kept in a paragraph)."""
    index = list(parent).index(old)
    parent.remove(old)
    nodes = list(fragment)
    if (fragment.text or "").strip():
        paragraph = Element("p")
        paragraph.text = fragment.text
        nodes.insert(0, paragraph)
    for offset, node in enumerate(nodes):
        parent.insert(index + offset, node)
    if old.tail:
        if nodes:
            nodes[-1].tail = (nodes[-1].tail or "") + old.tail
        elif index:
            parent[index - 1].tail = (parent[index - 1].tail or "") + old.tail
        else:
            parent.text = (parent.text or "") + old.tail


@lru_cache(maxsize=4096)
def _read_fingerprint(path: Path, mtime_ns: int, size: int) -> tuple[str, str | None] | str:
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


def _plain_tree(source: str, style: str) -> Element:
    """The body as plain paragraphs: the fallback when Markdown cannot be laid out."""
    root = Element("div")
    for block in re.split(r"\n[ \t]*\n", source):
        if block.strip():
            paragraph = SubElement(root, "p", {"style": style})
            paragraph.text = _NEWLINE.sub(" ", block.strip())
    return root


def _digest(tree: Element, skip: set[Element]) -> str:
    """The first DIGEST_LENGTH characters (as WeChat counts) of the body's text."""
    parts: list[str] = []
    size = 0
    stack: list[Element | str] = [tree]
    while stack and size < DIGEST_LENGTH * 3:
        item = stack.pop()
        if isinstance(item, str):
            parts.append(item)
            size += len(item)
            continue
        if item.tail and item is not tree:
            stack.append(item.tail)
        if item in skip:
            continue
        if item.tag in _TEXT_BLOCKS:
            stack.append(" ")
        stack.extend(reversed([*item]))
        if item.text:
            stack.append(item.text)
        if item.tag in _TEXT_BLOCKS:
            stack.append(" ")
    text = _CJK_SPACE.sub("", " ".join("".join(parts).split()))
    width = 0
    for index, char in enumerate(text):
        width += 2 if ord(char) > 0xFFFF else 1
        if width > DIGEST_LENGTH:
            return text[:index].rstrip()
    return text
