"""Write a realistic, deterministic content repository for the benchmarks.

    python bench/make_corpus.py N DIR [--seed S]

DIR gets ``config.toml`` (so ``publish --config DIR/config.toml`` works),
``content/<category>/…`` with N posts of 2,000–4,000 Chinese characters each —
headings, lists, tables, links, 问答 paragraphs and a few images shared within each
category — spread over several years, and ``content/_covers/``.  The same N and
seed always give the same bytes.
"""

from __future__ import annotations

import argparse
import io
import random
import re
import shutil
from datetime import datetime, timedelta
from pathlib import Path

CATEGORIES = {  # key → (name, share of the posts, pinyin slugs for file names)
    "weekly-study": ("每周一学", 12, ["yidi-jiuyi", "dianzi-pingzheng", "geren-zhanghu", "menzhen-gongji"]),
    "fund-supervision": ("基金监管", 16, ["jijin-jianguan", "jubao-jiangli", "feijian-jiancha", "xuanchuanyue"]),
    "typical-cases": ("典型案例", 12, ["qizha-pianbao", "guahuang-zhuyuan", "maiyao-taoxian", "anli-tongbao"]),
    "policy": ("待遇政策", 16, ["liangbing-yongyao", "dabing-baoxian", "shengyu-jintie", "changhu-xian"]),
    "services": ("经办业务", 14, ["canbao-jiaofei", "fuwuquan", "xuesheng-canbao", "banshi-zhinan"]),
    "news": ("工作动态", 14, ["gongzuo-huigu", "diandan-xuanjiang", "bangban-daiban", "xiangzhen-zoufang"]),
    "province-city": ("省市动态", 10, ["quanshi-canbao", "shengji-zhengce", "jicai-luodi", "yidi-kuoda"]),
    "other": ("其他", 6, ["xiaozhishi", "changjian-wenti", "rexian-jieda", "xuzhi"]),
}
COLORS = {"weekly-study": "#2b6cb0", "fund-supervision": "#c53030", "typical-cases": "#b7791f",
          "policy": "#2f855a", "services": "#319795", "news": "#4a5568", "province-city": "#6b46c1",
          "other": "#718096"}

_HAN = re.compile("[\u4e00-\u9fff]")

# --- the vocabulary: fragments a county medical-insurance bureau actually writes --------

SUBJECTS = [
    "区医保局", "区医疗保障事务中心", "各定点医药机构", "参保群众", "退休职工", "城乡居民", "灵活就业人员",
    "各乡镇（街道）医保经办窗口", "村（社区）医保服务站", "区税务局", "定点零售药店", "二级以上公立医院",
    "基层医疗卫生机构", "医保基金监管专班", "异地就医参保人员", "困难群众", "在校学生", "新生儿家长",
]
ACTIONS = [
    "扎实推进", "持续深化", "全面落实", "认真开展", "稳步推进", "进一步规范", "大力推行", "严格执行",
    "积极宣传", "统筹做好", "着力优化", "切实加强", "及时办理", "主动对接", "全面排查",
]
OBJECTS = [
    "城乡居民医保参保缴费工作", "职工医保门诊共济保障机制改革", "异地就医直接结算", "医保基金监管",
    "打击欺诈骗保专项整治", "门诊慢特病待遇认定", "医保电子凭证激活使用", "国家组织药品集中带量采购",
    "高值医用耗材集采落地", "医保支付方式改革", "定点医药机构协议管理", "医疗救助托底保障",
    "大病保险倾斜支付", "长期护理保险试点", "医保经办服务“一窗通办”", "个人账户家庭共济",
    "生育津贴按时足额发放", "“两病”门诊用药保障", "医保信息化标准化建设", "DIP付费改革",
]
PURPOSES = [
    "切实减轻群众就医负担", "守好人民群众的“看病钱”“救命钱”", "让群众少跑腿、数据多跑路",
    "确保应保尽保、应缴尽缴", "提升医保服务的便捷度和满意度", "维护医保基金安全平稳运行",
    "筑牢基本医疗保障防线", "推动医保服务向基层延伸", "防范化解因病致贫返贫风险",
    "让参保群众看得上病、看得起病", "营造全社会共同守护医保基金的良好氛围",
]
DETAILS = [
    "参保人员可通过国家医保服务平台APP、“湘税社保”微信小程序或到村（社区）代收点缴纳",
    "起付标准以上、年度最高支付限额以下的政策范围内费用，由统筹基金按比例支付",
    "备案后在就医地定点医疗机构发生的费用可直接结算，无需先行垫付再回参保地报销",
    "退休人员的支付比例比在职职工高出5个百分点，并向基层医疗机构倾斜",
    "个人账户可用于支付配偶、父母、子女在定点医疗机构就医发生的个人负担费用",
    "检查中发现的违规问题已责令整改到位，违规金额全部追回医保基金专户",
    "对查实的欺诈骗保行为，依法依规从严处理，涉嫌犯罪的移送公安机关",
    "举报人可通过医保服务热线12393、来信来访或网络平台进行实名或匿名举报",
    "定点医药机构须在醒目位置张贴医保政策宣传海报和举报电话",
    "脱贫人口、低保对象、特困人员参加城乡居民医保的个人缴费按规定给予资助",
    "门诊慢特病待遇认定实行常态化受理，申请材料齐全的在15个工作日内办结",
    "新生儿出生后90天内参保缴费的，自出生之日起享受医保待遇",
    "集采中选药品平均降价超过50%，群众在家门口就能买到质优价廉的药品",
    "经办窗口全面推行“综合柜员制”，实现一窗受理、一次办结",
    "全区已实现医保电子凭证在所有定点医疗机构和定点药店扫码结算",
    "大病保险对起付线以上的合规费用分段报销，最高报销比例可达80%",
]
TIME_WORDS = ["今年以来", "近日", "日前", "年初以来", "截至目前", "下一步", "集中宣传月期间", "第三季度", "上半年"]
CONNECTORS = ["同时，", "此外，", "与此同时，", "另外，", "为此，", "在此基础上，", "据统计，", ""]
HEADINGS = [
    "政策背景", "主要内容", "办理流程", "所需材料", "报销标准", "注意事项", "工作成效", "下一步打算",
    "常见问题", "温馨提示", "典型做法", "案情简介", "处理结果", "以案说法", "办理渠道", "待遇标准",
]
QUESTIONS = [
    ("城乡居民医保什么时候缴费？", "集中缴费期一般为每年9月至12月，缴纳的是下一年度的医保费，逾期未缴的将设置待遇等待期。"),
    ("异地就医怎么备案？", "可以通过国家医保服务平台APP、国家异地就医备案小程序线上办理，也可以到参保地医保经办窗口现场办理。"),
    ("个人账户的钱能给家里人用吗？", "可以。个人账户可以用于支付配偶、父母、子女就医发生的个人负担费用，也可以为他们缴纳城乡居民医保。"),
    ("门诊慢特病怎么申请？", "携带身份证件、近两年的相关病历和检查报告，到定点医疗机构或医保窗口提出申请，经评定后享受待遇。"),
    ("发现欺诈骗保行为怎么举报？", "可以拨打医保基金监管举报电话12393，经查证属实的，按规定给予举报人奖励，并对举报人信息严格保密。"),
    ("医保电子凭证怎么激活？", "在微信或支付宝搜索“医保电子凭证”，按提示完成实名认证即可激活，就医购药时出示二维码即可结算。"),
]
LINKS = [
    ("国家医疗保障局官网", "https://www.nhsa.gov.cn/"),
    ("湖南省医疗保障局", "https://ybj.hunan.gov.cn/"),
    ("国家医保服务平台", "https://fuwu.nhsa.gov.cn/"),
    ("岳阳市医疗保障局", "https://ybj.yueyang.gov.cn/"),
    ("往期回顾", "https://mp.weixin.qq.com/s/Qy7mEx2kR4aVb9cT1nWz0A"),
    ("政策原文", "https://www.gov.cn/zhengce/content/2024-01/15/content_6926034.htm"),
]
TABLES = [
    ("医疗机构级别", "起付标准（元）", "报销比例", [("一级及以下", "200", "85%"), ("二级", "500", "75%"),
                                             ("三级", "800", "60%"), ("市外三级", "1200", "50%")]),
    ("缴费类别", "个人缴费（元）", "财政补助（元）", [("城乡居民", "400", "670"), ("特困人员", "0", "全额资助"),
                                               ("低保对象", "200", "定额资助"), ("在校学生", "400", "670")]),
    ("检查项目", "检查机构数", "追回金额（万元）", [("住院费用", "32", "41.6"), ("药品进销存", "58", "12.3"),
                                               ("医用耗材", "17", "8.9"), ("诊疗项目", "24", "15.2")]),
]
NAMES = ["王丽", "陈建国", "李娟", "周志强", "刘洋", "张敏", "杨帆", "赵磊", "黄静", "吴涛", "孙悦", "胡斌"]
AUTHORS = ["屈原区医保局", "医保服务中心", "待遇保障股", "基金监管股", "医药服务管理股", "办公室"]


def sentence(rng: random.Random) -> str:
    """One sentence of bureau prose, assembled from the fragments above."""
    shape = rng.randrange(4)
    if shape == 0:
        return f"{rng.choice(TIME_WORDS)}，{rng.choice(SUBJECTS)}{rng.choice(ACTIONS)}{rng.choice(OBJECTS)}，{rng.choice(PURPOSES)}。"
    if shape == 1:
        return f"{rng.choice(CONNECTORS)}{rng.choice(DETAILS)}。"
    if shape == 2:
        n = rng.randint(3, 98)
        return (f"{rng.choice(CONNECTORS)}{rng.choice(SUBJECTS)}共{rng.choice(ACTIONS)}{rng.choice(OBJECTS)}"
                f"{n}次，覆盖群众{n * rng.randint(37, 410)}人次。")
    return f"{rng.choice(SUBJECTS)}要{rng.choice(ACTIONS)}{rng.choice(OBJECTS)}，{rng.choice(DETAILS)}，{rng.choice(PURPOSES)}。"


def paragraph(rng: random.Random, links: list) -> str:
    text = "".join(sentence(rng) for _ in range(rng.randint(2, 5)))
    if rng.random() < 0.25:
        label, url = rng.choice(LINKS)
        text += f"详情请见[{label}]({url})。"
    if rng.random() < 0.2 and "，" in text[:40]:  # the opening clause in bold
        head, _, rest = text.partition("，")
        text = f"**{head}**，{rest}"
    return text


def body(rng: random.Random, images: list[str], target: int) -> str:
    """Markdown of at least ``target`` Chinese characters (a little over: it ends on a whole block)."""
    blocks: list[str] = [paragraph(rng, LINKS)]
    used_images = rng.sample(images, k=rng.randint(0, min(3, len(images))))
    numerals = "一二三四五六七八九十"
    section, lists, tables = 0, rng.randint(0, 2), rng.randint(0, 1)  # at most: a post is mostly prose
    while sum(len(_HAN.findall(b)) for b in blocks) < target:
        roll = rng.random()
        if roll < 0.14 and section < len(numerals):
            blocks.append(f"## {numerals[section]}、{rng.choice(HEADINGS)}")
            section += 1
        elif roll < 0.22 and lists:
            lists -= 1
            items = [sentence(rng).rstrip("。") for _ in range(rng.randint(3, 5))]
            ordered = rng.random() < 0.5
            blocks.append("\n".join(f"{i}. {t}" if ordered else f"- {t}" for i, t in enumerate(items, 1)))
        elif roll < 0.26 and tables:
            tables -= 1
            a, b, c, rows = rng.choice(TABLES)
            lines = [f"| {a} | {b} | {c} |", "|---|---|---|", *(f"| {x} | {y} | {z} |" for x, y, z in rows)]
            blocks.append("\n".join(lines))
        elif roll < 0.38:
            question, answer = rng.choice(QUESTIONS)
            blocks.append(f"**问：** {question}\n\n**答：** {answer}")
        elif roll < 0.42 and used_images:
            image = used_images.pop()
            blocks.append(f"![{rng.choice(OBJECTS)}](images/{image})")
        elif roll < 0.45:
            blocks.append(f"> {rng.choice(DETAILS)}。")
        else:
            blocks.append(paragraph(rng, LINKS))
    blocks.extend(f"![{rng.choice(OBJECTS)}](images/{image})" for image in used_images)
    blocks.append("如有疑问，请拨打医保服务热线12393，或到区政务服务中心医保窗口咨询。")
    return "\n\n".join(blocks) + "\n"


def title(rng: random.Random, category: str) -> str:
    name = CATEGORIES[category][0]
    core = rng.choice(OBJECTS)
    tail = rng.choice(["政策解读", "问答", "十问十答", "工作纪实", "温馨提示", "办理指南", "通报", "看过来"])
    text = f"{name}｜{core}{tail}" if category == "weekly-study" else f"{core}{tail}"
    return text[:30]


def front_matter(rng: random.Random, category: str, when: datetime) -> str:
    lines = [f"title: {title(rng, category)}"]
    if rng.random() < 0.5:
        lines.append(f"author: {rng.choice(AUTHORS)}")
    if rng.random() < 0.6:
        lines.append(f"digest: {rng.choice(DETAILS)}。")
    lines.append(f"publish_after: {when:%Y-%m-%d %H:%M}")
    if rng.random() < 0.3:
        lines.append(f"expires: {(when + timedelta(days=rng.randint(20, 120))):%Y-%m-%d}")
    if rng.random() < 0.15:
        lines.append(f"priority: {rng.randint(1, 5)}")
    if rng.random() < 0.04:
        lines.append("lead: true")
    lines.append(f"status: {'draft' if rng.random() < 0.12 else 'ready'}")
    if rng.random() < 0.2:
        lines.append(f"source_url: {rng.choice(LINKS)[1]}")
    lines.append(f"reviewed_by: {rng.choice(NAMES)}")
    if rng.random() < 0.95:  # a few wait for sign-off
        lines.append(f"approved_by: {rng.choice(NAMES)}")
    if rng.random() < 0.3:
        lines.append("comments: true")
    return "---\n" + "\n".join(lines) + "\n---\n"


def image(rng: random.Random, color: str, fmt: str) -> bytes:
    """A small poster-like picture: deterministic for a given random state."""
    from PIL import Image, ImageDraw

    picture = Image.new("RGB", (640, 360), color)
    draw = ImageDraw.Draw(picture)
    for _ in range(12):
        x, y = rng.randrange(600), rng.randrange(330)
        shade = tuple(rng.randrange(256) for _ in range(3))
        draw.rectangle((x, y, x + rng.randint(20, 200), y + rng.randint(10, 90)), fill=shade)
    buffer = io.BytesIO()
    picture.save(buffer, fmt, **({"quality": 80} if fmt == "JPEG" else {}))
    return buffer.getvalue()


CONFIG = """\
# 基准测试用的内容仓库（bench/make_corpus.py 生成）。
[account]
name = "屈原医保"
author = "屈原区医保局"
cover = "content/_covers/default.jpg"

[database]
url = "sqlite:///state/tuiwen.db"

[review]
required = true
"""


def make_corpus(n: int, out: Path, seed: int = 8) -> Path:
    """Write the repository; returns the config path.  An existing content folder is replaced."""
    rng = random.Random(seed)
    content = out / "content"
    if content.exists():
        shutil.rmtree(content)
    (content / "_covers").mkdir(parents=True)
    config = CONFIG + "".join(
        f'\n[categories.{key}]\nname = "{name}"\ncover = "content/_covers/{key}.jpg"\n'
        + ("max_per_bundle = 1\n" if key == "weekly-study" else "")
        for key, (name, _, _) in CATEGORIES.items()
    )
    (out / "config.toml").write_text(config, encoding="utf-8")
    (content / "_covers" / "default.jpg").write_bytes(image(rng, "#2b6cb0", "JPEG"))
    images: dict[str, list[str]] = {}
    for key in CATEGORIES:
        (content / key / "images").mkdir(parents=True)
        (content / "_covers" / f"{key}.jpg").write_bytes(image(rng, COLORS[key], "JPEG"))
        names = []
        for i in range(4):
            fmt = "PNG" if i == 3 else "JPEG"
            name = f"{key}-{i + 1}.{'png' if fmt == 'PNG' else 'jpg'}"
            (content / key / "images" / name).write_bytes(image(rng, COLORS[key], fmt))
            names.append(name)
        images[key] = names
    keys = list(CATEGORIES)
    weights = [CATEGORIES[k][1] for k in keys]
    start = datetime(2019, 1, 1, 8, 0)
    span = (datetime(2025, 12, 31) - start).total_seconds()
    for i in range(n):
        key = rng.choices(keys, weights)[0]
        when = start + timedelta(seconds=int(span * i / max(n, 1)) + rng.randint(0, 86400))
        when = when.replace(minute=0, second=0)
        slug = rng.choice(CATEGORIES[key][2])
        text = front_matter(rng, key, when) + body(rng, images[key], 2000 + int(1950 * rng.betavariate(2, 3)))
        (content / key / f"{when:%Y-%m-%d}-{slug}-{i:05d}.md").write_text(text, encoding="utf-8")
    return out / "config.toml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, help="how many posts")
    parser.add_argument("dir", type=Path, help="where to write config.toml and content/")
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()
    path = make_corpus(args.n, args.dir, args.seed)
    print(f"{args.n} posts → {path.parent / 'content'}; config: {path}")


if __name__ == "__main__":
    main()
