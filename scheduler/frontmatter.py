"""Parsing a post's YAML header safely: whatever is written, a value or one Chinese reason with its line.

PyYAML raises more than ``YAMLError``: an impossible date (``2026-02-30``), year 0 or
``!!int "x"`` raise ``ValueError`` from its constructors.  Here dates stay text (the
field rules parse them and say what to write), failed numbers stay text, every other
failure becomes a located message, and a header that expands to a huge structure
through aliases (``&a [*b, *b, …]``) is refused before anything walks it.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import yaml

MAX_NODES = 5000  # a real header has a dozen scalars; aliases can make billions out of a few lines


class _YAML(NamedTuple):
    module: Any  # yaml
    loader: type  # the safe loader, with dates, bad numbers and binary kept as the text written
    resolvers: dict  # first character → [(tag, pattern)]: how YAML types a plain scalar


@functools.cache
def _yaml() -> _YAML:
    """PyYAML and the loader, imported on first use: a run whose posts all come from the cache
    reads no header, and importing PyYAML costs a tenth of such a run."""
    import yaml

    try:  # the C loader is ~10x faster; fall back where libyaml is missing
        from yaml import CSafeLoader as base
    except ImportError:  # pragma: no cover
        from yaml import SafeLoader as base  # type: ignore[assignment]  # the same loader, in pure Python

    class Loader(base):
        """The safe loader, with dates, bad numbers and binary kept as the text written."""

    Loader.add_constructor("tag:yaml.org,2002:timestamp", _as_text)
    Loader.add_constructor("tag:yaml.org,2002:binary", _as_text)
    Loader.add_constructor("tag:yaml.org,2002:int", _or_text(base.construct_yaml_int))
    Loader.add_constructor("tag:yaml.org,2002:float", _or_text(base.construct_yaml_float))
    return _YAML(yaml, Loader, yaml.resolver.Resolver.yaml_implicit_resolvers)


def _as_text(loader: Any, node: yaml.ScalarNode) -> Any:
    return loader.construct_scalar(node)


def _or_text(construct):
    def build(loader: Any, node: yaml.ScalarNode) -> Any:
        try:
            return construct(loader, node)
        except (ValueError, TypeError, OverflowError):
            return loader.construct_scalar(node)
    return build


# PyYAML's English problems → what an editor should know (the first that matches).
_REASONS = (
    ("tab character", "含有制表符（Tab）；缩进和分隔请用空格"),
    ("could not determine a constructor", "不支持“!!”开头的 YAML 标签（如 !!python/object），请删去标签，只写值"),
    ("found undefined alias", "用了未定义的别名（*名字）；头部不需要别名，请直接写值"),
    ("found duplicate anchor", "锚点（&名字）重复；头部不需要锚点，请直接写值"),
    ("found unhashable key", "字段名不能是列表或表，应为“字段: 值”"),
    ("cannot start any token", "有不能出现在这里的字符（如 Tab、@、`）；缩进请用空格，以这些字符开头的值请加引号"),
    ("mapping values are not allowed", "值里出现了“: ”；值里有冒号时请给整个值加引号，例如 title: \"问：怎样报销\""),
    ("could not find expected ':'", "缺少“:”；每行应为“字段: 值”，冒号是英文半角、后面有空格"),
    ("end of stream", "引号或括号没有配对"),
    ("expected <block end>", "缩进不一致；字段都应顶格写"),
    ("did not find expected key", "缩进不一致；字段都应顶格写"),
    ("expected a mapping", "这里应为“字段: 值”"),
    ("found character", "有 YAML 不允许的字符，请删去或给值加引号"),
    ("special characters are not allowed", "有不可见的控制字符，请删去"),
    ("while scanning a quoted scalar", "引号没有配对"),
    ("while scanning a double-quoted scalar", "引号里的转义写法无效（\\ 后只能跟 n、t、\"、\\ 等）"),
)
_HINT = "（常见原因：冒号后缺空格、引号未配对、缩进不一致）"
_TAG_HINT = "：头部不需要“!!”开头的标签，请删去标签，只写值"
_TAGGED = "“!!”标签与后面的值不符（或不支持）；头部不需要标签，请删去“!!…”只写值"


def load_front_matter(source: str) -> tuple[Any, tuple[int, str] | None]:
    """(value, None), or (None, (YAML line, Chinese message)) when the header cannot be used."""
    simple = simple_header(source)
    if simple is not None:
        return simple, None
    return load_yaml(source)


# --- the common header, read without the YAML machinery ------------------------------------

# Nearly every header is lines of ``key: plain text`` (a date, a word, a small number).  Those
# are read here, giving exactly what the loader gives; anything else — quotes, comments, lists,
# tabs, carriage returns, an indicator character, a value YAML would read as something other
# than text, true/false or a plain decimal — goes to the loader.
_SIMPLE_LINE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):(?: (.*))?")
_NOT_SIMPLE = re.compile("[^\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
_DECIMAL = re.compile(r"0|-?[1-9][0-9]*")
_TEXT_TAGS = ("tag:yaml.org,2002:str", "tag:yaml.org,2002:timestamp")  # timestamps stay text here


def simple_header(source: str) -> dict[str, Any] | None:
    """The header as the loader reads it, when every line is empty or ``key: plain value``; else None."""
    meta: dict[str, Any] = {}
    for line in source.split("\n"):
        if not line:
            continue
        match = _SIMPLE_LINE.fullmatch(line)
        if match is None:
            return None
        key, text = match.group(1), (match.group(2) or "").strip(" ")
        if key in meta or _key_tag(key) != _TEXT_TAGS[0]:
            return None
        if not text:
            meta[key] = None
            continue
        if text[0] in _INDICATORS or ": " in text or " #" in text or text[-1] == ":" or _NOT_SIMPLE.search(text):
            return None
        tag = _tag(text)
        if tag in _TEXT_TAGS:
            meta[key] = text
        elif tag == "tag:yaml.org,2002:bool" and text in ("true", "false"):
            meta[key] = text == "true"
        elif tag == "tag:yaml.org,2002:int" and _DECIMAL.fullmatch(text):
            meta[key] = int(text)
        else:
            return None
    return meta or None


_KEY_TAGS: dict[str, str] = {}  # a header has a dozen keys, always the same ones


def _key_tag(key: str) -> str:
    tag = _KEY_TAGS.get(key)
    if tag is None:
        tag = _tag(key)
        if len(_KEY_TAGS) < 1000:  # bounded: keys are editors' typing too
            _KEY_TAGS[key] = tag
    return tag


def _tag(text: str) -> str:
    """The tag YAML's implicit resolvers give a plain scalar (as the loader's resolver does)."""
    for tag, pattern in _yaml().resolvers.get(text[0], ()):
        if pattern.match(text):
            return tag
    return _TEXT_TAGS[0]


def load_yaml(source: str) -> tuple[Any, tuple[int, str] | None]:
    """``load_front_matter`` through the YAML loader, for any header."""
    yaml, loader, _ = _yaml()
    try:
        value = yaml.load(source, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        colon = _full_width_colon(source)
        if colon is not None:  # the parser stumbles a line later; the line to fix is this one
            return None, (colon, "YAML 头部格式错误：冒号要用英文半角“:”并在后面加一个空格，例如 status: ready")
        line = _line(exc)
        return None, (line, f"YAML 头部格式错误：{_reason(exc, source, line)}")
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow, anywhere
        line = source.count("\n", 0, exc.position) + 1
        character = exc.character if isinstance(exc.character, str) else chr(exc.character)
        return None, (line, f"YAML 头部有不允许的字符 U+{ord(character):04X}（控制字符或无法显示的字符），请删去")
    except RecursionError:
        return None, (1, "YAML 头部嵌套太深，无法解析；每行写一个“字段: 值”即可")
    except Exception:  # noqa: BLE001 - PyYAML raises KeyError and others from its constructors
        return None, (_failing_line(source), f"YAML 头部有无法解析的值{_TAG_HINT if '!!' in source else _HINT}")
    if _too_big(value):
        return None, (1, f"YAML 头部展开后过大（超过 {MAX_NODES} 项，可能是别名循环引用）；请直接写“字段: 值”，不要用 & 和 *")
    return value, None


def _full_width_colon(source: str) -> int | None:
    """The first line written ``key：value`` (a full-width colon), if any."""
    for index, line in enumerate(source.split("\n")):
        if re.match(r"^\s*[A-Za-z_][\w-]*\s*：", line):
            return index + 1
    return None


def _line(exc: yaml.MarkedYAMLError) -> int:
    """The YAML line (1-based) of an error; at "end of stream", where the unclosed construct began."""
    mark, context = exc.problem_mark, exc.context_mark
    if context is not None and (mark is None or "end of stream" in (exc.problem or "")):
        mark = context
    return mark.line + 1 if mark is not None else 1


def _reason(exc: yaml.MarkedYAMLError, source: str, line: int) -> str:
    text = f"{exc.context or ''} {exc.problem or ''}"
    lines = source.split("\n")
    written = lines[line - 1] if 0 < line <= len(lines) else ""
    if "：" in written and ":" not in written:
        return "冒号要用英文半角“:”并在后面加一个空格，例如 status: ready"
    if re.match(r"^\s*[\w-]+:\s*[\[{]", written) and not re.match(r"^\s*[\w-]+:\s*(\[.*\]|\{.*\})\s*$", written):
        return "值以“[”或“{”开头时要给整个值加引号，例如 title: \"[通知] 医保新规\""
    if written.lstrip().startswith("- "):
        return "这一行以“- ”开头（列表项）；头部每行应为“字段: 值”，列表只能写在字段下面并缩进"
    for english, chinese in _REASONS:
        if english in text:
            return chinese
    if isinstance(exc, _yaml().module.constructor.ConstructorError):
        return _TAGGED
    return "无法解析" + _HINT


def _failing_line(source: str) -> int:
    """The first line that fails to load on its own (for errors PyYAML gives no position for)."""
    yaml, loader, _ = _yaml()
    lines = source.split("\n")
    for index, line in enumerate(lines):
        try:
            yaml.load(line, Loader=loader)
        except Exception:  # noqa: BLE001 - the same failures as above, one line at a time
            return index + 1
    return 1


def _too_big(value: Any) -> bool:
    """Whether walking ``value`` (shared parts counted each time they appear) passes MAX_NODES."""
    seen = 0
    stack = [value]
    while stack:
        item = stack.pop()
        seen += 1
        if seen > MAX_NODES:
            return True
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)
    return False


# --- characters that must not reach readers unseen ---------------------------------

# Bidi overrides and isolates reorder what readers see (a title can say the opposite of
# what the editor typed); zero-width characters hide inside words and defeat the checks.
_INVISIBLE = {
    "\u200b": "零宽空格 U+200B", "\u200c": "零宽非连接符 U+200C", "\u2060": "零宽不换行符 U+2060",
    "\ufeff": "零宽不换行空格 U+FEFF", "\u200e": "从左到右标记 U+200E", "\u200f": "从右到左标记 U+200F",
    "\u061c": "阿拉伯字母标记 U+061C", "\u202a": "双向嵌入 U+202A", "\u202b": "双向嵌入 U+202B",
    "\u202c": "双向格式结束 U+202C", "\u202d": "双向强制 U+202D", "\u202e": "双向反转 U+202E",
    "\u2066": "双向隔离 U+2066", "\u2067": "双向隔离 U+2067", "\u2068": "双向隔离 U+2068",
    "\u2069": "双向隔离结束 U+2069", "\u00ad": "软连字符 U+00AD",
}
_ZWJ = "\u200d"  # joins emoji (👨‍👩‍👧): allowed between two symbols, refused elsewhere


# Every character the loop below may object to (a superset: categories Cc, Cs, Co whole), so that
# text without any of them, nearly all text, is passed in one search.
_SUSPECT = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u00ad\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069"
                      "\ud800-\uf8ff\ufeff\U000f0000-\U0010ffff]")


def unsafe_characters(text: str) -> str | None:
    """A description of the first invisible, bidi or control character in a one-line field, or None."""
    if _SUSPECT.search(text) is None:
        return None
    for i, ch in enumerate(text):
        if ch in _INVISIBLE:
            return f"第 {i + 1} 个字符是看不见的{_INVISIBLE[ch]}"
        if ch == _ZWJ and not (0 < i < len(text) - 1 and _symbol(text[i - 1]) and _symbol(text[i + 1])):
            return f"第 {i + 1} 个字符是看不见的零宽连接符 U+200D"
        if unicodedata.category(ch) in ("Cc", "Cs", "Co") and ch != "\t":
            return f"第 {i + 1} 个字符是控制字符 U+{ord(ch):04X}"
    return None


def _symbol(ch: str) -> bool:
    return unicodedata.category(ch) in ("So", "Sk") or 0x1F000 <= ord(ch) <= 0x1FAFF or ch == "\ufe0f"


def clip(value: Any, limit: int = 40) -> str:
    """A value as an editor wrote it, short enough for a one-line message, with no invisible characters."""
    text = value if isinstance(value, str) else repr(value) if not isinstance(value, (dict, list, set, tuple)) else ""
    if not text:
        return "（列表或表）" if isinstance(value, (dict, list, set, tuple)) else "（空）"
    text = re.sub(r"[\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\u061c]", "?", text)
    return text if len(text) <= limit else text[:limit] + "…"
