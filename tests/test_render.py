"""publishers.render: Markdown → WeChat HTML, golden files and the rules of the WeChat editor.

Golden files: each ``tests/golden/render/<name>.md`` is a post body, rendered with the
article values in ``GOLDEN`` below and compared exactly with ``<name>.html``.  After an
intended change of the output, regenerate them, review the diff, and run again without
the variable (a regenerating run fails each golden it rewrote, so it never passes as a check):

    TUIWEN_REGEN_GOLDEN=1 pytest tests/test_render.py; git diff tests/golden; pytest tests/test_render.py

Images are fixed bytes under tmp_path, so their placeholders (sha256 of the bytes) are stable.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import markdown
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from publishers.base import Article
from publishers.limits import wechat_len
from publishers.markdown_ext import NestedLists, _new_markdown, parse_markdown, resolve_stash
from publishers.render import (
    ImageRef,
    Rendered,
    Theme,
    _FastInline,
    content_problems,
    render,
    replace_images,
)
from publishers.sanitize import clean_template_output, inner_html, sanitize_fragment, snippet

GOLDEN_DIR = Path(__file__).parent / "golden" / "render"
REGENERATE = os.environ.get("TUIWEN_REGEN_GOLDEN") == "1"
CONTENT = Path(__file__).resolve().parent.parent / "content"

PNG = b"\x89PNG\r\n\x1a\n" + b"tuiwen test poster"
JPEG = b"\xff\xd8\xff\xe0" + b"tuiwen test chart"
COVER = b"\xff\xd8\xff\xe0" + b"tuiwen test cover"
QR = b"\x89PNG\r\n\x1a\n" + b"tuiwen test qr"
SECRET = b"\x89PNG\r\n\x1a\n" + b"outside the repository"

THEME = Theme(account_name="屈原医保")
GOLDEN = {
    "policy-qa": dict(
        title="职工医保门诊共济保障政策问答",
        category="待遇政策",
        color="#2b6cb0",
        author="待遇保障股",
        reviewed_by="李娟",
        approved_by="周志强",
    ),
    "lists-table": dict(title="集中宣传月启动", category="基金监管", color="#c53030", author="基金监管股"),
    "code-links": dict(title="链接与代码", category="经办业务", color="#2f855a"),
    "images": dict(title="宣传海报", category="工作动态", color="#b7791f", cover=Path("images/poster.png")),
    "hostile": dict(title="不安全的 HTML", category="其他", color="#4a5568"),
}
GOLDEN_THEMES = {"images": "qr"}

TAG = re.compile(r"<[a-zA-Z][^>]*>")


def tags(html: str) -> list[str]:
    return TAG.findall(html)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A content repository with fixed image bytes; returns its root (resolved)."""
    root = (tmp_path / "repo").resolve()
    (root / "policy" / "images").mkdir(parents=True)
    (root / "policy" / "images" / "poster.png").write_bytes(PNG)
    (root / "policy" / "images" / "chart.jpg").write_bytes(JPEG)
    (root / "_covers").mkdir()
    (root / "_covers" / "policy.jpg").write_bytes(COVER)
    (root / "_assets").mkdir()
    (root / "_assets" / "qr.png").write_bytes(QR)
    (tmp_path / "secret.png").write_bytes(SECRET)
    return root


def article(root: Path, body: str, **values) -> Article:
    values.setdefault("title", "测试文章")
    return Article(body=body, base_dir=root / "policy", root=root, **values)


def placeholder(data: bytes) -> str:
    return "tuiwen-image:" + hashlib.sha256(data).hexdigest()


def rendered_golden(name: str, root: Path) -> Rendered:
    body = (GOLDEN_DIR / f"{name}.md").read_text(encoding="utf-8")
    theme = Theme("屈原医保", qr_image=root / "_assets" / "qr.png") if GOLDEN_THEMES.get(name) else THEME
    return render(article(root, body, **GOLDEN[name]), theme)


# --- golden files ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden(name, site):
    html = rendered_golden(name, site).html
    expected_path = GOLDEN_DIR / f"{name}.html"
    expected = expected_path.read_text(encoding="utf-8")
    if REGENERATE and html != expected:
        # Rewritten for review, and failed: a regenerating run can never pass as a check.
        expected_path.write_text(html, encoding="utf-8")
        pytest.fail(f"{expected_path.name} rewritten: review `git diff`, then run without TUIWEN_REGEN_GOLDEN")
    if html != expected:  # a readable diff: one tag per line
        assert html.replace("><", ">\n<").splitlines() == expected.replace("><", ">\n<").splitlines()


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_no_style_blocks_classes_or_ids(name, site):
    html = rendered_golden(name, site).html
    assert "<style" not in html
    for tag in tags(html):
        assert not re.search(r"\s(class|id)=", tag), tag
        assert not re.search(r"\son\w+=", tag), tag
    assert "\n" not in html


def test_sample_posts_follow_the_rules():
    for path in sorted(CONTENT.glob("*/*.md")):
        text = path.read_text(encoding="utf-8")
        body = text.split("---\n", 2)[2] if text.startswith("---\n") else text
        result = render(Article("t", body, base_dir=path.parent, root=CONTENT.resolve()), THEME)
        assert not re.search(r"<(ul|ol|li|style|script)\b", result.html), path
        assert not any(re.search(r"\s(class|id)=", tag) for tag in tags(result.html)), path
        assert all("width:100%" in tag or "max-width:100%" in tag for tag in tags(result.html) if tag.startswith("<img")), path


# --- structure ------------------------------------------------------------------------------


def test_every_image_is_full_width(site):
    for name in GOLDEN:
        images = [tag for tag in tags(rendered_golden(name, site).html) if tag.startswith("<img")]
        assert all(re.search(r"style=\"[^\"]*(?<![-\w])(max-)?width:100%", tag) for tag in images), images


def test_lists_become_sections_with_written_markers(site):
    html = rendered_golden("lists-table", site).html
    assert not re.search(r"<(ul|ol|li)\b", html)
    for marker in ("1.</span>法律法规", "•</span>《医疗保障基金使用", "(1)</span>检查对象", "(2)</span>检查程序"):
        assert marker in html
    assert "5.</span>从五开始" in html and "6.</span>第六项" in html
    # nested items are indented by padding inside their parent item
    nested = html.index("(1)</span>检查对象")
    assert html.count("padding-left:", 0, nested) >= 3
    # a loose item's second paragraph stays inside the item, without a marker
    assert "每周推送政策解读" in html and "•</span>每周推送" not in html


def test_tables_fit_a_phone(site):
    html = rendered_golden("lists-table", site).html
    assert '<section style="margin:1em 0;overflow-x:auto"><table style="width:100%;border-collapse:collapse;font-size:14px' in html
    assert "text-align: center" in html and "text-align: right" in html  # column alignment kept


def test_code_keeps_its_whitespace(site):
    html = rendered_golden("code-links", site).html
    assert "&nbsp;&nbsp;&nbsp;&nbsp;if&nbsp;feiyong&nbsp;&lt;=&nbsp;0:<br>" in html
    assert "return&nbsp;0<br><br>&nbsp;&nbsp;&nbsp;&nbsp;return" in html  # the empty line survives
    assert "统筹基金支付&nbsp;&amp;&nbsp;个人自付" in html
    assert "缩进代码块&nbsp;&nbsp;两个空格&nbsp;&lt;保留&gt;" in html
    assert "第一行<br>&nbsp;&nbsp;第二行缩进" in html  # an unclosed fence runs to the end
    assert "<pre" not in html and "<code" in html  # inline code stays a styled <code>


def test_question_and_answer_badges(site):
    html = rendered_golden("policy-qa", site).html
    assert html.count(">问</span>") == 3 and html.count(">答</span>") == 3
    assert ">Q</span>异地就医要备案吗？" in html and ">A</span>要。" in html
    assert ">问</span>在药店买药能走门诊统筹吗？" in html
    assert "问：" not in html and "答:" not in html and "**" not in html
    assert "纳入统筹基金支付范围，同时改进" in html  # a soft line break between Chinese adds no space


# --- links ----------------------------------------------------------------------------------


def test_links_become_numbered_references(site):
    result = rendered_golden("code-links", site)
    html = result.html
    assert result.references == (
        "https://www.nhsa.gov.cn/",
        "https://ybj.hunan.gov.cn/ybj/zcjd/index.html?a=1&b=2",
        "https://fuwu.nhsa.gov.cn/",
    )
    assert re.search(r"国家医疗保障局官网<sup [^>]*>\[1\]</sup>", html)
    assert re.search(r"湖南省医保局<sup [^>]*>\[2\]</sup>", html)
    assert re.search(r"国家医保局<sup [^>]*>\[1\]</sup>", html)  # the same URL reuses its number
    assert ">参考链接</p>" in html
    assert "[1] 国家医疗保障局官网：https://www.nhsa.gov.cn/</p>" in html
    assert "[2] 湖南省医保局：https://ybj.hunan.gov.cn/ybj/zcjd/index.html?a=1&amp;b=2</p>" in html
    assert "[3] https://fuwu.nhsa.gov.cn/</p>" in html
    anchors = [tag for tag in tags(html) if tag.startswith("<a ")]
    assert anchors == ['<a href="https://mp.weixin.qq.com/s/Qy8mZp3LkT2vXn7aRbW1cA" ' + anchors[0].split(" ", 2)[2]]


def test_mailto_and_tel_become_plain_text(site):
    html = rendered_golden("code-links", site).html
    assert "发邮件（ybj@example.gov.cn）" in html and "打电话（0730-5612393）" in html
    assert "mailto:" not in html and "tel:" not in html


def test_a_relative_link_becomes_text_and_is_reported(site):
    result = render(article(site, "见[另一篇](other.md)。"), THEME)
    assert "另一篇" in result.html and "other.md" not in result.html
    assert [r.kind for r in result.removed] == ["link"]


# --- raw HTML -------------------------------------------------------------------------------

HOSTILE = [
    ('<script>alert("xss")</script>', "script", "alert("),
    ("<style>p { color: red }</style>", "style", "color: red"),
    ('<iframe src="https://evil.example.com/"></iframe>', "iframe", "evil.example.com"),
    ('<form action="/steal"><input name="q"></form>', "form", "/steal"),
    ('<form action="/steal"><input name="q"></form>', "input", 'name="q"'),
    ('<object data="x.swf"></object>', "object", "x.swf"),
    ('<embed src="y.swf">', "embed", "y.swf"),
    ('<b onclick="steal()">加粗</b>', "event", "steal()"),
    ('<a href="javascript:alert(1)">坏链接</a>', "url", "javascript:"),
    ('<a href="vbscript:msgbox">坏链接</a>', "url", "vbscript:"),
    ('<img src="data:image/png;base64,iVBORw0KGgo=">', "url", "data:"),
    ('<span class="red">字</span>', "class", "red"),
    ('<span id="x1">字</span>', "id", "x1"),
    ('<img src="https://tracker.example.com/pixel.gif">', "image", "tracker.example.com"),
]


@pytest.mark.parametrize(("raw", "kind", "gone"), HOSTILE)
@pytest.mark.parametrize("placement", ["block", "inline"])
def test_hostile_html_is_removed_and_reported(site, raw, kind, gone, placement):
    body = f"{raw}\n" if placement == "block" else f"行内 {raw} 结束\n"
    result = render(article(site, body), THEME)
    assert gone not in result.html
    found = [r for r in result.removed if r.kind == kind]
    assert found, result.removed
    assert all(r.message.startswith("已移除") and r.snippet for r in found)


def test_hostile_golden_reports(site):
    result = rendered_golden("hostile", site)
    kinds = {r.kind for r in result.removed}
    assert {"script", "style", "iframe", "form", "input", "button", "object", "embed"} <= kinds
    assert {"event", "url", "class", "id", "image"} <= kinds
    messages = [r.message for r in result.removed]
    assert "已移除 <script> 脚本" in messages
    assert any(m.startswith("已移除外部图片 https://tracker.example.com/pixel.gif（微信只显示上传到微信的图片）") for m in messages)
    html = result.html
    assert "块内文字" in html and "单元格" in html and "红字" in html  # the text stays
    assert 'style="color:#c00"' in html  # the author's safe inline style stays, position:fixed goes
    assert '<a href="https://mp.weixin.qq.com/s/abc"' in html
    assert placeholder(PNG) in html and result.images[0].alt == "仓库内图片"  # raw <img> collected too


# --- images ---------------------------------------------------------------------------------


def test_images_are_collected_with_stable_placeholders(site):
    result = rendered_golden("images", site)
    assert [(i.placeholder, i.path.name, i.alt) for i in result.images] == [
        (placeholder(PNG), "poster.png", "“打击欺诈骗保 维护基金安全”宣传海报"),
        (placeholder(JPEG), "chart.jpg", ""),
        (placeholder(QR), "qr.png", "关注“屈原医保”"),
    ]
    assert result.images[0].sha256 == hashlib.sha256(PNG).hexdigest()
    assert result.cover == ImageRef(placeholder(PNG), site / "policy" / "images" / "poster.png", result.images[0].sha256, "")
    html = result.html
    assert html.count(placeholder(JPEG)) == 2  # the same file twice: one upload, one placeholder
    assert ">“打击欺诈骗保 维护基金安全”宣传海报</p>" in html  # the caption
    assert 'src="https://mmbiz.qpic.cn/mmbiz_png/abc123/0?wx_fmt=png"' in html
    assert "example.com" not in html and "missing.png" not in html

    urls = {placeholder(PNG): "https://mmbiz.qpic.cn/a/0?wx_fmt=png&x=1", placeholder(JPEG): "https://mmbiz.qpic.cn/b/0"}
    swapped = replace_images(html, urls)
    assert 'src="https://mmbiz.qpic.cn/a/0?wx_fmt=png&amp;x=1"' in swapped
    assert placeholder(PNG) not in swapped and placeholder(JPEG) not in swapped
    assert placeholder(QR) in swapped  # not uploaded yet: left alone


def test_missing_and_foreign_images_are_reported(site):
    messages = [r.message for r in rendered_golden("images", site).removed]
    assert "已移除外部图片 https://example.com/banner.jpg（微信只显示上传到微信的图片）" in messages
    assert "已移除图片 images/missing.png：文件不存在" in messages
    assert any("../../secret.png" in m and "内容仓库之外" in m for m in messages)


def test_a_file_that_is_not_an_image_is_removed(site):
    (site / "policy" / "notes.png").write_text("not an image")
    result = render(article(site, "![图](notes.png)"), THEME)
    assert "<img" not in result.html and result.images == ()
    assert "不是图片文件" in result.removed[0].message


_opened: list[str] | None = None


def _audit(event: str, args: tuple) -> None:
    if event == "open" and _opened is not None and args and isinstance(args[0], (str, bytes, os.PathLike)):
        _opened.append(os.fsdecode(args[0]))


@pytest.fixture
def opened():
    """Paths opened while the test runs (an audit hook cannot be removed, so it is installed once)."""
    global _opened  # noqa: PLW0603 - the audit hook, installed once, reads it
    if not getattr(sys, "_tuiwen_render_audit", False):
        sys.addaudithook(_audit)
        sys._tuiwen_render_audit = True  # type: ignore[attr-defined]
    _opened = []
    yield _opened
    _opened = None


def test_images_outside_the_repository_are_never_opened(site, opened):
    secret = site.parent / "secret.png"
    (site / "policy" / "link.png").symlink_to(secret)
    body = f"![a](../../secret.png)\n\n![b]({secret})\n\n![c](link.png)\n\n![d](../../etc/passwd)\n\n<img src=\"{secret}\">\n"
    theme = Theme("屈原医保", qr_image=secret)
    result = render(article(site, body, cover=secret), theme)
    assert not [path for path in opened if "secret" in path or "link.png" in path or "passwd" in path]
    assert "<img" not in result.html and result.images == () and result.cover is None
    refused = [r for r in result.removed if r.kind == "image"]
    assert len(refused) == 6, refused
    assert any(r.message.startswith("已移除封面图片") for r in refused)
    assert any(r.message.startswith("已移除关注二维码") for r in refused)


# --- digest, footer, header, templates ------------------------------------------------------


def test_digest_from_front_matter(site):
    assert render(article(site, "正文。", digest="摘要写在这里"), THEME).digest == "摘要写在这里"


def test_digest_fallback_is_plain_text_of_at_most_54(site):
    result = rendered_golden("code-links", site)
    assert result.digest.startswith("往期回顾：屈原医保｜2023年集中宣传月活动综述。政策原文见国家医疗保障局官网，")
    assert "[1]" not in result.digest and "<" not in result.digest
    assert wechat_len(result.digest) <= 54
    qa = rendered_golden("policy-qa", site).digest
    assert qa.startswith("职工医保门诊共济保障机制改革实施以来") and wechat_len(qa) <= 54


def test_digest_never_cuts_a_surrogate_pair(site):
    body = "医" * 53 + "😀后面的文字"
    digest = render(article(site, body), THEME).digest
    assert digest == "医" * 53
    digest = render(article(site, "医" * 52 + "😀后面"), THEME).digest
    assert digest == "医" * 52 + "😀" and wechat_len(digest) == 54


def test_footer_lines_only_when_given(site):
    full = rendered_golden("policy-qa", site).html
    for line in ("编辑：待遇保障股", "审核：李娟", "签发：周志强", "医保服务热线：12393", ">屈原医保</p>"):
        assert line in full
    bare = render(article(site, "正文。", author="办公室"), Theme("屈原医保", hotline="医保基金监管举报电话：12393")).html
    assert "编辑：办公室" in bare and "医保基金监管举报电话：12393" in bare
    assert "审核：" not in bare and "签发：" not in bare and "长按识别二维码" not in bare
    assert "热线" not in render(article(site, "正文。"), Theme("屈原医保", hotline="")).html


def test_footer_qr_image(site):
    html = rendered_golden("images", site).html
    footer = html[html.index("长按识别二维码") - 400 :]
    assert f'src="{placeholder(QR)}"' in footer and "max-width:100%" in footer


def test_accent_colour_in_header_and_headings(site):
    html = rendered_golden("lists-table", site).html
    header = html[: html.index("</section>")]
    assert "border-left:4px solid #c53030" in header and ">基金监管</span>" in header
    assert re.search(r'<h2 style="[^"]*#c53030[^"]*">一、宣传什么</h2>', html)
    assert re.search(r'<h3 style="[^"]*color:#c53030[^"]*">怎么宣传</h3>', html)


def test_an_invalid_colour_is_replaced_and_reported(site):
    result = render(article(site, "## 标题", color="red;background:url(x)"), THEME)
    assert "url(x)" not in result.html and "#2b6cb0" in result.html
    assert [r.kind for r in result.removed] == ["color"]


def test_templates_dir_overrides(site, tmp_path):
    custom = tmp_path / "templates"
    custom.mkdir()
    (custom / "header.html").write_text(
        '<style>.banner { color: #123456 }</style>\n<div class="banner" id="top">{{ category }}专栏</div>\n', encoding="utf-8"
    )
    (custom / "footer.html").write_text("<p onclick=\"x()\">{{ account_name }} 编辑：{{ author }}</p>\n", encoding="utf-8")
    result = render(article(site, "正文。", category="待遇政策", author="李娟"), Theme("屈原医保", templates_dir=custom))
    html = result.html
    assert "待遇政策专栏" in html and "color: #123456" in html  # the <style> was inlined
    assert "<style" not in html and "class=" not in html and " id=" not in html and "onclick" not in html
    assert "<p>屈原医保 编辑：李娟</p>" in html
    assert '<section style="margin:0;padding:0;font-size:16px' in html  # article.html: the default


def test_a_broken_custom_template_falls_back_to_the_default(site, tmp_path):
    custom = tmp_path / "templates"
    custom.mkdir()
    (custom / "article.html").write_text("<section>{{ header }}{{ footer }}</section>", encoding="utf-8")
    result = render(article(site, "正文内容。"), Theme("屈原医保", templates_dir=custom))
    assert "正文内容。" in result.html
    assert [r.kind for r in result.removed] == ["template"]
    for number, broken in enumerate(["{% if %}", "{{ 1 // 0 }}{{ body }}"]):
        other = tmp_path / f"broken{number}"
        other.mkdir()
        (other / "footer.html").write_text(broken, encoding="utf-8")
        result = render(article(site, "正文内容。"), Theme("屈原医保", templates_dir=other))
        assert "正文内容。" in result.html and "屈原医保</p>" in result.html
        assert [r.kind for r in result.removed] == ["template"]


# --- measurements ---------------------------------------------------------------------------


def test_chars_and_size(site):
    result = rendered_golden("images", site)
    assert result.chars == wechat_len(result.html)
    assert result.size == len(result.html.encode("utf-8"))
    emoji = render(article(site, "😀"), THEME)
    assert emoji.chars == wechat_len(emoji.html) and emoji.size > emoji.chars


def test_content_problems(site):
    assert content_problems(rendered_golden("policy-qa", site)) == []
    long = render(article(site, "医" * 25_000), THEME)
    problems = content_problems(long)
    assert len(problems) == 1 and "20000" in problems[0] and str(long.chars) in problems[0]


# --- never raises ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "",
        "```\nunclosed",
        "<div>" * 3000 + "x",
        "\n".join("    " * i + "- x" for i in range(300)),
        "|a|b|\n|-|-|\n" + "|x|y|\n" * 2000,
        bytes(range(256)).decode("latin-1"),
        "a\ud800b\udfff😀",
        "\x02wzxhzdk:0\x03 \x02amp\x03",
        "<img src='http://[::1'> [x](http://[bad) ![y](http://[bad)",
        "<ul><li><![<b>x</b>](images/poster.png)",
    ],
    ids=[
        "empty", "fence", "deep-html", "deep-list", "huge-table", "binary", "surrogates", "placeholders", "bad-urls",
        "marked-section",
    ],
)
def test_any_body_renders(site, body):
    result = render(article(site, body), THEME)
    result.html.encode("utf-8")
    assert "<script" not in result.html and "\x02" not in result.html


def test_absurd_nesting_falls_back_to_plain_text(site):
    result = render(article(site, "<div>" * 3000 + "深处的文字"), THEME)
    assert "深处的文字" in result.html
    assert [r.kind for r in result.removed] == ["markdown"]


TOKENS = st.sampled_from(
    [
        "\n", "\n\n", "- ", "1. ", "    ", "> ", "**", "_", "`", "```", "~~~", "|a|b|\n|-|-|\n", "# ", "问：", "**答：**",
        "[x](http://a.cn)", "[y](javascript:alert(1))", "![i](images/poster.png)", "![e](https://e.com/x.png)",
        "<script>", "</script>", "<style>", "<img src=x onerror=alert(1)>", "<a href='data:x' onclick=y>", "<b class=c>",
        "<iframe>", "<div id=d>", "</div>", "<p style='x:y'>", "&amp;", "&#0;", "&", "<", ">", "\x00", "😀", "医保",
        "<ul><li>", "</li>", "<pre>", "<table><tr><td>", "<![CDATA[", "<a href=https://mp.weixin.qq.com/s/x>", "</a>",
        "1、", "（1）", "①", "●", "1.", "#话题#", "\\\n", "\u3000\u3000", "> - ", "  - ", "---\n", "|x|\n|-|\n", "**注：**",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(TOKENS, st.text(max_size=20)), max_size=40).map("".join))
def test_arbitrary_bodies_render_safely(site, body):
    html = render(article(site, body), THEME).html
    html.encode("utf-8")
    assert "<script" not in html and "<style" not in html and "<iframe" not in html
    assert not re.search(r"<(ul|ol|li)\b", html)
    for tag in tags(html):
        assert not re.search(r"\son\w+\s*=", tag), tag
        assert not re.search(r"\s(class|id)\s*=", tag), tag
        assert "javascript:" not in tag and "data:" not in tag


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(TOKENS, st.text(max_size=20)), max_size=30).map("".join))
def test_fast_inline_pass_changes_nothing(body):
    stock = markdown.Markdown(extensions=["tables", "sane_lists"])
    fast = markdown.Markdown(extensions=["tables", "sane_lists"])
    fast.treeprocessors.register(_FastInline(fast), "inline", 20)
    assert fast.convert(body) == stock.convert(body)


def test_fast_inline_pass_on_the_sample_posts():
    stock = markdown.Markdown(extensions=["tables", "sane_lists"])
    fast = markdown.Markdown(extensions=["tables", "sane_lists"])
    fast.treeprocessors.register(_FastInline(fast), "inline", 20)
    for path in sorted(CONTENT.glob("*/*.md")):
        body = path.read_text(encoding="utf-8")
        assert fast.reset().convert(body) == stock.reset().convert(body), path


# --- lists nested the CommonMark way (2 spaces under "- ", 3 under "1. ") ---------------------


def tree_html(source: str) -> str:
    """The body's Markdown tree as HTML, stashed code put back (before the WeChat rewrite)."""
    tree, stash, _ = parse_markdown(source)
    resolve_stash(tree, stash)
    return "".join(ElementTree.tostring(child, encoding="unicode") for child in tree)


@pytest.mark.parametrize(
    "source, expected",
    [
        ("- 一\n  - 二\n  - 三\n- 四", "<ul><li>一<ul><li>二</li><li>三</li></ul></li><li>四</li></ul>"),
        ("1. 一\n   1. 二\n   2. 三\n2. 四", "<ol><li>一<ol><li>二</li><li>三</li></ol></li><li>四</li></ol>"),
        ("1. 一\n   - 二\n2. 三", "<ol><li>一<ul><li>二</li></ul></li><li>三</li></ol>"),
        ("- 一\n  1. 二\n  2. 三\n- 四", "<ul><li>一<ol><li>二</li><li>三</li></ol></li><li>四</li></ul>"),
        (
            "- 一\n  - 二\n    - 三\n  - 四\n- 五",
            "<ul><li>一<ul><li>二<ul><li>三</li></ul></li><li>四</li></ul></li><li>五</li></ul>",
        ),
        (
            "1. 一\n   1. 二\n      1. 三\n   2. 四\n2. 五",
            "<ol><li>一<ol><li>二<ol><li>三</li></ol></li><li>四</li></ol></li><li>五</li></ol>",
        ),
        (
            "1. 一\n   - 二\n     1. 三\n        * 四\n2. 五",
            "<ol><li>一<ul><li>二<ol><li>三<ul><li>四</li></ul></li></ol></li></ul></li><li>五</li></ol>",
        ),
        (  # a child 4 spaces in is inside an item whose text starts further in
            "100. 百\n    - 子项\n      - 孙项\n101. 百零一",
            '<ol start="100"><li>百<ul><li>子项<ul><li>孙项</li></ul></li></ul></li><li>百零一</li></ol>',
        ),
        ("1) 一\n   1) 二\n2) 三", "<ol><li>一<ol><li>二</li></ol></li><li>三</li></ol>"),  # "1)" is CommonMark too
    ],
    ids=["ul-ul", "ol-ol", "ul-in-ol", "ol-in-ul", "three-ul", "three-ol", "four-mixed", "wide-marker", "paren"],
)
def test_lists_nested_by_the_text_column(source, expected):
    assert tree_html(source) == expected
    stock = _new_markdown()
    stock.preprocessors.deregister("tuiwen_nested_lists")
    assert stock.convert(source) != _new_markdown().convert(source)  # Python-Markdown alone gets it wrong


def test_lists_nested_by_the_text_column_render_like_four_spaces(site):
    """The golden lists, written the way Typora and GitHub nest them, render byte for byte the same."""
    four = (GOLDEN_DIR / "lists-table.md").read_text(encoding="utf-8")
    commonmark = (
        four.replace("\n    - ", "\n   - ")  # under "1. ": 3 spaces
        .replace("\n        1. ", "\n     1. ")
        .replace("\n        2. ", "\n     2. ")
        .replace("\n    每周推送", "\n  每周推送")  # a second paragraph under "- ": 2 spaces
    )
    assert commonmark.count("\n   - ") == 2 and not re.search(r"^(    )+\S", commonmark, re.MULTILINE)
    result = render(article(site, commonmark, **GOLDEN["lists-table"]), THEME)
    assert result.html == (GOLDEN_DIR / "lists-table.html").read_text(encoding="utf-8")


def test_a_paragraph_inside_an_item():
    source = "- 一\n\n  一的补充说明，\n  接着写。\n\n- 二\n  - 甲\n\n    甲的补充说明。\n\n  二的补充说明。\n\n- 三"
    assert tree_html(source) == (
        "<ul><li><p>一</p><p>一的补充说明，\n接着写。</p></li>"
        "<li><p>二</p><ul><li><p>甲</p><p>甲的补充说明。</p></li></ul><p>二的补充说明。</p></li>"
        "<li><p>三</p></li></ul>"
    )


def test_a_paragraph_after_a_list_ends_it():
    assert tree_html("- 一\n  - 二\n\n结束段落。") == "<ul><li>一<ul><li>二</li></ul></li></ul><p>结束段落。</p>"
    # an item indented 2 spaces after that paragraph starts a new list: it is no child of 一
    assert tree_html("- 一\n\n段落。\n\n  - 二\n    - 三") == (
        "<ul><li>一</li></ul><p>段落。</p><ul><li>二<ul><li>三</li></ul></li></ul>"
    )


def test_a_list_right_under_a_paragraph_line_is_a_list():
    """The nesting pass alone leaves it (Python-Markdown would read more paragraph); the editors' pass
    puts a blank line before it, so it is the list the editor meant."""
    source = "申请材料：\n- 身份证\n  - 复印件\n\n  请带齐。"
    assert NestedLists(_new_markdown()).run(source.split("\n")) == source.split("\n")
    assert tree_html(source) == "<p>申请材料：</p><ul><li><p>身份证</p><ul><li>复印件</li></ul><p>请带齐。</p></li></ul>"
    # after a heading a list may start without a blank line
    assert tree_html("## 材料\n- 身份证\n  - 复印件") == "<h2>材料</h2><ul><li>身份证<ul><li>复印件</li></ul></li></ul>"


def test_an_indented_code_block_is_left_alone():
    source = "段落。\n\n    - 这是代码\n      - 不是列表\n\n    1. 也是代码\n\n段落。"
    assert NestedLists(_new_markdown()).run(source.split("\n")) == source.split("\n")
    assert tree_html(source) == "<p>段落。</p><pre><code>- 这是代码\n  - 不是列表\n\n1. 也是代码\n</code></pre><p>段落。</p>"


def test_fenced_code_inside_and_after_a_list_is_left_alone(site):
    source = (
        "- 一\n"
        "  - 二\n"
        "\n"
        "    ```python\n"
        "    def f():\n"
        "        return 1\n"
        "      - 不是列表\n"
        "    ```\n"
        "  - 三\n"
        "\n"
        "  ```\n"
        "  一的代码\n"
        "    - 不是列表\n"
        "  ```\n"
        "\n"
        "```\n"
        "- 列表后的代码\n"
        "  - 不是列表\n"
        "```\n"
        "\n"
        "结束。"
    )
    assert tree_html(source) == (
        "<ul><li><p>一</p><ul>"
        "<li><p>二</p><pre><code>def f():\n    return 1\n  - 不是列表</code></pre></li>"
        "<li><p>三</p></li></ul>"
        "<pre><code>一的代码\n  - 不是列表</code></pre></li></ul>"
        "<pre><code>- 列表后的代码\n  - 不是列表</code></pre><p>结束。</p>"
    )
    # a fence left open inside an item ends with the item
    assert tree_html("- 一\n  - 二\n\n    ```\n    没有结束\n- 三") == (
        "<ul><li><p>一</p><ul><li><p>二</p><pre><code>没有结束</code></pre></li></ul></li><li><p>三</p></li></ul>"
    )
    html = render(article(site, source), THEME).html
    assert "def&nbsp;f():<br>&nbsp;&nbsp;&nbsp;&nbsp;return&nbsp;1<br>&nbsp;&nbsp;-&nbsp;不是列表" in html
    assert "-&nbsp;列表后的代码<br>&nbsp;&nbsp;-&nbsp;不是列表" in html
    assert html.index("◦</span>二") < html.index("def&nbsp;f") < html.index("◦</span>三") < html.index("一的代码")


def test_deep_two_space_nesting_renders(site):
    result = render(article(site, "\n".join("  " * i + "- 深" for i in range(300))), THEME)
    assert "深" in result.html


# Documents of lists nested 4 spaces per level (the only nesting Python-Markdown knows) and paragraphs.
WORDS = st.sampled_from(
    ["医保", "报销比例70%", "**门诊**", "`12393`", "[链接](https://mp.weixin.qq.com/s/x)", "text", "问：", "2024年"]
)
LINE = st.lists(WORDS, min_size=1, max_size=3).map(" ".join)
MARKERS = st.sampled_from(["- ", "* ", "+ ", "1. ", "2. ", "10. ", "100. ", "-   ", "1.  "])


@st.composite
def four_space_list(draw, depth: int = 0) -> list[str]:
    indent, inner = "    " * depth, "    " * (depth + 1)
    marker, loose = draw(MARKERS), draw(st.booleans())
    lines: list[str] = []
    for number in range(draw(st.integers(1, 3))):
        if number and loose:
            lines.append("")
        lines.append(indent + marker + draw(LINE))
        if draw(st.booleans()):  # the item's text goes on: indented, or lazily not
            lines.append(draw(st.sampled_from([inner, indent, ""])) + draw(LINE))
        if depth < 3 and draw(st.booleans()):
            lines += [""] * draw(st.booleans()) + draw(four_space_list(depth + 1))
        if draw(st.booleans()):  # a second paragraph in the item, or a code block in it
            lines += ["", draw(st.sampled_from([inner, inner, inner + "    "])) + draw(LINE)]
    return lines


BLOCK = st.one_of(
    LINE.map(lambda text: [text]),
    st.tuples(LINE, LINE).map(list),
    st.tuples(st.sampled_from(["## ", "### "]), LINE).map(lambda parts: ["".join(parts)]),
    four_space_list(),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(BLOCK, st.sampled_from([[""], [""], []])), min_size=1, max_size=5))
def test_four_space_lists_render_as_before(blocks):
    """Lists nested by 4 spaces, as every post was written so far, come out exactly as without NestedLists."""
    lines = [line for block, gap in blocks for line in block + gap]
    source = "\n".join(lines)
    with_nesting, without = _new_markdown(), _new_markdown()
    without.preprocessors.deregister("tuiwen_nested_lists")
    assert with_nesting.convert(source) == without.convert(source)
    assert NestedLists(with_nesting).run(lines) == lines


# --- a quote in an image description never becomes an attribute --------------------------------

class _Attributes(HTMLParser):
    """Every (tag, attribute, value) a browser would see in the HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.seen: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        self.seen += [(tag, name, value or "") for name, value in attrs]

    handle_startendtag = handle_starttag


def attributes(html: str) -> list[tuple[str, str, str]]:
    parser = _Attributes()
    parser.feed(html)
    parser.close()
    return parser.seen


def test_a_quote_in_an_image_description_cannot_add_an_event_handler(site):
    # README: 事件属性会被清除 — even one smuggled in through the picture's description.
    body = '正文\n\n![说明" onerror="steal()](images/poster.png)\n'
    html = render(article(site, body), THEME).html
    seen = attributes(html)
    assert [a for a in seen if a[1].startswith("on")] == []
    assert ("img", "alt", '说明" onerror="steal()') in seen  # the description stays text, quotes and all


# --- raw HTML: what is kept, and what `publish check` tells the editor, word for word -------------
# README: 正文里的原始 HTML 会被清理：脚本、iframe、表单、事件属性、`javascript:` 链接、外站图片都会被移除，
# `publish check` 给出警告，说明移除了什么.

LONG_JS = "javascript:" + "a" * 50
LONG_FTP = "ftp://example.cn/" + "b" * 50


@pytest.mark.parametrize("raw, kept, told", [
    ('<script src="x.js">alert(1)</script>', "",
     [("script", '<script src="x.js">', "已移除 <script> 脚本")]),
    ("<p onclick>点</p>", "<p>点</p>", [("event", 'onclick=""', "已移除事件属性 onclick（微信不运行脚本）")]),
    ('<a href="JavaScript:alert(1)">x</a>', "<a>x</a>",
     [("url", "JavaScript:alert(1)", "已移除危险链接 JavaScript:alert(1)")]),
    (f'<a href="{LONG_JS}">x</a>', "<a>x</a>",
     [("url", LONG_JS[:59] + "…", "已移除危险链接 " + LONG_JS[:39] + "…")]),
    ('<a href="ftp://example.cn/a.doc">x</a>', "<a>x</a>",
     [("url", "ftp://example.cn/a.doc", "已移除不支持的链接 ftp://example.cn/a.doc")]),
    (f'<a href="{LONG_FTP}">x</a>', "<a>x</a>",
     [("url", LONG_FTP[:59] + "…", "已移除不支持的链接 " + LONG_FTP[:39] + "…")]),
    ('<input type="text">', "", [("input", '<input type="text">', "已移除 <input> 表单控件（微信不支持）")]),
    ("<noscript>n</noscript>", "", [("noscript", "<noscript>", "已移除 <noscript> 及其内容（微信不支持）")]),
    ('<font color="red">f</font>', "f", [("font", '<font color="red">', "已移除不支持的标签 <font>（其中文字保留）")]),
    ('<p class="x" id="y">t</p>', "<p>t</p>", [("class", 'class="x"', "已移除 class 属性（微信只保留行内样式）"),
                                               ("id", 'id="y"', "已移除 id 属性（微信只保留行内样式）")]),
    # Kept as written, and nothing reported: a relative image, styles, a title that merely
    # reads like a link, a WeChat article link, escaped text.
    ('<img src="images/a.png" alt="a">', '<img src="images/a.png" alt="a">', []),
    ('<span style="color:red" title="javascript:x">t</span>', '<span style="color:red" title="javascript:x">t</span>', []),
    ('<a href="https://mp.weixin.qq.com/s/x">x</a>', '<a href="https://mp.weixin.qq.com/s/x">x</a>', []),
    ("<p>A &amp; B &lt; C</p>", "<p>A &amp; B &lt; C</p>", []),
], ids=["script", "event", "javascript", "long-javascript", "ftp", "long-ftp", "input", "noscript", "font",
        "class-id", "relative-image", "style-title", "wechat-link", "entities"])
def test_raw_html_is_cleaned_and_each_removal_is_told(raw, kept, told):
    root, removals = sanitize_fragment(raw)
    assert inner_html(root) == kept
    assert [(r.kind, r.snippet, r.message) for r in removals] == told


def test_a_snippet_is_one_line_of_at_most_60_characters():
    assert snippet("甲  乙\n\t丙") == "甲 乙 丙"
    assert snippet("x" * 60) == "x" * 60
    assert snippet("x" * 61) == "x" * 59 + "…" and len(snippet("y" * 500)) == 60


def test_an_account_template_keeps_every_style_block_as_inline_styles():
    html = clean_template_output('<style>p{color:red}</style><style>b{color:blue}</style><p>x<b>y</b></p>'
                                 '<script>steal()</script>')
    assert html == '<p style="color: red;">x<b style="color: blue;">y</b></p>'


def test_raw_html_inside_running_text_is_cleaned_and_the_markdown_around_it_kept(site):
    rendered = render(article(site, '**粗体**和<span onclick="steal()">行内</span>混排，*斜体* A&B\n'), THEME)
    assert ">粗体</strong>和<span>行内</span>混排，<em" in rendered.html and "A&amp;B" in rendered.html
    assert [r.message for r in rendered.removed] == ["已移除事件属性 onclick（微信不运行脚本）"]


# --- the same safety on every supported Python and nh3 -----------------------------------------
# requires-python is 3.11.4: some 3.11 releases' html.parser raises on Word's "<![if !supportLists]>",
# and nh3 before 0.3 has no Cleaner. The behaviour is the same there; these tests stand in for them.

def test_html_the_parser_chokes_on_is_cleaned_all_the_same_and_said_so(monkeypatch):
    from publishers import sanitize

    def choke(self, tag, attrs):
        raise AssertionError("unexpected markup")  # what html.parser's own asserts raise

    monkeypatch.setattr(sanitize._Scanner, "handle_starttag", choke)
    monkeypatch.setattr(sanitize._TreeBuilder, "handle_starttag", choke)
    raw = '<p onclick="x()">甲 &amp; <b>乙</b></p>' + "丙" * 80
    root, removals = sanitize_fragment(raw)
    assert [(r.kind, r.snippet, r.message) for r in removals] == [
        ("html", snippet(raw), "部分 HTML 无法逐项检查，已按安全规则清理")]
    assert root.tag == "div" and len(root) == 0 and root.text == "甲 & 乙" + "丙" * 80  # the text, no markup


def test_words_conditional_comments_are_not_taken_for_broken_html(monkeypatch):
    import _markupbase

    def old_parser(self, i, report=1):  # 3.11 before the fix: an error for "<![if …]>"
        raise AttributeError("'_Scanner' object has no attribute 'error'")

    monkeypatch.setattr(_markupbase.ParserBase, "parse_marked_section", old_parser)
    root, removals = sanitize_fragment("<p><![if !supportLists]>1.<![endif]>文字</p>")
    assert removals == [] and "文字" in inner_html(root)


def test_the_cleaner_is_the_same_with_an_nh3_older_than_0_3(monkeypatch):
    import types

    import nh3

    from publishers import sanitize

    options = dict(tags={"b", "p"}, attributes={"p": {"title"}})
    raw = '<p title="t" onclick="x()">甲<b>乙</b><i>丙</i><script>s()</script></p>'
    expected = '<p title="t">甲<b>乙</b>丙</p>'
    assert sanitize._cleaner(**options)(raw) == expected
    monkeypatch.setattr(sanitize, "nh3", types.SimpleNamespace(clean=nh3.clean))  # no Cleaner class
    assert sanitize._cleaner(**options)(raw) == expected


def test_a_template_style_the_inliner_cannot_use_is_dropped_and_the_rest_kept(monkeypatch):
    import css_inline

    from publishers import sanitize

    class Refusing:
        def inline_fragment(self, html, css):
            raise css_inline.InlineError("unsupported")

    monkeypatch.setattr(sanitize, "_inliner", Refusing())
    html = clean_template_output("<style>p{color:red}</style><p>页脚</p><style>b{}</style>")
    assert html == "<p>页脚</p>"
