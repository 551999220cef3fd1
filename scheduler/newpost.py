"""``publish new``: start a post from a template, dated today, every field explained."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

from publishers.limits import TITLE_MAX, wechat_len

from .config import Config

TEMPLATE = """\
---
title: {title}
status: draft                    # 草稿：写好、`publish check` 无误后改为 ready 才会发布{review_note}
# 以下各项可省略，去掉行首的 # 即启用：
# author: {author}             # 作者，默认 [account].author；≤ 16 字
# digest: 一句话摘要                # 默认取正文开头；≤ 128 字
# cover: images/cover.jpg          # 封面，相对本文件；默认正文第一张图、分类封面、账号封面
# publish_after: {today} 08:00  # 此时间之前不发
# expires: {today}              # 过了这一天不再发（含当天）
# priority: 0                      # 数字越大越靠前
# lead: false                      # 申请作头条（第 1 篇）
# source_url: https://...          # “阅读原文”链接
# reviewed_by: 张三                 # 审核人（[review].required 时必填；用 publish approve 审核时不必写）
# approved_by: 李四                 # 签发人（同上）
# comments: false                  # 关闭留言（默认开放留言）
# category: {category}        # 分类，默认取文件夹名（{category_name}）
# 图片放在旁边的 images/ 文件夹里，正文中用 ![图片说明](images/图片.jpg) 引用。
---
{placeholder}
"""
# The body a new post starts with: `publish check` reports it as an error until it is replaced.
PLACEHOLDER = "正文从这里开始。（写好正文后删去这一行）"


class NewPostError(Exception):
    """The post cannot be created; the message says why."""


def slug(title: str, at: datetime) -> str:
    """A short ASCII slug from an ASCII title, else ``post-HHMMSS`` (no pinyin offline)."""
    if title.isascii():
        text = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:48].strip("-")
        if text:
            return text
    return f"post-{at:%H%M%S}"


def new_post(config: Config, category: str, title: str, at: datetime) -> tuple[Path, list[str]]:
    """Create ``content/<category>/<date>-<slug>.md``; the path and warnings. Never overwrites."""
    found = config.category(category.strip())
    if found is None:
        choices = "、".join(f"{c.key}（{c.name}）" for c in config.categories.values())
        raise NewPostError(f"未知分类“{category}”，可用分类：{choices}")
    title = " ".join(title.split())
    if not title:
        raise NewPostError("标题不能为空")
    warnings = []
    if (n := wechat_len(title)) > TITLE_MAX:
        warnings.append(f"标题有 {n} 个字，超过微信上限 {TITLE_MAX} 个字，发布前请缩短")
    at = at.astimezone(config.account.tz)
    folder = config.content.dir / found.key
    path = folder / f"{at:%Y-%m-%d}-{slug(title, at)}.md"
    review_note = ("\n#   开启了三审（[review].roles）：先改为 ready 再请审核人 publish approve，审核后的任何改动都需要重新审核"
                   if config.review.roles else "")
    text = TEMPLATE.format(title=json.dumps(title, ensure_ascii=False), author=config.account.author or "屈原区医保局",
                           today=f"{at:%Y-%m-%d}", category=found.key, category_name=found.name,
                           review_note=review_note, placeholder=PLACEHOLDER)
    folder.mkdir(parents=True, exist_ok=True)
    # A time slug (Chinese titles) is not the title: two posts started in one second get -2, -3 …
    # An English slug is the title: the same title again is refused, never overwritten.
    tries = 100 if not title.isascii() or path.stem.endswith(f"post-{at:%H%M%S}") else 1
    for n in range(1, tries + 1):
        candidate = path if n == 1 else path.with_name(f"{path.stem}-{n}.md")
        try:
            with candidate.open("x", encoding="utf-8", newline="\n") as file:
                file.write(text)
            return candidate, warnings
        except FileExistsError:
            continue
    raise NewPostError(f"{path.relative_to(config.content.dir).as_posix()} 已存在，不会覆盖；请换一个标题或稍后再试")
