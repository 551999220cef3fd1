"""Python-Markdown as tuiwen runs it: CommonMark-style fenced code, a faster inline pass,
one parser per thread, and raw HTML from Markdown's stash put back as sanitized elements.
"""

from __future__ import annotations

import html
import re
import threading
from xml.etree.ElementTree import Element, SubElement

import markdown
from markdown import util as md_util
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import InlineProcessor

from .elements import ENTITY, own_text, splice
from .sanitize import Removal, escape, sanitize_fragment, to_html

STASHED = re.compile("\x02wzxhzdk:([0-9]+)\x03")  # Markdown's placeholder for a stashed piece
_INLINE_SYNTAX = re.compile(r"[`\\\[\]!*_<&]|  \n")

# The text an inline pattern cannot match without (patterns not named here are always tried).
_PATTERN_NEEDS = {
    "backtick": "`", "escape": "\\", "reference": "[", "link": "[", "image_link": "![", "image_reference": "![",
    "short_reference": "[", "short_image_ref": "![", "autolink": "<", "automail": "<", "linebreak": "  \n",
    "html": "<", "entity": "&",
}


class FencedCode(Preprocessor):
    """Fenced code blocks, closed or not, stashed as ``<pre><code>`` elements."""

    _OPEN = re.compile(r"( {0,3})(`{3,}|~{3,})(.*)")

    def run(self, lines: list[str]) -> list[str]:
        """The lines with each fenced block replaced by its stash placeholder."""
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


class FastInline(InlineProcessor):
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
    """A parser with tables, sane lists, our fenced code and inline pass, and no prettifying."""
    md = markdown.Markdown(extensions=["tables", "sane_lists"])
    md.preprocessors.register(FencedCode(md), "tuiwen_fenced_code", 25)
    md.treeprocessors.register(FastInline(md), "inline", 20)
    md.treeprocessors.deregister("prettify")
    return md


_local = threading.local()  # one Markdown per thread: an instance is not thread-safe


def parse_markdown(source: str) -> tuple[Element, list]:
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


# --- the stash -------------------------------------------------------------------------------


def stash_entry(stash: list, index: str) -> object:
    """The stashed piece a placeholder's number points at ("" if there is none)."""
    number = int(index)
    return stash[number] if number < len(stash) else ""


def is_entity(entry: object) -> bool:
    """True for a stashed character reference such as ``&amp;`` (text, not HTML)."""
    return isinstance(entry, str) and ENTITY.fullmatch(entry) is not None


def entity_text(entry: object) -> str:
    """The character a stashed reference stands for; "" for any other stashed piece."""
    return html.unescape(entry) if is_entity(entry) else ""


def resolve_stash(tree: Element, stash: list) -> list[Removal]:
    """Stashed code blocks and cleaned raw HTML put where their placeholders stand; what was removed."""
    removals: list[Removal] = []
    if not stash:
        return removals
    stack = [tree]
    while stack:
        element = stack.pop()
        for child in list(element):
            if child.tag == "p" and len(child) == 0 and child.text:
                whole = STASHED.fullmatch(child.text.strip())
                if whole:
                    removals += _replace_block(element, child, stash_entry(stash, whole.group(1)))
        if any(not is_entity(stash_entry(stash, m.group(1))) for m in STASHED.finditer(own_text(element))):
            removals += _clean_inline(element, stash)
        else:
            stack.extend(element)
    return removals


def _replace_block(parent: Element, paragraph: Element, entry: object) -> list[Removal]:
    """A paragraph that is one placeholder replaced by its code block or sanitized HTML."""
    if isinstance(entry, str) and is_entity(entry):
        return []
    if isinstance(entry, Element):
        entry.tail = paragraph.tail
        parent[list(parent).index(paragraph)] = entry
        return []
    fragment, removals = sanitize_fragment(str(entry))
    splice(parent, paragraph, fragment)
    return removals


def _clean_inline(element: Element, stash: list) -> list[Removal]:
    """Raw HTML inside running text: the element's content re-read through the sanitizer."""
    inner = escape(element.text or "") + "".join(to_html(child) for child in element)

    def raw(match: re.Match[str]) -> str:
        entry = stash_entry(stash, match.group(1))
        return to_html(entry) if isinstance(entry, Element) else str(entry)

    inner = STASHED.sub(raw, inner.replace(md_util.AMP_SUBSTITUTE, "&"))
    fragment, removals = sanitize_fragment(inner)
    element.text = fragment.text
    element[:] = list(fragment)
    return removals
