"""What editors write is what the reader sees: each pattern of tests/editor_patterns.yaml
rendered by tuiwen and read back into blocks (tests/html_blocks.py) must be the blocks
the editor meant, and ``publish check`` must point at exactly the lines that read two ways.
"""

from __future__ import annotations

import pytest

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
