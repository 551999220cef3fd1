"""Git-backed content with real repositories: a bare central repository, an editor's clone
that commits and pushes, and the publishing machine's clone."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scheduler.ledger import Ledger
from tests.conftest import REPO_ROOT, Repo, write_site_config

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

SLOT_AT = "2024-04-02 09:00"
LEAD = "fund-supervision/2024-04-01-jijin-jianguan-xuanchuanyue-qidong.md"
STUDY = "weekly-study/2024-03-12-yidi-jiuyi-beian.md"
ENV = {"GIT_AUTHOR_NAME": "王丽", "GIT_AUTHOR_EMAIL": "wangli@example.org",
       "GIT_COMMITTER_NAME": "王丽", "GIT_COMMITTER_EMAIL": "wangli@example.org"}


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                            env={**os.environ, **ENV}, check=True)
    return result.stdout.strip()


def copy_post(rel: str, clone: Path) -> None:
    target = clone / "content" / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REPO_ROOT / "content" / rel, target)
    images = (REPO_ROOT / "content" / rel).parent / "images"
    if images.is_dir():
        shutil.copytree(images, target.parent / "images", dirs_exist_ok=True)


def push_post(clone: Path, rel: str, message: str) -> None:
    """An editor adds a post, commits and pushes."""
    copy_post(rel, clone)
    git(clone, "add", "-A")
    git(clone, "commit", "--quiet", "-m", message)
    git(clone, "push", "--quiet", "origin", "main")


@pytest.fixture
def repos(tmp_path, fake, monkeypatch):
    """(editor clone, publisher site): central has one post committed; the publisher cloned it."""
    central = tmp_path / "central.git"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(central))
    editor = tmp_path / "editor"
    git(tmp_path, "clone", "--quiet", str(central), str(editor))
    write_site_config(editor, fake.url)
    shutil.copytree(REPO_ROOT / "content" / "_covers", editor / "content" / "_covers")
    copy_post(STUDY, editor)
    git(editor, "add", "-A")
    git(editor, "commit", "--quiet", "-m", "每周一学：异地就医备案")
    git(editor, "push", "--quiet", "origin", "main")
    publisher = tmp_path / "publisher"
    git(tmp_path, "clone", "--quiet", str(central), str(publisher))
    monkeypatch.setenv("WECHAT_APP_ID", fake.appid)
    monkeypatch.setenv("WECHAT_APP_SECRET", fake.secret)
    return Repo.__new__(Repo)._attach(editor), Repo.__new__(Repo)._attach(publisher)


def sent_titles(fake):
    return [a["title"] for send in fake.mass_sends for a in send["articles"]]


def test_a_pushed_post_goes_out_at_the_next_slot(repos, fake):
    editor, publisher = repos
    push_post(editor.root, LEAD, "基金监管宣传月启动")
    head = git(editor.root, "rev-parse", "HEAD")

    result = publisher.publish("--at", SLOT_AT)
    assert result.exit_code == 0, result.output
    assert sent_titles(fake) == ["打击欺诈骗保 维护基金安全——集中宣传月启动", "每周一学｜异地就医备案，这些要点请记牢"], result.output
    assert git(publisher.root, "rev-parse", "HEAD") == head  # fast-forwarded
    assert head[:10] in publisher.publish("log").output

    ledger = Ledger(publisher.config.database.url)
    [release] = ledger.releases(publisher.config.account.key)
    assert release.commit_sha == head
    items = {i.post_path: i for i in release.items}
    assert items[LEAD].commit_sha == head and items[LEAD].commit_author == "王丽"
    assert items[STUDY].commit_sha != head  # each post's own last commit
    assert items[LEAD].commit_date.startswith("20")


def test_uncommitted_edits_on_the_publisher_clone_do_not_go_out(repos, fake):
    _editor, publisher = repos
    post = publisher.content / STUDY
    post.write_text(post.read_text(encoding="utf-8").replace("这些要点请记牢", "未审核的改动"), encoding="utf-8")
    copy_post(LEAD, publisher.root)  # untracked on the server
    result = publisher.publish("--at", SLOT_AT)
    assert result.exit_code == 0, result.output
    assert sent_titles(fake) == ["每周一学｜异地就医备案，这些要点请记牢"]
    assert "未提交的修改，不会发布" in result.output
    assert "未审核的改动" in post.read_text(encoding="utf-8")  # nothing forced over the edit


def test_an_unreachable_remote_publishes_the_last_fetched_commit_and_warns(repos, fake, tmp_path):
    _editor, publisher = repos
    git(publisher.root, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    result = publisher.publish("--at", SLOT_AT)
    assert result.exit_code == 0, result.output
    assert "拉取 main 失败，使用上次拉取到的提交发布" in result.output
    assert sent_titles(fake) == ["每周一学｜异地就医备案，这些要点请记牢"]


def test_a_diverged_clone_is_refused(repos, fake):
    editor, publisher = repos
    push_post(editor.root, LEAD, "编辑的新文章")
    (publisher.content / "news").mkdir()
    (publisher.content / "news" / "local.md").write_text("---\ntitle: 服务器上的提交\nstatus: ready\n---\n正文\n",
                                                         encoding="utf-8")
    git(publisher.root, "add", "-A")
    git(publisher.root, "commit", "--quiet", "-m", "直接在服务器上改")
    before = git(publisher.root, "rev-parse", "HEAD")

    result = publisher.publish("--at", SLOT_AT)
    assert result.exit_code == 2
    assert "已分叉" in result.output and "不会强行覆盖" in result.output
    assert fake.mass_sends == [] and fake.count("draft/add") == 0
    assert git(publisher.root, "rev-parse", "HEAD") == before  # nothing reset
    assert Ledger(publisher.config.database.url).find(publisher.config.account.key, _slot()) is None


def test_unpushed_local_commits_are_refused(repos, fake):
    _editor, publisher = repos
    copy_post(LEAD, publisher.root)
    git(publisher.root, "add", "-A")
    git(publisher.root, "commit", "--quiet", "-m", "未推送")
    result = publisher.publish("--at", SLOT_AT)
    assert result.exit_code == 2
    assert "未推送" in result.output
    assert fake.mass_sends == []


def test_check_in_an_editor_clone_names_uncommitted_files(repos):
    editor, _ = repos
    copy_post(LEAD, editor.root)
    result = editor.publish("check")
    assert f"{LEAD}:1: 警告: 尚未提交到 git" in result.output
    assert result.exit_code == 0


def test_git_can_be_switched_off(repos, fake):
    _editor, publisher = repos
    text = publisher.config_path.read_text(encoding="utf-8").replace('dir = "content"', 'dir = "content"\ngit = false')
    publisher.config_path.write_text(text, encoding="utf-8")
    copy_post(LEAD, publisher.root)  # untracked, but git is off: the folder is the truth
    result = publisher.publish("--at", SLOT_AT)
    assert result.exit_code == 0, result.output
    assert len(sent_titles(fake)) == 2
    [release] = Ledger(publisher.config.database.url).releases(publisher.config.account.key)
    assert release.commit_sha is None


def test_a_resumed_release_reads_the_commit_it_was_claimed_from(repos, fake):
    from tests.test_release import releaser_for

    editor, publisher = repos
    fake.inject("draft/add", "busy", times=4)
    first = releaser_for(publisher, fake).release(_slot())
    assert first.release.status == "uploaded"
    push_post(editor.root, LEAD, "later")  # a newer commit lands meanwhile
    second = releaser_for(publisher, fake).resume(first.release)
    assert second.release.status == "confirmed"
    assert sent_titles(fake) == ["每周一学｜异地就医备案，这些要点请记牢"]


def _slot():
    return datetime(2024, 4, 2, 1, 0, tzinfo=UTC)


def test_covers_named_in_the_config_come_from_the_commit_too(repos):
    import hashlib

    from scheduler.gitcontent import GitContent

    _editor, publisher = repos
    cover = publisher.content / "_covers" / "weekly-study.jpg"
    committed = hashlib.sha256(cover.read_bytes()).hexdigest()
    cover.write_bytes((REPO_ROOT / "content" / "_covers" / "news.jpg").read_bytes())  # edited, not committed

    snapshot = GitContent(publisher.config).checkout().config
    assert snapshot.categories["weekly-study"].cover.is_relative_to(snapshot.content.dir)
    assert hashlib.sha256(snapshot.categories["weekly-study"].cover.read_bytes()).hexdigest() == committed
    assert snapshot.account.cover.is_relative_to(snapshot.content.dir)


# --- without a repository, or without git ----------------------------------------------------

def _git_setting(site, value: str) -> None:
    text = site.config_path.read_text(encoding="utf-8").replace('dir = "content"', f'dir = "content"\ngit = {value}')
    site.config_path.write_text(text, encoding="utf-8")


def test_git_required_but_the_content_is_no_repository_pushes_nothing_and_says_why(site, fake):
    _git_setting(site, "true")
    result = site.publish("--at", SLOT_AT)
    assert result.exit_code == 2  # a configuration to correct
    assert "不在 git 仓库中" in result.output and "[content].git = true" in result.output
    assert fake.count("draft/add") == 0 and fake.mass_sends == []


def test_outside_a_repository_auto_reads_the_folder(site, fake):
    # README: [content].git = "auto"：内容目录在 git 仓库中即为 true — here it is not.
    check = site.publish("check")
    assert check.exit_code == 0 and "未提交" not in check.output
    result = site.publish("--at", SLOT_AT)
    assert result.exit_code == 0, result.output
    assert len(sent_titles(fake)) == 3
    [release] = Ledger(site.config.database.url).releases(site.config.account.key)
    assert release.commit_sha is None


def test_a_clone_on_a_machine_without_git_publishes_the_folder(repos, fake, tmp_path, monkeypatch):
    _, publisher = repos
    monkeypatch.setenv("PATH", str(tmp_path / "no-programs-here"))  # git is not installed
    result = publisher.publish("--at", SLOT_AT)
    assert result.exit_code == 0, result.output
    assert sent_titles(fake) == ["每周一学｜异地就医备案，这些要点请记牢"]


def test_git_required_on_a_machine_without_git_pushes_nothing(repos, fake, tmp_path, monkeypatch):
    _, publisher = repos
    _git_setting(publisher, "true")
    monkeypatch.setenv("PATH", str(tmp_path / "no-programs-here"))
    result = publisher.publish("--at", SLOT_AT)
    assert result.exit_code == 2 and "不在 git 仓库中" in result.output
    assert fake.mass_sends == []
    preview = publisher.publish("--preview-to", "editor01", "--at", SLOT_AT)
    assert preview.exit_code == 2 and fake.previews == []
