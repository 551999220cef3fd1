"""The quick ways of reading posts give exactly what the general ways give.

Reading 5,000 post headers fast takes shortcuts: the common ``key: value`` header without
the YAML loader, padded dates without strptime, the closing ``---`` found without cutting
the body into lines, folders walked with scandir, files checked for links without realpath,
and a dry run that runs the body rules only on the posts it takes.  Each is compared here,
on generated cases, with the general way it stands in for.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import unicodedata
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler import frontmatter
from scheduler.frontmatter import load_front_matter, load_yaml, simple_header, unsafe_characters
from scheduler.posts import _FORMATS, _parse_text, _split_header, read_post, scan, scan_rel
from tests.conftest import Repo

SH = ZoneInfo("Asia/Shanghai")

KEYS = st.sampled_from(["title", "status", "priority", "lead", "publish_after", "expires", "digest", "author",
                        "yes", "no", "on", "null", "y", "True", "x_1", "source_url", "ké", "a-b"])
# Characters that mean something to YAML or to a reader, among ordinary text.
NASTY = st.sampled_from([*":#-?,[]{}&*!|>'\"%@`~=<. \t\r\u00a0\u0085\u2028\u2029\ufeff\u200b\x7f\x01",
                         "医保", "通知", "2024", "-01", "08:00", "0x1F", "1_000", "0o17", ".5", "1e3",
                         "true", "false", "yes", "null", "https://a.cn/b?c=1#d", "A", "12", "0"])
VALUES = st.one_of(
    st.lists(NASTY, max_size=6).map("".join),
    st.sampled_from(["2024-04-01", "2024-04-01 08:00", "2024-04-01 08:00:00", "2024-04-01T08:00:00+08:00",
                     "ready", "draft", "true", "false", "True", "0", "7", "-3", "007", "+1", "1:30", "~", "",
                     "2024-02-30", "关于医保“两病”用药的通知", "a: b", "x #y", "[通知] 新规", "- 列表"]),
)
LINES = st.one_of(
    st.tuples(KEYS, st.sampled_from([": ", ":", ":  ", " : ", ":\t"]), VALUES).map("".join),
    st.sampled_from(["", " ", "# 注释", "  indented: 1", "- item", "%YAML 1.1", "key"]),
)


def shape(value):
    """A value with its types spelled out: True, 1 and "1" must not compare equal here."""
    return repr(value)


@settings(max_examples=1500, deadline=None)
@given(st.lists(LINES, max_size=8))
def test_a_simple_header_reads_as_the_yaml_loader_reads_it(lines):
    source = "\n".join(lines)
    quick = simple_header(source)
    loaded = load_yaml(source)
    if quick is not None:
        assert loaded[1] is None and shape(quick) == shape(loaded[0])
    assert shape(load_front_matter(source)) == shape(loaded)


def test_the_headers_editors_write_take_the_quick_way():
    source = ("title: 关于调整城乡居民医保缴费标准的通知\nauthor: 医保服务中心\npublish_after: 2024-04-01 08:00\n"
              "priority: 2\nlead: true\nstatus: ready\nsource_url: https://www.gov.cn/zhengce/a.htm\n")
    assert simple_header(source) == {
        "title": "关于调整城乡居民医保缴费标准的通知", "author": "医保服务中心", "publish_after": "2024-04-01 08:00",
        "priority": 2, "lead": True, "status": "ready", "source_url": "https://www.gov.cn/zhengce/a.htm"}


def split_by_lines(text: str):
    """How the header was cut before: every line of the file, then the first closing one."""
    lines = text.split("\n")
    if lines[0].rstrip("\r ") != "---":
        return None
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip("\r ") in ("---", "...")), None)
    if end is None:
        return None
    return "\n".join(lines[1:end]), "\n".join(lines[end + 1:]), end + 2


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(["---", "...", "-- -", "----", " ---", "--- ", "---\r", "...\r \r", "a: b", "",
                                 "正文", "\r", "x---", "....", "--- x"]), min_size=1, max_size=8))
def test_the_header_is_cut_where_the_lines_say(lines):
    text = "\n".join(lines)
    first = text.find("\n")
    expected = split_by_lines(text)
    got = None if (text if first < 0 else text[:first]).rstrip("\r ") != "---" else _split_header(text, first)
    assert got == expected


def strptime_way(text: str):
    for fmt in _FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=SH)
        except ValueError:
            pass
    return "other"


@settings(max_examples=1000, deadline=None)
@given(st.tuples(st.sampled_from(["2024", "0000", "1999", "9999", "2024"]), st.sampled_from(["-"]),
                 st.sampled_from(["01", "02", "12", "13", "00", "1"]), st.sampled_from(["-"]),
                 st.sampled_from(["01", "29", "30", "31", "00", "9"]), st.sampled_from([" ", "T", "  "]),
                 st.sampled_from(["00", "08", "23", "24", "7"]), st.sampled_from([":"]),
                 st.sampled_from(["00", "59", "60", "5"]),
                 st.sampled_from(["", ":00", ":59", ":60", ":5", "+08:00"])).map("".join))
def test_padded_dates_parse_as_strptime_parses_them(text):
    expected = strptime_way(text)
    if expected != "other":
        assert _parse_text(text, SH) == expected
    else:
        got = _parse_text(text, SH)
        assert got is None or got.utcoffset() is not None  # left to fromisoformat, as before


@settings(max_examples=1000, deadline=None)
@given(st.one_of(
    st.tuples(st.sampled_from(["2024", "0001", "1999", "24"]), st.sampled_from(["-", "/", ""]),
              st.sampled_from(["01", "02", "12", "13", "00", "1"]), st.sampled_from(["-", ""]),
              st.sampled_from(["01", "29", "30", "31", "00", "9"]),
              st.sampled_from(["", " ", "T", " 8", " 8:0", "T8:5", " 08:0"])).map("".join),
    st.text(alphabet="0123456789-: T/", min_size=8, max_size=12)))
def test_short_dates_parse_as_the_formats_then_the_bare_date_parse_them(text):
    expected = strptime_way(text)
    if expected == "other" and len(text) == 10:
        try:
            expected = datetime.combine(date.fromisoformat(text), time(), tzinfo=SH)
        except ValueError:
            expected = None
    if expected != "other":
        assert _parse_text(text, SH) == expected


def test_every_character_the_field_rule_refuses_is_looked_at():
    refused = [ch for ch in map(chr, range(sys.maxunicode + 1))
               if ch in frontmatter._INVISIBLE or ch == frontmatter._ZWJ
               or (unicodedata.category(ch) in ("Cc", "Cs", "Co") and ch != "\t")]
    assert refused and all(frontmatter._SUSPECT.match(ch) for ch in refused)
    assert unsafe_characters("医保\u202e通知") is not None and unsafe_characters("医保通知 2024") is None


# --- walking the content folder ------------------------------------------------------------

def rglob_way(root: Path) -> list[Path]:
    found = []
    for path in sorted(root.rglob("*.md")):
        parts = path.relative_to(root).parts
        if any(p.startswith(("_", ".")) for p in parts) or (len(parts) == 1 and path.stem.lower() == "readme"):
            continue
        found.append(path)
    return found


NAMES = st.sampled_from(["a.md", "b.md", "a-b", "a", "A.md", "README.md", "readme.md", "_x.md", ".h.md", "c.MD",
                         "d.md.txt", "z", "中文.md", "a b.md"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.lists(NAMES, max_size=3), NAMES, st.sampled_from(["file", "dir", "link", "outside"])),
                max_size=12))
def test_scandir_walk_finds_what_rglob_found(entries):
    with tempfile.TemporaryDirectory() as temp:
        base = Path(temp)
        repo = Repo(base)
        root, outside = repo.content, base / "outside"
        root.mkdir(exist_ok=True)
        (outside / "deep").mkdir(parents=True)
        (outside / "deep" / "x.md").write_text("---\ntitle: x\n---\n", encoding="utf-8")
        for folders, name, kind in entries:
            folder = root.joinpath(*folders)
            try:
                folder.mkdir(parents=True, exist_ok=True)
                target = folder / name
                if target.exists() or target.is_symlink():
                    continue
                if kind == "file":
                    target.write_text("---\ntitle: t\nstatus: ready\n---\n正文。\n", encoding="utf-8")
                elif kind == "dir":
                    target.mkdir()
                elif kind == "link":
                    target.symlink_to(root / "a.md")  # inside, maybe dangling
                else:
                    target.symlink_to(outside / "deep" if name.endswith("z") else outside / "deep" / "x.md")
            except OSError:  # taken by a file, or below a link to itself (ELOOP): the tree stays as it is
                continue
        walked = scan_rel(root)
        assert [p for p, _ in walked] == rglob_way(root) == list(scan(root))
        assert all(p.relative_to(root).as_posix() == rel for p, rel in walked)
        config = repo.config
        folders: dict = {}
        for path, rel in walked:  # the realpath-free check refuses and accepts the same files
            quick, slow = read_post(path, root, config, folders, rel), read_post(path, root, config)
            assert (quick.problems, quick.meta, quick.sha256) == (slow.problems, slow.meta, slow.sha256)


def test_a_post_behind_a_linked_folder_is_refused(tmp_path):
    repo = Repo(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "x.md").write_text("---\ntitle: 外部\nstatus: ready\n---\n正文。\n", encoding="utf-8")
    (repo.content / "news").mkdir(parents=True)
    os.symlink(tmp_path / "elsewhere", repo.content / "news" / "linked")
    post = read_post(repo.content / "news" / "linked" / "x.md", repo.content, repo.config, {})
    assert [p.message for p in post.problems] == ["文章是指向内容仓库之外的链接，已拒绝"]


# --- choosing on headers ------------------------------------------------------------------

BODIES = st.sampled_from([
    "医保基金是人民群众的“看病钱”“救命钱”。\n",
    "",  # 正文为空
    "正文从这里开始\n",  # the template's placeholder
    "文字\u202e反转\n",  # a bidi override
    "![缺图](images/none.jpg)\n",  # a missing image
    "同一篇。\n",  # the same bytes twice: a duplicate
])
POSTS = st.lists(st.tuples(st.sampled_from(["news", "policy", "weekly-study", "services"]), BODIES,
                           st.integers(-2, 3), st.booleans(), st.sampled_from(["ready", "ready", "draft"]),
                           st.sampled_from(["", "2024-03-01 08:00", "2024-05-01 08:00"])), min_size=1, max_size=18)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(POSTS, st.integers(1, 8))
def test_choosing_on_headers_takes_the_bundle_full_checks_take(posts, max_articles):
    from scheduler.bulk import read_checked, read_headers
    from scheduler.dryrun import choose_rendered
    from scheduler.plan import Published
    from scheduler.posts import parse_when

    with tempfile.TemporaryDirectory() as temp:
        repo = Repo(Path(temp))
        repo.write_config(f"[account]\nname = \"测试医保\"\n[schedule]\nmax_articles = {max_articles}\n")
        for i, (category, body, priority, lead, status, after) in enumerate(posts):
            front = f"title: 第{i}篇\nstatus: {status}\npriority: {priority}\nlead: {str(lead).lower()}\n"
            front += f"publish_after: {after}\n" if after else ""
            same = body == "同一篇。\n"
            repo.post(f"{category}/{'same' if same else 'p'}-{i}.md", front="title: 同一篇\nstatus: ready\n" if same else front,
                      body=body)
        config = repo.config
        slot = parse_when("2024-04-02 09:00", config.account.tz)
        full = read_checked(config, render=False, workers=1)
        expected, _ = choose_rendered(config, full, Published(), slot)
        problems = {p.rel: p.problems for p in full}
        for workers in (1, 2):  # read here, or on two processes as a first run over many posts is
            headers, body_checks = read_headers(config, workers=workers, parallel_min=1)
            got, _ = choose_rendered(config, headers, Published(), slot, body_checks)
            assert [p.rel for p in got.items] == [p.rel for p in expected.items]
            assert all(p.problems == problems[p.rel] for p in got.items)
        looked_at = [p for p in headers if re.search("正文", "".join(x.message for x in p.problems))]
        assert all(p.rel in problems for p in looked_at)


def test_tuiwen_jobs_1_keeps_a_first_dry_run_in_one_process(repo, monkeypatch):
    """A bureau machine may give a process one core: TUIWEN_JOBS=1 (as for `publish check`) means no other."""
    import concurrent.futures

    from scheduler.bulk import read_headers

    for i in range(4):
        repo.post(f"news/p{i}.md")

    def no_pool(*args, **kwargs):
        raise AssertionError("a process pool was started")

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", no_pool)
    monkeypatch.setenv("TUIWEN_JOBS", "1")
    posts, _ = read_headers(repo.config, parallel_min=1)
    assert [p.rel for p in posts] == [f"news/p{i}.md" for i in range(4)]
    monkeypatch.setenv("TUIWEN_JOBS", "2")
    with pytest.raises(AssertionError, match="pool was started"):
        read_headers(repo.config, parallel_min=1)
