"""One release as a persisted state machine.

    claimed → uploaded → drafted → sent → confirmed
    (or failed / unconfirmed / missed / empty)

Every remote effect is committed to the ledger before the next step, so a process
killed anywhere resumes from the recorded state instead of repeating it.
Retrying is allowed only before the send.  After a send whose outcome is unknown
the release is ``unconfirmed`` and WeChat is asked what happened: the draft is
gone once sent, and a mass send repeated with the same ``clientmsgid`` is refused
with the earlier msg_id (45065), so asking never pushes twice.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import TypeVar

from publishers.base import DraftArticle, Publication, Publisher, PublishError, UnknownOutcome
from publishers.render import Rendered, replace_images

from . import ledger as L
from .articles import Cover, choose_cover, render_post, theme
from .checks import check_post
from .config import Config
from .gitcontent import ContentSource
from .ledger import ItemPlan, Ledger, PostTaken, Release
from .plan import ON_TIME_GRACE, Bundle, Published
from .posts import Post, load_posts, read_post
from .signoff import with_ledger
from .states import not_sent, retryable

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # before the send; then the release is failed and its posts freed
CLIENTMSGID_WINDOW = timedelta(hours=23)  # WeChat dedupes a clientmsgid for 24 h: stay inside
RESEND_PAUSE = timedelta(seconds=65)  # WeChat: the same clientmsgid again within a minute is 45066
POLL_DELAYS = (2, 4, 8, 15, 30, 60)  # seconds between status questions
# 群发保护: WeChat holds a protected mass send as SENDING until an administrator confirms it on
# the phone, and cancels it (SEND_FAIL) after 30 minutes. Past this, people are asked to confirm.
PROTECTION_NOTICE = timedelta(minutes=3)
PROTECTION_MESSAGE = "群发待管理员确认：请管理员在手机微信上确认群发（30 分钟内未确认将被取消）"

Progress = Callable[[str, int, int, str], None]  # (stage, done, total, label)


def clientmsgid(account: str, slot: datetime) -> str:
    """The idempotency key of a mass send: derived from account and slot, ≤ 32 ASCII."""
    tag = hashlib.sha256(account.encode()).hexdigest()[:8]
    return f"tw{tag}-{slot.strftime('%Y%m%d%H%M')}"


@dataclass
class Outcome:
    """What happened to a slot, for the CLI and the daemon to report."""

    release: Release | None
    bundle: Bundle | None = None
    note: str = ""  # "already", "taken", "resumed", ...
    messages: list[str] = field(default_factory=list)


@dataclass
class _Prepared:
    post: Post
    rendered: Rendered
    cover: Cover


class Releaser:
    """Runs releases of one account against one ledger and one publisher."""

    def __init__(self, config: Config, ledger: Ledger, publisher: Publisher, *,
                 now: Callable[[], datetime] = L.utcnow, sleep: Callable[[float], None] = time.sleep,
                 progress: Progress | None = None, poll_delays: tuple[float, ...] = POLL_DELAYS) -> None:
        self.config = config
        self.ledger = ledger
        self.publisher = publisher
        self.account = config.account.key
        # WeChat keeps uploads per AppID, so the media cache is keyed by it: no account reuses another's.
        app_id = getattr(publisher, "app_id", None)
        self.media_owner = f"appid:{app_id}"[:64] if isinstance(app_id, str) and app_id else self.account
        self.now = now
        self.sleep = sleep
        self.progress = progress or (lambda *args: None)
        self.poll_delays = poll_delays
        self.should_stop: Callable[[], bool] = lambda: False  # set by the daemon on SIGTERM
        self._theme = theme(config)
        self.content = ContentSource(config)
        self._planned: dict[str, tuple[str, Rendered]] = {}  # rel → (sha256, render) from choosing
        self._resent: dict[int, datetime] = {}  # release id → when its unknown send was last repeated

    # --- entry points -----------------------------------------------------

    def release(self, slot: datetime, *, late: bool = False, forced: bool = False,
                retry: bool = False) -> Outcome:
        """Publish the bundle of ``slot`` once: claim it, or resume the release that holds it.

        With ``retry``, a release of the slot that failed before anything was sent is planned
        again and reopened; the caller decides when (the daemon after a pause, a person at once).
        """
        existing = self.ledger.find(self.account, slot)
        if existing is not None and not (retry and retryable(existing)):
            return self._continue(existing)
        self._planned.clear()  # renders of this release's planning only: the config may change between slots
        checkout = self.content.current()  # GitError: a clone tuiwen will not publish from
        for warning in checkout.warnings:
            self.ledger.event(self.account, "content", warning)
        config = with_ledger(checkout.config, self.ledger)  # the console's approvals count as the file's do
        posts = {p.rel: p for p in self._read_posts(config)}
        for _ in range(3):
            bundle = self.plan(list(posts.values()), slot, config)
            items = [self._item(i, p, checkout.commit) for i, p in enumerate(bundle.items, 1)]
            status, error = (L.EMPTY, "没有可发布的文章") if bundle.empty else (L.CLAIMED, None)
            digest = None if bundle.empty else _digest(bundle.items)
            commit = checkout.commit or None
            try:
                if existing is not None:
                    release = self.ledger.reopen(existing, items, late=late, forced=forced, status=status,
                                                 error=error, digest=digest, commit_sha=commit)
                else:
                    release = self.ledger.claim(self.account, slot, self.config.account.mode, items, late=late,
                                                forced=forced, status=status, error=error, digest=digest,
                                                commit_sha=commit)
            except PostTaken:
                continue  # another release took a post meanwhile: plan again without it
            if release is None:
                return Outcome(self.ledger.find(self.account, slot), bundle, "taken")
            if bundle.empty:
                return Outcome(release, bundle, "empty", checkout.warnings)
            outcome = self._run(release, bundle, posts, config)
            outcome.messages[:0] = checkout.warnings
            return outcome
        raise RuntimeError("文章反复被其他发布占用，请稍后再试")

    def plan(self, posts: list[Post], slot: datetime, config: Config | None = None) -> Bundle:
        """The bundle for ``slot``: what a dry run at the same moment shows."""
        from .dryrun import choose_rendered

        paths, shas = self.ledger.published(self.account)
        published = Published(rels=frozenset(paths), sha256s=frozenset(shas))
        bundle, rendered = choose_rendered(config or self.config, posts, published, slot)
        # Choosing rendered the chosen posts (to drop any WeChat would refuse): kept, so that
        # preparing the release does not render them a second time.
        self._planned.update({post.rel: (post.sha256, page) for post, page in zip(bundle.items, rendered, strict=True)})
        return bundle

    def _read_posts(self, config: Config) -> list[Post]:
        posts = load_posts(config)
        for post in posts:
            check_post(post, config)
        return posts

    def _item(self, position: int, post: Post, commit: str) -> ItemPlan:
        last = self.content.last_commit(commit, post.rel)
        return ItemPlan(position, post.rel, post.sha256, post.title, post.category,
                        commit_sha=last.sha or None, commit_author=last.author or None, commit_date=last.date or None)

    def resume(self, release: Release) -> Outcome:
        """Carry an unfinished release (after a restart) as far as it can go now."""
        return self._continue(release)

    def _continue(self, release: Release) -> Outcome:
        if release.status in L.FINAL:
            return Outcome(release, note="already")
        return self._run(release, None, None, with_ledger(self.content.of(release.commit_sha), self.ledger))

    # --- the state machine ------------------------------------------------

    def _run(self, release: Release, bundle: Bundle | None, posts: dict[str, Post] | None,
             config: Config) -> Outcome:
        """Run the state machine holding the release's run lock: one process at a time carries it."""
        with self.ledger.running(release.id) as mine:
            if not mine:
                return Outcome(self.ledger.get(release.id), bundle, "taken")
            # Re-read under the lock: another process may have carried it on since it was read.
            release = self.ledger.get(release.id)
            if release.status in L.FINAL:
                return Outcome(release, bundle, "already")
            if not_sent(release) and self.now() > self.deadline(release):
                return Outcome(self._close_missed(release), bundle, "missed")
            if not_sent(release) and not release.late and self.now() - release.slot > ON_TIME_GRACE:
                release = self.ledger.advance(release.id, release.status, "已过推送时间，作为补发继续", late=True)
            return self._steps(release, bundle, posts, config)

    def deadline(self, release: Release) -> datetime:
        """The last moment the release may still be sent: its slot plus ``catch_up_hours``."""
        return release.slot + timedelta(hours=self.config.schedule.catch_up_hours)

    def _close_missed(self, release: Release) -> Release:
        """An interrupted release not sent in time is never sent late: closed as missed, posts freed."""
        hours = self.config.schedule.catch_up_hours
        message = f"发布在发送前中断，恢复时已超过补发时限（{hours:g} 小时），未发送；文章放回待发"
        if release.draft_media_id:
            try:
                self.publisher.delete_draft(release.draft_media_id)
            except PublishError as exc:  # a leftover draft harms nothing: say so and go on
                self.ledger.event(self.account, "draft", f"未能删除草稿：{exc.message}", release.id)
        self._discard_staged(release)
        return self.ledger.advance(release.id, L.MISSED, message, error=message)

    def _steps(self, release: Release, bundle: Bundle | None, posts: dict[str, Post] | None,
               config: Config) -> Outcome:
        outcome = Outcome(release, bundle)
        steps: dict[str, Callable[..., Release]] = {
            L.CLAIMED: self._upload,
            L.UPLOADED: self._draft,
            L.DRAFTED: self._send,
            L.UNCONFIRMED: self._confirm,
            L.SENT: self._poll,
        }
        prepared: list[_Prepared] | None = None
        while release.status in steps:
            if self.should_stop():
                outcome.messages.append("收到停止信号，已在当前步骤后停下，重启后继续")
                break
            before = release.status
            try:
                if before in (L.CLAIMED, L.UPLOADED):
                    prepared = prepared or self._prepare(release, posts, config)
                    release = steps[before](release, prepared)
                else:
                    release = steps[before](release)
            except _Stop as stop:
                release = stop.release or release
                outcome.messages.append(stop.message)
                break
            if release.status == before:
                break  # nothing more to do now (still pending): the daemon asks again later
        outcome.release = self.ledger.get(release.id)
        return outcome

    def _prepare(self, release: Release, posts: dict[str, Post] | None, config: Config) -> list[_Prepared]:
        """Read and render the release's posts as they are now; a vanished post fails the release."""
        prepared = []
        for item in release.items:
            post = (posts or {}).get(item.post_path)
            if post is None:
                path = config.content.dir / item.post_path
                if not path.is_file():
                    raise self._fail(release, f"文章 {item.post_path} 已不存在，本次发布取消")
                post = read_post(path, config.content.dir, config)
                check_post(post, config)
            if not post.ok:
                first = next(p for p in post.problems if p.severity == "error")
                raise self._fail(release, f"文章 {item.post_path} 有错误：{first.message}")
            prepared.append(self._render(post, config))
        return prepared

    def _render(self, post: Post, config: Config) -> _Prepared:
        sha256, rendered = self._planned.pop(post.rel, (None, None))
        if rendered is None or sha256 != post.sha256:
            # The config read from the content's commit (git mode) may carry its own templates.
            rendered = render_post(post, config, self._theme if config is self.config else theme(config))
        return _Prepared(post, rendered, choose_cover(post, rendered, config))

    def _upload(self, release: Release, prepared: list[_Prepared]) -> Release:
        try:
            uploaded = self._ensure_media(prepared, lambda call: self._attempt(release, call))
        except _Unusable as exc:  # checked when the bundle was chosen; damaged or gone since
            raise self._fail(release, f"{exc.message.rstrip('。')}，本次发布取消") from None
        return self.ledger.advance(release.id, L.UPLOADED, f"图片已上传（新上传 {uploaded} 张）")

    def _ensure_media(self, prepared: list[_Prepared], attempt: Callable) -> int:
        """Upload every image and cover not yet in the media cache; how many were uploaded."""
        from publishers.images import prepare_body_image, prepare_cover

        images = {ref.sha256: ref for p in prepared for ref in p.rendered.images}
        todo = [ref for sha, ref in images.items() if not self._cached(sha, "body")]
        covers = {p.cover.sha256: p.cover for p in prepared}
        todo_covers = [(sha, c) for sha, c in covers.items() if not self._cached(sha, "cover")]
        total, done = len(todo) + len(todo_covers), 0
        self.progress("upload", 0, total, "")
        for ref in todo:
            if self.should_stop():
                raise _Stop(None, "收到停止信号，上传中断，重启后继续（已上传的不会重传）")
            data = _usable(prepare_body_image, ref.path.read_bytes, ref.path.name)
            url = attempt(partial(self.publisher.upload_image, data.data, f"{ref.sha256[:16]}.{data.ext}"))
            self.ledger.remember_media(self.media_owner, ref.sha256, "body", url=url)
            done += 1
            self.progress("upload", done, total, ref.path.name)
        for sha, cover in todo_covers:
            data = _usable(prepare_cover, cover.read, cover.label)
            media_id, url = attempt(partial(self.publisher.upload_cover, data.data, f"{sha[:16]}.{data.ext}"))
            self.ledger.remember_media(self.media_owner, sha, "cover", media_id=media_id, url=url)
            done += 1
            self.progress("upload", done, total, cover.label)
        return total

    def _draft(self, release: Release, prepared: list[_Prepared]) -> Release:
        articles = self._draft_articles(prepared)
        if articles is None:
            return self.ledger.advance(release.id, L.CLAIMED, "图片缓存缺失，重新上传")
        self._stage(release, articles, prepared)
        media_id = self._attempt(release, lambda: self.publisher.create_draft(articles))
        return self.ledger.advance(release.id, L.DRAFTED, f"草稿已创建（{len(articles)} 篇）", draft_media_id=media_id)

    def _draft_articles(self, prepared: list[_Prepared]) -> list[DraftArticle] | None:
        """The draft/add articles with uploaded URLs; None if an image is missing from the cache."""
        articles = []
        for p in prepared:
            media = {ref.placeholder: self.ledger.media(self.media_owner, ref.sha256, "body") for ref in p.rendered.images}
            cover = self.ledger.media(self.media_owner, p.cover.sha256, "cover")
            if cover is None or any(m is None for m in media.values()):
                return None
            urls = {key: _recorded(m.url, "url") for key, m in media.items() if m is not None}
            html = replace_images(p.rendered.html, urls)
            articles.append(self._draft_article(p, html, _recorded(cover.media_id, "media_id")))
        return articles

    def _draft_article(self, p: _Prepared, html: str, thumb: str) -> DraftArticle:
        return DraftArticle(
            title=p.post.title,
            content=html,
            thumb_media_id=thumb,
            author=p.post.author or self.config.account.author,
            digest=p.rendered.digest,
            content_source_url=p.post.source_url,
            need_open_comment=p.post.comments,
        )

    def _send(self, release: Release) -> Release:
        if release.send_started_at is not None:
            # A send was begun and nothing was recorded after it: the outcome is unknown.
            return self.ledger.advance(release.id, L.UNCONFIRMED, "上次发送结果未知，向微信确认")
        key = clientmsgid(self.account, release.slot) if release.mode == "mass_send" else None
        release = self.ledger.advance(release.id, L.DRAFTED, "开始发送", send_started_at=self.now(), clientmsgid=key)
        return self._deliver(release)

    def _resend(self, release: Release) -> Release:
        """Repeat a mass send whose first answer was lost, with the same clientmsgid.

        Only a definite answer settles it: success, or 45065 with the earlier msg_id. Any
        other answer (a refusal such as 45028 — the first send may have used the quota —, a
        proxy's page, a busy answer) leaves it unconfirmed and its posts held, never failed
        and freed: they may already be on followers' phones.
        """
        try:
            sent = self.publisher.mass_send(_recorded(release.draft_media_id, "draft_media_id"),
                                            _recorded(release.clientmsgid, "clientmsgid"))
        except PublishError as exc:
            message = f"确认群发结果时微信答复：{exc.message}"
            if release.error != message:
                self.ledger.advance(release.id, L.UNCONFIRMED, message, error=message)
            raise _Stop(self.ledger.get(release.id), message) from None
        note = "微信已有此次群发（45065），采用其 msg_id" if sent.adopted else "已群发"
        return self.ledger.advance(release.id, L.SENT, note, msg_id=sent.msg_id, msg_data_id=sent.msg_data_id,
                                   sent_at=self.now(), error=None)

    def _deliver(self, release: Release) -> Release:
        try:
            if release.mode == "mass_send":
                sent = self.publisher.mass_send(_recorded(release.draft_media_id, "draft_media_id"),
                                                _recorded(release.clientmsgid, "clientmsgid"))
                note = "微信已有此次群发（45065），采用其 msg_id" if sent.adopted else "已群发"
                return self.ledger.advance(release.id, L.SENT, note, msg_id=sent.msg_id,
                                           msg_data_id=sent.msg_data_id, sent_at=self.now(), error=None)
            submitted = self.publisher.submit(_recorded(release.draft_media_id, "draft_media_id"))
            return self.ledger.advance(release.id, L.SENT, "已提交发布", publish_id=submitted.publish_id,
                                       msg_data_id=submitted.msg_data_id or None, sent_at=self.now(), error=None)
        except PublishError as exc:
            if exc.retryable or isinstance(exc, UnknownOutcome):
                # Busy, lost, or "wait a minute" (45066): whether it went out is asked, not assumed.
                return self.ledger.advance(release.id, L.UNCONFIRMED, f"发送结果未知：{exc.message}",
                                           error=exc.message)
            raise self._fail(release, exc.message) from exc

    def _confirm(self, release: Release) -> Release:
        """Ask WeChat what became of a send whose answer was lost."""
        try:
            in_box = self.publisher.draft_exists(_recorded(release.draft_media_id, "draft_media_id"))
        except PublishError as exc:
            raise _Stop(release, f"无法向微信确认：{exc.message}") from None
        if in_box:
            # Still in the draft box: the send never happened, so sending now is the first time.
            return self._deliver(release)
        if release.mode == "mass_send":
            started = _recorded(release.send_started_at, "send_started_at")
            if self.now() - started > CLIENTMSGID_WINDOW:
                raise _Stop(release, "群发结果未知且已超过 24 小时，请到公众号后台“发表记录”核对")
            # WeChat refuses a repeat within a minute of the last try with this clientmsgid (45066),
            # and each early try starts that minute again: ask no sooner.
            last = max(started, self._resent.get(release.id, started))
            if timedelta(0) <= self.now() - last < RESEND_PAUSE:  # (a clock set back: just ask)
                raise _Stop(release, "群发结果未知：微信要求同一次群发隔一分钟以上再确认，稍后会再问")
            self._resent[release.id] = self.now()
            return self._resend(release)  # same clientmsgid: WeChat answers 45065 with the msg_id
        try:
            found = self.publisher.find_publication([item.title for item in release.items])
        except PublishError as exc:
            raise _Stop(release, f"无法向微信确认：{exc.message}") from None
        if found is None:
            raise _Stop(release, "草稿已不在草稿箱，但未找到对应的发布记录，请到公众号后台核对")
        # The publish_id of a submit whose answer was lost is never learnt: keep what identifies it.
        self.ledger.event(self.account, "found", f"在微信发布记录中找到本次发布（article_id {found.article_id}）",
                          release.id)
        return self._record(release, found)

    def _poll(self, release: Release) -> Release:
        for delay in (0, *self.poll_delays):
            self.sleep(delay)
            try:
                if release.mode == "mass_send":
                    status = self.publisher.mass_status(_recorded(release.msg_id, "msg_id"))
                else:
                    status = self.publisher.publish_status(_recorded(release.publish_id, "publish_id"))
            except PublishError as exc:
                log.warning("查询发送状态失败：%s", exc.message)
                continue
            if status.state != "pending":
                return self._record(release, status)
        return self._still_sending(release)

    def _still_sending(self, release: Release) -> Release:
        """Still sending: the daemon's reconcile asks again. A mass send that stays SENDING is
        most likely waiting for an administrator (群发保护): ask them, once."""
        waited = self.now() - (release.sent_at or release.send_started_at or self.now())
        if release.mode == "mass_send" and waited > PROTECTION_NOTICE and release.error is None:
            return self.ledger.advance(release.id, L.SENT, PROTECTION_MESSAGE, error=PROTECTION_MESSAGE)
        return release

    def _record(self, release: Release, status: Publication) -> Release:
        from .wechat_events import settle

        if status.urls:
            self.ledger.set_urls(release.id, status.urls)
        settle(self.ledger, release.account)  # links WeChat pushed before this release knew its msg_id
        if status.state == "success":
            found = {"article_id": status.article_id} if status.article_id else {}  # a 发布 is deleted by it
            confirmed = self.ledger.advance(release.id, L.CONFIRMED, "微信确认发送成功", error=None, **found)
            self._archive(confirmed)
            return confirmed
        if status.state == "failed":
            detail = status.detail
            if release.error == PROTECTION_MESSAGE:
                detail = "群发保护：管理员拒绝或 30 分钟内没有在手机上确认，群发已被微信取消"
            self._discard_staged(release)
            return self.ledger.advance(release.id, L.FAILED, f"微信报告失败：{detail}", error=detail)
        return self.ledger.advance(release.id, L.SENT, "已提交，等待微信处理")

    # --- the archive: never a reason for a release to fail ----------------------

    def _stage(self, release: Release, articles: list[DraftArticle], prepared: list[_Prepared]) -> None:
        """Keep what goes to WeChat (HTML, payload, image bytes) for the archive, before the draft is made."""
        from publishers.images import prepare_body_image, prepare_cover

        from . import archive

        try:
            staged = [archive.StagedArticle(
                article.payload(),
                tuple((ref.sha256, prepare_body_image(ref.path.read_bytes()).data) for ref in p.rendered.images),
                (p.cover.sha256, prepare_cover(p.cover.read()).data))
                for article, p in zip(articles, prepared, strict=True)]
            archive.stage(self.config, release.id, staged)
        except Exception as exc:  # noqa: BLE001 - a full disk must not hold a push back
            self._archive_failed(release, exc)

    def _archive(self, release: Release) -> None:
        """Write the release's archive once; a failure is logged and recorded, the push stands."""
        from . import archive

        archive.keep(self.config, self.ledger, release)

    def _archive_failed(self, release: Release, exc: Exception) -> None:
        from . import archive

        archive.failed(self.config, self.ledger, release.id, exc)

    # --- preview to one phone ------------------------------------------------

    def preview(self, slot: datetime, to: str) -> Bundle:
        """Send the bundle of ``slot`` to one person's phone: no release, the draft deleted after."""
        config = with_ledger(self.content.current().config, self.ledger)
        bundle = self.plan(self._read_posts(config), slot, config)
        if bundle.empty:
            return bundle
        prepared = [self._render(post, config) for post in bundle.items]
        self._ensure_media(prepared, lambda call: call())
        articles = self._draft_articles(prepared)
        if articles is None:  # uploaded just now: only a ledger that lost the rows gets here
            raise RuntimeError("图片缓存缺失，请重新预览")
        media_id = self.publisher.create_draft(articles)
        try:
            self.publisher.preview(media_id, to)
        finally:
            self.publisher.delete_draft(media_id)
        return bundle

    # --- retries and failure ---------------------------------------------

    def _attempt(self, release: Release, call: Callable):
        """A step before the send: a transient failure stops here, to be retried later."""
        try:
            return call()
        except PublishError as exc:
            if not (exc.retryable or isinstance(exc, UnknownOutcome)):
                raise self._fail(release, exc.message) from None
            current = self.ledger.retry(release.id)
            if current.attempt > MAX_ATTEMPTS:
                raise self._fail(release, f"重试 {MAX_ATTEMPTS} 次仍失败：{exc.message}") from None
            self.ledger.event(self.account, "retry", f"暂时失败，稍后重试：{exc.message}", release.id)
            raise _Stop(self.ledger.get(release.id), f"暂时失败，稍后重试：{exc.message}") from None

    def _cached(self, sha256: str, kind: str) -> bool:
        return self.ledger.media(self.media_owner, sha256, kind) is not None

    def _fail(self, release: Release, message: str) -> _Stop:
        failed = self.ledger.advance(release.id, L.FAILED, message, error=message)
        self._discard_staged(release)
        return _Stop(failed, message)

    def _discard_staged(self, release: Release) -> None:
        from .archive import discard

        discard(self.config, release.id)


class _Unusable(PublishError):
    """An image that cannot be read or prepared for upload: no retry will help."""


def _usable(prepare: Callable, read: Callable[[], bytes], name: str):
    """``prepare(read())``, or _Unusable naming the picture (never a crash in the middle of a release)."""
    from publishers.images import ImageError

    try:
        return prepare(read())
    except ImageError as exc:
        raise _Unusable(f"图片 {name} 无法使用：{exc}") from None
    except OSError as exc:
        raise _Unusable(f"图片 {name} 无法读取：{exc.strerror}") from None


class _Stop(Exception):
    """Ends a run of the state machine where it stands, with a message for people."""

    def __init__(self, release: Release | None, message: str) -> None:
        super().__init__(message)
        self.release = release
        self.message = message


_T = TypeVar("_T")


def _recorded(value: _T | None, name: str) -> _T:
    """A release field its state promises was recorded (drafted: its draft; sent: its msg_id …)."""
    if value is None:  # a hand-edited ledger row: stop rather than send WeChat a null
        raise _Stop(None, f"账本中本次发布缺少 {name}，无法继续；请查看 publish log 并核对公众号后台")
    return value


def _digest(posts: tuple[Post, ...] | list[Post]) -> str:
    """One hash of the whole bundle: which posts, in which order, with which content."""
    joined = "\n".join(f"{p.rel}:{p.sha256}" for p in posts)
    return hashlib.sha256(joined.encode()).hexdigest()
