"""Posts: Markdown files with YAML front matter, read from the content repository.

Reading never raises on bad content: every problem becomes a :class:`Problem`
value on the post, so one broken file never stops the others.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

if TYPE_CHECKING:  # annotations only: the settings never need the post reader
    from .config import Config

from .frontmatter import clip, load_front_matter, unsafe_characters

Severity = Literal["error", "warning"]
ERROR: Severity = "error"
WARNING: Severity = "warning"
STATUSES = ("ready", "draft")


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a post, located for the editor."""

    path: str  # relative to the content folder, POSIX style
    line: int
    severity: Severity
    message: str

    def __str__(self) -> str:
        label = "错误" if self.severity == ERROR else "警告"
        return f"{self.path}:{self.line}: {label}: {self.message}"


class _Body:
    """``Post.body``, read from the file on first use when the post came from the cache.

    A cached post carries its front matter and problems but not its body (selection
    needs front matter only); ``None`` in ``_body`` means "not read yet".
    """

    def __get__(self, post: Post | None, owner: type | None = None) -> str:
        if post is None:
            return ""  # the dataclass default
        body = post.__dict__.get("_body")
        if body is None:
            body = post.__dict__["_body"] = _read_body(post.path)
        return body

    def __set__(self, post: Post, value: str | None) -> None:
        post.__dict__["_body"] = value


@dataclass
class Post:
    """A post as read from disk: raw front matter, typed fields, body and problems."""

    path: Path  # absolute
    rel: str  # relative to the content folder, POSIX style
    sha256: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    key_lines: dict[str, int] = field(default_factory=dict)
    body: str = _Body()  # type: ignore[assignment]
    body_line: int = 1
    title: str = ""
    category: str | None = None  # a category key, once resolved
    author: str = ""
    digest: str = ""
    cover: str = ""  # as written: relative to the post
    publish_after: datetime | None = None
    expires: datetime | None = None  # exclusive: a date means "through that day"
    priority: int = 0
    lead: bool = False
    status: str = "draft"
    source_url: str = ""
    reviewed_by: str = ""
    approved_by: str = ""
    comments: bool = True  # 留言 opened unless the front matter says comments: false
    problems: list[Problem] = field(default_factory=list)
    parsed: bool = False  # the front matter was read: field rules can run

    @property
    def ok(self) -> bool:
        """True when nothing stops this post from being published."""
        return not any(p.severity == ERROR for p in self.problems)

    def line_of(self, key: str) -> int:
        """The file line of a front-matter key (the opening ``---`` when absent)."""
        return self.key_lines.get(key, 1)

    def report(self, line: int, severity: Severity, message: str) -> None:
        self.problems.append(Problem(self.rel, line, severity, message))


# --- reading ------------------------------------------------------------------

def scan(root: Path) -> Iterator[Path]:
    """Every post file under the content folder, in a stable order.

    Folders and files starting with ``_`` or ``.`` (covers, sign-off records) are
    not posts, nor is a README at the top.
    """
    for path, _ in scan_rel(root):
        yield path


def scan_rel(root: Path) -> list[tuple[Path, str]]:
    """``scan`` with each file's path relative to the content folder (POSIX style).

    Walked with ``os.scandir`` in the order and with the matches of ``sorted(root.rglob("*.md"))``:
    every entry named ``*.md`` (a folder or link so named too: reading says what is wrong), and
    folders entered unless they are links.  Folders starting with ``_`` or ``.`` are not entered.
    """
    found: list[tuple[tuple[str, ...], Path]] = []

    def walk(folder: Path, parts: tuple[str, ...]) -> None:
        try:
            with os.scandir(folder) as entries:
                listed = list(entries)
        except OSError:
            return
        for entry in listed:
            name = entry.name
            if name.startswith(("_", ".")):
                continue
            here = (*parts, name)
            if name.endswith(".md") and not (not parts and name[:-3].lower() == "readme"):
                found.append((here, folder / name))
            try:
                if entry.is_dir() and not entry.is_symlink():
                    walk(folder / name, here)
            except OSError:
                continue

    walk(root, ())
    found.sort(key=lambda item: item[0])
    return [(path, "/".join(parts)) for parts, path in found]


def is_post(root: Path, rel: str) -> bool:
    """Whether ``scan_rel(root)`` lists ``rel`` — asked of the file system for this one path."""
    parts = rel.split("/")
    if not rel or not parts[-1].endswith(".md") or any(not p or p.startswith(("_", ".")) for p in parts):
        return False
    if len(parts) == 1 and parts[0][:-3].lower() == "readme":
        return False
    folder = root
    try:
        for part in parts[:-1]:  # every folder on the way a real folder, not a link
            folder = folder / part
            if not stat.S_ISDIR(os.lstat(folder).st_mode):
                return False
        os.lstat(folder / parts[-1])
    except OSError:
        return False
    return True


def load_posts(config: Config) -> list[Post]:
    """Read every post of the content repository (front matter and body)."""
    root = config.content.dir
    return [read_post(path, root, config) for path in scan(root)]


def read_post(path: Path, root: Path, config: Config, folders: dict[str, bool] | None = None,
              rel: str | None = None) -> Post:
    """Read one post; problems are recorded on it, never raised.

    ``folders`` remembers, for one pass over the content folder, which folders were
    found to be plain ones inside it (no symbolic link on the way): a post file in
    such a folder needs no ``realpath``.
    """
    post = Post(path=path, rel=rel if rel is not None else path.relative_to(root).as_posix())
    refusal = _refusal(path, root, post.rel, folders)
    if refusal:
        post.report(1, ERROR, refusal)
        return post
    try:
        data = path.read_bytes()
    except OSError as exc:
        post.report(1, ERROR, f"无法读取文件：{exc.strerror}")
        return post
    post.sha256 = hashlib.sha256(data).hexdigest()
    text = _decode(data, post)
    if text is None:
        return post
    meta = _front_matter(text, post)
    if meta is None:
        return post
    post.meta = meta
    post.parsed = True
    _apply_fields(post, meta, config)
    post.category = _category(post, meta.get("category"), config)
    return post


MAX_POST_BYTES = 1024 * 1024  # WeChat takes under 20,000 characters of HTML: a bigger source never fits


def _refusal(path: Path, root: Path, rel: str, folders: dict[str, bool] | None = None) -> str | None:
    """Why a post file must not be read at all (checked with stat only, before any open)."""
    info = _plain_stat(path, root, folders, rel) if folders is not None else None
    if info is None:  # a link somewhere on the way, or no memo: where does it really lead?
        real = Path(os.path.realpath(path))
        if not real.is_relative_to(Path(os.path.realpath(root))):
            return "文章是指向内容仓库之外的链接，已拒绝"
        try:
            info = real.stat()
        except OSError as exc:
            return f"无法读取文件：{exc.strerror}"
    if not stat.S_ISREG(info.st_mode):
        return "不是普通文件（可能是目录、管道或设备），已跳过"
    if info.st_size > MAX_POST_BYTES:
        return (f"文件有 {info.st_size / 1024 / 1024:.1f} MB，超过 {MAX_POST_BYTES // 1024 // 1024} MB："
                "微信正文须少于 2 万字符，这篇无法发布；请删减或拆成几篇（图片放在 images/ 里引用，不要嵌进文件）")
    return None


def _plain_stat(path: Path, root: Path, folders: dict[str, bool], rel: str) -> os.stat_result | None:
    """The file's own stat when neither it nor any folder between it and ``root`` is a symbolic
    link (so it is inside the content folder as written); None when that is not sure.  ``rel``:
    the file relative to ``root`` (POSIX), by whose folders ``folders`` remembers."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if stat.S_ISLNK(info.st_mode) or not _plain_folder(root, rel.rpartition("/")[0], folders):
        return None
    return info


def _plain_folder(root: Path, folder: str, folders: dict[str, bool]) -> bool:
    """Whether ``folder`` (relative to ``root``, POSIX; "" for ``root``) and every folder above it
    are real folders, no links.  Keyed by text: hashing a Path per post costs more than the lstat."""
    known = folders.get(folder)
    if known is None:
        if not folder:
            known = True
        elif any(part in ("", ".", "..") for part in folder.split("/")):
            known = False  # not as scanning writes it: let realpath decide
        else:
            try:
                known = not stat.S_ISLNK(os.lstat(root / folder).st_mode) and _plain_folder(
                    root, folder.rpartition("/")[0], folders)
            except OSError:
                known = False
        folders[folder] = known
    return known


def _decode(data: bytes, post: Post) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        post.report(line, ERROR, "文件不是 UTF-8 编码，请用 UTF-8 保存（或这是一个二进制文件）")
        return None
    if "\x00" in text:
        post.report(text[: text.index("\x00")].count("\n") + 1, ERROR,
                    "文件含有二进制内容，不是文本；请用文本编辑器另存为 UTF-8 编码的 .md 文件")
        return None
    return text.removeprefix("\ufeff")


def _front_matter(text: str, post: Post) -> dict[str, Any] | None:
    first = text.find("\n")
    if (text if first < 0 else text[:first]).rstrip("\r ") != "---":
        post.report(1, ERROR, "缺少 YAML 头部：文件应以一行 --- 开头，写明 title 等字段，再以 --- 结束")
        return None
    split = _split_header(text, first)
    if split is None:
        post.report(1, ERROR, "YAML 头部没有结束：缺少第二行 ---")
        return None
    source, post.body, post.body_line = split
    lines = ["---", *source.split("\n")]  # the header's lines, numbered as in the file
    end = len(lines)
    meta, error = load_front_matter(source)
    if error is not None:
        line, reason = error
        post.report(line + 1, ERROR, reason)  # YAML line 1 is file line 2
        return None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        post.report(2, ERROR, f"YAML 头部应为“字段: 值”的形式，现在是{_kind(meta)}{_colon_hint(source)}")
        return None
    post.key_lines = {
        m.group(1): i + 2
        for i, line in enumerate(lines[1:end])
        if (m := _KEY_LINE.match(line))
    }
    return meta


_KEY_LINE = re.compile(r"^([A-Za-z_][\w-]*)\s*:")
# The closing line: "---" or "..." and nothing after it but spaces and carriage returns.
_CLOSING = re.compile(r"^(?:---|\.\.\.)[\r ]*$", re.MULTILINE)


def _split_header(text: str, first: int) -> tuple[str, str, int] | None:
    """(header source, body, body's first file line) of a text whose first line (ending at
    ``first``) opens the front matter; None when no line closes it.  The same split as
    cutting the text into lines and looking for the closing one, without cutting the body."""
    if first < 0:
        return None
    closing = _CLOSING.search(text, first + 1)
    if closing is None:
        return None
    source = text[first + 1:max(first + 1, closing.start() - 1)]
    end = text.count("\n", 0, closing.start())  # the closing line's index
    rest = text.find("\n", closing.end())
    return source, "" if rest < 0 else text[rest + 1:], end + 2


def _read_body(path: Path) -> str:
    """The body of a post file as it is now; "" when it cannot be read (checks said why)."""
    try:
        text = path.read_bytes().decode("utf-8").removeprefix("\ufeff")
    except (OSError, UnicodeDecodeError):
        return ""
    first = text.find("\n")
    if (text if first < 0 else text[:first]).rstrip("\r ") != "---":
        return ""
    split = _split_header(text, first)
    return "" if split is None else split[1]


def _kind(value: Any) -> str:
    if isinstance(value, (list, tuple, set)):
        return "一个列表"
    if isinstance(value, (int, float)):
        return "一个数字"
    return "一段文字"


def _colon_hint(source: str) -> str:
    """Full-width colons (``status：ready``) make the whole header one string: say so."""
    if "：" in source:
        return "；冒号要用英文半角“:”并在后面加一个空格，例如 status: ready"
    return "；每行写一个字段，例如 status: ready"


# --- fields -------------------------------------------------------------------

_SCALARS = (str, int, float)


def _text(value: Any, tz: ZoneInfo) -> str:
    if isinstance(value, bool) or not isinstance(value, _SCALARS):
        raise ValueError("应为一段文字，不是列表、表或 true/false；文字以 [ { - 开头或是 true、yes 等词时请加引号")
    text = str(value).strip()
    if (bad := unsafe_characters(text)) is not None:
        raise ValueError(f"{bad}，会让读者看到的文字与所写不同或藏起文字；请删去后重新输入")
    return text


def _flag(value: Any, tz: ZoneInfo) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"“{clip(value)}”应为 true 或 false")
    return value


PRIORITY_LIMIT = 1000


def _integer(value: Any, tz: ZoneInfo) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"“{clip(value)}”应为整数，例如 0、1、-1")
    if abs(value) > PRIORITY_LIMIT:
        raise ValueError(f"{clip(value)} 超出范围，应为 -{PRIORITY_LIMIT} 到 {PRIORITY_LIMIT} 之间的整数")
    return value


def _status(value: Any, tz: ZoneInfo) -> str:
    if not isinstance(value, str) or value not in STATUSES:
        raise ValueError(f"“{clip(value)}”应为 ready（可发布）或 draft（草稿）")
    return value


def _url(value: Any, tz: ZoneInfo) -> str:
    text = _text(value, tz)
    if text and not re.match(r"^https?://\S+$", text):
        raise ValueError(f"“{clip(text)}”应为 http:// 或 https:// 开头的完整网址")
    return text


_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M")
YEARS = (2000, 2100)  # outside these a date is a typo; and date arithmetic near year 1 or 9999 overflows


def parse_when(value: Any, tz: ZoneInfo, *, end_of_day: bool = False) -> datetime:
    """A front-matter date or time in the account timezone, as an aware datetime.

    A bare date means the start of that day, or with ``end_of_day`` the start of
    the next (so ``expires: 2024-04-30`` still allows 30 April).  ValueError with a
    Chinese reason for anything else: impossible dates, ``24:00``, year 0, lists.
    """
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=tz)
    elif isinstance(value, date):
        moment = datetime.combine(value, time(), tzinfo=tz)
    elif isinstance(value, bool) or not isinstance(value, _SCALARS):
        raise ValueError(_wrong_date(value))
    else:
        parsed = _parse_text(str(value).strip().replace("/", "-"), tz)
        if parsed is None:
            raise ValueError(_wrong_date(value))
        moment = parsed
    if not YEARS[0] <= moment.year <= YEARS[1]:
        raise ValueError(f"“{clip(value)}”的年份应在 {YEARS[0]} 到 {YEARS[1]} 之间，例如 2024-04-01")
    if end_of_day and (moment.hour, moment.minute, moment.second) == (0, 0, 0) and _is_bare_date(value):
        return moment + timedelta(days=1)
    return moment


def _wrong_date(value: Any) -> str:
    return f"“{clip(value)}”不是有效的日期，应写成 2024-04-01 或 2024-04-01 08:00"


_PADDED = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})[ T]([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?")


def _parse_text(text: str, tz: ZoneInfo) -> datetime | None:
    if (padded := _PADDED.fullmatch(text)) is not None:  # how nearly every date is written: no strptime
        try:
            year, month, day, hour, minute, second = (int(part or 0) for part in padded.groups())
            return datetime(year, month, day, hour, minute, second, tzinfo=tz)
        except ValueError:
            pass  # 2024-02-30 08:00: the formats below say no the same way
    if len(text) == 10:  # a bare date: too short for any of the formats with a time (12 characters at least)
        try:
            return datetime.combine(date.fromisoformat(text), time(), tzinfo=tz)
        except ValueError:
            return None
    for fmt in _FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=tz)
        except ValueError:
            pass
    try:  # with an offset, as YAML timestamps are written: 2024-04-01T08:00:00+08:00
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def _is_bare_date(value: Any) -> bool:
    if isinstance(value, datetime):
        return False
    return isinstance(value, date) or len(str(value).strip()) == 10


def _start(value: Any, tz: ZoneInfo) -> datetime:
    return parse_when(value, tz)


def _end(value: Any, tz: ZoneInfo) -> datetime:
    return parse_when(value, tz, end_of_day=True)


# Front-matter key → parser; the attribute of Post has the same name.
FIELDS: dict[str, Callable[[Any, ZoneInfo], Any]] = {
    "title": _text,
    "category": _text,
    "author": _text,
    "digest": _text,
    "cover": _text,
    "publish_after": _start,
    "expires": _end,
    "priority": _integer,
    "lead": _flag,
    "status": _status,
    "source_url": _url,
    "reviewed_by": _text,
    "approved_by": _text,
    "comments": _flag,
}


def _apply_fields(post: Post, meta: dict[str, Any], config: Config) -> None:
    tz = config.account.tz
    for name, value in meta.items():
        key = name if isinstance(name, str) else clip(name)
        parse = FIELDS.get(key)
        if parse is None:
            known = "、".join(FIELDS)
            post.report(post.line_of(key), WARNING, f"未知字段 {clip(key)}，将被忽略（可用字段：{known}）")
            continue
        if value is None or key == "category":
            continue
        try:
            setattr(post, key, parse(value, tz))
        except ValueError as exc:
            post.report(post.line_of(key), ERROR, f"{key}: {exc}")
    if "status" not in meta:
        post.report(1, WARNING, "未写 status，按草稿处理，不会发布；写 status: ready 才会发布")


def _category(post: Post, declared: Any, config: Config) -> str | None:
    if declared not in (None, ""):
        if isinstance(declared, bool) or not isinstance(declared, (str, int, float)):
            post.report(post.line_of("category"), ERROR,
                        f"category: 应为分类键或中文名，例如 category: policy；可用分类：{_choices(config)}")
            return None
        category = config.category(str(declared).strip())
        if category is None:
            post.report(post.line_of("category"), ERROR, f"未知分类“{clip(declared)}”，可用分类：{_choices(config)}")
            return None
        return category.key
    parts = post.rel.split("/")  # as Path(post.rel).parts, without building a Path per post
    if "" in parts or "." in parts:
        parts = list(Path(post.rel).parts)
    category = config.category(parts[0]) if len(parts) > 1 else None
    if category is None:
        where = f"文件夹“{parts[0]}”不是分类" if len(parts) > 1 else "文件不在分类文件夹中"
        post.report(1, ERROR, f"无法确定分类：{where}；请放入分类文件夹或写 category 字段。可用分类：{_choices(config)}")
        return None
    return category.key


def _choices(config: Config) -> str:
    return "、".join(f"{c.key}（{c.name}）" for c in config.categories.values())
