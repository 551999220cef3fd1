"""The dry-run target: a preview folder showing exactly what would be pushed, sending nothing.

``index.html`` shows the push card (cover and title list, as followers see it)
and then every article at phone width; ``payload.json`` is the ``draft/add`` body
that would be sent, with images not yet uploaded keeping their local paths.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from .base import DraftArticle
from .rendered import Rendered, replace_images


@dataclass(frozen=True)
class PreviewArticle:
    """One article as it would go out, before its images are uploaded."""

    draft: DraftArticle  # content still carries image placeholders
    rendered: Rendered
    cover_name: str  # file name of the cover inside the preview folder
    cover_data: bytes
    cover_label: str  # where the cover came from, for people
    category: str


def write_preview(out: Path, account: str, heading: str, articles: list[PreviewArticle], *,
                  uploaded: dict[str, str] | None = None, root: Path | None = None) -> tuple[Path, Path]:
    """Write ``index.html`` and ``payload.json`` under ``out``; returns their paths.

    ``uploaded`` maps image placeholders to URLs already on WeChat; other images
    are copied into ``out/images`` for the page and named by their path relative
    to ``root`` in the payload.
    """
    images_dir = out / "images"
    if images_dir.exists():
        shutil.rmtree(images_dir)
    images_dir.mkdir(parents=True)
    uploaded = uploaded or {}
    page_articles, payload = [], []
    for index, article in enumerate(articles, 1):
        (images_dir / article.cover_name).write_bytes(article.cover_data)
        local, remote = {}, {}
        for ref in article.rendered.images:
            copy = images_dir / f"{ref.sha256[:16]}{ref.path.suffix.lower()}"
            if not copy.exists():
                shutil.copyfile(ref.path, copy)
            local[ref.placeholder] = f"images/{copy.name}"
            remote[ref.placeholder] = uploaded.get(ref.placeholder) or _shown(ref.path, root)
        page_articles.append({
            "index": index,
            "title": article.draft.title,
            "author": article.draft.author,
            "digest": article.draft.digest,
            "category": article.category,
            "cover": f"images/{article.cover_name}",
            "cover_label": article.cover_label,
            "html": replace_images(article.draft.content, local),
            "chars": article.rendered.chars,
        })
        body = article.draft.payload()
        body["content"] = replace_images(article.draft.content, remote)
        payload.append(body)
    index_path, payload_path = out / "index.html", out / "payload.json"
    html = _environment().get_template("preview.html").render(account=account, heading=heading, articles=page_articles)
    index_path.write_text(html, encoding="utf-8")
    payload_path.write_text(json.dumps({"articles": payload}, ensure_ascii=False, indent=2), encoding="utf-8")
    return index_path, payload_path


def _shown(path: Path, root: Path | None) -> str:
    if root is not None and path.is_relative_to(root):
        return path.relative_to(root.parent).as_posix()
    return path.name


@cache  # built once, at the first preview
def _environment() -> Environment:
    return Environment(loader=PackageLoader("publishers", "templates"), autoescape=select_autoescape(["html"]))
