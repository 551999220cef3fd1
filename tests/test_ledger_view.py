"""The plain SQLite view answers exactly as the Ledger does, and gives way when it cannot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scheduler import ledger as L
from scheduler.dryrun import _published_sqlite
from scheduler.ledger import ItemPlan, Ledger
from scheduler.ledger_view import SQLiteView

SLOT = datetime(2024, 4, 2, 1, tzinfo=UTC)


def filled_ledger(path, account="屈原医保"):
    ledger = Ledger(f"sqlite:///{path}")
    ledger.adopt(account, "屈原医保")
    ledger.claim(account, SLOT, "mass_send", [ItemPlan(1, "news/a.md", "a" * 64, "甲", "news"),
                                                   ItemPlan(2, "policy/b.md", "b" * 64, "乙", "policy")])
    failed = ledger.claim(account, SLOT + timedelta(days=3), "mass_send", [ItemPlan(1, "news/c.md", "c" * 64, "丙")])
    ledger.advance(failed.id, L.FAILED, "测试")  # a failed release frees its posts
    late = ledger.claim(account, SLOT + timedelta(days=7), "publish", [ItemPlan(1, "news/e.md", "e" * 64, "戊")],
                        late=True, forced=True)
    ledger.advance(late.id, L.SENT, "已发送", sent_at=SLOT + timedelta(days=7, minutes=3))
    ledger.claim("别的号", SLOT, "mass_send", [ItemPlan(1, "news/d.md", "d" * 64, "丁", "news")])
    ledger.beat(f"{account}@host:1", account, SLOT, SLOT + timedelta(minutes=9, microseconds=250))
    return ledger


def test_the_view_answers_as_the_ledger(tmp_path):
    path = tmp_path / "ledger.db"
    ledger = filled_ledger(path)
    view = SQLiteView.open(f"sqlite:///{path}")
    assert view.published("屈原医保") == ledger.published("屈原医保")
    for kwargs in ({}, {"statuses": [L.SENT, L.CONFIRMED]}, {"statuses": [L.CLAIMED]}):
        for limit in (None, 1, 2):
            rows = view.releases("屈原医保", limit, **kwargs)
            real = ledger.releases("屈原医保", limit, **kwargs)
            assert [(r.slot, r.status, r.mode, r.late, r.forced, r.sent_at) for r in rows] == \
                   [(r.slot, r.status, r.mode, r.late, r.forced, r.sent_at) for r in real]
    assert view.last_beat("屈原医保") == ledger.last_beat("屈原医保") == SLOT + timedelta(minutes=9, microseconds=250)
    assert view.last_beat("nobody") is None
    assert view.knows("屈原医保") and not view.knows("别的号")  # only an adopted key is read without the Ledger
    published = _published_sqlite(f"sqlite:///{path}", "屈原医保")
    assert (published.rels, published.sha256s) == (frozenset({"news/a.md", "policy/b.md", "news/e.md"}),
                                                   frozenset({"a" * 64, "b" * 64, "e" * 64}))


def test_the_view_gives_way_when_it_cannot_answer(tmp_path):
    (tmp_path / "other.db").write_bytes(b"")  # an empty file: no such table
    view = SQLiteView.open(f"sqlite:///{tmp_path / 'other.db'}")
    assert view.releases("屈原医保") is None and view.published("屈原医保") is None
    assert SQLiteView.open(f"sqlite:///{tmp_path / 'missing.db'}") is None
    assert SQLiteView.open("postgresql+psycopg://u@db/tuiwen") is None
    assert _published_sqlite(f"sqlite:///{tmp_path / 'other.db'}", "屈原医保") is None


def test_status_reads_without_sqlalchemy(site, fake):
    import subprocess
    import sys

    filled_ledger(site.root / "state" / "tuiwen.db", "main").close()
    code = ("import sys\nfrom click.testing import CliRunner\nfrom scheduler.cli import main\n"
            f"r = CliRunner().invoke(main, ['--config', {str(site.config_path)!r}, 'status', '--at', '2024-04-10 12:00'])\n"
            "print(r.output)\nprint('SQLALCHEMY' if 'sqlalchemy' in sys.modules else 'PLAIN')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("PLAIN")
    assert "2024-04-09 09:00（周二）" in out  # the last release, read through the view
