"""Taking pushed articles down: ``publish withdraw``, through real HTTP against the fake WeChat."""

from __future__ import annotations

import json

from click.testing import CliRunner

from scheduler.cli import main
from scheduler.runtime import open_ledger

SLOT_AT = "2024-04-02 09:00"  # a Tuesday slot of the sample content
NEXT_AT = "2024-04-05 09:00"  # the Friday slot after it


def log_json(site) -> list[dict]:
    result = site.publish("log", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def withdraw(site, *args: str, input: str | None = None):
    return CliRunner().invoke(main, ["--config", str(site.config_path), "withdraw", *args], input=input,
                              catch_exceptions=False)


def pushed(site, fake) -> dict:
    result = site.publish("--at", SLOT_AT)
    assert result.exit_code == 0, result.output
    [release] = log_json(site)
    return release


def test_one_article_of_a_mass_send_disappears_and_the_rest_stay(site, fake):
    release = pushed(site, fake)
    [send] = fake.mass_sends
    urls = [a["url"] for a in send["articles"]]
    assert all(fake.served(url) for url in urls)

    result = withdraw(site, str(release["id"]), "--article", "2", "--reason", "数据有误", "--by", "张三", "--yes")
    assert result.exit_code == 0, result.output
    assert release["articles"][1]["title"] in result.output  # what disappears was shown
    [call] = [c for c in fake.calls if c.endpoint == "message/mass/delete"]
    assert call.body == {"msg_id": send["msg_id"], "article_idx": 2}
    assert fake.served(urls[1]) is None
    assert fake.served(urls[0]) and fake.served(urls[2])

    [after] = log_json(site)
    assert [a["withdrawn"] for a in after["articles"]] == [False, True, False]
    assert after["articles"][1]["withdrawal"]["by"] == "张三"
    assert after["articles"][1]["withdrawal"]["reason"] == "数据有误"
    assert after["status"] == "confirmed"
    human = site.publish("log").output
    assert "（已撤回）" in human and release["articles"][1]["title"] in human
    status = site.publish("status", "--at", "2024-04-03 10:00").output
    assert "最近撤回" in status and "数据有误" in status


def test_a_withdrawn_post_is_never_chosen_again(site, fake):
    release = pushed(site, fake)
    title = release["articles"][0]["title"]
    assert withdraw(site, str(release["id"]), "--reason", "政策已调整", "--yes").exit_code == 0
    assert all(fake.served(a["url"]) is None for a in fake.mass_sends[0]["articles"])
    dry = site.publish("--dry-run", "--at", NEXT_AT, "--out", str(site.root / "preview"))
    assert dry.exit_code == 0, dry.output
    chosen = dry.output.split("未入选")[0]
    assert title not in chosen
    config = site.config
    ledger = open_ledger(config)
    try:
        paths, _ = ledger.published(config.account.key)
    finally:
        ledger.close()
    assert release["articles"][0]["path"] in paths


def test_withdrawing_again_says_so_and_calls_wechat_no_more(site, fake):
    release = pushed(site, fake)
    assert withdraw(site, str(release["id"]), "--article", "1", "--reason", "错字", "--yes").exit_code == 0
    again = withdraw(site, str(release["id"]), "--article", "1", "--reason", "错字", "--yes")
    assert again.exit_code == 0
    assert "已经撤回过" in again.output
    assert fake.count("message/mass/delete") == 1


def test_without_a_reason_nothing_is_withdrawn(site, fake):
    release = pushed(site, fake)
    result = withdraw(site, str(release["id"]), "--yes")
    assert result.exit_code == 2
    assert "--reason" in result.output
    blank = withdraw(site, str(release["id"]), "--reason", "  ", "--yes")
    assert blank.exit_code == 2
    assert fake.count("message/mass/delete") == 0


def test_the_question_is_asked_and_no_keeps_it(site, fake):
    release = pushed(site, fake)
    result = withdraw(site, str(release["id"]), "--reason", "测试", input="n\n")
    assert result.exit_code == 0
    assert "确定撤回吗" in result.output and "未撤回" in result.output
    assert fake.count("message/mass/delete") == 0
    assert not any(a["withdrawn"] for a in log_json(site)[0]["articles"])


def test_a_whole_publish_is_deleted_with_freepublish_delete(site, fake):
    site.write_config(site.config_path.read_text(encoding="utf-8").replace('mode = "mass_send"', 'mode = "publish"'))
    release = pushed(site, fake)
    assert release["article_id"]
    result = withdraw(site, str(release["id"]), "--reason", "误发", "--yes")
    assert result.exit_code == 0, result.output
    assert "不可恢复" in result.output
    [call] = [c for c in fake.calls if c.endpoint == "freepublish/delete"]
    assert call.body == {"article_id": release["article_id"], "index": 0}
    assert all(fake.served(a["url"]) is None for a in release["articles"])
    assert all(a["withdrawn"] for a in log_json(site)[0]["articles"])


def test_one_article_of_a_publish(site, fake):
    site.write_config(site.config_path.read_text(encoding="utf-8").replace('mode = "mass_send"', 'mode = "publish"'))
    release = pushed(site, fake)
    result = withdraw(site, str(release["id"]), "--article", "3", "--reason", "误发", "--yes")
    assert result.exit_code == 0, result.output
    urls = [a["url"] for a in release["articles"]]
    assert fake.served(urls[2]) is None and fake.served(urls[0]) is not None


def test_a_refusal_from_wechat_is_said_in_chinese_and_nothing_is_recorded(site, fake):
    release = pushed(site, fake)
    fake.inject("message/mass/delete", {"errcode": 48001, "errmsg": "api unauthorized"})
    result = withdraw(site, str(release["id"]), "--article", "1", "--reason", "错字", "--yes")
    assert result.exit_code == 3
    assert "撤回失败" in result.output and "发表记录" in result.output
    assert not any(a["withdrawn"] for a in log_json(site)[0]["articles"])


def test_a_mass_send_deleted_by_hand_is_recorded_when_withdrawn_whole(site, fake):
    release = pushed(site, fake)
    fake.mass_sends[0]["deleted"] = True  # deleted in the web backend meanwhile
    result = withdraw(site, str(release["id"]), "--reason", "已在后台删除", "--yes")
    assert result.exit_code == 0, result.output
    assert all(a["withdrawn"] for a in log_json(site)[0]["articles"])


def test_an_unknown_release_or_article_is_a_usage_error(site, fake):
    release = pushed(site, fake)
    assert withdraw(site, "999", "--reason", "x", "--yes").exit_code == 2
    result = withdraw(site, str(release["id"]), "--article", "9", "--reason", "x", "--yes")
    assert result.exit_code == 2 and "没有第 9 篇" in result.output
