"""Small edits and readings of ElementTree elements and their text, shared by the render steps.

Nothing here records removals or knows the theme: each function takes what it needs.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element, SubElement

DIGEST_LENGTH = 54
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_BLOCK_OUTPUT = frozenset({"p", "section", "blockquote", "table", "hr", "img"}) | HEADINGS
_TEXT_BLOCKS = frozenset({"p", "section", "td", "th", "br"}) | HEADINGS  # a space between them in the digest

ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
CJK = "\u2e80-\u9fff\u3000-\u303f\uf900-\ufaff\uff00-\uffef"
NEWLINE = re.compile(r"[ \t]*\n[ \t]*")
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATES = re.compile("[\ud800-\udfff]")
_CJK_SPACE = re.compile(f"(?<=[{CJK}]) (?=[{CJK}])")


# --- text ------------------------------------------------------------------------------------


def clean_text(text: str | None) -> str:
    """Text without control characters or lone surrogates (they break HTML and UTF-8)."""
    if not text:
        return ""
    return _SURROGATES.sub("\ufffd", _BAD_CHARS.sub("", text))


def unentity(text: str) -> str:
    """Character references decoded (strictly: only complete ``&…;`` ones)."""
    return ENTITY.sub(lambda m: html.unescape(m.group(0)), text) if "&" in text else text


def url_parts(url: str) -> tuple[str, str]:
    """(scheme, host) of a URL; an unparseable one has the scheme "invalid"."""
    try:
        parts = urlsplit(url)
        return parts.scheme.lower(), (parts.hostname or "")
    except ValueError:
        return "invalid", ""


# --- editing elements ------------------------------------------------------------------------


def restyle(element: Element, style: str, keep: tuple[str, ...] = ()) -> None:
    """Only the theme's style (then the author's own inline style) and the attributes in ``keep``."""
    own = element.get("style", "").strip()
    kept = {name: element.get(name, "") for name in keep if element.get(name)}
    element.attrib.clear()
    element.attrib.update(kept)
    merged = f"{style};{own}" if style and own else style or own
    if merged:
        element.set("style", merged)


def trim_between_blocks(element: Element) -> None:
    """No whitespace text between block elements (raw HTML is full of it; it only adds spaces)."""
    children = list(element)
    if children and element.text and not element.text.strip() and children[0].tag in _BLOCK_OUTPUT:
        element.text = None
    for child, following in zip(children, [*children[1:], None], strict=False):  # one longer when empty
        if child.tail and not child.tail.strip() and (
                child.tag in _BLOCK_OUTPUT or following is None or following.tag in _BLOCK_OUTPUT):
            child.tail = None


def drop(parent: Element, child: Element) -> None:
    """Remove an element from running text, keeping the text after it."""
    index = list(parent).index(child)
    if child.tail:
        if index:
            parent[index - 1].tail = (parent[index - 1].tail or "") + child.tail
        else:
            parent.text = (parent.text or "") + child.tail
    parent.remove(child)


def append_text(element: Element, text: str) -> None:
    """``text`` added at the very end of the element's content."""
    if len(element):
        element[-1].tail = (element[-1].tail or "") + text
    else:
        element.text = (element.text or "") + text


def splice(parent: Element, old: Element, fragment: Element) -> None:
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


# --- reading elements ------------------------------------------------------------------------


def own_text(element: Element) -> str:
    """The element's text and its children's tails: its text outside any child."""
    return (element.text or "") + "".join(child.tail or "" for child in element)


def only_images(paragraph: Element) -> bool:
    """True for a paragraph holding images (and line breaks) and nothing else."""
    if (paragraph.text or "").strip() or not len(paragraph):
        return False
    children = list(paragraph)
    if any(c.tag not in ("img", "br") or (c.tail or "").strip() for c in children):
        return False
    return any(c.tag == "img" for c in children)


def plain_tree(source: str, style: str) -> Element:
    """The body as plain paragraphs: the fallback when Markdown cannot be laid out."""
    root = Element("div")
    for block in re.split(r"\n[ \t]*\n", source):
        if block.strip():
            paragraph = SubElement(root, "p", {"style": style})
            paragraph.text = NEWLINE.sub(" ", block.strip())
    return root


def digest(tree: Element, skip: set[Element]) -> str:
    """The first DIGEST_LENGTH characters (as WeChat counts) of the body's text, ``skip`` left out."""
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
