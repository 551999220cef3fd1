"""Secrets never appear in output, logs, previews, the ledger's files or any row of its tables.

Real `publish` processes (logging at DEBUG: urllib3 writes every URL, with its access_token)
run a release, two failing ones (40164 caller IP not whitelisted, 45009 quota used up), a
forced token refresh and a dry run; then every byte they printed, every file under the site
(preview, SQLite database and its journal) and every row of every table, on each backend, is
searched for the AppSecret and for every access token the fake issued.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import MetaData, create_engine, select

from scheduler.ledger import Ledger
from scheduler.runtime import SealedTokenStorage
from tests.conftest import REPO_ROOT, wechat_env

DEBUG_PUBLISH = ("import logging, sys; logging.basicConfig(level=logging.DEBUG, "
                 "format='%(levelname)s %(name)s: %(message)s'); "
                 "from scheduler.cli import run; sys.argv[0] = 'publish'; run()")


def run_publish(site, fake, *args: str) -> subprocess.CompletedProcess:
    env = wechat_env(fake)
    return subprocess.run([sys.executable, "-c", DEBUG_PUBLISH, "--config", str(site.config_path), *args],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)


def every_row(url: str) -> str:
    engine = create_engine(url)
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as connection:
        rows = [repr(tuple(row)) for table in metadata.sorted_tables for row in connection.execute(select(table))]
    engine.dispose()
    return "\n".join(rows)


def test_no_secret_or_token_anywhere(site, fake, database_url, counts):
    text = site.config_path.read_text(encoding="utf-8")
    site.config_path.write_text(text.replace('url = "sqlite:///state/tuiwen.db"', f'url = "{database_url}"'),
                                encoding="utf-8")
    outputs = []

    fake.ip_whitelist = ["10.9.9.9"]  # this machine is not whitelisted: 40164, naming our IP
    refused = run_publish(site, fake, "--at", "2024-04-02 09:00")
    assert refused.returncode == 3 and "40164" in refused.stdout + refused.stderr, refused.stdout
    fake.ip_whitelist = None
    outputs.append(refused)

    fake.inject("draft/add", "token_expired")  # a forced refresh: WeChat issues a second token
    sent = run_publish(site, fake, "--at", "2024-04-05 09:00")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert len(fake.mass_sends) == 1 and len(fake.tokens_issued) >= 2
    outputs.append(sent)

    fake.inject("draft/add", {"errcode": 45009, "errmsg": "reach max api daily quota limit"})
    quota = run_publish(site, fake, "--at", "2024-04-09 09:00")
    assert quota.returncode == 3
    outputs.append(quota)

    preview = site.root / "preview"
    outputs.append(run_publish(site, fake, "--dry-run", "--at", "2024-04-12 09:00", "--out", str(preview)))
    outputs.append(run_publish(site, fake, "log"))
    outputs.append(run_publish(site, fake, "status", "--at", "2024-04-12 09:00"))
    assert (preview / "payload.json").is_file()

    printed = "\n".join(o.stdout + o.stderr for o in outputs)
    assert "DEBUG urllib3" in printed and "access_token=***" in printed  # URLs were logged, scrubbed
    files = {path: path.read_bytes() for path in site.root.rglob("*") if path.is_file()}
    rows = every_row(database_url)
    # The search below covers something: the token requests were logged, the sealed token stored.
    assert "cgi-bin/stable_token" in printed
    assert f"{fake.appid}_access_token" in rows
    secrets = [fake.secret, *fake.tokens_issued]
    for secret in secrets:
        assert secret not in printed
        assert secret not in rows
        for path, data in files.items():
            assert secret.encode() not in data, path
    backend = database_url.split(":", 1)[0].split("+", 1)[0]
    counts(f"secrets {backend:>10}: {len(outputs)} runs, {len(files)} files, {rows.count(chr(10)) + 1} rows "
           f"searched for the AppSecret and {len(fake.tokens_issued)} tokens: 0 found")


def test_stored_tokens_are_sealed_with_a_key_from_the_app_secret(database_url):
    ledger = Ledger(database_url)
    storage = SealedTokenStorage(ledger, "the-app-secret-0123456789abcdef")
    token = "ACCESS_TOKEN_" + "x" * 140
    storage.set("wx1_access_token", token, 7200)
    storage.set("wx1_access_token_expires_at", 1_800_000_000, 7200)
    assert token not in every_row(database_url)
    assert "1800000000" not in every_row(database_url)

    again = SealedTokenStorage(Ledger(database_url), "the-app-secret-0123456789abcdef")  # another process
    assert again.get("wx1_access_token") == token
    assert again.get("wx1_access_token_expires_at") == "1800000000"
    stranger = SealedTokenStorage(Ledger(database_url), "another-secret")
    assert stranger.get("wx1_access_token") is None  # a key it cannot open is no token: fetch anew

    # A token stored in the clear by an earlier version is not trusted either: it is fetched anew.
    ledger.store_token("wx1_access_token", token, datetime.now(UTC) + timedelta(hours=1))
    assert storage.get("wx1_access_token", "missing") == "missing"
    storage.delete("wx1_access_token")
    assert ledger.token("wx1_access_token") is None
    ledger.close()


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_a_secret_file_others_can_read_is_refused(repo, monkeypatch, mode):
    monkeypatch.setenv("WECHAT_APP_ID", "wx_test_appid")
    secret = repo.root / "secret.txt"
    secret.write_text("the-app-secret-0123456789abcdef\n", encoding="utf-8")
    secret.chmod(mode)
    repo.write_config('[account]\napp_secret_file = "secret.txt"\n')
    result = repo.publish("--at", "2024-04-02 09:00")
    said = " ".join(result.output.split())  # as one line: the console folds long lines
    assert result.exit_code == 2
    assert f"密钥文件 {secret} 的权限是 {mode:03o}" in said and f"请执行 chmod 600 {secret}" in said
    assert "[account].app_secret_file" in said
    assert "the-app-secret" not in result.output
    status = " ".join(repo.publish("status", "--at", "2024-04-02 09:00").output.split())
    assert "chmod 600" in status


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_a_private_secret_file_gives_the_app_secret(repo, monkeypatch, mode):
    monkeypatch.setenv("WECHAT_APP_ID", "wx123")
    monkeypatch.delenv("WECHAT_APP_SECRET", raising=False)
    secret = repo.root / "secrets" / "wechat"
    secret.parent.mkdir()
    secret.write_text("s3cr3t-from-a-file\n", encoding="utf-8")
    secret.chmod(mode)
    repo.write_config('[account]\napp_secret_file = "secrets/wechat"\n')
    assert repo.config.credentials() == ("wx123", "s3cr3t-from-a-file")


def test_a_missing_or_empty_secret_file_is_a_configuration_error(repo, monkeypatch):
    from scheduler.config import ConfigError

    monkeypatch.setenv("WECHAT_APP_ID", "wx123")
    repo.write_config('[account]\napp_secret_file = "nowhere"\n')
    with pytest.raises(ConfigError, match="找不到密钥文件"):
        repo.config.credentials()
    (repo.root / "nowhere").write_text("\n")
    (repo.root / "nowhere").chmod(0o600)
    with pytest.raises(ConfigError, match="是空的"):
        repo.config.credentials()
