"""Wording checks: set phrases, outdated terms, law names, document numbers, leaders' titles.

Personal numbers are found by :mod:`scheduler.privacy`; both run in :func:`check_wording`.

The rules live in a TOML file (``scheduler/rules/words.toml``, plus an account's
own ``[checks].words_file``) so editors can read and extend them.  Literal rules
are found with one Aho–Corasick pass (pyahocorasick; a regex fallback gives the
same answers where it is not installed), patterns with ``re``.  Every match is a
Problem on the post with the file line of the match.
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from .cache import ParsedFiles
from .posts import ERROR, WARNING, Post, Severity
from .privacy import Finding, private_numbers

if TYPE_CHECKING:
    from .config import Config

try:  # one pass for every literal, whatever their number
    import ahocorasick
except ImportError:  # pragma: no cover - exercised by forcing the fallback in tests
    ahocorasick = None

log = logging.getLogger(__name__)

BUILTIN_WORDS = Path(__file__).parent / "rules" / "words.toml"
NEAR_WINDOW = 60  # characters either side for a rule's ``near`` words
SEVERITIES = ("error", "warning", "off")


# --- rules --------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    """A literal wrong form and what to write instead."""

    find: str
    right: str = ""
    severity: str = WARNING
    kind: str = "用词"
    why: str = ""
    unless: tuple[str, ...] = ()  # longer correct phrases that contain ``find``
    near: tuple[str, ...] = ()  # only counts with one of these close by

    def message(self, found: str) -> str:
        text = f"{self.kind}：“{found}”应为“{self.right}”" if self.right else f"{self.kind}：“{found}”"
        return text + (f"（{self.why}）" if self.why else "")


@dataclass(frozen=True)
class Pattern:
    """A regular expression for wrong forms that are not one fixed string."""

    regex: re.Pattern
    message: str
    severity: str = WARNING
    kind: str = "用词"
    near: tuple[str, ...] = ()
    name: str = ""  # an account's pattern with the same name replaces this one
    # Text every match contains: a text without it is not searched (the regex itself may try
    # every position of a long body; this finds its rare anchor in one quick pass).
    requires: re.Pattern | None = None

    def describe(self, found: str) -> str:
        return f"{self.kind}：{self.message.replace('{0}', found)}"


@dataclass(frozen=True)
class Leader:
    """A local leader: the name must carry exactly this title (``[checks].local_words``)."""

    name: str
    title: str


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    patterns: tuple[Pattern, ...]


def _strings(value: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{what} 应为非空字符串或字符串列表")
    return tuple(value)


def _severity(table: dict, where: str) -> str:
    severity = table.get("severity", WARNING)
    if severity not in SEVERITIES:
        raise ValueError(f'{where}: severity 应为 "error"、"warning" 或 "off"')
    return severity


def parse_rules(data: dict[str, Any], source: str) -> RuleSet:
    """Rules from the TOML text of a words file; ValueError naming the entry otherwise."""
    unknown = sorted(set(data) - {"rule", "pattern"})
    if unknown:
        raise ValueError(f"{source}: 未知的表 [{unknown[0]}]（可用：[[rule]]、[[pattern]]）")
    rules: list[Rule] = []
    for i, table in enumerate(data.get("rule", []), 1):
        where = f"{source} 第 {i} 个 [[rule]]"
        extra = sorted(set(table) - {"find", "right", "severity", "kind", "why", "unless", "near"})
        if extra:
            raise ValueError(f"{where}: 未知的键 {extra[0]}")
        finds = _strings(table.get("find"), f"{where}: find")
        unless = _strings(table["unless"], f"{where}: unless") if "unless" in table else ()
        near = _strings(table["near"], f"{where}: near") if "near" in table else ()
        for phrase in unless:
            if not any(f in phrase for f in finds):
                raise ValueError(f"{where}: unless 中的“{phrase}”应包含 find 的写法")
        for find in finds:
            rules.append(Rule(find, str(table.get("right", "")), _severity(table, where),
                              str(table.get("kind", "用词")), str(table.get("why", "")),
                              tuple(u for u in unless if find in u), near))
    patterns: list[Pattern] = []
    for i, table in enumerate(data.get("pattern", []), 1):
        where = f"{source} 第 {i} 个 [[pattern]]"
        extra = sorted(set(table) - {"regex", "message", "severity", "kind", "near", "name", "requires"})
        if extra:
            raise ValueError(f"{where}: 未知的键 {extra[0]}")
        regex = _regex(table, "regex", where)
        if not regex.pattern or regex.match(""):
            raise ValueError(f"{where}: regex 不能匹配空字符串")
        requires = _regex(table, "requires", where) if "requires" in table else None
        near = _strings(table["near"], f"{where}: near") if "near" in table else ()
        patterns.append(Pattern(regex, str(table.get("message", "{0}")), _severity(table, where),
                                str(table.get("kind", "用词")), near, str(table.get("name", "")), requires))
    return RuleSet(tuple(rules), tuple(patterns))


def _regex(table: dict, key: str, where: str) -> re.Pattern:
    try:
        return re.compile(str(table.get(key, "")))
    except re.error as exc:
        raise ValueError(f"{where}: {key} 不是有效的正则表达式：{exc}") from None


def read_words_file(path: Path) -> RuleSet:
    try:
        with path.open("rb") as file:
            data = tomllib.load(file)
    except FileNotFoundError:
        raise ValueError(f"找不到用词规则文件 {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"无法读取用词规则文件 {path}：{exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path.name}: TOML 语法错误：{exc}") from None
    return parse_rules(data, path.name)


_files = ParsedFiles(read_words_file)


def validate_words_file(path: Path) -> None:
    """ValueError (for the config loader) when an account's words file cannot be used."""
    _ruleset_for(path)


def parse_local_words(value: Any) -> tuple[Leader | Rule, ...]:
    """``[checks].local_words``: {"王某某" = "区医保局局长"} or {"错" = { right = "对", severity = "error" }}."""
    if not isinstance(value, dict):
        raise ValueError('应为表，例如 { "王某某" = "区医保局局长" }')
    entries: list[Leader | Rule] = []
    for key, spec in value.items():
        if not key.strip():
            raise ValueError("键不能为空")
        if isinstance(spec, str) and spec.strip():
            entries.append(Leader(key.strip(), spec.strip()))
        elif isinstance(spec, dict) and isinstance(spec.get("right"), str) and not set(spec) - {"right", "severity"}:
            entries.append(Rule(key, spec["right"], _severity({"severity": spec.get("severity", ERROR)}, key),
                                "本地用语", "本单位规定的写法"))
        else:
            raise ValueError(f'“{key}”的值应为职务（字符串）或 {{ right = "正确写法" }}')
    return tuple(entries)


def _merge(base: RuleSet, extra: RuleSet) -> RuleSet:
    """The account's rules win over the built-in ones with the same ``find``; ``off`` drops them."""
    overridden = {r.find for r in extra.rules}
    rules = [r for r in base.rules if r.find not in overridden] + list(extra.rules)
    named = {p.name for p in extra.patterns if p.name}
    patterns = [p for p in base.patterns if not p.name or p.name not in named] + list(extra.patterns)
    return RuleSet(tuple(r for r in rules if r.severity != "off"),
                   tuple(p for p in patterns if p.severity != "off"))


def _ruleset_for(path: Path) -> RuleSet:
    """A words file, parsed once per version of the file."""
    try:
        st = os.stat(path)
    except OSError:
        raise ValueError(f"找不到用词规则文件 {path}") from None
    return _files.get(path, st)


# --- matching -----------------------------------------------------------------

class Matcher:
    """Every occurrence of many literal strings in one pass: (start, end, payload)."""

    def __init__(self, words: dict[str, Any], *, use_automaton: bool | None = None) -> None:
        self.words = words
        use = ahocorasick is not None if use_automaton is None else use_automaton
        self._automaton = None
        self._regex = None
        if not words:
            return
        if use:
            automaton = ahocorasick.Automaton()
            for word, payload in words.items():
                automaton.add_word(word, (len(word), payload))
            automaton.make_automaton()
            self._automaton = automaton
        else:
            # A lookahead finds overlapping matches too; longest first at each position.
            alternation = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
            self._regex = re.compile(f"(?=({alternation}))")

    def find(self, text: str) -> Iterator[tuple[int, int, Any]]:
        if self._automaton is not None:
            for end, (length, payload) in self._automaton.iter(text):
                yield end + 1 - length, end + 1, payload
        elif self._regex is not None:
            for match in self._regex.finditer(text):
                found = match.group(1)
                # Shorter words starting here too (the regex reports only the longest).
                for length in range(len(found), 0, -1):
                    word = text[match.start():match.start() + length]
                    if word in self.words:
                        yield match.start(), match.start() + length, self.words[word]


def _near(text: str, start: int, end: int, words: tuple[str, ...]) -> bool:
    if not words:
        return True
    window = text[max(0, start - NEAR_WINDOW): end + NEAR_WINDOW]
    return any(w in window for w in words)


def _excused(text: str, start: int, rule: Rule) -> bool:
    for phrase in rule.unless:
        offset = phrase.find(rule.find)
        while offset != -1:
            if text.startswith(phrase, start - offset) and start - offset >= 0:
                return True
            offset = phrase.find(rule.find, offset + 1)
    return False


# A rank word right before or after a name: 副局长王某某, 王某某副局长.
_RANK = r"副?(?:党组书记|书记|局长|主任|科长|股长|组长|部长|县长|区长|市长|镇长|乡长|主席|院长|处长|队长|所长|站长|秘书长|委员)"
_RANK_BEFORE = re.compile(f"({_RANK})$")
_RANK_AFTER = re.compile(f"^({_RANK})")
_RANK_ANY = re.compile(_RANK)


def _ranks(title: str) -> set[str]:
    return set(_RANK_ANY.findall(title)) | {r.removeprefix("党组") for r in _RANK_ANY.findall(title)}


class WordChecker:
    """Built-in, account and local rules compiled once; ``findings(text)`` per field."""

    def __init__(self, ruleset: RuleSet, leaders: Iterable[Leader] = (), *, use_automaton: bool | None = None) -> None:
        self.patterns = ruleset.patterns
        self.leaders = {leader.name: leader for leader in leaders}
        words: dict[str, Any] = {rule.find: rule for rule in ruleset.rules}
        words.update(self.leaders)
        self.matcher = Matcher(words, use_automaton=use_automaton)

    def findings(self, text: str, *, first_mentions: set[str] | None = None) -> list[Finding]:
        """Problems in one text; ``first_mentions`` collects leaders seen, so only a first mention must be titled."""
        hits = []
        for start, end, item in self.matcher.find(text):
            if isinstance(item, Rule) and (_excused(text, start, item) or not _near(text, start, end, item.near)):
                continue
            hits.append((start, end, item))
        found: list[Finding] = []
        taken: list[tuple[int, int]] = []
        for start, end, item in sorted(hits, key=lambda h: (h[0], h[0] - h[1])):
            if any(s < end and start < e for s, e in taken):
                continue  # inside a longer match already reported
            taken.append((start, end))
            if isinstance(item, Rule):
                found.append(Finding(start, end, item.severity, item.message(text[start:end])))
            else:
                finding = self._leader(text, start, end, item, first_mentions)
                if finding:
                    found.append(finding)
        for pattern in self.patterns:
            if pattern.requires is not None and pattern.requires.search(text) is None:
                continue
            for match in pattern.regex.finditer(text):
                if match.end() > match.start() and _near(text, match.start(), match.end(), pattern.near):
                    found.append(Finding(match.start(), match.end(), pattern.severity, pattern.describe(match.group())))
        return sorted(found, key=lambda f: (f.start, f.end))

    def _leader(self, text: str, start: int, end: int, leader: Leader,
                first_mentions: set[str] | None) -> Finding | None:
        before = text[max(0, start - len(leader.title) - 8):start]
        first = first_mentions is not None and leader.name not in first_mentions
        if first_mentions is not None:
            first_mentions.add(leader.name)
        if before.endswith(leader.title):
            return None
        ranks = _ranks(leader.title)
        for match in (_RANK_BEFORE.search(before), _RANK_AFTER.match(text[end:end + 8])):
            if match and match.group(1) not in ranks:
                return Finding(start, end, ERROR,
                               f"领导职务：{leader.name}登记的职务是“{leader.title}”，这里写成了“{match.group(1)}”"
                               f"（[checks].local_words）")
        if first:
            return Finding(start, end, WARNING,
                           f"领导职务：首次提到{leader.name}时请写全职务，如“{leader.title}{leader.name}”"
                           f"（[checks].local_words）")
        return None


_checkers: dict[tuple, WordChecker] = {}


def checker_for(config: Config) -> WordChecker:
    """The compiled checker of a config (rebuilt when a rules file changes)."""
    files = [BUILTIN_WORDS] + ([config.checks.words_file] if config.checks.words_file else [])
    stamps = []
    for path in files:
        st = os.stat(path)
        stamps.append((path, st.st_mtime_ns, st.st_size, st.st_ino))
    key = (tuple(stamps), config.checks.local_words)
    checker = _checkers.get(key)
    if checker is None:
        ruleset = _ruleset_for(BUILTIN_WORDS)
        if config.checks.words_file:
            ruleset = _merge(ruleset, _ruleset_for(config.checks.words_file))
        local = config.checks.local_words
        ruleset = _merge(ruleset, RuleSet(tuple(e for e in local if isinstance(e, Rule)), ()))
        checker = WordChecker(ruleset, [e for e in local if isinstance(e, Leader)])
        _checkers.clear()  # one config at a time in practice; never grow without bound
        _checkers[key] = checker
    return checker


# --- the check ----------------------------------------------------------------

def _line_starts(text: str) -> list[int]:
    return [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]


def check_wording(post: Post, config: Config) -> None:
    """Word, leader and privacy rules on the title, digest and body; each problem at its file line."""
    if not post.parsed:
        return
    checker = checker_for(config)
    allowed = config.checks.allowed_numbers
    seen: set[str] = set()
    fields = [(post.title, post.line_of("title"), None), (post.digest, post.line_of("digest"), None),
              (post.body, post.body_line, seen)]
    for text, first_line, mentions in fields:
        if not text:
            continue
        findings = checker.findings(text, first_mentions=mentions) + private_numbers(text, allowed)
        if not findings:
            continue
        starts = _line_starts(text)
        for finding in sorted(findings, key=lambda f: f.start):
            line = first_line + bisect_right(starts, finding.start) - 1
            post.report(line, cast("Severity", finding.severity), finding.message)  # "off" rules are dropped on load
