"""Render every post of a content folder once with wechat-md, and print how many.

Run with the Python of a virtual environment where ``wechat-md`` is installed.
wechat-md takes Markdown without front matter, so the front matter is cut off first.
"""

import json
import sys
from pathlib import Path

from wechat_md import markdown_to_html

root = Path(sys.argv[1]).resolve()
count = chars = 0
for path in sorted(root.rglob("*.md")):
    parts = path.relative_to(root).parts
    if len(parts) < 2 or any(part.startswith(("_", ".")) for part in parts):
        continue
    text = path.read_text(encoding="utf-8")
    if text.startswith("---\n"):
        text = text.split("\n---\n", 1)[-1]
    chars += len(markdown_to_html(text))
    count += 1
print(json.dumps({"posts": count, "chars": chars}))
