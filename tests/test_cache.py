"""The post cache and the parallel check: never a different answer, only a faster one."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from scheduler import bulk
from scheduler import cache as cache_module
from scheduler.cache import Cache
from scheduler.repository import check_repository
from tests.conftest import REPO_ROOT, Repo, counting_renders

HOUR_AGO = time.time() - 3600


@pytest.fixture(autouse=True)
def no_racy_window(monkeypatch):
    """Cache files however recently they changed: these tests cannot wait for the clock."""
    monkeypatch.setattr(cache_module, "RACY_SECONDS", 0.0)


def age(*paths: Path) -> None:
    """Give files an old mtime, as files not touched today have."""
    for path in paths:
        os.utime(path, (HOUR_AGO, HOUR_AGO))


def age_tree(root: Path) -> None:
    age(*(p for p in root.rglob("*") if p.is_file()))


def snapshot(result):
    """Everything a check says, post by post (bodies included: a cached post reads its own)."""
    return [(p.rel, p.sha256, p.title, p.status, p.body, tuple(p.problems)) for p in result.posts], result.problems


def counting_reads(monkeypatch) -> list[str]:
    reads: list[str] = []
    real = bulk.read_post

    def read(path, root, config, *more):
        reads.append(path.relative_to(root).as_posix())
        return real(path, root, config, *more)

    monkeypatch.setattr(bulk, "read_post", read)
    return reads


@pytest.fixture
def sample(tmp_path) -> Repo:
    """The sample content and config, copied."""
    root = tmp_path / "site"
    shutil.copytree(REPO_ROOT / "content", root / "content")
    shutil.copyfile(REPO_ROOT / "config.toml", root / "config.toml")
    sample = Repo.__new__(Repo)._attach(root)
    # Something for every kind of rule to say: front matter, images, rendering.
    sample.post("news/broken.md", front="title: [未闭合\nstatus: ready\n")
    sample.post("news/images.md", body="![缺图](images/none.jpg)\n\n![外图](https://example.com/a.jpg)\n")
    sample.post("policy/long.md", body="医保基金是人民群众的“看病钱”“救命钱”。" * 1200)
    sample.raw("other/binary.md", b"\x00\x01binary")
    age_tree(root)
    return sample


def test_unchanged_posts_are_not_read_again(repo, monkeypatch):
    repo.post("news/a.md")
    repo.post("policy/b.md")
    age_tree(repo.content)
    reads = counting_reads(monkeypatch)
    first = check_repository(repo.config, cache=Cache.for_config(repo.config))
    assert sorted(reads) == ["news/a.md", "policy/b.md"]
    reads.clear()
    second = check_repository(repo.config, cache=Cache.for_config(repo.config))
    assert reads == []
    assert snapshot(second) == snapshot(first)


def test_an_edit_is_seen_at_once(repo, monkeypatch):
    path = repo.post("news/a.md", front="title: 打击欺诈骗保\nstatus: ready\n")
    age(path)
    config = repo.config
    assert check_repository(config, cache=Cache.for_config(config)).errors == 0
    repo.post("news/a.md", front="title: 打击欺诈骗保\nstatus: 就绪\n")
    assert check_repository(config, cache=Cache.for_config(config)).errors == 1


def test_an_edit_that_keeps_size_and_mtime_is_still_seen(repo):
    path = repo.post("news/a.md", front="title: 打击欺诈骗保\nstatus: ready\n")
    age(path)
    config = repo.config
    assert check_repository(config, cache=Cache.for_config(config)).errors == 0
    before = path.stat()
    path.write_bytes(path.read_bytes().replace(b"status: ready", b"status: reaDY"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # as a careless copy tool would
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns
    assert check_repository(config, cache=Cache.for_config(config)).errors == 1  # the ctime changed


def test_a_file_changed_moments_ago_is_not_cached(repo, monkeypatch):
    monkeypatch.setattr(cache_module, "RACY_SECONDS", 60.0)
    repo.post("news/a.md")  # just written: a second edit within the clock's resolution would look unchanged
    reads = counting_reads(monkeypatch)
    for _ in range(2):
        check_repository(repo.config, cache=Cache.for_config(repo.config))
    assert reads == ["news/a.md", "news/a.md"]


def test_check_results_follow_the_images_they_looked_at(repo):
    repo.image("news/images/a.jpg")
    post = repo.post("news/a.md", body="正文。\n\n![现场](images/a.jpg)\n")
    age_tree(repo.content)
    config = repo.config
    assert check_repository(config, cache=Cache.for_config(config)).problems == []
    image = repo.raw("news/images/a.jpg", b"not an image at all")
    age(image)
    [problem] = check_repository(config, cache=Cache.for_config(config)).problems
    assert "不是图片" in problem.message and problem.path == "news/a.md"
    image.unlink()
    [problem] = check_repository(config, cache=Cache.for_config(config)).problems
    assert "不存在" in problem.message
    repo.image("news/images/a.jpg")
    age(image, post)
    assert check_repository(config, cache=Cache.for_config(config)).problems == []


def test_a_config_change_drops_every_cached_result(repo):
    age(repo.post("news/a.md", front="title: 待审文章\nstatus: ready\n"))
    assert check_repository(repo.config, cache=Cache.for_config(repo.config)).errors == 0
    repo.write_config(repo.config_path.read_text(encoding="utf-8") + "\n[review]\nrequired = true\n")
    result = check_repository(repo.config, cache=Cache.for_config(repo.config))
    assert result.errors == 2 and all("review" in p.message for p in result.problems)


def test_cached_uncached_and_parallel_checks_agree(sample):
    config = sample.config
    plain = snapshot(check_repository(config, workers=1))
    cold = snapshot(check_repository(config, cache=Cache.for_config(config), workers=1))
    warm = snapshot(check_repository(config, cache=Cache.for_config(config)))
    Cache.for_config(config).path.unlink()
    parallel = snapshot(bulk_check(config, workers=2))
    assert plain == cold == warm == parallel
    assert plain[1], "the sample content should give the comparison something to compare"


def bulk_check(config, workers):
    from scheduler.repository import CheckResult

    posts = bulk.read_checked(config, render=True, cache=Cache.for_config(config), workers=workers, parallel_min=1)
    return CheckResult(posts, sorted(p for post in posts for p in post.problems))


def test_parallel_check_of_a_generated_corpus_equals_the_serial_one(tmp_path):
    from bench.make_corpus import make_corpus

    config_path = make_corpus(60, tmp_path / "corpus", seed=3)
    config = Repo.__new__(Repo)._attach(config_path.parent).config
    serial = bulk.read_checked(config, render=True, workers=1)
    parallel = bulk.read_checked(config, render=True, workers=2, parallel_min=1)
    assert [p.rel for p in parallel] == [p.rel for p in serial]
    assert parallel == serial  # every field, every problem; the bodies are read back on demand
    assert any(p.problems for p in serial)


def test_a_cached_post_reads_its_body_when_asked(repo):
    path = repo.post("news/a.md", body="第一段。\n\n第二段。\n")
    age(path)
    config = repo.config
    check_repository(config, cache=Cache.for_config(config))
    cache = Cache.for_config(config)
    post = cache.post(path, "news/a.md", next(iter(cache.posts.values()))[0])
    assert post is not None and "_body" in post.__dict__ and post.__dict__["_body"] is None
    assert post.body == "第一段。\n\n第二段。\n"


def test_the_dry_run_sees_an_edit(sample):
    from scheduler.dryrun import dry_run
    from scheduler.posts import parse_when

    config = sample.config
    at = parse_when("2024-04-02 09:00", config.account.tz)
    first = dry_run(config, at, None, cache=Cache.for_config(config))
    lead = first.bundle.items[0]
    text = lead.path.read_text(encoding="utf-8").replace("status: ready", "status: draft")
    lead.path.write_text(text, encoding="utf-8")
    second = dry_run(config, at, None, cache=Cache.for_config(config))
    assert lead.rel not in [p.rel for p in second.bundle.items]
    assert dry_run(config, at, None).bundle.items == second.bundle.items


def test_a_damaged_or_foreign_cache_file_is_ignored(repo):
    age(repo.post("news/a.md"))
    config = repo.config
    check_repository(config, cache=Cache.for_config(config))
    path = Cache.for_config(config).path
    path.chmod(0o666)  # anyone could have written it: not loaded
    assert Cache.for_config(config).posts == {}
    path.chmod(0o600)
    assert Cache.for_config(config).posts != {}
    path.write_bytes(b"\x80\x05garbage")
    assert Cache.for_config(config).posts == {}
    assert check_repository(config, cache=Cache.for_config(config)).problems == []


def test_the_cache_can_be_turned_off(repo, monkeypatch):
    monkeypatch.setenv("TUIWEN_CACHE", "off")
    age(repo.post("news/a.md"))
    cache = Cache.for_config(repo.config)
    assert not cache.enabled
    assert check_repository(repo.config, cache=cache).problems == []
    assert cache.posts == {}


def test_headers_read_through_the_cache_equal_headers_read_afresh(sample):
    from scheduler.bulk import read_headers

    config = sample.config

    def seen(posts):
        return [(p.rel, p.sha256, p.title, p.status, p.reviewed_by, p.approved_by, tuple(p.problems)) for p in posts]

    afresh, _ = read_headers(config)
    for first in ("headers", "check"):  # a cache written by a dry run, or by a full check
        Cache.for_config(config).path.unlink(missing_ok=True)
        if first == "check":
            check_repository(config, cache=Cache.for_config(config))
        # the first read on two processes, as a first run over thousands of posts is
        posts, first_checks = read_headers(config, cache=Cache.for_config(config), workers=2, parallel_min=1)
        first_checks.save()
        again, body_checks = read_headers(config, cache=Cache.for_config(config))
        assert seen(posts) == seen(again) == seen(afresh)
        for post in again:  # and with the body rules, what a full check says
            body_checks(post)
        assert seen(again) == seen(read_checked_plain(config))
        for post in posts:  # a post read in another process has its body too, when asked
            first_checks(post)
        assert seen(posts) == seen(again)


def read_checked_plain(config):
    return bulk.read_checked(config, render=False, workers=1)


def test_an_approval_given_in_the_console_rechecks_only_the_post_it_approves(repo, monkeypatch):
    """The console records approvals in the ledger; each one changes what its post's check says
    (审核/签发, and what is still missing), and nothing about the other posts."""
    from datetime import datetime, timedelta, timezone

    from scheduler.dryrun import with_web_approvals
    from scheduler.ledger import Ledger
    from scheduler.signoff import approve_in_ledger
    from tests.test_signoff import ROLES

    repo.write_config(ROLES)
    rels = [f"news/2024-03-0{n}-post.md" for n in range(1, 5)]
    for n, rel in enumerate(rels, 1):
        repo.post(rel, f"title: 第{n}篇\nstatus: ready\n", f"正文{n}。\n")
    age_tree(repo.content)

    def checked():  # as each command does: the config with the console's approvals, and the cache
        config = with_web_approvals(repo.config)
        return check_repository(config, cache=Cache.for_config(config)), config

    ledger = Ledger(repo.config.database.url)
    ledger.adopt(repo.config.account.key, repo.config.account.name)
    checked()
    reads = counting_reads(monkeypatch)
    at = datetime(2024, 3, 30, 10, tzinfo=timezone(timedelta(hours=8)))
    for n, (by, role) in enumerate((("张三", "初审"), ("李四", "复审"), ("王五", "终审"))):
        approve_in_ledger(repo.config, ledger, repo.content / rels[1], by, role, at + timedelta(hours=n))
        reads.clear()
        cached, config = checked()
        assert reads == [rels[1]], role  # the approved post is checked again, the others come from the cache
        monkeypatch.setenv("TUIWEN_CACHE", "off")
        assert snapshot(cached) == snapshot(check_repository(config)), role  # what a check without cache says
        monkeypatch.delenv("TUIWEN_CACHE")
    approved = next(p for p in cached.posts if p.rel == rels[1])
    assert (approved.reviewed_by, approved.approved_by) == ("张三、李四", "王五")
    ledger.close()


def preview_files(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_a_dry_run_shows_the_same_preview_whether_its_pages_come_from_the_cache_or_not(sample, tmp_path, monkeypatch):
    from scheduler.dryrun import dry_run
    from scheduler.posts import parse_when

    config = sample.config
    at = parse_when("2024-04-02 09:00", config.account.tz)
    renders = counting_renders(monkeypatch)
    plain = dry_run(config, at, tmp_path / "plain")
    assert renders, "the sample should give the dry run something to render"
    dry_run(config, at, tmp_path / "cold", cache=Cache.for_config(config))
    renders.clear()
    warm = dry_run(config, at, tmp_path / "warm", cache=Cache.for_config(config))
    assert renders == []  # nothing changed: the last dry run's pages
    assert preview_files(tmp_path / "plain") == preview_files(tmp_path / "cold") == preview_files(tmp_path / "warm")
    assert [p.rel for p in plain.bundle.items] == [p.rel for p in warm.bundle.items]
    check_repository(config, cache=Cache.for_config(config))  # a check in between keeps the pages
    dry_run(config, at, tmp_path / "again", cache=Cache.for_config(config))
    assert renders == []


def test_a_changed_or_damaged_picture_renders_its_post_again(repo, tmp_path, monkeypatch):
    from scheduler.dryrun import dry_run
    from scheduler.posts import parse_when

    repo.image("news/images/a.jpg", size=(40, 30))
    post = repo.post("news/a.md", body="正文。\n\n![现场](images/a.jpg)\n")
    repo.post("news/b.md", body="没有图片的一篇。\n")
    age_tree(repo.content)
    config = repo.config
    at = parse_when("2024-04-02 09:00", config.account.tz)
    renders = counting_renders(monkeypatch)
    first = dry_run(config, at, tmp_path / "first", cache=Cache.for_config(config))
    assert sorted(renders) == ["news/a.md", "news/b.md"]
    renders.clear()
    image = repo.image("news/images/a.jpg", size=(60, 30))  # another picture under the same name
    age(image)
    second = dry_run(config, at, tmp_path / "second", cache=Cache.for_config(config))
    assert renders == ["news/a.md"]
    assert preview_files(tmp_path / "second") == preview_files(dry_run(config, at, tmp_path / "plain").index.parent)
    assert preview_files(tmp_path / "second") != preview_files(tmp_path / "first")
    assert [p.rel for p in second.bundle.items] == [p.rel for p in first.bundle.items]
    age(repo.raw("news/images/a.jpg", b"\xff\xd8\xff\xe0 damaged"))
    for _ in range(2):  # found when rendered, and again from the cache
        third = dry_run(config, at, None, cache=Cache.for_config(config))
        assert [p.rel for p in third.bundle.items] == ["news/b.md"]
        [problem] = [p for p in third.bundle.left_out if p.post.rel == post.relative_to(repo.content).as_posix()]
        assert problem.reason_code == "invalid"
