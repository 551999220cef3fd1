"""The archive of what went out: one folder per confirmed release, written once.

Records must be kept: for each release, the exact ``draft/add`` body (``payload.json``), each
article's HTML as sent (``articles/<n>.html``), the body images and covers as prepared for upload
(``images/``, ``covers/``), and ``manifest.json`` — content sha256, commit, sign-off records,
msg ids, URLs, figures where known — listing the sha256 of every file; ``manifest.sha256``
holds the manifest's own.

The files are staged when the draft is built (``.staging/<account>/release-<id>``, replaced
by a later attempt) and become the archive when WeChat confirms the release: copied to a
temporary folder beside the final one, then renamed into place.  A release already archived
is never written again (a no-op): what WeChat reports later, such as a mass send's links,
stays in the ledger (``publish log --json``).  ``verify`` re-reads every manifest.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .config import Config

log = logging.getLogger(__name__)

FORMAT = 1
MANIFEST = "manifest.json"
MANIFEST_SUM = "manifest.sha256"
STAGING = ".staging"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def staging_dir(config: Config, release_id: int) -> Path:
    return config.archive.dir / STAGING / config.account.key / f"release-{release_id}"


def release_dir(config: Config, release) -> Path:
    """``<dir>/<account>/<local slot>-r<id>``: sorted by time in a file manager, unique by id."""
    slot = release.slot.astimezone(config.account.tz)
    return config.archive.dir / config.account.key / f"{slot:%Y-%m-%d_%H%M}-r{release.id}"


# --- staging, when the draft is built ------------------------------------------------

@dataclass(frozen=True)
class StagedArticle:
    """One article as it goes to WeChat: its HTML, and the image bytes it was built with."""

    payload: dict  # the draft/add article, HTML with WeChat's image URLs
    images: tuple[tuple[str, bytes], ...]  # (sha256 of the source file, bytes as prepared for upload)
    cover: tuple[str, bytes]


def stage(config: Config, release_id: int, articles: list[StagedArticle]) -> Path:
    """Write what the release sends to its staging folder (replacing an earlier attempt's)."""
    target = staging_dir(config, release_id)
    temp = target.with_name(f".tmp-{target.name}-{secrets.token_hex(4)}")
    temp.mkdir(parents=True)
    try:
        _write(temp / "payload.json", json.dumps({"articles": [a.payload for a in articles]}, ensure_ascii=False,
                                                 indent=2).encode("utf-8"))
        for n, article in enumerate(articles, 1):
            _write(temp / "articles" / f"{n}.html", article.payload["content"].encode("utf-8"))
            for sha, data in article.images:
                _write(temp / "images" / f"{sha}.{_ext(data)}", data)
            sha, data = article.cover
            _write(temp / "covers" / f"{sha}.{_ext(data)}", data)
        if target.exists():
            shutil.rmtree(target)
        os.replace(temp, target)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return target


def discard(config: Config, release_id: int) -> None:
    """Drop a release's staged files: it will never be confirmed (failed, missed). Never raises."""
    shutil.rmtree(staging_dir(config, release_id), ignore_errors=True)


def _ext(data: bytes) -> str:
    return "png" if data.startswith(b"\x89PNG") else "gif" if data.startswith(b"GIF8") else "jpg"


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())


# --- the archive, when WeChat confirms -----------------------------------------------

def write(config: Config, ledger, release, *, signoffs: dict[str, list[dict]] | None = None,
          figures: dict | None = None, now: datetime | None = None) -> Path | None:
    """Archive a confirmed release once; its folder (an existing one is left as it is).

    ``signoffs``: post path → its sign-off records for the content that went out.
    Returns None when there was nothing staged to archive (say, a release drafted before
    the archive existed); the manifest is still written, marking the missing pieces.
    """
    final = release_dir(config, release)
    if final.exists():
        return final
    staged = staging_dir(config, release.id)
    temp = final.parent / f".tmp-r{release.id}-{secrets.token_hex(4)}"
    temp.parent.mkdir(parents=True, exist_ok=True)
    try:
        if staged.is_dir():
            shutil.copytree(staged, temp)
        else:
            temp.mkdir()
        manifest = _manifest(config, release, temp, signoffs or {}, figures, staged.is_dir(), now)
        body = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=False).encode("utf-8")
        _write(temp / MANIFEST, body)
        _write(temp / MANIFEST_SUM, _sum_line(body))
        try:
            os.rename(temp, final)  # atomic; refused when the folder exists (another process won)
        except OSError:
            if not final.exists():
                raise
            log.info("发布 %s 的存档已由另一个进程写好", release.id)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    shutil.rmtree(staged, ignore_errors=True)
    return final


def keep(config: Config, ledger, release) -> Path | None:
    """Archive a release WeChat confirmed, recording it; a failure is logged, recorded and alerted
    (an ``archive_failed`` event), never raised: a push is never undone by a full disk."""
    try:
        folder = write(config, ledger, release, signoffs=signoff_records(config, ledger, release.items))
        ledger.event(config.account.key, "archived", f"已存档：{folder}", release.id)
        return folder
    except Exception as exc:  # noqa: BLE001 - the push is done; only its copy is missing
        failed(config, ledger, release.id, exc)
        return None


def failed(config: Config, ledger, release_id: int, exc: Exception) -> None:
    """Say that the archive of a release could not be written, in the log and the ledger. Never raises."""
    from .faults import describe

    message = f"发布存档失败（推送不受影响）：{describe(exc)}。请检查 [archive].dir（{config.archive.dir}）的磁盘空间和权限"
    log.error("发布 %s %s", release_id, message)
    try:
        ledger.event(config.account.key, "archive_failed", message, release_id)
    except Exception:
        log.debug("could not record the archive failure", exc_info=True)


def _manifest(config: Config, release, folder: Path, signoffs: dict[str, list[dict]], figures: dict | None,
              complete: bool, now: datetime | None) -> dict[str, Any]:
    files = {path: _sha256((folder / path).read_bytes()) for path in _files(folder)}
    payload = json.loads((folder / "payload.json").read_text(encoding="utf-8")) if complete else {"articles": []}
    sent = payload.get("articles") or []
    articles = []
    for item in release.items:
        html = f"articles/{item.position}.html"
        articles.append({
            "position": item.position, "title": item.title, "path": item.post_path, "category": item.category,
            "sha256": item.sha256, "commit": item.commit_sha, "commit_author": item.commit_author,
            "commit_date": item.commit_date, "url": item.article_url or None,
            "html": html if html in files else None,
            "thumb_media_id": sent[item.position - 1].get("thumb_media_id") if len(sent) >= item.position else None,
            "signoffs": signoffs.get(item.post_path, []),
        })
    return {
        "format": FORMAT,
        "account": config.account.key,
        "account_name": config.account.name,
        "release": release.id,
        "slot": release.slot.astimezone(config.account.tz).isoformat(timespec="minutes"),
        "mode": release.mode,
        "status": release.status,
        "commit": release.commit_sha,
        "digest": release.digest,
        "msg_id": release.msg_id,
        "msg_data_id": release.msg_data_id,
        "publish_id": release.publish_id,
        "article_id": release.article_id,
        "sent_at": release.sent_at.isoformat() if release.sent_at else None,
        "archived_at": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
        "complete": complete,  # False: the payload was not staged (drafted before the archive existed)
        "figures": figures,
        "articles": articles,
        "files": files,
    }


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                  if p.is_file() and p.name not in (MANIFEST, MANIFEST_SUM))


def signoff_records(config: Config, ledger, items: Iterable) -> dict[str, list[dict]]:
    """Post path → the sign-off records (file and console) of the content each item carried."""
    from . import signoff

    config = signoff.with_ledger(config, ledger)
    try:
        records = signoff.load(signoff.records_path(config))
    except signoff.SignoffError:
        records = {}
    found: dict[str, list[dict]] = {}
    for item in items:
        entries = signoff.entries_of(config, records, item.post_path)
        found[item.post_path] = [{"role": a.role, "by": a.by, "at": a.at.isoformat(), "sha256": a.sha256}
                                 for a in entries if a.sha256 == item.sha256]
    return found


# --- verifying ---------------------------------------------------------------------------

@dataclass
class Verified:
    """What ``publish archive verify`` found."""

    releases: int = 0
    files: int = 0
    problems: list[str] = field(default_factory=list)


def _listed(body: bytes) -> dict | None:
    try:
        files = json.loads(body.decode("utf-8"))["files"]
    except (ValueError, KeyError, TypeError):
        return None
    return files if isinstance(files, dict) else None


def _sum_line(body: bytes) -> bytes:
    """What manifest.sha256 holds: the manifest's checksum, in the format of sha256sum."""
    return f"{_sha256(body)}  {MANIFEST}\n".encode("ascii")


def manifests(root: Path) -> Iterator[Path]:
    """Every archived release folder under ``root`` (staging and unfinished folders skipped)."""
    if not root.is_dir():
        return
    for account in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        yield from sorted(p for p in account.iterdir() if p.is_dir() and not p.name.startswith("."))


def verify(root: Path, result: Verified | None = None) -> Verified:
    """Re-check every manifest under ``root``: its own checksum, then each file it lists."""
    result = result or Verified()
    for folder in manifests(root):
        result.releases += 1
        name = folder.relative_to(root).as_posix()
        manifest = folder / MANIFEST
        if not manifest.is_file():
            result.problems.append(f"{name}/{MANIFEST}：缺失")
            continue
        body = manifest.read_bytes()
        if not (folder / MANIFEST_SUM).is_file():
            result.problems.append(f"{name}/{MANIFEST_SUM}：缺失")
            continue
        if (folder / MANIFEST_SUM).read_bytes() != _sum_line(body):  # exactly as written, byte for byte
            result.problems.append(f"{name}/{MANIFEST}：已被改动（与 {MANIFEST_SUM} 不符）")
            continue
        if not isinstance(files := _listed(body), dict):
            result.problems.append(f"{name}/{MANIFEST}：无法读取")
            continue
        for path, digest in sorted(files.items()):
            result.files += 1
            target = folder / path
            if not target.is_file():
                result.problems.append(f"{name}/{path}：缺失")
            elif _sha256(target.read_bytes()) != digest:
                result.problems.append(f"{name}/{path}：已被改动")
        for extra in sorted(set(_files(folder)) - set(files)):
            result.problems.append(f"{name}/{extra}：清单中没有这个文件（存档后被加入）")
    return result
