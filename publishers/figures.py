"""Article figures as WeChat's 数据统计 endpoints give them, parsed into plain values.

``getarticletotaldetail`` names each article ``msgid = "<msg_data_id>_<index>"`` (index from 1,
for mass sends and publishes alike) and gives, per ``stat_date``, the running totals from
publication to that day, for up to 30 days.  ``is_delay`` means the figures are not final yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ArticleFigures:
    """One article's running totals from its publication to ``stat_date``."""

    msg_data_id: str
    index: int  # 1 for the lead article
    pub_date: str  # YYYY-MM-DD, as WeChat dates it
    stat_date: str
    reads: int  # read_user: people who read it
    shares: int  # share_user
    zaikan: int  # zaikan_user: 在看
    likes: int  # like_user: 点赞
    comments: int  # comment_count
    collections: int  # collection_user: 收藏
    notified: bool  # publish_type 0: followers were notified (a mass send)


@dataclass(frozen=True)
class DayFigures:
    """What one ``getarticletotaldetail`` day answered: every stat_date of every article."""

    articles: tuple[ArticleFigures, ...]
    delayed: bool  # is_delay: not final yet, ask again later


def split_msgid(msgid: Any) -> tuple[str, int] | None:
    """``"2247490098_1"`` → ``("2247490098", 1)``; None for anything else."""
    head, _, tail = str(msgid or "").rpartition("_")
    if not head or not tail.isdigit() or int(tail) < 1:
        return None
    return head, int(tail)


def _count(value: Any) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


def parse_totaldetail(answer: dict) -> DayFigures:
    """The answer of ``datacube/getarticletotaldetail`` as plain values (unknown rows skipped)."""
    found: list[ArticleFigures] = []
    for entry in answer.get("list") or []:
        named = split_msgid(entry.get("msgid")) if isinstance(entry, dict) else None
        if named is None:
            continue
        for detail in entry.get("detail_list") or []:
            if not isinstance(detail, dict) or not detail.get("stat_date"):
                continue
            found.append(ArticleFigures(
                msg_data_id=named[0], index=named[1], pub_date=str(entry.get("ref_date") or ""),
                stat_date=str(detail["stat_date"]), reads=_count(detail.get("read_user")),
                shares=_count(detail.get("share_user")), zaikan=_count(detail.get("zaikan_user")),
                likes=_count(detail.get("like_user")), comments=_count(detail.get("comment_count")),
                collections=_count(detail.get("collection_user")),
                notified=_count(entry.get("publish_type")) == 0))
    return DayFigures(tuple(found), bool(answer.get("is_delay")))
