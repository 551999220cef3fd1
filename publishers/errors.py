"""WeChat error codes as Chinese messages that say what to do.

Sources: 全局返回码说明, 获取稳定版接口调用凭据 (stable_token), 草稿箱 / 发布能力 / 群发接口 pages of
the official documentation, summarised in docs/wechat-api.md. ``describe`` is the only
entry point; the transport calls it with what it sent, so a length error can name the article.
"""

from __future__ import annotations

import re

from .limits import (
    AUTHOR_MAX,
    CONTENT_MAX_BYTES,
    CONTENT_MAX_CHARS,
    DIGEST_MAX,
    SOURCE_URL_MAX_BYTES,
    TITLE_MAX,
    wechat_len,
)

BASIC_CONFIG = "公众号后台 → 设置与开发 → 基本配置"
_RESET_SECRET = (f"请到{BASIC_CONFIG} 重置 AppSecret，并把新的 AppSecret 写入环境变量"
                 "（[account].app_secret_env 指定的变量名），然后重启服务。")

MESSAGES: dict[int, str] = {
    -1: "微信系统繁忙（-1），请稍后重试。",
    268488001: "微信系统繁忙（268488001），请稍后重试。",
    40164: ("调用接口的服务器 IP {ip} 不在公众号的 IP 白名单中。请到{basic} → IP白名单 添加 {ip}，"
            "保存后几分钟生效，再重试。"),
    40001: "AppSecret 错误、已被重置，或 access_token 已失效。" + _RESET_SECRET,
    40125: "AppSecret 错误或已被重置。" + _RESET_SECRET,
    40014: ("access_token 刷新后仍然无效：可能另有程序用同一 AppID 强制刷新了 access_token（旧的随即失效）。"
            "请确认只有本系统在用这个 AppSecret 调用接口，稍后重试。"),
    42001: "access_token 刷新后仍提示过期：请检查服务器时间是否准确，稍后重试。",
    40013: "AppID 无效：请核对环境变量中的 AppID（{basic} → 开发者ID(AppID)）。",
    40243: "AppSecret 已被冻结，无法获取 access_token。请到{basic} 解冻或重置 AppSecret，并更新环境变量。",
    89503: ("来自 IP {ip} 的调用需要公众号管理员确认：请管理员在手机微信上确认，"
            "或到{basic} → IP白名单 添加 {ip}，然后重试。"),
    89506: "24 小时内管理员两次拒绝了来自 IP {ip} 的调用，24 小时内不能再用该 IP 调用。请管理员把它加入 {basic} → IP白名单。",
    89507: "1 小时内管理员拒绝了来自 IP {ip} 的调用，1 小时内不能再用该 IP 调用。请管理员把它加入 {basic} → IP白名单。",
    48001: ("接口未授权：公众号未完成微信认证，或没有该接口的权限（自 2025 年 7 月起，发布和群发接口只对"
            "已认证的公众号开放）。请到 公众号后台 → 设置与开发 → 接口权限 查看。"),
    45009: "该接口今天的调用次数已用完（每日额度，北京时间零点恢复），请明天再试。",
    45011: "调用太频繁（每分钟额度已用完），请一分钟后再试。",
    45028: "群发次数已用完（订阅号每天 1 次，服务号每月 4 次），请等额度恢复后再发。",
    45065: "这个 clientmsgid 在 24 小时内已经群发过。",
    45066: "同一 clientmsgid 一分钟内重复群发，微信要求等一分钟后再试。",
    45067: "clientmsgid 太长（最多 32 个 ASCII 字符）。",
    45008: "一次推送最多 8 篇文章。",
    40059: "msg_id 无效：微信找不到这次群发，或它已被删除、尚未发送成功。",
    40007: "media_id 无效：素材或草稿不存在（可能已删除、已发布或群发后移出草稿箱，或封面不是永久素材）。",
    40005: "图片格式不被接受{file}：正文图片只能是 JPG/PNG，封面可用 JPG/PNG/GIF/BMP。请转换格式后重试。",
    40009: "图片太大{file}：正文图片须小于 1 MB，封面不超过 2 MB（较新的说明为 10 MB）。请压缩后重试。",
    61500: "数据统计接口的日期格式不对（应为 YYYY-MM-DD）。",
    61501: ("数据统计接口不接受这个日期范围：每次只能查一天，且只能查 2025-11-01 到昨天之间的数据"
            "（今天的数据要明天 8 点后才有）。"),
    40003: "预览接收人无效：请填写已关注本公众号的微信号或 openid。",
    53503: "草稿未通过微信的发布检查，不能用接口发布。请到公众号后台草稿箱打开该草稿检查修改后再发布。",
    53504: "该草稿需要到公众号后台网页端处理（例如确认原创或内容提示）后才能发布。",
    53505: "该草稿需要先在公众号后台网页端手动保存成功后才能发布。",
    88000: "公众号没有留言功能的权限（留言管理接口只对已认证、已开通留言的公众号开放），请到公众号后台 → 互动管理 → 留言 查看。",
    88001: "微信找不到这篇图文（msg_data_id 或文章序号不对，或推送已被删除），无法管理它的留言。",
    88002: "这篇文章因安全原因被限制，暂时不能管理留言。",
    88003: "精选留言已达上限，请先取消几条精选再试。",
    88004: "这条留言已被留言者本人删除。",
    88005: "这条留言已经回复过了（一条留言只能回复一次；要改，先删除原回复）。",
    88007: "回复内容为空或太长，请修改后重试。",
    88008: "这条留言不存在（可能已被删除）。",
    88009: "这条留言还没有回复，无须删除回复。",
    88010: "一次最多取 49 条留言（微信拒绝 50 条及以上）。",
}
FALLBACK = "微信接口返回错误 {code}：{errmsg}"

# Length errors: WeChat does not say which article; the payload field and its Chinese name.
_FIELDS: dict[int, tuple[str, str]] = {
    45002: ("content", "正文"),
    45003: ("title", "标题"),
    45004: ("digest", "摘要"),
    45005: ("content_source_url", "原文链接"),
    45110: ("author", "作者"),
}

_IP = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")


def describe(code: int, errmsg: str = "", *, articles: list[dict] | None = None,
             filename: str | None = None, size: int | None = None) -> str:
    """The Chinese message for ``code``; ``articles`` is the draft/add body that was refused."""
    if code in _FIELDS:
        return too_long(code, articles or [])
    template = MESSAGES.get(code)
    if template is None:
        return FALLBACK.format(code=code, errmsg=errmsg.strip())
    ip_match = _IP.search(errmsg or "")
    file = ""
    if filename:
        file = f"（{filename}" + (f"，{size / 1024:.0f} KB）" if size is not None else "）")
    return template.format(ip=ip_match.group(0) if ip_match else "（未知）", basic=BASIC_CONFIG,
                           file=file)


def too_long(code: int, articles: list[dict]) -> str:
    """Names the article (1-based, by title) and the field WeChat found too long."""
    field, name = _FIELDS[code]
    measured = [(i, article, _measure(field, article.get(field) or ""))
                for i, article in enumerate(articles, 1)]
    over = [(i, article, m) for i, article, m in measured if m[0] > m[1]]
    if over:
        return "；".join(
            f"第 {i} 篇《{article.get('title', '')}》的{name}太长：{n} {unit}，微信上限 {limit} {unit}"
            for i, article, (n, limit, unit) in over) + "。请缩短后重试。"
    if measured:  # WeChat counts differently than we do: point at the longest one
        i, article, (n, _, unit) = max(measured, key=lambda entry: entry[2][0])
        return (f"微信认为{name}太长（错误码 {code}），最长的是第 {i} 篇《{article.get('title', '')}》"
                f"（{n} {unit}）。请缩短后重试。")
    return f"微信认为某篇文章的{name}太长（错误码 {code}），请缩短后重试。"


def _measure(field: str, value: str) -> tuple[int, int, str]:
    """(length, largest allowed, unit) as WeChat counts that field."""
    if field == "content":
        chars, size = wechat_len(value), len(value.encode("utf-8"))
        if size >= CONTENT_MAX_BYTES:
            return size, CONTENT_MAX_BYTES - 1, "字节"
        return chars, CONTENT_MAX_CHARS - 1, "字"
    if field == "content_source_url":
        return len(value.encode("utf-8")), SOURCE_URL_MAX_BYTES, "字节"
    limit = {"title": TITLE_MAX, "digest": DIGEST_MAX, "author": AUTHOR_MAX}[field]
    return wechat_len(value), limit, "字"
