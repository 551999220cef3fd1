"""Hostile and broken input: each gives a clear message, the valid posts still go out, and
nothing outside the repository is read (an audit hook records every file opened).

Already proven elsewhere and only reused here, in the release with everything present:
malformed YAML, front matter that is a list or a number, a binary file named ``.md``, image
paths with ``..`` or absolute (tests/test_checks.py), decompression bombs (tests/test_images.py),
scripts and event handlers removed by the sanitiser (tests/test_render.py).
"""

from __future__ import annotations

import http.server
import io
import os
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from scheduler.checks import check_post, check_rendered
from scheduler.posts import read_post
from scheduler.repository import check_repository
from tests.conftest import REPO_ROOT, Repo, image_bytes

SLOT_AT = "2024-04-02 09:00"


# --- every file opened, while recording ------------------------------------------------------

_OPENED: list[str] | None = None


def _audit(event: str, args: tuple) -> None:
    if _OPENED is not None and event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
        _OPENED.append(os.path.realpath(os.fsdecode(args[0])))


sys.addaudithook(_audit)  # audit hooks cannot be removed: this one only records while asked to


class Opened:
    """``with Opened() as opened:`` collects the real paths of every file opened in the block."""

    def __enter__(self) -> list[str]:
        global _OPENED  # noqa: PLW0603 - the audit hook, installed once, reads it
        _OPENED = []
        return _OPENED

    def __exit__(self, *exc) -> None:
        global _OPENED  # noqa: PLW0603 - the audit hook, installed once, reads it
        _OPENED = None


def outside_the_repository(opened: list[str], site_root: Path) -> list[str]:
    """Opened files that are neither the repository nor the program itself (code, fonts, zones,
    its own cache folder)."""
    from scheduler.cache import cache_dir

    allowed = [site_root, REPO_ROOT, Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix),
               Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path("/usr/share/zoneinfo"),
               Path("/usr/lib"), Path("/usr/lib64"), Path("/dev"), Path("/proc"), *filter(None, [cache_dir()])]
    allowed = [Path(os.path.realpath(p)) for p in allowed]
    return sorted({p for p in opened if not any(Path(p).is_relative_to(a) for a in allowed)})


# --- a canary server: any request to it is an internal address fetched ---------------------

class Canary(http.server.ThreadingHTTPServer):
    def __init__(self):
        self.requests: list[str] = []
        canary = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                canary.requests.append(self.path)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def canary():
    server = Canary()
    yield server
    server.shutdown()
    server.server_close()


# --- the repository: valid posts and hostile ones side by side ------------------------------

VALID = {  # file → title: these, and only these, go out
    "news/valid-1.md": "合法文章一：医保服务热线",
    "news/valid-2.md": "合法文章二：参保缴费提醒",
    "news/scripts.md": "带脚本的文章照常发布",
    "news/internal-urls.md": "引用内网地址的文章照常发布",
}

FRONT = "title: {title}\nstatus: ready\n"


def truncated_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise((800, 600), 60).convert("RGB").save(buffer, "JPEG", quality=90)
    data = buffer.getvalue()
    return data[: len(data) // 2]


def build(root: Path, outside: Path, api_base_url: str, canary_url: str) -> Repo:
    repo = Repo(root, f'[account]\nname = "测试医保"\nauthor = "测试区医保局"\napi_base_url = "{api_base_url}"\n')
    # Outside the repository: a file that would be a valid post, and a valid picture.
    outside.mkdir()
    (outside / "passwd").write_text("---\ntitle: 外部文件不该发布\nstatus: ready\n---\nroot:x:0:0:root:/root:/bin/bash\n",
                                    encoding="utf-8")
    (outside / "secret.jpg").write_bytes(image_bytes())

    repo.image("news/images/a.jpg")
    repo.post("news/valid-1.md", FRONT.format(title=VALID["news/valid-1.md"]), "正文。\n\n![图](images/a.jpg)\n")
    repo.post("news/valid-2.md", FRONT.format(title=VALID["news/valid-2.md"]), "请按时缴费。\n")
    repo.post("news/scripts.md", FRONT.format(title=VALID["news/scripts.md"]),
              '第一段。\n\n<script>alert(document.cookie)</script>\n\n<iframe src="http://evil.example/"></iframe>\n\n'
              '<p onclick="steal()" onmouseover="steal()">点我</p>\n\n[链接](javascript:alert(1))\n\n'
              '<img src="images/a.jpg" onerror="alert(1)">\n')
    repo.post("news/internal-urls.md", FRONT.format(title=VALID["news/internal-urls.md"]),
              f"第一段。\n\n![元数据](http://169.254.169.254/latest/meta-data/iam.jpg)\n\n"
              f"![内网]({canary_url}/internal.jpg)\n\n<img src=\"{canary_url}/html.png\">\n\n"
              f"[内网后台]({canary_url}/admin)\n")

    # Hostile or broken: none of these may go out, none may stop the others.
    repo.post("news/bad-yaml.md", 'title: "没有结束的引号\nstatus: ready\n')
    repo.post("news/list-front.md", "- a\n- b\n")
    repo.post("news/number-front.md", "42\n")
    repo.raw("news/binary.md", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    repo.raw("news/huge.md", ("---\n" + FRONT.format(title="十兆字节的文章") + "---\n").encode()
             + ("医保基金是人民群众的看病钱救命钱。" * 40 + "\n\n").encode() * 5300)
    (repo.content / "news" / "link.md").symlink_to(outside / "passwd")
    repo.post("news/dotdot.md", FRONT.format(title="上级目录的图片"), "![x](../../../outside/secret.jpg)\n")
    repo.post("news/absolute.md", FRONT.format(title="绝对路径的图片"), f"![x]({outside / 'secret.jpg'})\n")
    repo.raw("news/images/truncated.jpg", truncated_jpeg())
    repo.post("news/truncated.md", FRONT.format(title="图片只有一半"), "正文。\n\n![x](images/truncated.jpg)\n")
    repo.post("news/internal-cover.md",
              FRONT.format(title="封面是内网地址") + "cover: http://169.254.169.254/latest/cover.jpg\n")
    return repo


@pytest.fixture
def hostile(tmp_path, fake, canary, monkeypatch):
    monkeypatch.setenv("WECHAT_APP_ID", fake.appid)
    monkeypatch.setenv("WECHAT_APP_SECRET", fake.secret)
    return build(tmp_path / "site", tmp_path / "outside", fake.url, canary.url)


def problems_of(repo, rel: str) -> list[str]:
    return [f"{p.line}:{p.severity}:{p.message}" for p in check_repository(repo.config).problems if p.path == rel]


# --- each hostile input has its clear message ------------------------------------------------

@pytest.mark.parametrize("rel, expected", [
    ("news/link.md", "1:error:文章是指向内容仓库之外的链接，已拒绝"),
    ("news/huge.md", "1:error:文件有 10."),
    ("news/truncated.md", "7:error:图片 truncated.jpg 无法使用：图片文件已损坏或不完整，请重新导出"),
    ("news/internal-cover.md", "4:error:封面地址 http://169.254.169.254/latest/cover.jpg 不可用"),
    ("news/internal-urls.md", "7:warning:外部图片 http://169.254.169.254/latest/meta-data/iam.jpg 不会显示"),
])
def test_each_hostile_post_gets_a_clear_message(hostile, rel, expected):
    found = problems_of(hostile, rel)
    assert any(p.startswith(expected) for p in found), found


def test_a_post_that_links_outside_is_refused_without_reading_it(hostile, tmp_path):
    with Opened() as opened:
        post = read_post(hostile.content / "news" / "link.md", hostile.content, hostile.config)
    assert not post.parsed and post.title == "" and not post.ok
    assert str(tmp_path / "outside" / "passwd") not in opened


def test_a_10_mb_post_is_refused_before_it_is_read(hostile):
    path = hostile.content / "news" / "huge.md"
    assert path.stat().st_size > 10 * 1024 * 1024
    with Opened() as opened:
        post = read_post(path, hostile.content, hostile.config)
    assert str(path) not in opened and not post.ok
    assert "拆成几篇" in post.problems[0].message


def test_a_fifo_named_md_does_not_hang_the_check(repo):
    (repo.content / "news").mkdir()
    os.mkfifo(repo.content / "news" / "pipe.md")  # reading it would wait forever
    [problem] = check_repository(repo.config).problems
    assert "不是普通文件" in problem.message


def test_a_50_megapixel_photo_goes_out_reduced(repo, fake, monkeypatch, counts):
    from tests.test_images import photo

    monkeypatch.setenv("WECHAT_APP_ID", fake.appid)
    monkeypatch.setenv("WECHAT_APP_SECRET", fake.secret)
    repo.write_config(f'[account]\nname = "测试医保"\napi_base_url = "{fake.url}"\n')
    path = repo.content / "news" / "images" / "phone.jpg"
    path.parent.mkdir(parents=True)
    photo(8660, 5773).save(path, "JPEG", quality=85)  # 50 MP, as a phone takes it
    repo.post("news/phone.md", FRONT.format(title="五千万像素的照片"), "现场。\n\n![现场](images/phone.jpg)\n")
    [warning] = check_repository(repo.config).problems  # said before, with the size it will go up as
    assert warning.severity == "warning" and "phone.jpg（JPEG 格式，" in warning.message and "上传时会转为 JPG" in warning.message
    result = repo.publish("--at", SLOT_AT)
    assert result.exit_code == 0, result.output
    [uploaded] = fake.images.values()
    assert uploaded["size"] < 1024 * 1024 and len(fake.mass_sends) == 1
    counts(f"hostile 50 MP photo: {path.stat().st_size / 1e6:.1f} MB on disk "
           f"went up as {uploaded['size'] / 1e3:.0f} KB")


# --- all of it at once: a real release, the valid posts out, nothing outside read -------------

def test_the_valid_posts_go_out_and_nothing_outside_is_read(hostile, fake, canary, tmp_path, counts):
    with Opened() as opened:
        check = hostile.publish("check")
        result = hostile.publish("--at", SLOT_AT)
    assert check.exit_code == 1
    for rel in ("bad-yaml", "list-front", "number-front", "binary", "huge", "link", "dotdot", "absolute",
                "truncated", "internal-cover"):
        assert f"news/{rel}.md:" in check.output, rel
    assert result.exit_code == 0, result.output

    [send] = fake.mass_sends
    assert sorted(a["title"] for a in send["articles"]) == sorted(VALID.values())
    html = "".join(a["content"] for a in send["articles"])
    for bad in ("<script", "<iframe", "onclick", "onerror", "onmouseover", "javascript:", "169.254", "root:x:0:0"):
        assert bad not in html, bad
    import re

    assert all(src.startswith("http://mmbiz.qpic.cn/") for src in re.findall(r'src="([^"]*)"', html))
    assert not re.search(r'href="[^"]*127\.0\.0\.1', html)  # the internal link is only named, as text
    assert fake.filtered == []  # nothing WeChat would have to strip reached it
    assert canary.requests == []  # no internal address was fetched
    outside = outside_the_repository(opened, hostile.root)
    assert outside == [], outside
    assert not any(p.startswith(str(tmp_path / "outside")) for p in opened)
    counts(f"hostile release: {len(send['articles'])} valid posts out of {len(list(hostile.content.rglob('*.md')))} "
           f"files sent, {len(opened)} files opened, 0 outside the repository, 0 internal fetches")


# --- anything at all in a post: reported problems, never a crash ---------------------------

_KEYS = st.sampled_from(["title", "status", "category", "author", "digest", "cover", "publish_after", "expires",
                         "priority", "lead", "source_url", "reviewed_by", "approved_by", "comments", "x", ""])
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=True) | st.text(max_size=40)
    | st.dates().map(str) | st.sampled_from(["ready", "draft", "../../etc/passwd", "http://169.254.169.254/x",
                                             "2024-02-30", "基金监管", "images/a.jpg", "/etc/passwd"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6)
_BODIES = st.lists(st.sampled_from([
    "正文", "![x](images/a.jpg)", "![x](../../outside/secret.jpg)", "![x](/etc/passwd)", "<script>x</script>",
    "<img src=x onerror=y>", "[a](javascript:b)", "```\ncode\n```", "| a | b |\n|---|---|\n| 1 | 2 |", "> 引用",
    "- 列表\n  - 嵌套", "<iframe src=//x>", "&#0;", "\x00", "\ufeff", "---", "# 标题", "<!--", "<div>",
]) | st.text(max_size=30), max_size=8).map("\n\n".join)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(front=st.one_of(st.dictionaries(_KEYS, _VALUES, max_size=6), _VALUES), body=_BODIES,
       raw=st.booleans(), junk=st.text(max_size=40))
def test_any_front_matter_and_body_give_problems_never_a_crash(repo, front, body, raw, junk):
    import yaml

    repo.image("news/images/a.jpg")
    if raw:  # not even YAML that parses
        text = f"---\n{junk}\n---\n{body}"
    else:
        text = "---\n" + yaml.safe_dump(front, allow_unicode=True) + "---\n" + body
    path = repo.raw("news/any.md", text.encode("utf-8", "surrogatepass"))
    config = repo.config
    post = read_post(path, repo.content, config)
    check_post(post, config)
    check_rendered(post, config)
    assert all(p.path == "news/any.md" and p.line >= 1 and p.message for p in post.problems)
    if post.ok and post.parsed:
        assert post.title


def test_a_picture_damaged_after_the_choice_fails_the_release_cleanly(site, fake, monkeypatch):
    """The choice checks every picture; one broken in between fails the release, never the process."""
    from publishers import images
    from scheduler import ledger as L
    from tests.test_release import SLOT, releaser_for

    real, calls = images.prepare_body_image, []

    def broken_second(data):
        calls.append(1)
        if len(calls) == 2:
            raise images.ImageError(images.CORRUPT)
        return real(data)

    monkeypatch.setattr(images, "prepare_body_image", broken_second)
    releaser = releaser_for(site, fake)
    outcome = releaser.release(SLOT)
    assert outcome.release.status == L.FAILED
    assert "无法使用：图片文件已损坏或不完整" in outcome.release.error and "本次发布取消" in outcome.release.error
    assert fake.mass_sends == [] and fake.count("draft/add") == 0
    assert releaser.ledger.published(site.config.account.key) == (set(), set())  # its posts are free again
