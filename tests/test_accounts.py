"""Several accounts on one installation: one config.toml, one ledger, each account its own
content, schedule and WeChat (one fake server per AppID), and none disturbing another."""

from __future__ import annotations

import csv
import textwrap
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from scheduler import ledger as L
from scheduler.cli import main
from scheduler.config import ConfigError, load_accounts, load_config
from tests.fake_wechat import FakeWeChat

TUESDAY = "2024-04-02 09:00"  # quyuan's slot
WEDNESDAY = "2024-04-03 10:00"  # miluo's slot
TUESDAY_UTC = datetime(2024, 4, 2, 1, tzinfo=UTC)

TWO_ACCOUNTS = """\
[database]
url = "{url}"

[schedule]
slots = ["tue 09:00"]

[accounts.quyuan]
name = "屈原医保"
app_id_env = "QUYUAN_APP_ID"
app_secret_env = "QUYUAN_APP_SECRET"
api_base_url = "{quyuan_url}"
[accounts.quyuan.content]
dir = "accounts/quyuan"

[accounts.miluo]
name = "汨罗医保"
type = "service"
app_id_env = "MILUO_APP_ID"
app_secret_env = "MILUO_APP_SECRET"
api_base_url = "{miluo_url}"
[accounts.miluo.content]
dir = "accounts/miluo"
[accounts.miluo.schedule]
slots = ["wed 10:00"]
"""


def post(root, rel: str, title: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"---\ntitle: {title}\nstatus: ready\n---\n{title}的正文。\n", encoding="utf-8")


class City:
    """A city bureau's installation: two county accounts, two fake WeChat servers, one ledger."""

    def __init__(self, root, url: str, quyuan: FakeWeChat, miluo: FakeWeChat, monkeypatch) -> None:
        self.root, self.fakes = root, {"quyuan": quyuan, "miluo": miluo}
        self.config_path = root / "config.toml"
        self.config_path.write_text(TWO_ACCOUNTS.format(url=url, quyuan_url=quyuan.url, miluo_url=miluo.url),
                                    encoding="utf-8")
        post(root / "accounts/quyuan", "news/2024-03-20-quyuan.md", "屈原区医保宣传")
        post(root / "accounts/miluo", "news/2024-03-21-miluo.md", "汨罗市医保宣传")
        for key, fake in self.fakes.items():
            monkeypatch.setenv(f"{key.upper()}_APP_ID", fake.appid)
            monkeypatch.setenv(f"{key.upper()}_APP_SECRET", fake.secret)

    def publish(self, *args: str):
        return CliRunner().invoke(main, ["--config", str(self.config_path), *args], catch_exceptions=False)

    def sent(self, key: str) -> list[str]:
        return [a["title"] for send in self.fakes[key].mass_sends for a in send["articles"]]


@pytest.fixture
def fakes():
    with FakeWeChat("wx_quyuan_appid", send_polls=0, publish_polls=0) as quyuan, \
         FakeWeChat("wx_miluo_appid", send_polls=0, publish_polls=0) as miluo:
        yield quyuan, miluo
        assert quyuan.errors == [] and miluo.errors == []


@pytest.fixture
def city(tmp_path, database_url, fakes, monkeypatch):
    return City(tmp_path, database_url, *fakes, monkeypatch)


# --- the config ----------------------------------------------------------------------

def test_accounts_share_the_top_level_and_override_it(tmp_path):
    (tmp_path / "config.toml").write_text(textwrap.dedent("""\
        [account]
        author = "市医保局"
        [schedule]
        slots = ["tue 09:00", "fri 09:00"]
        [theme]
        hotline = "医保服务热线：12393"

        [accounts.quyuan]
        name = "屈原医保"
        app_id_env = "Q_ID"
        [accounts.quyuan.content]
        dir = "q"
        [accounts.quyuan.theme]
        qr_image = "q/qr.jpg"

        [accounts.miluo]
        name = "汨罗医保"
        mode = "publish"
        app_id_env = "M_ID"
        [accounts.miluo.content]
        dir = "m"
        [accounts.miluo.schedule]
        slots = ["wed 10:00"]
        """), encoding="utf-8")
    quyuan, miluo = load_accounts(tmp_path / "config.toml")
    assert (quyuan.account.key, quyuan.account.name, miluo.account.key, miluo.account.name) == (
        "quyuan", "屈原医保", "miluo", "汨罗医保")
    assert quyuan.account.author == miluo.account.author == "市医保局"  # shared, written once
    assert [str(s) for s in quyuan.schedule.slots] == ["tue 09:00", "fri 09:00"]
    assert [str(s) for s in miluo.schedule.slots] == ["wed 10:00"]
    assert (quyuan.account.mode, miluo.account.mode) == ("mass_send", "publish")
    assert quyuan.theme.hotline == miluo.theme.hotline == "医保服务热线：12393"  # a section's other keys stay
    assert quyuan.theme.qr_image == tmp_path / "q/qr.jpg" and miluo.theme.qr_image is None
    assert (quyuan.content.dir, miluo.content.dir) == (tmp_path / "q", tmp_path / "m")
    assert load_config(tmp_path / "config.toml") == quyuan  # old callers get the first account


def test_a_single_account_config_is_the_account_main(repo):
    assert repo.config.account.key == "main"
    repo.write_config('[account]\nkey = "quyuan"\nname = "屈原医保"\n')
    assert [c.account.key for c in load_accounts(repo.config_path)] == ["quyuan"]


@pytest.mark.parametrize(("toml", "named"), [
    ('[accounts.a]\napp_id_env = "SAME"\n[accounts.a.content]\ndir = "a"\n'
     '[accounts.b]\napp_id_env = "SAME"\n[accounts.b.content]\ndir = "b"\n', "AppID 环境变量 SAME"),
    ('[accounts.a]\napp_id_env = "A_ID"\n[accounts.b]\napp_id_env = "B_ID"\n', "content 目录"),
    ('[accounts.a]\napp_id_env = "A_ID"\napp_secret_file = "s"\n[accounts.a.content]\ndir = "a"\n'
     '[accounts.b]\napp_id_env = "B_ID"\napp_secret_file = "s"\n[accounts.b.content]\ndir = "b"\n', "密钥文件"),
])
def test_two_accounts_on_one_appid_secret_or_folder_are_refused(repo, toml, named):
    repo.write_config(toml)
    result = repo.publish("check")
    assert result.exit_code == 2
    assert "a 和 b" in result.output and named in result.output


@pytest.mark.parametrize("toml", [
    '[accounts.Quyuan]\nname = "屈原医保"\n',
    '[accounts.quyuan]\nkey = "miluo"\n',
    '[account]\nkey = "屈原"\n',
])
def test_a_bad_account_key_is_refused(repo, toml):
    repo.write_config(toml)
    with pytest.raises(ConfigError) as caught:
        load_accounts(repo.config_path)
    assert "key" in str(caught.value) or "键" in str(caught.value)


def test_an_unknown_account_key_names_the_known_ones(city):
    for args in (["--account", "yueyang", "status"], ["status", "--account", "yueyang"],
                 ["--account", "quyuan", "log", "--account", "yueyang"]):
        result = city.publish(*args)
        assert result.exit_code == 2, args
        assert "yueyang" in result.output and "quyuan" in result.output and "miluo" in result.output


# --- publishing ----------------------------------------------------------------------

def test_each_account_publishes_its_own_content_at_its_own_slots(city, counts):
    tuesday = city.publish("--at", TUESDAY)
    assert tuesday.exit_code == 0, tuesday.output
    assert city.sent("quyuan") == ["屈原区医保宣传"] and city.sent("miluo") == []
    assert "quyuan（屈原医保）：正常" in tuesday.output and "miluo（汨罗医保）：正常" in tuesday.output

    wednesday = city.publish("--at", WEDNESDAY)
    assert wednesday.exit_code == 0, wednesday.output
    assert city.sent("quyuan") == ["屈原区医保宣传"] and city.sent("miluo") == ["汨罗市医保宣传"]

    log = city.publish("log")
    assert log.exit_code == 0
    rows = [line for line in log.output.splitlines() if "2024-04-0" in line]
    assert any("quyuan" in r and "2024-04-02 09:00" in r for r in rows)
    assert any("miluo" in r and "2024-04-03 10:00" in r for r in rows)
    only = city.publish("log", "--account", "miluo")
    assert "2024-04-03 10:00" in only.output and "2024-04-02" not in only.output
    counts(f"two accounts on one ledger: quyuan pushes={len(city.fakes['quyuan'].mass_sends)}, "
          f"miluo pushes={len(city.fakes['miluo'].mass_sends)}")


def test_status_without_account_is_one_row_per_account(city):
    assert city.publish("--at", TUESDAY).exit_code == 0
    result = city.publish("status", "--at", "2024-04-12 12:00")
    assert result.exit_code == 0, result.output
    quyuan = next(line for line in result.output.splitlines() if "quyuan" in line)
    miluo = next(line for line in result.output.splitlines() if "miluo" in line)
    assert "2024-04-16 09:00" in quyuan and "2024-04-02 09:00" in quyuan and "10 天" in quyuan
    assert "2024-04-17 10:00" in miluo and "无群发记录" in miluo
    single = city.publish("status", "--account", "quyuan", "--at", "2024-04-12 12:00")
    assert "屈原医保 状态" in single.output and "汨罗" not in single.output


def test_check_plan_and_report_cover_every_account(city, tmp_path):
    post(city.root / "accounts/miluo", "news/2024-03-22-bad.md", "")  # an empty title: miluo's error only
    check = city.publish("check")
    assert check.exit_code == 1
    problems = [line for line in check.output.splitlines() if "bad.md" in line]
    assert problems and all(line.startswith("[miluo] ") for line in problems)
    assert "quyuan（屈原医保）：正常" in check.output and "miluo（汨罗医保）：文章有问题" in check.output

    plan = city.publish("plan", "--at", "2024-04-01 08:00", "--weeks", "1")
    assert plan.exit_code == 0, plan.output
    assert any("quyuan" in line and "2024-04-02 09:00" in line for line in plan.output.splitlines())
    assert any("miluo" in line and "2024-04-03 10:00" in line for line in plan.output.splitlines())

    assert city.publish("--at", TUESDAY).exit_code == 0
    out = tmp_path / "report.csv"
    report = city.publish("report", "--from", "2024-04-01", "--to", "2024-04-30", "--csv", str(out))
    assert report.exit_code == 0, report.output
    assert "quyuan（屈原医保）：2024-04-01 至 2024-04-30：微信公众号群发 1 次" in report.output
    assert "miluo（汨罗医保）：2024-04-01 至 2024-04-30：微信公众号群发 0 次" in report.output
    assert any(line.split("│")[1:2] == [" quyuan "] and "屈原区医保宣传" in line for line in report.output.splitlines())
    rows = list(csv.reader(out.open(encoding="utf-8-sig")))
    assert rows[0][:2] == ["账号", "账号名称"] and [r[:2] for r in rows[1:]] == [["quyuan", "屈原医保"]]


def test_broken_credentials_or_content_of_one_account_never_stop_another(city, monkeypatch):
    monkeypatch.delenv("MILUO_APP_SECRET")
    result = city.publish("--at", TUESDAY, "--force-slot")
    assert result.exit_code == 2  # miluo's missing secret is a configuration error...
    assert city.sent("quyuan") == ["屈原区医保宣传"]  # ...and quyuan went out all the same
    assert "MILUO_APP_SECRET" in result.output and "miluo（汨罗医保）：配置有问题" in result.output

    monkeypatch.setenv("MILUO_APP_SECRET", city.fakes["miluo"].secret)
    post(city.root / "accounts/quyuan", "news/2024-03-25-more.md", "屈原区第二篇")
    quota = {"errcode": 45009, "errmsg": "reach max api daily quota limit"}
    city.fakes["quyuan"].inject("draft/add", quota, times=5)  # quyuan's WeChat refuses this time
    forced = city.publish("--at", WEDNESDAY, "--force-slot")
    assert forced.exit_code == 3
    assert city.sent("miluo") == ["汨罗市医保宣传"], forced.output  # miluo went out all the same
    assert "quyuan（屈原医保）：微信、网络或数据库出错" in forced.output

    import shutil

    shutil.rmtree(city.root / "accounts/quyuan")
    (city.root / "accounts/quyuan").write_text("不是目录", encoding="utf-8")  # quyuan's content is broken
    post(city.root / "accounts/miluo", "news/2024-04-05-next.md", "汨罗市第二篇")
    later = city.publish("--at", "2024-04-10 10:00", "--force-slot")  # both accounts try to push
    assert city.sent("miluo") == ["汨罗市医保宣传", "汨罗市第二篇"], later.output
    assert "miluo（汨罗医保）：正常" in later.output
    assert city.sent("quyuan") == ["屈原区医保宣传"]  # nothing of quyuan's went out meanwhile


# --- the ledger: keyed by the stable key ---------------------------------------------------

def test_renaming_an_account_keeps_its_history(city):
    assert city.publish("--at", TUESDAY).exit_code == 0
    text = city.config_path.read_text(encoding="utf-8").replace('name = "屈原医保"', 'name = "屈原区医保"')
    city.config_path.write_text(text, encoding="utf-8")
    log = city.publish("log", "--account", "quyuan")
    assert "2024-04-02 09:00" in log.output and "成功" in log.output
    again = city.publish("--at", "2024-04-09 09:00", "--account", "quyuan")
    assert again.exit_code == 0
    assert city.sent("quyuan") == ["屈原区医保宣传"]  # published once: the renamed account remembers it


def test_an_old_ledger_keyed_by_display_name_is_upgraded_in_place(database_url, tmp_path, fakes, monkeypatch):
    """A ledger written before account keys (schema 0002, rows under the display name) opened by
    the new code: its rows are found under the key, and nothing is sent twice."""
    from alembic import command
    from sqlalchemy import column, func, insert, select, table

    from scheduler.ledger import Ledger, make_engine
    from scheduler.migrations import alembic_config

    engine = make_engine(database_url)
    command.upgrade(alembic_config(engine), "0002")
    # The rows as that version wrote them: only the columns schema 0002 has (today's models have more).
    naive = TUESDAY_UTC.replace(tzinfo=None)
    with engine.begin() as connection:
        connection.execute(insert(table(
            "release", column("account"), column("slot"), column("status"), column("attempt"), column("mode"),
            column("late"), column("forced"), column("created_at"), column("updated_at"), column("sent_at"),
        )).values(account="屈原医保", slot=naive, status=L.CONFIRMED, attempt=1, mode="mass_send", late=False,
                  forced=False, created_at=naive, updated_at=naive, sent_at=naive))
        release_id = connection.scalar(select(func.max(table("release", column("id")).c.id)))
        connection.execute(insert(table(
            "release_item", column("release_id"), column("account"), column("position"), column("post_path"),
            column("sha256"), column("title"), column("category"), column("live"),
        )).values(release_id=release_id, account="屈原医保", position=1, post_path="news/2024-03-20-quyuan.md",
                  sha256="0" * 64, title="屈原区医保宣传", category="news", live=1))
        connection.execute(insert(table("event", column("at"), column("account"), column("kind"), column("message")))
                           .values(at=naive, account="屈原医保", kind="daemon", message="守护进程启动"))
    engine.dispose()

    city = City(tmp_path, database_url, *fakes, monkeypatch)
    log = city.publish("log", "--account", "quyuan")
    assert "2024-04-02 09:00" in log.output and "屈原区医保宣传" in log.output
    ledger = Ledger(database_url)
    assert [r.slot for r in ledger.releases("quyuan")] == [TUESDAY_UTC]
    assert ledger.releases("屈原医保") == [] and ledger.events("屈原医保") == []
    assert ledger.accounts()["quyuan"] == "屈原医保"
    ledger.close()
    city.publish("--at", "2024-04-09 09:00", "--account", "quyuan")
    assert city.sent("quyuan") == []  # the post went out under the old name: not again


def test_one_daemon_process_serves_every_account(tmp_path, fakes, monkeypatch):
    import os
    import signal
    import subprocess
    import sys
    from zoneinfo import ZoneInfo

    from scheduler.config import WEEKDAY_NAMES
    from tests.conftest import wait_until

    city = City(tmp_path, f"sqlite:///{tmp_path / 'ledger.db'}", *fakes, monkeypatch)
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    slot = f"{WEEKDAY_NAMES[now.weekday()]} {now:%H:%M}"  # a real daemon takes the real clock
    text = city.config_path.read_text(encoding="utf-8")
    text = text.replace('"tue 09:00"', f'"{slot}"').replace('"wed 10:00"', f'"{slot}"')
    city.config_path.write_text(text + "\n[daemon]\nworkers = 2\n", encoding="utf-8")
    daemon = subprocess.Popen([sys.executable, "-m", "scheduler.cli", "daemon", "--config", str(city.config_path)],
                              env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until(lambda: city.sent("quyuan") and city.sent("miluo"), daemon, "both accounts' pushes")
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=30) == 0
    finally:
        daemon.kill()
    output = daemon.stdout.read()
    daemon.stdout.close()
    assert city.sent("quyuan") == ["屈原区医保宣传"] and city.sent("miluo") == ["汨罗市医保宣传"]
    assert "[quyuan]" in output and "[miluo]" in output  # each log line of a push names its account


def test_the_same_picture_is_uploaded_to_each_account_s_own_wechat(city):
    from tests.conftest import image_bytes

    picture = image_bytes(size=(80, 60))
    for key, day in (("quyuan", "2024-03-26"), ("miluo", "2024-03-27")):
        folder = city.root / "accounts" / key / "news"
        (folder / "images").mkdir(parents=True, exist_ok=True)
        (folder / "images/same.jpg").write_bytes(picture)
        (folder / f"{day}-picture.md").write_text(
            "---\ntitle: 同一张图\nstatus: ready\npriority: 9\n---\n正文。\n\n![图](images/same.jpg)\n", encoding="utf-8")
    assert city.publish("--at", TUESDAY).exit_code == 0
    assert city.publish("--at", WEDNESDAY).exit_code == 0
    for fake in city.fakes.values():  # a media_id or URL of one AppID means nothing to another
        assert fake.count("media/uploadimg") == 1
        assert "同一张图" in [a["title"] for send in fake.mass_sends for a in send["articles"]]
