"""The archive of confirmed releases: written once when WeChat confirms, checked by ``publish archive verify``."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import UTC, datetime
from types import SimpleNamespace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler import archive
from scheduler.runtime import open_ledger

SLOT_AT = "2024-04-02 09:00"


def folders(site) -> list:
    return list(archive.manifests(site.config.archive.dir))


def published(site):
    result = site.publish("--at", SLOT_AT)
    assert result.exit_code == 0, result.output
    [folder] = folders(site)
    return folder


def test_a_confirmed_release_is_archived_as_it_was_sent(site, fake):
    folder = published(site)
    assert folder.parent.parent == site.root / "state" / "archive"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    [send] = fake.mass_sends
    sent = send["articles"]
    payload = json.loads((folder / "payload.json").read_text(encoding="utf-8"))
    assert [a["title"] for a in payload["articles"]] == [a["title"] for a in sent]
    for n, article in enumerate(sent, 1):  # the HTML WeChat received, byte for byte
        assert (folder / "articles" / f"{n}.html").read_text(encoding="utf-8") == article["content"]
    uploaded = {image["sha256"] for image in fake.images.values()} | {m["sha256"] for m in fake.materials.values()}
    kept = {hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.glob("[ic][mo]*/*")}
    assert kept == uploaded  # the image and cover bytes that were uploaded, no more, no fewer
    assert manifest["msg_id"] == str(send["msg_id"]) and manifest["msg_data_id"] == str(send["msg_data_id"])
    config = site.config
    ledger = open_ledger(config)
    try:
        [release] = ledger.releases(config.account.key)
    finally:
        ledger.close()
    assert [a["sha256"] for a in manifest["articles"]] == [i.sha256 for i in release.items]
    assert [a["title"] for a in manifest["articles"]] == [i.title for i in release.items]
    for path, digest in manifest["files"].items():
        assert hashlib.sha256((folder / path).read_bytes()).hexdigest() == digest
    recorded = (folder / "manifest.sha256").read_text(encoding="ascii").split()[0]
    assert recorded == hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest()
    assert not (site.config.archive.dir / ".staging" / config.account.key / f"release-{release.id}").exists()

    verified = site.publish("archive", "verify")
    assert verified.exit_code == 0, verified.output
    assert "存档完好" in verified.output and "1 次推送" in verified.output


def test_a_changed_or_missing_file_is_named_and_verify_fails(site, fake):
    folder = published(site)
    (folder / "articles" / "2.html").write_text("<p>改过</p>", encoding="utf-8")
    cover = next((folder / "covers").iterdir())
    cover.unlink()
    result = site.publish("archive", "verify")
    assert result.exit_code == 1
    assert "articles/2.html：已被改动" in result.output
    assert f"covers/{cover.name}：缺失" in result.output
    assert "articles/1.html" not in result.output


def test_an_edited_manifest_is_caught_by_its_checksum(site, fake):
    folder = published(site)
    manifest = folder / "manifest.json"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace('"confirmed"', '"failed"'), encoding="utf-8")
    result = site.publish("archive", "verify")
    assert result.exit_code == 1 and "manifest.json：已被改动" in result.output


def test_an_archive_is_never_written_twice(site, fake):
    folder = published(site)
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    config = site.config
    ledger = open_ledger(config)
    try:
        [release] = ledger.releases(config.account.key)
        assert archive.write(config, ledger, release) == folder
    finally:
        ledger.close()
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before


def test_a_failing_archive_never_fails_the_push(site, fake):
    (site.root / "state").mkdir(exist_ok=True)
    (site.root / "state" / "archive").write_text("not a folder")  # as a full disk or a wrong path would
    result = site.publish("--at", SLOT_AT)
    assert result.exit_code == 0, result.output
    assert fake.count("message/mass/sendall") == 1
    config = site.config
    ledger = open_ledger(config)
    try:
        [release] = ledger.releases(config.account.key)
        failures = [e.message for e in ledger.events(config.account.key) if e.kind == "archive_failed"]
        from scheduler.alerts import collect

        alerts = collect(config, ledger, None, None, release.slot, forecast=False)
    finally:
        ledger.close()
    assert release.status == "confirmed"
    assert failures and "推送不受影响" in failures[0]
    assert any(a.event == "archive_failed" for a in alerts)


def test_the_archive_folder_is_a_setting_relative_to_the_config(site, fake):
    site.write_config(site.config_path.read_text(encoding="utf-8") + '\n[archive]\ndir = "records/pushes"\n')
    assert site.config.archive.dir == site.root / "records" / "pushes"
    published(site)
    assert (site.root / "records" / "pushes" / site.config.account.key).is_dir()


def test_verify_with_no_archive_yet_says_so(site, fake):
    result = site.publish("archive", "verify")
    assert result.exit_code == 0 and "0 次推送" in result.output


def test_a_send_a_person_confirms_with_resolve_is_archived_too(site, fake):
    fake.inject("message/mass/sendall", "lost")
    assert site.publish("--at", SLOT_AT).exit_code == 3  # sent, but the answer was lost: unconfirmed
    assert folders(site) == []
    config = site.config
    ledger = open_ledger(config)
    try:
        [release] = ledger.releases(config.account.key)
    finally:
        ledger.close()
    assert site.publish("resolve", str(release.id), "--sent").exit_code == 0
    [folder] = folders(site)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["complete"] and manifest["status"] == "confirmed"
    assert (folder / "articles" / "3.html").read_text(encoding="utf-8") == fake.mass_sends[0]["articles"][2]["content"]


def test_a_release_that_failed_leaves_no_staged_files(site, fake):
    fake.send_outcome = "SEND_FAIL"
    site.publish("--at", SLOT_AT)
    assert folders(site) == []
    assert not any((site.config.archive.dir / ".staging").rglob("*.html"))


# --- any change to any archived file is caught --------------------------------------------

def _synthetic(root):
    """An archive written by the archive module alone, from a release as the ledger holds one."""
    config = SimpleNamespace(archive=SimpleNamespace(dir=root),
                             account=SimpleNamespace(key="qy", name="屈原医保", tz=UTC))
    items = [SimpleNamespace(position=n, title=f"标题{n}", post_path=f"news/{n}.md", category="news",
                             sha256=f"{n:064d}", commit_sha=None, commit_author=None, commit_date=None,
                             article_url=None) for n in (1, 2)]
    release = SimpleNamespace(id=7, slot=datetime(2024, 4, 2, 1, tzinfo=UTC), items=items, mode="mass_send",
                              status="confirmed", commit_sha="abc", digest="d", msg_id="1", msg_data_id="2",
                              publish_id=None, article_id=None, sent_at=None)
    staged = [archive.StagedArticle({"title": f"标题{n}", "content": f"<p>正文{n}</p>", "thumb_media_id": "m"},
                                    ((f"{n}" * 64, b"\xff\xd8\xff" + bytes([n]) * 40),),
                                    ("c" * 64, b"\x89PNG\r\n\x1a\n" + b"\0" * 30)) for n in (1, 2)]
    archive.stage(config, release.id, staged)
    return archive.write(config, None, release)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(choice=st.integers(min_value=0), offset=st.integers(min_value=0), flip=st.integers(min_value=1, max_value=255))
def test_changing_any_byte_of_any_archived_file_is_named(tmp_path_factory, choice, offset, flip):
    base = tmp_path_factory.mktemp("archive")
    folder = _synthetic(base / "original")
    assert archive.verify(base / "original").problems == []
    copy = base / "copy"
    shutil.copytree(base / "original", copy)
    files = sorted(p for p in (copy / folder.relative_to(base / "original")).rglob("*") if p.is_file())
    target = files[choice % len(files)]
    data = bytearray(target.read_bytes())
    data[offset % len(data)] ^= flip
    target.write_bytes(bytes(data))
    problems = archive.verify(copy).problems
    name = target.relative_to(copy).as_posix()
    if target.name == "manifest.sha256":
        assert problems and "manifest" in problems[0]
    else:
        assert any(p.startswith(name) for p in problems), (name, problems)
