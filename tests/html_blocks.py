"""Rendered HTML read back into the blocks a reader sees, one string each, so that what an
editor meant can be written down and compared whatever renderer made the HTML.

A block is ``"KIND: text"`` (``"hr"`` alone):

* ``p``, ``h1`` … ``h6``, ``code`` (its lines joined by `` ⏎ ``), ``table`` (cells joined
  by `` | ``, rows by `` / ``);
* ``ol`` / ``ul`` for a list item (numbered or bulleted), ``ol.2`` / ``ul.2`` … when nested;
  a further paragraph inside an item is ``p.1``, ``p.2`` … by the item's depth;
* ``> `` before the kind for each quote around the block.

Text is as a reader sees it: runs of ASCII whitespace are one space (a full-width space
is kept), ``<b>…</b>`` marks bold, ``<i>…</i>`` italic, `` `…` `` code, ``<br>`` a line break.
Both plain HTML (``ul``/``li``, ``pre``) and tuiwen's (list items as sections with the
marker written in, code as a styled section) are read.
"""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree.ElementTree import Element

import yaml

from publishers.sanitize import parse_fragment

CORPUS = Path(__file__).with_name("editor_patterns.yaml")
_SPACES = re.compile(r"[ \t\n\r\f]+")
_AROUND_BREAK = re.compile(r" ?<br> ?")
_HEADINGS = {f"h{n}" for n in range(1, 7)}
_TUIWEN_CODE = "font-family:Menlo"  # the theme's code block style
_TUIWEN_MARKER = "text-indent:0"  # the theme's list marker style


def load_corpus(path: Path = CORPUS) -> list[dict]:
    """The editor patterns: each ``{name, markdown, expect: [block, …], notes: [line, …]}``."""
    with open(path, encoding="utf-8") as file:
        return yaml.safe_load(file)


def blocks(html: str) -> list[str]:
    """The blocks of an HTML body, in reading order."""
    out: list[str] = []
    _walk(parse_fragment(html), out, "", 0)
    return out


def _walk(container: Element, out: list[str], quote: str, depth: int) -> None:
    loose = (container.text or "").strip()
    if loose:  # text right in a container (a tight list item's is read by the item)
        out.append(f"{quote}{_kind('p', depth)}: {_normal(loose)}")
    for child in container:
        tag = child.tag
        if tag == "p":
            text = inline_text(child)
            if text:
                out.append(f"{quote}{_kind('p', depth)}: {text}")
        elif tag in _HEADINGS:
            out.append(f"{quote}{tag}: {inline_text(child)}")
        elif tag == "hr":
            out.append(f"{quote}hr")
        elif tag == "pre" or (tag == "section" and _TUIWEN_CODE in child.get("style", "")):
            out.append(f"{quote}code: {_code_text(child)}")
        elif tag == "blockquote":
            _walk(child, out, quote + "> ", depth)
        elif tag in ("ul", "ol"):
            for item in child:
                if item.tag == "li":
                    _plain_item(item, tag, out, quote, depth + 1)
        elif tag == "table":
            out.append(f"{quote}table: {_table_text(child)}")
        elif tag == "section" and _is_tuiwen_item(child):
            _tuiwen_item(child, out, quote, depth + 1)
        elif tag in ("section", "div", "figure"):
            _walk(child, out, quote, depth)
        if (child.tail or "").strip() and tag not in ("br",):
            out.append(f"{quote}{_kind('p', depth)}: {_normal(child.tail)}")


def _kind(kind: str, depth: int) -> str:
    if kind == "p":
        return "p" if depth == 0 else f"p.{depth}"
    return kind if depth == 1 else f"{kind}.{depth}"


def _plain_item(item: Element, tag: str, out: list[str], quote: str, depth: int) -> None:
    """An ``li``: its first text (loose or in a paragraph) is the item, the rest its blocks."""
    children = list(item)
    first = next((n for n, c in enumerate(children) if c.tag in _BLOCK_TAGS), len(children))
    head = Element("p")
    head.text = item.text
    head.extend(children[:first])
    rest = Element("div")
    rest.extend(children[first:])
    text = inline_text(head)
    if not text and rest and rest[0].tag == "p":
        text = inline_text(rest[0])
        rest.remove(rest[0])
    out.append(f"{quote}{_kind(tag, depth)}: {text}")
    _walk(rest, out, quote, depth)


_BLOCK_TAGS = {"p", "ul", "ol", "blockquote", "pre", "table", "hr", "section", "div"} | _HEADINGS


def _is_tuiwen_item(section: Element) -> bool:
    first = section[0] if len(section) else None
    return (first is not None and first.tag == "p" and not (first.text or "").strip() and len(first) > 0
            and first[0].tag == "span" and _TUIWEN_MARKER in first[0].get("style", ""))


def _tuiwen_item(section: Element, out: list[str], quote: str, depth: int) -> None:
    """tuiwen's list item: a section whose first paragraph starts with the written marker."""
    head = section[0]
    marker = (head[0].text or "").strip()
    kind = "ol" if marker[:1].isdigit() or marker.startswith("(") else "ul"
    text = Element("p")
    text.text = head[0].tail
    text.extend(list(head)[1:])
    out.append(f"{quote}{_kind(kind, depth)}: {inline_text(text)}")
    rest = Element("div")
    rest.extend(list(section)[1:])
    _walk(rest, out, quote, depth)


def inline_text(element: Element) -> str:
    """The running text of an element as a reader sees it, with its bold, italic, code and breaks marked."""
    parts: list[str] = []
    _inline(element, parts)
    return _normal("".join(parts))


def _inline(element: Element, parts: list[str]) -> None:
    parts.append(element.text or "")
    for child in element:
        tag = child.tag
        if tag == "br":
            parts.append("<br>")
        elif tag == "sup" and re.fullmatch(r"\[[0-9]+\]", child.text or ""):
            pass  # tuiwen's reference number after an outside link
        elif tag in ("strong", "b"):
            parts.append("<b>")
            _inline(child, parts)
            parts.append("</b>")
        elif tag in ("em", "i"):
            parts.append("<i>")
            _inline(child, parts)
            parts.append("</i>")
        elif tag == "code":
            parts.append("`" + "".join(child.itertext()) + "`")
        elif tag == "img":
            pass
        else:
            _inline(child, parts)
        parts.append(child.tail or "")


def _normal(text: str) -> str:
    return _AROUND_BREAK.sub("<br>", _SPACES.sub(" ", text.replace("\xa0", " "))).strip(" ")


def _code_text(element: Element) -> str:
    parts: list[str] = []

    def collect(node: Element) -> None:
        parts.append(node.text or "")
        for child in node:
            if child.tag == "br":
                parts.append("\n")
            else:
                collect(child)
            parts.append(child.tail or "")

    collect(element)
    lines = "".join(parts).replace("\xa0", " ").strip("\n").split("\n")
    return " ⏎ ".join(line.rstrip() for line in lines)


def _table_text(table: Element) -> str:
    rows = []
    for row in table.iter("tr"):
        rows.append(" | ".join(inline_text(cell) for cell in row if cell.tag in ("th", "td")))
    return " / ".join(rows)


def tuiwen_body(markdown: str) -> tuple[str, list]:
    """The body tuiwen renders from ``markdown`` (without the page around it), and its notes."""
    from publishers.base import Article
    from publishers.page import styles
    from publishers.render import DEFAULT_COLOR, _body

    here = Path(__file__).resolve().parent
    notes: list = []
    html, _, _ = _body(Article("t", markdown, base_dir=here, root=here), styles(DEFAULT_COLOR), {}, notes)
    return html, notes
