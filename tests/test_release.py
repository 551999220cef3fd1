"""Releases end to end: the sample content, the release state machine, the ledger and a
fake WeChat reached through real HTTP."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from publishers.wechat import WeChatPublisher
from scheduler import ledger as L
from scheduler.ledger import Ledger
from scheduler.release import PROTECTION_MESSAGE, Releaser, clientmsgid
from scheduler.runtime import SealedTokenStorage
from tests.conftest import counting_renders
from tests.fake_wechat import CLIENT_TIMEOUT

SLOT_AT = "2024-04-02 09:00"  # a Tuesday slot in the campaign month
SLOT = datetime(2024, 4, 2, 1, 0, tzinfo=UTC)
EXPECTED_TITLES = [  # the lead first, then priority, then oldest
    "打击欺诈骗保 维护基金安全——集中宣传月启动",
    "每周一学｜异地就医备案，这些要点请记牢",
    "医保小知识：这四类费用医保不予支付",
]


def sent_titles(fake):
    [send] = fake.mass_sends
    return [a["title"] for a in send["articles"]]


def uploads(fake):
    return fake.count("media/uploadimg") + fake.count("material/add_material")


def releaser_for(site, fake, *, now=lambda: SLOT + timedelta(minutes=1), **options):
    """A releaser as a fresh process would build it at ``now`` (just after the slot), with no real waiting."""
    config = site.config
    ledger = Ledger(config.database.url)
    publisher = WeChatPublisher(fake.appid, fake.secret, api_base_url=fake.url,
                                session=SealedTokenStorage(ledger, fake.secret),  # as make_publisher does
                                timeout=CLIENT_TIMEOUT, sleep=lambda s: None, **options)
    return Releaser(config, ledger, publisher, now=now, sleep=lambda s: None, poll_delays=(0, 0, 0))


def test_publish_sends_the_bundle_once(site, fake):
    result = site.publish("--at", SLOT_AT)
    assert result.exit_code == 0, result.output
    assert fake.count("draft/add") == 1
    assert fake.count("message/mass/sendall") == 1
    assert sent_titles(fake) == EXPECTED_TITLES
    assert fake.filtered == []  # nothing WeChat would silently strip: no foreign images, scripts, links
    assert "成功" in result.output

    again = site.publish("--at", SLOT_AT)
    assert again.exit_code == 0
    assert "不会重复发送" in again.output or "现在没有到期的推送" in again.output
    assert fake.count("draft/add") == 1 and fake.count("message/mass/sendall") == 1

    log = site.publish("log")
    assert log.exit_code == 0
    assert "2024-04-02 09:00" in log.output and "成功" in log.output
    for title in EXPECTED_TITLES:
        assert title in log.output


def test_the_draft_matches_the_dry_run_payload(site, fake, tmp_path):
    import json

    site.publish("--dry-run", "--at", SLOT_AT, "--out", str(tmp_path / "preview"))
    payload = json.loads((tmp_path / "preview" / "payload.json").read_text(encoding="utf-8"))
    site.publish("--at", SLOT_AT)
    [send] = fake.mass_sends
    assert [a["title"] for a in payload["articles"]] == [a["title"] for a in send["articles"]]
    assert [a["digest"] for a in payload["articles"]] == [a["digest"] for a in send["articles"]]


def test_every_image_is_uploaded_and_referenced_by_its_wechat_url(site, fake):
    site.publish("--at", SLOT_AT)
    html = "".join(a["content"] for a in fake.mass_sends[0]["articles"])
    assert "tuiwen-image:" not in html and "content/" not in html
    assert html.count("mmbiz.qpic.cn") >= 3
    thumbs = [a["thumb_media_id"] for a in fake.mass_sends[0]["articles"]]
    assert all(t in fake.materials for t in thumbs)


def test_nothing_due_says_when_the_next_slot_is(site, fake):
    result = site.publish("--at", "2024-04-03 10:00")
    assert result.exit_code == 0
    assert "下一次：2024-04-05 09:00（周五）" in result.output
    assert fake.count("draft/add") == 0


def test_rerun_after_a_transient_failure_uploads_nothing_again(site, fake):
    fake.inject("draft/add", "busy", times=4)  # more than the client's own retries
    first = releaser_for(site, fake).release(SLOT)
    assert first.release.status == L.UPLOADED
    assert any("稍后重试" in m for m in first.messages)
    uploaded = uploads(fake)
    assert uploaded > 0 and fake.mass_sends == []

    second = releaser_for(site, fake).release(SLOT)  # as a new process would
    assert second.release.status == L.CONFIRMED
    assert uploads(fake) == uploaded
    assert sent_titles(fake) == EXPECTED_TITLES


def test_a_forced_push_after_a_permanent_failure_reuses_uploaded_images(site, fake):
    fake.inject("draft/add", {"errcode": 45009, "errmsg": "reach max api daily quota limit"})
    result = site.publish("--at", SLOT_AT)
    assert result.exit_code == 3
    assert "45009" in result.output or "次数" in result.output
    uploaded = uploads(fake)

    retry = site.publish("--at", "2024-04-02 10:30", "--force-slot")
    assert retry.exit_code == 0, retry.output
    assert uploads(fake) == uploaded
    assert sent_titles(fake) == EXPECTED_TITLES
    log = site.publish("log").output
    assert "失败" in log and "加推" in log


def test_a_lost_send_is_confirmed_by_asking_not_by_sending_again(site, fake):
    fake.inject("message/mass/sendall", "lost")
    first = releaser_for(site, fake).release(SLOT)
    assert first.release.status == L.UNCONFIRMED
    assert len(fake.mass_sends) == 1  # WeChat did send; the answer was lost

    # The fake, like WeChat, refuses a repeat within 60 s (45066): ask again two minutes later.
    later = releaser_for(site, fake)
    later.now = lambda: SLOT + timedelta(minutes=5)
    _advance_fake_clock(fake, 120)
    outcome = later.resume(later.ledger.find(site.config.account.key, SLOT))
    assert outcome.release.status == L.CONFIRMED
    assert outcome.release.msg_id == str(fake.mass_sends[0]["msg_id"])
    assert len(fake.mass_sends) == 1


def test_a_restart_in_the_middle_resumes_without_repeating(site, fake):
    crashing = releaser_for(site, fake)
    real_upload = crashing.publisher.upload_image
    calls = []

    def crash_after_first(data, name):
        if calls:
            raise SystemExit("killed")  # the process dies between two uploads
        calls.append(name)
        return real_upload(data, name)

    crashing.publisher.upload_image = crash_after_first
    with pytest.raises(SystemExit):
        crashing.release(SLOT)
    assert fake.count("media/uploadimg") == 1

    ledger = Ledger(site.config.database.url)
    [release] = ledger.releases(site.config.account.key)
    assert release.status == L.CLAIMED  # the claim was committed before any upload

    resumed = releaser_for(site, fake).resume(release)
    assert resumed.release.status == L.CONFIRMED
    body_images = {sha for p in fake.images.values() for sha in [p["sha256"]]}
    assert fake.count("media/uploadimg") == len(body_images)  # the first image was not sent twice
    assert sent_titles(fake) == EXPECTED_TITLES


def test_publish_mode_records_article_urls(site, fake):
    site.write_config(site.config_path.read_text(encoding="utf-8").replace('mode = "mass_send"', 'mode = "publish"'))
    result = site.publish("--at", SLOT_AT)
    assert result.exit_code == 0, result.output
    assert fake.count("freepublish/submit") == 1 and fake.mass_sends == []
    log = site.publish("log").output
    assert log.count("https://mp.weixin.qq.com/s/") == 3


def test_clientmsgid_is_short_ascii_and_per_slot():
    first = clientmsgid("屈原医保", SLOT)
    assert first.isascii() and len(first) <= 32
    assert first != clientmsgid("屈原医保", SLOT + timedelta(days=3))
    assert first != clientmsgid("另一个医保", SLOT)

    # Slots an hour or a minute apart on one day are pushes of their own: were their keys equal,
    # WeChat would answer the second "already sent" (45065) and it would never go out.
    day = [SLOT + timedelta(hours=h, minutes=m) for h in (0, 1, 6) for m in (0, 1, 30)]
    assert len({clientmsgid("屈原医保", t) for t in day}) == len(day)
    assert all(re.fullmatch(r"[A-Za-z0-9-]{1,32}", clientmsgid("屈原医保", t)) for t in day)  # plain letters and digits


def test_an_empty_slot_is_recorded_and_sends_nothing(site, fake):
    for post in site.content.rglob("*.md"):
        if post.name != "README.md":
            post.unlink()
    result = site.publish("--at", SLOT_AT)
    assert result.exit_code == 0
    assert "无文章" in site.publish("log").output
    assert fake.count("draft/add") == 0 and fake.count("cgi-bin/stable_token") == 0


def _advance_fake_clock(fake, seconds):
    base = fake.clock
    fake.clock = lambda: base() + seconds


# --- promises about an unknown send and about giving up ----------------------------------------

def test_an_unknown_mass_send_older_than_wechats_24_hours_is_never_sent_again(site, fake):
    # README: 群发用 clientmsgid，微信对重复的请求会答复“已发过”——but WeChat keeps a clientmsgid for
    # 24 hours only; after that a repeat would go out again. So a send still unknown 25 hours on is
    # left for a person to check, never re-sent, and its posts stay with it.
    fake.inject("message/mass/sendall", "lost")
    first = releaser_for(site, fake)
    first.now = lambda: SLOT + timedelta(minutes=1)
    assert first.release(SLOT).release.status == L.UNCONFIRMED
    assert len(fake.mass_sends) == 1  # it did go out; the answer was lost
    asked = fake.count("message/mass/sendall")  # within the minute, a repeat is refused (45066)

    later = releaser_for(site, fake)
    later.now = lambda: SLOT + timedelta(hours=25)
    _advance_fake_clock(fake, 25 * 3600)
    outcome = later.resume(later.ledger.find(site.config.account.key, SLOT))

    assert outcome.release.status == L.UNCONFIRMED
    assert "群发结果未知且已超过 24 小时，请到公众号后台“发表记录”核对" in outcome.messages, outcome.messages
    assert fake.count("message/mass/sendall") == asked and len(fake.mass_sends) == 1
    paths, _ = later.ledger.published(site.config.account.key)
    assert len(set(paths)) == len(EXPECTED_TITLES)  # not freed for another push


def test_within_the_24_hours_an_unknown_mass_send_is_confirmed_by_its_clientmsgid(site, fake):
    fake.inject("message/mass/sendall", "lost")
    first = releaser_for(site, fake)
    first.now = lambda: SLOT + timedelta(minutes=1)
    first.release(SLOT)

    later = releaser_for(site, fake)
    later.now = lambda: SLOT + timedelta(hours=2)
    _advance_fake_clock(fake, 2 * 3600)
    outcome = later.resume(later.ledger.find(site.config.account.key, SLOT))

    assert outcome.release.status == L.CONFIRMED
    assert outcome.release.msg_id == str(fake.mass_sends[0]["msg_id"]) and len(fake.mass_sends) == 1


def test_a_release_gives_up_after_its_fifth_failed_attempt_and_frees_its_posts(site, fake):
    # A step before the send that keeps failing (WeChat busy) is tried again at later runs;
    # the fifth failure ends the release as failed, and its posts go to the next push.
    fake.inject("draft/add", "busy", times=1000)
    runs = []
    for _ in range(5):
        runs.append(releaser_for(site, fake, max_attempts=1).release(SLOT).release.status)
    assert runs == [L.UPLOADED] * 4 + [L.FAILED]
    assert fake.count("draft/add") == 5 and fake.mass_sends == []
    ledger = Ledger(site.config.database.url)
    failed = ledger.find(site.config.account.key, SLOT)
    assert failed.error.startswith("重试 5 次仍失败：") and "繁忙" in failed.error  # what people read, and why
    retries = [e.message for e in ledger.events(site.config.account.key, failed.id) if e.kind == "retry"]
    assert len(retries) == 4 and all(m.startswith("暂时失败，稍后重试：") and "繁忙" in m for m in retries)
    ledger.close()
    assert releaser_for(site, fake, max_attempts=1).release(SLOT).release.status == L.FAILED
    assert fake.count("draft/add") == 5  # given up: no sixth try

    fake.clear_faults()
    friday = releaser_for(site, fake).release(SLOT + timedelta(days=3))
    assert friday.release.status == L.CONFIRMED
    assert sent_titles(fake) == EXPECTED_TITLES


# --- `publish --preview-to`: one person's phone, nothing recorded --------------------------------

def test_preview_to_sends_the_bundle_to_one_phone_and_records_nothing(site, fake):
    # README: 把本次推送发到一个人的手机上预览（不记台账，草稿随后删除）
    result = site.publish("--preview-to", "editor01", "--at", SLOT_AT)
    assert result.exit_code == 0, result.output
    assert "已把 3 篇文章的预览发给 editor01（未记入台账，草稿已删除）" in result.output
    [preview] = fake.previews
    assert preview["towxname"] == "editor01"
    assert [a["title"] for a in preview["articles"]] == EXPECTED_TITLES
    assert fake.drafts == {} and fake.mass_sends == [] and fake.published == {}
    assert Ledger(site.config.database.url).releases(site.config.account.key) == []

    after = site.publish("--at", SLOT_AT)  # the real push still happens, once
    assert after.exit_code == 0 and sent_titles(fake) == EXPECTED_TITLES


def test_a_failed_preview_says_why_and_still_deletes_its_draft(site, fake):
    fake.inject("message/mass/preview", {"errcode": 40132, "errmsg": "invalid username"})
    result = site.publish("--preview-to", "nobody", "--at", SLOT_AT)
    assert result.exit_code == 3, result.output
    assert "40132" in result.output or "微信号" in result.output
    assert fake.count("draft/add") == 1 and fake.drafts == {} and fake.previews == []


def test_preview_to_with_nothing_to_push_sends_nothing(site, fake):
    for post in site.content.rglob("*.md"):
        if post.name != "README.md":
            post.unlink()
    result = site.publish("--preview-to", "editor01", "--at", SLOT_AT)
    assert result.exit_code == 0, result.output
    assert "没有可发布的文章，未发送预览" in result.output
    assert fake.count("draft/add") == 0 and fake.previews == []


def test_a_release_renders_each_post_once(site, fake, monkeypatch):
    rendered = counting_renders(monkeypatch)
    outcome = releaser_for(site, fake).release(SLOT)
    assert outcome.release.status == L.CONFIRMED
    assert sorted(rendered) == sorted(item.post_path for item in outcome.release.items)  # once each


def test_a_post_dropped_after_rendering_costs_the_others_no_second_render(site, fake, monkeypatch):
    """The first post chosen is too long for WeChat once laid out; it is dropped and the bundle chosen
    again, and the posts that were already rendered are not rendered a second time."""
    site.post("news/2024-03-30-too-long.md", "title: 排版后超长\nstatus: ready\npriority: 9\n"
              "reviewed_by: 王丽\napproved_by: 李明\n", "这一段正文会被排成很长的网页代码。\n\n" * 900)
    rendered = counting_renders(monkeypatch)
    outcome = releaser_for(site, fake).release(SLOT)
    assert outcome.release.status == L.CONFIRMED
    sent = [item.post_path for item in outcome.release.items]
    assert "news/2024-03-30-too-long.md" not in sent and "news/2024-03-30-too-long.md" in rendered
    assert sorted(rendered) == sorted([*sent, "news/2024-03-30-too-long.md"])  # every post once
    assert [a["title"] for a in fake.mass_sends[0]["articles"]] == EXPECTED_TITLES


def test_an_unknown_send_is_asked_about_no_sooner_than_a_minute_after_the_last_try(site, fake):
    # WeChat answers a repeat of a clientmsgid within a minute with 45066 and starts the minute
    # again: a daemon asking every few seconds would never learn the outcome.
    fake.inject("message/mass/sendall", "lost")
    clock = {"now": SLOT + timedelta(minutes=1)}
    releaser = releaser_for(site, fake, now=lambda: clock["now"])
    first = releaser.release(SLOT)
    assert first.release.status == L.UNCONFIRMED and fake.count("message/mass/sendall") == 1

    clock["now"] += timedelta(seconds=20)
    _advance_fake_clock(fake, 20)
    soon = releaser.resume(first.release)
    assert soon.release.status == L.UNCONFIRMED
    assert fake.count("message/mass/sendall") == 1  # not asked yet
    assert "群发结果未知：微信要求同一次群发隔一分钟以上再确认，稍后会再问" in soon.messages

    clock["now"] += timedelta(seconds=60)
    _advance_fake_clock(fake, 80)
    later = releaser.resume(first.release)
    assert later.release.status == L.CONFIRMED and len(fake.mass_sends) == 1
    assert fake.count("message/mass/sendall") == 2


# --- 群发保护, the catch-up window, a lost submit, a hand-edited ledger ------------------------------

def _stopped_after_the_draft(site, fake):
    """A release stopped (SIGTERM) right after its draft was created: drafted, nothing sent."""
    releaser = releaser_for(site, fake)
    releaser.should_stop = lambda: fake.count("draft/add") >= 1
    outcome = releaser.release(SLOT)
    assert outcome.release.status == L.DRAFTED and len(fake.drafts) == 1 and fake.mass_sends == []
    return outcome.release


def test_a_mass_send_held_for_the_administrator_asks_them_once_then_says_why_it_failed(site, fake):
    # README: 群发保护 — WeChat holds the send until an administrator confirms it on the phone, and
    # cancels it after 30 minutes. After three minutes of SENDING the administrator is asked, once.
    fake.mass_protection = True
    clock = {"now": SLOT + timedelta(minutes=1)}
    releaser = releaser_for(site, fake, now=lambda: clock["now"])
    release = releaser.release(SLOT).release
    assert (release.status, release.error) == (L.SENT, None)
    clock["now"] += timedelta(minutes=2)  # two minutes of SENDING: not yet
    assert releaser.resume(release).release.error is None
    clock["now"] += timedelta(minutes=1)  # three minutes: still not
    assert releaser.resume(release).release.error is None
    clock["now"] += timedelta(minutes=1)
    for _ in range(2):
        waiting = releaser.resume(release).release
        assert (waiting.status, waiting.error) == (L.SENT, PROTECTION_MESSAGE)
    messages = [e.message for e in releaser.ledger.events(site.config.account.key, release.id)]
    assert messages.count(PROTECTION_MESSAGE) == 1

    _advance_fake_clock(fake, 31 * 60)  # nobody confirmed: WeChat cancels it
    clock["now"] += timedelta(minutes=30)
    failed = releaser.resume(release).release
    assert failed.status == L.FAILED
    assert failed.error == "群发保护：管理员拒绝或 30 分钟内没有在手机上确认，群发已被微信取消"
    assert len(fake.mass_sends) == 1


def test_a_release_stopped_before_its_send_is_never_sent_after_the_catch_up_hours(site, fake):
    # README: catch_up_hours = 6 — an interrupted release is sent late within six hours, never after.
    release = _stopped_after_the_draft(site, fake)
    fake.inject("draft/delete", {"errcode": 45009, "errmsg": "reach max api daily quota limit"})
    late = releaser_for(site, fake, now=lambda: SLOT + timedelta(hours=6, seconds=1))
    outcome = late.resume(release)
    assert (outcome.note, outcome.release.status) == ("missed", L.MISSED)
    assert outcome.release.error == "发布在发送前中断，恢复时已超过补发时限（6 小时），未发送；文章放回待发"
    assert fake.mass_sends == [] and late.ledger.published_paths(site.config.account.key) == set()
    events = [(e.kind, e.message) for e in late.ledger.events(site.config.account.key, release.id)]
    assert any(k == "draft" and m.startswith("未能删除草稿：") for k, m in events)  # said, not fatal
    assert events[-1] == (L.MISSED, outcome.release.error)  # `publish log` says why, in words

    fake.clear_faults()
    again = _stopped_after_the_draft_of(site, fake, SLOT + timedelta(days=3))
    closed = releaser_for(site, fake, now=lambda: again.slot + timedelta(hours=7)).resume(again)
    assert closed.release.status == L.MISSED
    assert again.draft_media_id not in fake.drafts and len(fake.drafts) == 1  # its draft deleted, not the first


def _stopped_after_the_draft_of(site, fake, slot):
    releaser = releaser_for(site, fake, now=lambda: slot + timedelta(minutes=1))
    drafts = fake.count("draft/add")
    releaser.should_stop = lambda: fake.count("draft/add") > drafts
    return releaser.release(slot).release


def test_within_the_catch_up_hours_a_stopped_release_goes_out_marked_late(site, fake):
    release = _stopped_after_the_draft(site, fake)
    late = releaser_for(site, fake, now=lambda: SLOT + timedelta(hours=6))  # the last moment allowed
    outcome = late.resume(release)
    assert outcome.release.status == L.CONFIRMED and outcome.release.late
    assert sent_titles(fake) == EXPECTED_TITLES
    kinds = [(e.kind, e.message) for e in late.ledger.events(site.config.account.key, release.id)]
    assert (L.DRAFTED, "已过推送时间，作为补发继续") in kinds


def test_a_lost_submit_that_wechat_did_not_publish_is_left_for_a_person(site, fake):
    site.write_config(site.config_path.read_text(encoding="utf-8").replace('mode = "mass_send"', 'mode = "publish"'))
    fake.publish_outcome = 3  # WeChat took the draft, then failed the publish
    fake.inject("freepublish/submit", "lost")
    first = releaser_for(site, fake).release(SLOT)
    assert first.release.status == L.UNCONFIRMED
    again = releaser_for(site, fake).resume(first.release)
    assert again.release.status == L.UNCONFIRMED
    assert "草稿已不在草稿箱，但未找到对应的发布记录，请到公众号后台核对" in again.messages
    assert fake.count("freepublish/submit") == 1  # never submitted again


def test_when_wechat_cannot_be_asked_the_unknown_send_waits(site, fake):
    fake.inject("message/mass/sendall", "lost")
    first = releaser_for(site, fake).release(SLOT)
    fake.inject("draft/get", "busy", times=10)
    again = releaser_for(site, fake, max_attempts=1).resume(first.release)
    assert again.release.status == L.UNCONFIRMED and len(fake.mass_sends) == 1
    assert any(m.startswith("无法向微信确认：") for m in again.messages)


def test_when_wechat_cannot_be_asked_about_a_lost_publish_it_waits_and_says_why(site, fake):
    site.write_config(site.config_path.read_text(encoding="utf-8").replace('mode = "mass_send"', 'mode = "publish"'))
    fake.inject("freepublish/submit", "lost")
    fake.inject("freepublish/batchget", "busy", times=100)
    first = releaser_for(site, fake, max_attempts=1).release(SLOT)
    assert first.release.status == L.UNCONFIRMED and fake.count("freepublish/submit") == 1
    [said] = [m for m in first.messages if m.startswith("无法向微信确认：")]
    assert "繁忙" in said  # WeChat's own reason, for the person reading the log
    fake.clear_faults()
    again = releaser_for(site, fake).resume(first.release)
    assert again.release.status == L.CONFIRMED and fake.count("freepublish/submit") == 1  # found, not resubmitted


def test_the_release_timeline_says_when_the_send_began(site, fake):
    """What the console's release page lists, step by step: the send begun, then sent."""
    ledger = Ledger(site.config.database.url)
    sent = releaser_for(site, fake).release(SLOT).release
    steps = [e.message for e in ledger.events(site.config.account.key, sent.id)]
    assert steps.index("开始发送") == steps.index("已群发") - 1
    ledger.close()


def test_a_send_begun_by_a_process_that_died_is_asked_about_and_the_timeline_says_so(site, fake):
    account = site.config.account.key
    ledger = Ledger(site.config.database.url)
    stopped = _stopped_after_the_draft(site, fake)
    # The process died between recording the send as begun and sending it.
    ledger.advance(stopped.id, L.DRAFTED, "（进程在这里退出）", send_started_at=SLOT + timedelta(minutes=1),
                   clientmsgid=clientmsgid(account, SLOT))
    resumed = releaser_for(site, fake, now=lambda: SLOT + timedelta(minutes=5)).resume(ledger.get(stopped.id))
    assert resumed.release.status == L.CONFIRMED and len(fake.mass_sends) == 1, resumed.messages
    assert "上次发送结果未知，向微信确认" in [e.message for e in ledger.events(account, stopped.id)]
    ledger.close()


def test_a_hand_edited_ledger_row_stops_the_release_instead_of_sending_a_null(site, fake):
    release = _stopped_after_the_draft(site, fake)
    Ledger(site.config.database.url).advance(release.id, L.DRAFTED, "手工修改", draft_media_id=None)
    outcome = releaser_for(site, fake).resume(release)
    assert "账本中本次发布缺少 draft_media_id，无法继续；请查看 publish log 并核对公众号后台" in outcome.messages
    assert fake.mass_sends == [] and fake.count("message/mass/sendall") == 0


def test_an_unknown_send_whose_ledger_row_lost_its_draft_waits_for_a_person(site, fake):
    fake.inject("message/mass/sendall", "lost")
    first = releaser_for(site, fake).release(SLOT)
    Ledger(site.config.database.url).advance(first.release.id, L.UNCONFIRMED, "手工修改", draft_media_id=None)
    again = releaser_for(site, fake).resume(first.release)
    assert again.release.status == L.UNCONFIRMED and len(fake.mass_sends) == 1
    assert "账本中本次发布缺少 draft_media_id，无法继续；请查看 publish log 并核对公众号后台" in again.messages


def test_an_unknown_send_is_still_asked_about_at_23_hours(site, fake):
    # The clientmsgid is WeChat's for 24 hours; asking stops an hour short of that, not sooner.
    fake.inject("message/mass/sendall", "lost")
    first = releaser_for(site, fake).release(SLOT)
    started = first.release.send_started_at
    later = releaser_for(site, fake, now=lambda: started + timedelta(hours=23))
    _advance_fake_clock(fake, 23 * 3600)
    assert later.resume(first.release).release.status == L.CONFIRMED and len(fake.mass_sends) == 1


def test_each_early_repeat_restarts_wechats_minute(site, fake):
    # A repeat answered "busy" is a try too: WeChat counts its minute from it, so the next question
    # waits 65 seconds from that repeat, not from the first send — and is asked at 65 seconds.
    fake.inject("message/mass/sendall", "lost")
    clock = {"now": SLOT + timedelta(minutes=1)}
    releaser = releaser_for(site, fake, now=lambda: clock["now"])
    release = releaser.release(SLOT).release
    fake.inject("message/mass/sendall", "busy")
    clock["now"] += timedelta(seconds=70)
    _advance_fake_clock(fake, 70)
    assert releaser.resume(release).release.status == L.UNCONFIRMED
    assert fake.count("message/mass/sendall") == 2  # asked, and answered busy
    clock["now"] += timedelta(seconds=30)  # 100 s after the send, 30 s after the repeat
    assert releaser.resume(release).release.status == L.UNCONFIRMED
    assert fake.count("message/mass/sendall") == 2
    clock["now"] += timedelta(seconds=35)  # 65 s after the repeat
    _advance_fake_clock(fake, 140)
    assert releaser.resume(release).release.status == L.CONFIRMED
    assert fake.count("message/mass/sendall") == 3 and len(fake.mass_sends) == 1


def test_an_unknown_send_whose_ledger_row_lost_its_start_waits_for_a_person(site, fake):
    fake.inject("message/mass/sendall", "lost")
    first = releaser_for(site, fake).release(SLOT)
    Ledger(site.config.database.url).advance(first.release.id, L.UNCONFIRMED, "手工修改", send_started_at=None)
    again = releaser_for(site, fake).resume(first.release)
    assert "账本中本次发布缺少 send_started_at，无法继续；请查看 publish log 并核对公众号后台" in again.messages
    assert len(fake.mass_sends) == 1 and fake.count("message/mass/sendall") == 1


def test_a_lost_submit_that_wechat_published_is_found_and_logged(site, fake):
    site.write_config(site.config_path.read_text(encoding="utf-8").replace('mode = "mass_send"', 'mode = "publish"'))
    fake.inject("freepublish/submit", "lost")
    first = releaser_for(site, fake).release(SLOT)  # the answer lost: asked at once, and found
    assert first.release.status == L.CONFIRMED and fake.count("freepublish/submit") == 1
    [job] = fake.published.values()
    ledger = Ledger(site.config.database.url)
    events = [(e.kind, e.message) for e in ledger.events(site.config.account.key, first.release.id)]
    assert ("found", f"在微信发布记录中找到本次发布（article_id {job['article_id']}）") in events
