"""WeChat's endpoint groups as wechatpy ``BaseWeChatAPI`` subclasses: one short method per
endpoint, no HTTP here.  ``publishers.wechat.TuiwenClient`` declares them and does all the
transport; the ``safe=False`` and ``accept=`` options its requests take are explained there.
"""

from __future__ import annotations

import re

from wechatpy.client.api.base import BaseWeChatAPI


class DraftAPI(BaseWeChatAPI):
    """草稿箱 (draft box): 新建草稿, 获取草稿, 删除草稿, 获取草稿总数, 获取草稿列表."""

    def add(self, articles: list[dict]) -> dict:
        """新建草稿 ``draft/add``; a repeat only leaves a spare draft, so it is retried."""
        return self._post("draft/add", data={"articles": articles})

    def get(self, media_id: str) -> dict:
        """获取草稿 ``draft/get``."""
        return self._post("draft/get", data={"media_id": media_id})

    def delete(self, media_id: str) -> dict:
        """删除草稿 ``draft/delete``."""
        return self._post("draft/delete", data={"media_id": media_id})

    def count(self) -> int:
        """获取草稿总数 ``draft/count``."""
        return int(self._post("draft/count", data={}).get("total_count", 0))

    def batchget(self, offset: int = 0, count: int = 20, no_content: bool = True) -> dict:
        """获取草稿列表 ``draft/batchget`` (count 1–20)."""
        return self._post("draft/batchget", data={"offset": offset, "count": count,
                                                  "no_content": int(no_content)})


class FreePublishAPI(BaseWeChatAPI):
    """发布能力 (free publish): 发布草稿, 发布状态轮询, 获取成功发布列表, 通过 article_id 获取已发布文章."""

    def submit(self, media_id: str) -> dict:
        """发布草稿 ``freepublish/submit``: never repeated blindly (it would publish twice)."""
        return self._post("freepublish/submit", data={"media_id": media_id}, safe=False)

    def get(self, publish_id: str) -> dict:
        """发布状态轮询 ``freepublish/get``."""
        return self._post("freepublish/get", data={"publish_id": str(publish_id)})

    def batchget(self, offset: int = 0, count: int = 20, no_content: bool = True) -> dict:
        """获取成功发布列表 ``freepublish/batchget``, newest first (count 1–20)."""
        return self._post("freepublish/batchget", data={"offset": offset, "count": count,
                                                        "no_content": int(no_content)})

    def getarticle(self, article_id: str) -> dict:
        """通过 article_id 获取已发布文章 ``freepublish/getarticle``."""
        return self._post("freepublish/getarticle", data={"article_id": article_id})

    def delete(self, article_id: str, index: int = 0) -> dict:
        """删除发布文章 ``freepublish/delete``: ``index`` from 1, 0 = every article; irreversible."""
        return self._post("freepublish/delete", data={"article_id": article_id, "index": index}, safe=False)


class MassSendAPI(BaseWeChatAPI):
    """群发接口: 根据标签进行群发 (to all), 预览接口, 查询群发消息发送状态.

    wechatpy's ``send_mass_article`` sends ``filter.group_id``, which WeChat refuses; hence these.
    """

    def sendall(self, media_id: str, clientmsgid: str) -> dict:
        """``message/mass/sendall`` to every follower; 45065 (already sent) is an answer, not an error."""
        return self._post("message/mass/sendall", safe=False, accept=(45065,), data={
            "filter": {"is_to_all": True}, "msgtype": "mpnews", "mpnews": {"media_id": media_id},
            "send_ignore_reprint": 0, "clientmsgid": clientmsgid})

    def preview(self, media_id: str, *, touser: str | None = None, towxname: str | None = None) -> dict:
        """预览接口 ``message/mass/preview`` to one openid or WeChat ID."""
        to = {"touser": touser} if touser else {"towxname": towxname}
        return self._post("message/mass/preview", safe=False,
                          data={**to, "msgtype": "mpnews", "mpnews": {"media_id": media_id}})

    def get(self, msg_id: str) -> dict:
        """查询群发消息发送状态 ``message/mass/get``."""
        return self._post("message/mass/get", data={"msg_id": str(msg_id)})

    def delete(self, msg_id: str, article_idx: int = 0) -> dict:
        """删除群发消息 ``message/mass/delete``: ``article_idx`` from 1, 0 = the whole message.

        wechatpy's ``message.delete_mass`` sends the msg_id only (the whole message), so one
        article of a bundle cannot be taken down with it. ``msg_id`` is a number in WeChat's JSON.
        """
        return self._post("message/mass/delete", data={"msg_id": int(msg_id), "article_idx": article_idx},
                          safe=False)


class DataCubeAPI(BaseWeChatAPI):
    """数据统计 · 图文分析 (2025 版): 获取发表内容每日阅读数据, 每日分享数据, 概况总数据, 发表详细数据.

    wechatpy's ``client.datacube`` has only the old endpoints (停止维护), always calls
    api.weixin.qq.com whatever the configured base, and drops ``is_delay``: hence these.
    Each takes one day (WeChat refuses longer ranges with 61501); dates are ``YYYY-MM-DD``.
    """

    def _day(self, endpoint: str, begin_date: str, end_date: str | None) -> dict:
        base = self._client.API_BASE_URL.rsplit("cgi-bin/", 1)[0] + "datacube/"
        return self._post(endpoint, api_base_url=base,
                          data={"begin_date": begin_date, "end_date": end_date or begin_date})

    def getarticleread(self, begin_date: str, end_date: str | None = None) -> dict:
        """``datacube/getarticleread``: every article read that day, ``detail.read_user``."""
        return self._day("getarticleread", begin_date, end_date)

    def getarticleshare(self, begin_date: str, end_date: str | None = None) -> dict:
        """``datacube/getarticleshare``: every article shared that day, ``detail.share_user``."""
        return self._day("getarticleshare", begin_date, end_date)

    def getbizsummary(self, begin_date: str, end_date: str | None = None) -> dict:
        """``datacube/getbizsummary``: the account's totals for the day (not per article)."""
        return self._day("getbizsummary", begin_date, end_date)

    def getarticletotaldetail(self, begin_date: str, end_date: str | None = None) -> dict:
        """``datacube/getarticletotaldetail``: the articles published that day, running totals
        per ``stat_date`` for up to 30 days after."""
        return self._day("getarticletotaldetail", begin_date, end_date)


class ImageAPI(BaseWeChatAPI):
    """上传图文消息内的图片获取URL, 新增其他类型永久素材 (image): multipart field ``media``."""

    def uploadimg(self, data: bytes, filename: str) -> dict:
        """``media/uploadimg``: a body image (jpg/png < 1 MB) → ``{url}`` on mmbiz.qpic.cn."""
        return self._post("media/uploadimg", files={"media": upload_file(data, filename)})

    def add_material(self, data: bytes, filename: str) -> dict:
        """``material/add_material?type=image``: a permanent image → ``{media_id, url}``."""
        return self._post("material/add_material", params={"type": "image"},
                          files={"media": upload_file(data, filename)})


_IMAGE_TYPES = ((b"\xff\xd8\xff", "jpg", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "png", "image/png"),
                (b"GIF8", "gif", "image/gif"), (b"BM", "bmp", "image/bmp"))


def upload_file(data: bytes, filename: str) -> tuple[str, bytes, str]:
    """The multipart file: an ASCII name whose extension matches the bytes (WeChat checks both)."""
    base = filename.replace("\\", "/").rpartition("/")[2]
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem = re.sub(r"[^A-Za-z0-9_-]", "", stem)[:64] or "image"
    for magic, kind, mime in _IMAGE_TYPES:
        if data.startswith(magic):
            return f"{stem}.{kind}", data, mime
    # Not an image we know: keep the given extension and let WeChat refuse it by name (40005).
    return f"{stem}.{re.sub(r'[^A-Za-z0-9]', '', ext).lower() or 'bin'}", data, "application/octet-stream"


COMMENT_PAGE_MAX = 49  # comment/list refuses count ≥ 50


class CommentAPI(BaseWeChatAPI):
    """图文消息留言管理 (comment/*), for articles of a mass send: ``msg_data_id`` and ``index``.

    wechatpy 1.8.18 has these on ``WeChatMaterial`` with ``index=1`` and ``count=50`` as defaults:
    WeChat counts articles from 0 (1 is the second article) and refuses a count of 50 or more.
    Here the index is always given, counts from 0, and a page is checked before it is asked for.
    """

    def list(self, msg_data_id: str | int, index: int, begin: int = 0, count: int = COMMENT_PAGE_MAX,
             type: int = 0) -> dict:
        """查看指定文章的评论数据 ``comment/list``: type 0 all, 1 normal, 2 selected; count 1–49."""
        if not 0 < count <= COMMENT_PAGE_MAX:
            raise ValueError(f"count 应在 1 到 {COMMENT_PAGE_MAX} 之间（微信拒绝 50 及以上）")
        if type not in (0, 1, 2):
            raise ValueError("type 应为 0（全部）、1（普通）或 2（精选）")
        return self._post("comment/list", data={**_article(msg_data_id, index), "begin": begin,
                                                "count": count, "type": type})

    def open(self, msg_data_id: str | int, index: int) -> dict:
        """打开已群发文章评论 ``comment/open``."""
        return self._post("comment/open", data=_article(msg_data_id, index))

    def close(self, msg_data_id: str | int, index: int) -> dict:
        """关闭已群发文章评论 ``comment/close``."""
        return self._post("comment/close", data=_article(msg_data_id, index))

    def markelect(self, msg_data_id: str | int, index: int, user_comment_id: int) -> dict:
        """评论标记精选 ``comment/markelect``."""
        return self._post("comment/markelect", data=_comment(msg_data_id, index, user_comment_id))

    def unmarkelect(self, msg_data_id: str | int, index: int, user_comment_id: int) -> dict:
        """评论取消精选 ``comment/unmarkelect``."""
        return self._post("comment/unmarkelect", data=_comment(msg_data_id, index, user_comment_id))

    def delete(self, msg_data_id: str | int, index: int, user_comment_id: int) -> dict:
        """删除评论 ``comment/delete``."""
        return self._post("comment/delete", data=_comment(msg_data_id, index, user_comment_id))

    def reply(self, msg_data_id: str | int, index: int, user_comment_id: int, content: str) -> dict:
        """回复评论 ``comment/reply/add``; one reply per comment (88005 for a second)."""
        return self._post("comment/reply/add",
                          data={**_comment(msg_data_id, index, user_comment_id), "content": content})

    def delete_reply(self, msg_data_id: str | int, index: int, user_comment_id: int) -> dict:
        """删除回复 ``comment/reply/delete``."""
        return self._post("comment/reply/delete", data=_comment(msg_data_id, index, user_comment_id))


def _article(msg_data_id: str | int, index: int) -> dict:
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < 8:
        raise ValueError("index 是文章在推送中的序号，从 0 开始（0 到 7）")
    try:
        number = int(msg_data_id)
    except (TypeError, ValueError):
        raise ValueError(f"msg_data_id 应为数字（群发返回的 msg_data_id），不是 {msg_data_id!r}") from None
    return {"msg_data_id": number, "index": index}


def _comment(msg_data_id: str | int, index: int, user_comment_id: int) -> dict:
    if isinstance(user_comment_id, bool) or not isinstance(user_comment_id, int):
        raise ValueError("user_comment_id 应为数字")
    return {**_article(msg_data_id, index), "user_comment_id": user_comment_id}
