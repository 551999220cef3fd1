"""The HTML boundary: raw HTML cleaned with nh3 (every removal reported) and parsed into
elements; elements written back as escaped HTML.

A post is untrusted input.  nh3 (ammonia) does the removing; a scan of the same
fragment beforehand, against the same allowlists, says what was removed so that
``publish check`` can tell the editor.  The renderer only ever sees the cleaned
fragment, parsed into ElementTree elements and styled like the Markdown around it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from html import unescape
from html.parser import HTMLParser
from typing import Any
from xml.etree.ElementTree import Element, SubElement

import css_inline
import nh3

from .rendered import Removal

# Tags raw HTML may keep: the ones the WeChat editor shows and the renderer styles.
ALLOWED_TAGS = frozenset(
    {"a", "b", "blockquote", "br", "caption", "code", "del", "div", "em", "figcaption", "figure"}
    | {"h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "li", "mark", "ol", "p", "pre", "s"}
    | {"section", "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th"}
    | {"thead", "tr", "u", "ul"}
)
ATTRIBUTES = {
    "*": {"style", "title"},
    "a": {"href"},
    "img": {"src", "alt"},
    "ol": {"start"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
DANGEROUS_SCHEMES = frozenset({"javascript", "vbscript", "data"})
# Removed together with everything inside them (their content is code or fallback).
CONTENT_TAGS = frozenset(
    {"script", "style", "iframe", "object", "embed", "applet", "noscript", "template", "textarea"}
    | {"select", "button", "frame", "frameset", "noframes", "svg", "math", "video", "audio"}
    | {"canvas", "head", "title"}
)
# What WeChat and phones render well; position, float, fonts and backgrounds are dropped.
STYLE_PROPERTIES = frozenset(
    {"color", "background-color", "font-size", "font-weight", "font-style", "text-align"}
    | {"text-decoration", "text-indent", "line-height", "letter-spacing", "vertical-align"}
    | {"margin", "margin-top", "margin-bottom", "margin-left", "margin-right", "padding"}
    | {"padding-top", "padding-bottom", "padding-left", "padding-right", "border", "border-top"}
    | {"border-bottom", "border-left", "border-right", "border-color", "border-radius"}
    | {"border-collapse", "width", "max-width", "height", "display", "word-break"}
)
_TAG_MESSAGES = {
    "script": "已移除 <script> 脚本",
    "style": "已移除 <style> 样式表（微信只保留行内样式）",
    "iframe": "已移除 <iframe> 内嵌网页（微信不显示）",
    "frame": "已移除 <frame> 框架",
    "form": "已移除 <form> 表单（微信不支持）",
    "object": "已移除 <object> 嵌入对象",
    "embed": "已移除 <embed> 嵌入对象",
    "applet": "已移除 <applet> 嵌入对象",
    "video": "已移除 <video> 视频（请在微信编辑器中插入视频）",
    "audio": "已移除 <audio> 音频（请在微信编辑器中插入音频）",
}
_CONTROLS = frozenset({"input", "button", "select", "textarea", "option", "label"})
_VOID = frozenset({"br", "img", "hr", "wbr", "area", "col", "source", "input", "meta", "link", "base"})
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\xa0": "&nbsp;"}
_TEXT_SPECIAL = re.compile("[&<>\xa0]")
_ATTRIBUTE_SPECIAL = re.compile('[&<>"\xa0]')
_SNIPPET = 60


def _cleaner(**options: Any) -> Callable[[str], str]:
    """A reusable nh3 cleaner (nh3 ≥ 0.3), or nh3.clean with the same options on older nh3."""
    if hasattr(nh3, "Cleaner"):
        return nh3.Cleaner(**options).clean
    return functools.partial(nh3.clean, **options)


_clean_body = _cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(CONTENT_TAGS),
    attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
    url_schemes=set(URL_SCHEMES),
    link_rel=None,
    filter_style_properties=set(STYLE_PROPERTIES),
)
# The account's own templates: trusted styles, but still no scripts, classes or ids.
_clean_template = _cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(CONTENT_TAGS),
    attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
    url_schemes=set(URL_SCHEMES) | {"tuiwen-image"},
    link_rel=None,
)
_inliner = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)
_STYLE_BLOCK = re.compile(r"<style\b[^>]*>(.*?)</style\s*>", re.IGNORECASE | re.DOTALL)


def snippet(text: str, limit: int = _SNIPPET) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def sanitize_fragment(html: str) -> tuple[Element, list[Removal]]:
    """Clean a raw HTML fragment; its content under a ``div`` root, and what was removed."""
    removals = _scan(html)
    return parse_fragment(_clean_body(html)), removals


def clean_template_output(html: str) -> str:
    """An account template's output with its ``<style>`` inlined and nothing unsafe left."""
    css = "\n".join(_STYLE_BLOCK.findall(html))
    if css:
        try:
            html = _inliner.inline_fragment(_STYLE_BLOCK.sub("", html), css)
        except (css_inline.InlineError, ValueError):
            html = _STYLE_BLOCK.sub("", html)
    return _clean_template(html)


def parse_fragment(html: str) -> Element:
    """Well-formed HTML (as nh3 writes it) as elements under a ``div`` root."""
    builder = _TreeBuilder()
    try:
        builder.feed(html)
        builder.close()
    except Exception:  # noqa: BLE001 — html.parser has asserts of its own; keep the text then
        builder.root = Element("div")
        builder.root.text = unescape(re.sub(r"<[^>]*>", "", html))
    return builder.root


def _scheme(url: str) -> str:
    match = re.match(r"\s*([A-Za-z][A-Za-z0-9+.\-]*)\s*:", url)
    return match.group(1).lower() if match else ""


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("div")
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = SubElement(self.stack[-1], tag, {name: value or "" for name, value in attrs})
        if tag not in _VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        SubElement(self.stack[-1], tag, {name: value or "" for name, value in attrs})

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        parent = self.stack[-1]
        if len(parent):
            parent[-1].tail = (parent[-1].tail or "") + data
        else:
            parent.text = (parent.text or "") + data


class _Scanner(HTMLParser):
    """Reports what nh3 will remove, by the same allowlists."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.removals: list[Removal] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        text = snippet(self.get_starttag_text() or f"<{tag}>")
        if tag not in ALLOWED_TAGS:
            self.removals.append(Removal(tag, text, _tag_message(tag)))
            return
        allowed = ATTRIBUTES["*"] | ATTRIBUTES.get(tag, set())
        for name, given in attrs:
            value = given or ""
            if name.startswith("on"):
                self.removals.append(Removal("event", snippet(f'{name}="{value}"'), f"已移除事件属性 {name}（微信不运行脚本）"))
            elif name in ("class", "id"):
                self.removals.append(Removal(name, snippet(f'{name}="{value}"'), f"已移除 {name} 属性（微信只保留行内样式）"))
            elif name in allowed and name in ("href", "src") and _scheme(value):
                scheme = _scheme(value)
                if scheme in DANGEROUS_SCHEMES:
                    self.removals.append(Removal("url", snippet(value), f"已移除危险链接 {snippet(value, 40)}"))
                elif scheme not in URL_SCHEMES:
                    self.removals.append(Removal("url", snippet(value), f"已移除不支持的链接 {snippet(value, 40)}"))

    handle_startendtag = handle_starttag


def _tag_message(tag: str) -> str:
    if tag in _TAG_MESSAGES:
        return _TAG_MESSAGES[tag]
    if tag in _CONTROLS:
        return f"已移除 <{tag}> 表单控件（微信不支持）"
    if tag in CONTENT_TAGS:
        return f"已移除 <{tag}> 及其内容（微信不支持）"
    return f"已移除不支持的标签 <{tag}>（其中文字保留）"


def _scan(html: str) -> list[Removal]:
    scanner = _Scanner()
    try:
        # html.parser fails an assert on "<![" (a marked section); nh3 drops those as comments anyway
        scanner.feed(html.replace("<![", "&lt;!["))
        scanner.close()
    except Exception:  # noqa: BLE001 — the HTML is cleaned all the same; say so
        scanner.removals.append(Removal("html", snippet(html), "部分 HTML 无法逐项检查，已按安全规则清理"))
    return scanner.removals


# --- writing elements back as HTML -----------------------------------------------------------


def escape(text: str) -> str:
    """Text for HTML; a no-break space is written &nbsp; (that is what keeps code indented in WeChat)."""
    return _TEXT_SPECIAL.sub(lambda m: _ESCAPES[m.group(0)], text) if _TEXT_SPECIAL.search(text) else text


def _escape_attribute(text: str) -> str:
    return _ATTRIBUTE_SPECIAL.sub(lambda m: _ESCAPES[m.group(0)], text) if _ATTRIBUTE_SPECIAL.search(text) else text


def _write(element: Element, out: list[str]) -> None:
    tag = element.tag
    if not isinstance(tag, str):  # comments or processing instructions: never written
        if element.tail:
            out.append(escape(element.tail))
        return
    out.append("<" + tag)
    for name, value in element.attrib.items():
        out.append(f' {name}="{_escape_attribute(value)}"')
    out.append(">")
    if tag not in _VOID:
        if element.text:
            out.append(escape(element.text))
        for child in element:
            _write(child, out)
        out.append(f"</{tag}>")
    if element.tail:
        out.append(escape(element.tail))


def to_html(element: Element) -> str:
    """One element, with its tail, as HTML."""
    out: list[str] = []
    _write(element, out)
    return "".join(out)


def inner_html(tree: Element) -> str:
    """The content of an element as HTML."""
    out: list[str] = [escape(tree.text or "")]
    for child in tree:
        _write(child, out)
    return "".join(out)
