"""One broken post, answer or setting never stops the push — generated, for every field and command.

Each example writes a site with two valid posts and one post carrying a generated bad
value in one front-matter field (or a bad body), then runs the commands an editor or the
daemon runs.  None may show a traceback; the bad post is named as ``path:line`` with a
Chinese message; exit codes stay as documented; and the valid posts go out exactly once.
The same for config.toml: any key with a wrong type or value is exit 2 naming the key.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from scheduler.cli import main
from scheduler.config import ConfigError, load_config, settings_table
from scheduler.posts import FIELDS
from tests.conftest import SUMMARY

SLOT_AT = "2024-04-02 09:00"  # a Tuesday slot
NEXT_SLOT_AT = "2024-04-05 09:00"  # the Friday after
NO_SLOT_AT = "2024-04-03 12:00"  # a Wednesday: no slot due
VALID = {"news/valid-1.md": "合法文章一：医保服务热线", "policy/valid-2.md": "合法文章二：参保缴费提醒"}
BAD = "news/bad.md"
BAD_TITLE = "这篇文章有一个坏字段"
CJK = re.compile(r"[\u4e00-\u9fff]")
CASES: Counter = Counter()  # command → generated cases run, printed in the terminal summary

# --- generated bad values, as the YAML an editor might write ----------------------------------

_IMPOSSIBLE = ["2026-02-30", "2024-13-01", "2024-04-01 24:00", "2024-04-01 08:60", "0000-01-01", "9999-12-31",
               "2024-02-30 08:00", "!!timestamp 2026-02-30", "2024-04-01T25:00:00", "next tuesday", "30/04/2024",
               "1", "-1", "20240401", "2024-04-01 08:00 +99:00"]
_TYPES = ["[a, b]", "{a: 1}", "true", "false", ".nan", ".inf", "-.inf", "1e400", "99999999999999999999999",
          "-99999999999999999999999", '""', "''", "~", "[]", "{}", "[[[[[[]]]]]]", "0x1F", "0o17", "3.5"]
_TAGS = ["!!python/object:os.system x", "!!python/object/apply:os.system ['echo hi']", "!!binary aGVsbG8=",
         "!!set {a}", '!!int "x"', '!!float "x"', "!!omap [1]", "!!str", "!<tag:x> y", "!!null x", "!!bool maybe",
         "&a x", "*undefined"]
_CHARACTERS = ['"a\\0b"', '"\\u202e右到左覆盖"', '"零宽\\u200b空格"', '"\\u2066隔离\\u2069"', '"\\x07响铃"',
               '"换行\\n标题"', '"\\ufeff开头"', '"@at"', "`反引号", "'未结束", '"未结束', "a: b", "- 列表",
               '"' + "医" * 300 + '"', "# 注释", "|\n  多行\n  文字", ">-\n  折叠"]
_BOMB = ("a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
         "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
         "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n{field}: *e\n")

_VALUES = st.one_of(
    st.sampled_from(_IMPOSSIBLE + _TYPES + _TAGS + _CHARACTERS),
    st.text(max_size=30).map(lambda t: json.dumps(t, ensure_ascii=False)),  # any text, quoted
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda f: repr(f).replace("nan", ".nan").replace("inf", ".inf")),
)
_BODIES = st.one_of(
    st.sampled_from([
        "", "   \n\n", "\n".join("  " * i + "- 项" for i in range(300)), "[" * 3000, "![" * 2000, "[a](" * 3000,
        ">" * 5000 + " 引用", "```\n未结束的代码块", "<script>alert(1)</script>", "\x00", "<!--" * 1000,
        "身份证号：430621199001011235", "\u202e反转的正文", "|a|\n|-|\n" + "|x|\n" * 3000, "*" * 10000,
    ]),
    st.text(max_size=200),
)


@st.composite
def bad_posts(draw) -> tuple[str, str]:
    """(what was broken, the post file's text): one field, the whole header, or the body."""
    kind = draw(st.sampled_from(["field", "field", "field", "header", "body"]))
    front = {"title": BAD_TITLE, "status": "ready"}
    body = "正文第一段。\n"
    extra = ""
    if kind == "field":
        key = draw(st.sampled_from(sorted(FIELDS)))
        front[key] = draw(_VALUES)
        what = key
    elif kind == "header":
        key = draw(st.sampled_from(sorted(FIELDS)))
        what, extra = draw(st.sampled_from([
            ("bomb", _BOMB.format(field=key)),
            ("full-width colon", "status：ready\n"),
            ("tab", f"\t{key}: x\n"),
            ("duplicate key", "title: 第二个标题\n"),
            ("indent", f"  {key}: x\n"),
            ("list header", "- a\n"),
            ("non-string key", "? [1, 2]\n: x\n"),
            ("number key", "1: x\n"),
            ("anchor", "x: &a 1\ny: &a 2\n"),
        ]))
        if what in ("full-width colon",):
            front.pop("status")
    else:
        what = "body"
        body = draw(_BODIES)
    lines = "".join(f"{k}: {v}\n" for k, v in front.items())
    return what, f"---\n{lines}{extra}---\n{body}"


# --- a site per example ---------------------------------------------------------------------

def make_site(root: Path, bad_text: str, api_base_url: str = "https://api.weixin.qq.com/") -> Path:
    (root / "content").mkdir(parents=True)
    config = root / "config.toml"
    config.write_text(f'[account]\nname = "测试医保"\nauthor = "测试区医保局"\napi_base_url = "{api_base_url}"\n'
                      f'[content]\ngit = false\n', encoding="utf-8")
    for rel, title in VALID.items():
        path = root / "content" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"---\ntitle: {title}\nstatus: ready\n---\n请按时缴费。\n", encoding="utf-8")
    (root / "content" / BAD).write_bytes(bad_text.encode("utf-8", "surrogatepass"))
    return config


def run(config: Path, *args: str):
    result = CliRunner().invoke(main, ["--config", str(config), *args])
    assert "Traceback" not in result.output, result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a crash: let pytest show where
    return result


def bad_post_problems(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(f"{BAD}:")]


@pytest.fixture
def quiet(monkeypatch):
    monkeypatch.setenv("TUIWEN_CACHE", "off")  # every example is a new site: nothing to reuse


def _post(front: str, body: str = "正文第一段。\n") -> str:
    return f"---\ntitle: {BAD_TITLE}\nstatus: ready\n{front}---\n{body}"


# The cases that broke before this test existed, always run besides the generated ones.
REPORTED = [("publish_after", _post("publish_after: 2026-02-30\n")), ("expires", _post("expires: 0000-01-01\n")),
            ("title", _post("", "\n".join("  " * i + "- 项" for i in range(400)) * 3)),
            ("title", "---\ntitle: \"\\u202e反转标题\"\nstatus: ready\n---\n正文\n"),
            ("bomb", _post(_BOMB.format(field="digest")))]


def with_reported(test):
    for case in REPORTED:
        test = example(case=case)(test)
    return test


@settings(max_examples=90, deadline=None, suppress_health_check=list(HealthCheck))
@with_reported
@given(case=bad_posts())
def test_check_dry_run_and_plan_name_the_bad_post_and_keep_the_others(case, quiet):
    what, text = case
    with tempfile.TemporaryDirectory() as tmp:
        config = make_site(Path(tmp), text)
        check = run(config, "check", "--at", SLOT_AT)
        problems = bad_post_problems(check.output)
        errors = [p for p in problems if ": 错误: " in p]
        assert check.exit_code == (1 if errors else 0), check.output
        for problem in problems:  # path:line: 错误|警告: a Chinese sentence
            assert re.match(rf"^{re.escape(BAD)}:\d+: (错误|警告): .*\S", problem), problem
            assert CJK.search(problem.split(": ", 2)[2]), problem
            assert "。。" not in problem
        assert not [line for line in check.output.splitlines() if line.startswith(tuple(VALID))], check.output
        dry = run(config, "--dry-run", "--at", SLOT_AT, "--out", str(Path(tmp) / "preview"))
        assert dry.exit_code == 0, dry.output
        for title in VALID.values():
            assert title in dry.output
        payload = json.loads((Path(tmp) / "preview" / "payload.json").read_text(encoding="utf-8"))
        titles = [a["title"] for a in payload["articles"]]
        assert set(VALID.values()) <= set(titles) and len(titles) == len(set(titles))
        if errors:
            assert BAD_TITLE not in titles
        # The dry run leaves the bad post out "with errors" exactly when check named an error in it.
        left_out_invalid = re.search(rf"{re.escape(BAD)}\s*│\s*有错误", dry.output) is not None
        assert left_out_invalid == bool(errors), dry.output
        plan = run(config, "plan", "--at", SLOT_AT)
        assert plan.exit_code == 0 and all(title in plan.output for title in VALID.values()), plan.output
    CASES.update({"check": 1, "--dry-run": 1, "plan": 1, f"bad {what}": 1})


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@example(case=REPORTED[0], daemon_first=True)
@example(case=REPORTED[0], daemon_first=False)
@given(case=bad_posts(), daemon_first=st.booleans())
def test_publish_and_the_daemon_send_the_valid_posts_exactly_once(case, daemon_first, quiet, monkeypatch):
    from tests.fake_wechat import FakeWeChat

    _, text = case
    with tempfile.TemporaryDirectory() as tmp, FakeWeChat(send_polls=0, publish_polls=0, timeout_hold=1.0) as fake:
        monkeypatch.setenv("WECHAT_APP_ID", fake.appid)
        monkeypatch.setenv("WECHAT_APP_SECRET", fake.secret)
        config = make_site(Path(tmp), text, fake.url)
        check = run(config, "check", "--at", SLOT_AT)
        bad_ok = not any(": 错误: " in p for p in bad_post_problems(check.output))
        # Either the daemon serves the first slot and `publish` the next, or the other way round.
        if daemon_first:
            reconcile(config, SLOT_AT)
        published = run(config, "--at", NEXT_SLOT_AT if daemon_first else SLOT_AT)
        assert published.exit_code == 0, published.output
        if not daemon_first:
            reconcile(config, NEXT_SLOT_AT)
        assert fake.errors == []
        sent = Counter(a["title"] for send in fake.mass_sends for a in send["articles"])
        for title in VALID.values():
            assert sent[title] == 1, (sent, published.output)
        if not bad_ok:
            assert sent[BAD_TITLE] == 0, sent
        assert all(n == 1 for n in sent.values()), sent
        # A published post broken afterwards the same way: the report re-checks it, and must say so, not crash.
        (Path(tmp) / "content" / next(iter(VALID))).write_bytes(text.encode("utf-8", "surrogatepass"))
        for args in (["status", "--at", NEXT_SLOT_AT], ["log"], ["report", "--from", "2024-04-01", "--to", "2024-04-30"]):
            result = run(config, *args)
            assert result.exit_code == 0, result.output
    CASES.update({"publish": 1, "daemon reconcile": 1, "status": 1, "log": 1, "report": 1})


def reconcile(config_path: Path, at_text: str) -> None:
    """One reconcile of the daemon at ``at_text``, as its scheduled job runs it."""
    from scheduler.config import load_config
    from scheduler.daemon import Daemon
    from scheduler.posts import parse_when
    from scheduler.runtime import make_releaser, open_ledger

    config = load_config(config_path)
    at = parse_when(at_text, config.account.tz)
    ledger = open_ledger(config)
    try:
        releaser = make_releaser(config, ledger, now=lambda: at)
        report = Daemon(config, ledger, releaser, now=lambda: at).reconcile()
        assert report.errors == [], report.errors
    finally:
        ledger.close()


# --- config.toml: every key, wrong type or value → exit 2 naming the key -------------------------

def _keys() -> list[tuple[str, str, object]]:
    return [(section, key, default) for section, key, default, _ in settings_table()]


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return {float("inf"): "inf", float("-inf"): "-inf"}.get(value, "nan" if value != value else repr(value))
    if isinstance(value, str):  # TOML takes no raw control characters: escape every one
        return '"' + "".join(f"\\u{ord(c):04x}" if ord(c) < 32 or 0x7f <= ord(c) <= 0x9f or c in '"\\' else c
                             for c in value) + '"'
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


_WRONG_OF_TYPE = {  # a value of another TOML type than the default's: always refused
    str: [1, 1.5, True, [1], {"a": 1}, float("nan")],
    bool: ["yes", 1, [], {"a": 1}],
    int: ["8", 1.5, [1], {"a": 1}, float("inf"), float("nan")],
    list: ["a", 1, True, {"a": 1}],
    dict: ["a", 1, [1]],
}
_ODD = ["", " ", "\u0000", "\u202e", "../../etc/passwd", "/dev/null", -1, 0, 2**63, -2**63, 10**30, float("nan"),
        float("inf"), -0.0, [], [""], ["\u0000"], [0], [-1], [2**62], {}, {"": ""}, "env:", "env:1X", "http://",
        "sqlite://", "Asia", "Asia/", "UTC\u0000", "mon 24:00", ["sun 24:00"], ["mon 09:00", "mon 09:00"]]
_LENIENT = {("account", "git"), ("content", "git"), ("schedule", "catch_up_hours"), ("alerts", "empty_hours"),
            ("checks", "local_words"), ("comments", "alert_hours")}  # accept more than the default's type (bool or "auto", int or float, a table)


@pytest.mark.parametrize("section, key, default", _keys(), ids=lambda v: v if isinstance(v, str) else None)
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_every_config_key_with_a_wrong_value_is_exit_2_naming_the_key(section, key, default, data, quiet, monkeypatch):
    monkeypatch.setenv("WECHAT_APP_ID", "wx-test")
    monkeypatch.setenv("WECHAT_APP_SECRET", "secret-test")
    kind = type(default) if type(default) in _WRONG_OF_TYPE else str
    wrong_type = (section.split(".")[-1], key) not in _LENIENT and data.draw(st.booleans())
    odd = st.sampled_from(_ODD) | st.text(max_size=20) | st.integers() | st.lists(st.text(max_size=8), max_size=3)
    value = data.draw(st.sampled_from(_WRONG_OF_TYPE[kind]) if wrong_type else odd)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "content" / "news").mkdir(parents=True)
        (root / "content" / "news" / "a.md").write_text("---\ntitle: 标题\nstatus: ready\n---\n正文\n", encoding="utf-8")
        if section == "[campaigns]":
            table = {"name": "活动", "months": [4], "categories": ["news"], key: value}
            text = "[[campaigns]]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in table.items())
            named = f"[[campaigns]].{key}"
        elif section == "categories.<key>":
            text = f"[categories.news]\n{_toml_key(key)} = {_toml_value(value)}\n"
            named = f"[categories.news].{key}"
        else:
            text = f"[{section}]\n{_toml_key(key)} = {_toml_value(value)}\n"
            named = f"[{section}].{key}"
        config = root / "config.toml"
        config.write_text(text, encoding="utf-8")
        try:
            load_config(config)
            refused = None
        except ConfigError as exc:
            refused = str(exc)
        if wrong_type:
            assert refused is not None, f"{named} = {value!r} was accepted"
        commands = (["check"], ["--dry-run", "--out", str(root / "preview")], ["plan"], ["status"], ["log"],
                    ["report"], ["--at", NO_SLOT_AT])  # the last: `publish` between slots, nothing sent
        for args in commands:
            result = run(config, "--at", SLOT_AT, *args)
            if refused is not None:
                assert result.exit_code == 2, result.output
                [line] = [x for x in result.output.splitlines() if x.strip()]
                assert named in line and CJK.search(line), line
            elif result.exit_code == 2:  # loads, but cannot be used when run (a secret file that is not there)
                assert named in result.output and CJK.search(result.output), result.output
            else:
                assert result.exit_code in (0, 1, 3), result.output
    CASES.update({"config.toml": 1})


@pytest.mark.parametrize("section, line, key", [
    ("schedule", "catch_up_hours = nan", "[schedule].catch_up_hours"),
    ("schedule", "catch_up_hours = inf", "[schedule].catch_up_hours"),
    ("alerts", "empty_hours = -inf", "[alerts].empty_hours"),
    ("content", 'dir = "a\\u0000b"', "[content].dir"),
    ("schedule", 'slots = ["mon 24:00"]', "[schedule].slots"),
    ("account", 'timezone = "Asia"', "[account].timezone"),
    ("schedule", "max_articles = 9223372036854775807", "[schedule].max_articles"),
])
def test_values_that_look_like_numbers_or_paths_are_refused(tmp_path, section, line, key):
    config = tmp_path / "config.toml"
    config.write_text(f"[{section}]\n{line}\n", encoding="utf-8")
    (tmp_path / "content").mkdir()
    result = run(config, "check")
    assert result.exit_code == 2 and key in result.output and CJK.search(result.output), result.output


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


@pytest.fixture(scope="module", autouse=True)
def _report_counts():
    yield
    if CASES:
        SUMMARY.append("generated bad-input cases per command: "
                       + ", ".join(f"{name} {n}" for name, n in sorted(CASES.items()) if not name.startswith("bad "))
                       + "; bad post kinds: " + ", ".join(f"{name[4:]} {n}" for name, n in sorted(CASES.items())
                                                         if name.startswith("bad ")))


# --- what is printed: names as written, one Chinese line, documented exit codes -------------------

def test_square_brackets_in_titles_and_messages_are_printed_as_written(tmp_path, quiet):
    config = make_site(tmp_path, _post("").replace(BAD_TITLE, '"[account]与[review]：医保新规"'))
    dry = run(config, "--dry-run", "--at", SLOT_AT, "--out", str(tmp_path / "preview"))
    plan = run(config, "plan", "--at", SLOT_AT)
    for result in (dry, plan):
        assert result.exit_code == 0 and "[account]与[review]：医保新规" in result.output, result.output


def test_a_title_starting_with_a_bracket_unquoted_is_told_to_quote_it(tmp_path, quiet):
    config = make_site(tmp_path, _post("").replace(BAD_TITLE, "[account]与[review]：医保新规"))
    result = run(config, "check")
    assert f"{BAD}:2: 错误: YAML 头部格式错误：值以“[”或“{{”开头时要给整个值加引号" in result.output, result.output


def test_usage_errors_are_one_chinese_line_and_exit_2(tmp_path, quiet):
    config = make_site(tmp_path, _post(""))
    for args, expected in ((["--no-such-option"], "没有选项 --no-such-option"), (["plan", "--weeks", "0"], "--weeks 的值 0 应在 1 到 52 之间"),
                           (["sned"], "没有子命令“sned”"), (["approve", "x", "--by", "张三"], "缺少选项 --role")):
        result = run(config, *args)
        [line] = result.output.splitlines()
        assert result.exit_code == 2 and line.startswith("用法错误：") and expected in line, result.output


def test_a_missing_content_folder_is_exit_2_and_no_slot_is_spent(tmp_path, quiet, monkeypatch):
    monkeypatch.setenv("WECHAT_APP_ID", "wx-test")
    monkeypatch.setenv("WECHAT_APP_SECRET", "secret-test")
    config = make_site(tmp_path, _post(""))
    shutil.rmtree(tmp_path / "content")
    for args in (["check"], ["--dry-run", "--out", str(tmp_path / "preview")], ["plan"], ["--at", SLOT_AT]):
        result = run(config, *args)
        [line] = result.output.splitlines()
        assert result.exit_code == 2 and "内容目录" in line and "[content].dir" in line, result.output
    assert not (tmp_path / "state").exists()  # `publish` recorded no empty push for the slot


def test_check_counts_only_posts_that_can_still_go_out(tmp_path, quiet):
    config = make_site(tmp_path, _post("expires: 2024-03-31\n"))
    result = run(config, "check", "--at", SLOT_AT)
    assert result.exit_code == 0
    assert result.output.splitlines()[-1].endswith("2 篇可发布（另有 1 篇已过期）。"), result.output


@pytest.mark.parametrize("args, code", [(["check"], 1), (["--dry-run"], 0), (["plan"], 0)])
def test_a_real_process_with_an_impossible_date_reports_it_without_a_traceback(tmp_path, args, code):
    import os
    import subprocess
    import sys

    config = make_site(tmp_path, _post("publish_after: 2026-02-30\n"))
    env = dict(os.environ, TUIWEN_CACHE="off")
    done = subprocess.run([sys.executable, "-m", "scheduler.cli", "--config", str(config), *args, "--at", SLOT_AT],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120, check=False)
    assert done.returncode == code, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and done.stderr == ""
    if args == ["check"]:
        assert f"{BAD}:4: 错误: publish_after: “2026-02-30”不是有效的日期，应写成 2024-04-01 或 2024-04-01 08:00" in done.stdout
    else:
        assert all(title in done.stdout for title in VALID.values())
    CASES.update({"real process": 1})
