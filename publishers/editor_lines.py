"""What editors mean by their line breaks, written out the way Python-Markdown reads it.

Editors learned Markdown in Typora, doocs/md or Wenyan, or lay posts out the way
official documents are typed.  Python-Markdown is stricter than what they expect:
a list, table or quote right under a paragraph line, a sentence right after a
list, lines numbered ``1、`` ``（1）`` ``①`` ``●`` — it runs them together.  This
pass, one look at each line (so linear in the length of the post), adds the blank
lines and escapes that make Python-Markdown read the post as the editor meant it:

* a list, a table or a quote starts under a paragraph line; a table ends at the
  first line without ``|``, a quote at the first line without ``>`` (unless the
  quote's line ends in a comma: then it goes on, and a note says so);
* a sentence on the line right after a list is a new paragraph, unless the item
  ends in a comma (then it goes on, as CommonMark says, and a note says so);
* a line numbered the Chinese way (``1、`` ``（1）`` ``①`` ``●`` ``第一条`` …, and
  ``1.甲`` without a space, which a note points out), a label line (``【典型案例】``,
  ``**处理结果：**``, a bold line alone, ``问：``) or a line of topic tags alone is a
  paragraph of its own, its number kept; the line after it too, unless it ends in a comma;
* ``\\`` at the end of a line is a line break where the paragraph goes on;
* ``#话题#`` at the start of a line or of a list item is text, not a heading
  (``##标题`` stays one);
* ``---`` right under a paragraph line is a rule, not a heading underline;
* the full-width spaces that indent a paragraph are kept, and start a new paragraph;
* a quote's content goes through the same pass (and the list nesting) before it
  is quoted again, so a list in a quote is a list.

Where the source could be read two ways, the reading chosen is kept as a
:class:`Note` with its line, for ``publish check`` to show.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from markdown.preprocessors import Preprocessor

from .rendered import Note

IDEOGRAPHIC_SPACE = "\u3000"
_MAX_QUOTE_DEPTH = 8  # deeper quotes are left as written

# A Markdown list item's marker and the space after it.
_ITEM = re.compile(r"(?:[-+*]|[0-9]{1,9}[.)]) ")
_HEADING = re.compile(r"#{1,6}(?!#)")
_TOPIC = re.compile(r"#[^#\s][^#]*#")  # "#医保基金监管宣传月#": a WeChat topic tag
_TOPICS_ONLY = re.compile(r"(?:#[^#\s][^#]*# *)+")
_QUOTE = re.compile(r" {0,3}> ?")
_HTML_BLOCK = re.compile(r"</?(?:div|p|section|table|thead|tbody|tr|td|th|ul|ol|li|blockquote|pre|figure|h[1-6]|hr)\b|<!--", re.I)
_FENCE = re.compile(r" *(`{3,}|~{3,})(.*)")
_DELIMITER_CELL = re.compile(r" *:?-+:? *")
# Lines numbered as in Chinese documents: each is a line of its own in the editor's mind.
_OWN_LINE = re.compile(
    r"(?:"
    r"[0-9]{1,3}[、．）]|[0-9]{1,3}\)(?=\S)"  # 1、 1． 1） 1)甲
    r"|[（(] *(?:[0-9]{1,3}|[一二三四五六七八九十]{1,3}) *[）)]"  # （1） (一)
    r"|[一二三四五六七八九十]{1,3}、"  # 一、
    r"|第[一二三四五六七八九十百零〇0-9]{1,5}(?:条|章|节|款|项|步|部分|[，、,：:])"  # 第一条 第一步 第二，
    r"|[\u2460-\u249b\u2776-\u2793]"  # ① ⑴ ⒈ ❶ ➀
    r"|[ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩ][、．.]|[A-Za-z]、"  # Ⅰ、 A、
    r"|[●○■□◆◇★☆▲△►▶•▪◎✔✓☑➤➢☞❖➡⭐✅❌]|\U0001f449|\U0001f4cc|\U0001f4cd|\U0001f539|\U0001f538|\U0001f4a1"
    r"|(?:问|答|Q|A) *[：:]"  # 政策问答: each question and answer its own paragraph
    r"|【"
    r"|\*\*[^*]{1,20}(?:[：:]\*\*|\*\*[：:])"  # **处理结果：** a bold label opening the line
    r"|\*\*[^*]{1,40}\*\* *$"  # **一、参保对象** a bold line alone: a heading in the editor's mind
    r")"
)
# Looks like a Markdown list item, but has no space after the marker: shown as its own line.
_NO_SPACE_ITEM = re.compile(r"(?:[0-9]{1,2}\.(?=[^0-9\s.])|-(?=[\u2e80-\u9fff\uff00-\uffef“‘《（]))")
_GOES_ON = ("，", ",", "、")  # an item ending so continues on the next line
_TEXT, _ITEM_LINE, _OWN, _HEAD, _TABLE, _QUOTED, _RULE, _CODE, _HTML = range(9)


class EditorLines(Preprocessor):
    """The body's lines with the blank lines, breaks and escapes that say what the editor meant."""

    def __init__(self, md, nest: Callable[[list[str]], list[str]]) -> None:
        super().__init__(md)
        self.nest = nest  # list nesting, for the content of a quote (the top level gets it after this pass)
        self.notes: list[Note] = []

    def run(self, lines: list[str]) -> list[str]:
        """The lines rewritten; ``self.notes`` says where a reading had to be chosen."""
        self.notes = []
        return _Pass(self, lines, range(1, len(lines) + 1), 0).run()

    def note(self, line: int, message: str) -> None:
        self.notes.append(Note(line, message))


class _Pass:
    """One run over the lines of the body or of a quote's content."""

    def __init__(self, owner: EditorLines, lines: list[str], numbers: range | list[int], depth: int) -> None:
        self.owner, self.lines, self.numbers, self.depth = owner, lines, numbers, depth
        self.out: list[str] = []
        self.prev = _HEAD  # the kind of the last line that was not blank; a list may start after a heading
        self.blank = True  # the last line was blank (or there was none)
        self.listing = False  # a Markdown list is open: indented lines belong to it
        self.breaking = -1  # index in out of a line ending in a hard-break backslash
        self.index = 0  # of the line being handled
        self.item_paragraph = False  # the lines since the last blank are a paragraph inside an item

    def run(self) -> list[str]:
        index = 0
        while index < len(self.lines):
            index = self.line(index)
        return self.out

    # --- one line ---

    def line(self, index: int) -> int:
        """Handle the line at ``index`` (and any lines that go with it); the index after them."""
        self.index = index
        line = self.lines[index]
        text = line.lstrip(" ")
        if not text:
            self.out.append(line)
            self.blank, self.breaking = True, -1
            return index + 1
        indent = len(line) - len(text)
        number = self.numbers[index]
        fence = _FENCE.fullmatch(line)
        if fence is not None and not (fence.group(1)[0] == "`" and "`" in fence.group(2)):
            return self.fenced(index, fence.group(1))
        if indent >= 4 and not self.listing and (self.blank or self.prev == _CODE):
            return self.emit(line, _CODE)  # an indented code block
        if self.listing and indent > 0:
            return self.in_item(line, text, number)
        if indent >= 4:  # a paragraph's line indented: still the paragraph's (lists are not open)
            return self.emit(line, self.prev, text_like=True, goes_on=True)
        if _QUOTE.match(line) is not None:
            return self.quote(index)
        if _HTML_BLOCK.match(text):
            self.listing = False
            return self.emit(line, _HTML)
        if text[0] == "#":
            topic = _TOPIC.match(text)
            if topic is None and _HEADING.match(text):
                self.listing = False
                return self.emit(line, _HEAD)
            if topic is not None:
                self.owner.note(number, f"“{topic.group(0)}”按微信话题显示为文字，不是标题；如要标题，请在 # 后加空格")
                line = " " * indent + "\\" + text
                if _TOPICS_ONLY.fullmatch(text):  # a line of tags alone: a line of its own
                    self.listing = False
                    return self.emit(line, _OWN, before=not self.blank and self.prev != _HTML)
        if _is_break(text):
            return self.rule(line, text, number)
        if "|" in text and index + 1 < len(self.lines) and _is_delimiter(self.lines[index + 1]):
            return self.table(index)
        if _ITEM.match(text):
            line = _escape_topic(line, text)
            self.listing = True
            before = not self.blank and (self.item_paragraph or self.prev not in (_ITEM_LINE, _HEAD, _HTML))
            self.item_paragraph = False
            return self.emit(line, _ITEM_LINE, before=before)
        if _own_line(text) or _NO_SPACE_ITEM.match(text):
            return self.own_line(line, text, number)
        return self.text(line, text, number)

    def emit(self, line: str, kind: int, before: bool = False, text_like: bool = False, goes_on: bool = False) -> int:
        """Add ``line`` (after a blank line if ``before``; ``goes_on``: more of the paragraph above);
        the index of the next line."""
        self.hard_break(new_block=before or not goes_on)
        if before:
            self.out.append("")
        if kind in (_TEXT, _ITEM_LINE, _OWN) or text_like:
            self.breaking = len(self.out) if _ends_in_break(line) else -1
        else:
            self.breaking = -1
        self.out.append(line)
        self.prev, self.blank = kind, False
        return self.index + 1

    # --- kinds of line ---

    def in_item(self, line: str, text: str, number: int) -> int:
        """A line indented into an open list: the list nesting places it; a numbered line is its own
        paragraph, and an item right under a paragraph inside an item starts a list there."""
        if _is_break(text):  # a rule, not a heading's underline, in an item too
            return self.emit(line, _RULE, before=not self.blank)
        if _ITEM.match(text):
            line = _escape_topic(line, text)
            before = self.item_paragraph and not self.blank
            self.item_paragraph = False
            return self.emit(line, _ITEM_LINE, before=before)
        own = _own_line(text) or _NO_SPACE_ITEM.match(text) is not None
        if own and _NO_SPACE_ITEM.match(text) and not _own_line(text):
            self.no_space_note(text, number)
        if self.blank or own:
            self.item_paragraph = True
        return self.emit(_keep_indent(line), _ITEM_LINE, before=own and not self.blank, text_like=True, goes_on=not own)

    def own_line(self, line: str, text: str, number: int) -> int:
        """A line numbered the Chinese way: a paragraph of its own, with its own number."""
        if _NO_SPACE_ITEM.match(text) and not _own_line(text):
            self.no_space_note(text, number)
        self.listing = False
        return self.emit(_keep_indent(line), _OWN, before=not self.blank and self.prev != _HTML)

    def text(self, line: str, text: str, number: int) -> int:
        """A line of running text: it goes on the paragraph above, unless the editor meant a new one."""
        if self.blank:
            self.listing = False
            return self.emit(_keep_indent(line), _TEXT)
        if text[0] == IDEOGRAPHIC_SPACE and self.prev in (_TEXT, _OWN, _ITEM_LINE):
            self.listing = False  # an indented first line: a new paragraph, as in official documents
            return self.emit(_keep_indent(line), _TEXT, before=True)
        if self.prev in (_ITEM_LINE, _OWN):
            previous = self.out[-1].rstrip()
            if previous.endswith(_GOES_ON):  # the item's sentence goes on
                if self.prev == _ITEM_LINE:
                    self.owner.note(number, "这一行紧接在列表项后，上一项以逗号结尾，已接在上一项里；如是新的段落，请在前面空一行")
                return self.emit(line, self.prev, goes_on=True)
            self.listing = False  # a sentence after a list: a paragraph of its own
            return self.emit(line, _TEXT, before=True)
        return self.emit(line, _TEXT if self.prev != _HTML else _HTML, goes_on=True)

    def rule(self, line: str, text: str, number: int) -> int:
        """A thematic break; ``---`` under a paragraph line is one too, not a heading's underline."""
        if text[0] == "-" and not self.blank and self.prev in (_TEXT, _OWN):
            self.owner.note(number, "“---”紧接在文字下面，已按分隔线显示；如要小标题，请写成“## 标题”")
        self.listing = False
        return self.emit(line, _RULE, before=not self.blank and self.prev != _HTML)

    def table(self, index: int) -> int:
        """A table's rows, after a blank line if needed; a line without ``|`` after it starts a new block."""
        self.listing = False
        self.emit(self.lines[index], _TABLE, before=not self.blank and self.prev != _HTML)
        end = index + 1
        while end < len(self.lines) and "|" in self.lines[end]:
            self.out.append(self.lines[end])
            end += 1
        if end < len(self.lines) and self.lines[end].strip():  # Python-Markdown would take it for a row
            self.out.append("")
            self.blank = True
        return end

    def quote(self, index: int) -> int:
        """A quote's lines: their content through the same pass and the list nesting, then quoted again."""
        end = index
        inner: list[str] = []
        while end < len(self.lines):
            line = self.lines[end]
            marker = _QUOTE.match(line)
            if marker is not None:
                inner.append(line[marker.end() :])
            elif line.strip() and inner[-1].rstrip().endswith(_GOES_ON) and self.lazy(line):
                self.owner.note(self.numbers[end], "这一行紧接在引用后，上一行以逗号结尾，已接在引用里；如是引用外的新段落，请在前面空一行")
                inner.append(line)
            else:
                break
            end += 1
        self.listing = False
        self.hard_break(not self.blank)
        if not self.blank:
            self.out.append("")
        if self.depth >= _MAX_QUOTE_DEPTH:
            self.out.extend(self.lines[index:end])
        else:
            content = self.owner.nest(_Pass(self.owner, inner, self.numbers[index:end], self.depth + 1).run())
            self.out.extend(f"> {line}" if line else ">" for line in content)
        self.prev, self.blank, self.breaking = _QUOTED, False, -1
        if end < len(self.lines) and self.lines[end].strip():  # Python-Markdown would take it into the quote
            self.out.append("")
            self.blank = True
        return end

    def lazy(self, line: str) -> bool:
        """True for a line without ``>`` that still belongs to the quote above: plain running text."""
        text = line.lstrip(" ")
        if len(line) - len(text) >= 4:
            return True
        return not (_ITEM.match(text) or _is_break(text) or _HEADING.match(text) or _own_line(text)
                    or _FENCE.fullmatch(line) or text[0] in "|<")

    def fenced(self, index: int, fence: str) -> int:
        """A fenced code block, left exactly as written (the fenced-code pass reads it after this one)."""
        closing = re.compile(f" *{re.escape(fence[0])}{{{len(fence)},}}[ \t]*")
        self.emit(self.lines[index], _CODE)
        end = index + 1
        while end < len(self.lines):
            self.out.append(self.lines[end])
            end += 1
            if closing.fullmatch(self.lines[end - 1]):
                break
        return end

    # --- helpers ---

    def hard_break(self, new_block: bool) -> None:
        """A backslash ending the line before: a line break (two spaces) if the paragraph goes on, else dropped."""
        if self.breaking < 0:
            return
        previous = self.out[self.breaking]
        self.out[self.breaking] = previous[:-1] if new_block else previous[:-1] + "  "
        self.breaking = -1

    def no_space_note(self, text: str, number: int) -> None:
        start = text[:12]
        self.owner.note(number, f"“{start}”像列表项，但编号后没有空格，已按原样单独成行；如要列表，请在编号后加一个空格")


def _escape_topic(line: str, text: str) -> str:
    """A list item's line with a topic tag opening its text escaped (it would be a heading in the item)."""
    item = _ITEM.match(text)
    if item is None:  # only called for list item lines
        return line
    start = item.end()
    if _TOPIC.match(text, start) is None:
        return line
    cut = len(line) - len(text) + start
    return line[:cut] + "\\" + line[cut:]


def _is_break(text: str) -> bool:
    """True for a thematic break: three or more ``-``, ``*`` or ``_`` (the same one), spaces between."""
    marks = text.replace(" ", "")
    return len(marks) >= 3 and marks[0] in "-*_" and marks.count(marks[0]) == len(marks)


def _own_line(text: str) -> bool:
    """True for a line numbered the Chinese way (after any full-width indent)."""
    return _OWN_LINE.match(text.lstrip(IDEOGRAPHIC_SPACE + " ")) is not None


def _is_delimiter(line: str) -> bool:
    """True for a table's delimiter row such as ``|---|:---:|``."""
    if "-" not in line or "|" not in line:
        return False
    cells = line.strip().strip("|").split("|")
    return all(_DELIMITER_CELL.fullmatch(cell) for cell in cells)


def _ends_in_break(line: str) -> bool:
    """True if the line ends in one backslash (not an escaped one, nor inside inline code)."""
    if not line.endswith("\\"):
        return False
    run = len(line) - len(line.rstrip("\\"))
    return run % 2 == 1 and line.count("`") % 2 == 0


def _keep_indent(line: str) -> str:
    """Full-width spaces at the start of a paragraph kept (Python-Markdown strips them as whitespace)."""
    text = line.lstrip(" ")
    if not text.startswith(IDEOGRAPHIC_SPACE):
        return line
    body = text.lstrip(IDEOGRAPHIC_SPACE)
    if not body.strip():
        return line
    return line[: len(line) - len(text)] + "&#12288;" * (len(text) - len(body)) + body
