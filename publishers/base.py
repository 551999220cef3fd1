"""The values publishers receive and return."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Article:
    """One article of a push, as plain values: what a publisher needs and nothing more."""

    title: str
    body: str  # Markdown
    base_dir: Path  # the post's folder: relative image paths start here
    root: Path  # the content repository: nothing outside it is ever read
    author: str = ""
    digest: str = ""
    cover: Path | None = None
    source_url: str = ""
    comments: bool = False
    category: str = ""  # display name, for the category header
    color: str = "#2b6cb0"  # the category's accent colour
    reviewed_by: str = ""
    approved_by: str = ""
