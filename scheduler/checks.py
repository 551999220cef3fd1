"""Validation rules: everything that would stop a post going out, as Problem values.

Each rule reports and moves on, so an editor sees every problem of every post in
one run (``publish check``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from publishers.assets import UnsafePath, find_image_refs, is_remote, is_wechat_image, resolve_local, sniff_image
from publishers.limits import AUTHOR_MAX, BODY_IMAGE_MAX_BYTES, DIGEST_MAX, SOURCE_URL_MAX_BYTES, TITLE_MAX, wechat_len
from publishers.rendered import Theme, content_problems

from .articles import render_post
from .config import Config
from .frontmatter import clip
from .posts import ERROR, WARNING, Post
from .signoff import check_signoff
from .workbounds import RENDER_SECONDS, OverBudget, body_too_heavy, time_budget

if TYPE_CHECKING:
    pass
from .wording import check_wording


def check_post(post: Post, config: Config, images: _ImageChecker | None = None, records: dict | None = None) -> None:
    """Run every rule on a post that was read; problems are added to ``post.problems``.

    ``records``: the sign-off records when already read (``signoff.load``), else read here.
    """
    check_header(post, config, records)
    check_body(post, config, images)


def check_header(post: Post, config: Config, records: dict | None = None) -> None:
    """The rules that need the front matter only (and the sign-off records, which fill 审核/签发):
    all that choosing a bundle needs to know besides the body rules of the posts it takes."""
    if not post.parsed:
        return  # unreadable: reading already said why
    _check_lengths(post)
    _check_window(post)
    _check_review(post, config, records)


def check_body(post: Post, config: Config, images: _ImageChecker | None = None) -> None:
    """The rules that read the body (words, privacy, images, cover file), after ``check_header``:
    together, in this order, they are ``check_post``."""
    if not post.parsed:
        return
    images = images or _ImageChecker(config.content.dir)
    check_wording(post, config)
    if not post.body.strip():
        post.report(post.body_line, ERROR, "正文为空：请在第二行 --- 之后写正文")
    elif (index := _placeholder_line(post.body)) is not None:
        post.report(post.body_line + index, ERROR, "正文还是 publish new 模板里的占位文字“正文从这里开始”，请换成正文后再发布")
    if (bidi := _BIDI.search(post.body)) is not None:
        post.report(post.body_line + post.body.count("\n", 0, bidi.start()), ERROR,
                    f"正文里有看不见的双向控制字符 U+{ord(bidi.group()):04X}，会让读者看到的文字顺序与所写不同；请删去")
    if post.body.strip() and (heavy := body_too_heavy(post.body)) is not None:
        line, message = heavy
        post.report(post.body_line + line, ERROR, message)
    for index, ref in find_image_refs(post.body):
        images.check(post, ref, post.body_line + index)
    if post.cover:
        images.check(post, post.cover, post.line_of("cover"), cover=True)


def check_rendered(post: Post, config: Config, look: Theme | None = None) -> None:
    """Render the post as it would go out: WeChat's size limits, and what the sanitiser removed."""
    if not post.parsed or not post.body.strip() or body_too_heavy(post.body) is not None:
        return  # a body past the limits is never rendered: its work is unbounded, and it cannot go out anyway
    try:
        with time_budget(RENDER_SECONDS):
            rendered = render_post(post, config, look)
    except OverBudget:
        post.report(post.body_line, ERROR, f"排版超过 {RENDER_SECONDS} 秒仍未完成，已放弃；这篇文章的排版过于复杂"
                                           "（如大量嵌套或未配对的符号），请简化后再检查")
        return
    for message in content_problems(rendered):
        post.report(post.body_line, ERROR, message)
    refs = _image_refs(post, rendered, config.content.dir)
    for line, message in image_problems(post, rendered, config.content.dir, refs):
        post.report(line, ERROR, message)
    for line, message in image_notes(post, rendered, config.content.dir, refs):
        post.report(line, WARNING, message)
    for removal in rendered.removed:
        if removal.kind != "image":  # image problems are reported by the image rules, with their line
            post.report(post.body_line, WARNING, removal.message)
    for note in rendered.notes:  # a line that reads two ways: say which reading the post goes out with
        post.report(post.body_line + note.line - 1, WARNING, note.message)


_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")  # embeddings, overrides, isolates: text shown reordered


_VERDICTS: dict[str, str | None] = {}  # image sha256 → why it cannot be prepared (same bytes, same answer)


def _image_refs(post: Post, rendered, root: Path) -> list[tuple]:
    """(image, "图片"|"封面", file line) for every image of a rendered post."""
    lines: dict[Path, int] = {}
    for index, ref in find_image_refs(post.body):
        try:
            lines.setdefault(resolve_local(root, post.path.parent, ref), post.body_line + index)
        except (UnsafePath, ValueError):
            continue
    refs = [(image, "图片", lines.get(image.path, post.body_line), False) for image in rendered.images]
    if rendered.cover is not None:
        refs.append((rendered.cover, "封面", post.line_of("cover"), True))
    return refs


def image_problems(post: Post, rendered, root: Path, refs: list[tuple] | None = None) -> list[tuple[int, str]]:
    """(line, message) for each image of a rendered post that would not survive preparation for
    upload (truncated, damaged, too many pixels): found before a release claims the post, not in it."""
    from publishers.images import ImageError, check_image

    problems: list[tuple[int, str]] = []
    for image, what, line, _ in refs if refs is not None else _image_refs(post, rendered, root):
        if image.sha256 not in _VERDICTS:
            try:
                check_image(image.path.read_bytes())
                _VERDICTS[image.sha256] = None
            except ImageError as exc:
                _VERDICTS[image.sha256] = str(exc)
            except OSError as exc:
                return [*problems, (line, f"{what} {image.path.name} 无法读取：{exc.strerror}")]
        if _VERDICTS[image.sha256]:
            problems.append((line, f"{what} {image.path.name} 无法使用：{_VERDICTS[image.sha256]}"))
    return problems


_NOTES: dict[tuple[str, bool], str | None] = {}  # (image sha256, cover) → what upload preparation will do to it
_CONVERTED = {"webp": "WebP", "bmp": "BMP", "gif": "GIF", "tiff": "TIFF"}  # WeChat's body images are JPG or PNG


def image_notes(post: Post, rendered, root: Path, refs: list[tuple] | None = None) -> list[tuple[int, str]]:
    """(line, warning) for each image that will be recompressed or converted when uploaded, with its
    size before and after, so an editor who minds the quality can export it themselves."""
    notes = []
    for image, what, line, cover in refs if refs is not None else _image_refs(post, rendered, root):
        key = (image.sha256, cover)
        if key not in _NOTES:
            _NOTES[key] = _upload_change(image.path, cover)
        if _NOTES[key]:
            notes.append((line, f"{what} {image.path.name}{_NOTES[key]}"))
    return notes


def _upload_change(path: Path, cover: bool) -> str | None:
    from publishers.images import ImageError, image_info, prepare_body_image, prepare_cover

    try:
        data = path.read_bytes()
        fmt = image_info(data)[0]
    except (OSError, ImageError):
        return None  # image_problems says why
    big = len(data) > BODY_IMAGE_MAX_BYTES
    if not big and fmt not in _CONVERTED:
        return None
    try:
        prepared = (prepare_cover if cover else prepare_body_image)(data)
    except ImageError:
        return None
    if not prepared.changed:
        return None
    before = f"{_CONVERTED.get(fmt, fmt.upper())} 格式，{_size(len(data))}"
    after = f"{prepared.ext.upper()}（约 {_size(len(prepared.data))}）"
    why = "超过微信正文图片 1 MB 的上限" if big else "微信正文图片只收 JPG 和 PNG"
    loss = "，画质可能下降" if prepared.ext == "jpg" else ""
    return (f"（{before}）{why}，上传时会转为 {after}{loss}；"
            "想保持原样请自己另存为小于 1 MB 的 JPG 或 PNG")


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{max(1, round(n / 1024))} KB"


def _placeholder_line(body: str) -> int | None:
    """The body line still holding the template's opening sentence, if any."""
    from .newpost import PLACEHOLDER

    opening = PLACEHOLDER[:7]  # "正文从这里开始": also when the note after it was deleted
    if opening not in body:
        return None
    return body[: body.index(opening)].count("\n")


def _check_lengths(post: Post) -> None:
    if post.meta.get("title") in (None, ""):
        post.report(post.line_of("title"), ERROR, "缺少标题：请写 title 字段")
    elif (n := wechat_len(post.title)) > TITLE_MAX:
        post.report(post.line_of("title"), ERROR, f"标题有 {n} 个字，超过微信上限 {TITLE_MAX} 个字")
    if (n := wechat_len(post.author)) > AUTHOR_MAX:
        post.report(post.line_of("author"), ERROR, f"作者有 {n} 个字，超过微信上限 {AUTHOR_MAX} 个字")
    if (n := wechat_len(post.digest)) > DIGEST_MAX:
        post.report(post.line_of("digest"), ERROR, f"摘要有 {n} 个字，超过微信上限 {DIGEST_MAX} 个字")
    if len(post.source_url.encode()) > SOURCE_URL_MAX_BYTES:
        post.report(post.line_of("source_url"), ERROR, f"阅读原文网址超过微信上限 {SOURCE_URL_MAX_BYTES} 字节")


def _check_window(post: Post) -> None:
    if post.publish_after and post.expires and post.publish_after >= post.expires:
        post.report(post.line_of("expires"), ERROR,
                    f"expires（{clip(post.meta.get('expires'))}）不晚于 "
                    f"publish_after（{clip(post.meta.get('publish_after'))}），这篇文章永远不会发布")


def _check_review(post: Post, config: Config, records: dict | None = None) -> None:
    if check_signoff(post, config, records):  # [review].roles set: the sign-off records decide
        return
    if not config.review.required or post.status != "ready":
        return
    for key, role in (("reviewed_by", "审核"), ("approved_by", "签发")):
        if not getattr(post, key):
            post.report(post.line_of(key), ERROR, f"已要求先审后发（[review].required）：缺少 {key}（{role}人）")


_IMAGE_HINTS = {
    "不存在": "：路径相对这篇文章所在的文件夹，如 images/cover.jpg（文件名区分大小写）",
    "不是文件": "（可能是文件夹），请写图片文件的路径，如 images/cover.jpg",
}


class _ImageChecker:
    """Checks image references; a file shared by many posts is examined once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._seen: dict[Path, str | None] = {}

    def check(self, post: Post, ref: str, line: int, cover: bool = False) -> None:
        what = "封面" if cover else "图片"
        if is_remote(ref):
            self._remote(post, ref, line, what, cover)
            return
        try:
            path = resolve_local(self.root, post.path.parent, ref)
        except UnsafePath as exc:
            post.report(line, ERROR, str(exc))
            return
        reason = self._examine(path)
        if reason:
            post.report(line, ERROR, f"{what} {ref} {reason}{_IMAGE_HINTS.get(reason, '')}")

    def _remote(self, post: Post, ref: str, line: int, what: str, cover: bool) -> None:
        scheme = urlsplit(ref).scheme.lower()
        if cover or scheme not in ("http", "https", ""):
            post.report(line, ERROR, f"{what}地址 {ref} 不可用：请把图片放进内容仓库，用相对路径引用")
        elif not is_wechat_image(ref):
            post.report(line, WARNING, f"外部图片 {ref} 不会显示（微信只显示上传到微信的图片），发布时将被移除；请把图片放进内容仓库")

    def _examine(self, path: Path) -> str | None:
        if path not in self._seen:
            self._seen[path] = image_problem(path)
        return self._seen[path]


def image_problem(path: Path) -> str | None:
    if not path.is_file():
        return "不存在" if not path.exists() else "不是文件"
    try:
        with path.open("rb") as file:
            head = file.read(16)
    except OSError as exc:
        return f"无法读取：{exc.strerror}"
    if sniff_image(head) is None:
        return "不是图片（支持 JPG、PNG、GIF、WebP、BMP）"
    return None
