"""publishers.editor_lines: what editors write is what the reader sees.

Each pattern of tests/editor_patterns.yaml, rendered by tuiwen and read back into blocks
(tests/html_blocks.py), must be the blocks the editor meant, and the notes for
``publish check`` must point at exactly the lines that read two ways.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from publishers.markdown_ext import _new_markdown
from tests.html_blocks import blocks, load_corpus, tuiwen_body

CASES = load_corpus()


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_editor_pattern_renders_as_meant(case):
    html, notes = tuiwen_body(case["markdown"])
    assert blocks(html) == case["expect"]
    assert [note.line for note in notes] == case.get("notes", [])


def test_the_corpus_covers_the_patterns():
    names = [case["name"] for case in CASES]
    assert len(names) >= 60 and len(set(names)) == len(names)
    assert all(case["expect"] and case["markdown"].strip() for case in CASES)


def test_plain_html_reads_into_the_same_blocks():
    """The block reader used for other renderers' HTML: lists, quotes, code, tables, breaks."""
    html = (
        "<h2>材料</h2><p>请带：<br>\n原件</p><ol><li>身份证<ul><li>复印件</li></ul></li>"
        "<li><p>户口簿</p><p>补充说明</p></li></ol><blockquote><ul><li>提示</li></ul></blockquote>"
        "<pre><code>a\n  b\n</code></pre><hr><table><tr><th>甲</th><th>乙</th></tr><tr><td>1</td><td><strong>2</strong></td></tr></table>"
    )
    assert blocks(html) == [
        "h2: 材料", "p: 请带：<br>原件", "ol: 身份证", "ul.2: 复印件", "ol: 户口簿", "p.1: 补充说明",
        "> ul: 提示", "code: a ⏎   b", "hr", "table: 甲 | 乙 / 1 | <b>2</b>",
    ]


def test_tuiwen_lists_read_like_plain_lists():
    html, _ = tuiwen_body("1. 身份证\n    - 复印件\n2. 户口簿\n\n    补充说明")
    assert blocks(html) == ["ol: 身份证", "ul.2: 复印件", "ol: 户口簿", "p.1: 补充说明"]


EDITOR_LINES = st.lists(
    st.tuples(
        st.sampled_from(["", " ", "  ", "    ", "\u3000\u3000"]),
        st.sampled_from(["", "- ", "* ", "1. ", "2) ", "1、", "（1）", "①", "●", "1.", "#话题#", "## ", "---", "|a|b|",
                         "|-|-|", "```", "**注：**", "> ", "> - ", ">   - "]),
        st.sampled_from(["", "医保", "报销比例，", "参保登记。", "基金监管\\", "`代码`", "text"]),
    ).map("".join),
    max_size=25,
)


@settings(max_examples=300, deadline=None)
@given(EDITOR_LINES)
def test_the_editor_pass_only_adds_breaks(lines):
    """Outside quotes, the pass keeps every line in its place: it adds blank lines, escapes a
    topic's #, keeps full-width spaces as references and turns a closing backslash into a break."""
    md = _new_markdown()
    out = md.preprocessors["tuiwen_editor_lines"].run(list(lines))

    def same(line: str) -> str:
        line = line.replace("&#12288;", "\u3000").replace("\\#", "#")
        return line[:-2] if line.endswith("  ") and not line.endswith("   ") else line.rstrip("\\")

    if not any(line.lstrip(" ").startswith(">") for line in lines):
        assert [same(line) for line in out if line.strip(" ")] == [same(line) for line in lines if line.strip(" ")]
    assert len(out) >= len(lines)
