"""Images made ready for WeChat: bytes in, bytes out, no network.

Body images go to ``media/uploadimg`` (jpg/png under 1 MB); covers go to
``material/add_material`` and are shown cropped at 2.35:1.  Every image is
untrusted input: its header is checked before any pixel is decoded, and every
failure becomes an ``ImageError`` with a Chinese message an editor can act on.
A cover drawn when a post has no picture at all is ``publishers.covers``.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import warnings
from dataclasses import dataclass
from typing import cast

from PIL import Image, ImageEnhance, ImageFilter

from .limits import BODY_IMAGE_MAX_BYTES

try:  # colour management needs Pillow built with littlecms; without it profiles are dropped
    from PIL import ImageCms

    _SRGB = ImageCms.createProfile("sRGB")
except ImportError:  # pragma: no cover - every wheel ships littlecms
    ImageCms = None  # type: ignore[assignment]  # an optional module: None when Pillow lacks littlecms

log = logging.getLogger(__name__)

MAX_PIXELS = 60_000_000  # decoded at once: a 50 MP phone photo passes, a decompression bomb does not
MAX_DECODE_BYTES = 240 * 1024 * 1024  # what one image may cost in memory while it is prepared
BODY_MAX_SIDE = 1920  # a phone never shows more
LONG_IMAGE_RATIO = 3  # taller than 3:1 is a 长图, read by scrolling at full phone width
LONG_IMAGE_WIDTH = 1080
JPEG_QUALITIES = (85, 80, 75, 70, 60)
GRAPHIC_MAX_COLORS = 4096  # screenshots and line art have few colours; photos have many
COVER_RATIO = 2.35  # WeChat shows covers cropped to 2.35:1
COVER_RATIO_RANGE = (1.9, 2.8)  # near enough: WeChat's own crop loses little
COVER_CROP_MIN_RATIO = 1.2  # narrower than this is a poster: fit it, never chop it
COVER_SIZE = (1280, 545)  # covers need not be big
COVER_KEEP_MAX_BYTES = 2 * 1024 * 1024  # older WeChat pages: permanent images ≤ 2 MB
_MAX_ICC_BYTES = 128 * 1024  # real profiles are a few KB; a huge one is hostile
_FORMATS = ("JPEG", "PNG", "GIF", "BMP", "WEBP", "TIFF")  # never EPS (Ghostscript) and friends; MPO opens as JPEG
# Bytes per decoded pixel: Pillow keeps 3 channels in 4 bytes, and makes full-size copies to turn
# palettes and 16-bit greys into RGB/L, and to premultiply alpha before resampling.
_DECODE_COST = {"1": 2, "L": 1, "P": 9, "PA": 12, "LA": 8, "RGBA": 8, "I": 11, "F": 9}
_REDUCIBLE = {"L", "LA", "RGB", "RGBA", "CMYK", "I", "F"}
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

CORRUPT = "图片文件已损坏或不完整，请重新导出"
UNKNOWN = "无法识别的图片格式，请另存为 JPG 或 PNG 后再试"
HEIC = "这是 HEIC 格式的照片（苹果手机默认格式），请先转为 JPG，或在手机“设置 > 相机 > 格式”中选“兼容性最佳”"


class ImageError(ValueError):
    """An image that cannot be prepared; the message says why, in Chinese."""


@dataclass(frozen=True)
class Prepared:
    """Bytes ready to upload, what they are, and whether they differ from the input."""

    data: bytes
    ext: str  # "jpg" | "png"
    mime: str
    width: int
    height: int
    changed: bool


# ---------------------------------------------------------------- public API


def prepare_body_image(data: bytes) -> Prepared:
    """A jpg/png under 1 MB for ``media/uploadimg``: upright, without Exif/GPS, as little changed as possible."""
    im = _open(data)
    kept = _as_is(data, im, BODY_IMAGE_MAX_BYTES - 1)
    if kept is not None:
        return kept
    png_source = im.format not in ("JPEG", "MPO")  # re-encoding a JPEG as PNG only bloats it
    img = _decode(im, _body_scale(*_display_size(im)))
    img = _resized(img, _body_scale(*img.size))
    if img.mode == "RGBA" or (png_source and _is_graphic(img)):
        png = _png_under(img, BODY_IMAGE_MAX_BYTES)
        if png is not None:
            return _prepared(png, "PNG", img.size)
        img = _flatten(img)
    jpeg, size = _jpeg_under(img, BODY_IMAGE_MAX_BYTES)
    return _prepared(jpeg, "JPEG", size)


def prepare_cover(data: bytes) -> Prepared:
    """A cover for ``thumb_media_id``: near 2.35:1 kept as it is, anything else a ≤ 1280×545 JPEG."""
    im = _open(data)
    width, height = _display_size(im)
    low, high = COVER_RATIO_RANGE
    if low <= width / height <= high:
        kept = _as_is(data, im, COVER_KEEP_MAX_BYTES)
        if kept is not None:
            return kept
    img = _decode(im, _cover_scale(width, height))
    cover = _compose_cover(_flatten(img).convert("RGB"))
    jpeg, size = _jpeg_under(cover, BODY_IMAGE_MAX_BYTES)  # far below WeChat's 10 MB, quick to upload
    return _prepared(jpeg, "JPEG", size)


def check_image(data: bytes) -> None:
    """Raise ImageError unless ``data`` opens and every pixel decodes (a JPEG at an eighth of its
    size, which still reads the whole scan): a damaged picture is named before a release, not in it."""
    im = _open(data)
    if im.format in ("JPEG", "PNG"):
        _check_pixels(data)
    else:
        _decode(im, 1 / 8)


def image_info(data: bytes) -> tuple[str, int, int]:
    """(format, width, height) as displayed (EXIF orientation applied), from the header alone."""
    im = _open(data)
    fmt = "jpeg" if im.format == "MPO" else (im.format or "").lower()
    return (fmt, *_display_size(im))


# ---------------------------------------------------------------- opening and decoding


def _open(data: bytes) -> Image.Image:
    """The image's header, parsed; no pixel is decoded yet."""
    if not data:
        raise ImageError("图片文件为空")
    try:
        with _quiet():
            im = Image.open(io.BytesIO(data), formats=_FORMATS)
    except Image.DecompressionBombError as exc:  # over twice Pillow's limit: not even a header is kept
        raise ImageError("图片像素过多，可能是异常文件（解压炸弹），已拒绝；请缩小后再上传") from exc
    except Exception as exc:  # any parser failure on untrusted bytes means: not a usable image
        raise ImageError(_unreadable(data)) from exc
    if im.width < 1 or im.height < 1:
        raise ImageError(CORRUPT)
    return im


@contextlib.contextmanager
def _quiet():
    """Pillow's warnings silenced: odd tags are noise, and ``_check_size`` judges bombs itself."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _check_size(im: Image.Image, declared: tuple[int, int]) -> None:
    """Refuse, before decoding, pixels that would take too much memory: the decompression-bomb guard.

    ``im.size`` is what will be decoded (a JPEG after ``draft``); ``declared`` is what the file says.
    """
    pixels = im.width * im.height
    if pixels > MAX_PIXELS or pixels * _DECODE_COST.get(im.mode.split(";")[0], 4) > MAX_DECODE_BYTES:
        width, height = declared
        raise ImageError(
            f"图片像素过多（{width}×{height}，约 {width * height // 10_000} 万像素），"
            f"超过处理上限（约 {MAX_PIXELS // 10_000} 万像素，带透明通道的图片减半）；请缩小后再上传"
        )


def _unreadable(data: bytes) -> str:
    """Why Pillow could not open ``data``, said so an editor knows what to do."""
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"heim", b"hevc"):
        return HEIC
    known = data[:3] == b"\xff\xd8\xff" or data[:8] == b"\x89PNG\r\n\x1a\n" or data[:4] in (b"GIF8", b"RIFF")
    return CORRUPT if known else UNKNOWN


def _decode(im: Image.Image, scale: float) -> Image.Image:
    """The pixels of ``im`` at no less than ``scale`` of full size, upright, sRGB, in L, RGB or RGBA."""
    need = (max(1, math.ceil(im.width * scale)), max(1, math.ceil(im.height * scale)))
    icc, declared = im.info.get("icc_profile"), im.size
    try:
        with _quiet():
            if im.format in ("JPEG", "MPO") and scale < 1:
                # libjpeg decodes at 1/2, 1/4 or 1/8 directly: a 50 MP photo never sits in memory whole
                im.draft(im.mode, need)
            _check_size(im, declared)
            im.load()
        orientation = _orientation(im)
        factor = min(im.width // need[0], im.height // need[1])
        img = im.reduce(factor) if factor >= 2 and im.mode in _REDUCIBLE else im
    except ImageError:
        raise
    except Exception as exc:  # truncated or malformed pixel data
        raise ImageError(CORRUPT) from exc
    if orientation in _TRANSPOSE:
        img = img.transpose(_TRANSPOSE[orientation])
    return _normalize(_to_srgb(img, icc))


def _orientation(im: Image.Image) -> int:
    """The EXIF orientation tag (1 = upright), without decoding a PNG to find it."""
    if im.format == "PNG" and "exif" not in im.info:
        return 1
    try:
        with _quiet():
            return int(im.getexif().get(0x0112, 1))
    except Exception:  # noqa: BLE001 — a broken EXIF block is no reason to refuse the picture
        return 1


def _display_size(im: Image.Image) -> tuple[int, int]:
    """Width and height as shown: EXIF orientations 5–8 swap them."""
    return (im.height, im.width) if _orientation(im) in (5, 6, 7, 8) else im.size


def _foreign_profile(icc: bytes | None) -> bool:
    """Whether ``icc`` is a colour profile _to_srgb would convert from (one that is not sRGB)."""
    if not icc or ImageCms is None or len(icc) > _MAX_ICC_BYTES:
        return False
    try:
        return "sRGB" not in ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc)))
    except Exception:  # noqa: BLE001 - unreadable, in any of the ways a broken profile fails: _to_srgb ignores it too
        return False


def _to_srgb(img: Image.Image, icc: bytes | None) -> Image.Image:
    """``img`` converted to sRGB: WeChat's pipeline may drop profiles, and CMYK needs one to look right."""
    if not icc or ImageCms is None or img.mode not in ("RGB", "RGBA", "CMYK") or len(icc) > _MAX_ICC_BYTES:
        return img
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if img.mode != "CMYK" and "sRGB" in ImageCms.getProfileDescription(source):
            return img
        converted = ImageCms.profileToProfile(img, source, _SRGB, outputMode="RGBA" if img.mode == "RGBA" else "RGB")
        return img if converted is None else converted  # None only when converting in place
    except Exception as exc:  # noqa: BLE001 — a profile that does not fit the pixels: the pixels win
        log.debug("colour profile ignored: %s", exc)
        return img


def _normalize(img: Image.Image) -> Image.Image:
    """``img`` in L, RGB or RGBA (RGBA only if some pixel is see-through), metadata dropped."""
    mode = img.mode
    if mode.startswith("I") or mode == "F":
        img = _eight_bit(img)
    elif mode == "1":
        img = img.convert("L")
    elif (mode in ("P", "L", "RGB") and "transparency" in img.info) or mode in ("LA", "La", "PA", "RGBa"):
        img = img.convert("RGBA")
    elif mode not in ("L", "RGB", "RGBA"):  # P, CMYK, YCbCr, LAB, HSV
        img = img.convert("RGB")
    if img.mode == "RGBA" and img.getchannel("A").getextrema()[0] == 255:
        img = img.convert("RGB")
    img.info = {}  # Pillow writes info's profile back out; the privacy rule says nothing rides along
    return img


def _eight_bit(img: Image.Image) -> Image.Image:
    """A 16/32-bit grey image as 8-bit L, scaled rather than clipped to white."""
    if img.mode != "F":
        img = img.convert("I")
    high = cast(float, img.getextrema()[1])  # one band: (low, high)
    return (img.point(lambda v: v / 256) if high > 255 else img).convert("L")


# ---------------------------------------------------------------- keeping what is fine


def _as_is(data: bytes, im: Image.Image, max_bytes: int) -> Prepared | None:
    """``data`` minus its Exif/XMP, when WeChat takes it as it is: jpg/png, upright, small enough."""
    if im.format not in ("JPEG", "PNG") or im.mode == "CMYK":  # MPO carries more photos, with their own GPS
        return None
    if _orientation(im) != 1 or _foreign_profile(im.info.get("icc_profile")):
        return None  # turned, or colours WeChat would change by dropping the profile: re-encoded
    kept = _jpeg_kept(data) if im.format == "JPEG" else _png_kept(data)
    if kept is None or sum(end - start for start, end in kept) > max_bytes:
        return None  # a structure we do not follow is re-encoded rather than trusted
    _check_pixels(data)
    view = memoryview(data)
    clean = b"".join(view[start:end] for start, end in kept)
    return _prepared(clean, im.format, im.size, changed=len(clean) != len(data))


def _check_pixels(data: bytes) -> None:
    """Raise ImageError unless every pixel decodes: WeChat would show a torn picture, or none."""
    try:
        with _quiet():
            probe = Image.open(io.BytesIO(data), formats=("JPEG", "PNG"))
            declared = probe.size
            # an eighth-size JPEG decode still reads every byte of the scan, at a fraction of the cost
            probe.draft(probe.mode, (max(1, probe.width // 8), max(1, probe.height // 8)))
            _check_size(probe, declared)
            probe.load()
    except ImageError:
        raise
    except Exception as exc:
        raise ImageError(CORRUPT) from exc


def _jpeg_kept(data: bytes) -> list[tuple[int, int]] | None:
    """Byte ranges of a JPEG without APP1 (Exif, XMP), APP13 (IPTC) and COM; None if its header is odd."""
    kept, pos = [(0, 2)], 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xDA:  # start of scan: everything after is image data, kept as it is
            return [*kept, (pos, len(data))]
        end = pos + 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker not in (0xE1, 0xED, 0xFE):
            kept.append((pos, end))
        pos = end
    return None


def _png_kept(data: bytes) -> list[tuple[int, int]] | None:
    """Byte ranges of a PNG without text (XMP lives in iTXt) and tIME chunks; None if odd or with eXIf.

    An eXIf chunk may hold an orientation, which only a re-encode can apply.
    """
    kept, pos = [(0, 8)], 8
    while pos + 12 <= len(data):
        end = pos + 12 + int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        if end > len(data) or kind == b"eXIf":
            return None
        if kind not in (b"tEXt", b"zTXt", b"iTXt", b"tIME"):
            kept.append((pos, end))
        if kind == b"IEND":
            return kept
        pos = end
    return None


# ---------------------------------------------------------------- body images


def _body_scale(width: int, height: int) -> float:
    """How far a body image shrinks: long side 1920 px, or 1080 px wide for a 长图 (read by scrolling)."""
    if height > LONG_IMAGE_RATIO * width:
        return min(1.0, LONG_IMAGE_WIDTH / width)
    return min(1.0, BODY_MAX_SIDE / max(width, height))


def _is_graphic(img: Image.Image) -> bool:
    """Screenshot or line art (few colours): PNG keeps it sharp where JPEG would smear it."""
    limit = 64 if img.mode == "L" else GRAPHIC_MAX_COLORS  # any grey photo has ≤ 256 greys
    return img.getcolors(limit) is not None


def _png_under(img: Image.Image, limit: int) -> bytes | None:
    """PNG bytes under ``limit`` (plain, optimized, then 256 colours), or None if PNG cannot get there."""
    out = _encode(img, "PNG")
    if len(out) < limit:
        return out
    if len(out) < limit * 1.3:  # optimize only shaves a few per cent
        out = _encode(img, "PNG", optimize=True)
        if len(out) < limit:
            return out
    if img.mode == "L":
        return None
    out = _encode(img.quantize(256, method=Image.Quantize.FASTOCTREE), "PNG", optimize=True)
    return out if len(out) < limit else None


def _jpeg_under(img: Image.Image, limit: int) -> tuple[bytes, tuple[int, int]]:
    """JPEG bytes under ``limit`` and their size: quality 85 down to 60, then smaller, until it fits."""
    while True:
        for quality in JPEG_QUALITIES:
            out = _encode(img, "JPEG", quality=quality, optimize=True)
            if len(out) < limit:
                return out, img.size
            if quality == JPEG_QUALITIES[0] and len(out) > 2 * limit:
                break  # lower quality alone will not halve it: shrink straight away
        if min(img.size) <= 16:  # cannot happen for a real picture; never loop forever
            raise ImageError("图片无法压缩到 1 MB 以下，请换一张图片")
        img = _resized(img, min(0.9, max(0.25, math.sqrt(0.9 * limit / len(out)))))


def _flatten(img: Image.Image) -> Image.Image:
    """``img`` without alpha, laid on white (JPEG has no transparency; WeChat's page is white)."""
    if img.mode != "RGBA":
        return img
    flat = Image.new("RGB", img.size, "white")
    flat.paste(img, mask=img.getchannel("A"))
    return flat


def _resized(img: Image.Image, scale: float) -> Image.Image:
    """``img`` scaled down by ``scale`` (Lanczos); never enlarged."""
    if scale >= 1:
        return img
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    return img.resize(size, Image.Resampling.LANCZOS)


def _encode(img: Image.Image, fmt: str, **params) -> bytes:
    """``img`` saved as ``fmt``; nothing from ``img.info`` rides along (``_normalize`` emptied it)."""
    buffer = io.BytesIO()
    img.save(buffer, fmt, **params)
    return buffer.getvalue()


def _prepared(data: bytes, fmt: str, size: tuple[int, int], changed: bool = True) -> Prepared:
    """A ``Prepared`` for JPEG or PNG bytes."""
    ext, mime = ("jpg", "image/jpeg") if fmt == "JPEG" else ("png", "image/png")
    return Prepared(data, ext, mime, size[0], size[1], changed)


# ---------------------------------------------------------------- covers


def _cover_scale(width: int, height: int) -> float:
    """How far a cover's source may shrink before composing, so the result is still sharp."""
    low, high = COVER_RATIO_RANGE
    ratio, (box_w, box_h) = width / height, COVER_SIZE
    if low <= ratio <= high:
        scale = min(box_w / width, box_h / height)
    elif COVER_CROP_MIN_RATIO <= ratio < low:
        scale = box_w / width  # the crop keeps the full width
    else:
        scale = box_h / height  # the crop (or the poster) keeps the full height
    return min(1.0, scale)


def _compose_cover(img: Image.Image) -> Image.Image:
    """``img`` as a cover at most 1280×545: kept if near 2.35:1, else centre-cropped or posted on a canvas."""
    ratio = img.width / img.height
    low, high = COVER_RATIO_RANGE
    if low <= ratio <= high:
        return _fit(img, COVER_SIZE)
    if ratio >= COVER_CROP_MIN_RATIO:
        return _fit(_centre_crop(img, COVER_RATIO), COVER_SIZE)
    return _poster_canvas(img)


def _fit(img: Image.Image, box: tuple[int, int]) -> Image.Image:
    """``img`` shrunk (never enlarged) to fit ``box``."""
    return _resized(img, min(box[0] / img.width, box[1] / img.height))


def _centre_crop(img: Image.Image, ratio: float) -> Image.Image:
    """The largest centred part of ``img`` with ``width / height == ratio``."""
    width, height = img.size
    if width / height > ratio:
        new = max(1, round(height * ratio))
        return img.crop(((width - new) // 2, 0, (width - new) // 2 + new, height))
    new = max(1, round(width / ratio))
    return img.crop((0, (height - new) // 2, width, (height - new) // 2 + new))


def _poster_canvas(img: Image.Image) -> Image.Image:
    """A narrow poster whole in the middle of a 2.35:1 canvas of its own blurred, darkened self."""
    height = min(COVER_SIZE[1], img.height)
    width = min(COVER_SIZE[0], round(height * COVER_RATIO))
    poster = _resized(img, height / img.height)
    # blur small, then enlarge: as soft as a big Gaussian blur at a fraction of the cost
    small = _centre_crop(img, COVER_RATIO).resize((max(1, width // 8), max(1, height // 8)), Image.Resampling.BOX)
    backdrop = small.filter(ImageFilter.GaussianBlur(5)).resize((width, height), Image.Resampling.BICUBIC)
    canvas = ImageEnhance.Brightness(backdrop).enhance(0.55)
    canvas.paste(poster, ((width - poster.width) // 2, 0))
    return canvas
