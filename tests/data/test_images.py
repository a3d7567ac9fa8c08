"""The image I/O policy: decoding, refusals, mode conversion and atomic saving."""

from __future__ import annotations

import io
import os
import random
import struct
import sys
import time
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageFile, PngImagePlugin

from translate.data import images
from translate.data.images import check_pixels, open_image, save_image, to_mode
from translate.errors import ConfigError, ImageError

RED = (255, 0, 0)
BLUE = (0, 0, 255)


# --- fixture builders ----------------------------------------------------------------------


def encode(image: Image.Image, fmt: str = "PNG", **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def png_declaring(width: int, height: int) -> bytes:
    """A valid 1x1 PNG whose IHDR is patched (with a correct CRC) to claim width x height."""
    data = bytearray(encode(Image.new("L", (1, 1))))
    assert data[12:16] == b"IHDR"
    ihdr = bytearray(data[16:29])
    ihdr[0:8] = struct.pack(">II", width, height)
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + bytes(ihdr)))
    return bytes(data)


def close_to(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 6) -> bool:
    return len(actual) == len(expected) and all(
        abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True)
    )


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def assert_one_line(error: pytest.ExceptionInfo[ImageError], label: str, phrase: str) -> str:
    message = str(error.value)
    assert "\n" not in message and "\r" not in message
    assert message.startswith(f"{label}: "), message
    assert phrase in message, message
    return message


# --- decoding what is there --------------------------------------------------------------


def test_rgb_png_from_path_is_loaded_and_detached(tmp_path: Path) -> None:
    pixels = np.random.default_rng(0).integers(0, 256, (12, 20, 3), dtype=np.uint8)
    path = write(tmp_path / "photo.png", encode(Image.fromarray(pixels)))
    before = open_fds() if sys.platform == "linux" else 0

    image = open_image(path)

    assert image.mode == "RGB" and image.size == (20, 12)
    assert not isinstance(image, ImageFile.ImageFile)  # a plain image, no file behind it
    np.testing.assert_array_equal(np.asarray(image), pixels)
    if sys.platform == "linux":
        assert open_fds() == before
    path.unlink()  # the pixels do not depend on the file
    assert image.getpixel((0, 0)) == tuple(pixels[0, 0])


def test_bytes_and_streams(tmp_path: Path) -> None:
    data = encode(Image.new("RGB", (4, 3), RED))
    assert open_image(data).getpixel((1, 1)) == RED
    assert open_image(bytearray(data)).size == (4, 3)

    stream = io.BytesIO(data)
    stream.seek(5)  # Pillow reads from the start whatever the position
    assert open_image(stream).size == (4, 3)
    assert not stream.closed  # the caller's stream stays the caller's

    class Pipe(io.RawIOBase):
        def __init__(self, payload: bytes) -> None:
            self._inner = io.BytesIO(payload)

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

        def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
            chunk = self._inner.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    assert open_image(io.BufferedReader(Pipe(data))).size == (4, 3)
    with pytest.raises(ImageError) as error:
        open_image(io.BufferedReader(Pipe(b"")), name="upload")
    assert_one_line(error, "upload", "empty file")

    with (tmp_path / "named.png").open("wb") as handle:
        handle.write(data)
    with (tmp_path / "named.png").open("rb") as handle:
        assert open_image(handle).size == (4, 3)


@pytest.mark.parametrize(
    ("fmt", "params"),
    [
        ("GIF", {}),
        ("PNG", {}),  # APNG
        ("TIFF", {}),
        ("WEBP", {"lossless": True}),
    ],
)
def test_animation_uses_first_frame(tmp_path: Path, fmt: str, params: dict) -> None:
    red, blue = Image.new("RGB", (8, 8), RED), Image.new("RGB", (8, 8), BLUE)
    data = encode(red, fmt, save_all=True, append_images=[blue], **params)
    with Image.open(io.BytesIO(data)) as check:
        assert getattr(check, "n_frames", 1) == 2
    image = open_image(write(tmp_path / f"anim.{fmt.lower()}", data))
    assert image.mode == "RGB"
    assert close_to(image.getpixel((4, 4)), RED)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    stored = Image.new("RGB", (40, 20), RED)
    stored.paste(BLUE, (20, 0, 40, 20))  # left half red, right half blue
    exif = stored.getexif()
    exif[274] = 6  # "rotate 90 degrees clockwise to display"
    path = write(tmp_path / "camera.jpg", encode(stored, "JPEG", exif=exif, quality=95))

    image = open_image(path)

    assert image.size == (20, 40)
    assert close_to(image.getpixel((10, 5)), RED, 40)  # stored left column is now the top
    assert close_to(image.getpixel((10, 35)), BLUE, 40)


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow on bad EXIF/TIFF
def test_broken_exif_keeps_the_pixels(tmp_path: Path) -> None:
    data = encode(Image.new("RGB", (6, 4), RED), "JPEG", exif=b"Exif\x00\x00II*\x00garbage")
    assert open_image(write(tmp_path / "odd.jpg", data)).size == (6, 4)


# --- 16-bit, float and integer data ------------------------------------------------------


def test_16bit_png_gradient_is_scaled_not_clipped(tmp_path: Path) -> None:
    levels = np.arange(256, dtype=np.uint16) * 257  # 0, 257, ..., 65535
    gradient = np.tile(levels, (2, 1))
    path = write(tmp_path / "depth.png", encode(Image.fromarray(gradient)))
    with Image.open(path) as raw:
        assert raw.mode.startswith("I")  # a 16-bit file really was produced

    grey = np.asarray(open_image(path, mode="L"))
    np.testing.assert_array_equal(grey[0], np.arange(256))  # every level survives
    rgb = open_image(path)
    assert rgb.getpixel((128, 0)) == (128, 128, 128)

    mid = Image.fromarray(np.array([[0, 32768, 65535]], dtype=np.uint16))
    assert list(np.asarray(to_mode(mid, "L"))[0]) == [0, 128, 255]


@pytest.mark.parametrize("mode", ["I;16", "I;16L", "I;16B"])
def test_to_mode_scales_every_16bit_layout(mode: str) -> None:
    values = np.array([[0, 257, 32768, 65535]], dtype=np.uint16)
    dtype = ">u2" if mode == "I;16B" else "<u2"
    image = Image.frombytes(mode, (4, 1), values.astype(dtype).tobytes())
    assert list(np.asarray(to_mode(image, "L"))[0]) == [0, 1, 128, 255]
    assert to_mode(image, "RGBA").getpixel((2, 0)) == (128, 128, 128, 255)


def test_mode_i_scales_16bit_range_and_clips_beyond() -> None:
    sixteen = Image.fromarray(np.array([[0, 32768, 65535]], dtype=np.int32))
    assert sixteen.mode == "I"
    assert list(np.asarray(to_mode(sixteen, "L"))[0]) == [0, 128, 255]
    wide = Image.fromarray(np.array([[-5, 100, 70000]], dtype=np.int32))
    assert list(np.asarray(to_mode(wide, "L"))[0]) == [0, 100, 255]


def test_float_unit_range_is_scaled_and_other_ranges_clipped() -> None:
    unit = Image.fromarray(np.array([[0.0, 0.5, 1.0]], dtype=np.float32))
    assert unit.mode == "F"
    assert list(np.asarray(to_mode(unit, "L"))[0]) == [0, 128, 255]
    wide = Image.fromarray(np.array([[-3.0, 100.4, 300.0, np.nan]], dtype=np.float32))
    assert list(np.asarray(to_mode(wide, "L"))[0]) == [0, 100, 255, 0]


# --- transparency ------------------------------------------------------------------------


def test_rgba_over_white_unless_alpha_is_kept(tmp_path: Path) -> None:
    rgba = Image.new("RGBA", (2, 1), (255, 0, 0, 0))
    rgba.putpixel((1, 0), (255, 0, 0, 128))
    path = write(tmp_path / "cutout.png", encode(rgba))

    rgb = open_image(path)
    assert rgb.getpixel((0, 0)) == (255, 255, 255)  # fully transparent shows the page
    assert close_to(rgb.getpixel((1, 0)), (255, 127, 127), 1)
    assert open_image(path, mode="RGBA").getpixel((1, 0)) == (255, 0, 0, 128)
    assert open_image(path, mode="L").getpixel((0, 0)) == 255


def test_palette_with_transparency_index(tmp_path: Path) -> None:
    palette = Image.new("P", (2, 1))
    palette.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    palette.putpixel((0, 0), 0)
    palette.putpixel((1, 0), 1)
    for fmt in ("PNG", "GIF"):
        path = write(tmp_path / f"indexed.{fmt.lower()}", encode(palette, fmt, transparency=0))
        with Image.open(path) as raw:
            assert raw.mode == "P"
        rgb = open_image(path)
        assert rgb.getpixel((0, 0)) == (255, 255, 255), fmt  # index 0 is see-through, not black
        assert rgb.getpixel((1, 0)) == RED, fmt
        assert open_image(path, mode="RGBA").getpixel((0, 0))[3] == 0, fmt


def test_palette_with_per_entry_alpha_and_without_transparency() -> None:
    half = Image.new("RGBA", (1, 1), (0, 0, 255, 128)).convert("P")  # tRNS with partial alpha
    half_png = encode(half)
    assert close_to(open_image(half_png).getpixel((0, 0)), (127, 127, 255), 2)

    opaque = Image.new("P", (1, 1), 0)
    opaque.putpalette([10, 200, 30])
    assert "transparency" not in opaque.info
    assert open_image(encode(opaque)).getpixel((0, 0)) == (10, 200, 30)


@pytest.mark.parametrize("mode", ["LA", "La", "PA"])
def test_grey_and_palette_alpha_modes_in_memory(mode: str) -> None:
    if mode == "PA":
        image = Image.new("PA", (2, 1))
        image.putpalette([40, 40, 40] * 256)
        image.putpixel((0, 0), (0, 0))
        image.putpixel((1, 0), (0, 255))
    else:
        image = Image.new("LA", (2, 1), (40, 0))
        image.putpixel((1, 0), (40, 255))
        if mode == "La":
            image = image.convert("La")
    assert to_mode(image, "L").getpixel((0, 0)) == 255
    assert to_mode(image, "L").getpixel((1, 0)) == 40
    assert to_mode(image, "RGB").getpixel((0, 0)) == (255, 255, 255)
    assert to_mode(image, "RGBA").getpixel((1, 0)) == (40, 40, 40, 255)


def test_rgba_with_premultiplied_alpha_in_memory() -> None:
    image = Image.new("RGBA", (1, 1), (200, 100, 0, 255)).convert("RGBa")
    assert to_mode(image, "RGB").getpixel((0, 0)) == (200, 100, 0)


def test_grey_colour_key_transparency() -> None:
    image = Image.new("L", (2, 1), 0)
    image.putpixel((1, 0), 90)
    data = encode(image, transparency=0)
    assert open_image(data, mode="L").getpixel((0, 0)) == 255
    assert open_image(data, mode="L").getpixel((1, 0)) == 90


# --- colour spaces -----------------------------------------------------------------------


def test_cmyk_jpeg_without_profile_uses_plain_conversion(tmp_path: Path) -> None:
    cyan = Image.new("CMYK", (8, 8), (255, 0, 0, 0))
    path = write(tmp_path / "print.jpg", encode(cyan, "JPEG", quality=95))
    with Image.open(path) as raw:
        assert raw.mode == "CMYK"
    assert close_to(open_image(path).getpixel((4, 4)), (0, 255, 255), 10)


def test_cmyk_with_unusable_profile_falls_back(tmp_path: Path) -> None:
    srgb_bytes = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    cyan = Image.new("CMYK", (8, 8), (255, 0, 0, 0))
    for profile in (b"not an icc profile", srgb_bytes):  # garbage, and an RGB-only profile
        data = encode(cyan, "JPEG", quality=95, icc_profile=profile)
        assert close_to(open_image(data).getpixel((4, 4)), (0, 255, 255), 10)


def test_cmyk_with_profile_goes_through_imagecms(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def fake_profile_to_profile(image, source, target, outputMode=None, **kwargs):
        calls.append(outputMode)
        return Image.new("RGB", image.size, (1, 2, 3))

    monkeypatch.setattr(ImageCms, "profileToProfile", fake_profile_to_profile)
    srgb_bytes = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(Image.new("CMYK", (4, 4), (0, 255, 0, 0)), "JPEG", icc_profile=srgb_bytes)
    assert open_image(data).getpixel((0, 0)) == (1, 2, 3)
    assert calls == ["RGB"]


@pytest.mark.parametrize("mode", ["YCbCr", "LAB", "HSV", "RGBX", "CMYK"])
def test_other_colour_modes_come_back_as_rgb(mode: str) -> None:
    colour = (200, 60, 30)
    source = Image.new("RGB", (2, 2), colour)
    if mode == "LAB":
        lab = ImageCms.createProfile("LAB")
        image = ImageCms.profileToProfile(
            source, ImageCms.createProfile("sRGB"), lab, outputMode="LAB"
        )
    else:
        image = source.convert(mode)
    assert image.mode == mode
    assert close_to(to_mode(image, "RGB").getpixel((0, 0)), colour, 6)


def test_bilevel_and_grey_targets() -> None:
    bilevel = Image.new("1", (2, 1), 0)
    bilevel.putpixel((1, 0), 1)
    assert to_mode(bilevel, "RGB").getpixel((1, 0)) == (255, 255, 255)
    assert to_mode(bilevel, "L").getpixel((0, 0)) == 0
    red = Image.new("RGB", (1, 1), RED)
    assert to_mode(red, "L").getpixel((0, 0)) == red.convert("L").getpixel((0, 0)) == 76


def test_to_mode_returns_a_new_image_and_leaves_the_input() -> None:
    original = Image.new("RGB", (3, 3), RED)
    same_mode = to_mode(original, "RGB")
    assert same_mode is not original
    same_mode.putpixel((0, 0), BLUE)
    assert original.getpixel((0, 0)) == RED
    rgba = Image.new("RGBA", (1, 1), (0, 0, 0, 0))
    to_mode(rgba, "RGB")
    assert rgba.mode == "RGBA" and rgba.getpixel((0, 0)) == (0, 0, 0, 0)


def test_unknown_target_mode_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        to_mode(Image.new("RGB", (1, 1)), "CMYK")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        open_image(encode(Image.new("RGB", (1, 1))), mode="P")  # type: ignore[arg-type]


# --- refusals ----------------------------------------------------------------------------


def test_missing_empty_directory_and_unknown_format(tmp_path: Path) -> None:
    cases = {
        tmp_path / "missing.png": "no such file",
        write(tmp_path / "empty.png", b""): "empty file",
        tmp_path: "is a directory",
        write(tmp_path / "notes.png", b"just some text, not pixels\n" * 4): (
            "not an image format Pillow can read"
        ),
        tmp_path / "missing_dir" / "x.png": "no such file",
    }
    before = open_fds() if sys.platform == "linux" else 0
    for path, phrase in cases.items():
        with pytest.raises(ImageError) as error:
            open_image(path)
        assert_one_line(error, str(path), phrase)
    if sys.platform == "linux":
        assert open_fds() == before  # refusals close what they opened


def test_truncated_png_is_reported_as_such(tmp_path: Path) -> None:
    noise = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = encode(Image.fromarray(noise))
    path = write(tmp_path / "cut.png", data[: len(data) // 2])
    with pytest.raises(ImageError) as error:
        open_image(path)
    assert_one_line(error, str(path), "truncated or corrupt image data")


def test_labels_for_bytes_names_and_odd_file_names(tmp_path: Path) -> None:
    with pytest.raises(ImageError) as error:
        open_image(b"")
    assert str(error.value) == "image: empty file"
    with pytest.raises(ImageError) as error:
        open_image(b"definitely not an image", name="upload.png")
    assert_one_line(error, "upload.png", "not an image format")
    weird = write(tmp_path / "two\nlines.png", b"")
    with pytest.raises(ImageError) as error:
        open_image(weird)
    message = str(error.value)
    assert "\n" not in message and "lines.png" in message and "empty file" in message


def test_corrupt_header_is_wrapped_not_raw() -> None:
    with pytest.raises(ImageError) as error:
        open_image(b"\x89PNG\r\n\x1a\n" + b"garbage" * 5, name="bad.png")
    assert_one_line(error, "bad.png", "cannot decode (")


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow on bad EXIF/TIFF
def test_damaged_files_only_ever_raise_image_error() -> None:
    rng = random.Random(1234)
    sources = [
        encode(Image.new("RGB", (24, 24), (30, 60, 90)), fmt)
        for fmt in ("PNG", "JPEG", "GIF", "WEBP", "TIFF", "BMP")
    ]
    outcomes = {"ok": 0, "refused": 0}
    for _ in range(240):
        data = bytearray(rng.choice(sources))
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            data = data[: rng.randrange(1, len(data))]
        try:
            open_image(bytes(data), max_pixels=1_000_000)
            outcomes["ok"] += 1
        except ImageError as error:
            assert "\n" not in str(error) and str(error).startswith("image: ")
            outcomes["refused"] += 1
    assert outcomes["refused"] > 0


def test_eps_is_not_handed_to_ghostscript() -> None:
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n%%EOF\n"
    with pytest.raises(ImageError) as error:
        open_image(eps, name="vector.eps")
    assert_one_line(error, "vector.eps", "not an image format Pillow can read")


# --- the pixel cap -----------------------------------------------------------------------


def test_bomb_header_refused_fast_and_small(tmp_path: Path) -> None:
    path = write(tmp_path / "bomb.png", png_declaring(30000, 30000))
    if sys.platform == "linux":
        import resource

        peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    with pytest.raises(ImageError) as error:
        open_image(path)
    assert time.perf_counter() - start < 1.0
    if sys.platform == "linux":
        grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before
        assert grown_kib < 100_000  # decoding would have needed about 2.7 GB
    message = assert_one_line(error, str(path), "900000000 pixels")
    assert "50000000" in message and "TRANSLATE_MAX_PIXELS" in message


def test_header_pillow_only_warns_about_is_refused_by_our_cap() -> None:
    data = png_declaring(10000, 10000)
    pillow_limit = Image.MAX_IMAGE_PIXELS
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ImageError) as error:
            open_image(data, max_pixels=10_000_000, name="huge.png")
    message = assert_one_line(error, "huge.png", "100000000 pixels")
    assert "10000000 pixels" in message
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]
    assert pillow_limit == Image.MAX_IMAGE_PIXELS  # Pillow's global is not changed


def test_cap_is_checked_from_the_header_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    data = encode(Image.new("RGB", (100, 100), RED))

    def must_not_decode(self: object) -> None:
        raise AssertionError("pixels were decoded before the size check")

    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", must_not_decode)
    with pytest.raises(ImageError) as error:
        open_image(data, max_pixels=5000, name="big.png")
    assert_one_line(error, "big.png", "100x100 = 10000 pixels is over the limit of 5000 pixels")


def test_cap_from_environment_read_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    data = encode(Image.new("RGB", (100, 100), RED))
    assert open_image(data).size == (100, 100)
    monkeypatch.setenv("TRANSLATE_MAX_PIXELS", "9_999")
    with pytest.raises(ImageError) as error:
        open_image(data)
    assert "TRANSLATE_MAX_PIXELS" in assert_one_line(error, "image", "over the limit of 9999")
    monkeypatch.setenv("TRANSLATE_MAX_PIXELS", "10000")
    assert open_image(data).size == (100, 100)
    monkeypatch.setenv("TRANSLATE_MAX_PIXELS", "lots")
    with pytest.raises(ConfigError, match="TRANSLATE_MAX_PIXELS"):
        open_image(data)
    monkeypatch.setattr(images, "DEFAULT_MAX_PIXELS", 10)
    monkeypatch.delenv("TRANSLATE_MAX_PIXELS")
    with pytest.raises(ImageError):
        open_image(data)


def test_check_pixels_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRANSLATE_MAX_PIXELS", raising=False)
    check_pixels(5000, 10000)  # exactly the default cap
    with pytest.raises(ImageError) as error:
        check_pixels(5001, 10000, name="frame.png")
    assert_one_line(error, "frame.png", "50010000 pixels")
    check_pixels(10, 10, max_pixels=100)
    with pytest.raises(ImageError):
        check_pixels(10, 11, max_pixels=100)
    with pytest.raises(ValueError):
        check_pixels(1, 1, max_pixels=0)


def test_pillow_limit_follows_a_raised_cap_and_is_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    data = encode(Image.new("RGB", (100, 100), RED))  # 10000 pixels, 10x Pillow's limit
    assert open_image(data, max_pixels=20_000).size == (100, 100)
    assert Image.MAX_IMAGE_PIXELS == 1000
    with pytest.raises(ImageError) as error:  # over our cap: Pillow's warning becomes ours
        open_image(data, max_pixels=5_000)
    assert_one_line(error, "image", "10000 pixels is over the limit of 5000 pixels")
    assert Image.MAX_IMAGE_PIXELS == 1000


# --- saving ------------------------------------------------------------------------------


def leftovers(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if ".tmp-" in p.name]


def test_save_image_writes_png_and_creates_parents(tmp_path: Path) -> None:
    target = tmp_path / "out" / "deeper" / "result.png"
    image = Image.new("RGBA", (5, 4), (10, 20, 30, 40))
    written = save_image(image, str(target))
    assert written == target and target.read_bytes().startswith(b"\x89PNG")
    with Image.open(target) as back:
        assert back.mode == "RGBA" and back.getpixel((0, 0)) == (10, 20, 30, 40)
    save_image(Image.new("L", (2, 2), 7), target)  # overwrite in place
    with Image.open(target) as back:
        assert back.mode == "L" and back.size == (2, 2)
    assert leftovers(target.parent) == []


@pytest.mark.parametrize("mode", ["CMYK", "F", "YCbCr", "I;16"])
def test_save_image_takes_modes_png_cannot_hold(tmp_path: Path, mode: str) -> None:
    image = Image.new("RGB", (3, 3), (0, 255, 255)).convert(mode)
    target = save_image(image, tmp_path / f"{mode.replace(';', '_')}.png")
    assert open_image(target).size == (3, 3)


def test_failed_rename_leaves_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "keep.png"
    save_image(Image.new("RGB", (2, 2), RED), target)
    old = target.read_bytes()

    def broken_replace(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(ImageError) as error:
        save_image(Image.new("RGB", (2, 2), BLUE), target)
    assert_one_line(error, str(target), "No space left on device")
    assert target.read_bytes() == old
    with pytest.raises(ImageError):
        save_image(Image.new("RGB", (2, 2), BLUE), tmp_path / "fresh.png")
    assert not (tmp_path / "fresh.png").exists()
    assert leftovers(tmp_path) == []


def test_failure_while_encoding_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_save = Image.Image.save

    def half_then_crash(self: Image.Image, fp: object, *args: object, **kwargs: object) -> None:
        fp.write(b"\x89PNG half")  # type: ignore[attr-defined]
        raise RuntimeError("encoder crashed")

    monkeypatch.setattr(Image.Image, "save", half_then_crash)
    with pytest.raises(RuntimeError):
        save_image(Image.new("RGB", (2, 2)), tmp_path / "never.png")
    monkeypatch.setattr(Image.Image, "save", real_save)
    assert list(tmp_path.iterdir()) == []


def test_saved_image_round_trips_through_open_image(tmp_path: Path) -> None:
    pixels = np.random.default_rng(2).integers(0, 256, (9, 7, 3), dtype=np.uint8)
    path = save_image(Image.fromarray(pixels), tmp_path / "round.png")
    np.testing.assert_array_equal(np.asarray(open_image(path)), pixels)
