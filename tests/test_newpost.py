"""`publish new`: a dated draft from a template, every field explained, never overwriting."""

from __future__ import annotations

import re

from scheduler.newpost import PLACEHOLDER
from scheduler.posts import FIELDS
from scheduler.repository import check_repository


def test_new_creates_a_dated_draft(repo):
    result = repo.publish("new", "policy", "Outpatient mutual aid Q&A", "--at", "2024-05-14 10:30")
    assert result.exit_code == 0, result.output
    path = repo.content / "policy" / "2024-05-14-outpatient-mutual-aid-q-a.md"
    assert "已创建 content/policy/2024-05-14-outpatient-mutual-aid-q-a.md（草稿）" in result.output
    text = path.read_text(encoding="utf-8")
    assert text.startswith('---\ntitle: "Outpatient mutual aid Q&A"\nstatus: draft')
    for key in FIELDS:  # every front-matter field is there, explained (commented when optional)
        assert re.search(rf"^(# )?{key}:", text, re.M), key
    [post] = check_repository(repo.config).posts
    assert post.status == "draft" and post.title == "Outpatient mutual aid Q&A" and post.category == "policy"
    [problem] = post.problems  # only the body, until the editor writes it
    assert (problem.severity, problem.line) == ("error", text.splitlines().index(PLACEHOLDER) + 1)
    assert "占位文字" in problem.message
    path.write_text(text.replace(PLACEHOLDER, "门诊共济问答的正文。"), encoding="utf-8")
    assert check_repository(repo.config).problems == []


def test_a_chinese_title_gets_a_time_slug_and_the_display_name_works(repo):
    result = repo.publish("new", "基金监管", "打击欺诈骗保 维护基金安全：举报有奖", "--at", "2024-04-01 08:05:09")
    assert result.exit_code == 0, result.output
    path = repo.content / "fund-supervision" / "2024-04-01-post-080509.md"
    assert 'title: "打击欺诈骗保 维护基金安全：举报有奖"' in path.read_text(encoding="utf-8")
    [post] = check_repository(repo.config).posts
    assert post.title == "打击欺诈骗保 维护基金安全：举报有奖"
    assert [p.message for p in post.problems if "占位文字" not in p.message] == []


def test_two_chinese_titles_in_one_second_get_two_files(repo):
    first = repo.publish("new", "news", "医保服务热线", "--at", "2024-04-01 08:05:09")
    second = repo.publish("new", "news", "参保缴费提醒", "--at", "2024-04-01 08:05:09")
    assert first.exit_code == second.exit_code == 0, second.output
    files = sorted(p.name for p in (repo.content / "news").glob("*.md"))
    assert files == ["2024-04-01-post-080509-2.md", "2024-04-01-post-080509.md"]
    titles = {p.title for p in check_repository(repo.config).posts}
    assert titles == {"医保服务热线", "参保缴费提醒"}


def test_new_refuses_to_overwrite_and_unknown_categories(repo):
    assert repo.publish("new", "news", "Weekly", "--at", "2024-05-14 10:30").exit_code == 0
    before = (repo.content / "news" / "2024-05-14-weekly.md").read_bytes()
    again = repo.publish("new", "news", "Weekly", "--at", "2024-05-14 10:30")
    assert again.exit_code == 2 and "已存在，不会覆盖" in again.output
    assert (repo.content / "news" / "2024-05-14-weekly.md").read_bytes() == before
    unknown = repo.publish("new", "fraud", "x")
    assert unknown.exit_code == 2 and "未知分类“fraud”" in unknown.output


def test_a_long_title_is_warned(repo):
    title = "关于做好2025年度城乡居民基本医疗保险参保缴费工作的通知及说明！"
    result = repo.publish("new", "policy", title, "--at", "2024-09-03 09:00")
    assert result.exit_code == 0 and "超过微信上限 32 个字" in result.output


def test_with_roles_the_template_explains_the_review(repo):
    repo.write_config('[review]\nroles = ["初审", "复审", "终审"]\n')
    repo.publish("new", "news", "Review", "--at", "2024-05-14 10:30")
    text = (repo.content / "news" / "2024-05-14-review.md").read_text(encoding="utf-8")
    assert "先改为 ready 再请审核人 publish approve" in text
