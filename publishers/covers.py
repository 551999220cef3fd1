"""Covers drawn from nothing: the category colour and the title, for a post with no picture.

The title is drawn only with a font that really has Chinese glyphs (found once, cached);
without one the cover carries no text rather than boxes of missing glyphs.
"""

from __future__ import annotations

import fnmatch
import functools
import io
import logging
import os
from pathlib import Path

from PIL import Image, ImageColor, ImageDraw, ImageFilter, ImageFont

log = logging.getLogger(__name__)

GENERATED_COVER_SIZE = (900, 383)
DEFAULT_COVER_COLOR = "#2b6cb0"


def generated_cover(title: str, color: str, account: str = "", font_path: str | None = None) -> bytes:
    """A 900×383 JPEG in the category colour, titled in white when a Chinese font exists."""
    img = _cover_background(_parse_color(color))
    face = _find_cjk_font(font_path) if font_path else _find_cjk_font()
    if face is not None and title.strip():
        _draw_title(img, title.strip(), account.strip(), face)
    buffer = io.BytesIO()
    img.save(buffer, "JPEG", quality=90, optimize=True)
    return buffer.getvalue()


def _parse_color(color: str) -> tuple[int, int, int]:
    """The RGB of a CSS colour; a colour that does not parse falls back to the default blue."""
    try:
        return ImageColor.getrgb(color)[:3]
    except (ValueError, AttributeError):
        log.warning("封面颜色 %r 无法识别，改用默认颜色", color)
        return ImageColor.getrgb(DEFAULT_COVER_COLOR)[:3]


def _cover_background(rgb: tuple[int, int, int]) -> Image.Image:
    """The category colour, darkening gently to the lower right, with two faint rings."""
    width, height = GENERATED_COVER_SIZE
    dark = tuple(round(c * 0.72) for c in rgb)
    down = Image.linear_gradient("L").resize((width, height))
    ramp = Image.blend(down, down.transpose(Image.Transpose.TRANSPOSE).resize((width, height)), 0.5)
    img = Image.composite(Image.new("RGB", (width, height), dark), Image.new("RGB", (width, height), rgb), ramp)
    overlay = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    draw.ellipse((width - 330, -170, width + 170, 330), fill=(255, 255, 255, 22))
    draw.ellipse((-120, height - 140, 160, height + 140), outline=(255, 255, 255, 34), width=10)
    return Image.alpha_composite(img.convert("RGBA"), overlay).convert("RGB")


def _draw_title(img: Image.Image, title: str, account: str, face: tuple[str, int]) -> None:
    """The title large and centred, the account name small below it, in white with a soft shadow."""
    width, height = img.size
    font = _fitting_font(title, face, width - 120, start=92, smallest=40)
    title = _ellipsized(title, font, width - 120)
    centre_y = height // 2 - (26 if account else 0)
    shadow = Image.new("RGBA", img.size, (0, 0, 0, 0))
    ImageDraw.Draw(shadow).text((width // 2 + 2, centre_y + 3), title, font=font, anchor="mm", fill=(0, 0, 0, 70))
    shadow = shadow.filter(ImageFilter.GaussianBlur(3))
    img.paste(shadow, mask=shadow)
    draw = ImageDraw.Draw(img)
    draw.text((width // 2, centre_y), title, font=font, anchor="mm", fill="white")
    if account:
        small = _fitting_font(account, face, width - 200, start=30, smallest=18)
        line_y = centre_y + font.size // 2 + 22
        draw.line((width // 2 - 36, line_y, width // 2 + 36, line_y), fill=(255, 255, 255), width=2)
        account = _ellipsized(account, small, width - 200)
        draw.text((width // 2, line_y + 30), account, font=small, anchor="mm", fill="white")


def _fitting_font(text: str, face: tuple[str, int], max_width: int, start: int, smallest: int):
    """The largest size from ``start`` down to ``smallest`` at which ``text`` fits ``max_width``."""
    size = start
    while True:
        font = ImageFont.truetype(face[0], size, index=face[1])
        if size <= smallest or font.getlength(text) <= max_width:
            return font
        size -= 4


def _ellipsized(text: str, font: ImageFont.FreeTypeFont, max_width: int) -> str:
    """``text`` cut short with “…” until it fits ``max_width``."""
    while len(text) > 1 and font.getlength(text) > max_width:
        text = text[:-2] + "…"
    return text


# ---------------------------------------------------------------- a font that draws Chinese

_FONT_DIRS = (
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    "~/.local/share/fonts",
    "~/.fonts",
    "/System/Library/Fonts",
    "/Library/Fonts",
    "C:/Windows/Fonts",
)
_FONT_NAMES = (  # preferred first: bold sans for a title
    "NotoSansCJK*Bold*",
    "NotoSansSC*Bold*",
    "SourceHanSans*Bold*",
    "NotoSansCJK*",
    "NotoSansSC*",
    "SourceHanSans*",
    "Noto*CJK*",
    "SourceHan*",
    "wqy-*",
    "PingFang*",
    "STHeiti*",
    "Hiragino Sans GB*",
    "msyhbd*",
    "msyh*",
    "simhei*",
)


@functools.lru_cache(maxsize=8)
def _find_cjk_font(font_path: str | None = None) -> tuple[str, int] | None:
    """(path, face index) of a font that draws Chinese, ``font_path`` first; None if there is none."""
    candidates = ([font_path] if font_path else []) + _font_files()
    for path in candidates:
        index = _chinese_face(path)
        if index is not None:
            return path, index
    log.info("没有找到中文字体：生成的封面不带文字")
    return None


def _font_files() -> list[str]:
    """Font files in the usual places, ordered by ``_FONT_NAMES`` preference."""
    files: list[str] = []
    for folder in _FONT_DIRS:
        for root, _, names in os.walk(Path(folder).expanduser()):
            files.extend(os.path.join(root, name) for name in names)
    ordered = []
    for pattern in _FONT_NAMES:
        matches = (f for f in files if fnmatch.fnmatchcase(os.path.basename(f).lower(), pattern.lower()))
        ordered += sorted(f for f in matches if f not in ordered)
    return ordered


def _chinese_face(path: str) -> int | None:
    """The face in ``path`` that draws Chinese, Simplified Chinese preferred; None if none does."""
    found = None
    for index in range(16):  # a .ttc holds several faces: Noto CJK puts JP before SC
        try:
            font = ImageFont.truetype(path, 40, index=index)
        except (OSError, ValueError):
            break
        if not _draws_chinese(font):
            continue
        family = font.getname()[0] or ""
        if family.endswith(" SC") or " SC " in family or "GB" in family:
            return index
        found = index if found is None else found
    return found


def _draws_chinese(font: ImageFont.FreeTypeFont) -> bool:
    """True if the font has real glyphs for Chinese; a missing glyph draws the same box every time."""

    def glyph(char: str) -> bytes:
        img = Image.new("L", (56, 56))
        ImageDraw.Draw(img).text((8, 0), char, font=font, fill=255)
        return img.tobytes()

    first, second = glyph("医"), glyph("保")
    return first != second and any(first)
