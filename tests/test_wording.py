"""Word and privacy checks, each rule family shown with real sentences from the seeds.

The sentences come from the bureau publicity plans and reports the sample content was written
from; where a
seed has no mistake of a family, the seed's correct sentence is the negative case and
the mistake is made by changing one word of it.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler import wording
from scheduler.config import ConfigError, load_config
from scheduler.privacy import id_checksum_ok, luhn_ok, private_numbers
from scheduler.repository import check_repository
from scheduler.wording import BUILTIN_WORDS, Leader, WordChecker, read_words_file
from tests.conftest import GOOD_FRONT, MINIMAL_CONFIG, REPO_ROOT

# --- real sentences (seeds 000–004) ---------------------------------------------------------

SEED000_SOURCE = "编稿时间:2024-07-23 16:02 来源:区疗保障局  浏览:"
SEED000_GUIDE = ("以习近平新时代中国特色社会主义思想为指导,深入学习贯彻党的二十大精神和习近平总书记关于医保工作的"
                 "重要论述,坚持以人民为中心的发展思想")
SEED000_LAWS = ("(1)医疗保障基金监管相关法律法规及政策解读(《医疗保障基金使用监督管理条例》《医疗保障基金飞行检查管理"
                "暂行办法》《湖南省欺诈骗取医疗保障基金行为举报奖励实施细则》等法规政策);")
SEED000_REWARD = "认真落实《湖南省欺诈骗取医疗保障基金行为举报奖励实施细则》要求,加强对举报奖励办理流程等宣传解读"
SEED001_DOCNO = ("为贯彻落实《省政府办公厅关于建立健全职工基本医疗保险门诊共济保障机制的实施意见》(苏政办发〔2021〕108号)"
                 "和《市政府办公室关于健全职工基本医疗保险门诊共济保障机制的实施办法》(苏府办〔202〕207号)")
SEED001_FOOTER = "邮政编码:215031  政务电话:0512-68358593   业务咨询电话:12393"
SEED002_HOTLINE = "企业和群众对政策的理解和掌握程度明显提高,12345热线咨询量也明显下降。"
SEED003_CONTACT = "联系人:医药价格和服务监管工作筹备组 张帆, 联系电话:18123091916;联系邮箱:770306066@qq.com。"
SEED003_QQ = "各区县局收到文件后确定联络员加入QQ工作群(群号:781877307)。"
SEED004_PEOPLE = "2023年以来，县医保局深入贯彻以人民为中心的工作思想，稳步提高各项医保待遇，持续优化医保经办服务"
SEED004_PLACEHOLDER = "二是再造优化流程，实现最快最优。针对医保服务xx项服务事项和xx项实施清单，逐项逐条梳理，压减材料数量"
SEED004_APP = "全面应用“国家医保服务平台”“x医保”等手机APP，引导办事群众“网上办”“掌上办”参保登记"


@pytest.fixture(scope="module")
def checker() -> WordChecker:
    return WordChecker(read_words_file(BUILTIN_WORDS))


def found(checker: WordChecker, text: str) -> list[tuple[str, str]]:
    return [(f.severity, text[f.start:f.end]) for f in checker.findings(text)]


def messages(checker: WordChecker, text: str) -> list[str]:
    return [f.message for f in checker.findings(text)]


# --- rule families ------------------------------------------------------------------------

def test_correct_seed_sentences_pass(checker):
    for text in (SEED000_GUIDE, SEED000_LAWS, SEED000_REWARD, SEED001_FOOTER, SEED002_HOTLINE, SEED003_QQ, SEED004_APP):
        assert checker.findings(text) == [], text
        assert private_numbers(text) == [], text


def test_set_phrases_are_errors(checker):
    assert found(checker, "深入开展打黑除恶专项斗争，维护医保基金安全") == [("error", "打黑除恶")]
    assert "应为“扫黑除恶”" in messages(checker, "打黑除恶")[0]
    changed = SEED000_GUIDE.replace("习近平新时代中国特色社会主义思想", "习近平新时代中国特色的社会主义思想")
    assert found(checker, changed) == [("error", "习近平新时代中国特色的社会主义思想")]
    assert found(checker, "深入学习习总书记关于医保工作的重要论述") == [("error", "习总书记")]


def test_an_exception_phrase_is_not_a_mistake(checker):
    # 学习总书记… contains 习总书记 but is correct.
    assert found(checker, "深入学习总书记关于医保工作的重要论述") == []
    assert found(checker, "原新农合参保人员的待遇按城乡居民医保执行") == []


def test_seed_004_wording_deviation_is_a_warning(checker):
    [problem] = checker.findings(SEED004_PEOPLE)
    assert problem.severity == "warning"
    assert "“以人民为中心的工作思想”应为“以人民为中心的发展思想”" in problem.message


def test_seed_000_misspelled_bureau_name_is_an_error(checker):
    [problem] = checker.findings(SEED000_SOURCE)
    assert (problem.severity, SEED000_SOURCE[problem.start:problem.end]) == ("error", "疗保障局")
    assert "应为“医疗保障局”" in problem.message
    assert checker.findings(SEED000_SOURCE.replace("区疗保障局", "区医疗保障局")) == []


def test_outdated_insurance_terms_are_warned(checker):
    text = "参加新农合的群众，住院费用按规定报销。"
    [problem] = checker.findings(text)
    assert problem.severity == "warning"
    assert "“新农合”应为“城乡居民基本医疗保险”" in problem.message
    assert "国发〔2016〕3号" in problem.message
    assert found(checker, "城镇居民医保和新型农村合作医疗") == [("warning", "城镇居民医保"), ("warning", "新型农村合作医疗")]


def test_the_2018_reward_cap_is_outdated_only_near_reporting(checker):
    text = "经查实的，按规定对举报人给予奖励，最高奖励10万元。"
    [problem] = checker.findings(text)
    assert problem.severity == "warning" and "最高 20 万元" in problem.message
    assert checker.findings("大病保险年度最高支付10万元以上的部分") == []
    assert checker.findings("参保人员在本年度内住院，最高10万元") == []  # nothing about reporting nearby


def test_regulation_names_must_be_exact(checker):
    wrong = SEED000_LAWS.replace("《医疗保障基金使用监督管理条例》", "《医保基金使用监督管理条例》")
    [problem] = checker.findings(wrong)
    assert problem.severity == "warning"
    assert "应为“《医疗保障基金使用监督管理条例》”" in problem.message and "国务院令第735号" in problem.message
    wrong = SEED000_LAWS.replace("《医疗保障基金飞行检查管理暂行办法》", "《医疗保障基金飞行检查暂行办法》")
    assert "《医疗保障基金飞行检查管理暂行办法》" in messages(checker, wrong)[0]
    old = "依据《欺诈骗取医疗保障基金行为举报奖励暂行办法》给予奖励"
    assert "违法违规使用医疗保障基金举报奖励办法" in messages(checker, old)[0]


def test_document_numbers(checker):
    # Seed 001 really printed 苏府办〔202〕207号: a year of three digits.
    [problem] = checker.findings(SEED001_DOCNO)
    assert (problem.severity, SEED001_DOCNO[problem.start:problem.end]) == ("error", "〔202〕")
    [problem] = checker.findings("根据《关于做好举报奖励工作的通知》（医保办发[2018]22号）要求")
    assert problem.severity == "warning" and "六角括号" in problem.message


def test_seed_004_placeholders_left_in_are_errors(checker):
    assert found(checker, SEED004_PLACEHOLDER) == [("error", "xx"), ("error", "xx")]
    assert found(checker, "截至目前，xx万元财政补助已全部上缴") == [("error", "xx")]
    assert found(checker, SEED004_APP) == []  # a single x, and ASCII words, are not placeholders
    assert found(checker, "请访问 https://example.com/xxl 或 images/xxx.jpg") == []


def test_the_fallback_matcher_gives_the_same_answers():
    import glob

    rules = read_words_file(BUILTIN_WORDS)
    leaders = [Leader("张帆", "筹备组组长")]
    fast, slow = WordChecker(rules, leaders, use_automaton=True), WordChecker(rules, leaders, use_automaton=False)
    posts = sorted(glob.glob(str(REPO_ROOT / "content" / "**" / "*.md"), recursive=True))
    assert posts
    for path in posts:
        with open(path, encoding="utf-8") as file:
            text = file.read()
        assert fast.findings(text, first_mentions=set()) == slow.findings(text, first_mentions=set())
    text = SEED004_PLACEHOLDER + SEED000_SOURCE + "打黑除恶《医保基金监管条例》"
    assert fast.findings(text) == slow.findings(text) != []


# --- privacy --------------------------------------------------------------------------------

def test_seed_003_mobile_number_is_an_error_and_shown_masked():
    [problem] = private_numbers(SEED003_CONTACT)
    assert problem.severity == "error"
    assert SEED003_CONTACT[problem.start:problem.end] == "18123091916"
    assert "181****1916" in problem.message and "18123091916" not in problem.message
    assert "138****1234" in problem.message


def test_hotlines_landlines_and_long_numbers_are_not_private():
    for text in (SEED001_FOOTER, SEED002_HOTLINE, SEED003_QQ, "医保基金监管举报电话：0730-5612393、12393",
                 "网站标识码:3205000070", "订单号 2024040112345678901234", "电话 138123456789（12 位，不是手机号）"):
        assert private_numbers(text) == [], text


def test_mobile_numbers_with_separators():
    assert len(private_numbers("请拨打 138-1234-5678 或 139 1234 5678 咨询")) == 2


def test_id_numbers_need_a_valid_checksum():
    assert id_checksum_ok("11010519491231002X")
    [problem] = private_numbers("参保人身份证号11010519491231002X，已办理异地就医备案")
    assert "110105********002X" in problem.message and "11010519491231002X" not in problem.message
    assert private_numbers("参保人编号 110105194912310021，已办理") != []  # a real place and birth date: warned
    assert private_numbers("身份证号 110105********002X（已打码）") == []


@pytest.mark.parametrize("label", ["身份证", "身份证号", "身份证号码", "证件号码", "社保卡号", "医保卡号"])
def test_a_labelled_number_is_personal_data_even_with_a_wrong_check_digit(label):
    number = "110105194912310021"  # the check digit should be X: a typo, still someone's ID
    assert not id_checksum_ok(number)
    [problem] = private_numbers(f"参保人{label}：{number}，已办理异地就医备案")
    assert problem.severity == "error" and number not in problem.message
    assert f"“{label}”" in problem.message and "110105********0021" in problem.message


def test_an_unlabelled_number_shaped_like_an_id_is_a_warning_when_its_check_digit_fails():
    [problem] = private_numbers("材料编号 110105194912310021 已收到")
    assert problem.severity == "warning" and "110105********0021" in problem.message
    february_30 = next(n for n in (f"1101051949023012{d}0" for d in "0123456789") if not id_checksum_ok(n))
    assert private_numbers(f"编号 {february_30} 的材料") == []  # nobody was born on 30 February
    assert private_numbers("编号 990105194912310021 的材料") == []  # 99 is no province
    april_31 = _bad_check_digit("11010519490431120")
    assert private_numbers(f"编号 {april_31} 的材料") == []  # nor on 31 April


def _bad_check_digit(first17: str) -> str:
    return next(first17 + d for d in "0123456789" if not id_checksum_ok(first17 + d))


def test_an_id_shaped_number_is_warned_for_births_from_1900_to_this_year():
    from datetime import date

    this_year = date.today().year
    for year in (1900, this_year):
        number = _bad_check_digit(f"110105{year}0101002")
        [problem] = private_numbers(f"材料编号 {number} 已收到")
        assert problem.severity == "warning", year
        assert problem.message.endswith("如是证件号请打码（如 430621********1234）或删除；不是的话可忽略"), year
    for year in (1899, this_year + 1):  # nobody alive was born then, or is yet to be
        assert private_numbers(f"材料编号 {_bad_check_digit(f'110105{year}0101002')} 已收到") == [], year


def test_a_labelled_id_with_a_wrong_check_digit_says_it_may_be_a_typo():
    number = _bad_check_digit("11010519491231002")
    [problem] = private_numbers(f"参保人身份证号：{number}，已备案")
    masked = f"{number[:6]}********{number[-4:]}"
    assert f"{masked}（校验位对不上，可能抄错了，但仍是某人的号码），公开发布会泄露个人信息" in problem.message
    [right] = private_numbers("参保人身份证号：11010519491231002X，已备案")
    assert "校验位" not in right.message


def test_every_id_in_a_text_is_found_after_a_labelled_one():
    second = next(n for n in (f"11010519500101001{c}" for c in "0123456789X") if id_checksum_ok(n))
    found = private_numbers(f"参保人身份证号：11010519491231002X；其配偶 {second} 同时备案")
    assert len(found) == 2 and "110105********002X" in found[0].message and second[-4:] in found[1].message


def check_digit(body: str) -> str:
    """The Luhn check digit (ISO/IEC 7812-1), written independently of scheduler.privacy:
    from the right, every other digit of the body doubled, with the digit sum of the product."""
    doubled = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)
    total = sum(doubled[int(d)] if i % 2 == 0 else int(d) for i, d in enumerate(reversed(body)))
    return str(-total % 10)


def test_bank_cards_need_luhn():
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")  # the well-known test card
    card = "622202123456789" + check_digit("622202123456789")
    [problem] = private_numbers(f"补助资金已打入银行卡 {card}，请注意查收")
    assert problem.message == f"个人信息：未打码的银行卡号 6222********{card[-4:]}，请打码或删除"
    bad = card[:-1] + str((int(card[-1]) + 1) % 10)
    assert private_numbers(f"补助资金已打入银行卡 {bad}") == []


@settings(max_examples=300, deadline=None)
@given(body=st.from_regex(r"\A[3-6][0-9]{14,17}\Z"), wrong=st.integers(1, 9))
def test_a_card_number_of_16_to_19_digits_is_reported_exactly_when_its_check_digit_is_right(body, wrong):
    # README: 银行卡号（16–19 位，Luhn 校验）
    card = body + check_digit(body)
    if len(set(card)) == 1:
        return  # 4444…: a row of one digit is filler, not a card
    [problem] = private_numbers(f"卡号{card}。")
    assert (problem.start, problem.end) == (2, 2 + len(card))
    forged = body + str((int(check_digit(body)) + wrong) % 10)
    assert not [p for p in private_numbers(f"卡号{forged}。") if "银行卡号" in p.message]


def test_card_numbers_written_in_groups_and_rows_of_one_digit():
    body = "621700123456789012"
    card = body + check_digit(body)  # 19 digits, the longest
    grouped = " ".join(card[i:i + 4] for i in range(0, 19, 4))
    [problem] = private_numbers(f"请核对 {grouped} 是否本人账户")
    assert problem.message == f"个人信息：未打码的银行卡号 6217********{card[-4:]}，请打码或删除"
    assert private_numbers(f"请核对 {grouped}", frozenset({card})) == []  # allowed, however it is written
    two_digits = "444444444444444" + check_digit("444444444444444")
    assert two_digits == "4444444444444448" and len(private_numbers(f"卡号 {two_digits}")) == 1
    assert check_digit("4444444444444444") == "4" and private_numbers("编号 44444444444444444") == []


def test_the_masked_messages_word_for_word():
    [mobile] = private_numbers("联系人：李某，电话 139-1234-5678。")
    assert mobile.message == ("个人信息：未打码的手机号 139****5678，请打码（如 138****1234）或删除；"
                              "有意公开的号码请写进 [checks].allowed_numbers")
    assert private_numbers("咨询专线 139-1234-5678", frozenset({"13912345678"})) == []
    [identity] = private_numbers("材料 11010519491231002X 已收到。")
    assert identity.message == ("个人信息：未打码的身份证号 110105********002X，"
                                "公开发布会泄露个人信息，请打码（如 430621********1234）或删除")
    [labelled] = private_numbers("身份证号11010519491231002X。")
    assert labelled.message == ("个人信息：“身份证号”后面是未打码的号码 110105********002X，"
                                "公开发布会泄露个人信息，请打码（如 430621********1234）或删除")


def test_allowed_numbers_are_not_reported():
    assert private_numbers(SEED003_CONTACT, frozenset({"18123091916"})) == []


# --- leaders and local words ---------------------------------------------------------------

def test_leaders_titles_must_be_exact():
    check = WordChecker(read_words_file(BUILTIN_WORDS), [Leader("王某某", "区医保局局长")])
    ok = "3月28日，区医保局局长王某某带队走进县中医医院开展“您点单，我来讲”宣讲。王某某指出，要畅通举报渠道。"
    assert check.findings(ok, first_mentions=set()) == []
    wrong = "区医保局副局长王某某带队开展宣讲。"
    [problem] = check.findings(wrong, first_mentions=set())
    assert problem.severity == "error" and "登记的职务是“区医保局局长”" in problem.message and "副局长" in problem.message
    untitled = "王某某带队走进县中医医院开展宣讲。"
    [problem] = check.findings(untitled, first_mentions=set())
    assert problem.severity == "warning" and "区医保局局长王某某" in problem.message
    assert check.findings("王某某副局长出席", first_mentions=set())[0].severity == "error"


# --- publish check, files and settings --------------------------------------------------------

def test_publish_check_reports_each_problem_at_its_file_line(repo):
    repo.post("fund-supervision/a.md", GOOD_FRONT + "digest: 深入开展打黑除恶专项斗争\n",
              f"第一段。\n\n{SEED003_CONTACT}\n\n{SEED001_DOCNO}\n")
    result = repo.publish("check")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert any(line.startswith("fund-supervision/a.md:4: 错误: 规范用语：“打黑除恶”应为“扫黑除恶”") for line in lines)
    assert any(line.startswith("fund-supervision/a.md:8: 错误: 个人信息：未打码的手机号 181****1916") for line in lines)
    assert any(line.startswith("fund-supervision/a.md:10: 错误: 文号：文号年份“〔202〕”") for line in lines)
    assert "18123091916" not in result.output


def test_a_title_problem_is_at_the_title_line(repo):
    repo.post("news/t.md", "status: ready\ntitle: 新农合参保缴费开始了\n")
    [problem] = [p for p in check_repository(repo.config).problems if p.path == "news/t.md"]
    assert (problem.line, problem.severity) == (3, "warning")


def test_a_warning_does_not_stop_publishing_an_error_does(repo):
    repo.post("news/warn.md", GOOD_FRONT, SEED004_PEOPLE + "\n")
    repo.post("news/err.md", GOOD_FRONT, SEED004_PLACEHOLDER + "\n")
    result = repo.publish("--dry-run", "--out", str(repo.root / "preview"), "--at", "2024-04-02 09:00")
    assert "news/err.md" in result.output and "占位符" in result.output
    posts = {p.rel: p for p in check_repository(repo.config).posts}
    assert posts["news/warn.md"].ok and not posts["news/err.md"].ok


def test_an_account_words_file_adds_and_switches_off_rules(repo):
    (repo.root / "rules").mkdir()
    (repo.root / "rules" / "mine.toml").write_text("""
[[rule]]
kind = "本地用语"
find = ["屈原区医保局"]
right = "屈原管理区医疗保障局"
severity = "error"

[[rule]]
find = ["新农合"]
severity = "off"

[[pattern]]
name = "占位符"
regex = "xx"
severity = "off"
""", encoding="utf-8")
    repo.write_config(MINIMAL_CONFIG + '[checks]\nwords_file = "rules/mine.toml"\n')
    repo.post("news/a.md", GOOD_FRONT, "屈原区医保局召开会议。新农合已整合。服务xx项。\n")
    problems = [p for p in check_repository(repo.config).problems if p.path == "news/a.md"]
    assert [(p.severity, p.message.split("：")[0]) for p in problems] == [("error", "本地用语")]


def test_local_words_in_config(repo):
    repo.write_config(MINIMAL_CONFIG + """
[checks]
allowed_numbers = ["18123091916"]
[checks.local_words]
"王某某" = "区医保局局长"
"屈原区医保局" = { right = "屈原管理区医疗保障局", severity = "warning" }
""")
    repo.post("news/a.md", GOOD_FRONT, f"区医保局副局长王某某出席。屈原区医保局召开会议。\n{SEED003_CONTACT}\n")
    problems = [p for p in check_repository(repo.config).problems if p.path == "news/a.md"]
    assert [(p.line, p.severity) for p in problems] == [(5, "error"), (5, "warning")]
    assert "屈原管理区医疗保障局" in problems[1].message


@pytest.mark.parametrize("toml, key", [
    ('[checks]\nwords_file = "nope.toml"\n', "[checks].words_file"),
    ('[checks]\nlocal_words = ["王某某"]\n', "[checks].local_words"),
    ('[checks.local_words]\n"王某某" = 3\n', "[checks].local_words"),
    ('[checks]\nallowed_numbers = "138"\n', "[checks].allowed_numbers"),
])
def test_bad_check_settings_name_the_key(repo, toml, key):
    repo.write_config(MINIMAL_CONFIG + toml)
    with pytest.raises(ConfigError) as caught:
        load_config(repo.config_path)
    assert key in str(caught.value)


@pytest.mark.parametrize("text, reason", [
    ("[[rule]]\nfind = []\n", "find"),
    ("[[rule]]\nfind = [\"a\"]\nseverity = \"fatal\"\n", "severity"),
    ("[[pattern]]\nregex = \"(\"\n", "regex"),
    ("[[pattern]]\nregex = \"x*\"\n", "空字符串"),
    ("[[rules]]\nfind = [\"a\"]\n", "[rules]"),
    ("[[rule]]\nfind = [\"习总书记\"]\nunless = [\"总书记\"]\n", "unless"),
])
def test_a_broken_words_file_is_a_config_error(repo, text, reason):
    (repo.root / "bad.toml").write_text(text, encoding="utf-8")
    repo.write_config(MINIMAL_CONFIG + '[checks]\nwords_file = "bad.toml"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(repo.config_path)
    assert "[checks].words_file" in str(caught.value) and reason in str(caught.value)


def test_the_shipped_rules_load_and_every_rule_says_what_to_write():
    rules = read_words_file(BUILTIN_WORDS)
    assert len(rules.rules) > 30 and rules.patterns
    assert all(r.right and r.kind and r.severity in ("error", "warning") for r in rules.rules)


def test_sample_content_has_no_wording_problems():
    from tests.conftest import REPO_ROOT

    result = check_repository(load_config(REPO_ROOT / "config.toml"))
    assert [str(p) for p in result.problems if p.severity == "error"] == []


def test_rules_are_reloaded_when_the_file_changes(repo):
    rules = repo.root / "mine.toml"
    rules.write_text('[[rule]]\nfind = ["甲乙"]\nright = "丙"\n', encoding="utf-8")
    repo.write_config(MINIMAL_CONFIG + '[checks]\nwords_file = "mine.toml"\n')
    repo.post("news/a.md", GOOD_FRONT, "甲乙丁戊\n")
    assert len(check_repository(repo.config).problems) == 1
    rules.write_text('[[rule]]\nfind = ["丁戊"]\nright = "丙"\n\n[[rule]]\nfind = ["甲乙"]\nright = "丙"\n', encoding="utf-8")
    assert len(check_repository(repo.config).problems) == 2
    assert wording.checker_for(repo.config) is wording.checker_for(repo.config)


# --- the fast forms of the patterns find exactly what their plain forms find -----------------

# The patterns as first written (a look-behind first): the rewritten ones must agree with them.
PLAIN_NUMBER_PATTERNS = {
    "_ID": r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]"
           r"(?![0-9A-Za-z])",
    "_CARD": r"(?<![\d-])[3-6]\d{3}(?:[ -]?\d{4}){3}(?:[ -]?\d{1,3})?(?![\d-])",
    "_MOBILE": r"(?<![\d-])1[3-9]\d(?:[ -]?\d{4}){2}(?![\d-])",
}
PLAIN_PLACEHOLDER = r"(?<=[\u4e00-\u9fff])[xX]{2,3}(?![a-z])|(?<![A-Za-z])[xX]{2,3}(?=[\u4e00-\u9fff])"
# Pieces that make the patterns match, nearly match, and fail at their edges.
PIECES = st.one_of(
    st.sampled_from(["430621199001011234", "43062119900101123X", "6222021234567890", "6222 0212 3456 7890",
                     "13812345678", "138 1234 5678", "138-1234-5678", "2024", "1", "3", "-", " ", "x", "X", "xx",
                     "XXX", "xxxx", "a", "Z", "某", "医保发", "(2022)", "（2023）", "【2021】", "22号", "〔2022〕",
                     "\n", "。", "医保发(2022)22号", "局【2021】 5 号", "某某[2019]123号"]),
    st.text(alphabet="0123456789 -xXaZ某局(（）)", max_size=6),
)
TEXTS = st.lists(PIECES, max_size=14).map("".join)


@settings(max_examples=400, deadline=None)
@given(text=TEXTS)
def test_the_number_patterns_find_what_their_plain_forms_find(text):
    import re

    from scheduler import privacy

    for name, plain in PLAIN_NUMBER_PATTERNS.items():
        fast = getattr(privacy, name)
        assert [m.span() for m in fast.finditer(text)] == [m.span() for m in re.finditer(plain, text)], name


@settings(max_examples=400, deadline=None)
@given(text=TEXTS)
def test_the_built_in_patterns_find_what_they_find_without_their_shortcuts(text):
    """The placeholder pattern in its fast form, and each pattern with its ``requires`` filter,
    report exactly what the plain pattern reports on the whole text."""
    import dataclasses
    import re

    rules = read_words_file(BUILTIN_WORDS)
    placeholder = next(p for p in rules.patterns if p.kind == "占位符")
    assert [m.span() for m in placeholder.regex.finditer(text)] == [m.span() for m in re.finditer(PLAIN_PLACEHOLDER, text)]
    plain = dataclasses.replace(rules, patterns=tuple(dataclasses.replace(p, requires=None) for p in rules.patterns))
    assert any(p.requires is not None for p in rules.patterns)
    assert WordChecker(rules).findings(text) == WordChecker(plain).findings(text)
