"""What commands load at start, and the shortcuts that keep start-up fast give the same answers."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from scheduler.cache import RACY_SECONDS
from tests.conftest import REPO_ROOT


def loaded_after(code: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running ``code``."""
    script = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.splitlines()[-1]))


def test_help_dry_run_and_check_do_not_load_the_ledger_libraries():
    modules = loaded_after("import scheduler.cli, scheduler.commands, scheduler.dryrun, scheduler.checks, scheduler.bulk")
    assert "sqlalchemy" not in modules and "alembic" not in modules and "wechatpy" not in modules


def test_a_dry_run_of_an_unchanged_repository_loads_neither_the_renderer_nor_yaml(repo):
    """Its posts and pages come from the cache: the Markdown stack and PyYAML are a tenth of such a run."""
    repo.post("news/a.md", body="正文。\n")
    run = ("from click.testing import CliRunner\nfrom scheduler.cli import main\n"
           f"result = CliRunner().invoke(main, ['--config', {str(repo.config_path)!r}, '--dry-run', "
           "'--at', '2024-04-02 09:00', '--out', " + repr(str(repo.root / "preview")) + "])\n"
           "assert result.exit_code == 0, result.output")
    first = loaded_after(run)
    assert {"publishers.render", "markdown", "yaml"} <= first  # the first run reads and renders
    time.sleep(RACY_SECONDS + 0.1)  # a file changed within this window is not cached (its ctime cannot be set)
    loaded_after(run)  # now cached
    again = loaded_after(run)
    assert not {"publishers.render", "markdown", "nh3", "css_inline", "yaml"} & again


def test_status_does_not_load_the_renderer_or_wechatpy():
    modules = loaded_after("import scheduler.commands, scheduler.daemon, scheduler.runtime")
    assert "sqlalchemy" in modules  # the ledger is what status reads
    assert not {"publishers.render", "markdown", "jinja2", "wechatpy", "alembic"} & modules


def test_the_newest_revision_read_from_the_files_is_alembics_head():
    from scheduler.migrations import head, newest_revision

    assert newest_revision() == head()


def test_an_up_to_date_ledger_opens_without_alembic(tmp_path):
    from scheduler.ledger import Ledger

    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    Ledger(url).close()  # creates the tables (alembic)
    code = f"from scheduler.ledger import Ledger\nLedger({url!r}).close()"
    assert "alembic" not in loaded_after(code)


def test_the_daemons_releaser_is_built_at_first_use(repo, monkeypatch):
    from scheduler import runtime
    from scheduler.config import ConfigError
    from scheduler.ledger import Ledger

    config = repo.config
    ledger = Ledger(f"sqlite:///{repo.root / 'ledger.db'}")
    monkeypatch.delenv("WECHAT_APP_ID", raising=False)
    with pytest.raises(ConfigError):
        runtime.DeferredReleaser(config, ledger)  # missing credentials: said at start
    monkeypatch.setenv("WECHAT_APP_ID", "wx-test")
    monkeypatch.setenv("WECHAT_APP_SECRET", "secret")
    built = []
    real = runtime.make_releaser
    monkeypatch.setattr(runtime, "make_releaser", lambda *a: built.append(a) or real(*a))
    deferred = runtime.DeferredReleaser(config, ledger)
    stop = lambda: True  # noqa: E731
    deferred.should_stop = stop
    assert built == []
    assert deferred.account == config.account.key
    assert len(built) == 1 and deferred._real.should_stop is stop
    ledger.close()


def test_the_reconcile_interval_can_be_shortened_for_benchmarks(monkeypatch):
    from scheduler.daemon import RECONCILE_MINUTES, reconcile_seconds

    monkeypatch.delenv("TUIWEN_RECONCILE_SECONDS", raising=False)
    assert reconcile_seconds() == RECONCILE_MINUTES * 60
    monkeypatch.setenv("TUIWEN_RECONCILE_SECONDS", "1.5")
    assert reconcile_seconds() == 1.5
