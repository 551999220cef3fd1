"""Alerts: tell the administrator about failed, missed and unconfirmed releases, a stale
account, and an empty push coming — by WeCom group robot, webhook and e-mail.

Each alert has a key (the release and its status, the slot, the gap and threshold);
an alert delivered is recorded as an ``alert`` event in the ledger and never sent
again.  Delivery is retried a few times, briefly; when it fails it is logged and
tried again at a later reconcile (up to ``MAX_FAILURES`` times).  Nothing here
raises into a release: :func:`notify` catches and logs every error.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from . import ledger as L
from .config import Config
from .freshness import Freshness
from .ledger import Ledger

log = logging.getLogger(__name__)

ATTEMPTS = 3  # per channel and alert, within one reconcile
RETRY_DELAYS = (1.0, 2.0)  # seconds between attempts
TIMEOUT = 5.0  # seconds per HTTP request or SMTP conversation step
MAX_FAILURES = 3  # reconciles that failed to deliver an alert before it is dropped
LOOKBACK = timedelta(hours=48)  # releases older than this are not alerted about any more
WECOM_MAX_BYTES = 4000  # the robot refuses markdown over 4096 bytes

WEEKDAYS_ZH = "一二三四五六日"

EVENTS = {
    "release_failed": "发布失败",
    "release_missed": "错过推送",
    "release_unconfirmed": "发布结果待确认",
    "release_waiting": "群发待管理员确认",
    "post_invalid": "文章有错误未发出",
    "freshness": "更新提醒",
    "empty_bundle": "没有可发布的文章",
    "comment_due": "留言待回复",
    "archive_failed": "发布存档失败",
}


def sentence(text: str) -> str:
    """``text`` ending in exactly one full stop, whether or not it already had one (never "。。")."""
    text = text.rstrip()
    return text if text.endswith(("。", "！", "？", ".")) else text + "。"


class AlertError(Exception):
    """A channel could not deliver an alert (the message never contains the channel's URL or password)."""


@dataclass(frozen=True)
class Alert:
    key: str  # what makes two alerts the same one
    event: str  # a key of EVENTS
    message: str
    slot: datetime | None = None
    status: str = ""
    link: str = ""  # the console page that shows it, when [serve].base_url is set

    @property
    def title(self) -> str:
        return EVENTS[self.event]

    @property
    def text(self) -> str:
        """What people read: the message, and where to look when the console is reachable."""
        return f"{self.message}详情：{self.link}" if self.link else self.message


# --- what to say ----------------------------------------------------------------

def _local(config: Config, moment: datetime) -> str:
    moment = moment.astimezone(config.account.tz)
    return f"{moment:%Y-%m-%d %H:%M}（周{WEEKDAYS_ZH[moment.weekday()]}）"


def _slot_key(slot: datetime) -> str:
    return slot.astimezone(UTC).strftime("%Y%m%dT%H%MZ")


def release_alert(config: Config, release: Any) -> Alert | None:
    """The alert a release in this state deserves, or None."""
    alert = _release_alert(config, release)
    return alert and replace(alert, link=config.serve.link(f"a/{config.account.key}/releases/{release.id}"))


def _slot_page(config: Config, slot: datetime) -> str:
    return config.serve.link(f"a/{config.account.key}/slots/{slot.astimezone(config.account.tz):%Y-%m-%dT%H:%M}")


def _release_alert(config: Config, release: Any) -> Alert | None:
    when = _local(config, release.slot)
    key = f"release:{_slot_key(release.slot)}:{release.status}"
    if release.status == L.FAILED:
        retry = "守护进程会在补发时限内自动重试，" if release.send_started_at is None else ""
        return Alert(key, "release_failed", f"{when} 的推送失败：{sentence(release.error or '原因未知')}"
                     f"{retry}未发出的文章会在以后的推送中重新入选；请查看 publish log。", release.slot, release.status)
    if release.status == L.UNCONFIRMED:
        return Alert(key, "release_unconfirmed", f"{when} 的推送已发出但微信未确认结果：{sentence(release.error or '原因未知')}"
                     "守护进程会继续向微信确认，文章暂不放回待发；如长时间未确认，请到公众号后台“发表记录”核对，"
                     f"再运行 publish resolve {release.id} --sent（已发出）或 --not-sent（未发出）。",
                     release.slot, release.status)
    if release.status == L.MISSED:
        return Alert(key, "release_missed", f"{when} 的推送未发送：{sentence(release.error or '错过了补发时限')}"
                     "请检查守护进程是否在运行（publish status）。", release.slot, release.status)
    if release.status == L.SENT and release.error:  # e.g. a mass send waiting for the administrator
        return Alert(f"release:{_slot_key(release.slot)}:sending", "release_waiting", f"{when}：{sentence(release.error)}",
                     release.slot, release.status)
    if release.status == L.EMPTY:
        return Alert(f"empty:{_slot_key(release.slot)}", "empty_bundle",
                     f"{when} 的推送没有可发布的文章，本次未推送。", release.slot, release.status)
    return None


def freshness_alert(config: Config, fresh: Freshness | None) -> Alert | None:
    """One alert per threshold per gap between mass sends (the gap is named by its last send)."""
    if fresh is None or fresh.last_update is None or not (fresh.level or fresh.failing):
        return None
    line = fresh.inspection_days if fresh.failing else fresh.level
    key = f"fresh:{_slot_key(fresh.last_update)}:{line}"
    return Alert(key, "freshness", f"{fresh.message()}。上次群发：{_local(config, fresh.last_update)}。",
                 None, f"{fresh.days}d", config.serve.link(f"a/{config.account.key}/calendar"))


def empty_alert(config: Config, ledger: Ledger, now: datetime) -> Alert | None:
    """Nothing ready for the next slot within ``[alerts].empty_hours`` of it: say so while there is time."""
    from .checks import check_post
    from .plan import Published, choose, next_slots, rules_from_config
    from .posts import load_posts

    hours = config.alerts.empty_hours
    if hours <= 0 or not config.schedule.slots:
        return None
    slot = next_slots(config.schedule.slots, config.account.tz, now, 1)[0]
    if slot - now > timedelta(hours=hours):
        return None
    key = f"empty:{_slot_key(slot)}"
    if _delivered(ledger, config.account.key, key):
        return None  # said already: spare the posts a reading
    posts = load_posts(config)
    for post in posts:
        check_post(post, config)
    paths, shas = ledger.published(config.account.key)
    bundle = choose(posts, Published(frozenset(paths), frozenset(shas)), slot, rules_from_config(config))
    if not bundle.empty:
        return None
    reasons: dict[str, int] = {}
    for left in bundle.left_out:
        if left.reason_code != "published":
            reasons[left.message_zh.split("：")[0]] = reasons.get(left.message_zh.split("：")[0], 0) + 1
    detail = "；".join(f"{reason} {n} 篇" for reason, n in sorted(reasons.items(), key=lambda r: -r[1])[:5])
    return Alert(key, "empty_bundle",
                 f"{_local(config, slot)} 的推送目前没有可发布的文章" + (f"（未入选：{detail}）" if detail else "")
                 + "。请在推送前准备好文章（status: ready，并完成审核），可用 publish --dry-run 查看。",
                 slot, "empty", _slot_page(config, slot))


def collect(config: Config, ledger: Ledger, report: Any, fresh: Freshness | None, now: datetime,
            *, forecast: bool = True) -> list[Alert]:
    """Every alert the situation calls for (delivered ones included: :func:`notify` skips those)."""
    releases = {}
    for outcome in [*getattr(report, "resumed", []), *getattr(report, "released", [])]:
        if outcome.release is not None:
            releases[outcome.release.id] = outcome.release
    # Releases done by a one-shot `publish` (cron) or another daemon count too.
    for release in ledger.releases(config.account.key, 20):
        if release.slot >= now - LOOKBACK and release.id not in releases:
            releases[release.id] = release
    alerts = [a for r in sorted(releases.values(), key=lambda r: r.slot) if (a := release_alert(config, r))]
    known = {a.key for a in alerts}
    for slot in getattr(report, "missed", []):
        key = f"release:{_slot_key(slot)}:{L.MISSED}"
        if key not in known:
            alerts.append(Alert(key, "release_missed", f"{_local(config, slot)} 的推送错过了补发时限，未发送。",
                                slot, L.MISSED, _slot_page(config, slot)))
    for left in getattr(report, "invalid", []):
        alerts.append(Alert(f"post:{left.post.rel}:{left.post.sha256[:12]}", "post_invalid",
                            f"文章 {left.post.rel} {left.message_zh}。它没有随本次推送发出，其他文章照常推送；"
                            "改正后运行 publish check 确认。", None, "invalid",
                            config.serve.link(f"a/{config.account.key}/posts/{left.post.rel}")))
    if failed := ledger.count_events(config.account.key, "archive_failed"):  # one alert for each new failure
        alerts.append(Alert(f"archive:{failed}", "archive_failed",
                            f"有推送未能写入发布存档（共 {failed} 次），推送本身不受影响。请查看守护进程日志或 "
                            "publish log 中的原因（多为磁盘已满或目录无写权限），修好后运行 publish archive verify 检查。"))
    alerts.sort(key=lambda a: a.slot or now)
    if (alert := freshness_alert(config, fresh)) is not None:
        alerts.append(alert)
    if forecast and (alert := empty_alert(config, ledger, now)) is not None:
        alerts.append(alert)
    return [replace(a, slot=a.slot.astimezone(config.account.tz)) if a.slot else a for a in alerts]


# --- the ledger as memory ---------------------------------------------------------

def _tag(key: str) -> str:
    return f"[{key}]"


def _delivered(ledger: Ledger, account: str, key: str) -> bool:
    return (ledger.count_events(account, "alert", _tag(key)) > 0
            or ledger.count_events(account, "alert_failed", _tag(key)) >= MAX_FAILURES)


# --- channels ---------------------------------------------------------------------

def _resolve(url: str) -> str:
    """A configured URL, or the one in the environment variable named by ``env:NAME``."""
    if url.startswith("env:"):
        value = os.environ.get(url[4:], "").strip()
        if not value:
            raise AlertError(f"环境变量 {url[4:]} 未设置")
        return value
    return url


def _post_json(url: str, body: dict) -> bytes:
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.read(65536)
    except urllib.error.HTTPError as exc:
        raise AlertError(f"HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise AlertError(f"连接失败：{type(reason).__name__}") from None


class WeComRobot:
    """企业微信群机器人: markdown messages."""

    name = "企业微信机器人"

    def __init__(self, url: str) -> None:
        self.url = url

    def send(self, alert: Alert, account: str, text: str) -> None:
        content = f"**{account} · {alert.title}**\n> {text}"
        while len(content.encode("utf-8")) > WECOM_MAX_BYTES:
            content = content[: int(len(content) * 0.9)]
        answer = _post_json(_resolve(self.url), {"msgtype": "markdown", "markdown": {"content": content}})
        try:
            errcode = json.loads(answer or b"{}").get("errcode", 0)
        except (ValueError, AttributeError):
            errcode = 0  # a proxy that answers 200 without JSON: accepted
        if errcode:
            raise AlertError(f"企业微信返回错误码 {errcode}")


class Webhook:
    """Any HTTP endpoint: a JSON POST with event, account, slot, status, message."""

    name = "Webhook"

    def __init__(self, url: str) -> None:
        self.url = url

    def send(self, alert: Alert, account: str, text: str) -> None:
        _post_json(_resolve(self.url), {
            "event": alert.event,
            "title": alert.title,
            "account": account,
            "slot": alert.slot.isoformat() if alert.slot else None,
            "status": alert.status,
            "message": text,
            "key": alert.key,
            "link": alert.link or None,
        })


class Email:
    """SMTP e-mail to the configured addresses."""

    name = "邮件"

    def __init__(self, settings: Any) -> None:
        self.settings = settings

    def send(self, alert: Alert, account: str, text: str) -> None:
        s = self.settings
        message = EmailMessage()
        message["Subject"] = f"【{account}】{alert.title}"
        message["From"] = s.from_addr or (s.username if "@" in s.username else f"tuiwen@{s.host}")
        message["To"] = ", ".join(s.to)
        message.set_content(f"{account} · {alert.title}\n\n{text}\n\n（tuiwen 自动发送，请勿回复）\n")
        try:
            client: smtplib.SMTP
            if s.port == 465:
                client = smtplib.SMTP_SSL(s.host, s.port, timeout=TIMEOUT, context=ssl.create_default_context())
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=TIMEOUT)
            with client:
                if s.starttls and s.port != 465:
                    client.starttls(context=ssl.create_default_context())
                if s.username:
                    password = os.environ.get(s.password_env, "") if s.password_env else ""
                    client.login(s.username, password)
                client.send_message(message)
        except smtplib.SMTPAuthenticationError:
            raise AlertError("SMTP 登录失败（检查用户名和 [alerts.smtp].password_env 指向的环境变量）") from None
        except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            raise AlertError(f"SMTP 发送失败：{type(exc).__name__}") from None


def channels_for(config: Config) -> list:
    found: list = []
    if config.alerts.wecom_robot_url:
        found.append(WeComRobot(config.alerts.wecom_robot_url))
    if config.alerts.webhook_url:
        found.append(Webhook(config.alerts.webhook_url))
    if config.alerts.smtp.host and config.alerts.smtp.to:
        found.append(Email(config.alerts.smtp))
    return found


# --- secrets never leave ------------------------------------------------------------

_TOKENISH = re.compile(r"(access_token|key|secret|password|token)=([^&\s\"']+)", re.IGNORECASE)


def scrub(text: str, config: Config) -> str:
    """The text with every known secret (and anything that looks like a token in a URL) masked."""
    secrets = [os.environ.get(config.account.app_secret_env, "")]
    if config.alerts.smtp.password_env:
        secrets.append(os.environ.get(config.alerts.smtp.password_env, ""))
    for url in (config.alerts.wecom_robot_url, config.alerts.webhook_url):
        with contextlib.suppress(AlertError):
            secrets.append(_resolve(url) if url else "")
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, "***")
    return _TOKENISH.sub(lambda m: f"{m.group(1)}=***", text)


# --- delivering -------------------------------------------------------------------

def deliver(alert: Alert, config: Config, channels: Iterable, sleep: Callable[[float], None] = time.sleep) -> list[str]:
    """Send one alert on every channel, retrying briefly; the names of the channels that took it."""
    text = scrub(alert.text, config)
    account = config.account.name
    took = []
    for channel in channels:
        for attempt in range(ATTEMPTS):
            try:
                channel.send(alert, account, text)
                took.append(channel.name)
                break
            except AlertError as exc:
                log.warning("告警“%s”经%s发送失败（第 %d 次）：%s", alert.title, channel.name, attempt + 1,
                            scrub(str(exc), config))
            except Exception as exc:  # noqa: BLE001 - a channel bug must not stop the others
                log.warning("告警“%s”经%s发送出错（第 %d 次）：%s", alert.title, channel.name, attempt + 1,
                            type(exc).__name__)
            if attempt + 1 < ATTEMPTS:
                sleep(RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)])
    return took


def notify(config: Config, ledger: Ledger, report: Any, fresh: Freshness | None, now: datetime, *,
           channels: list | None = None, sleep: Callable[[float], None] = time.sleep) -> list[Alert]:
    """Send the alerts not sent before; the ones delivered (or, without channels, logged) now.

    Never raises: an alert is a courtesy, the release is the job.
    """
    try:
        return _notify(config, ledger, report, fresh, now,
                       channels_for(config) if channels is None else channels, sleep)
    except Exception as exc:
        from .faults import describe

        log.error("处理告警时出错（不影响发布）：%s", describe(exc))
        log.debug("details", exc_info=True)
        return []


def _notify(config: Config, ledger: Ledger, report: Any, fresh: Freshness | None, now: datetime,
            channels: list, sleep: Callable[[float], None]) -> list[Alert]:
    account = config.account.key
    done = []
    # Without a channel, the forecast (which reads every post) is not worth its cost: only log.
    for alert in collect(config, ledger, report, fresh, now, forecast=bool(channels)):
        if _delivered(ledger, account, alert.key):
            continue
        text = scrub(alert.text, config)
        if not channels:
            log.warning("%s：%s（未配置告警渠道，见 [alerts]）", alert.title, text)
            ledger.event(account, "alert", f"{_tag(alert.key)} 未配置告警渠道，仅记入日志：{alert.title}：{text}")
            done.append(alert)
            continue
        took = deliver(alert, config, channels, sleep)
        if took:
            ledger.event(account, "alert", f"{_tag(alert.key)} 已经{'、'.join(took)}发送：{alert.title}：{text}")
            done.append(alert)
        else:
            ledger.event(account, "alert_failed", f"{_tag(alert.key)} 所有告警渠道都发送失败：{alert.title}")
            log.error("告警“%s”未能发出，稍后重试", alert.title)
    return done
