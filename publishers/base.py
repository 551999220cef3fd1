"""The values publishers receive and return."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Article:
    """One article of a push, as plain values: what a publisher needs and nothing more."""

    title: str
    body: str  # Markdown
    base_dir: Path  # the post's folder: relative image paths start here
    root: Path  # the content repository: nothing outside it is ever read
    author: str = ""
    digest: str = ""
    cover: Path | None = None
    source_url: str = ""
    comments: bool = True  # 留言 opened unless the front matter says comments: false
    category: str = ""  # display name, for the category header
    color: str = "#2b6cb0"  # the category's accent colour
    reviewed_by: str = ""
    approved_by: str = ""


@dataclass(frozen=True)
class DraftArticle:
    """One article of a ``draft/add`` body, images already on WeChat."""

    title: str
    content: str  # WeChat HTML
    thumb_media_id: str
    author: str = ""
    digest: str = ""
    content_source_url: str = ""
    need_open_comment: bool = False
    only_fans_can_comment: bool = False

    def payload(self) -> dict:
        return {
            "title": self.title,
            "author": self.author,
            "digest": self.digest,
            "content": self.content,
            "content_source_url": self.content_source_url,
            "thumb_media_id": self.thumb_media_id,
            "need_open_comment": int(self.need_open_comment),
            "only_fans_can_comment": int(self.only_fans_can_comment),
        }


@dataclass(frozen=True)
class Sent:
    """WeChat accepted a mass send (or said it already had: ``adopted``)."""

    msg_id: str
    msg_data_id: str = ""
    adopted: bool = False


@dataclass(frozen=True)
class Submitted:
    """WeChat took a free publish: the job to ask about, and the message its figures and comments are filed under."""

    publish_id: str
    msg_data_id: str = ""


@dataclass(frozen=True)
class Publication:
    """The state of a free publish or a mass send, as WeChat reports it."""

    state: str  # "pending" | "success" | "failed"
    detail: str = ""
    article_id: str = ""
    urls: dict[int, str] = field(default_factory=dict)  # position (1-based) → article URL


class PublishError(Exception):
    """WeChat refused or failed; ``message`` is Chinese and says what to do."""

    def __init__(self, message: str, *, code: int | None = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.retryable = retryable


class UnknownOutcome(PublishError):
    """The request may or may not have taken effect (timeout, lost answer): ask, never repeat blindly."""


class Publisher(Protocol):
    """What a release needs from a delivery target (WeChat, or a fake in tests)."""

    def upload_image(self, data: bytes, filename: str) -> str:
        """Upload an article-body image; its URL on WeChat's image host."""

    def upload_cover(self, data: bytes, filename: str) -> tuple[str, str]:
        """Upload a cover as permanent material; (media_id, url)."""

    def create_draft(self, articles: list[DraftArticle]) -> str:
        """Create one multi-article draft; its media_id."""

    def draft_exists(self, media_id: str) -> bool:
        """True while the draft is in the draft box (WeChat removes it once sent or published)."""

    def delete_draft(self, media_id: str) -> None: ...

    def mass_send(self, media_id: str, clientmsgid: str) -> Sent:
        """Mass-send a draft to all followers, idempotent per clientmsgid for 24 h."""

    def mass_status(self, msg_id: str) -> Publication: ...

    def submit(self, media_id: str) -> Submitted:
        """Free-publish a draft (no notification)."""

    def publish_status(self, publish_id: str) -> Publication: ...

    def find_publication(self, titles: list[str]) -> Publication | None:
        """A recent free publish carrying these titles, if WeChat has one (after a lost answer)."""

    def preview(self, media_id: str, to: str) -> None:
        """Send a draft to one person's phone (openid or WeChat ID)."""

    def delete_mass(self, msg_id: str, index: int = 0) -> None:
        """Take down article ``index`` (from 1; 0 = every one) of a mass send."""

    def delete_publication(self, article_id: str, index: int = 0) -> None:
        """Delete article ``index`` (from 1; 0 = every one) of a 发布; irreversible."""
