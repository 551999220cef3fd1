"""``publish --dry-run``: the bundle a real run would choose, rendered, sent nowhere.

Selection reads front matter only (plus the header rules); the body rules run on
the chosen posts, in push order, and only the chosen posts are rendered.  The ledger is read, if it exists, to know what was published —
never written, never created.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from publishers.base import DraftArticle
from publishers.preview import PreviewArticle, write_preview
from publishers.rendered import Rendered, content_problems

from .articles import Cover, choose_cover, render_post, theme
from .checks import image_problems
from .config import Config
from .plan import Bundle, Published, choose, choose_again, due, next_slots, rules_from_config
from .posts import ERROR, Post

if TYPE_CHECKING:
    from .bulk import Files
    from .cache import Cache

log = logging.getLogger(__name__)


@dataclass
class DryRun:
    slot: datetime
    state: str  # "on_time" | "late" | "next": whether the slot is due now or the next one
    bundle: Bundle
    articles: list[PreviewArticle] = field(default_factory=list)
    index: Path | None = None
    payload: Path | None = None


def target_slot(config: Config, at: datetime) -> tuple[datetime, str]:
    """The slot a run at ``at`` would serve, else the next one (what editors want to see)."""
    tz = config.account.tz
    current = due(config.schedule.slots, tz, at, config.schedule.catch_up_hours)
    if current is not None:
        return current.slot, current.state
    return next_slots(config.schedule.slots, tz, at, 1)[0], "next"


def read_published(config: Config) -> Published:
    """What the ledger says went out; nothing when there is no ledger yet (dry runs create none)."""
    from .ledger_view import not_created

    url = config.database.url
    if not_created(url):
        return Published()
    key, name = config.account.key, config.account.name
    if (fast := _published_sqlite(url, key)) is not None:
        # A ledger written before account keys files the rows under the display name until opened.
        old = _published_sqlite(url, name) if name != key else None
        return fast if not old else Published(fast.rels | old.rels, fast.sha256s | old.sha256s)
    from sqlalchemy.exc import SQLAlchemyError

    from .ledger import Ledger

    try:
        ledger = Ledger(url, migrate=False)
        try:
            paths, shas = ledger.published(key)
            if name != key:  # not opened by this account's config since account keys came
                old_paths, old_shas = ledger.published(name)
                paths, shas = paths | old_paths, shas | old_shas
        finally:
            ledger.close()
    except SQLAlchemyError as exc:
        log.warning("无法读取台账（%s），按没有发布记录计算", type(exc).__name__)
        return Published()
    return Published(frozenset(paths), frozenset(shas))


def with_web_approvals(config: Config) -> Config:
    """``config`` with the approvals given in the web console, when the account asks for sign-off
    and a ledger exists: ``publish check``, the dry run and the plan then judge as the release does."""
    from .ledger_view import not_created

    if not config.review.roles or not_created(config.database.url):
        return config
    from sqlalchemy.exc import SQLAlchemyError

    from .ledger import Ledger
    from .signoff import with_ledger

    try:
        ledger = Ledger(config.database.url, migrate=False)
        try:
            return with_ledger(config, ledger)
        finally:
            ledger.close()
    except SQLAlchemyError as exc:  # unreachable, or a ledger older than the console: the file records alone
        log.warning("无法读取台账中的网页审核记录（%s），只按 .signoff.toml 判断", type(exc).__name__)
        return config


def _published_sqlite(url: str, account: str) -> Published | None:
    """``Ledger.published`` without importing SQLAlchemy, which takes longer than a whole
    dry run over thousands of posts; None when the plain view cannot answer."""
    from .ledger_view import SQLiteView

    view = SQLiteView.open(url)
    found = view.published(account) if view is not None else None
    if view is not None:
        view.close()
    return None if found is None else Published(frozenset(found[0]), frozenset(found[1]))


def choose_rendered(config: Config, posts: list[Post], published: Published, slot: datetime,
                    body_checks: Callable[[Post], None] | None = None, cache: Cache | None = None):
    """choose(), then render the chosen; a post WeChat would refuse is dropped and the choice redone.

    With ``body_checks``, the posts carry their header rules only: the body rules run on each
    chosen post first (in push order), and a post they find wrong is dropped the same way.  The
    bundle is the one fully checked posts give: a post is only ever taken while nothing ranked
    above it could be, so posts never taken cannot change what is taken.  Only the reasons given
    for posts left out differ: one never looked at may be "bundle full" rather than "has errors".
    ``cache``: the pages of the last dry run, reused for a post whose version and images are unchanged.
    """
    rules = rules_from_config(config)
    look = theme(config)
    pages: dict[int, Rendered] = {}  # id(post) → its page: a post chosen again is not rendered again
    bundle = None
    while True:
        # After a post was found wrong, only the posts that could have gone are ranked again.
        bundle = choose(posts, published, slot, rules) if bundle is None else choose_again(bundle, published, rules)
        if body_checks is not None and not _body_checked(bundle, body_checks):
            continue
        rejected = False
        for post in bundle.items:
            if id(post) in pages:
                continue
            pages[id(post)], problems = _page(post, config, look, cache)
            for line, message in problems:
                post.report(line, ERROR, message)
                rejected = True
        if not rejected:
            return bundle, [pages[id(post)] for post in bundle.items]


def _page(post: Post, config: Config, look, cache: Cache | None) -> tuple[Rendered, tuple[tuple[int, str], ...]]:
    """The post rendered, with (line, message) for what WeChat would refuse in it or its pictures."""
    from .cache import dependencies

    root = config.content.dir
    if cache is None or not cache.enabled:
        return _rendered(post, config, look)
    stored = cache.page(post, root)
    if stored is not None:
        return stored
    deps = dependencies(cache, post, root)
    page = _rendered(post, config, look)
    if deps is not None:  # None: an image changed a moment ago, and may change again unseen
        cache.put_page(post, deps, *page)
    return page


def _rendered(post: Post, config: Config, look) -> tuple[Rendered, tuple[tuple[int, str], ...]]:
    result = render_post(post, config, look)
    problems = [(post.body_line, message) for message in content_problems(result)]
    problems += image_problems(post, result, config.content.dir)  # damaged pictures
    return result, tuple(problems)


def _body_checked(bundle: Bundle, body_checks: Callable[[Post], None]) -> bool:
    """Run the body rules on the bundle's posts; False when that found one of them wrong."""
    for post in bundle.items:
        body_checks(post)
        if not post.ok:
            return False
    return True


def dry_run(config: Config, at: datetime, out: Path | None, cache: Cache | None = None,
            files: Files | None = None) -> DryRun:
    """The bundle of the slot due at ``at`` (else the next), rendered; the preview written to ``out``.

    Choosing needs front matter and the cheap rules only, which ``cache`` keeps for
    unchanged posts; only the chosen posts are rendered.  ``files``: see ``bulk.read_checked``.
    """
    from .bulk import read_headers

    posts, body_checks = read_headers(config, cache=cache, files=files)
    slot, state = target_slot(config, at)
    bundle, rendered = choose_rendered(config, posts, read_published(config), slot, body_checks, cache)
    body_checks.save()
    result = DryRun(slot, state, bundle)
    for post, page in zip(bundle.items, rendered, strict=True):
        cover = choose_cover(post, page, config)
        result.articles.append(_preview_article(post, page, cover, config, len(result.articles) + 1))
    if out is not None:
        write_dry_run(config, result, out)
    return result


def write_dry_run(config: Config, result: DryRun, out: Path) -> None:
    """The preview folder of a dry run (again, into another folder: the same pages)."""
    heading = f"{config.account.name} · {result.slot.strftime('%Y-%m-%d %H:%M')} 推送预览"
    result.index, result.payload = write_preview(out, config.account.name, heading, result.articles,
                                                 root=config.content.dir)


def _preview_article(post: Post, rendered, cover: Cover, config: Config, position: int) -> PreviewArticle:
    category = config.categories.get(post.category or "")
    suffix = cover.path.suffix.lower() if cover.path else ".jpg"
    draft = DraftArticle(
        title=post.title,
        content=rendered.html,
        thumb_media_id=f"（待上传封面：{cover.label}）",
        author=post.author or config.account.author,
        digest=rendered.digest,
        content_source_url=post.source_url,
        need_open_comment=post.comments,
    )
    return PreviewArticle(draft=draft, rendered=rendered, cover_name=f"cover-{position}{suffix}",
                          cover_data=cover.read(), cover_label=cover.label,
                          category=category.name if category else "")
