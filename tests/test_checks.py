"""`publish check`: every validation rule, each broken by exactly one post.

Each test asserts what an editor reads: the path relative to content/, the line,
the severity and the message.
"""

from __future__ import annotations

import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.repository import check_repository
from tests.conftest import GOOD_FRONT


def problems(repo, rel=None):
    found = check_repository(repo.config).problems
    return [p for p in found if rel is None or p.path == rel]


def only_error(repo, rel):
    errors = [p for p in problems(repo, rel) if p.severity == "error"]
    assert len(errors) == 1, errors
    return errors[0]


def test_a_good_post_has_no_problems(repo):
    repo.image("policy/images/a.jpg")
    repo.post("policy/ok.md", GOOD_FRONT + "cover: images/a.jpg\n", "正文。\n\n![示意图](images/a.jpg)\n")
    assert problems(repo) == []


def test_missing_title(repo):
    repo.post("policy/a.md", "status: ready\nauthor: 医保局\n")
    error = only_error(repo, "policy/a.md")
    assert (error.line, error.message) == (1, "缺少标题：请写 title 字段")


def test_title_over_32_characters(repo):
    title = "关于做好2025年度城乡居民基本医疗保险参保缴费工作的通知及说明！"
    assert len(title) == 33
    repo.post("policy/long.md", f"status: ready\ntitle: {title}\n")
    error = only_error(repo, "policy/long.md")
    assert error.line == 3
    assert error.message == "标题有 33 个字，超过微信上限 32 个字"


def test_title_of_exactly_32_characters_passes(repo):
    repo.post("policy/ok.md", "status: ready\ntitle: " + "医" * 32 + "\n")
    assert problems(repo) == []


def test_emoji_count_twice_like_wechat(repo):
    repo.post("policy/e.md", "status: ready\ntitle: " + "医" * 31 + "😀\n")
    assert "33 个字" in only_error(repo, "policy/e.md").message


def test_author_over_16(repo):
    repo.post("news/a.md", GOOD_FRONT + "author: 屈原管理区医疗保障局基金监管股工作组\n")
    error = only_error(repo, "news/a.md")
    assert (error.line, error.message) == (4, "作者有 18 个字，超过微信上限 16 个字")


def test_digest_over_128(repo):
    repo.post("news/d.md", GOOD_FRONT + "digest: " + "摘" * 129 + "\n")
    error = only_error(repo, "news/d.md")
    assert (error.line, error.message) == (4, "摘要有 129 个字，超过微信上限 128 个字")


def test_unknown_category_in_front_matter(repo):
    repo.post("news/c.md", GOOD_FRONT + "category: 医保新闻\n")
    error = only_error(repo, "news/c.md")
    assert error.line == 4
    assert error.message.startswith("未知分类“医保新闻”，可用分类：weekly-study（每周一学）")


def test_unknown_category_folder(repo):
    repo.post("misc/c.md")
    error = only_error(repo, "misc/c.md")
    assert error.line == 1
    assert error.message.startswith("无法确定分类：文件夹“misc”不是分类")


def test_category_from_front_matter_by_key_or_name_overrides_folder(repo):
    repo.post("misc/by-key.md", GOOD_FRONT + "category: fund-supervision\n")
    repo.post("misc/by-name.md", GOOD_FRONT + "category: 典型案例\n")
    result = check_repository(repo.config)
    assert result.problems == []
    assert {p.rel: p.category for p in result.posts} == {
        "misc/by-key.md": "fund-supervision", "misc/by-name.md": "typical-cases"}


@pytest.mark.parametrize("key, value", [
    ("publish_after", "2024-13-01"),
    ("publish_after", "next tuesday"),
    ("expires", "2024-02-30"),
    ("expires", "30/04/2024"),
])
def test_bad_dates(repo, key, value):
    repo.post("news/d.md", GOOD_FRONT + f'{key}: "{value}"\n')
    error = only_error(repo, "news/d.md")
    assert error.line == 4
    assert error.message == f"{key}: “{value}”不是有效的日期，应写成 2024-04-01 或 2024-04-01 08:00"


def test_dates_in_every_accepted_form(repo):
    repo.post("news/d.md", GOOD_FRONT + "publish_after: 2024-04-01 08:00\nexpires: 2024-04-30\n")
    [post] = check_repository(repo.config).posts
    assert post.publish_after.isoformat() == "2024-04-01T08:00:00+08:00"
    assert post.expires.isoformat() == "2024-05-01T00:00:00+08:00"  # through 30 April


def test_publish_after_after_expires(repo):
    repo.post("news/w.md", GOOD_FRONT + "publish_after: 2024-05-02 08:00\nexpires: 2024-04-30\n")
    error = only_error(repo, "news/w.md")
    assert error.line == 5
    assert "这篇文章永远不会发布" in error.message


def test_missing_image(repo):
    repo.post("news/i.md", body="第一段。\n\n![现场照片](images/none.jpg)\n")
    error = only_error(repo, "news/i.md")
    assert (error.line, error.message) == (7, "图片 images/none.jpg 不存在：路径相对这篇文章所在的文件夹，如 images/cover.jpg（文件名区分大小写）")


def test_missing_cover(repo):
    repo.post("news/c.md", GOOD_FRONT + "cover: images/cover.jpg\n")
    error = only_error(repo, "news/c.md")
    assert (error.line, error.message) == (4, "封面 images/cover.jpg 不存在：路径相对这篇文章所在的文件夹，如 images/cover.jpg（文件名区分大小写）")


def test_file_that_is_not_an_image(repo):
    repo.raw("news/images/fake.jpg", b"this is text, not a JPEG")
    repo.post("news/i.md", body="![海报](images/fake.jpg)\n")
    error = only_error(repo, "news/i.md")
    assert (error.line, error.message) == (5, "图片 images/fake.jpg 不是图片（支持 JPG、PNG、GIF、WebP、BMP）")


def test_image_in_html_is_checked_too(repo):
    repo.post("news/i.md", body='<p><img src="images/missing.png" alt="x"></p>\n')
    assert only_error(repo, "news/i.md").message == "图片 images/missing.png 不存在：路径相对这篇文章所在的文件夹，如 images/cover.jpg（文件名区分大小写）"


def test_images_in_code_blocks_are_not_references(repo):
    repo.post("news/code.md", body="示例：\n\n```markdown\n![图](images/none.jpg)\n```\n")
    assert problems(repo) == []


@pytest.mark.parametrize("ref, reason", [
    ("../../etc/passwd", "指向内容仓库之外"),
    ("images/../../../../etc/passwd", "指向内容仓库之外"),
    ("..%2F..%2F..%2Fetc%2Fpasswd", "指向内容仓库之外"),
    ("/etc/passwd", "必须是相对于文章的路径"),
    ("file:///etc/passwd", "不可用"),
])
def test_paths_outside_the_repository_are_refused(repo, ref, reason):
    repo.post("news/t.md", GOOD_FRONT + f"cover: {ref}\n")
    error = only_error(repo, "news/t.md")
    assert error.line == 4
    assert reason in error.message


def test_traversal_is_refused_without_opening_the_target(repo, tmp_path):
    secret = tmp_path / "outside" / "secret.jpg"
    secret.parent.mkdir()
    secret.write_bytes(b"\xff\xd8\xff" + b"x" * 100)  # a valid-looking JPEG: only a read could tell
    rel = "../../../outside/secret.jpg"
    repo.post("news/t.md", GOOD_FRONT + f"cover: {rel}\n", f"正文\n\n![x]({rel})\n")

    opened = []

    def audit(event, args):
        if event == "open" and args and str(args[0]).endswith("secret.jpg"):
            opened.append(args[0])

    sys.addaudithook(audit)  # audit hooks cannot be removed; this one only records
    errors = [p for p in problems(repo) if p.severity == "error"]
    assert len(errors) == 2 and all("内容仓库之外" in p.message for p in errors)
    assert opened == []


def test_symlink_out_of_the_repository_is_refused(repo, tmp_path):
    outside = tmp_path / "outside.jpg"
    outside.write_bytes(b"\xff\xd8\xff")
    link = repo.content / "news" / "images" / "link.jpg"
    link.parent.mkdir(parents=True)
    link.symlink_to(outside)
    repo.post("news/s.md", body="![x](images/link.jpg)\n")
    assert "指向内容仓库之外的链接" in only_error(repo, "news/s.md").message


def test_remote_images_are_warned_about(repo):
    repo.post("news/r.md", body="![x](https://example.com/a.jpg)\n\n![y](http://mmbiz.qpic.cn/mmbiz_jpg/abc/0)\n")
    [warning] = problems(repo, "news/r.md")
    assert warning.severity == "warning" and warning.line == 5
    assert "外部图片 https://example.com/a.jpg 不会显示" in warning.message


def test_malformed_yaml_reports_the_line_of_the_error(repo):
    repo.post("news/y.md", "title: 标题\nstatus: ready\ndigest: \"没有结束的引号\nauthor: x\n")
    error = only_error(repo, "news/y.md")
    assert error.message.startswith("YAML 头部格式错误")
    assert error.line == 4  # where the unclosed quote opens, not where the scanner gave up


def test_malformed_yaml_bad_indentation(repo):
    repo.post("news/y.md", "title: 标题\nstatus: ready\n  author: x\n")
    error = only_error(repo, "news/y.md")
    assert error.message.startswith("YAML 头部格式错误") and error.line == 4


@pytest.mark.parametrize("front, kind", [("- a\n- b\n", "一个列表"), ("42\n", "一个数字")])
def test_front_matter_that_is_not_a_mapping(repo, front, kind):
    repo.post("news/l.md", front)
    error = only_error(repo, "news/l.md")
    assert error.line == 2
    assert error.message == f"YAML 头部应为“字段: 值”的形式，现在是{kind}；每行写一个字段，例如 status: ready"


def test_missing_front_matter(repo):
    repo.raw("news/plain.md", "# 只有正文\n".encode())
    assert only_error(repo, "news/plain.md").message.startswith("缺少 YAML 头部")


def test_unclosed_front_matter(repo):
    repo.raw("news/open.md", "---\ntitle: x\n正文\n".encode())
    assert only_error(repo, "news/open.md").message == "YAML 头部没有结束：缺少第二行 ---"


def test_non_utf8_file_names_the_line(repo):
    text = "---\ntitle: 标题\nstatus: ready\n---\n第一段\n第二段乱码\n"
    repo.raw("news/gbk.md", text.encode("gbk"))
    error = only_error(repo, "news/gbk.md")
    assert error.line == 2  # the first non-UTF-8 byte is in the title
    assert error.message.startswith("文件不是 UTF-8 编码")


def test_binary_file_named_md(repo):
    repo.raw("news/photo.md", b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    assert "UTF-8" in only_error(repo, "news/photo.md").message


def test_empty_body(repo):
    repo.post("news/e.md", body="\n   \n")
    error = only_error(repo, "news/e.md")
    assert (error.line, error.message) == (5, "正文为空：请在第二行 --- 之后写正文")


@pytest.mark.parametrize("line, message", [
    ("status: published", "status: “published”应为 ready（可发布）或 draft（草稿）"),
    ("priority: high", "priority: “high”应为整数，例如 0、1、-1"),
    ("priority: 100000000000000000000", "priority: 100000000000000000000 超出范围，应为 -1000 到 1000 之间的整数"),
    ("lead: 是", "lead: “是”应为 true 或 false"),
    ("comments: 1", "comments: “1”应为 true 或 false"),
    ("source_url: www.gov.cn", "source_url: “www.gov.cn”应为 http:// 或 https:// 开头的完整网址"),
    ("title: [a, b]", "title: 应为一段文字，不是列表、表或 true/false；文字以 [ { - 开头或是 true、yes 等词时请加引号"),
])
def test_field_types(repo, line, message):
    front = "title: 标题\nstatus: ready\n" if not line.startswith(("title", "status")) else "status: ready\ntitle: 标题\n"
    front = "\n".join(row for row in front.splitlines() if not row.startswith(line.split(":")[0])) + "\n" + line + "\n"
    repo.post("news/f.md", front)
    error = only_error(repo, "news/f.md")
    assert error.message == message
    assert error.line == front.splitlines().index(line) + 2


def test_unknown_field_and_missing_status_are_warnings(repo):
    repo.post("news/w.md", "title: 标题\ntitel: 标题\n")
    found = problems(repo, "news/w.md")
    assert [p.severity for p in found] == ["warning", "warning"]
    assert found[0].line == 1 and found[0].message.startswith("未写 status")
    assert found[1].line == 3 and found[1].message.startswith("未知字段 titel")


def test_review_required_needs_reviewer_and_approver(repo):
    repo.write_config('[review]\nrequired = true\n')
    repo.post("news/r.md", GOOD_FRONT + "reviewed_by: 王丽\n")
    repo.post("news/draft.md", "title: 草稿\nstatus: draft\n")
    error = only_error(repo, "news/r.md")
    assert error.message == "已要求先审后发（[review].required）：缺少 approved_by（签发人）"
    assert problems(repo, "news/draft.md") == []


def test_one_broken_post_does_not_stop_the_others(repo):
    repo.raw("news/broken.md", b"\xff\xfe\x00garbage")
    repo.post("news/a.md", "title: 一\nstatus: ready\n")
    repo.post("policy/b.md", "title: " + "长" * 40 + "\nstatus: ready\n")
    repo.post("services/c.md", "title: 三\nstatus: ready\n")
    result = check_repository(repo.config)
    assert [p.rel for p in result.posts] == ["news/a.md", "news/broken.md", "policy/b.md", "services/c.md"]
    assert [p.path for p in result.problems] == ["news/broken.md", "policy/b.md"]
    assert [p.ok for p in result.posts] == [True, False, False, True]


def test_check_command_output_and_exit_codes(repo):
    repo.post("news/a.md")
    ok = repo.publish("check")
    assert ok.exit_code == 0
    assert ok.output.strip() == "共检查 1 篇文章：0 个错误，0 个警告；1 篇可发布。"

    repo.post("policy/bad.md", "status: ready\n")
    bad = repo.publish("check")
    assert bad.exit_code == 1
    lines = bad.output.strip().splitlines()
    assert lines[0] == "policy/bad.md:1: 错误: 缺少标题：请写 title 字段"
    assert lines[-1] == "共检查 2 篇文章：1 个错误，0 个警告；1 篇可发布。"


def test_options_work_before_and_after_the_subcommand(repo, monkeypatch, tmp_path):
    from click.testing import CliRunner

    from scheduler.cli import main

    repo.post("news/a.md")
    monkeypatch.chdir(tmp_path)  # no config.toml here
    after = CliRunner().invoke(main, ["check", "--config", str(repo.config_path)])
    before = CliRunner().invoke(main, ["--config", str(repo.config_path), "check"])
    assert after.exit_code == before.exit_code == 0
    assert after.output == before.output
    missing = CliRunner().invoke(main, ["check"])
    assert missing.exit_code == 2 and "找不到配置文件" in missing.output


def test_folders_starting_with_underscore_or_dot_are_not_posts(repo):
    repo.raw("_covers/notes.md", b"not a post")
    repo.raw(".git/x.md", b"not a post")
    repo.raw("README.md", "# 编辑指南\n".encode())
    repo.post("news/a.md")
    assert [p.rel for p in check_repository(repo.config).posts] == ["news/a.md"]


def test_check_renders_and_warns_about_what_the_sanitiser_removes(repo):
    repo.post("news/x.md", body='第一段。\n\n<p onclick="steal()">点我</p>\n\n<script>alert(1)</script>\n')
    found = problems(repo, "news/x.md")
    assert found and all(p.severity == "warning" and p.line == 5 for p in found)
    text = " ".join(p.message for p in found)
    assert "script" in text or "脚本" in text


def test_check_rejects_a_post_over_wechats_content_limit(repo):
    paragraph = "医保基金是人民群众的看病钱救命钱。" * 20 + "\n\n"
    repo.post("news/long.md", body=paragraph * 70)  # ~24,000 characters of text alone
    error = only_error(repo, "news/long.md")
    assert error.line == 5
    assert "超过微信上限：须少于 20000 字符" in error.message


def test_shipped_sample_content_checks_clean():
    from scheduler.config import load_config
    from tests.conftest import REPO_ROOT

    result = check_repository(load_config(REPO_ROOT / "config.toml"))
    assert result.problems == []
    assert len(result.posts) >= 8
    assert {p.category for p in result.posts} == set(load_config(REPO_ROOT / "config.toml").categories)


def test_lines_that_read_two_ways_are_warned_about_with_their_line(repo):
    body = "说明：\n1.提交申请\n\n以上内容来源于国家医保局官网。\n---\n#医保基金监管宣传月#\n\n## 办理材料\n- 身份证\n- 户口簿\n"
    repo.post("policy/a.md", body=body)
    found = [str(p) for p in problems(repo, "policy/a.md")]
    assert found == [
        "policy/a.md:6: 警告: “1.提交申请”像列表项，但编号后没有空格，已按原样单独成行；如要列表，请在编号后加一个空格",
        "policy/a.md:9: 警告: “---”紧接在文字下面，已按分隔线显示；如要小标题，请写成“## 标题”",
        "policy/a.md:10: 警告: “#医保基金监管宣传月#”按微信话题显示为文字，不是标题；如要标题，请在 # 后加空格",
    ]
    # written unambiguously, the same post has nothing to warn about
    repo.post("policy/a.md", body="说明：\n\n1. 提交申请\n\n以上内容来源于国家医保局官网。\n\n---\n\n\\#医保基金监管宣传月#\n")
    assert problems(repo, "policy/a.md") == []
def test_images_recompressed_or_converted_at_upload_are_warned_with_both_sizes(repo, fake, monkeypatch):
    import io
    import re

    from PIL import Image

    monkeypatch.setenv("WECHAT_APP_ID", fake.appid)
    monkeypatch.setenv("WECHAT_APP_SECRET", fake.secret)
    repo.write_config(f'[account]\nname = "测试医保"\napi_base_url = "{fake.url}"\n')
    noise = Image.effect_noise((1600, 1200), 80).convert("RGB")
    for name, fmt, image in (("big.jpg", "JPEG", noise), ("photo.webp", "WEBP", noise.resize((400, 300))),
                             ("scan.bmp", "BMP", noise.resize((200, 150))), ("small.png", "PNG", noise.resize((40, 30)))):
        buffer = io.BytesIO()
        image.save(buffer, fmt, **({"quality": 98} if fmt == "JPEG" else {}))
        repo.raw(f"news/images/{name}", buffer.getvalue())
    repo.post("news/p.md", GOOD_FRONT, "正文。\n\n![](images/big.jpg)\n\n![](images/photo.webp)\n\n"
                                       "![](images/scan.bmp)\n\n![](images/small.png)\n")
    warnings = {p.line: p.message for p in problems(repo, "news/p.md")}
    assert all(p.severity == "warning" for p in problems(repo, "news/p.md"))
    assert sorted(warnings) == [7, 9, 11]  # the small PNG goes up as it is
    assert re.match(r"图片 big\.jpg（JPEG 格式，\d\.\d MB）超过微信正文图片 1 MB 的上限，上传时会转为 JPG（约 \d+ KB），画质可能下降", warnings[7])
    assert warnings[9].startswith("图片 photo.webp（WebP 格式，") and "微信正文图片只收 JPG 和 PNG" in warnings[9]
    assert warnings[11].startswith("图片 scan.bmp（BMP 格式，") and "上传时会转为 PNG（约" in warnings[11]

    result = repo.publish("--at", "2024-04-02 09:00")
    assert result.exit_code == 0, result.output
    sizes = sorted(round(image["size"] / 1024) for image in fake.images.values())
    said = sorted(int(re.search(r"约 (\d+) KB", warnings[line]).group(1)) for line in (7, 9, 11))
    assert all(any(abs(s - n) <= 1 for s in sizes) for n in said), (said, sizes)  # the sizes said are the sizes sent


@pytest.mark.parametrize("front, line, message", [
    ("title: 标题\nstatus：ready\n", 3, "YAML 头部格式错误：冒号要用英文半角“:”并在后面加一个空格，例如 status: ready"),
    ("status：ready\n", 2, "YAML 头部应为“字段: 值”的形式，现在是一段文字；冒号要用英文半角“:”并在后面加一个空格，例如 status: ready"),
    ("title: 标题\n\tstatus: ready\n", 3, "YAML 头部格式错误：含有制表符（Tab）；缩进和分隔请用空格"),
    ("title: !!python/object:os.system x\nstatus: ready\n", 2,
     "YAML 头部格式错误：不支持“!!”开头的 YAML 标签（如 !!python/object），请删去标签，只写值"),
    ("title: *x\nstatus: ready\n", 2, "YAML 头部格式错误：用了未定义的别名（*名字）；头部不需要别名，请直接写值"),
    ("a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
     "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ntitle: *d\n", 2,
     "YAML 头部展开后过大（超过 5000 项，可能是别名循环引用）；请直接写“字段: 值”，不要用 & 和 *"),
    ('title: "医保\\u202e新规"\nstatus: ready\n', 2,
     "title: 第 3 个字符是看不见的双向反转 U+202E，会让读者看到的文字与所写不同或藏起文字；请删去后重新输入"),
    ('title: "医保\\u200b新规"\nstatus: ready\n', 2,
     "title: 第 3 个字符是看不见的零宽空格 U+200B，会让读者看到的文字与所写不同或藏起文字；请删去后重新输入"),
    ('title: "a\\0b"\nstatus: ready\n', 2,
     "title: 第 2 个字符是控制字符 U+0000，会让读者看到的文字与所写不同或藏起文字；请删去后重新输入"),
    ("title: 标题\nstatus: ready\npublish_after: 2026-02-30\n", 4,
     "publish_after: “2026-02-30”不是有效的日期，应写成 2024-04-01 或 2024-04-01 08:00"),
    ("title: 标题\nstatus: ready\npublish_after: 2024-04-01 24:00\n", 4,
     "publish_after: “2024-04-01 24:00”不是有效的日期，应写成 2024-04-01 或 2024-04-01 08:00"),
    ("title: 标题\nstatus: ready\nexpires: 2300-01-01\n", 4, "expires: “2300-01-01”的年份应在 2000 到 2100 之间，例如 2024-04-01"),
    ("title: 标题\nstatus: ready\npriority: .nan\n", 4, "priority: “nan”应为整数，例如 0、1、-1"),
    ("title: 标题\nstatus: [ready]\n", 3, "status: “（列表或表）”应为 ready（可发布）或 draft（草稿）"),
    ("title: 标题\nstatus: ready\ncategory: {a: 1}\n", 4,
     "category: 应为分类键或中文名，例如 category: policy；可用分类："),
])
def test_header_mistakes_are_named_with_what_to_write(repo, front, line, message):
    repo.post("news/h.md", front)
    error = only_error(repo, "news/h.md")
    assert error.line == line and error.message.startswith(message), error


def test_an_emoji_family_in_a_title_is_not_an_invisible_character(repo):
    repo.post("news/e.md", 'title: "全家参保👨\\u200d👩\\u200d👧"\nstatus: ready\n')
    assert problems(repo, "news/e.md") == []


def test_dates_with_an_offset_as_yaml_writes_them_are_read(repo):
    repo.post("news/d.md", GOOD_FRONT + "publish_after: 2024-04-01T08:00:00+08:00\n")
    [post] = check_repository(repo.config).posts
    assert post.problems == [] and post.publish_after.isoformat() == "2024-04-01T08:00:00+08:00"


@pytest.mark.parametrize("body, line, start", [
    ("\n".join("  " * i + "- 项" for i in range(20)), 17, "列表或引用嵌套超过 12 层"),  # the 13th level
    ("引言\n\n" + "> " * 13 + "太深的引用", 7, "列表或引用嵌套超过 12 层"),
    ("第一段\n\n" + "[" * 1500, 7, "方括号“[”太多（一段里有 1,500 个）"),
    ("医" * 50_001, 5, "正文有 50,001 个字符，排版后必然超过微信上限"),
])
def test_bodies_past_the_work_bounds_are_errors_and_never_rendered(repo, monkeypatch, body, line, start):
    from scheduler import checks

    rendered = []
    monkeypatch.setattr(checks, "render_post", lambda *a, **k: rendered.append(a) or pytest.fail("rendered"))
    repo.post("news/b.md", GOOD_FRONT, body)
    error = only_error(repo, "news/b.md")
    assert error.line == line and error.message.startswith(start), error
    assert rendered == []


def test_lists_nested_three_deep_and_code_indented_far_are_fine(repo):
    code = "```\n" + "\n".join(" " * 4 * i + "- 不是列表" for i in range(30)) + "\n```\n"
    repo.post("news/ok.md", GOOD_FRONT, "- 一\n  - 二\n    - 三\n\n" + code + "\n" + "[1] " * 50 + "\n")
    assert problems(repo, "news/ok.md") == []


def test_a_bidi_override_in_the_body_is_an_error_at_its_line(repo):
    repo.post("news/b.md", GOOD_FRONT, "第一段。\n\n举报奖励最高\u202e元万02\u202c。\n")
    error = only_error(repo, "news/b.md")
    assert (error.line, error.message) == (7, "正文里有看不见的双向控制字符 U+202E，会让读者看到的文字顺序与所写不同；请删去")


def test_a_render_that_never_ends_is_stopped_and_reported(repo, monkeypatch):
    """The backstop for what the bounds miss: rendering past its time limit is an error, and the check goes on."""
    import time

    from scheduler import checks

    def endless(post, *args, **kwargs):
        if post.rel == "news/slow.md":
            while True:
                time.sleep(0.01)
        return real(post, *args, **kwargs)

    real = checks.render_post
    monkeypatch.setattr(checks, "RENDER_SECONDS", 1)
    monkeypatch.setattr(checks, "render_post", endless)
    repo.post("news/slow.md", GOOD_FRONT, "正文。\n")
    repo.post("news/fine.md", GOOD_FRONT, "正文。\n")
    error = only_error(repo, "news/slow.md")
    assert (error.line, error.message) == (5, "排版超过 1 秒仍未完成，已放弃；这篇文章的排版过于复杂（如大量嵌套或未配对的符号），请简化后再检查")
    assert problems(repo, "news/fine.md") == []


_LINE = st.builds(
    lambda indent, quotes, marker, text: indent + "> " * quotes + marker + text,
    st.sampled_from(["\t", "\t ", " \t", "\t\t", "  \t"]) | st.integers(0, 40).map(lambda n: " " * n),
    st.integers(0, 15),
    st.sampled_from(["- ", "* ", "+ ", "1. ", "12) ", "-\t", "", "```", "~~~", "-", "1.x "]),
    st.sampled_from(["项", "", "正文", "> 引"]),
)


@settings(max_examples=500, deadline=None)
@given(lines=st.lists(_LINE, max_size=40))
def test_the_quick_nesting_bound_never_lets_a_too_deep_body_through(lines):
    """The two-pass bound decides most bodies; whatever the lists, quotes, tabs and fences, what
    it lets through is what the line-by-line walk lets through."""
    from scheduler import workbounds

    body = "\n".join(lines)
    if workbounds._nesting_bound(body) <= workbounds.MAX_NESTING:
        assert workbounds._too_deep(body) is None
    assert workbounds._too_heavy(body) == workbounds._too_deep(body)
