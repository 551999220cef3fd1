"""publishers.images: real images built in memory with Pillow, checked by decoding the output."""

from __future__ import annotations

import io
import os
import re
import struct
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import ExifTags, Image, ImageChops, ImageCms, ImageColor, ImageDraw, ImageFont, ImageStat

from publishers import covers, images
from publishers.covers import generated_cover
from publishers.images import ImageError, Prepared, image_info, prepare_body_image, prepare_cover
from publishers.limits import BODY_IMAGE_MAX_BYTES

CHINESE = re.compile(r"[\u4e00-\u9fff]")


def photo(width: int, height: int) -> Image.Image:
    """A photo-like RGB image: smooth noise that JPEG cannot squeeze to nothing."""
    small = (max(1, width // 4), max(1, height // 4))
    noise = [Image.effect_noise(small, 60), Image.linear_gradient("L").resize(small)]
    channels = [noise[0], noise[0].transpose(Image.Transpose.ROTATE_180), Image.blend(noise[0], noise[1], 0.5)]
    return Image.merge("RGB", channels).resize((width, height), Image.Resampling.BICUBIC)


def screenshot(width: int = 600, height: int = 400) -> Image.Image:
    """Flat colours and anti-aliased text: what a screenshot or a chart looks like."""
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 0, width, 60), fill="#2b6cb0")
    for row in range(8):
        draw.text((20, 80 + row * 36), "Reimbursement 2025: 85% / 70% / 60%", fill="#333333", font_size=22)
    return img


def encode(img: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, fmt, **params)
    return buffer.getvalue()


def decoded(prepared: Prepared) -> Image.Image:
    img = Image.open(io.BytesIO(prepared.data))
    assert img.format == {"jpg": "JPEG", "png": "PNG"}[prepared.ext]
    assert prepared.mime == {"jpg": "image/jpeg", "png": "image/png"}[prepared.ext]
    assert img.size == (prepared.width, prepared.height)
    img.load()
    return img


def with_gps(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "PhoneMaker"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (28.0, 51.0, 30.0)
    return exif


# ---------------------------------------------------------------- body images


def test_large_photo_becomes_a_jpeg_under_1_mb_at_1920():
    data = encode(photo(4000, 3000), "JPEG", quality=92)
    assert len(data) > 4 * BODY_IMAGE_MAX_BYTES

    prepared = prepare_body_image(data)

    img = decoded(prepared)
    assert prepared.ext == "jpg" and prepared.changed
    assert len(prepared.data) < BODY_IMAGE_MAX_BYTES
    assert img.size == (1920, 1440) and img.mode == "RGB"


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_small_jpg_and_png_are_kept_byte_for_byte(fmt):
    data = encode(photo(800, 600), fmt)

    prepared = prepare_body_image(data)

    assert prepared.data == data and not prepared.changed
    assert (prepared.width, prepared.height) == (800, 600)


def test_a_photo_just_over_the_limit_keeps_its_size_and_only_loses_quality():
    img = photo(1900, 1400)
    data = encode(img, "JPEG", quality=97)
    assert len(data) >= BODY_IMAGE_MAX_BYTES

    prepared = prepare_body_image(data)

    assert len(prepared.data) < BODY_IMAGE_MAX_BYTES and (prepared.width, prepared.height) == (1900, 1400)


@pytest.mark.parametrize(
    ("image", "fmt", "params", "ext"),
    [
        (photo(1200, 900), "WEBP", {"quality": 90}, "jpg"),
        (screenshot(), "WEBP", {"lossless": True}, "png"),
        (photo(1200, 900), "BMP", {}, "jpg"),
        (screenshot(), "BMP", {}, "png"),
        (screenshot(), "GIF", {}, "png"),
        (photo(1200, 900), "TIFF", {}, "jpg"),
        (screenshot(), "TIFF", {"compression": "tiff_lzw"}, "png"),
    ],
    ids=["webp-photo", "webp-lossless-chart", "bmp-photo", "bmp-screenshot", "gif", "tiff-photo", "tiff-chart"],
)
def test_other_formats_become_png_for_graphics_and_jpeg_for_photos(image, fmt, params, ext):
    prepared = prepare_body_image(encode(image, fmt, **params))

    img = decoded(prepared)
    assert prepared.ext == ext and prepared.changed
    assert img.size == image.size and len(prepared.data) < BODY_IMAGE_MAX_BYTES


def test_an_animated_gif_gives_its_first_frame():
    frames = [Image.new("P", (120, 80), index) for index in (1, 2, 3)]
    for frame, colour in zip(frames, ([200, 0, 0], [0, 200, 0], [0, 0, 200]), strict=True):
        frame.putpalette([0, 0, 0] + colour * 3)
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)

    img = decoded(prepare_body_image(data))

    assert img.convert("RGB").getpixel((60, 40)) == (200, 0, 0)


def test_a_small_transparent_png_stays_png_with_its_alpha():
    img = Image.new("RGBA", (400, 300), (0, 0, 0, 0))
    ImageDraw.Draw(img).ellipse((50, 50, 350, 250), fill=(197, 48, 48, 255))
    data = encode(img, "PNG")

    prepared = prepare_body_image(data)

    assert prepared.data == data and prepared.ext == "png"


def test_a_transparent_webp_becomes_a_png_that_keeps_transparency():
    img = Image.new("RGBA", (400, 300), (0, 0, 0, 0))
    ImageDraw.Draw(img).ellipse((50, 50, 350, 250), fill=(197, 48, 48, 255))

    out = decoded(prepare_body_image(encode(img, "WEBP", lossless=True)))

    assert out.mode in ("RGBA", "P") and out.convert("RGBA").getpixel((2, 2))[3] == 0
    assert out.convert("RGBA").getpixel((200, 150)) == (197, 48, 48, 255)


def test_a_huge_transparent_png_ends_under_1_mb_on_white():
    img = photo(2600, 2600).convert("RGBA")
    alpha = Image.new("L", img.size, 0)
    ImageDraw.Draw(alpha).ellipse((300, 300, 2300, 2300), fill=255)
    img.putalpha(alpha)
    data = encode(img, "PNG", compress_level=1)
    assert len(data) > 5 * BODY_IMAGE_MAX_BYTES

    prepared = prepare_body_image(data)

    out = decoded(prepared).convert("RGBA")
    assert len(prepared.data) < BODY_IMAGE_MAX_BYTES and max(out.size) <= 1920
    corner = out.getpixel((3, 3))
    assert corner[3] == 0 or min(corner[:3]) > 240  # still transparent, or flattened on white


def test_a_transparent_graphic_over_1_mb_is_cut_to_256_colours_and_keeps_its_alpha():
    grey = Image.linear_gradient("L").resize((1400, 1400))
    img = Image.merge("RGB", [grey, grey.rotate(90), Image.effect_noise(grey.size, 8)]).convert("RGBA")
    alpha = Image.new("L", img.size, 0)
    ImageDraw.Draw(alpha).ellipse((100, 100, 1300, 1300), fill=255)
    img.putalpha(alpha)
    data = encode(img, "PNG")
    assert len(data) >= BODY_IMAGE_MAX_BYTES

    prepared = prepare_body_image(data)

    out = decoded(prepared)
    assert prepared.ext == "png" and out.mode == "P" and out.size == (1400, 1400)
    assert out.convert("RGBA").getpixel((5, 5))[3] == 0 and out.convert("RGBA").getpixel((700, 700))[3] == 255


def test_exif_orientation_is_applied_and_gps_removed():
    img = Image.new("RGB", (400, 200), "#c53030")
    ImageDraw.Draw(img).rectangle((200, 0, 400, 200), fill="#2b6cb0")  # stored: red left, blue right
    data = encode(img, "JPEG", quality=95, exif=with_gps(orientation=6))  # 6: turn 90° clockwise to view

    prepared = prepare_body_image(data)

    out = decoded(prepared)
    assert prepared.changed and out.size == (200, 400)
    red, blue = out.getpixel((100, 50)), out.getpixel((100, 350))
    assert red[0] > 150 > red[2] and blue[2] > 150 > blue[0]  # left side now on top
    assert not out.getexif() and b"Exif" not in prepared.data and b"PhoneMaker" not in prepared.data


def test_gps_is_cut_from_an_upright_jpeg_without_re_encoding_it():
    data = encode(photo(640, 480), "JPEG", quality=90, exif=with_gps())
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)

    prepared = prepare_body_image(data)

    assert prepared.changed and len(prepared.data) < len(data)
    out = decoded(prepared)
    assert not out.getexif() and b"PhoneMaker" not in prepared.data
    assert out.tobytes() == Image.open(io.BytesIO(data)).tobytes()  # the same pixels: nothing re-encoded


def test_png_metadata_is_cut_and_the_pixels_kept():
    from PIL.PngImagePlugin import PngInfo

    text = PngInfo()
    text.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta><exif:GPSLatitude>28,51N</exif:GPSLatitude></x:xmpmeta>")
    source = screenshot()
    data = encode(source, "PNG", pnginfo=text, exif=with_gps())

    prepared = prepare_body_image(data)

    out = decoded(prepared)
    assert prepared.changed and b"GPS" not in prepared.data and not out.getexif()
    assert out.convert("RGB").tobytes() == source.tobytes()


def test_cmyk_grey_and_sixteen_bit_images_come_out_in_web_modes():
    cmyk = prepare_body_image(encode(photo(300, 200).convert("CMYK"), "JPEG"))
    grey16 = Image.linear_gradient("L").resize((256, 256)).convert("I").point(lambda v: v * 256)
    tiff16 = prepare_body_image(encode(grey16.convert("I;16"), "TIFF"))

    assert decoded(cmyk).mode == "RGB" and cmyk.changed
    out = decoded(tiff16)
    assert out.mode == "L" and 100 < out.getpixel((128, 128)) < 160  # scaled, not clipped to white


def test_a_tall_infographic_keeps_a_readable_width():
    prepared = prepare_body_image(encode(screenshot(1200, 6000), "BMP"))

    assert (prepared.width, prepared.height) == (1080, 5400)
    assert len(prepared.data) < BODY_IMAGE_MAX_BYTES


# ---------------------------------------------------------------- covers


@pytest.mark.parametrize("size", [(1000, 1000), (900, 1600), (4000, 3000), (6000, 1000), (300, 300)])
def test_covers_far_from_2_35_become_2_35_jpegs(size):
    prepared = prepare_cover(encode(photo(*size), "PNG", compress_level=1))

    out = decoded(prepared)
    assert prepared.ext == "jpg" and prepared.changed
    assert abs(out.width / out.height - 2.35) <= 0.02
    assert out.width <= 1280 and out.height <= 545 and len(prepared.data) < BODY_IMAGE_MAX_BYTES


def test_a_portrait_poster_is_shown_whole_on_a_blurred_darker_canvas():
    poster = Image.new("RGB", (900, 1600), "#e8d9b0")
    draw = ImageDraw.Draw(poster)
    draw.rectangle((0, 0, 900, 150), fill="#c53030")  # a title band at the top
    draw.rectangle((0, 1450, 900, 1600), fill="#2b6cb0")  # and the sender at the bottom

    out = decoded(prepare_cover(encode(poster, "PNG")))

    middle = out.width // 2
    top, bottom = out.getpixel((middle, 10)), out.getpixel((middle, out.height - 10))
    assert top[0] > 150 > top[2] and bottom[2] > 150 > bottom[0]  # neither end chopped off
    side = out.getpixel((10, out.height // 2))
    assert sum(side) < sum(ImageColor.getrgb("#e8d9b0")) * 0.8  # the canvas is darkened


def test_a_cover_near_2_35_in_jpg_is_kept():
    data = encode(photo(1175, 500), "JPEG", quality=90)

    prepared = prepare_cover(data)

    assert prepared.data == data and not prepared.changed and prepared.ext == "jpg"


def test_a_big_or_gif_cover_near_2_35_is_shrunk_not_cropped():
    big = prepare_cover(encode(photo(3000, 1200), "PNG", compress_level=1))  # 2.5:1 but several MB
    gif = prepare_cover(encode(screenshot(940, 400), "GIF"))

    assert (big.width, big.height) == (1280, 512) and big.ext == "jpg"
    assert (gif.width, gif.height) == (940, 400) and gif.ext == "jpg"


# ---------------------------------------------------------------- hostile input


def png_claiming(width: int, height: int, colour_type: int = 2) -> bytes:
    """A tiny PNG whose header claims ``width``×``height``: the classic decompression bomb (2 RGB, 6 RGBA)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    pixels = chunk(b"IDAT", zlib.compress(b"\0" * 1000))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + pixels + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("width", "height", "colour_type"),
    [(100_000, 100_000, 2), (10_000, 8_000, 2), (20_000, 5_000, 2), (6_000, 6_000, 6), (1_000, 61_000, 0)],
    ids=["100000x100000", "80MP", "100MP-wide", "36MP-with-alpha", "61MP-grey"],
)
def test_decompression_bombs_are_refused_with_a_chinese_message(width, height, colour_type):
    data = png_claiming(width, height, colour_type)
    assert len(data) < 200

    for prepare in (prepare_body_image, prepare_cover):
        with pytest.raises(ImageError) as error:
            prepare(data)
        assert CHINESE.search(str(error.value))


# Their peak memory is measured by bench/image_memory.py: machines differ, the suite asserts
# only what the editor sees.

def test_a_real_80_mp_image_is_refused_as_too_many_pixels():
    buffer = io.BytesIO()
    Image.new("1", (10_000, 8_000), 1).save(buffer, "PNG")
    with pytest.raises(ImageError, match="像素过多"):
        prepare_body_image(buffer.getvalue())


def test_a_50_mp_phone_photo_becomes_a_1920_wide_upload_under_the_limit():
    data = encode(photo(8660, 5773), "JPEG", quality=90)
    assert len(data) > 10 * BODY_IMAGE_MAX_BYTES

    prepared = prepare_body_image(data)

    assert (prepared.ext, prepared.width) == ("jpg", 1920) and abs(prepared.height - 1280) <= 1
    assert len(prepared.data) < BODY_IMAGE_MAX_BYTES


def test_an_80_mp_jpeg_becomes_a_1920_wide_upload():
    data = encode(Image.linear_gradient("L").resize((10_000, 8_000)), "JPEG", quality=80)

    prepared = prepare_body_image(data)

    assert (prepared.ext, prepared.width, prepared.height) == ("jpg", 1920, 1536)


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"", "为空"),
        (os.urandom(5000), "无法识别"),
        (b"\x00\x00\x00\x18ftypheic" + os.urandom(100), "HEIC"),
        (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", "无法识别"),  # never handed to Ghostscript
    ],
    ids=["empty", "random", "heic", "eps"],
)
def test_what_is_not_an_image_is_refused_in_chinese(data, says):
    for prepare in (prepare_body_image, prepare_cover, image_info):
        with pytest.raises(ImageError, match=says):
            prepare(data)


def test_a_truncated_jpeg_is_refused_as_damaged():
    data = encode(photo(1200, 900), "JPEG", quality=90)

    for prepare in (prepare_body_image, prepare_cover):
        with pytest.raises(ImageError, match="已损坏或不完整"):
            prepare(data[: len(data) // 2])


def fuzz_seeds() -> list[bytes]:
    rgba = Image.new("RGBA", (40, 30), (10, 200, 30, 128))
    return [
        encode(photo(48, 32), "JPEG", exif=with_gps(6)),
        encode(photo(48, 32), "JPEG", exif=with_gps(1), progressive=True),
        encode(rgba, "PNG"),
        encode(screenshot(60, 40), "GIF"),
        encode(photo(48, 32), "BMP"),
        encode(rgba, "WEBP"),
        encode(photo(48, 32), "TIFF"),
    ]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(fuzz_seeds()),
    edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6),
    cut=st.integers(0, 10_000),
)
def test_damaged_files_give_an_image_error_or_a_valid_image(seed, edits, cut):
    data = bytearray(seed)
    for position, value in edits:
        data[position % len(data)] = value
    data = bytes(data[: max(1, len(data) - cut % len(data))])

    for prepare in (prepare_body_image, prepare_cover):
        try:
            prepared = prepare(data)
        except ImageError as error:
            assert CHINESE.search(str(error))
        else:
            assert len(prepared.data) < images.COVER_KEEP_MAX_BYTES
            Image.open(io.BytesIO(prepared.data)).load()


# ---------------------------------------------------------------- image_info


def test_image_info_reads_the_header_only_and_applies_orientation():
    data = encode(photo(400, 200), "JPEG", exif=with_gps(orientation=6))

    assert image_info(data) == ("jpeg", 200, 400)
    assert image_info(data[: len(data) // 3]) == ("jpeg", 200, 400)  # pixels missing: never decoded
    assert image_info(encode(screenshot(), "WEBP")) == ("webp", 600, 400)
    assert image_info(png_claiming(10_000, 8_000)) == ("png", 10_000, 8_000)


# ---------------------------------------------------------------- generated covers


def near_white(img: Image.Image) -> int:
    """How many pixels are white or nearly so in every channel."""
    darkest = ImageChops.darker(ImageChops.darker(*img.split()[:2]), img.split()[2])
    return sum(darkest.histogram()[236:])


@pytest.mark.parametrize("color", ["#c53030", "#2b6cb0", "#2f855a"])
def test_generated_cover_is_a_900_by_383_jpeg_in_the_category_colour(color):
    data = generated_cover("政策解读", color, "屈原医保")

    img = Image.open(io.BytesIO(data))
    assert img.format == "JPEG" and img.size == (900, 383)
    median = ImageStat.Stat(img.convert("RGB")).median
    target = ImageColor.getrgb(color)
    assert all(abs(m - t) < 60 for m, t in zip(median, target, strict=True))
    assert median.index(max(median)) == target.index(max(target))
    if covers._find_cjk_font() is not None:
        assert near_white(img.convert("RGB")) > 2000  # the title is drawn
    else:
        assert near_white(img.convert("RGB")) == 0  # no font: no text, and so no tofu boxes


def test_generated_cover_without_a_chinese_font_draws_no_text(monkeypatch):
    monkeypatch.setattr(covers, "_find_cjk_font", lambda *args: None)

    img = Image.open(io.BytesIO(generated_cover("政策解读", "#c53030", "屈原医保"))).convert("RGB")

    assert img.size == (900, 383) and near_white(img) == 0


def test_generated_cover_survives_a_bad_colour_a_bad_font_and_a_long_title():
    data = generated_cover("打击欺诈骗保维护基金安全专项行动" * 3, "not-a-colour", "屈原医保", font_path="/nowhere/x.ttf")

    assert Image.open(io.BytesIO(data)).size == (900, 383)


def test_the_font_lookup_refuses_fonts_without_chinese_and_is_cached():
    dejavu = list(Path("/usr/share/fonts").rglob("DejaVuSans.ttf"))
    if dejavu:
        assert covers._chinese_face(str(dejavu[0])) is None
    assert covers._find_cjk_font() is covers._find_cjk_font()
    found = covers._find_cjk_font()
    if found is not None:
        font = ImageFont.truetype(found[0], 40, index=found[1])
        assert covers._draws_chinese(font)


def test_the_font_lookup_finds_nothing_on_a_machine_without_chinese_fonts(monkeypatch, tmp_path):
    (tmp_path / "wqy-fake.ttc").write_bytes(b"not a font")  # a right name is not enough
    monkeypatch.setattr(covers, "_FONT_DIRS", (str(tmp_path),))
    covers._find_cjk_font.cache_clear()
    try:
        assert covers._find_cjk_font() is None
        img = Image.open(io.BytesIO(generated_cover("政策解读", "#c53030", "屈原医保"))).convert("RGB")
        assert img.size == (900, 383) and near_white(img) == 0
    finally:
        covers._find_cjk_font.cache_clear()


# --- colour profiles: what the editor saw is what readers see -----------------------------------

def swapped_profile() -> bytes:
    """An RGB colour profile whose first channel is blue and third is red (not sRGB): a picture
    tagged with it shows (255, 0, 0) as blue in any colour-managed viewer."""
    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    count = struct.unpack(">I", profile[128:132])[0]
    entries = {bytes(profile[132 + 12 * i:136 + 12 * i]): 132 + 12 * i for i in range(count)}
    red, blue = entries[b"rXYZ"], entries[b"bXYZ"]
    profile[red + 4:red + 12], profile[blue + 4:blue + 12] = profile[blue + 4:blue + 12], profile[red + 4:red + 12]
    name = profile.find("sRGB".encode("utf-16-be"))
    profile[name:name + 8] = "Test".encode("utf-16-be")  # its description no longer claims sRGB
    return bytes(profile)


def tagged(profile: bytes, fmt: str = "JPEG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (400, 300), (255, 0, 0)).save(buffer, fmt, icc_profile=profile)
    return buffer.getvalue()


def centre_colour(data: bytes) -> tuple:
    with Image.open(io.BytesIO(data)) as img:
        return img.convert("RGB").getpixel((img.width // 2, img.height // 2))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_a_picture_with_a_colour_profile_keeps_its_colours_in_wechat(fmt):
    # WeChat's pipeline may drop profiles: the pixels are converted to sRGB, the profile not sent.
    for prepare in (prepare_body_image, prepare_cover):
        prepared = prepare(tagged(swapped_profile(), fmt))
        r, g, b = centre_colour(prepared.data)[:3]
        assert b > 200 and r < 60 and g < 60, (r, g, b)  # blue, as the profile says
        with Image.open(io.BytesIO(prepared.data)) as out:
            assert "icc_profile" not in out.info


def test_an_srgb_profile_or_a_broken_one_leaves_the_colours_alone():
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    for profile in (srgb, b"not a colour profile at all", b"\0" * 200_000):
        r, g, b = centre_colour(prepare_body_image(tagged(profile)).data)[:3]
        assert r > 200 and g < 60 and b < 60, (profile[:20], (r, g, b))
