"""Sign-off bound to content: `publish approve`, the records file, the check, the bundle and the footer."""

from __future__ import annotations

import hashlib
import re
import tomllib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler import signoff
from scheduler.articles import render_post
from scheduler.posts import read_post
from scheduler.repository import check_repository
from tests.conftest import GOOD_FRONT, MINIMAL_CONFIG, run_together

ROLES = MINIMAL_CONFIG + '[review]\nroles = ["初审", "复审", "终审"]\n'
SHANGHAI = timezone(timedelta(hours=8))
POST = "fund-supervision/2024-04-01-qidong.md"
BODY = "4月是医保基金监管集中宣传月。区医保局将通过“五进”宣传、定点咨询、以案说法等形式，动员全社会共同守护群众的“救命钱”。\n"


@pytest.fixture
def signed(repo):
    """A repository with [review].roles and two ready posts."""
    repo.write_config(ROLES)
    repo.post(POST, GOOD_FRONT, BODY)
    repo.post("policy/2024-03-30-menzhen.md", "title: 职工医保门诊共济问答\nstatus: ready\n", "问：门诊费用怎么报销？\n")
    return repo


def approve(repo, rel, by, role, at="2024-03-30 10:00"):
    return repo.publish("approve", f"content/{rel}", "--by", by, "--role", role, "--at", at)


def approve_all(repo, rel, day="2024-03-30"):
    for hour, (by, role) in enumerate((("张三", "初审"), ("李四", "复审"), ("王五", "终审")), 10):
        result = approve(repo, rel, by, role, f"{day} {hour}:00")
        assert result.exit_code == 0, result.output


def errors_of(repo, rel):
    return [p for p in check_repository(repo.config).problems if p.path == rel and p.severity == "error"]


def records(repo):
    return tomllib.loads((repo.content / ".signoff.toml").read_text(encoding="utf-8"))


# --- recording --------------------------------------------------------------------------

def test_approve_records_who_approved_which_content(signed, monkeypatch):
    monkeypatch.chdir(signed.root)
    result = approve(signed, POST, "张三", "初审")
    assert result.exit_code == 0, result.output
    assert f"已记录：初审 张三 审核通过 {POST}" in result.output
    assert "缺少 复审、终审" in result.output
    digest = hashlib.sha256((signed.content / POST).read_bytes()).hexdigest()
    assert records(signed) == {POST: [{"role": "初审", "by": "张三", "sha256": digest,
                                       "at": datetime(2024, 3, 30, 10, 0, tzinfo=SHANGHAI)}]}


def test_a_path_relative_to_content_works_too(signed, monkeypatch):
    monkeypatch.chdir(signed.root.parent)  # neither the repository nor content/
    result = signed.publish("approve", POST, "--by", "张三", "--role", "初审", "--at", "2024-03-30 10:00")
    assert result.exit_code == 0, result.output


def test_the_file_is_sorted_readable_and_written_atomically(signed, monkeypatch):
    monkeypatch.chdir(signed.root)
    approve(signed, POST, "王五", "终审")
    approve(signed, "policy/2024-03-30-menzhen.md", "张三", "初审")
    approve(signed, POST, "张三", "初审")
    text = (signed.content / ".signoff.toml").read_text(encoding="utf-8")
    assert text.startswith("# 审核签发记录")
    order = re.findall(r'^\[\["(.+?)"\]\]\nrole = "(.+?)"', text, re.M)
    assert order == [(POST, "初审"), (POST, "终审"), ("policy/2024-03-30-menzhen.md", "初审")]
    assert sorted(p.name for p in signed.content.iterdir() if p.name.startswith(".")) == [".signoff.toml"]
    # Re-approving a role replaces that role's entry: one current entry per role.
    approve(signed, POST, "赵六", "初审", "2024-03-31 09:00")
    assert [e["by"] for e in records(signed)[POST]] == ["赵六", "王五"]


def test_names_and_paths_with_quotes_survive_the_round_trip(signed, monkeypatch):
    monkeypatch.chdir(signed.root)
    rel = 'news/a "quoted" \\ name.md'
    signed.post(rel, GOOD_FRONT, BODY)
    result = signed.publish("approve", f"content/{rel}", "--by", '欧阳"小"\\明', "--role", "初审")
    assert result.exit_code == 0, result.output
    assert records(signed)[rel][0]["by"] == '欧阳"小"\\明'


def test_concurrent_approvals_are_not_lost(signed):
    rels = [f"news/2024-04-{n:02d}-p.md" for n in range(1, 9)]
    for rel in rels:
        signed.post(rel, GOOD_FRONT, BODY)
    config = signed.config
    at = datetime(2024, 4, 1, 9, 0, tzinfo=SHANGHAI)
    failures: list[BaseException] = []

    def approving(rel: str):
        def approve() -> None:
            try:
                signoff.approve(config, signed.content / rel, "张三", "初审", at)
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                failures.append(exc)
        return approve

    run_together([approving(rel) for rel in rels])
    assert failures == []
    assert set(rels) <= set(records(signed))


@pytest.mark.parametrize("target, reason", [
    ("../config.toml", "不在内容仓库"),
    ("content/../../outside.md", "不在内容仓库"),
    ("content/README.md", "不是文章"),
    ("content/_drafts/x.md", "不是文章"),
    ("content/news/images/a.jpg", "不是文章"),
    ("content/news/missing.md", "找不到文章"),
])
def test_approve_refuses_what_is_not_a_post(signed, monkeypatch, target, reason):
    monkeypatch.chdir(signed.root)
    (signed.root.parent / "outside.md").write_text("---\ntitle: x\n---\n", encoding="utf-8")
    signed.post("README.md", GOOD_FRONT)
    signed.post("_drafts/x.md", GOOD_FRONT)
    signed.image("news/images/a.jpg")
    result = signed.publish("approve", target, "--by", "张三", "--role", "初审")
    assert result.exit_code == 2
    assert reason in result.output
    assert not (signed.content / ".signoff.toml").exists()


def test_approve_refuses_a_role_not_configured_and_an_empty_name(signed, monkeypatch):
    monkeypatch.chdir(signed.root)
    result = signed.publish("approve", f"content/{POST}", "--by", "张三", "--role", "签发")
    assert result.exit_code == 2 and "角色“签发”不在可用角色 初审、复审、终审 之中（[review].roles）" in result.output
    result = signed.publish("approve", f"content/{POST}", "--by", " ", "--role", "初审")
    assert result.exit_code == 2 and "--by 不能为空" in result.output
    assert not (signed.content / ".signoff.toml").exists()


def test_approving_a_draft_warns_that_setting_ready_will_void_it(signed, monkeypatch):
    monkeypatch.chdir(signed.root)
    signed.post("news/d.md", "title: 草稿\nstatus: draft\n", BODY)
    result = approve(signed, "news/d.md", "张三", "初审")
    assert result.exit_code == 0 and "还是草稿" in result.output


# --- the check and the bundle ------------------------------------------------------------

def test_a_ready_post_needs_every_role(signed, monkeypatch):
    monkeypatch.chdir(signed.root)
    [error] = errors_of(signed, POST)
    assert error.line == 3  # the status line
    assert "审核签发未完成（[review].roles）：缺少 初审、复审、终审" in error.message
    approve(signed, POST, "张三", "初审")
    approve(signed, POST, "李四", "复审")
    [error] = errors_of(signed, POST)
    assert "缺少 终审" in error.message and "初审" not in error.message
    approve(signed, POST, "王五", "终审")
    assert errors_of(signed, POST) == []


def test_an_edit_after_approval_blocks_the_post(signed, monkeypatch, tmp_path):
    monkeypatch.chdir(signed.root)
    approve_all(signed, POST)
    approve_all(signed, "policy/2024-03-30-menzhen.md")
    dry = signed.publish("--dry-run", "--at", "2024-04-02 09:00", "--out", str(tmp_path / "p1"))
    assert "打击欺诈骗保 维护基金安全" in dry.output and "职工医保门诊共济问答" in dry.output

    path = signed.content / POST
    path.write_text(path.read_text(encoding="utf-8").replace("五进", "六进"), encoding="utf-8")

    check = signed.publish("check")
    assert check.exit_code == 1
    void = ("内容在 初审（张三，2024-03-30 10:00）、复审（李四，2024-03-30 11:00）、终审（王五，2024-03-30 12:00） "
            "审核后被修改，需要重新审核")
    assert f"{POST}:3: 错误: 审核签发未完成（[review].roles）：{void}" in check.output

    dry = signed.publish("--dry-run", "--at", "2024-04-02 09:00", "--out", str(tmp_path / "p2"))
    left_out = dry.output.split("未入选", 1)[1]
    assert POST in left_out and "审核后被修改" in left_out.replace("\n", "").replace("│", "").replace(" ", "")
    assert "职工医保门诊共济问答" in dry.output.split("未入选", 1)[0]  # the untouched post still goes


def test_one_role_reapproving_leaves_the_others_void(signed, monkeypatch):
    monkeypatch.chdir(signed.root)
    approve_all(signed, POST)
    path = signed.content / POST
    path.write_text(path.read_text(encoding="utf-8") + "补充一句。\n", encoding="utf-8")
    approve(signed, POST, "张三", "初审", "2024-03-31 09:00")
    [error] = errors_of(signed, POST)
    assert "复审（李四" in error.message and "终审（王五" in error.message and "初审（" not in error.message


def test_the_choice_leaves_the_post_out_with_the_reason(signed, monkeypatch):
    from scheduler.dryrun import dry_run

    monkeypatch.chdir(signed.root)
    approve(signed, POST, "张三", "初审")
    result = dry_run(signed.config, datetime(2024, 4, 2, 9, 0, tzinfo=SHANGHAI), None)
    reasons = {left.post.rel: left.message_zh for left in result.bundle.left_out}
    assert "缺少 复审、终审" in reasons[POST]
    assert result.bundle.empty


def test_without_roles_nothing_is_required(repo):
    repo.post(POST, GOOD_FRONT, BODY)
    assert errors_of(repo, POST) == []
    result = repo.publish("approve", str(repo.content / POST), "--by", "张三", "--role", "复审")
    assert result.exit_code == 0
    result = repo.publish("approve", str(repo.content / POST), "--by", "张三", "--role", "签发")
    assert result.exit_code == 2 and "初审、复审、终审" in result.output


def test_review_required_is_met_by_records_as_well_as_front_matter(repo):
    repo.write_config(MINIMAL_CONFIG + "[review]\nrequired = true\n")
    repo.post(POST, GOOD_FRONT, BODY)
    assert len(errors_of(repo, POST)) == 2  # reviewed_by and approved_by missing
    repo.publish("approve", str(repo.content / POST), "--by", "张三", "--role", "初审")
    repo.publish("approve", str(repo.content / POST), "--by", "王五", "--role", "终审")
    assert errors_of(repo, POST) == []


# --- the footer ------------------------------------------------------------------------------

def test_the_footer_names_come_from_the_records(signed, monkeypatch):
    monkeypatch.chdir(signed.root)
    signed.post(POST, GOOD_FRONT + "reviewed_by: 前言里的人\napproved_by: 前言里的人\n", BODY)
    approve_all(signed, POST)
    config = signed.config
    post = read_post(signed.content / POST, config.content.dir, config)
    html = render_post(post, config).html
    assert "审核：张三、李四" in html and "签发：王五" in html and "前言里的人" not in html
    assert signoff.names(post, config) == ("张三、李四", "王五")


def test_the_footer_falls_back_to_front_matter_when_the_records_are_void(signed, monkeypatch):
    monkeypatch.chdir(signed.root)
    signed.post(POST, GOOD_FRONT + "reviewed_by: 王丽\napproved_by: 陈建国\n", BODY)
    approve_all(signed, POST)
    path = signed.content / POST
    path.write_text(path.read_text(encoding="utf-8") + "改动。\n", encoding="utf-8")
    config = signed.config
    assert signoff.names(read_post(path, config.content.dir, config), config) == ("王丽", "陈建国")


def test_signers_with_custom_roles():
    at = datetime(2024, 4, 1, tzinfo=SHANGHAI)
    a = [signoff.Approval("审核", "甲", "x", at), signoff.Approval("签发", "乙", "x", at)]
    assert signoff.signers(tuple(a), ("审核", "签发")) == ("甲", "乙")
    assert signoff.signers(tuple(a[:1]), ("审核", "签发")) == ("甲", "")
    assert signoff.signers((), ("初审",)) == ("", "")


# --- a real release -----------------------------------------------------------------------

def test_a_release_carries_only_approved_unchanged_posts(site, fake, monkeypatch):
    text = site.config_path.read_text(encoding="utf-8")
    site.config_path.write_text(re.sub(r"(?m)^required = true.*$", 'required = true\nroles = ["初审", "复审", "终审"]',
                                       text), encoding="utf-8")
    monkeypatch.chdir(site.root)
    lead = "fund-supervision/2024-04-01-jijin-jianguan-xuanchuanyue-qidong.md"
    weekly = "weekly-study/2024-03-12-yidi-jiuyi-beian.md"
    approve_all(site, lead)
    approve_all(site, weekly)
    path = site.content / weekly
    path.write_text(path.read_text(encoding="utf-8").replace("春节过后", "春节以后"), encoding="utf-8")
    result = site.publish("--at", "2024-04-02 09:00")
    assert result.exit_code == 0, result.output
    [send] = fake.mass_sends
    assert [a["title"] for a in send["articles"]] == ["打击欺诈骗保 维护基金安全——集中宣传月启动"]
    html = send["articles"][0]["content"]
    assert "审核：张三、李四" in html and "签发：王五" in html


def test_line_ends_changed_by_git_do_not_void_an_approval(signed, monkeypatch):
    # Git for Windows checks out CRLF and commits LF: the editor approves one, the server reads the other.
    monkeypatch.chdir(signed.root)
    path = signed.content / POST
    lf = path.read_bytes()
    path.write_bytes(lf.replace(b"\n", b"\r\n"))
    approve_all(signed, POST)
    assert errors_of(signed, POST) == []
    path.write_bytes(lf)
    assert errors_of(signed, POST) == []
    path.write_bytes(lf.replace("五进".encode(), "六进".encode()))
    assert "审核后被修改" in errors_of(signed, POST)[0].message


# --- a damaged records file -------------------------------------------------------------------

def test_a_damaged_records_file_blocks_publishing_and_is_never_overwritten(signed, tmp_path, monkeypatch):
    monkeypatch.chdir(signed.root)
    approve_all(signed, POST)
    path = signed.content / ".signoff.toml"
    damaged = path.read_bytes()[:-40] + b'\n[["broken'  # a merge gone wrong, a truncated save
    path.write_bytes(damaged)

    check = signed.publish("check")
    assert check.exit_code == 1
    assert ".signoff.toml 格式错误" in check.output and "可用 git 恢复此文件" in check.output

    out = tmp_path / "preview"
    dry = signed.publish("--dry-run", "--at", "2024-04-02 09:00", "--out", str(out))
    assert dry.exit_code == 0, dry.output
    assert "打击欺诈骗保" not in (out / "payload.json").read_text(encoding="utf-8")  # approved, but unprovable

    again = approve(signed, POST, "王五", "终审")
    assert again.exit_code == 2 and ".signoff.toml 格式错误" in again.output
    assert path.read_bytes() == damaged  # the other records are still there for git to restore


# --- approvals given in the web console -------------------------------------------------------

def test_a_console_approval_counts_at_once_without_the_file_and_an_edit_voids_it(signed, tmp_path):
    from scheduler.ledger import Ledger

    config = signed.config
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    at = datetime(2024, 3, 30, 10, 0, 30, 123456, tzinfo=SHANGHAI)
    path = signed.content / POST
    post, approval, state = signoff.approve_in_ledger(config, ledger, POST, " 张三 ", "初审", at)
    assert post.rel == POST
    assert (approval.role, approval.by, approval.at) == ("初审", "张三", at.replace(microsecond=0))
    assert approval.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert [a.by for a in state.approved] == ["张三"] and state.missing == ("复审", "终审")
    assert not (signed.content / ".signoff.toml").exists()  # recorded in the ledger, not in the file
    signoff.approve_in_ledger(config, ledger, "policy/2024-03-30-menzhen.md", "赵六", "复审", at)  # another post

    for by, role in (("李四", "复审"), ("王五", "终审")):
        *_, state = signoff.approve_in_ledger(config, ledger, POST, by, role, at)
    assert state.complete
    seen = signoff.with_ledger(config, ledger)
    assert signoff.names(read_post(path, config.content.dir, seen), seen) == ("张三、李四", "王五")
    # A post nobody approved in the console, beside those that were: all its roles still missing.
    signed.post("news/2024-03-31-other.md", "title: 另一篇\nstatus: ready\n", "正文。\n")
    other = signoff.status(read_post(signed.content / "news/2024-03-31-other.md", config.content.dir, seen), seen)
    assert other.approved == () and other.missing == ("初审", "复审", "终审")

    path.write_text(path.read_text(encoding="utf-8") + "改动。\n", encoding="utf-8")
    edited = signoff.status(read_post(path, config.content.dir, seen), seen)
    assert edited.approved == () and [a.role for a in edited.void] == ["初审", "复审", "终审"]
    with pytest.raises(signoff.SignoffError, match="角色“签发”不在可用角色"):
        signoff.approve_in_ledger(config, ledger, POST, "王五", "签发", at)
    ledger.close()


def test_a_damaged_records_file_blocks_only_where_roles_need_it(repo):
    # With [review].roles the records decide, so unreadable records block a ready post (an error on
    # its first line); without roles they only fill the footer, so the post goes out with a warning.
    repo.post(POST, GOOD_FRONT, BODY)
    repo.post("policy/2024-03-30-draft.md", "title: 草稿\nstatus: draft\n", "还在写。\n")
    (repo.content / ".signoff.toml").write_bytes(b'[["broken')

    def signoff_problems(rel):
        return [(p.severity, p.line) for p in check_repository(repo.config).problems
                if p.path == rel and ".signoff.toml" in p.message]

    repo.write_config(MINIMAL_CONFIG)
    assert signoff_problems(POST) == [("warning", 1)]
    repo.write_config(ROLES)
    assert signoff_problems(POST) == [("error", 1)]
    assert signoff_problems("policy/2024-03-30-draft.md") == []  # a draft is not blocked by them
    assert signoff.with_ledger(repo.config, None).web_approvals == ()  # no ledger: the file's records only


def test_with_roles_the_records_decide_and_the_front_matter_rule_adds_nothing(repo):
    # [review].required asks for reviewed_by/approved_by in the front matter; with [review].roles
    # the records decide instead: one error saying what is missing, never the front-matter one too.
    repo.write_config(MINIMAL_CONFIG + '[review]\nrequired = true\nroles = ["初审", "复审", "终审"]\n')
    repo.post(POST, GOOD_FRONT, BODY)
    repo.publish("approve", str(repo.content / POST), "--by", "张三", "--role", "初审")
    [error] = errors_of(repo, POST)
    assert "缺少 复审、终审" in error.message
    (repo.content / ".signoff.toml").write_bytes(b'[["broken')
    [error] = errors_of(repo, POST)
    assert ".signoff.toml 格式错误" in error.message


def test_the_footer_lists_reviewers_in_role_order_and_the_signing_role_signs():
    # 终审 signs wherever it stands in [review].roles; without it, the last role signs; a role no
    # longer configured still counts as a review, after the configured ones.
    at = datetime(2024, 4, 1, 9, tzinfo=SHANGHAI)
    ok = [signoff.Approval("复审", "李四", "x", at), signoff.Approval("初审", "张三", "x", at + timedelta(hours=1)),
          signoff.Approval("旧角色", "赵六", "x", at - timedelta(hours=1)),
          signoff.Approval("终审", "王五", "x", at), signoff.Approval("法务", "钱七", "x", at)]
    assert signoff.signers(tuple(ok), ("初审", "复审", "终审")) == ("张三、李四、赵六、钱七", "王五")
    assert signoff.signers(tuple(ok[:2]), ("初审", "复审", "终审")) == ("张三、李四", "")
    assert signoff.signers(tuple(ok[:4]), ("初审", "复审", "终审")) == ("张三、李四、赵六", "王五")
    assert signoff.signers(tuple(ok[1:]), ("初审", "终审", "法务")) == ("张三、钱七、赵六", "王五")
    assert signoff.signers(tuple(a for a in ok if a.role != "终审"), ("初审", "复审", "法务")) == (
        "张三、李四、赵六", "钱七")
    assert signoff.signers((ok[1], ok[4]), ("初审", "复审", "法务")) == ("张三", "钱七")
    # The file's 终审 and the console's, by two people: both sign.
    again = signoff.Approval("终审", "孙八", "x", at + timedelta(hours=2))
    assert signoff.signers((ok[3], again), ("初审", "复审", "终审")) == ("", "王五、孙八")


def test_records_behind_something_that_is_not_a_folder_are_reported_unreadable(tmp_path):
    (tmp_path / "content").write_text("不是文件夹", encoding="utf-8")
    with pytest.raises(signoff.SignoffError, match=r"无法读取审核记录 \.signoff\.toml：Not a directory"):
        signoff.load(tmp_path / "content" / ".signoff.toml")


def test_the_check_says_in_one_sentence_what_was_voided_what_is_missing_and_what_to_do(signed, monkeypatch):
    monkeypatch.chdir(signed.root)
    approve(signed, POST, "张三", "初审")
    path = signed.content / POST
    path.write_text(path.read_text(encoding="utf-8") + "补充一句。\n", encoding="utf-8")
    [error] = errors_of(signed, POST)
    assert error.message == ("审核签发未完成（[review].roles）：内容在 初审（张三，2024-03-30 10:00） 审核后被修改，"
                             "需要重新审核；缺少 复审、终审。审核人用 publish approve 文章路径 --by 姓名 --role 角色 确认")


@pytest.mark.parametrize("text, reason", [
    (b"\xff\xfe[[x]]", "无法读取审核记录 .signoff.toml："),
    ('"news/a.md" = "张三"\n'.encode(), "审核记录 .signoff.toml 中“news/a.md”的格式不对（可用 git 恢复此文件）"),
    ('[["news/a.md"]]\nrole = "初审"\nby = "张三"\nsha256 = "ab"\n'.encode(),
     "审核记录 .signoff.toml 中“news/a.md”的一条记录缺少 role、by、sha256 或 at"),
    ('[["news/a.md"]]\nrole = "初审"\nby = "张三"\nsha256 = "ab"\nat = 2024-03-30T10:00:00\n'.encode(),
     "审核记录 .signoff.toml 中“news/a.md”的一条记录缺少 role、by、sha256 或 at"),  # a time without its zone
], ids=["not-utf8", "not-a-list", "no-at", "naive-at"])
def test_a_hand_edited_records_file_is_refused_saying_what_is_wrong(tmp_path, text, reason):
    path = tmp_path / ".signoff.toml"
    path.write_bytes(text)
    with pytest.raises(signoff.SignoffError) as raised:
        signoff.load(path)
    assert str(raised.value).startswith(reason)


def test_names_with_line_breaks_tabs_and_control_characters_are_written_readably_and_read_back(tmp_path):
    at = datetime(2024, 3, 30, 10, 0, tzinfo=SHANGHAI)
    by = 'X "小" \\ 明\n第二行\t制表\x01\x7f'
    records_ = {"news/X.md": (signoff.Approval("初审", by, "ab", at),)}
    text = signoff.render(records_, signoff.DEFAULT_ROLES)
    assert '\nby = "X \\"小\\" \\\\ 明\\n第二行\\t制表\\u0001\\u007F"\n' in text
    path = tmp_path / ".signoff.toml"
    signoff.write(path, records_, signoff.DEFAULT_ROLES)
    assert signoff.load(path) == records_


def test_each_posts_records_are_written_in_the_order_of_the_configured_roles(tmp_path):
    at = datetime(2024, 3, 30, 10, 0, tzinfo=SHANGHAI)
    records_ = {"news/a.md": tuple(signoff.Approval(role, "张三", "ab", at) for role in ("法务", "初审", "复审"))}
    text = signoff.render(records_, ("复审", "初审"))  # a role no longer configured comes last
    assert re.findall(r'^role = "(.+)"$', text, re.M) == ["复审", "初审", "法务"]


def test_the_records_are_replaced_in_one_step_from_a_hidden_file_beside_them(tmp_path, monkeypatch):
    path = tmp_path / "content" / ".signoff.toml"
    path.parent.mkdir()
    path.write_text("# 旧记录\n", encoding="utf-8")
    records_ = {"news/a.md": (signoff.Approval("初审", "张三", "ab", datetime(2024, 3, 30, tzinfo=SHANGHAI)),)}
    seen = []

    def disk_full(source, target):
        seen.append((Path(source), Path(target), Path(source).read_text(encoding="utf-8")))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(signoff.os, "replace", disk_full)
    with pytest.raises(OSError):
        signoff.write(path, records_, signoff.DEFAULT_ROLES)
    [(temp, target, text)] = seen
    assert target == path and temp.parent == path.parent  # the same folder: the rename is atomic
    assert temp.name.startswith(".signoff.toml.") and temp.name.endswith(".tmp")  # hidden, named for what it is
    assert text == signoff.render(records_, signoff.DEFAULT_ROLES)
    assert path.read_text(encoding="utf-8") == "# 旧记录\n" and list(path.parent.iterdir()) == [path]


def test_an_approval_of_a_later_edit_does_not_pass_the_version_that_was_read(signed, monkeypatch):
    # A release reads a post, then an editor saves a new version (CRLF, from Windows) and it is
    # approved: the version read is not the one approved, and it does not go out as approved.
    monkeypatch.chdir(signed.root)
    path = signed.content / POST
    config = signed.config
    read_before = read_post(path, config.content.dir, config)
    path.write_bytes(path.read_bytes().replace("五进".encode(), "六进".encode()).replace(b"\n", b"\r\n"))
    approve_all(signed, POST)
    state = signoff.status(read_before, config)
    assert state.approved == () and [a.role for a in state.void] == ["初审", "复审", "终审"]
    assert signoff.status(read_post(path, config.content.dir, config), config).complete


def test_a_role_approved_in_the_file_and_in_the_console_then_voided_names_the_latest(signed, tmp_path):
    from scheduler.ledger import Ledger

    config = signed.config
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    path = signed.content / POST
    signoff.approve(config, POST, "张三", "初审", datetime(2024, 3, 30, 9, 0, tzinfo=SHANGHAI), signed.content)
    signoff.approve_in_ledger(config, ledger, POST, "赵六", "初审", datetime(2024, 3, 30, 11, 0, tzinfo=SHANGHAI))
    path.write_text(path.read_text(encoding="utf-8") + "改动。\n", encoding="utf-8")
    seen = signoff.with_ledger(config, ledger)
    state = signoff.status(read_post(path, config.content.dir, seen), seen)
    assert [(a.role, a.by) for a in state.void] == [("初审", "赵六")]
    assert "内容在 初审（赵六，2024-03-30 11:00） 审核后被修改" in signoff.describe(state, seen)
    ledger.close()


def test_approve_finds_the_post_from_the_folder_it_is_given_and_records_the_accounts_time(signed, tmp_path,
                                                                                          monkeypatch):
    from datetime import UTC

    monkeypatch.chdir(tmp_path)  # the process stands elsewhere; the person typed a path from the repository
    at = datetime(2024, 3, 30, 2, 0, 30, 999, tzinfo=UTC)
    post, *_ = signoff.approve(signed.config, f"content/{POST}", "张三", "初审", at, signed.root)
    assert post.rel == POST
    text = (signed.content / ".signoff.toml").read_text(encoding="utf-8")
    assert "\nat = 2024-03-30T10:00:30+08:00\n" in text  # in the account's zone, to the second


def test_approve_refuses_with_the_reason_and_what_to_do(signed):
    config, at = signed.config, datetime(2024, 3, 30, 10, 0, tzinfo=SHANGHAI)

    def refusal(given=POST, by="张三", role="初审", config=config):
        with pytest.raises(signoff.SignoffError) as raised:
            signoff.approve(config, given, by, role, at, signed.content)
        return str(raised.value)

    assert refusal(by="  ") == "--by 不能为空：请写审核人姓名"
    assert refusal(role="签发") == "角色“签发”不在可用角色 初审、复审、终审 之中（[review].roles）"
    signed.post("news/bad.md", "title: [没有闭合\nstatus: ready\n", BODY)
    bad = read_post(signed.content / "news/bad.md", config.content.dir, config)
    assert not bad.parsed and bad.problems
    assert refusal("news/bad.md") == f"news/bad.md 不是可审核的文章：{bad.problems[0].message}"
    signed.write_config(MINIMAL_CONFIG)
    assert refusal(role="签发", config=signed.config) == "角色“签发”不在可用角色 初审、复审、终审 之中"
    assert not (signed.content / ".signoff.toml").exists()


def test_an_approval_while_the_post_is_being_saved_is_refused(signed, monkeypatch):
    real = signoff.read_post

    def saved_meanwhile(path, root, config):
        post = real(path, root, config)
        path.write_text(path.read_text(encoding="utf-8") + "又改了一句。\n", encoding="utf-8")
        return post

    monkeypatch.setattr(signoff, "read_post", saved_meanwhile)
    with pytest.raises(signoff.SignoffError) as raised:
        signoff.approve(signed.config, POST, "张三", "初审", datetime(2024, 3, 30, tzinfo=SHANGHAI), signed.content)
    assert str(raised.value) == f"{POST} 正在被修改，请保存后再审核"
    assert not (signed.content / ".signoff.toml").exists()


def test_a_console_approval_names_a_post_of_content_whatever_the_servers_folder_holds(signed, tmp_path,
                                                                                    monkeypatch):
    from scheduler.ledger import Ledger

    monkeypatch.chdir(tmp_path)  # `publish serve` started in a folder with a file of the same name
    (tmp_path / POST).parent.mkdir(parents=True)
    (tmp_path / POST).write_text("不是文章", encoding="utf-8")
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    post, approval, _ = signoff.approve_in_ledger(signed.config, ledger, POST, "张三", "初审",
                                                  datetime(2024, 3, 30, 10, 0, tzinfo=SHANGHAI))
    assert post.rel == POST and approval.sha256 == hashlib.sha256((signed.content / POST).read_bytes()).hexdigest()
    ledger.close()


_NAMES = ["news", "policy", "_covers", ".git", "a.md", "b.md", "README.md", "readme.md", "_draft.md", ".hidden.md",
          "notes.txt"]


@settings(max_examples=60, deadline=None)
@given(files=st.lists(st.lists(st.sampled_from(_NAMES), min_size=1, max_size=3), min_size=1, max_size=8),
       links=st.lists(st.tuples(st.integers(0, 7), st.lists(st.sampled_from(_NAMES), min_size=1, max_size=2)),
                      max_size=3))
def test_only_what_the_scan_calls_a_post_can_be_approved(files, links):
    """Whatever the folder names, links and READMEs: a file can be approved exactly when the scan
    that finds the posts finds it (or a link to it)."""
    import os
    import tempfile
    from types import SimpleNamespace

    from scheduler.posts import scan

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder).resolve() / "content"
        made: list[Path] = []
        for parts in files:
            path = root.joinpath(*parts)
            if any(p.exists() and not p.is_dir() for p in path.parents) or path.exists():
                continue  # a name taken by a file already
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("---\ntitle: 文章\n---\n正文。\n", encoding="utf-8")
            made.append(path)
        for target, parts in links:  # posts (or folders) that are links to a made file
            link = root.joinpath(*parts)
            if made and not link.exists() and not link.is_symlink() and all(
                    p.is_dir() for p in link.parents if p.is_relative_to(root)):
                link.parent.mkdir(parents=True, exist_ok=True)
                os.symlink(made[target % len(made)], link)
        config = SimpleNamespace(content=SimpleNamespace(dir=root))
        posts = {p.resolve() for p in scan(root)}
        for path in made:
            try:
                signoff.resolve_post(config, path)  # type: ignore[arg-type]
                accepted = True
            except signoff.SignoffError:
                accepted = False
            assert accepted == (path.resolve() in posts), path.relative_to(root)
