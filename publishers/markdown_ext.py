"""Python-Markdown as tuiwen runs it: CommonMark-style fenced code and list nesting, a faster
inline pass, one parser per thread, and raw HTML from Markdown's stash put back as sanitized elements.
"""

from __future__ import annotations

import html
import re
import threading
from bisect import bisect_right
from operator import itemgetter
from typing import TYPE_CHECKING, Any, TypeGuard, cast
from xml.etree.ElementTree import Element, SubElement

import markdown
from markdown import util as md_util
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import InlineProcessor

from .elements import ENTITY, own_text, splice
from .sanitize import Removal, escape, sanitize_fragment, to_html

if TYPE_CHECKING:  # imported where used: it needs this module
    from .editor_lines import EditorLines

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

    def run(self, lines: list[str]) -> list[str]:
        """The lines with each fenced block replaced by its stash placeholder."""
        out: list[str] = []
        index = 0
        while index < len(lines):
            opening = fence_opening(lines[index])
            if opening is None:
                out.append(lines[index])
                index += 1
                continue
            placeholder, index = stash_fenced(self.md, lines, index, opening, 0)
            # the fence's indent kept: a block indented under a list item stays in the item
            out.extend(["", opening.group(1) + placeholder, ""])
        return out


_FENCE = re.compile(r"( {0,3})(`{3,}|~{3,})(.*)")


def fence_opening(text: str) -> re.Match[str] | None:
    """The match of a code fence opening ``text`` (indented 0–3 spaces), or None."""
    opening = _FENCE.fullmatch(text)
    if opening is None or (opening.group(2)[0] == "`" and "`" in opening.group(3)):
        return None
    return opening


def stash_fenced(md: markdown.Markdown, lines: list[str], index: int, opening: re.Match[str],
                 margin: int) -> tuple[str, int]:
    """The stash placeholder of the fenced block opening at ``lines[index]``, and the index after it.

    ``opening`` matched the line with its first ``margin`` columns (a list item's indent)
    cut off; a line indented less than ``margin`` ends the item and so the block.
    """
    fence = opening.group(2)
    indent = margin + len(opening.group(1))
    closing = re.compile(f" {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*")
    code = []
    index += 1
    while index < len(lines):
        line = lines[index]
        spaces = len(line) - len(line.lstrip(" "))
        if spaces < margin and line.strip():
            break
        index += 1
        if closing.fullmatch(line[margin:]):
            break
        code.append(line[min(indent, spaces) :])
    # an unclosed block runs to the end (of its list item), as CommonMark says
    pre = Element("pre")
    SubElement(pre, "code").text = md_util.AtomicString(md_util.code_escape("\n".join(code)))
    return md.htmlStash.store(pre), index


# A list item's marker (its number apart) and the spaces after it: Python-Markdown, too, wants one.
_ITEM = re.compile(r"([-+*]|([0-9]{1,9})[.)])( +)")
_BREAK = re.compile(r" *([-*_])(?: *\1){2,} *")  # "- - -" and "* * *" are rules, not items
_REACH = itemgetter(0)  # an open item's reach; it grows from the outermost item in
_MARKER = itemgetter(3)  # where an open item's marker stands; it too grows from the outermost item in


class NestedLists(Preprocessor):
    """Lists nested the CommonMark way re-indented to the 4 spaces per level Python-Markdown wants.

    Typora, VS Code and GitHub take a line indented as far as the text of the item above
    (2 spaces under ``- ``, 3 under ``1. ``) as inside that item; Python-Markdown needs 4
    and otherwise runs the lines together.  Each open item keeps its ``reach`` (a line
    indented this far is inside it: where its text starts, or 4 past its marker if that is
    less, as for ``100. ``), its ``shift`` (how far right its marker was moved) and its
    ``body`` (where its blocks go: 4 past the moved marker).  A child item's marker and a
    block after a blank line go to the item's body, a fenced block there too; the further
    lines of a paragraph move as far as its first line did, so a ``>`` among them keeps
    its place; lines not indented into any item stay as they are.  Indenting by 4 per
    level is left as it is: such lists render exactly as before.  An item's marker indented
    2 or more past the marker of the item above is that item's child, even short of its
    text (``1.`` then ``  - ``): editors mean a sub-item there.  ``1)`` becomes ``1.``,
    the only form Python-Markdown knows.  Code fenced at the margin is stashed before this
    runs, so its lines are never touched; raw HTML is found after, so HTML indented into
    an item stays in the item.
    """

    def run(self, lines: list[str]) -> list[str]:
        """The lines with list items and their content re-indented; everything else as it was."""
        out: list[str] = []
        items: list[tuple[int, int, int, int]] = []  # the open items, outermost first: (reach, shift, body, marker)
        starts = True  # a list may start here: first line, after a blank line or a heading
        moved = 0  # how far right the line that began the current paragraph was moved
        index = 0
        while index < len(lines):
            line = lines[index]
            index += 1
            text = line.lstrip(" ")
            if not text:
                out.append(line)
                starts = True
                continue
            indent = len(line) - len(text)
            depth = bisect_right(items, indent, key=_REACH)  # the open items the line is indented into
            item = _ITEM.match(text) if text[0] in "-+*0123456789" else None
            if item is not None and _BREAK.fullmatch(text) is None:
                depth = bisect_right(items, indent - 2, key=_MARKER)
                if depth:  # a child of the item it is indented into
                    _, shift, body, _ = items[depth - 1]
                    column = max(body, indent + shift)
                elif indent <= 3 and (items or starts):  # a top-level item
                    column = indent
                else:  # no list open: 4 spaces in it is an indented code block, else a line of a paragraph
                    if starts:
                        items.clear()
                    out.append(line)
                    starts = False
                    continue
                del items[depth:]
                marker, spaces = item.group(1), len(item.group(3))
                # where its text starts; 5 or more spaces (or none) after the marker count as one
                width = len(marker) + (spaces if spaces <= 4 and item.end() < len(text) else 1)
                items.append((indent + min(width, 4), column - indent, column + 4, indent))
                if marker[-1] == ")":
                    text = item.group(2) + "." + text[len(marker) :]
                out.append(" " * column + text)
                starts, moved = False, column - indent
                continue
            if not depth:  # not indented into any item: lazy text, or after a blank line the lists end
                if starts:
                    items.clear()
                out.append(line)
                starts = line.startswith("#")
                continue
            reach, shift, body, _ = items[depth - 1]
            opening = fence_opening(line[reach:]) if text[0] in "`~" else None
            if opening is not None:  # indented too far for FencedCode to have seen it
                del items[depth:]
                placeholder, index = stash_fenced(self.md, lines, index - 1, opening, reach)
                out.extend(["", " " * body + placeholder, ""])
                starts = True
            elif starts:  # a new block inside the item
                del items[depth:]
                column = max(body, indent + shift)
                out.append(" " * column + text)
                starts, moved = False, column - indent
            else:  # more of the paragraph above: it moves with the paragraph
                out.append(" " * (indent + moved) + text)
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
        self._patterns: list[tuple[Any, str | None]] = []  # (pattern, the text it needs), in priority order

    def run(self, tree: Element, ancestors: list[str] | None = None) -> Element:
        patterns = self.inlinePatterns  # the registry as it is now, extensions included
        needs = {id(patterns[name]): text for name, text in _PATTERN_NEEDS.items() if name in patterns}
        self._patterns = [(pattern, needs.get(id(pattern))) for pattern in patterns]
        return super().run(tree, ancestors)

    def _InlineProcessor__handleInline(self, data: str, patternIndex: int = 0) -> str:  # noqa: N802
        # The stock loop, over a plain list (the registry's indexing was a tenth of the pass) and
        # skipping a pattern without calling it when the text lacks what it needs.
        if isinstance(data, md_util.AtomicString) or _INLINE_SYNTAX.search(data) is None:
            return data
        apply = self._InlineProcessor__applyPattern  # type: ignore[attr-defined]
        patterns, start = self._patterns, 0
        while patternIndex < len(patterns):
            pattern, needed = patterns[patternIndex]
            matched = False
            if needed is None or needed in data:
                data, matched, start = apply(pattern, data, patternIndex, start)
            if not matched:
                patternIndex, start = patternIndex + 1, 0
        return data


def _new_markdown() -> markdown.Markdown:
    """A parser with tables, sane lists, editors' line breaks, our fenced code and inline pass, no prettifying."""
    from markdown.extensions.sane_lists import SaneListExtension
    from markdown.extensions.tables import TableExtension

    from .editor_lines import EditorLines  # it uses this module's list nesting for quotes

    # Instances, not the names "tables" and "sane_lists": a name makes Markdown scan every installed
    # package's entry points (tens of ms, once per process: a dry run's whole rendering costs less).
    md = markdown.Markdown(extensions=[TableExtension(), SaneListExtension()])
    nested = NestedLists(md)
    # after whitespace is normalised (30), before code is fenced (25): note lines are the body's lines
    md.preprocessors.register(EditorLines(md, nested.run), "tuiwen_editor_lines", 26)
    md.preprocessors.register(FencedCode(md), "tuiwen_fenced_code", 25)
    md.preprocessors.register(nested, "tuiwen_nested_lists", 22)  # before raw HTML blocks (20)
    md.treeprocessors.register(FastInline(md), "inline", 20)
    md.treeprocessors.deregister("prettify")
    return md


_local = threading.local()  # one Markdown per thread: an instance is not thread-safe


def parse_markdown(source: str) -> tuple[Element, list, list]:
    """The Markdown element tree (before serialisation), the raw HTML stash, and the
    :class:`~publishers.editor_lines.Note` of each line that could be read two ways."""
    md = getattr(_local, "md", None)
    if md is None:
        md = _local.md = _new_markdown()
    _local.md = None  # an exception half-way leaves the parser's state dirty: start afresh then
    md.reset()
    lines = source.split("\n")
    for preprocessor in md.preprocessors:
        lines = preprocessor.run(lines)
    root = cast(Element, md.parser.parseDocument(lines).getroot())  # markdown always builds a root
    for treeprocessor in md.treeprocessors:
        new_root = treeprocessor.run(root)
        if new_root is not None:
            root = new_root
    _local.md = md
    return root, md.htmlStash.rawHtmlBlocks, list(cast("EditorLines", md.preprocessors["tuiwen_editor_lines"]).notes)


# --- the stash -------------------------------------------------------------------------------


def stash_entry(stash: list, index: str) -> object:
    """The stashed piece a placeholder's number points at ("" if there is none)."""
    number = int(index)
    return stash[number] if number < len(stash) else ""


def is_entity(entry: object) -> TypeGuard[str]:
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
