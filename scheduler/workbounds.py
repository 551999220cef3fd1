"""How much work one post may cost: bounds checked before rendering, and a time limit on rendering.

One pathological post (a list nested hundreds of levels deep in 1 MB took 35 s and
1.5 GB to render) must not slow or sink the check of all the others: a body past these
bounds is an error and is never rendered.
"""

from __future__ import annotations

import re
import signal
import threading
from contextlib import contextmanager

from publishers.limits import CONTENT_MAX_CHARS

# Bounds on the work one post may cost before it is rendered.  WeChat takes under 20,000
# characters of HTML, so a longer source text can never go out; and Markdown's time and
# memory grow much faster than the text for deeply nested lists and quotes (a few hundred
# levels in 1 MB took minutes and gigabytes), while real posts nest two or three levels.
MAX_BODY_CHARS = 50_000  # 2.5 × what WeChat takes: comments and markup that vanish never make up the rest
MAX_NESTING = 12
# Unclosed "[" cost Markdown's link search about n² per paragraph (2,000 in one paragraph: 2 s).
MAX_BRACKET_WORK = 2_000_000  # the sum over paragraphs of (number of "[")², about half a second
_LIST_ITEM = re.compile(r"^( *)(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)")
_QUOTES = re.compile(r"^ {0,3}((?:> ?)+)")


_last: list[tuple[str, tuple[int, str] | None]] = [("", None)]  # asked twice for each body: before the rules, before rendering


def body_too_heavy(body: str) -> tuple[int, str] | None:
    """(line within the body, message) when the body is past the work bounds, else None."""
    last = _last[0]
    if last[0] is body:
        return last[1]
    found = _too_heavy(body)
    _last[0] = (body, found)
    return found


def _too_heavy(body: str) -> tuple[int, str] | None:
    if len(body) > MAX_BODY_CHARS:
        return 0, (f"正文有 {len(body):,} 个字符，排版后必然超过微信上限（须少于 {CONTENT_MAX_CHARS:,} 字符），"
                   "已跳过排版；请删减或拆成几篇")
    work = 0
    # The sum over paragraphs of squares is at most the square of the sum: most bodies stop here.
    for block_line, block in _blocks(body) if body.count("[") ** 2 > MAX_BRACKET_WORK else ():
        work += block.count("[") ** 2
        if work > MAX_BRACKET_WORK:
            return block_line, ("方括号“[”太多（一段里有 {:,} 个），排版的工作量无法接受，已跳过排版；"
                                "请删去多余的“[”，或用“【】”代替").format(block.count("["))
    if _nesting_bound(body) <= MAX_NESTING:
        return None
    return _too_deep(body)


def _nesting_bound(body: str) -> int:
    """At least the deepest nesting ``_too_deep`` can find, from four counts instead of a Python
    loop over every line: each quote level is a ">", and the open lists form a stack of strictly
    growing indents, all but the first on a line that starts with a space or a tab."""
    return body.count(">") + 2 + body.count("\n ") + body.count("\n\t")


def _too_deep(body: str) -> tuple[int, str] | None:
    indents: list[int] = []
    fence = False
    for index, line in enumerate(body.split("\n")):
        stripped = line.lstrip()
        if stripped.startswith(("```", "~~~")):
            fence = not fence
        if fence:
            continue
        quotes = _QUOTES.match(line)
        depth = quotes.group(1).count(">") if quotes else 0
        item = _LIST_ITEM.match(line.expandtabs(4))
        if item:
            indent = len(item.group(1))
            while indents and indents[-1] >= indent:
                indents.pop()
            indents.append(indent)
        elif stripped and not line.startswith((" ", "\t")):
            indents.clear()  # a paragraph at the margin ends every list
        depth += len(indents)
        if depth > MAX_NESTING:
            return index, (f"列表或引用嵌套超过 {MAX_NESTING} 层，微信无法显示这样的排版，已跳过排版；"
                           "请减少缩进层级（一般不超过 3 层）")
    return None


RENDER_SECONDS = 10  # a backstop for what the bounds above miss: real posts render in milliseconds


class OverBudget(BaseException):  # not Exception: no "except Exception" inside rendering may swallow it
    """Rendering one post took longer than its budget."""


@contextmanager
def time_budget(seconds: int):
    """Raise OverBudget in the block after ``seconds`` of wall time.

    Only where a timer signal can be used (the main thread of a Unix process, no timer
    already running): ``check``, ``--dry-run`` and their worker processes.  Elsewhere
    the bounds of :func:`body_too_heavy` alone hold.
    """
    usable = (hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
              and signal.getitimer(signal.ITIMER_REAL)[0] == 0)
    if not usable:
        yield
        return

    def expire(signum, frame):
        raise OverBudget()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _blocks(body: str):
    """(line within the body, text) of each run of lines between blank lines."""
    start, lines = 0, list[str]()
    for index, line in enumerate(body.split("\n")):
        if line.strip():
            if not lines:
                start = index
            lines.append(line)
        elif lines:
            yield start, "\n".join(lines)
            lines = []
    if lines:
        yield start, "\n".join(lines)
