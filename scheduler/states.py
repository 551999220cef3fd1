"""The states of a release, apart from the ledger so that naming them needs no SQLAlchemy.

Retrying is allowed only before "sent"; after an unknown send outcome the release
is "unconfirmed" until WeChat is asked, never re-sent blindly.
"""

CLAIMED, UPLOADED, DRAFTED, SENT, CONFIRMED = "claimed", "uploaded", "drafted", "sent", "confirmed"
FAILED, MISSED, UNCONFIRMED, EMPTY = "failed", "missed", "unconfirmed", "empty"
IN_PROGRESS = (CLAIMED, UPLOADED, DRAFTED, SENT, UNCONFIRMED)
FINAL = (CONFIRMED, FAILED, MISSED, EMPTY)

# How people read each state, in the log, status and messages.
STATUS_ZH = {
    CLAIMED: "已认领", UPLOADED: "图片已上传", DRAFTED: "草稿已建", SENT: "已发送，待确认",
    CONFIRMED: "成功", FAILED: "失败", MISSED: "错过", UNCONFIRMED: "结果待确认", EMPTY: "无文章",
}

# The daemon reconciles (and beats) this often; `publish status` calls it unresponsive after two misses.
RECONCILE_MINUTES = 5


def not_sent(release) -> bool:
    """Nothing of the release reached WeChat's send: it may still be retried, or closed unsent."""
    return release.send_started_at is None and release.status in (CLAIMED, UPLOADED, DRAFTED, FAILED)


def retryable(release) -> bool:
    """A release that failed before its send: its slot may be planned and tried again."""
    return release.status == FAILED and release.send_started_at is None

