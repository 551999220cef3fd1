"""The WeChat publisher through real HTTP against the strict fake (tests/fake_wechat.py)."""
from __future__ import annotations

import io
import logging
import time
import traceback

import pytest
from PIL import Image
from wechatpy.session.memorystorage import MemoryStorage

from publishers.base import DraftArticle, Publication, PublishError, Sent, UnknownOutcome
from publishers.errors import describe
from publishers.wechat import WeChatPublisher, scrub
from publishers.wechat_api import upload_file
from tests.fake_wechat import CLIENT_TIMEOUT, FakeWeChat, ManualClock


class StrStorage(MemoryStorage):
    """Stores everything as text, like the scheduler's ledger-backed storage."""

    def set(self, key, value, ttl=None):
        super().set(key, None if value is None else str(value), ttl)


def image(fmt: str = "JPEG", size=(40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, fmt)
    return buffer.getvalue()


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def fake(clock):
    with FakeWeChat(clock=clock) as server:
        yield server
    assert server.errors == []


@pytest.fixture
def sleeps():
    return []


def make(fake, sleeps=None, **options) -> WeChatPublisher:
    options = {"timeout": CLIENT_TIMEOUT, "sleep": (sleeps if sleeps is not None else []).append,
               **options}
    return WeChatPublisher(options.pop("app_id", fake.appid), options.pop("app_secret", fake.secret),
                           api_base_url=fake.url, **options)


@pytest.fixture
def wx(fake, sleeps):
    return make(fake, sleeps)


def articles(wx, count: int = 1, **fields) -> list[DraftArticle]:
    url = wx.upload_image(image("PNG"), "body.png")
    thumb, _ = wx.upload_cover(image(), "cover.jpg")
    return [DraftArticle(**{"title": f"医保政策解读第{i}篇", "author": "屈原区医保局",
                            "content": f'<p style="color:#333">正文{i}</p><img src="{url}">',
                            "thumb_media_id": thumb, **fields})
            for i in range(1, count + 1)]


def draft(wx, count: int = 1) -> str:
    return wx.create_draft(articles(wx, count))


def stable_token_bodies(fake) -> list[dict]:
    return [c.body for c in fake.calls if c.endpoint == "stable_token"]


# ----- tokens ------------------------------------------------------------------------------------

def test_token_from_stable_token_is_fetched_once_and_shared(fake):
    storage = StrStorage()  # text values, as the ledger stores them
    first, second = make(fake, session=storage), make(fake, session=storage)
    first.upload_image(image(), "a.jpg")
    second.upload_image(image(), "b.jpg")
    assert fake.count("stable_token") == 1 and fake.count("token") == 0
    assert stable_token_bodies(fake)[0]["force_refresh"] is False
    assert fake.count("media/uploadimg") == 2


def test_a_token_near_its_end_is_replaced(fake):
    storage = MemoryStorage()
    wx = make(fake, session=storage)
    key = f"{fake.appid}_access_token"
    storage.set(key, fake.valid_token())
    storage.set(key + "_expires_at", time.time() + 600)  # 10 minutes left: used as is
    wx.upload_image(image(), "a.jpg")
    assert fake.count("stable_token") == 0
    storage.set(key + "_expires_at", time.time() + 240)  # 4 minutes left: fetched again
    wx.upload_image(image(), "a.jpg")
    assert fake.count("stable_token") == 1


def test_expired_token_is_refreshed_once_and_the_request_retried(fake, wx):
    wx.upload_image(image(), "a.jpg")
    fake.inject("draft/add", "token_expired")
    media_id = draft(wx)
    assert media_id in fake.drafts
    assert [b["force_refresh"] for b in stable_token_bodies(fake)] == [False, True]
    assert fake.count("draft/add") == 2


def test_a_persistent_token_error_is_not_refreshed_forever(fake, wx):
    fake.inject("media/uploadimg", "token_expired", times=5)
    with pytest.raises(PublishError) as raised:
        wx.upload_image(image(), "a.jpg")
    assert raised.value.code == 42001
    assert fake.count("media/uploadimg") == 2 and fake.count("stable_token") == 2


def test_a_token_already_refreshed_by_another_process_is_used_without_force(fake):
    class Racy(MemoryStorage):
        """Hands out a token another process has since replaced, once."""
        stale = "replaced-by-another-process"

        def get(self, key, default=None):
            if key.endswith("_access_token") and self.stale:
                stale, self.stale = self.stale, None
                return stale
            return super().get(key, default)

    storage = Racy()
    storage.set(f"{fake.appid}_access_token", fake.valid_token())
    storage.set(f"{fake.appid}_access_token_expires_at", time.time() + 3600)
    make(fake, session=storage).upload_image(image(), "a.jpg")
    assert [c.errcode for c in fake.calls if c.endpoint == "media/uploadimg"] == [40001, 0]
    assert fake.count("stable_token") == 0  # no force_refresh: the stored token was newer


def test_caller_ip_not_in_whitelist_names_the_ip_and_the_fix(clock):
    with FakeWeChat(clock=clock, ip_whitelist=["10.1.2.3"]) as fake:
        with pytest.raises(PublishError) as raised:
            make(fake).upload_image(image(), "a.jpg")
        assert fake.count("stable_token") == 1  # no retry: only the administrator can fix it
    assert raised.value.code == 40164 and not raised.value.retryable
    assert "127.0.0.1" in raised.value.message and "IP白名单" in raised.value.message
    assert "基本配置" in raised.value.message


def test_wrong_secret_says_to_reset_it_and_never_shows_it(fake):
    wrong = "wrong_secret_0123456789abcdef0123"
    with pytest.raises(PublishError) as raised:
        make(fake, app_secret=wrong).upload_image(image(), "a.jpg")
    assert raised.value.code == 40125
    assert "AppSecret" in raised.value.message and "重置" in raised.value.message
    assert wrong not in str(raised.value) and wrong not in repr(raised.value)


def test_wrong_app_id(fake):
    with pytest.raises(PublishError) as raised:
        make(fake, app_id="wx_not_this_one").upload_image(image(), "a.jpg")
    assert raised.value.code == 40013 and "AppID" in raised.value.message


def test_a_wrong_api_base_url_is_named(fake):
    wx = WeChatPublisher(fake.appid, fake.secret, api_base_url=fake.url + "gateway/", timeout=CLIENT_TIMEOUT,
                         sleep=lambda s: None)
    with pytest.raises(PublishError) as raised:
        wx.upload_image(image(), "a.jpg")
    assert "api_base_url" in raised.value.message and "404" in raised.value.message
    assert not raised.value.retryable


# ----- uploads and drafts ------------------------------------------------------------------------

@pytest.mark.parametrize("fmt, name", [("JPEG", "正文图片.jpg"), ("PNG", "images/pic.png")])
def test_body_images_go_to_mmbiz(fake, wx, fmt, name):
    url = wx.upload_image(image(fmt), name)
    assert url.startswith("http://mmbiz.qpic.cn/") and url in fake.images
    sent = [c.body["media"]["filename"] for c in fake.calls if c.endpoint == "media/uploadimg"]
    assert sent == ["image.jpg" if fmt == "JPEG" else "pic.png"]


def test_upload_file_names_follow_the_bytes():
    assert upload_file(image(), "a/b/封面.jpeg")[0::2] == ("image.jpg", "image/jpeg")
    assert upload_file(image("PNG"), "cover.JPG")[0] == "cover.png"
    assert upload_file(b"RIFF0000WEBPVP8 ", "x.webp")[0] == "x.webp"


def test_cover_is_permanent_material_usable_as_thumb(fake, wx):
    media_id, url = wx.upload_cover(image(), "cover.jpg")
    assert media_id in fake.materials and url.startswith("http://mmbiz.qpic.cn/")
    body = wx.upload_image(image(), "b.jpg")
    draft_id = wx.create_draft([DraftArticle("封面测试", f'<p>正文</p><img src="{body}">', media_id)])
    assert fake.drafts[draft_id]["articles"][0]["thumb_media_id"] == media_id


def test_unsupported_image_type_is_explained(fake, wx):
    with pytest.raises(PublishError) as raised:
        wx.upload_image(image("GIF"), "anim.gif")
    assert raised.value.code == 40005 and "JPG/PNG" in raised.value.message
    assert "anim.gif" in raised.value.message and fake.count("media/uploadimg") == 1


def test_draft_with_eight_articles_keeps_their_order_and_chinese(fake, wx):
    batch = articles(wx, 8)
    media_id = wx.create_draft(batch)
    stored = fake.drafts[media_id]["articles"]
    assert [a["title"] for a in stored] == [a.title for a in batch]  # raw UTF-8, not \u escapes
    assert fake.filtered == []


def test_nine_articles_are_refused_before_any_call(fake, wx):
    batch = articles(wx, 9)
    with pytest.raises(PublishError) as raised:
        wx.create_draft(batch)
    assert raised.value.code == 45008 and "最多 8 篇" in raised.value.message
    assert "9 篇" in raised.value.message and fake.count("draft/add") == 0


@pytest.mark.parametrize("field, value, code, name", [
    ("title", "关于" + "城乡居民医疗保险" * 5, 45003, "标题"),
    ("author", "屈原区医疗保障局基金监管科宣传教育组", 45110, "作者"),
    ("digest", "摘" * 130, 45004, "摘要"),
])
def test_a_field_too_long_names_the_article_and_the_field(fake, wx, field, value, code, name):
    batch = articles(wx, 4)
    batch[2] = DraftArticle(**{**batch[2].__dict__, field: value})
    with pytest.raises(PublishError) as raised:
        wx.create_draft(batch)
    message = raised.value.message
    assert raised.value.code == code and not raised.value.retryable
    assert "第 3 篇" in message and f"《{batch[2].title}》" in message and name in message
    assert fake.count("draft/add") == 1


def test_timeout_on_draft_add_is_retried(fake, wx, sleeps):
    batch = articles(wx, 2)
    fake.inject("draft/add", "timeout")
    media_id = wx.create_draft(batch)
    assert fake.count("draft/add") == 2 and list(fake.drafts) == [media_id]
    assert sleeps == [1]


def test_busy_upload_is_retried_with_the_same_bytes(fake, wx, sleeps):
    data = image("PNG")
    fake.inject("media/uploadimg", "busy")
    wx.upload_image(data, "b.png")
    calls = [c for c in fake.calls if c.endpoint == "media/uploadimg"]
    assert [c.errcode for c in calls] == [-1, 0] and sleeps == [1]
    assert calls[0].body["media"]["sha256"] == calls[1].body["media"]["sha256"]
    assert calls[1].body["media"]["size"] == len(data)


def test_per_minute_limit_waits_a_minute(fake, wx, sleeps):
    fake.inject("material/add_material", "rate")
    wx.upload_cover(image(), "c.jpg")
    assert sleeps == [60] and fake.count("material/add_material") == 2


def test_busy_until_attempts_run_out_is_retryable(fake, sleeps):
    wx = make(fake, sleeps, max_attempts=3)
    fake.inject("media/uploadimg", "busy", times=3)
    with pytest.raises(PublishError) as raised:
        wx.upload_image(image(), "a.jpg")
    assert type(raised.value) is PublishError and raised.value.retryable and raised.value.code == -1
    assert fake.count("media/uploadimg") == 3 and sleeps == [1, 2]


def test_timeouts_until_attempts_run_out_are_an_unknown_outcome(fake, sleeps):
    wx = make(fake, sleeps, max_attempts=2)
    wx.upload_image(image(), "warm.jpg")
    fake.inject("media/uploadimg", "timeout", times=2)
    with pytest.raises(UnknownOutcome) as raised:
        wx.upload_image(image(), "a.jpg")
    assert raised.value.retryable and fake.count("media/uploadimg") == 3


def test_http500_on_a_safe_request_is_retried(fake, wx):
    fake.inject("draft/get", "http500")
    media_id = draft(wx)
    assert wx.draft_exists(media_id) and fake.count("draft/get") == 2


def test_content_errors_are_not_retried(fake, wx):
    with pytest.raises(PublishError) as raised:
        wx.create_draft([DraftArticle("无封面", "<p>正文</p>", "not-a-media-id")])
    assert raised.value.code == 40007 and not raised.value.retryable
    assert fake.count("draft/add") == 1


def test_draft_exists_and_delete(fake, wx):
    media_id = draft(wx)
    assert wx.draft_exists(media_id)
    wx.delete_draft(media_id)
    assert not wx.draft_exists(media_id)
    wx.delete_draft(media_id)  # already gone: fine


# ----- mass send ---------------------------------------------------------------------------------

def test_mass_send_to_all_followers(fake, wx):
    media_id = draft(wx, 2)
    sent = wx.mass_send(media_id, "quyuan-20260106-0900")
    record = fake.mass_sends[0]
    assert sent == Sent(str(record["msg_id"]), str(record["msg_data_id"]), adopted=False)
    assert record["filter"] == {"is_to_all": True} and record["clientmsgid"] == "quyuan-20260106-0900"
    assert not wx.draft_exists(media_id)  # WeChat takes it out of the draft box


def test_wechatpy_send_mass_article_is_not_used(fake, wx, monkeypatch):
    from wechatpy.client.api import WeChatMessage

    def refuse(*args, **kwargs):
        raise AssertionError("send_mass_article sends filter.group_id, which WeChat refuses")

    monkeypatch.setattr(WeChatMessage, "send_mass_article", refuse)
    wx.mass_send(draft(wx), "k1")
    [call] = [c for c in fake.calls if c.endpoint == "message/mass/sendall"]
    assert "group_id" not in call.body["filter"] and call.body["msgtype"] == "mpnews"


def test_the_same_clientmsgid_again_adopts_the_earlier_msg_id(fake, wx, clock):
    first = wx.mass_send(draft(wx), "k1")
    clock.advance(61)
    again = wx.mass_send(draft(wx), "k1")
    assert again == Sent(first.msg_id, adopted=True) and len(fake.mass_sends) == 1


def test_clientmsgid_repeated_within_a_minute_is_retryable(fake, wx):
    media_id = draft(wx)
    wx.mass_send(media_id, "k1")
    with pytest.raises(PublishError) as raised:
        wx.mass_send(media_id, "k1")
    assert raised.value.code == 45066 and raised.value.retryable
    assert fake.count("message/mass/sendall") == 2  # one call each: never repeated inside


def test_busy_sendall_is_not_retried(fake, wx, sleeps):
    media_id = draft(wx)
    fake.inject("message/mass/sendall", "busy")
    with pytest.raises(PublishError) as raised:
        wx.mass_send(media_id, "k1")
    assert type(raised.value) is PublishError and raised.value.retryable
    assert fake.count("message/mass/sendall") == 1 and sleeps == [] and fake.mass_sends == []


@pytest.mark.parametrize("fault", ["lost", "timeout", "http500"])
def test_sendall_without_an_answer_is_an_unknown_outcome(fake, wx, clock, fault):
    media_id = draft(wx)
    fake.inject("message/mass/sendall", fault)
    with pytest.raises(UnknownOutcome) as raised:
        wx.mass_send(media_id, "k1")
    assert fake.count("message/mass/sendall") == 1
    assert len(fake.mass_sends) == (1 if fault == "lost" else 0)
    said = {"lost": "连接在应答前断开", "timeout": f"{CLIENT_TIMEOUT:g} 秒内没有应答", "http500": "返回 HTTP 500"}[fault]
    assert said in str(raised.value)  # the configured timeout, the status: what the operator checks first
    if fault == "lost":  # it went out: asking again with the same clientmsgid adopts it
        clock.advance(61)
        sent = wx.mass_send(media_id, "k1")
        assert sent.adopted and sent.msg_id == str(fake.mass_sends[0]["msg_id"])


def test_no_mass_send_quota_left(clock):
    with FakeWeChat(clock=clock, account_type="subscription") as fake:
        wx = make(fake)
        wx.mass_send(draft(wx), "day-1")
        with pytest.raises(PublishError) as raised:
            wx.mass_send(draft(wx), "day-1-again")
    assert raised.value.code == 45028 and "群发次数已用完" in raised.value.message


def test_mass_status_polling(fake, wx):
    fake.send_outcome = "SEND_SUCCESS"
    sent = wx.mass_send(draft(wx), "k1")
    assert wx.mass_status(sent.msg_id).state == "pending"
    assert wx.mass_status(sent.msg_id) == Publication("success")
    fake.send_outcome = "SEND_FAIL"
    failed = wx.mass_send(draft(wx), "k2")
    wx.mass_status(failed.msg_id)
    assert wx.mass_status(failed.msg_id).state == "failed"


def test_unverified_account_is_told_why(clock):
    with FakeWeChat(clock=clock, verified=False) as fake:
        wx = make(fake)
        with pytest.raises(PublishError) as raised:
            wx.mass_send(draft(wx), "k1")
    assert raised.value.code == 48001 and "认证" in raised.value.message


def test_preview_to_one_phone(fake, wx):
    media_id = draft(wx)
    wx.preview(media_id, "editor01")
    openid = "o" + "A" * 27
    wx.preview(media_id, openid)
    assert [p.get("towxname") or p.get("touser") for p in fake.previews] == ["editor01", openid]
    assert wx.draft_exists(media_id)


def test_busy_preview_is_not_retried(fake, wx):
    media_id = draft(wx)
    fake.inject("message/mass/preview", "busy")
    with pytest.raises(PublishError) as raised:
        wx.preview(media_id, "editor01")
    assert raised.value.retryable and fake.count("message/mass/preview") == 1


# ----- free publish ------------------------------------------------------------------------------

def test_publish_end_to_end_with_urls(fake, wx):
    batch = articles(wx, 3)
    submitted = wx.submit(wx.create_draft(batch))
    assert submitted.msg_data_id  # the figures and comments of a 发布 are filed under it
    publish_id = submitted.publish_id
    assert wx.publish_status(publish_id).state == "pending"
    done = wx.publish_status(publish_id)
    job = fake.published[publish_id]
    assert done.state == "success" and done.article_id == job["article_id"]
    assert done.urls == {i: a["url"] for i, a in enumerate(job["articles"], 1)}
    assert all(url.startswith("https://mp.weixin.qq.com/s/") for url in done.urls.values())


@pytest.mark.parametrize("outcome, words", [(2, "原创校验不通过"), (3, "常规失败"),
                                            (4, "平台审核不通过")])
def test_publish_failures_are_explained(fake, wx, outcome, words):
    fake.publish_outcome, fake.publish_fail_idx = outcome, [2]
    publish_id = wx.submit(draft(wx, 2)).publish_id
    wx.publish_status(publish_id)
    failed = wx.publish_status(publish_id)
    assert failed.state == "failed" and words in failed.detail
    assert outcome == 4 or "第 2 篇" in failed.detail


@pytest.mark.parametrize("fault", ["timeout", "http500"])
def test_submit_is_never_repeated(fake, wx, fault):
    media_id = draft(wx)
    fake.inject("freepublish/submit", fault)
    with pytest.raises(UnknownOutcome):
        wx.submit(media_id)
    assert fake.count("freepublish/submit") == 1


def test_find_publication_after_a_lost_submit(fake, wx):
    batch = articles(wx, 2)
    media_id = wx.create_draft(batch)
    fake.inject("freepublish/submit", "lost")
    with pytest.raises(UnknownOutcome):
        wx.submit(media_id)
    assert not wx.draft_exists(media_id)  # it went: the draft left the box
    # WeChat finishes the job on its own; the fake only moves on when the job is polled.
    [publish_id] = fake.published
    while wx.publish_status(publish_id).state == "pending":
        pass
    found = wx.find_publication([a.title for a in batch])
    job = fake.published[publish_id]
    assert found.state == "success" and found.article_id == job["article_id"]
    assert found.urls == {i: a["url"] for i, a in enumerate(job["articles"], 1)}
    assert wx.find_publication(["没有发过的标题"]) is None


def test_find_publication_pages_back(fake, wx):
    thumb, _ = wx.upload_cover(image(), "c.jpg")
    for i in range(23):  # the one looked for ends up on the second page
        publish_id = wx.submit(wx.create_draft([DraftArticle(f"第{i}期", "<p>正文</p>", thumb)])).publish_id
        while wx.publish_status(publish_id).state == "pending":
            pass
    assert wx.find_publication(["第0期"]).state == "success"
    assert fake.count("freepublish/batchget") == 2


# ----- secrets -----------------------------------------------------------------------------------

def test_no_secret_or_token_in_any_log_or_exception(fake, clock, caplog):
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []

    def expect(error, call):
        with pytest.raises(error) as raised:
            call()
        exc = raised.value
        texts.extend([str(exc), repr(exc), repr(exc.args),
                      "".join(traceback.format_exception(exc))])

    wx = make(fake)
    media_id = draft(wx, 2)
    fake.inject("draft/get", "token_expired")  # a force refresh: a second token is issued
    assert wx.draft_exists(media_id)
    fake.inject("media/uploadimg", "timeout")
    fake.inject("material/add_material", "http500")
    draft(wx)
    for fault in ("lost", "timeout", "http500", "busy"):
        fake.inject("message/mass/sendall", fault)
        expect(PublishError, lambda: wx.mass_send(media_id, "k1"))
    clock.advance(61)
    fake.inject("freepublish/get", "token_expired", times=3)
    expect(PublishError, lambda: wx.publish_status("100000001"))
    expect(PublishError, lambda: make(fake, app_secret=fake.secret[::-1]).upload_image(image(), "a.jpg"))
    expect(PublishError, lambda: wx.create_draft([DraftArticle("x" * 40, "<p>y</p>", "no")]))
    texts += [caplog.text, repr(wx), repr(wx.client)]
    text = "\n".join(texts)
    assert len(fake.tokens_issued) >= 2
    assert "access_token=***" in caplog.text  # urllib3's URLs were logged, and scrubbed
    for secret in [fake.secret, fake.secret[::-1], *fake.tokens_issued]:
        assert secret not in text


def test_scrub():
    assert scrub("GET /cgi-bin/x?access_token=ABC.d-e_f&type=image") == \
        "GET /cgi-bin/x?access_token=***&type=image"
    assert scrub('{"access_token": "ABC", "expires_in": 7200}') == \
        '{"access_token": "***", "expires_in": 7200}'


# ----- the message table -------------------------------------------------------------------------

def test_messages():
    assert "1.2.3.4" in describe(40164, "invalid ip 1.2.3.4 ipv6 ::ffff:1.2.3.4, not in whitelist rid: x")
    assert "管理员" in describe(89503, "need admin confirm")
    assert describe(99999, "something odd rid: 1") == "微信接口返回错误 99999：something odd rid: 1"
    assert "第 2 篇《长》的正文太长" in describe(45002, articles=[
        {"title": "短", "content": "a"}, {"title": "长", "content": "字" * 20_000}])
    # WeChat found a field too long that we measure as fine: point at the longest one.
    assert "第 2 篇《bb》" in describe(45003, articles=[{"title": "a"}, {"title": "bb"}])


# ----- what WeChat reports, read as the README promises -----------------------------------------

def test_a_mass_send_status_is_named_and_an_undocumented_one_stays_pending(fake, wx):
    answers = [("SENDING", Publication("pending", "发送中")), ("SEND_SUCCESS", Publication("success")),
               ("SEND_FAIL", Publication("failed", "群发失败")), ("DELETE", Publication("failed", "群发已被删除")),
               ("SEND_LATER", Publication("pending", "未知状态 SEND_LATER")), (None, Publication("pending", "未知状态 "))]
    for status, _ in answers:
        answer = {"errcode": 0, "msg_id": 1000001} | ({"msg_status": status} if status else {})
        fake.inject("message/mass/get", answer)
    assert [wx.mass_status("1000001") for _ in answers] == [expected for _, expected in answers]


def test_an_earlier_send_without_its_msg_id_is_reported_not_adopted(fake, wx):
    # 45065 says "already sent" and names the msg_id; without it nothing proves which send it was.
    media_id = draft(wx)
    fake.inject("message/mass/sendall", {"errcode": 45065, "errmsg": "clientmsgid exist"})
    with pytest.raises(PublishError) as raised:
        wx.mass_send(media_id, "tw-1")
    assert raised.value.code == 45065
    assert raised.value.message == ("微信说这个 clientmsgid 已经群发过（45065），却没有给出 msg_id："
                                    "请到公众号后台“发表记录”核对。")


def test_a_publish_status_names_the_failed_articles_and_keeps_only_real_urls(fake, wx):
    fake.inject("freepublish/get", {"errcode": 0, "publish_id": "9", "publish_status": 3, "fail_idx": [1, 3]})
    assert wx.publish_status("9") == Publication("failed", "常规失败（第 1、3 篇）")
    fake.inject("freepublish/get", {"errcode": 0, "publish_id": "9", "publish_status": 7})
    assert wx.publish_status("9") == Publication("pending", "未知状态 7")  # undocumented: asked again later
    fake.inject("freepublish/get", {"errcode": 0, "publish_id": "9", "publish_status": 0, "article_id": "A9",
                                    "article_detail": {"count": 3, "item": [
                                        {"idx": 1, "article_url": "https://mp.weixin.qq.com/s/a"},
                                        {"idx": 2, "article_url": ""},
                                        {"idx": 3, "article_url": "https://mp.weixin.qq.com/s/c"}]}})
    assert wx.publish_status("9") == Publication("success", "", "A9", {1: "https://mp.weixin.qq.com/s/a",
                                                                      3: "https://mp.weixin.qq.com/s/c"})


def _listing(total: int, *titles: str) -> dict:
    items = [{"article_id": f"A-{title}", "content": {"news_item": [{"title": title}]}} for title in titles]
    return {"errcode": 0, "total_count": total, "item_count": len(items), "item": items}


def test_a_lost_submit_is_looked_for_page_by_page_until_the_list_ends(fake, wx):
    others = [f"第{i}期" for i in range(20)]
    fake.inject("freepublish/batchget", _listing(20, *others))
    assert wx.find_publication(["没有发过的标题"]) is None
    assert fake.count("freepublish/batchget") == 1  # 20 of 20 seen: no second page asked

    fake.reset_counts()
    fake.inject("freepublish/batchget", _listing(21, *others))
    fake.inject("freepublish/batchget", _listing(21, "要找的"))
    fake.inject("freepublish/getarticle", {"errcode": 0, "news_item": [
        {"title": "要找的", "url": "https://mp.weixin.qq.com/s/a", "is_deleted": False},
        {"title": "第二篇", "url": "https://mp.weixin.qq.com/s/b", "is_deleted": True}]})
    found = wx.find_publication(["要找的"])
    assert found == Publication("success", "", "A-要找的", {1: "https://mp.weixin.qq.com/s/a"})  # deleted: no URL
    assert [(c.body["offset"], c.body["count"]) for c in fake.calls if c.path.endswith("freepublish/batchget")] == [
        (0, 20), (20, 20)]


def test_a_publication_whose_articles_were_all_deleted_is_reported_deleted(fake, wx):
    fake.inject("freepublish/batchget", _listing(1, "要找的"))
    fake.inject("freepublish/getarticle", {"errcode": 0, "news_item": [
        {"title": "要找的", "url": "https://mp.weixin.qq.com/s/a", "is_deleted": True}]})
    assert wx.find_publication(["要找的"]) == Publication("failed", "已删除", "A-要找的")


def test_a_preview_goes_to_an_openid_or_else_to_a_wechat_id(fake, wx):
    media_id = draft(wx)
    openid = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"  # as WeChat's documentation shows one
    for to in (openid, "O6_bmjrPTlm6_2sgVt7hMZOPfL2M", openid + "x", "editor01"):
        wx.preview(media_id, to)
    assert [("touser" in p, p.get("touser") or p.get("towxname")) for p in fake.previews] == [
        (True, openid), (False, "O6_bmjrPTlm6_2sgVt7hMZOPfL2M"), (False, openid + "x"), (False, "editor01")]


def test_a_refused_connection_is_never_sent_not_an_unknown_outcome(sleeps):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    wx = WeChatPublisher("wx0123456789abcdef", "s" * 32, api_base_url=f"http://127.0.0.1:{port}/",
                         timeout=CLIENT_TIMEOUT, sleep=sleeps.append)
    with pytest.raises(PublishError) as raised:
        wx.upload_image(image(), "a.jpg")
    assert not isinstance(raised.value, UnknownOutcome) and raised.value.retryable
    assert raised.value.message == (f"无法连接微信接口 http://127.0.0.1:{port}/cgi-bin/（已尝试 4 次），"
                                    "请检查网络或 api_base_url 配置。")


def test_a_logged_exception_carrying_a_token_is_logged_scrubbed(fake, caplog):
    make(fake)  # knows the AppSecret from here on
    log = logging.getLogger("publishers.wechat")
    with caplog.at_level(logging.INFO, logger="publishers.wechat"):
        try:
            raise RuntimeError(f"GET /cgi-bin/x?access_token=LEAKED123&type=image secret={fake.secret}")
        except RuntimeError:
            log.exception("请求失败")
    assert "请求失败" in caplog.text and "access_token=***&type=image secret=***" in caplog.text
    assert "LEAKED123" not in caplog.text and fake.secret not in caplog.text


# ----- tokens WeChat hands out, and what a user reads when something is off ---------------------

def test_a_token_is_kept_as_long_as_wechat_says_and_7200_seconds_when_it_does_not_say(fake):
    storage = MemoryStorage()
    wx = make(fake, session=storage)
    fake.inject("stable_token", {"errcode": 0, "access_token": fake.valid_token(), "expires_in": 200})
    wx.upload_image(image(), "a.jpg")
    wx.upload_image(image(), "b.jpg")  # 200 s is inside the five-minute margin: fetched again first
    assert fake.count("stable_token") == 2
    fake.inject("stable_token", {"errcode": 0, "access_token": fake.valid_token()})
    wx.client.fetch_access_token()
    left = float(storage.get(f"{fake.appid}_access_token_expires_at")) - time.time()
    assert 7100 < left <= 7200


def test_a_token_answer_without_a_token_points_at_the_api_address(fake, wx):
    fake.inject("stable_token", {"errcode": 0, "expires_in": 7200})
    with pytest.raises(PublishError) as raised:
        wx.upload_image(image(), "a.jpg")
    assert raised.value.message == "微信 stable_token 的应答里没有 access_token，请检查 api_base_url 配置。"


def test_an_answer_missing_its_result_points_at_the_api_address(fake, wx):
    fake.inject("media/uploadimg", {"errcode": 0, "url": ""})
    with pytest.raises(PublishError) as raised:
        wx.upload_image(image(), "a.jpg")
    assert raised.value.message == "微信的应答里缺少 url，无法继续：请检查 api_base_url 是否指向微信接口。"
    fake.inject("material/add_material", {"errcode": 0, "media_id": "MEDIA_1"})  # a cover's url is optional
    assert wx.upload_cover(image(), "c.jpg") == ("MEDIA_1", "")


def test_an_empty_draft_is_refused_before_any_call(fake, wx):
    with pytest.raises(PublishError) as raised:
        wx.create_draft([])
    assert raised.value.message == "草稿里没有文章。" and fake.count("draft/add") == 0


def test_how_many_tries_a_message_names(fake, sleeps):
    fake.inject("draft/get", "busy", times=2)
    with pytest.raises(PublishError) as raised:
        make(fake, sleeps, max_attempts=2).draft_exists("MEDIA")
    assert raised.value.message == describe(-1, "system error") + "（已尝试 2 次）"
    fake.inject("message/mass/get", {"errcode": 40013, "errmsg": "invalid appid"})
    with pytest.raises(PublishError) as raised:
        make(fake, sleeps).mass_status("1000001")  # one try: WeChat answered, and the answer is final
    assert raised.value.message == describe(40013, "invalid appid")
    assert raised.value.code == 40013 and not raised.value.retryable


def test_a_lost_send_says_it_may_or_may_not_have_gone_out(fake, wx):
    media_id = draft(wx)
    fake.inject("message/mass/sendall", "lost")
    with pytest.raises(UnknownOutcome) as raised:
        wx.mass_send(media_id, "k1")
    assert raised.value.message == "微信接口 message/mass/sendall 连接在应答前断开，请求可能已生效，也可能没有。"
    assert raised.value.retryable


def test_adopting_an_earlier_send_is_logged_with_its_msg_id(fake, wx, clock, caplog):
    first = wx.mass_send(draft(wx), "k1")
    clock.advance(61)
    with caplog.at_level(logging.INFO, logger="publishers.wechat"):
        wx.mass_send(draft(wx), "k1")
    assert f"clientmsgid k1 已群发过（45065），采用原 msg_id {first.msg_id}" in caplog.messages


@pytest.fixture
def proxy_page():
    """A server answering like a proxy in front of WeChat: a token, then a page of its own."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Page(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            token = self.path.startswith("/cgi-bin/stable_token")
            body = json.dumps({"access_token": "T" * 40, "expires_in": 7200}) if token else "<html>维护中</html>"
            self.send_response(404 if "preview" in self.path else 200)
            self.send_header("Content-Type", "application/json" if token else "text/html")
            self.end_headers()
            self.wfile.write(body.encode("utf-8"))

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_a_page_that_is_not_wechats_answer_is_named_and_a_send_behind_it_is_unknown(proxy_page, sleeps):
    wx = WeChatPublisher("wx0123456789abcdef", "s" * 32, api_base_url=proxy_page, timeout=CLIENT_TIMEOUT,
                         sleep=sleeps.append)
    with pytest.raises(PublishError) as raised:
        wx.upload_image(image(), "a.jpg")  # safe to repeat, but a page is not a busy WeChat: not retried
    assert type(raised.value) is PublishError and not raised.value.retryable
    assert raised.value.message == ("微信接口 media/uploadimg 返回 HTTP 200，不是微信的应答：请检查 api_base_url 配置"
                                    f"（现为 {proxy_page}cgi-bin/）。")
    with pytest.raises(UnknownOutcome) as raised:
        wx.mass_send("MEDIA", "k1")  # the proxy may have forwarded it before answering
    assert raised.value.retryable
    assert raised.value.message == ("微信接口 message/mass/sendall 返回 HTTP 200，不是微信的应答（可能来自代理），"
                                    "请求可能已生效，也可能没有。")
    with pytest.raises(UnknownOutcome) as raised:
        wx.preview("MEDIA", "editor01")  # a 404 page in front of a send: whether it went is unknown too
    assert raised.value.message == ("微信接口 message/mass/preview 返回 HTTP 404，不是微信的应答（可能来自代理），"
                                    "请求可能已生效，也可能没有。")


def test_each_token_fetch_and_each_failed_try_is_logged(fake, sleeps, caplog):
    wx = make(fake, sleeps)
    fake.inject("media/uploadimg", "busy")
    with caplog.at_level(logging.DEBUG, logger="publishers.wechat"):
        wx.upload_image(image(), "a.jpg")
        wx.client.fetch_access_token(force=True)
    assert "已获取 access_token，有效期 7200 秒" in caplog.messages
    assert "已强制刷新 access_token，有效期 7200 秒" in caplog.messages
    assert "POST media/uploadimg: busy -1 (attempt 1)" in caplog.messages


def test_an_error_without_its_message_is_still_explained(fake, wx):
    fake.inject("draft/add", {"errcode": 99999})
    with pytest.raises(PublishError) as raised:
        draft(wx)
    assert raised.value.code == 99999
    assert raised.value.message == describe(99999, "")


def test_a_retry_is_logged_with_what_failed_and_when_it_is_tried_again(fake, wx, sleeps, caplog):
    """The daemon's log is where an operator sees a flaky network: which call, why, and the count."""
    fake.inject("media/uploadimg", "busy")
    fake.inject("draft/get", "http500")
    with caplog.at_level(logging.DEBUG, logger="publishers.wechat"):
        wx.upload_image(image("PNG"), "b.png")
        wx.draft_exists(draft(wx))
    assert "微信接口 media/uploadimg 暂时失败（busy），1 秒后重试（第 1 次，共 4 次）" in caplog.messages
    assert "微信接口 draft/get 暂时失败（http5xx），1 秒后重试（第 1 次，共 4 次）" in caplog.messages
    assert "POST draft/get: http5xx 500 (attempt 1)" in caplog.messages  # the status, when there is no errcode
    assert "POST media/uploadimg: busy -1 (attempt 1)" in caplog.messages


def test_a_connection_that_never_opened_sent_nothing(fake, wx, sleeps, monkeypatch):
    """A connect timeout comes before a byte of the request: even a mass send is known not to have gone
    (a plain failure to try again), never an unknown outcome that waits to be confirmed."""
    import requests

    media_id = draft(wx)
    failing(wx, monkeypatch, requests.exceptions.ConnectTimeout("connect timed out"))
    with pytest.raises(PublishError) as raised:
        wx.mass_send(media_id, "k1")
    assert type(raised.value) is PublishError and raised.value.retryable
    assert "无法连接微信接口" in str(raised.value)
    with pytest.raises(PublishError) as raised:
        wx.draft_exists(media_id)  # a safe call is tried again first
    assert "无法连接微信接口" in str(raised.value) and "已尝试 4 次" in str(raised.value) and sleeps == [1, 2, 4]


def test_a_publish_answer_without_msg_data_id_records_none(fake, wx):
    """Older answers of freepublish/submit carry only publish_id; comments then have no article to ask about."""
    media_id = draft(wx)
    fake.inject("freepublish/submit", {"errcode": 0, "errmsg": "ok", "publish_id": "100000777"})
    submitted = wx.submit(media_id)
    assert submitted.publish_id == "100000777" and submitted.msg_data_id == ""


def test_datacube_is_asked_beside_cgi_bin_not_under_it(fake, wx):
    """WeChat's 数据统计 lives at /datacube/…, the rest at /cgi-bin/…: the fake answers each at its own path."""
    answer = wx.client.datacube.getarticletotaldetail("2025-12-30")  # the fake's clock: 2026-01-01
    assert answer.get("errcode", 0) == 0
    assert [c.endpoint for c in fake.calls if "getarticletotaldetail" in c.endpoint] == ["datacube/getarticletotaldetail"]


def test_a_log_record_the_filter_cannot_read_still_reaches_the_handlers():
    """The token filter must not swallow a malformed log call: logging itself reports it."""
    logger = logging.getLogger("publishers.wechat")
    seen: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = seen.append  # type: ignore[method-assign]
    logger.addHandler(handler)
    logger.propagate = False  # the test run's own handlers would fail the test on the bad call
    try:
        logger.warning("%s and %s", "only one")  # noqa: PLE1206 - the malformed call is the point
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    assert [r.msg for r in seen] == ["%s and %s"]


def answering(wx, monkeypatch, status: int, body: bytes) -> None:
    """Every request of ``wx`` answered by something in the way (a proxy, a gateway), not by WeChat."""
    import requests

    def answer(*args, **kwargs):
        response = requests.Response()
        response.status_code, response._content = status, body
        return response

    monkeypatch.setattr(wx.client._http, "request", answer)


def failing(wx, monkeypatch, error: Exception) -> None:
    """Every request of ``wx`` fails with ``error`` on the way, before WeChat's answer is read."""

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(wx.client._http, "request", fail)


def test_an_answer_broken_off_leaves_a_mass_send_unknown(fake, wx, monkeypatch):
    """A connection that breaks while the answer comes in: the send may have gone, so it is confirmed
    later with WeChat (UnknownOutcome), never taken as unsent and sent again."""
    import requests

    media_id = draft(wx)
    failing(wx, monkeypatch, requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead"))
    with pytest.raises(UnknownOutcome) as raised:
        wx.mass_send(media_id, "k1")
    assert "连接在应答前断开" in str(raised.value)


@pytest.mark.parametrize("status, body", [(400, b'{"error": "bad request"}'), (200, b'[1, 2]'), (200, b'"ok"')])
def test_json_that_is_not_wechats_answer_is_not_taken_for_one(fake, wx, monkeypatch, status, body):
    """A gateway's JSON (an HTTP error, or anything but an object) has no errcode: read as WeChat's
    answer it would pass for success.  It is refused, and names the setting to check."""
    media_id = draft(wx)
    answering(wx, monkeypatch, status, body)
    with pytest.raises(PublishError) as raised:
        wx.draft_exists(media_id)
    assert f"返回 HTTP {status}，不是微信的应答" in str(raised.value) and "api_base_url" in str(raised.value)


def sent_and_delivered(fake, wx, count: int) -> str:
    msg_id = wx.mass_send(draft(wx, count), "k1").msg_id
    for _ in range(10):  # WeChat reports SEND_SUCCESS after a few looks
        if wx.mass_status(msg_id).state == "success":
            return msg_id
    raise AssertionError("the fake never reported the send delivered")


def test_withdrawing_a_mass_send_takes_down_all_or_one_article(fake, wx):
    msg_id = sent_and_delivered(fake, wx, 3)
    wx.delete_mass(msg_id, 2)
    [send] = fake.mass_sends
    assert [bool(a.get("is_deleted")) for a in send["articles"]] == [False, True, False]
    wx.delete_mass(msg_id)  # no index: every article
    assert all(a.get("is_deleted") for a in send["articles"]) and send["deleted"]


def test_deleting_a_publication_takes_down_all_or_one_article(fake, wx):
    publish_id = wx.submit(draft(wx, 3)).publish_id
    while (done := wx.publish_status(publish_id)).state == "pending":
        pass
    job = fake.published[publish_id]
    wx.delete_publication(done.article_id, 3)
    assert [bool(a.get("is_deleted")) for a in job["articles"]] == [False, False, True]
    wx.delete_publication(done.article_id)  # no index: every article
    assert all(a.get("is_deleted") for a in job["articles"])


def test_a_days_figures_are_read_from_the_days_own_answer(fake, wx):
    figures = wx.article_figures("2025-12-31")  # the fake's clock: 2026-01-01 08:00, so final
    assert figures.articles == () and figures.delayed is False
    assert [c.body for c in fake.calls if c.endpoint == "datacube/getarticletotaldetail"] == [
        {"begin_date": "2025-12-31", "end_date": "2025-12-31"}]


@pytest.mark.parametrize("written, used", [("https://gw.example.cn/wechatX", "https://gw.example.cn/wechatX/cgi-bin/"),
                                          ("https://gw.example.cn/wx//", "https://gw.example.cn/wx/cgi-bin/")])
def test_api_base_url_is_used_as_written_but_its_trailing_slashes(written, used):
    """[account].api_base_url names a relay in front of WeChat; the endpoints follow under cgi-bin/."""
    assert f"api_base_url={used!r}" in repr(WeChatPublisher("wx1234567890abcdef", "s" * 32, api_base_url=written))
