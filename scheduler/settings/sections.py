"""The tables of ``config.toml``: one frozen dataclass per section, with the defaults of the seeds."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from publishers.limits import MAX_ARTICLES as WECHAT_MAX_ARTICLES

from .values import (
    Slot,
    _alert_url,
    _author,
    _bool,
    _choice,
    _color,
    _database_url,
    _days,
    _env_name,
    _git_mode,
    _hours,
    _http_url,
    _int_between,
    _local_words,
    _months,
    _names,
    _nonempty_str,
    _numbers,
    _optional_cap,
    _optional_env_name,
    _optional_http_url,
    _optional_path,
    _path,
    _redis_url,
    _slots,
    _str,
    _str_list,
    _timezone,
    _words_file,
    account_key,
    setting,
    subsection,
)


@dataclass(frozen=True)
class AccountSettings:
    key: str = setting("main", account_key,
                       "账号的键（小写字母、数字、连字符）：台账按它记录，定下后不要再改；改 name 不影响历史记录")
    name: str = setting("医保公众号", _nonempty_str, "公众号名称，用于页脚和预览")
    author: str = setting("", _author, "默认作者（≤16 字），文章未写 author 时使用")
    cover: Path | None = setting("", _optional_path, "账号默认封面图，相对配置文件")
    timezone: str = setting("Asia/Shanghai", _timezone, "账号时区（IANA 名称）")
    mode: str = setting("mass_send", _choice("mass_send", "publish"),
                        '"mass_send" 群发（通知粉丝，计入更新）或 "publish" 仅发布')
    type: str = setting("subscription", _choice("subscription", "service"),
                        '"subscription" 订阅号（每天可群发 1 次）或 "service" 服务号（粉丝每月最多收到 4 次群发）')
    app_id_env: str = setting("WECHAT_APP_ID", _env_name, "存放 AppID 的环境变量名")
    app_secret_env: str = setting("WECHAT_APP_SECRET", _env_name, "存放 AppSecret 的环境变量名")
    app_secret_file: Path | None = setting("", _optional_path,
                                           "存放 AppSecret 的文件（权限须为 600），相对配置文件；设置后代替 app_secret_env")
    api_base_url: str = setting("https://api.weixin.qq.com/", _http_url,
                                "微信接口地址：官方、网关、代理或本地测试服务器")
    callback_token_env: str = setting("WECHAT_CALLBACK_TOKEN", _env_name,
                                      "存放服务器配置令牌（Token）的环境变量名：微信推送事件到 /wechat/<键> 时用它验签")
    callback_aes_key_env: str = setting("WECHAT_CALLBACK_AES_KEY", _env_name,
                                        "存放消息加解密密钥（EncodingAESKey）的环境变量名：兼容模式和安全模式用它解密")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class ContentSettings:
    dir: Path = setting("content", _path, "Markdown 内容仓库目录，相对配置文件")
    git: bool | str = setting("auto", _git_mode,
                              "true：发布前拉取并只发布已提交的内容；false：直接读目录；\"auto\"：目录在 git 仓库中即为 true")
    git_remote: str = setting("origin", _nonempty_str, "发布前拉取的远端名")
    git_branch: str = setting("", _str, "发布的分支（默认当前分支）")


@dataclass(frozen=True)
class ScheduleSettings:
    slots: tuple[Slot, ...] = setting(["tue 09:00", "fri 09:00"], _slots,
                                      "每周推送时间（账号时区），如 \"tue 09:00\"")
    catch_up_hours: float = setting(6, _hours, "停机错过的推送在此时长内补发，超过则记为错过")
    max_articles: int = setting(WECHAT_MAX_ARTICLES, _int_between(1, WECHAT_MAX_ARTICLES),
                                "每次推送最多文章数（微信上限 8）")


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = setting("sqlite:///state/tuiwen.db", _database_url,
                       "发布台账数据库（SQLAlchemy 地址），SQLite 相对路径相对配置文件")
    redis_url: str = setting("", _redis_url, "可选：在 Redis 中共享 access_token（如 \"redis://127.0.0.1:6379/0\"），默认存在台账里")


@dataclass(frozen=True)
class ReviewSettings:
    required: bool = setting(False, _bool, "为 true 时，文章须有 reviewed_by（审核）和 approved_by（签发）才能发布")
    roles: tuple[str, ...] = setting([], _names,
                                     "三审角色，如 [\"初审\", \"复审\", \"终审\"]：设了之后，每个角色都用 publish approve "
                                     "审核过文章的当前内容才能发布，改动即失效")


@dataclass(frozen=True)
class ThemeSettings:
    hotline: str = setting("医保服务热线：12393", _str, "页脚热线文字，如基金监管举报电话")
    qr_image: Path | None = setting("", _optional_path, "页脚关注二维码图片（须在内容仓库内），相对配置文件")
    templates: Path | None = setting("", _optional_path,
                                     "自定义模板目录（header.html、footer.html、article.html），相对配置文件")


@dataclass(frozen=True)
class CheckSettings:
    words_file: Path | None = setting("", _words_file,
                                      "账号自己的用词规则文件（格式同 scheduler/rules/words.toml），补充或覆盖默认规则")
    local_words: tuple = setting({}, _local_words,
                                 "本地须一字不差的写法：{\"王某某\" = \"区医保局局长\"}（领导姓名 = 职务），"
                                 "或 {\"错误写法\" = { right = \"正确写法\" }}")
    allowed_numbers: frozenset[str] = setting([], _numbers,
                                              "有意公开的手机号等号码（如咨询专线），隐私检查不报")


@dataclass(frozen=True)
class FreshnessSettings:
    warn_days: tuple[int, ...] = setting([4, 7, 10, 12], _days,
                                         "距上次群发多少天时提醒（14 天未更新按检查指标判为不合格）")


@dataclass(frozen=True)
class SmtpSettings:
    host: str = setting("", _str, "SMTP 服务器；为空则不发邮件")
    port: int = setting(587, _int_between(1, 65535), "SMTP 端口；465 使用 SSL")
    from_addr: str = setting("", _str, "发件人地址", key="from")
    to: tuple[str, ...] = setting([], _names, "收件人地址列表")
    username: str = setting("", _str, "登录用户名（为空则不登录）")
    password_env: str = setting("", _optional_env_name, "存放登录密码的环境变量名（密码不写在配置文件里）")
    starttls: bool = setting(True, _bool, "是否使用 STARTTLS 加密")


@dataclass(frozen=True)
class AlertSettings:
    wecom_robot_url: str = setting("", _alert_url,
                                   "企业微信群机器人 Webhook 地址，或 \"env:变量名\" 从环境变量读取")
    webhook_url: str = setting("", _alert_url, "通用 Webhook：POST JSON（event、account、slot、status、message）")
    empty_hours: float = setting(24, _hours, "推送前这么多小时仍没有可发布的文章就告警（0 为不检查）")
    smtp: SmtpSettings = subsection(SmtpSettings, "邮件告警")

    @property
    def channels(self) -> bool:
        """Whether any alert channel is configured."""
        return bool(self.wecom_robot_url or self.webhook_url or (self.smtp.host and self.smtp.to))


@dataclass(frozen=True)
class Category:
    key: str
    name: str = setting("", _nonempty_str, "分类显示名，如 \"基金监管\"")
    max_per_bundle: int | None = setting(0, _optional_cap, "每次推送中该分类最多几篇（0 为不限）")
    cover: Path | None = setting("", _optional_path, "分类默认封面图，相对配置文件")
    color: str = setting("#2b6cb0", _color, "分类强调色 #RRGGBB，用于标题和分隔线")


@dataclass(frozen=True)
class CampaignSettings:
    name: str = setting("", _nonempty_str, "宣传活动名称，如 \"基金监管集中宣传月\"")
    months: tuple[int, ...] = setting([], _months, "活动月份（1–12），如 [4]")
    categories: tuple[str, ...] = setting([], _str_list, "活动期间优先的分类键，如 [\"fund-supervision\"]")
    weight: int = setting(10, _int_between(0), "优先程度：加到这些分类文章的 priority 上")


@dataclass(frozen=True)
class DaemonSettings:
    workers: int = setting(4, _int_between(1, 64),
                           "一个守护进程服务多个账号时，最多同时为几个账号推送（其余排队）")


@dataclass(frozen=True)
class CommentSettings:
    reply_days: int = setting(5, _int_between(1, 30),
                              "留言应在几个工作日内回复（周一至周五，不计法定节假日调休）；超时在报表中记为未按时回复")
    alert_hours: float = setting(24, _hours, "回复期限前这么多小时仍未回复就告警（每条留言一次）")
    fetch_minutes: int = setting(30, _int_between(0, 1440), "守护进程每隔几分钟从微信取一次新留言（0 为不取）")
    days: int = setting(30, _int_between(1, 365), "取最近多少天内群发的文章的留言")
    roles: tuple[str, ...] = setting([], _names,
                                     "控制台中可以回复、精选、删除留言的角色；为空则除“查看”外的角色都可以")


@dataclass(frozen=True)
class ServeSettings:
    host: str = setting("127.0.0.1", _nonempty_str, "控制台监听地址（默认只接受本机访问，对外请经 nginx 等反向代理）")
    port: int = setting(8080, _int_between(1, 65535), "控制台监听端口")
    base_url: str = setting("", _optional_http_url,
                            "控制台对外地址，如 \"https://tuiwen.example.gov.cn/\"：设了之后告警附上相应页面的链接")
    behind_https: bool = setting(False, _bool, "经 HTTPS 反向代理访问：会话 Cookie 加 Secure 标记，并信任代理转发的地址")

    def link(self, path: str) -> str:
        """The console address of ``path`` ("a/quyuan/releases/7"), or "" without a base_url."""
        return self.base_url + path.lstrip("/") if self.base_url else ""


@dataclass(frozen=True)
class ArchiveSettings:
    dir: Path = setting("state/archive", _path,
                        "发布存档目录（每次确认成功的推送一份：发出的 HTML、草稿内容、图片、封面和清单），相对配置文件")


SECTIONS: dict[str, type] = {
    "account": AccountSettings,
    "content": ContentSettings,
    "schedule": ScheduleSettings,
    "database": DatabaseSettings,
    "review": ReviewSettings,
    "theme": ThemeSettings,
    "checks": CheckSettings,
    "freshness": FreshnessSettings,
    "alerts": AlertSettings,
    "daemon": DaemonSettings,
    "comments": CommentSettings,
    "serve": ServeSettings,
    "archive": ArchiveSettings,
}

# Seed 000's campaign calendar: April is the fund-supervision publicity month, and
# autumn is the enrolment season for residents' insurance.
DEFAULT_CAMPAIGNS: list[dict[str, Any]] = [
    {"name": "基金监管集中宣传月", "months": [4], "categories": ["fund-supervision", "typical-cases"]},
    {"name": "城乡居民医保参保缴费", "months": [9, 10, 11, 12], "categories": ["policy", "services"]},
]

# The seeds' columns (屈原医保 2024 宣传工作方案), in the order editors think of them.
DEFAULT_CATEGORIES: dict[str, dict[str, Any]] = {
    "weekly-study": {"name": "每周一学", "max_per_bundle": 1, "color": "#2b6cb0"},
    "fund-supervision": {"name": "基金监管", "color": "#c53030"},
    "typical-cases": {"name": "典型案例", "color": "#b7791f"},
    "policy": {"name": "待遇政策", "color": "#2f855a"},
    "services": {"name": "经办业务", "color": "#319795"},
    "news": {"name": "工作动态", "color": "#4a5568"},
    "province-city": {"name": "省市动态", "color": "#6b46c1"},
    "other": {"name": "其他", "color": "#718096"},
}
