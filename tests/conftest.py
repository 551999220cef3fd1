"""Shared builders: a throw-away repository with a config file and a content folder."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from scheduler.cli import main
from scheduler.config import load_config

REPO_ROOT = Path(__file__).resolve().parent.parent

MINIMAL_CONFIG = """\
[account]
name = "测试医保"
author = "测试区医保局"
"""

GOOD_FRONT = """\
title: 打击欺诈骗保 维护基金安全
status: ready
"""


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (64, 48), color: str = "#c53030") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt)
    return buffer.getvalue()


class Repo:
    """A config.toml and a content folder under tmp_path, with helpers to fill them."""

    def __init__(self, root: Path, config_text: str = MINIMAL_CONFIG) -> None:
        self.root = root
        self.content = root / "content"
        self.content.mkdir(parents=True, exist_ok=True)
        self.config_path = root / "config.toml"
        self.write_config(config_text)

    def _attach(self, root: Path) -> Repo:
        """Adopt an existing folder with config.toml and content/."""
        self.root, self.content, self.config_path = root, root / "content", root / "config.toml"
        return self

    def write_config(self, text: str) -> None:
        self.config_path.write_text(textwrap.dedent(text), encoding="utf-8")

    @property
    def config(self):
        return load_config(self.config_path)

    def post(self, rel: str, front: str = GOOD_FRONT, body: str = "正文第一段。\n") -> Path:
        """Write content/<rel> with the given front matter (YAML text) and body."""
        text = "---\n" + textwrap.dedent(front) + "---\n" + textwrap.dedent(body)
        return self.raw(rel, text.encode("utf-8"))

    def raw(self, rel: str, data: bytes) -> Path:
        path = self.content / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def image(self, rel: str, fmt: str = "JPEG", **kwargs) -> Path:
        return self.raw(rel, image_bytes(fmt, **kwargs))

    def publish(self, *args: str):
        """Run the CLI in-process with this repository's config."""
        return CliRunner().invoke(main, ["--config", str(self.config_path), *args], catch_exceptions=False)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """The post cache (scheduler.cache) of every test in a folder of the test run, never ~/.cache."""
    monkeypatch.setenv("TUIWEN_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "tuiwen-cache"))


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path / "site")


# --- services: a plain `pytest` skips what this machine lacks; CI may not ---------------------

REQUIRE_SERVICES = os.environ.get("TUIWEN_REQUIRE_SERVICES") == "1"


def pytest_report_header(config):
    if REQUIRE_SERVICES:
        return "tuiwen: TUIWEN_REQUIRE_SERVICES=1 — every skipped test counts as failed"
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under TUIWEN_REQUIRE_SERVICES=1 (set by .ci/run) a skip is a failure: a missing
    PostgreSQL, MariaDB, Redis, Chromium or git never lets CI go green untested."""
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_SERVICES and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped, but TUIWEN_REQUIRE_SERVICES=1 requires every test to run: {reason}"


# --- counts printed after the run: pytest captures print(), so tests hand lines to this ---

SUMMARY: list[str] = []


@pytest.fixture
def counts():
    """``counts("...")`` adds a line to the summary printed at the end of the run (CI shows it)."""
    return SUMMARY.append


def pytest_terminal_summary(terminalreporter):
    if SUMMARY:
        terminalreporter.section("tuiwen: pushes, doubles and uploads counted by the tests")
        for line in SUMMARY:
            terminalreporter.write_line(line)


# --- ledger databases: SQLite always, PostgreSQL and MariaDB where CI provides them ---

SERVER_URLS = {"postgresql": "TUIWEN_TEST_PG_URL", "mysql": "TUIWEN_TEST_MYSQL_URL"}


def reset_database(url: str) -> None:
    """Drop every table of a server database so a test starts from nothing."""
    from sqlalchemy import MetaData, create_engine

    engine = create_engine(url)
    metadata = MetaData()
    metadata.reflect(engine)
    metadata.drop_all(engine)
    engine.dispose()


_PRIVATE: dict[str, str] = {}  # backend → this test run's own database on that server


def server_url(backend: str) -> str | None:
    """A database of this test run's own on the server named by the backend's variable (None where
    unset): two test runs at once (CI beside a developer, or the suite twice) never drop each
    other's tables. Created at first use, dropped when the run ends."""
    if backend in _PRIVATE:
        return _PRIVATE[backend]
    base = os.environ.get(SERVER_URLS[backend])
    if not base:
        return None
    import atexit

    from tests.databases import private_database

    _PRIVATE[backend], remove = private_database(base, "tw")
    atexit.register(remove)
    return _PRIVATE[backend]


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def database_url(request, tmp_path) -> str:
    """A ledger URL on each backend; server backends skip where their variable is unset."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    url = server_url(request.param)
    if not url:
        pytest.skip(f"{SERVER_URLS[request.param]} is not set")
    reset_database(url)
    request.addfinalizer(lambda: reset_database(url))
    return url


# --- a site on the sample content, pointed at a fake WeChat -----------------------

@pytest.fixture
def fake():
    from tests.fake_wechat import FakeWeChat

    with FakeWeChat(send_polls=0, publish_polls=0) as server:
        yield server
        assert server.errors == [], "the fake WeChat server hit a bug"


def write_site_config(root: Path, api_base_url: str, **sections: str) -> Path:
    """config.toml for a copy of the sample content, with overrides per section."""
    import shutil

    shutil.copyfile(REPO_ROOT / "config.toml", root / "config.toml")
    text = (root / "config.toml").read_text(encoding="utf-8")
    text = text.replace('api_base_url = "https://api.weixin.qq.com/"', f'api_base_url = "{api_base_url}"')
    for old, new in sections.items():
        assert old in text, old
        text = text.replace(old, new)
    path = root / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def site(tmp_path, fake, monkeypatch):
    """The shipped config and sample content, copied, talking to the fake WeChat."""
    import shutil

    root = tmp_path / "site"
    shutil.copytree(REPO_ROOT / "content", root / "content")
    write_site_config(root, fake.url)
    monkeypatch.setenv("WECHAT_APP_ID", fake.appid)
    monkeypatch.setenv("WECHAT_APP_SECRET", fake.secret)
    return Repo.__new__(Repo)._attach(root)


FROZEN_CLI = (
    "import sys, time_machine; "
    "time_machine.travel(sys.argv.pop(1), tick=True).start(); "
    "from scheduler.cli import main; main()"
)


def cli_at(at, *args: str) -> list[str]:
    """The command line of a `publish` process whose clock starts at ``at`` (an aware datetime)
    and runs on from there: the test's clock, never the day the suite happens to run."""
    import sys

    return [sys.executable, "-c", FROZEN_CLI, at.isoformat(), *args]


def counting_renders(monkeypatch) -> list[str]:
    """The path of each post rendered from now on, as choosing and preparing a release render them."""
    from scheduler import articles, dryrun, release

    rendered: list[str] = []

    def counting(post, config, look=None):
        rendered.append(post.rel)
        return articles.render_post(post, config, look)

    monkeypatch.setattr(dryrun, "render_post", counting)
    monkeypatch.setattr(release, "render_post", counting)
    return rendered


def wechat_env(fake, **more: str) -> dict[str, str]:
    """This process's environment with ``fake``'s credentials (and ``more``): for a real `publish` process."""
    return {**os.environ, "WECHAT_APP_ID": fake.appid, "WECHAT_APP_SECRET": fake.secret, **more}


def start_publish(site, fake, *args: str) -> subprocess.Popen:
    """A real `publish` process on ``site`` against ``fake``, its output (stderr too) piped."""
    env = wechat_env(fake)
    return subprocess.Popen([sys.executable, "-m", "scheduler.cli", "--config", str(site.config_path), *args],
                            cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_until(condition, process, what: str, timeout: float = 60) -> None:
    """Poll ``condition`` until it holds; fail at once if ``process`` ends first, or after ``timeout``."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the process ended before {what}:\n{process.stdout.read()}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def run_together(functions) -> None:
    """Call each function in a thread of its own, all released at the same moment, and wait for them.

    The threads are started one at a time: a thread installs the coverage tracer as it starts,
    and Python 3.11 refuses two threads doing that at once (the thread dies before its work).
    """
    import threading

    together = threading.Barrier(len(functions))
    threads = []
    for function in functions:
        running = threading.Event()

        def run(function=function, running=running) -> None:
            running.set()
            together.wait()
            function()

        threads.append(threading.Thread(target=run))
        threads[-1].start()
        running.wait()
    for thread in threads:
        thread.join()
