"""``publish log --json``: the releases as plain data, for scripts and outside checks.

One object per release, newest first: the SPEC's fields (``id``, ``account``, ``slot``, ``status``,
``mode``, ``msg_data_id``, ``articles`` with ``position``, ``title``, ``path``, ``url``,
``withdrawn``) and a few more a person looking into a push needs.  A URL WeChat has not
reported yet is null, never an empty string.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .config import Config


def _when(config: Config, moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(config.account.tz).isoformat(timespec="minutes")


def releases_data(config: Config, ledger, limit: int | None) -> list[dict[str, Any]]:
    """The account's latest ``limit`` releases as JSON-ready dicts (an empty list without a ledger)."""
    from .withdraw import withdrawn

    if ledger is None:
        return []
    releases = ledger.releases(config.account.key, limit)
    taken = withdrawn(ledger, config.account.key, [r.id for r in releases]) if releases else {}
    return [_release(config, release, taken) for release in releases]


def _release(config: Config, release, taken: dict) -> dict[str, Any]:
    return {
        "id": release.id,
        "account": release.account,
        "slot": _when(config, release.slot),
        "status": release.status,
        "mode": release.mode,
        "late": bool(release.late),
        "forced": bool(release.forced),
        "msg_id": release.msg_id,
        "msg_data_id": release.msg_data_id,
        "publish_id": release.publish_id,
        "article_id": release.article_id,
        "commit": release.commit_sha,
        "sent_at": _when(config, release.sent_at),
        "error": release.error,
        "articles": [_article(config, release, item, taken.get((release.id, item.position))) for item in release.items],
    }


def _article(config: Config, release, item, withdrawal) -> dict[str, Any]:
    return {
        "position": item.position,
        "title": item.title,
        "path": item.post_path,
        "category": item.category,
        "sha256": item.sha256,
        "url": item.article_url or None,
        "withdrawn": withdrawal is not None,
        "withdrawal": None if withdrawal is None else {
            "by": withdrawal.by, "at": _when(config, withdrawal.at), "reason": withdrawal.reason,
            "whole": bool(withdrawal.whole)},
    }
