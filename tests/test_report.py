"""`publish report`: the figures to report upward, on screen and as a CSV Excel opens."""

from __future__ import annotations

import csv
import hashlib
import re
from datetime import datetime, timedelta, timezone

from scheduler import ledger as L
from scheduler.ledger import ItemPlan, Ledger
from scheduler.report import COLUMNS
from tests.conftest import MINIMAL_CONFIG

SHANGHAI = timezone(timedelta(hours=8))
TUESDAY = datetime(2024, 4, 2, 9, 0, tzinfo=SHANGHAI)
FUND = "fund-supervision/2024-04-01-qidong.md"
CASE = "typical-cases/2024-04-01-anli.md"
NEWS = "news/2024-04-03-dongtai.md"


def publish_history(repo):
    """Three posts, their sign-offs, two successful pushes, one failed and one missed slot."""
    repo.write_config(MINIMAL_CONFIG + '[review]\nroles = ["初审", "复审", "终审"]\n')
    repo.post(FUND, "title: 打击欺诈骗保 维护基金安全\nauthor: 基金监管股\nstatus: ready\n", "集中宣传月启动。\n")
    repo.post(CASE, "title: 欺诈骗保典型案例通报\nstatus: ready\n", "案例一。\n")
    repo.post(NEWS, "title: “您点单，我来讲”政策宣讲\nstatus: ready\n", "宣讲。\n")
    for rel in (FUND, CASE):
        for hour, (by, role) in enumerate((("张三", "初审"), ("李四", "复审"), ("王五", "终审")), 10):
            result = repo.publish("approve", str(repo.content / rel), "--by", by, "--role", role,
                                  "--at", f"2024-04-01 {hour}:00")
            assert result.exit_code == 0, result.output
    config = repo.config
    ledger = Ledger(config.database.url)
    account = config.account.key

    def sha(rel):
        return hashlib.sha256((repo.content / rel).read_bytes()).hexdigest()

    first = ledger.claim(account, TUESDAY, "mass_send", [
        ItemPlan(1, FUND, sha(FUND), "打击欺诈骗保 维护基金安全", "fund-supervision"),
        ItemPlan(2, CASE, sha(CASE), "欺诈骗保典型案例通报", "typical-cases")])
    ledger.advance(first.id, L.CONFIRMED, "ok", sent_at=TUESDAY)
    ledger.set_urls(first.id, {1: "https://mp.weixin.qq.com/s/abc", 2: "https://mp.weixin.qq.com/s/def"})
    friday = TUESDAY + timedelta(days=3)
    second = ledger.claim(account, friday, "mass_send", [ItemPlan(1, NEWS, sha(NEWS), "“您点单，我来讲”政策宣讲", "news")])
    ledger.advance(second.id, L.CONFIRMED, "ok", sent_at=friday)
    failed = ledger.claim(account, TUESDAY + timedelta(days=7), "mass_send", [])
    ledger.advance(failed.id, L.FAILED, "群发次数已用完", error="群发次数已用完")
    ledger.claim(account, TUESDAY + timedelta(days=10), "mass_send", [], status=L.MISSED, error="错过")
    outside = ledger.claim(account, TUESDAY + timedelta(days=40), "mass_send", [ItemPlan(1, "news/x.md", "1" * 64, "五月")])
    ledger.advance(outside.id, L.CONFIRMED, "ok")
    ledger.close()
    # Edited after it went out: the report says so.
    (repo.content / NEWS).write_text((repo.content / NEWS).read_text(encoding="utf-8") + "补充。\n", encoding="utf-8")


def test_csv_has_fixed_columns_and_opens_in_excel(repo, tmp_path):
    publish_history(repo)
    out = tmp_path / "reports" / "2024-04.csv"
    result = repo.publish("report", "--from", "2024-04-01", "--to", "2024-04-30", "--csv", str(out))
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads UTF-8
    with out.open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.DictReader(file))
    with out.open(encoding="utf-8-sig", newline="") as file:
        assert tuple(next(csv.reader(file))) == COLUMNS
    assert [(r["推送时间"], r["位置"], r["分类"], r["标题"]) for r in rows] == [
        ("2024-04-02 09:00", "1", "基金监管", "打击欺诈骗保 维护基金安全"),
        ("2024-04-02 09:00", "2", "典型案例", "欺诈骗保典型案例通报"),
        ("2024-04-05 09:00", "1", "工作动态", "“您点单，我来讲”政策宣讲"),
    ]
    first = rows[0]
    assert (first["方式"], first["状态"], first["作者"]) == ("群发", "成功", "基金监管股")
    assert (first["审核"], first["签发"]) == ("张三、李四", "王五")
    assert first["审核记录"] == "初审 张三 2024-04-01 10:00；复审 李四 2024-04-01 11:00；终审 王五 2024-04-01 12:00"
    assert first["检查结果"] == "通过" and first["链接"] == "https://mp.weixin.qq.com/s/abc"
    assert rows[1]["作者"] == "测试区医保局"  # the account's default author
    assert rows[2]["检查结果"] == "发布后文件已修改" and rows[2]["审核"] == ""
    assert f"{out}" in result.output.replace("\n", "")


def test_screen_summary_counts_pushes_and_categories(repo):
    publish_history(repo)
    result = repo.publish("report", "--from", "2024-04-01", "--to", "2024-04-30")
    assert result.exit_code == 0, result.output
    assert ("2024-04-01至2024-04-30：微信公众号群发2次，共3篇文章（基金监管1篇、典型案例1篇、工作动态1篇）；"
            "收到留言0条，已回复0条，其中按时回复0条；未成功的推送2次。") in re.sub(r"\s+", "", result.output)
    assert "各栏目文章数" in result.output and "未成功的推送" in result.output
    assert "群发次数已用完" in result.output


def test_the_period_is_inclusive_in_the_account_timezone(repo):
    publish_history(repo)
    result = repo.publish("report", "--from", "2024-04-02", "--to", "2024-04-02")
    assert "群发 1 次，共 2 篇文章" in result.output
    result = repo.publish("report", "--from", "2024-04-03", "--to", "2024-04-04")
    assert "群发 0 次，共 0 篇文章" in result.output


def test_report_defaults_and_bad_dates(repo):
    publish_history(repo)
    result = repo.publish("report", "--at", "2024-04-20 12:00")
    assert "2024-04-01 至 2024-04-20" in result.output
    assert repo.publish("report", "--from", "2024-04-30", "--to", "2024-04-01").exit_code == 2
    assert repo.publish("report", "--from", "四月").exit_code == 2


def test_report_without_a_ledger(repo, tmp_path):
    result = repo.publish("report", "--from", "2024-04-01", "--to", "2024-04-30", "--csv", str(tmp_path / "r.csv"))
    assert result.exit_code == 0 and "共 0 篇文章" in result.output
    with (tmp_path / "r.csv").open(encoding="utf-8-sig", newline="") as file:
        assert list(csv.reader(file)) == [list(COLUMNS)]
    assert not (repo.root / "state").exists()
