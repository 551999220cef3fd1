"""The parsed body rewritten as HTML the WeChat editor keeps: inline styles only, lists as
sections with their markers written in, code whitespace as ``&nbsp;`` and ``<br>``, outside
links as numbered references, 政策问答 badges, image paragraphs as captioned figures.
"""

from __future__ import annotations

import re
from typing import overload
from urllib.parse import unquote
from xml.etree.ElementTree import Element, SubElement

from markdown import util as md_util

from .elements import (
    CJK,
    HEADINGS,
    NEWLINE,
    append_text,
    drop,
    only_images,
    restyle,
    trim_between_blocks,
    unentity,
    url_parts,
)
from .local_images import LocalImages
from .markdown_ext import STASHED, entity_text, stash_entry
from .sanitize import DANGEROUS_SCHEMES, Removal, snippet

# A line break next to a Chinese character is no space (as CSS Text says of wide characters).
_SOFT_BREAK = re.compile(f"(?<=[{CJK}])[ \t]*\n[ \t]*|[ \t]*\n[ \t]*(?=[{CJK}])")
_QA = re.compile(r"\s*(问|答|Q|A)\s*[：:]\s*")
_QA_BARE = re.compile(r"\s*(问|答|Q|A)\s*")
_COLON = re.compile(r"\s*[：:]\s*")

_BLOCKS = frozenset({"p", "ul", "ol", "pre", "blockquote", "table", "div", "section", "figure", "hr"}) | HEADINGS
# Inline tags as written out, and their theme style; anything unknown becomes a plain span.
_INLINE = {
    "strong": ("strong", "strong"), "b": ("strong", "strong"), "em": ("em", "em"), "i": ("em", "em"),
    "del": ("del", "del"), "s": ("del", "del"), "u": ("u", "u"), "sup": ("sup", "sup"),
    "sub": ("sub", "sub"), "mark": ("span", "mark"), "small": ("span", "small"), "span": ("span", None),
}


class BodyWriter:
    """Rewrites one parsed body in place; keeps its outside links and what is decoration, not text."""

    def __init__(self, styles: dict[str, str], images: LocalImages, removals: dict[Removal, None],
                 stash: list) -> None:
        self.s = styles
        self.images = images
        self.removals = removals  # shared with the rest of the render: in order, each once
        self.stash = stash  # Markdown's raw HTML stash of this body
        self.references: dict[str, tuple[int, str]] = {}  # url → (number, text)
        self.skip: set[Element] = set()  # decoration (badges, markers, captions): not digest text
        self.done: set[Element] = set()
        self.lists = {"ul": 0, "ol": 0}

    def write(self, tree: Element) -> None:
        """Style the whole body (its stash already resolved)."""
        self._container(tree, "root")

    def remove(self, kind: str, what: str, message: str) -> None:
        """Note what was left out, once, in order of appearance."""
        self.removals.setdefault(Removal(kind, snippet(what), message))

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
                restyle(child, self.s["blockquote"])
                self._container(child, "quote")
            elif tag in HEADINGS:
                restyle(child, self.s[tag])
                self._inline(child)
            elif tag == "hr":
                restyle(child, self.s["hr"])
            elif tag in ("div", "section", "figure", "li"):
                child.tag = "section"
                restyle(child, self.s["figure"] if tag == "figure" else "")
                self._container(child, where)
            elif tag == "figcaption":
                child.tag = "p"
                restyle(child, self.s["caption"])
                self._inline(child)
            else:
                self._inline_child(element, child)
            first = False
        trim_between_blocks(element)

    def _paragraph(self, parent: Element, paragraph: Element, where: str, first: bool) -> None:
        """A paragraph styled for where it stands; image-only ones become figures, top-level 问/答 ones get a badge."""
        if only_images(paragraph):
            self._figures(parent, paragraph)
            return
        if where == "root" and self._question_or_answer(paragraph):
            return
        key = {"root": "p", "quote": "p_quote" if first else "p_quote_next", "item": "p_item_next", "cell": "p_cell"}
        restyle(paragraph, self.s[key.get(where, "p")])
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
        restyle(paragraph, self.s["qa_q" if question else "qa_a"])
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
            restyle(element, self.s["sublist" if nested else "list"])
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
        """A list item as a section with a hanging ``marker``; its first paragraph holds the marker."""
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
        text = unentity("".join(pre.itertext())).rstrip("\n")
        text = self._fix_placeholders(text) if "\x02" in text else text
        lines = text.split("\n")
        pre.clear()
        pre.tag = "section"
        pre.set("style", self.s["pre"])
        pre.text = lines[0].replace(" ", "\xa0")
        for line in lines[1:]:
            SubElement(pre, "br").tail = line.replace(" ", "\xa0")

    def _table(self, parent: Element, table: Element) -> None:
        """A table wrapped in a scrolling section, its cells styled as containers."""
        wrapper = Element("section", {"style": self.s["table_wrap"]})
        wrapper.tail, table.tail = table.tail, None
        parent[list(parent).index(table)] = wrapper
        wrapper.append(table)
        restyle(table, self.s["table"])
        self._table_part(table)

    def _table_part(self, element: Element) -> None:
        """The rows and cells inside a table (or its head, body, foot), styled."""
        element.text = self._fix(element.text)
        for child in list(element):
            child.tail = self._fix(child.tail)
            if child.tag in ("thead", "tbody", "tfoot", "tr"):
                child.attrib.clear()
                self._table_part(child)
            elif child.tag in ("th", "td"):
                restyle(child, self.s[child.tag], keep=("colspan", "rowspan"))
                self._container(child, "cell")
            elif child.tag == "caption":
                restyle(child, self.s["caption"])
                self._inline(child)
            else:
                self._inline_child(element, child)

    # --- running text ---

    def _inline(self, element: Element) -> None:
        """Style the running text inside ``element``: its soft breaks and inline children."""
        element.text = self._fix(element.text)
        for child in list(element):
            child.tail = self._fix(child.tail)
            self._inline_child(element, child)

    def _inline_child(self, parent: Element, child: Element) -> None:
        """One element inside running text: links, images, code, or a tag mapped to the theme."""
        tag = child.tag
        if tag == "a":
            self._link(child)
        elif tag == "img":
            src = self._image_src(child)
            if src is None:
                drop(parent, child)
            else:
                child.attrib = {"src": src, "alt": self._fix(child.get("alt", "")), "style": self.s["img"]}
        elif tag == "code":
            restyle(child, self.s["code"])
            child.text = unentity(self._fix(child.text) or "")
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
            restyle(child, self.s[key] if key else "")
            self._inline(child)

    def _link(self, link: Element) -> None:
        """mp.weixin.qq.com links stay; other web links become text with a numbered reference."""
        href = unentity(self._fix(link.get("href", "")).strip())
        scheme, host = url_parts(href)
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
                append_text(link, f"（{address}）" if text else address)
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
        """The image's src as WeChat will show it, or None when the image is left out."""
        src = unentity(self._fix(image.get("src", "")).strip())
        return self.images.body_src(src, self._fix(image.get("alt", "")).strip())

    # --- text ---

    @overload
    def _fix(self, text: str) -> str: ...
    @overload
    def _fix(self, text: str | None) -> str | None: ...

    def _fix(self, text: str | None) -> str | None:
        """Stash placeholders resolved; soft line breaks joined (without a space between CJK)."""
        if not text:
            return text
        if "\x02" in text or "\x03" in text:
            text = self._fix_placeholders(text)
        if "\n" in text:
            text = NEWLINE.sub(" ", _SOFT_BREAK.sub("", text))
        return text

    def _fix_placeholders(self, text: str) -> str:
        """Stashed character references put back; other stash placeholders dropped."""
        if md_util.AMP_SUBSTITUTE in text:  # Markdown's e-mail obfuscation
            text = unentity(text.replace(md_util.AMP_SUBSTITUTE, "&"))
        text = STASHED.sub(lambda m: entity_text(stash_entry(self.stash, m.group(1))), text)
        return text.replace("\x02", "").replace("\x03", "")


def _int(value: str | None, default: int) -> int:
    """A list's ``start`` as a number in 0…10⁶; ``default`` when it is not one."""
    try:
        return max(0, min(int(value or default), 10**6))
    except ValueError:
        return default


def _marker_em(marker: str) -> float:
    """Room for a list marker: a bullet, "1." or "(1)", a little more for longer numbers."""
    return 1.2 if len(marker) == 1 else max(1.6, round(0.55 * len(marker) + 0.4, 1))
