"""config.toml → settings: defaults, path resolution, and one clear error per mistake."""

from __future__ import annotations

import pytest

from scheduler.config import ConfigError, Slot, load_config, parse_slot, settings_table
from tests.conftest import REPO_ROOT


def test_defaults_fill_a_minimal_config(repo):
    config = repo.config
    assert config.account.name == "测试医保"
    assert config.account.timezone == "Asia/Shanghai"
    assert config.account.mode == "mass_send"
    assert config.account.api_base_url == "https://api.weixin.qq.com/"
    assert config.schedule.slots == (Slot(1, 9, 0), Slot(4, 9, 0))
    assert config.schedule.catch_up_hours == 6
    assert config.schedule.max_articles == 8
    assert config.review.required is False
    assert list(config.categories) == [
        "weekly-study", "fund-supervision", "typical-cases", "policy",
        "services", "news", "province-city", "other",
    ]
    assert config.categories["weekly-study"].max_per_bundle == 1
    assert config.categories["policy"].max_per_bundle is None
    assert config.category("基金监管").key == "fund-supervision"


def test_relative_paths_start_at_the_config_folder(repo, tmp_path, monkeypatch):
    repo.write_config("""
        [account]
        cover = "content/_covers/default.jpg"
        [content]
        dir = "posts"
        [database]
        url = "sqlite:///state/tuiwen.db"
        [categories.policy]
        cover = "../shared/policy.jpg"
    """)
    monkeypatch.chdir(tmp_path)  # somewhere else entirely
    config = repo.config
    assert config.content.dir == repo.root / "posts"
    assert config.account.cover == repo.root / "content/_covers/default.jpg"
    assert config.categories["policy"].cover == repo.root.parent / "shared/policy.jpg"
    assert config.database.url == f"sqlite:///{repo.root / 'state/tuiwen.db'}"


def test_absolute_and_server_database_urls_are_kept(repo):
    repo.write_config('[database]\nurl = "postgresql+psycopg://u@db/tuiwen"\n')
    assert repo.config.database.url == "postgresql+psycopg://u@db/tuiwen"
    repo.write_config('[database]\nurl = "sqlite:////var/lib/tuiwen/tuiwen.db"\n')
    assert repo.config.database.url == "sqlite:////var/lib/tuiwen/tuiwen.db"


def test_categories_can_be_renamed_capped_and_added(repo):
    repo.write_config("""
        [categories.news]
        name = "局内动态"
        max_per_bundle = 2
        color = "#112233"
        [categories.health-tips]
        name = "健康小贴士"
    """)
    config = repo.config
    assert config.categories["news"].name == "局内动态"
    assert config.categories["news"].max_per_bundle == 2
    assert config.categories["news"].color == "#112233"
    assert config.category("健康小贴士").key == "health-tips"
    assert len(config.categories) == 9


@pytest.mark.parametrize("toml, names", [
    ('[account]\nnmae = "x"\n', "[account].nmae"),
    ('[acount]\nname = "x"\n', "[acount]"),
    ('[account]\ntimezone = "Asia/Beijing"\n', "[account].timezone"),
    ('[account]\nmode = "send"\n', "[account].mode"),
    ('[account]\napp_secret_env = "abc def"\n', "[account].app_secret_env"),
    ('[account]\napi_base_url = "api.weixin.qq.com"\n', "[account].api_base_url"),
    ('[account]\nauthor = "一二三四五六七八九十一二三四五六七"\n', "[account].author"),
    ('[schedule]\nslots = ["tue 9"]\n', "[schedule].slots"),
    ('[schedule]\nslots = ["tues 09:00"]\n', "[schedule].slots"),
    ('[schedule]\nslots = ["tue 24:00"]\n', "[schedule].slots"),
    ('[schedule]\nslots = []\n', "[schedule].slots"),
    ('[schedule]\nmax_articles = 9\n', "[schedule].max_articles"),
    ('[schedule]\nmax_articles = "8"\n', "[schedule].max_articles"),
    ('[schedule]\ncatch_up_hours = -1\n', "[schedule].catch_up_hours"),
    ('[review]\nrequired = "yes"\n', "[review].required"),
    ('[categories.policy]\nmax_per_bundle = 10\n', "[categories.policy].max_per_bundle"),
    ('[categories.policy]\ncolour = "#ffffff"\n', "[categories.policy].colour"),
    ('[categories.policy]\ncolor = "red"\n', "[categories.policy].color"),
    ('[categories.Policy]\nname = "x"\n', "[categories.Policy]"),
    ('[categories.policy]\nname = "基金监管"\n', "基金监管"),
])
def test_a_wrong_value_is_one_error_naming_the_key(repo, toml, names):
    repo.write_config(toml)
    with pytest.raises(ConfigError) as caught:
        load_config(repo.config_path)
    assert names in str(caught.value)


def test_bad_config_exits_2_with_the_key_on_stderr(repo):
    repo.write_config('[schedule]\nslots = ["tue 9"]\n')
    result = repo.publish("check")
    assert result.exit_code == 2
    assert "[schedule].slots" in result.output
    assert '"tue 09:00"' in result.output


def test_toml_syntax_error_gives_the_line(repo):
    repo.write_config('[account]\nname = "屈原医保\n')
    with pytest.raises(ConfigError, match=r"TOML 语法错误（第 2 行第 13 列）：引号没有配对"):
        load_config(repo.config_path)


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(ConfigError, match="找不到配置文件"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="是一个目录"):
        load_config(tmp_path)
    bad = tmp_path / "latin1.toml"
    bad.write_bytes('[account]\nname = "caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match="UTF-8"):
        load_config(bad)


def test_slots_accept_english_and_chinese_weekdays():
    assert parse_slot("tue 09:00") == Slot(1, 9, 0)
    assert parse_slot("Friday 18:30") == Slot(4, 18, 30)
    assert parse_slot("周五 09:00") == Slot(4, 9, 0)
    assert str(Slot(6, 7, 5)) == "sun 07:05"


def test_secrets_come_only_from_the_environment(repo, monkeypatch):
    repo.write_config('[account]\napp_id_env = "MY_APPID"\napp_secret_env = "MY_SECRET"\n')
    monkeypatch.delenv("MY_APPID", raising=False)
    monkeypatch.delenv("MY_SECRET", raising=False)
    with pytest.raises(ConfigError, match="MY_APPID"):
        repo.config.credentials()
    monkeypatch.setenv("MY_APPID", "wx123")
    monkeypatch.setenv("MY_SECRET", "s3cr3t")
    assert repo.config.credentials() == ("wx123", "s3cr3t")


def test_a_secret_written_into_the_file_is_refused(repo):
    repo.write_config('[account]\napp_secret = "0123456789abcdef"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(repo.config_path)
    assert "[account].app_secret" in str(caught.value)
    assert "0123456789abcdef" not in str(caught.value)


def test_shipped_config_loads():
    config = load_config(REPO_ROOT / "config.toml")
    assert config.account.name == "屈原医保"
    assert config.content.dir == REPO_ROOT / "content"


def test_every_setting_is_documented_in_the_readme():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for section, key, _, _ in settings_table()
               if (name := f"`[{section}].{key}`") not in readme]
    assert not missing, f"README.md does not document: {missing}"


def test_default_campaigns_follow_the_seed_calendar(repo):
    names = {c.name: (c.months, c.categories) for c in repo.config.campaigns}
    assert names["基金监管集中宣传月"] == ((4,), ("fund-supervision", "typical-cases"))
    assert names["城乡居民医保参保缴费"][0] == (9, 10, 11, 12)


def test_campaigns_can_be_replaced_or_switched_off(repo):
    repo.write_config("""
        [[campaigns]]
        name = "医保政策宣传月"
        months = [6]
        categories = ["policy"]
        weight = 3
    """)
    [campaign] = repo.config.campaigns
    assert (campaign.months, campaign.categories, campaign.weight) == ((6,), ("policy",), 3)
    repo.write_config("campaigns = []\n")
    assert repo.config.campaigns == ()


@pytest.mark.parametrize("toml, names", [
    ('[[campaigns]]\nname = "x"\nmonths = [13]\ncategories = ["policy"]\n', "[[campaigns]].months"),
    ('[[campaigns]]\nname = "x"\nmonths = [4]\ncategories = ["fraud"]\n', "fraud"),
    ('[[campaigns]]\nname = "x"\nmonth = [4]\ncategories = ["policy"]\n', "[[campaigns]].month"),
])
def test_bad_campaigns_name_the_key(repo, toml, names):
    repo.write_config(toml)
    with pytest.raises(ConfigError) as caught:
        load_config(repo.config_path)
    assert names in str(caught.value)
