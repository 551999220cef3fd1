"""Tests of the WeChat fake itself, through real HTTP."""
import contextlib
import io
import json
import time

import pytest
import requests
from PIL import Image

from tests.fake_wechat import FakeWeChat, ManualClock

NO_ANSWER = (requests.ConnectionError, requests.exceptions.ChunkedEncodingError)


class Api:
    """A tiny raw client: the fake's answers, unprocessed."""

    def __init__(self, fake: FakeWeChat):
        self.fake = fake

    def raw(self, path, body=None, *, files=None, params=None, token=True, timeout=2.0,
            ensure_ascii=False):
        params = dict(params or {})
        if token:
            params.setdefault("access_token", self.fake.valid_token())
        data = None if body is None else json.dumps(body, ensure_ascii=ensure_ascii).encode()
        return requests.post(self.fake.url + "cgi-bin/" + path, params=params, data=data,
                             files=files, timeout=timeout)

    def post(self, path, body=None, **kwargs) -> dict:
        return self.raw(path, body, **kwargs).json()

    def token(self, **body) -> dict:
        body = {"grant_type": "client_credential", "appid": self.fake.appid,
                "secret": self.fake.secret, "force_refresh": False, **body}
        return self.post("stable_token", body, token=False)

    def body_image(self, data=None, name="pic.png") -> str:
        return self.post("media/uploadimg", files={"media": (name, data or image("PNG"))})["url"]

    def cover(self) -> str:
        answer = self.post("material/add_material", params={"type": "image"},
                           files={"media": ("cover.jpg", image("JPEG"))})
        return answer["media_id"]

    def article(self, **fields) -> dict:
        return {"title": "医保政策解读", "author": "区医保局", "digest": "摘要",
                "content": f'<p style="color:#333">正文</p><img src="{self.body_image()}">',
                "content_source_url": "", "thumb_media_id": self.cover(),
                "need_open_comment": 0, "only_fans_can_comment": 0, **fields}

    def draft(self, count=1) -> str:
        return self.post("draft/add", {"articles": [self.article() for _ in range(count)]})["media_id"]

    def sendall(self, media_id, clientmsgid=None, **body) -> dict:
        body = {"filter": {"is_to_all": True}, "msgtype": "mpnews",
                "mpnews": {"media_id": media_id}, "send_ignore_reprint": 0, **body}
        if clientmsgid:
            body["clientmsgid"] = clientmsgid
        return self.post("message/mass/sendall", body)


def image(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, fmt)
    return buffer.getvalue()


def padded_jpeg(size: int) -> bytes:
    return b"\xff\xd8\xff\xe0" + b"\0" * (size - 4)


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def fake(clock):
    with FakeWeChat(clock=clock) as server:
        yield server
        assert server.errors == []


@pytest.fixture
def api(fake):
    return Api(fake)


# ----- tokens -------------------------------------------------------------------------------

def test_stable_token_is_shared_until_it_expires(fake, api, clock):
    first, second = api.token(), api.token()
    assert first["access_token"] == second["access_token"]
    assert first["expires_in"] == 7200
    clock.advance(7200)
    stale = api.post("draft/count", token=False, params={"access_token": first["access_token"]})
    assert stale["errcode"] == 42001
    assert api.token()["access_token"] != first["access_token"]
    assert len(fake.tokens_issued) == 2


def test_force_refresh_replaces_the_token_and_is_limited_to_20_a_day(api, clock):
    old = api.token()["access_token"]
    new = api.token(force_refresh=True)["access_token"]
    assert new != old
    assert api.post("draft/count", token=False, params={"access_token": old})["errcode"] == 40001
    for _ in range(19):
        api.token(force_refresh=True)
    assert api.token(force_refresh=True)["errcode"] == 45009
    clock.advance(86_400)
    assert "access_token" in api.token(force_refresh=True)


def test_old_token_api_kills_the_previous_token(fake, api):
    params = {"grant_type": "client_credential", "appid": fake.appid, "secret": fake.secret}
    first = requests.get(fake.url + "cgi-bin/token", params=params, timeout=2).json()
    second = requests.get(fake.url + "cgi-bin/token", params=params, timeout=2).json()
    assert first["access_token"] != second["access_token"]
    dead = api.post("draft/count", token=False, params={"access_token": first["access_token"]})
    assert dead["errcode"] == 40001
    assert "errcode" not in api.post("draft/count", token=False,
                                     params={"access_token": second["access_token"]})


@pytest.mark.parametrize("field, value, errcode", [
    ("grant_type", "password", 40002),
    ("appid", "wx_other", 40013),
    ("secret", "wrong", 40125),
])
def test_stable_token_credential_errors(api, field, value, errcode):
    assert api.token(**{field: value})["errcode"] == errcode


def test_ip_not_in_whitelist_gets_40164_naming_the_ip():
    with FakeWeChat(ip_whitelist=["203.0.113.7"]) as fake:
        answer = Api(fake).token()
    assert answer["errcode"] == 40164
    assert "invalid ip 127.0.0.1 ipv6 ::ffff:127.0.0.1, not in whitelist rid: " in answer["errmsg"]
    with FakeWeChat(ip_whitelist=["127.0.0.1"]) as fake:
        assert "access_token" in Api(fake).token()


def test_endpoints_need_a_valid_token(api):
    assert api.post("draft/count", token=False)["errcode"] == 41001
    assert api.post("draft/count", token=False, params={"access_token": "x"})["errcode"] == 40001


def test_unknown_path_answers_404_html(fake):
    answer = requests.post(fake.url + "draft/add", data=b"{}", timeout=2)  # no cgi-bin/
    assert answer.status_code == 404
    assert "text/html" in answer.headers["Content-Type"]
    assert fake.count("draft/add") == 0


# ----- images -------------------------------------------------------------------------------

def test_uploadimg_gives_a_new_mmbiz_url_for_the_same_bytes(fake, api):
    data = image("PNG")
    first, second = api.body_image(data), api.body_image(data)
    assert first.startswith("http://mmbiz.qpic.cn/mmbiz_png/") and first != second
    assert api.body_image(image("JPEG"), "a.jpg").startswith("http://mmbiz.qpic.cn/mmbiz_jpg/")
    assert fake.count("cgi-bin/media/uploadimg") == 3
    assert fake.images[first]["sha256"] == fake.images[second]["sha256"]


@pytest.mark.parametrize("name, data, errcode", [
    ("a.jpg", image("WEBP"), 40005),            # checked by content, not by name
    ("a.gif", image("GIF"), 40005),             # body images: jpg/png only
    ("media", image("JPEG"), 40005),            # a file name without extension
    ("a.jpg", padded_jpeg(1024 * 1024), 40009),  # "< 1 MB"
], ids=["webp", "gif", "no-extension", "1MB"])
def test_uploadimg_refuses(fake, api, name, data, errcode):
    answer = api.post("media/uploadimg", files={"media": (name, data)})
    assert answer["errcode"] == errcode
    assert fake.images == {}


def test_uploadimg_accepts_just_under_1_mb(api):
    assert api.body_image(padded_jpeg(1024 * 1024 - 1), "big.jpg")


def test_add_material(fake, api):
    media_id = api.cover()
    assert fake.materials[media_id]["url"].startswith("http://mmbiz.qpic.cn/")
    bmp = api.post("material/add_material", params={"type": "image"},
                   files={"media": ("a.bmp", image("BMP"))})
    assert bmp["media_id"] in fake.materials
    voice = api.post("material/add_material", params={"type": "voice"},
                     files={"media": ("a.jpg", image("JPEG"))})
    assert voice["errcode"] == 40004
    big = api.post("material/add_material", params={"type": "image"},
                   files={"media": ("a.jpg", padded_jpeg(2 * 1024 * 1024 + 1))})
    assert big["errcode"] == 40009
    assert api.post("material/get_materialcount")["image_count"] == 2


# ----- draft box ----------------------------------------------------------------------------

@pytest.mark.parametrize("fields, errcode", [
    ({"title": "题" * 33}, 45003),
    ({"title": "😀" * 17}, 45003),               # an emoji counts as 2
    ({"title": ""}, 44003),
    ({"author": "作" * 17}, 45110),
    ({"digest": "摘" * 129}, 45004),
    ({"content": "字" * 20_000}, 45002),          # "< 20,000 characters"
    ({"content": ""}, 44004),
    ({"content_source_url": "https://example.gov.cn/" + "a" * 1002}, 45005),
    ({"need_open_comment": 2}, 40035),
    ({"only_fans_can_comment": True}, 40035),
    ({"thumb_media_id": "nope"}, 40007),
    ({"title": 5}, 47001),
])
def test_draft_add_limits(fake, api, fields, errcode):
    answer = api.post("draft/add", {"articles": [api.article(**fields)]})
    assert answer["errcode"] == errcode
    assert fake.drafts == {}


def test_draft_add_accepts_values_at_the_limits(fake, api):
    article = api.article(title="题" * 32, author="作" * 16, digest="摘" * 128,
                          content="字" * 19_999,
                          content_source_url="https://example.gov.cn/" + "a" * 1001)
    media_id = api.post("draft/add", {"articles": [article] * 8})["media_id"]
    assert len(fake.drafts[media_id]["articles"]) == 8


@pytest.mark.parametrize("count, errcode", [(0, 44003), (9, 45008)])
def test_draft_add_takes_one_to_eight_articles(api, count, errcode):
    article = api.article()
    assert api.post("draft/add", {"articles": [article] * count})["errcode"] == errcode


def test_thumb_must_be_a_permanent_material(api):
    temporary = api.post("media/upload", params={"type": "image"},
                         files={"media": ("c.jpg", image("JPEG"))})["media_id"]
    for thumb in (temporary, api.body_image()):
        answer = api.post("draft/add", {"articles": [api.article(thumb_media_id=thumb)]})
        assert answer["errcode"] == 40007
    assert "media_id" in api.post("draft/add", {"articles": [api.article()]})


def test_escaped_unicode_is_kept_literally(fake, api):
    # "医保政策解读" sent as \\uXXXX escapes is 36 characters long for WeChat.
    escaped = api.post("draft/add", {"articles": [api.article()]}, ensure_ascii=True)
    assert escaped["errcode"] == 45003
    media_id = api.post("draft/add", {"articles": [api.article(title="政策", author="")]},
                        ensure_ascii=True)["media_id"]
    assert fake.drafts[media_id]["articles"][0]["title"] == "\\u653f\\u7b56"


def test_what_wechat_filters_is_recorded_and_removed(fake, api):
    own = api.body_image()
    content = (
        f'<p class="lead" onclick="x()">正文<img src="{own}"></p>'
        '<img src="https://example.com/a.png"><script>alert(1)</script>'
        '<style>p{color:red}</style><iframe src="https://v.qq.com/x"></iframe>'
        '<form action="/f">表单</form><a href="javascript:void(0)">js</a>'
        '<a href="https://example.gov.cn/">外链</a><a href="https://mp.weixin.qq.com/s/abc">内链</a>')
    media_id = api.post("draft/add", {"articles": [api.article(content=content)]})["media_id"]
    kinds = sorted(entry["kind"] for entry in fake.filtered)
    assert kinds == sorted(["class_attr", "event_handler", "foreign_image", "script",
                            "style_block", "iframe", "form", "javascript_url", "external_link"])
    assert {entry["media_id"] for entry in fake.filtered} == {media_id}
    kept = fake.drafts[media_id]["articles"][0]["content"]
    assert own in kept and "https://mp.weixin.qq.com/s/abc" in kept and "表单" in kept
    for gone in ("example.com", "alert", "color:red", "v.qq.com", "javascript", "example.gov.cn",
                 "class=", "onclick"):
        assert gone not in kept


def test_clean_content_filters_nothing(fake, api):
    api.draft(count=2)
    assert fake.filtered == []


def test_draft_get_update_delete_count_batchget(fake, api):
    first, second = api.draft(), api.draft(count=2)
    assert api.post("draft/count")["total_count"] == 2
    assert api.post("draft/get", {"media_id": second})["news_item"][1]["title"] == "医保政策解读"
    update = api.post("draft/update", {"media_id": second, "index": 1,
                                       "articles": api.article(title="新标题")})
    assert update["errcode"] == 0
    assert fake.drafts[second]["articles"][1]["title"] == "新标题"
    bad_index = api.post("draft/update", {"media_id": second, "index": 2,
                                          "articles": api.article()})
    assert bad_index["errcode"] == 40035
    page = api.post("draft/batchget", {"offset": 0, "count": 20, "no_content": 1})
    assert [item["media_id"] for item in page["item"]] == [second, first]
    assert "content" not in page["item"][0]["content"]["news_item"][0]
    assert api.post("draft/batchget", {"offset": 0, "count": 21})["errcode"] == 40035
    assert api.post("draft/delete", {"media_id": first})["errcode"] == 0
    assert api.post("draft/get", {"media_id": first})["errcode"] == 40007


# ----- free publish -------------------------------------------------------------------------

def test_publish_polls_then_succeeds_and_removes_the_draft(fake, api):
    media_id = api.draft(count=2)
    submitted = api.post("freepublish/submit", {"media_id": media_id})
    assert submitted["errcode"] == 0 and media_id not in fake.drafts
    publish_id = submitted["publish_id"]
    assert api.post("freepublish/get", {"publish_id": publish_id})["publish_status"] == 1
    done = api.post("freepublish/get", {"publish_id": publish_id})
    assert done["publish_status"] == 0 and "errcode" not in done
    urls = [item["article_url"] for item in done["article_detail"]["item"]]
    assert len(urls) == 2 and all(u.startswith("https://mp.weixin.qq.com/s/") for u in urls)
    article = api.post("freepublish/getarticle", {"article_id": done["article_id"]})
    assert [a["url"] for a in article["news_item"]] == urls
    listing = api.post("freepublish/batchget", {"offset": 0, "count": 10, "no_content": 1})
    assert listing["item"][0]["article_id"] == done["article_id"]
    assert api.post("freepublish/submit", {"media_id": media_id})["errcode"] == 40007
    assert api.post("freepublish/delete", {"article_id": done["article_id"]})["errcode"] == 0
    assert api.post("freepublish/get", {"publish_id": publish_id})["publish_status"] == 5


@pytest.mark.parametrize("outcome, fail_idx", [(3, [1]), (4, [])])
def test_publish_can_fail(fake, api, outcome, fail_idx):
    fake.publish_outcome, fake.publish_polls = outcome, 0
    publish_id = api.post("freepublish/submit", {"media_id": api.draft()})["publish_id"]
    answer = api.post("freepublish/get", {"publish_id": publish_id})
    assert answer["publish_status"] == outcome and answer["fail_idx"] == fail_idx
    assert answer["article_detail"]["item"] == []


def test_unverified_account_gets_48001():
    with FakeWeChat(verified=False) as fake:
        api = Api(fake)
        media_id = api.draft()
        assert api.post("freepublish/submit", {"media_id": media_id})["errcode"] == 48001
        assert api.sendall(media_id)["errcode"] == 48001
        assert media_id in fake.drafts


# ----- mass send ----------------------------------------------------------------------------

def test_mass_send_removes_the_draft_and_reports_status(fake, api):
    media_id = api.draft()
    sent = api.sendall(media_id, "rel-2026-01-01-0800")
    assert sent["errcode"] == 0 and isinstance(sent["msg_id"], int)
    assert media_id not in fake.drafts
    assert fake.mass_sends[0]["clientmsgid"] == "rel-2026-01-01-0800"
    assert fake.mass_sends[0]["articles"][0]["title"] == "医保政策解读"
    statuses = [api.post("message/mass/get", {"msg_id": sent["msg_id"]})["msg_status"]
                for _ in range(2)]
    assert statuses == ["SENDING", "SEND_SUCCESS"]


def _sent(fake, api, count=3) -> dict:
    """A mass send of ``count`` articles that WeChat reports successful."""
    sent = api.sendall(api.draft(count=count))
    assert api.post("message/mass/get", {"msg_id": sent["msg_id"]})["msg_status"] == "SENDING"
    assert api.post("message/mass/get", {"msg_id": sent["msg_id"]})["msg_status"] == "SEND_SUCCESS"
    return fake.mass_sends[-1]


def test_mass_delete_takes_one_article_down_and_a_repeat_is_refused(fake, api):
    send = _sent(fake, api)
    urls = [a["url"] for a in send["articles"]]
    assert all(fake.served(url) for url in urls)
    assert api.post("message/mass/delete", {"msg_id": send["msg_id"], "article_idx": 2})["errcode"] == 0
    assert fake.served(urls[1]) is None and fake.served(urls[0]) and fake.served(urls[2])
    # Deleting what is gone: WeChat's page names one code for a message it cannot delete, 40059.
    assert api.post("message/mass/delete", {"msg_id": send["msg_id"], "article_idx": 2})["errcode"] == 40059
    assert api.post("message/mass/get", {"msg_id": send["msg_id"]})["msg_status"] == "SEND_SUCCESS"


def test_mass_delete_with_index_0_or_none_takes_the_whole_message(fake, api):
    first, second = _sent(fake, api, 2), _sent(fake, api, 2)
    assert api.post("message/mass/delete", {"msg_id": first["msg_id"], "article_idx": 0})["errcode"] == 0
    assert api.post("message/mass/delete", {"msg_id": second["msg_id"]})["errcode"] == 0
    for send in (first, second):
        assert all(fake.served(a["url"]) is None for a in send["articles"])
        assert api.post("message/mass/get", {"msg_id": send["msg_id"]})["msg_status"] == "DELETE"
    assert api.post("message/mass/delete", {"msg_id": first["msg_id"]})["errcode"] == 40059


def test_mass_delete_by_url_when_there_is_no_msg_id(fake, api):
    send = _sent(fake, api)
    url = send["articles"][2]["url"]
    assert api.post("message/mass/delete", {"url": url, "article_idx": 1})["errcode"] == 0
    assert fake.served(url) is None and fake.served(send["articles"][0]["url"])  # article_idx ignored
    assert api.post("message/mass/delete", {"article_idx": 0})["errcode"] == 40059  # neither given


def test_mass_delete_refuses_what_it_cannot_delete(fake, api):
    pending = api.sendall(api.draft())  # still SENDING: only a send that succeeded can be deleted
    assert api.post("message/mass/delete", {"msg_id": pending["msg_id"]})["errcode"] == 40059
    send = _sent(fake, api, 2)
    assert api.post("message/mass/delete", {"msg_id": 42})["errcode"] == 40059
    assert api.post("message/mass/delete", {"msg_id": str(send["msg_id"])})["errcode"] == 40059  # a number
    assert api.post("message/mass/delete", {"msg_id": send["msg_id"], "article_idx": 3})["errcode"] == 40035
    assert api.post("message/mass/delete", {"msg_id": send["msg_id"], "article_idx": -1})["errcode"] == 40035
    assert all(fake.served(a["url"]) for a in send["articles"])


def test_freepublish_delete_one_article_then_all(fake, api):
    fake.publish_polls = 0
    publish_id = api.post("freepublish/submit", {"media_id": api.draft(count=2)})["publish_id"]
    done = api.post("freepublish/get", {"publish_id": publish_id})
    urls = [item["article_url"] for item in done["article_detail"]["item"]]
    assert api.post("freepublish/delete", {"article_id": done["article_id"], "index": 3})["errcode"] == 40035
    assert api.post("freepublish/delete", {"article_id": "nope", "index": 1})["errcode"] == 40035
    assert api.post("freepublish/delete", {"article_id": done["article_id"], "index": 1})["errcode"] == 0
    assert fake.served(urls[0]) is None and fake.served(urls[1])
    assert api.post("freepublish/get", {"publish_id": publish_id})["publish_status"] == 0
    assert api.post("freepublish/delete", {"article_id": done["article_id"], "index": 0})["errcode"] == 0
    assert fake.served(urls[1]) is None
    assert api.post("freepublish/get", {"publish_id": publish_id})["publish_status"] == 5


def test_repeated_clientmsgid(fake, api, clock):
    sent = api.sendall(api.draft(), "rel-1")
    again = api.draft()
    assert api.sendall(again, "rel-1")["errcode"] == 45066      # within a minute
    clock.advance(61)
    repeat = api.sendall(again, "rel-1")
    assert repeat["errcode"] == 45065 and repeat["msg_id"] == sent["msg_id"]
    assert again in fake.drafts and len(fake.mass_sends) == 1
    clock.advance(86_400)
    assert api.sendall(again, "rel-1")["errcode"] == 0


def test_mass_send_parameter_checks(fake, api):
    media_id = api.draft()
    assert api.sendall(media_id, "x" * 33)["errcode"] == 45067
    assert api.sendall(media_id, "发布")["errcode"] == 40035
    assert api.sendall(media_id, filter={"is_to_all": False})["errcode"] == 40035
    assert api.sendall(media_id, msgtype="text")["errcode"] == 40008
    assert api.sendall("not-a-draft", "rel-9")["errcode"] == 40007
    assert fake.mass_sends == [] and media_id in fake.drafts


def test_subscription_account_sends_once_a_day(api, clock):
    with FakeWeChat(account_type="subscription", clock=clock) as fake:
        api = Api(fake)
        assert api.sendall(api.draft(), "day-1")["errcode"] == 0
        assert api.sendall(api.draft(), "day-1b")["errcode"] == 45028
        clock.advance(86_400)
        assert api.sendall(api.draft(), "day-2")["errcode"] == 0


def test_service_account_sends_four_times_a_month(api, clock):
    for n in range(4):
        assert api.sendall(api.draft(), f"jan-{n}")["errcode"] == 0
    assert api.sendall(api.draft(), "jan-4")["errcode"] == 45028
    clock.advance(31 * 86_400)
    assert api.sendall(api.draft(), "feb-0")["errcode"] == 0


def test_preview_keeps_the_draft(fake, api):
    media_id = api.draft()
    answer = api.post("message/mass/preview", {"towxname": "editor01", "msgtype": "mpnews",
                                               "mpnews": {"media_id": media_id}})
    assert answer["errcode"] == 0
    assert media_id in fake.drafts and fake.previews[0]["towxname"] == "editor01"


def test_wechatpy_send_mass_article_is_refused_for_its_group_id(fake, api):
    from wechatpy import WeChatClient
    from wechatpy.exceptions import WeChatClientException

    class Client(WeChatClient):
        API_BASE_URL = fake.url + "cgi-bin/"

        def fetch_access_token(self):
            answer = Api(fake).token()
            self.session.set(self.access_token_key, answer["access_token"], answer["expires_in"])
            self.expires_at = int(time.time()) + answer["expires_in"]
            return answer

    client = Client(fake.appid, fake.secret, timeout=2, auto_retry=False)
    assert client.media.upload_image(("a.png", image("PNG"))).startswith("http://mmbiz.qpic.cn/")
    media_id = api.draft()
    with pytest.raises(WeChatClientException) as refused:
        client.message.send_mass_article(None, media_id, is_to_all=True, client_msg_id="r1")
    assert refused.value.errcode == 40050
    assert media_id in fake.drafts and fake.mass_sends == []


# ----- faults -------------------------------------------------------------------------------

@pytest.mark.parametrize("fault, errcode", [
    ("busy", -1), ("rate", 45011), ("token_expired", 42001),
    ({"errcode": 45009, "errmsg": "reach max api daily quota limit"}, 45009),
])
def test_error_faults_have_no_effect(fake, api, fault, errcode):
    body = {"articles": [api.article()]}
    fake.inject("draft/add", fault)
    assert api.post("draft/add", body)["errcode"] == errcode
    assert fake.drafts == {}
    assert "media_id" in api.post("draft/add", body)
    assert fake.calls[-2].fault == fault and fake.calls[-2].errcode == errcode


def test_http500_fault(fake, api):
    fake.inject("cgi-bin/media/uploadimg", "http500")
    answer = api.raw("media/uploadimg", files={"media": ("a.png", image("PNG"))})
    assert answer.status_code == 500 and "text/html" in answer.headers["Content-Type"]
    assert fake.images == {}


def test_timeout_fault_holds_the_request_without_effect(fake, api):
    body = {"articles": [api.article()]}
    fake.inject("draft/add", "timeout")
    with pytest.raises(requests.Timeout):
        api.raw("draft/add", body, timeout=0.3)
    assert fake.drafts == {}


def test_lost_fault_performs_the_effect_without_answering(fake, api):
    body = {"articles": [api.article()]}
    fake.inject("draft/add", "lost")
    with pytest.raises(NO_ANSWER):
        api.raw("draft/add", body)
    assert len(fake.drafts) == 1 and fake.calls[-1].errcode == 0


def test_hang_after_performs_the_effect_then_holds_the_caller(fake, api):
    body = {"articles": [api.article()]}
    fake.inject("draft/add", "hang_after")
    with pytest.raises((requests.Timeout, *NO_ANSWER)):  # the caller gives up; the fake still holds
        api.raw("draft/add", body, timeout=0.3)
    assert len(fake.drafts) == 1 and fake.count("draft/add") == 1  # recorded before the hold
    assert fake.calls[-1].fault == "hang_after" and fake.calls[-1].errcode == 0


def test_a_lost_submit_is_listed_once_wechat_has_finished_it(fake, api):
    media_id = api.draft()
    fake.inject("freepublish/submit", "lost")
    with pytest.raises(NO_ANSWER):
        api.raw("freepublish/submit", {"media_id": media_id})
    [job] = fake.published.values()  # never polled: its publish_id was never learned
    listed = api.post("freepublish/batchget", {"offset": 0, "count": 20, "no_content": 1})
    assert listed["total_count"] == 0  # publishing: not listed yet (publish_polls=1)
    listed = api.post("freepublish/batchget", {"offset": 0, "count": 20, "no_content": 1})
    assert [item["article_id"] for item in listed["item"]] == [job["article_id"]]


def test_the_mass_send_quota_can_be_raised_for_long_runs(clock):
    with FakeWeChat(clock=clock, mass_quota=6) as fake:
        api = Api(fake)
        assert all(api.sendall(api.draft(), f"m-{n}")["errcode"] == 0 for n in range(6))
        assert api.sendall(api.draft(), "m-6")["errcode"] == 45028


def test_lost_mass_send_is_found_again_by_clientmsgid(fake, api, clock):
    media_id = api.draft()
    fake.inject("message/mass/sendall", "lost")
    with pytest.raises(NO_ANSWER):
        api.raw("message/mass/sendall", {"filter": {"is_to_all": True}, "msgtype": "mpnews",
                                         "mpnews": {"media_id": media_id},
                                         "clientmsgid": "rel-lost"})
    assert media_id not in fake.drafts and len(fake.mass_sends) == 1
    clock.advance(60)
    repeat = api.sendall(media_id, "rel-lost")
    assert repeat["errcode"] == 45065 and repeat["msg_id"] == fake.mass_sends[0]["msg_id"]


def test_faults_are_queued_with_after(fake, api):
    fake.inject("stable_token", "busy", times=2, after=1)
    fake.inject("stable_token", "rate")
    codes = [api.token().get("errcode", 0) for _ in range(5)]
    assert codes == [0, -1, -1, 45011, 0]
    fake.inject("freepublish/get", "busy", after=3)
    assert fake.faults_left() == [{"path": "freepublish/get", "fault": "busy", "times": 1,
                                   "after": 3}]
    with pytest.raises(ValueError):
        fake.inject("draft/ad", "busy")
    with pytest.raises(ValueError):
        fake.inject("draft/add", "slow")


def test_calls_are_recorded_and_counted(fake, api):
    api.draft()
    assert fake.count("draft/add") == 1 and fake.count("cgi-bin/draft/add") == 1
    assert fake.count("material/add_material") == 1
    call = next(c for c in fake.calls if c.endpoint == "draft/add")
    assert call.method == "POST" and call.path == "cgi-bin/draft/add"
    assert call.body["articles"][0]["title"] == "医保政策解读" and call.errcode == 0
    upload = next(c for c in fake.calls if c.endpoint == "media/uploadimg")
    assert upload.body["media"]["filename"] == "pic.png"
    fake.reset_counts()
    assert fake.calls == [] and fake.count("draft/add") == 0


def test_from_env():
    fake = FakeWeChat.from_env({"FAKE_WECHAT_APPID": "wx_env", "FAKE_WECHAT_UNVERIFIED": "1"})
    assert fake.appid == "wx_env" and not fake.verified


# ----- 图文消息留言管理 (comments) ----------------------------------------------------------------

def sent_bundle(api, *, opened=(1, 1)) -> int:
    """A mass send of len(opened) articles, comments opened as given; its msg_data_id."""
    articles = [api.article(need_open_comment=flag) for flag in opened]
    media_id = api.post("draft/add", {"articles": articles})["media_id"]
    return api.sendall(media_id, "c-1")["msg_data_id"]


def listing(api, msg_data_id, index=0, **body) -> dict:
    return api.post("comment/list", {"msg_data_id": msg_data_id, "index": index, "begin": 0, "count": 49,
                                     "type": 0, **body})


def test_comment_list_counts_articles_from_0_and_refuses_50_at_a_time(api, fake):
    msg_data_id = sent_bundle(api)
    fake.add_user_comment(msg_data_id, 0, "头条")
    fake.add_user_comment(msg_data_id, 1, "次条")
    assert [c["content"] for c in listing(api, msg_data_id, 0)["comment"]] == ["头条"]
    assert [c["content"] for c in listing(api, msg_data_id, 1)["comment"]] == ["次条"]
    assert listing(api, msg_data_id, 2)["errcode"] == 88001  # two articles: indexes 0 and 1
    assert listing(api, msg_data_id, count=50)["errcode"] == 88010
    assert listing(api, msg_data_id, count=0)["errcode"] == 88010
    assert listing(api, msg_data_id, type=3)["errcode"] == 40035
    no_index = {"msg_data_id": msg_data_id, "begin": 0, "count": 10, "type": 0}
    assert [c["content"] for c in api.post("comment/list", no_index)["comment"]] == ["头条"]  # absent: the first


def test_comment_list_pages_and_filters_selected(api, fake):
    msg_data_id = sent_bundle(api)
    for n in range(60):
        fake.add_user_comment(msg_data_id, 0, f"第{n}条", openid=None if n == 0 else f"o-{n}")
    first, second = listing(api, msg_data_id), listing(api, msg_data_id, begin=49)
    assert first["total"] == second["total"] == 60
    assert len(first["comment"]) == 49 and len(second["comment"]) == 11
    assert "openid" not in first["comment"][0] and first["comment"][1]["openid"] == "o-1"
    assert api.post("comment/markelect", {"msg_data_id": msg_data_id, "index": 0, "user_comment_id": 5})["errcode"] == 0
    selected = listing(api, msg_data_id, type=2)
    assert [c["user_comment_id"] for c in selected["comment"]] == [5] and selected["comment"][0]["comment_type"] == 1
    assert listing(api, msg_data_id, type=1)["total"] == 59


def test_unknown_messages_and_comments_get_the_documented_errors(api, fake):
    msg_data_id = sent_bundle(api)
    assert listing(api, 999)["errcode"] == 88001
    assert listing(api, str(msg_data_id))["errcode"] == 88001  # a number, not a string
    body = {"msg_data_id": msg_data_id, "index": 0, "user_comment_id": 7}
    for path in ("comment/markelect", "comment/unmarkelect", "comment/delete", "comment/reply/delete"):
        assert api.post(path, body)["errcode"] == 88008
    assert api.post("comment/reply/add", {**body, "content": "你好"})["errcode"] == 88008


def test_replies_once_and_never_to_a_deleted_comment(api, fake):
    msg_data_id = sent_bundle(api)
    for text in ("一", "二", "三"):
        fake.add_user_comment(msg_data_id, 0, text)
    reply = {"msg_data_id": msg_data_id, "index": 0, "user_comment_id": 1, "content": "谢谢关注"}
    assert api.post("comment/reply/add", {**reply, "content": " "})["errcode"] == 88007
    assert api.post("comment/reply/add", reply)["errcode"] == 0
    assert api.post("comment/reply/add", reply)["errcode"] == 88005
    assert listing(api, msg_data_id)["comment"][0]["reply"]["content"] == "谢谢关注"
    ids = {"msg_data_id": msg_data_id, "index": 0}
    assert api.post("comment/reply/delete", {**ids, "user_comment_id": 1})["errcode"] == 0
    assert api.post("comment/reply/delete", {**ids, "user_comment_id": 1})["errcode"] == 88009
    assert api.post("comment/delete", {**ids, "user_comment_id": 2})["errcode"] == 0
    assert api.post("comment/reply/add", {**reply, "user_comment_id": 2})["errcode"] == 88008
    fake.user_deletes_comment(msg_data_id, 0, 3)
    assert api.post("comment/reply/add", {**reply, "user_comment_id": 3})["errcode"] == 88004
    assert [c["user_comment_id"] for c in listing(api, msg_data_id)["comment"]] == [1]


def test_comments_follow_need_open_comment_and_comment_open_close(api, fake):
    msg_data_id = sent_bundle(api, opened=(0, 1))
    with pytest.raises(ValueError):
        fake.add_user_comment(msg_data_id, 0, "关着")
    fake.add_user_comment(msg_data_id, 1, "开着")
    assert api.post("comment/open", {"msg_data_id": msg_data_id, "index": 0})["errcode"] == 0
    fake.add_user_comment(msg_data_id, 0, "打开后")
    assert api.post("comment/close", {"msg_data_id": msg_data_id, "index": 1})["errcode"] == 0
    with pytest.raises(ValueError):
        fake.add_user_comment(msg_data_id, 1, "又关了")


def test_comment_endpoints_need_a_verified_account_with_the_comment_function(api, fake):
    msg_data_id = sent_bundle(api)
    fake.comment_privilege = False
    assert listing(api, msg_data_id)["errcode"] == 88000
    fake.comment_privilege, fake.verified = True, False
    assert listing(api, msg_data_id)["errcode"] == 48001


def test_comments_are_for_mass_sends_not_publishes(api, fake):
    media_id = api.post("draft/add", {"articles": [api.article(need_open_comment=1)]})["media_id"]
    submitted = api.post("freepublish/submit", {"media_id": media_id})
    assert submitted["errcode"] == 0
    assert listing(api, submitted["msg_data_id"])["errcode"] == 88001


def test_a_draft_comment_flag_must_be_0_or_1(api):
    answer = api.post("draft/add", {"articles": [api.article(need_open_comment=True)]})
    assert answer["errcode"] == 40035


# --- event pushes to the developer's URL (服务器配置) ------------------------------------------------------

CALLBACK_TOKEN = "fakeCallbackToken"
CALLBACK_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


class CallbackReceiver:
    """A developer's server that checks each push with wechatpy, and answers what the test says."""

    def __init__(self, appid: str, answers: list[tuple[int, bytes]] | None = None, delay: float = 0.0):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from threading import Thread
        from urllib.parse import parse_qsl, urlsplit

        from wechatpy import parse_message
        from wechatpy.crypto import WeChatCrypto
        from wechatpy.utils import check_signature

        self.received: list[dict] = []
        self.answers = list(answers or [])
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                query = dict(parse_qsl(urlsplit(self.path).query))
                check_signature(CALLBACK_TOKEN, query["signature"], query["timestamp"], query["nonce"])
                self._reply(200, query["echostr"].encode())

            def do_POST(self):
                query = dict(parse_qsl(urlsplit(self.path).query))
                body = self.rfile.read(int(self.headers["Content-Length"]))
                check_signature(CALLBACK_TOKEN, query["signature"], query["timestamp"], query["nonce"])
                xml = body
                if query.get("encrypt_type") == "aes":
                    crypto = WeChatCrypto(CALLBACK_TOKEN, CALLBACK_AES_KEY, appid)
                    xml = crypto.decrypt_message(body, query["msg_signature"], query["timestamp"], query["nonce"])
                receiver.received.append({"query": query, "body": body, "data": parse_message(xml)._data})
                time.sleep(delay)
                self._reply(*(receiver.answers.pop(0) if receiver.answers else (200, b"success")))

            def _reply(self, status, data):
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the fake stopped waiting
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/wechat/main"
        Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(fake):
    server = CallbackReceiver(fake.appid)
    yield server
    server.close()


def test_the_url_check_is_signed_with_the_token(fake, receiver):
    status, answer, echostr = fake.configure_callback(receiver.url, CALLBACK_TOKEN).verify()
    assert (status, answer) == (200, echostr)


@pytest.mark.parametrize("mode", ["plain", "compatible", "safe"])
def test_a_finished_mass_send_is_pushed_signed_and_as_the_mode_says(fake, api, receiver, mode):
    fake.configure_callback(receiver.url, CALLBACK_TOKEN, aes_key=CALLBACK_AES_KEY if mode != "plain" else "",
                            mode=mode)
    msg_id = api.sendall(api.draft(count=2))["msg_id"]
    assert fake.wait_for_pushes() == []  # still sending: nothing to push yet
    assert api.post("message/mass/get", {"msg_id": msg_id})["msg_status"] == "SENDING"
    assert api.post("message/mass/get", {"msg_id": msg_id})["msg_status"] == "SEND_SUCCESS"
    assert [(p.event, p.accepted) for p in fake.wait_for_pushes()] == [("MASSSENDJOBFINISH", True)]
    [push] = receiver.received
    data = push["data"]
    assert (data["Event"], data["MsgID"], data["Status"]) == ("MASSSENDJOBFINISH", str(msg_id), "send success")
    items = data["ArticleUrlResult"]["ResultList"]["item"]
    assert [i["ArticleIdx"] for i in items] == ["1", "2"]
    assert all(i["ArticleUrl"].startswith("https://mp.weixin.qq.com/s/") for i in items)
    assert (b"<Encrypt>" in push["body"]) == (mode != "plain")
    assert (b"<MsgType>" in push["body"]) == (mode != "safe")  # safe mode: nothing in plain text
    api.post("message/mass/get", {"msg_id": msg_id})
    assert len(fake.wait_for_pushes()) == 1  # one job, one event


def test_a_finished_publish_is_pushed(fake, api, receiver):
    fake.configure_callback(receiver.url, CALLBACK_TOKEN, aes_key=CALLBACK_AES_KEY, mode="safe")
    publish_id = api.post("freepublish/submit", {"media_id": api.draft()})["publish_id"]
    while api.post("freepublish/get", {"publish_id": publish_id})["publish_status"] == 1:
        pass
    fake.wait_for_pushes()
    [push] = receiver.received
    info = push["data"]["PublishEventInfo"]
    assert (info["publish_id"], info["publish_status"]) == (publish_id, "0")
    assert info["article_detail"]["item"]["article_url"] == fake.published[publish_id]["articles"][0]["url"]


@pytest.mark.parametrize("answer", [(200, b"ok"), (500, b""), (200, b"<xml>success</xml>")])
def test_an_event_not_answered_success_or_empty_is_pushed_again_three_times_at_most(fake, api, answer):
    receiver = CallbackReceiver(fake.appid, answers=[answer] * 5)
    try:
        fake.configure_callback(receiver.url, CALLBACK_TOKEN)
        msg_id = api.sendall(api.draft())["msg_id"]
        while api.post("message/mass/get", {"msg_id": msg_id})["msg_status"] == "SENDING":
            pass
        assert [p.attempt for p in fake.wait_for_pushes()] == [1, 2, 3]
        assert len({r["data"]["MsgID"] for r in receiver.received}) == 1  # the same event each time
    finally:
        receiver.close()


def test_an_empty_answer_is_accepted_and_a_slow_one_is_not(fake, api):
    quick = CallbackReceiver(fake.appid, answers=[(200, b"")])
    slow = CallbackReceiver(fake.appid, delay=0.5)
    try:
        assert fake.configure_callback(quick.url, CALLBACK_TOKEN).push(
            fake.mass_send_event({"msg_id": 1, "outcome": "SEND_SUCCESS", "articles": [{}]}))[-1].accepted
        pushes = fake.configure_callback(slow.url, CALLBACK_TOKEN, timeout=0.2).push(
            fake.mass_send_event({"msg_id": 2, "outcome": "SEND_SUCCESS", "articles": [{}]}))
        assert [(p.status, p.accepted) for p in pushes] == [(None, False)] * 3
    finally:
        quick.close()
        slow.close()
# --- 数据统计 (article figures) -----------------------------------------------------------------

def figures(fake, name, begin, end=None, *, under="datacube/") -> dict:
    body = {"begin_date": begin, "end_date": end or begin}
    return requests.post(fake.url + under + name, params={"access_token": fake.valid_token()},
                         data=json.dumps(body).encode(), timeout=2.0).json()


def test_article_figures_follow_a_mass_send_day_by_day(fake, api, clock):
    sent = api.sendall(api.draft(2))  # 2026-01-01 08:00 Beijing
    clock.advance(3 * 86_400)  # 2026-01-04 08:00: the 1st to the 3rd are final
    answer = figures(fake, "getarticletotaldetail", "2026-01-01")
    assert answer["is_delay"] is False
    lead, second = answer["list"]
    assert (lead["msgid"], second["msgid"]) == (f"{sent['msg_data_id']}_1", f"{sent['msg_data_id']}_2")
    assert lead["publish_type"] == 0 and lead["ref_date"] == "2026-01-01"
    assert [d["stat_date"] for d in lead["detail_list"]] == ["2026-01-01", "2026-01-02", "2026-01-03"]
    assert [d["read_user"] for d in lead["detail_list"]] == [120, 180, 220]  # running totals
    assert lead["detail_list"][-1]["zaikan_user"] == 6 + 3 + 2
    daily = figures(fake, "getarticleread", "2026-01-02")
    assert {r["msgid"]: r["detail"]["read_user"] for r in daily["list"]} == {
        f"{sent['msg_data_id']}_1": 60, f"{sent['msg_data_id']}_2": 30}
    shares = figures(fake, "getarticleshare", "2026-01-02")
    assert {r["msgid"]: r["detail"]["share_user"] for r in shares["list"]} == {
        f"{sent['msg_data_id']}_1": 6, f"{sent['msg_data_id']}_2": 3}
    assert figures(fake, "getarticletotaldetail", "2026-01-02")["list"] == []  # nothing published then
    (summary,) = figures(fake, "getbizsummary", "2026-01-02")["list"]
    assert (summary["ref_date"], summary["detail"]["read_user"], summary["detail"]["zaikan_user"]) == (
        "2026-01-02", 90, 4)


def test_yesterdays_figures_are_delayed_until_8_beijing(fake, api, clock):
    api.sendall(api.draft())
    clock.advance(86_400 - 3600)  # 2026-01-02 07:00
    early = figures(fake, "getarticletotaldetail", "2026-01-01")
    assert early["is_delay"] is True and early["list"][0]["detail_list"][0]["read_user"] == 60
    clock.advance(3600)
    final = figures(fake, "getarticletotaldetail", "2026-01-01")
    assert final["is_delay"] is False and final["list"][0]["detail_list"][0]["read_user"] == 120
    fake.delayed_dates.add("2026-01-01")  # WeChat may keep a day open longer
    assert figures(fake, "getarticleread", "2026-01-01")["is_delay"] is True


@pytest.mark.parametrize("begin, end, errcode", [
    ("2026-01-01", "2026-01-01", 61501),   # today: the newest day is yesterday
    ("2025-12-30", "2025-12-31", 61501),   # one day per call
    ("2025-12-31", "2025-12-30", 61501),   # begin after end
    ("2025-10-31", "2025-10-31", 61501),   # before 2025-11-01: no valid data
    ("2025/12/31", "2025/12/31", 61500),
    ("2025-12-32", "2025-12-32", 61500),
])
def test_figures_dates_are_checked(fake, begin, end, errcode):
    for name in ("getarticleread", "getarticleshare", "getarticletotaldetail", "getbizsummary"):
        assert figures(fake, name, begin, end)["errcode"] == errcode


def test_figures_live_beside_cgi_bin_not_under_it(fake):
    assert requests.post(fake.url + "cgi-bin/datacube/getarticleread", timeout=2.0).status_code == 404
    assert figures(fake, "getarticleread", "2025-12-31")["list"] == []


def test_figures_need_a_verified_account(clock):
    with FakeWeChat(clock=clock, verified=False) as fake:
        assert figures(fake, "getarticleread", "2025-12-31")["errcode"] == 48001


def test_a_publish_is_counted_but_not_notified(fake, api, clock):
    submitted = api.post("freepublish/submit", {"media_id": api.draft()})
    api.post("freepublish/get", {"publish_id": submitted["publish_id"]})
    api.post("freepublish/get", {"publish_id": submitted["publish_id"]})
    clock.advance(86_400)
    (row,) = figures(fake, "getarticletotaldetail", "2026-01-01")["list"]
    assert row["msgid"] == f"{submitted['msg_data_id']}_1" and row["publish_type"] == 1
