"""The page around the body: the theme's inline styles (``templates/theme.toml``) and the
header, footer and article templates, an account's own templates before ours.
"""

from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from pathlib import Path

import jinja2
from markupsafe import Markup

from .sanitize import clean_template_output

_TEMPLATES = Path(__file__).with_name("templates")
_BODY = "\ue000tuiwen-body\ue000"  # where the body goes in the rendered article.html
_SQUASH = re.compile(r"\s*\n\s*")


@lru_cache(maxsize=64)
def styles(color: str) -> dict[str, str]:
    """The theme's inline style of each kind of element, in the category's accent colour."""
    tint = _tint(color)
    table = _theme_table()
    found = {key: value.format(color=color, tint=tint, text=table["text"]) for key, value in table.items()}
    return found | {"color": color, "tint": tint}


def page_html(context: dict, body: str, templates_dir: Path | None = None) -> str:
    """The body inside header, footer and article templates; errors in ``templates_dir``'s own ones raise."""
    return _fill(_environment(templates_dir), context, body, custom=templates_dir is not None)


@lru_cache(maxsize=1)
def _theme_table() -> dict[str, str]:
    """theme.toml as read: style templates with {color}, {tint} and {text} in them."""
    with open(_TEMPLATES / "theme.toml", "rb") as file:
        return {key: str(value) for key, value in tomllib.load(file).items()}


def _tint(color: str, amount: float = 0.9) -> str:
    """The colour mixed with white: a light background in the same hue."""
    digits = color[1:] if len(color) == 7 else "".join(c * 2 for c in color[1:])
    channels = (int(digits[i : i + 2], 16) for i in (0, 2, 4))
    return "#" + "".join(f"{round(c + (255 - c) * amount):02x}" for c in channels)


class _MissingBody(Exception):
    """An account's article.html without ``{{ body }}``."""

    def __str__(self) -> str:
        return "article.html 中没有 {{ body }}"


@lru_cache(maxsize=16)
def _environment(templates_dir: Path | None) -> jinja2.Environment:
    """Jinja with our templates, ``templates_dir``'s first when given."""
    loaders: list[jinja2.BaseLoader] = [jinja2.FileSystemLoader(str(_TEMPLATES))]
    if templates_dir is not None:
        loaders.insert(0, jinja2.FileSystemLoader(str(templates_dir)))
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders), autoescape=True, lstrip_blocks=True
    )


def _fill(env: jinja2.Environment, context: dict, body: str, custom: bool) -> str:
    """header, footer and article templates around the body; the account's own ones cleaned."""
    parts = {}
    for name in ("header", "footer"):
        text = _SQUASH.sub("", env.get_template(f"{name}.html").render(context))
        parts[name] = Markup(clean_template_output(text) if custom else text)
    page = env.get_template("article.html").render(context, body=Markup(_BODY), **parts)
    page = _SQUASH.sub("", page)
    if custom:
        page = clean_template_output(page)
    if _BODY not in page:
        raise _MissingBody()
    return page.replace(_BODY, body, 1)
