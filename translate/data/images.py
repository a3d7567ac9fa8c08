"""The one image I/O policy shared by the CLI, the datasets and the web demo.

Every image that enters the tool goes through :func:`open_image` (paths, bytes, streams) or
:func:`to_mode` (images already in memory), so a picture looks the same to a model whether it
came from a folder, a dataset record or a browser upload. Every refusal is an
:class:`~translate.errors.ImageError` whose message is one line starting with the file's name.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import stat
import struct
import threading
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from translate.errors import ConfigError, ImageError
from translate.files import atomic_write_bytes

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "MAX_PIXELS_ENV",
    "check_pixels",
    "open_image",
    "save_image",
    "to_mode",
]

Mode = Literal["RGB", "L", "RGBA"]
ImageSource = str | os.PathLike | bytes | BinaryIO

DEFAULT_MAX_PIXELS: int = 50_000_000
MAX_PIXELS_ENV = "TRANSLATE_MAX_PIXELS"

_MODES = ("RGB", "L", "RGBA")
_UINT16_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})
# Modes Pillow's PNG writer stores as they are; anything else goes through the policy first.
_PNG_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "P", "RGB", "RGBA"})
# EPS is decoded by running Ghostscript, an external interpreter; an uploaded file must never
# be able to start a program, so the format is not offered to Pillow at all.
_REFUSED_FORMATS = frozenset({"EPS"})
_WHITE = (255, 255, 255, 255)
_PILLOW_PIXELS = re.compile(r"\((\d+) pixels\)")
# Serialises the rare calls that lift Pillow's global bomb limit, so that each one restores
# the value it found rather than a value another call put there.
_PILLOW_LIMIT_LOCK = threading.Lock()


# --- the pixel cap -----------------------------------------------------------------------


def check_pixels(
    width: int, height: int, *, max_pixels: int | None = None, name: str = "image"
) -> None:
    """Raise ImageError if ``width * height`` exceeds the cap.

    The cap is ``max_pixels`` when given, else the ``TRANSLATE_MAX_PIXELS`` environment
    variable, else :data:`DEFAULT_MAX_PIXELS`; the environment is read on every call.
    """
    cap, hint = _resolve_cap(max_pixels)
    _refuse_if_over(name, width, height, cap, hint)


def _refuse_if_over(label: str, width: int, height: int, cap: int, hint: str) -> None:
    pixels = width * height
    if pixels > cap:
        raise _error(
            label, f"{width}x{height} = {pixels} pixels is over the limit of {cap} pixels; {hint}"
        )


def _resolve_cap(max_pixels: int | None) -> tuple[int, str]:
    """Return the cap in force and a hint telling the user how to raise it."""
    if max_pixels is not None:
        if isinstance(max_pixels, bool) or not isinstance(max_pixels, int) or max_pixels < 1:
            raise ValueError(f"max_pixels must be a positive int, got {max_pixels!r}")
        return max_pixels, "raise the max_pixels limit to allow it"
    hint = f"set the {MAX_PIXELS_ENV} environment variable to raise the limit"
    raw = os.environ.get(MAX_PIXELS_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_PIXELS, hint
    try:
        cap = int(raw.replace("_", ""))
    except ValueError:
        cap = 0
    if cap < 1:
        raise ConfigError(
            f"{MAX_PIXELS_ENV} must be a positive whole number of pixels, got {raw!r}"
        )
    return cap, hint


@contextlib.contextmanager
def _pillow_limit_at_least(cap: int) -> Iterator[None]:
    """Let Pillow's own bomb limit follow our cap while one image is opened.

    Pillow warns above ``MAX_IMAGE_PIXELS`` (about 89 M) and refuses above twice that. With
    the limit at least our cap, any Pillow bomb signal means the image is over OUR cap, so
    turning it into an ImageError agrees with the policy, and a user who raised
    TRANSLATE_MAX_PIXELS past Pillow's default is not stopped by Pillow instead. The global is
    only touched in that rare case, and always put back.
    """
    limit = Image.MAX_IMAGE_PIXELS
    if limit is None or cap <= limit:
        yield
        return
    with _PILLOW_LIMIT_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = cap if saved is not None else None
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _bomb_error(label: str, exc: Exception, cap: int, hint: str) -> ImageError:
    # Pillow only says how many pixels in its message; the size never reaches us.
    found = _PILLOW_PIXELS.search(str(exc))
    count = f"{found.group(1)} pixels" if found else "the image"
    return _error(label, f"{count} is over the limit of {cap} pixels; {hint}")


# --- reading -----------------------------------------------------------------------------


def open_image(
    source: ImageSource,
    *,
    mode: Mode = "RGB",
    max_pixels: int | None = None,
    name: str | None = None,
) -> Image.Image:
    """Decode an image by the project's policy and return a fully loaded image in `mode`.

    ``source`` is a path, the encoded bytes, or a binary stream (read from its start, and left
    open). ``name`` labels error messages; it defaults to the path, the stream's name or
    ``"image"``. Only the first frame of an animation is used, EXIF orientation is applied, and
    the result owns its pixels: no file handle stays open behind it.
    """
    _check_mode(mode)
    cap, hint = _resolve_cap(max_pixels)
    label = _label_for(source, name)
    with _stream_for(source, label) as stream:
        image = _decode(stream, label, cap, hint)
    return _convert(image, mode, label)


def to_mode(image: Image.Image, mode: Mode) -> Image.Image:
    """Convert an already-open PIL image to `mode` by the same rules as :func:`open_image`.

    Used for images that are already in memory (dataset records, demo inputs). Always returns
    a new image; the input is left as it was.
    """
    _check_mode(mode)
    label = getattr(image, "filename", "") or "image"
    return _convert(image, mode, str(label))


def _check_mode(mode: str) -> None:
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {', '.join(_MODES)}, got {mode!r}")


def _label_for(source: object, name: str | None) -> str:
    if name:
        return name
    if isinstance(source, (str, os.PathLike)):
        return os.fsdecode(source)
    stream_name = getattr(source, "name", None)
    if isinstance(stream_name, str) and stream_name:
        return stream_name
    return "image"


@contextlib.contextmanager
def _stream_for(source: ImageSource, label: str) -> Iterator[BinaryIO]:
    """Yield a seekable binary stream holding the encoded image, closing what we opened."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise _error(label, "empty file")
        yield io.BytesIO(source)
        return

    if isinstance(source, (str, os.PathLike)):
        with _open_path(os.fsdecode(source), label) as stream:
            yield stream
        return

    if not hasattr(source, "read"):
        raise TypeError(f"cannot read an image from {type(source).__name__}")
    try:
        # Duck-typed streams may lack seekable(); reading them whole is the safe route.
        if getattr(source, "seekable", lambda: False)():
            # Pillow reads from the start of the stream, so that is where "empty" is judged.
            size = source.seek(0, os.SEEK_END)
            source.seek(0)
            stream: BinaryIO = source
        else:
            data = source.read()
            size = len(data)
            stream = io.BytesIO(data)
    except (OSError, ValueError, AttributeError) as exc:
        raise _error(label, f"cannot read the stream ({_describe(exc)})") from None
    if size == 0:
        raise _error(label, "empty file")
    yield stream


@contextlib.contextmanager
def _open_path(path: str, label: str) -> Iterator[BinaryIO]:
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the with-block below
    except (FileNotFoundError, NotADirectoryError):
        raise _error(label, "no such file") from None
    except IsADirectoryError:
        raise _error(label, "is a directory, not an image file") from None
    except PermissionError:
        # Windows reports a directory as a permission problem.
        if os.path.isdir(path):
            raise _error(label, "is a directory, not an image file") from None
        raise _error(label, "permission denied") from None
    except OSError as exc:
        raise _error(label, f"cannot open the file ({_describe(exc)})") from None
    with handle:
        try:
            info = os.fstat(handle.fileno())
            if stat.S_ISDIR(info.st_mode):
                raise _error(label, "is a directory, not an image file")
            if stat.S_ISREG(info.st_mode):
                if info.st_size == 0:
                    raise _error(label, "empty file")
                stream: BinaryIO = handle
            else:
                # A pipe or device has no size to ask for; read it to find out.
                stream = io.BytesIO(handle.read())
                if not stream.getbuffer().nbytes:
                    raise _error(label, "empty file")
        except OSError as exc:
            raise _error(label, f"cannot read the file ({_describe(exc)})") from None
        yield stream


def _decode(stream: BinaryIO, label: str, cap: int, hint: str) -> Image.Image:
    """Open lazily, check the header size against the cap, then decode the first frame."""
    bomb = (Image.DecompressionBombError, Image.DecompressionBombWarning)
    # The warning is raised as an exception so that decoding stops where Pillow flags it.
    # catch_warnings is process-wide before Python 3.14; if two threads interleave, the worst
    # outcome is that the filter is kept or dropped for a moment, and our own header check
    # below still refuses anything Pillow would have flagged, since its limit is >= our cap.
    with _pillow_limit_at_least(cap), warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            opened = Image.open(stream, formats=_allowed_formats())
        except UnidentifiedImageError:
            raise _error(label, "not an image format Pillow can read") from None
        except bomb as exc:
            raise _bomb_error(label, exc, cap, hint) from None
        except Exception as exc:
            raise _error(label, f"cannot decode ({_describe(exc)})") from None

        with opened:
            try:
                opened.seek(0)  # the first frame of an animation or multi-page file
            except bomb as exc:
                raise _bomb_error(label, exc, cap, hint) from None
            except Exception as exc:
                raise _error(label, f"cannot decode ({_describe(exc)})") from None

            # Image.open read only the header: refuse before any pixel memory is allocated.
            _refuse_if_over(label, *opened.size, cap, hint)

            try:
                opened.load()
            except bomb as exc:
                raise _bomb_error(label, exc, cap, hint) from None
            except (OSError, EOFError, SyntaxError, ValueError, struct.error, zlib.error) as exc:
                # Pillow reports cut-off and damaged streams through all of these.
                raise _error(label, f"truncated or corrupt image data ({_describe(exc)})") from None
            except Exception as exc:
                raise _error(label, f"cannot decode ({_describe(exc)})") from None

            try:
                # Cameras store the sensor's orientation in EXIF; viewers rotate, so must we.
                # Returns a copy, which detaches the pixels from the file.
                return ImageOps.exif_transpose(opened)
            except Exception:
                # Broken EXIF is metadata damage: the pixels are fine, so keep them as stored.
                return opened.copy()


def _allowed_formats() -> list[str]:
    Image.init()
    return [fmt for fmt in Image.OPEN if fmt not in _REFUSED_FORMATS]


# --- mode conversion ---------------------------------------------------------------------


def _convert(image: Image.Image, mode: Mode, label: str) -> Image.Image:
    try:
        flat = _to_8bit(image)
        result = _to_target(flat, mode)
    except ImageError:
        raise
    except Exception as exc:
        raise _error(
            label, f"cannot convert mode {image.mode} to {mode} ({_describe(exc)})"
        ) from None
    # Callers may draw on the result; never hand back the caller's own object.
    return result.copy() if result is image else result


def _to_8bit(image: Image.Image) -> Image.Image:
    """Bring any mode to L, LA, RGB or RGBA with 8 bits per band, keeping transparency."""
    mode = image.mode
    if mode in ("L", "RGB", "P", "1") and _has_transparency(image):
        return image.convert("RGBA")
    if mode in ("L", "LA", "RGB", "RGBA"):
        return image
    if mode == "1":
        return image.convert("L")
    if mode == "P":
        return image.convert("RGB")
    if mode == "PA":
        return image.convert("RGBA")
    if mode == "La":  # premultiplied alpha: undo it before anything else
        return image.convert("LA")
    if mode == "RGBa":
        return image.convert("RGBA")
    if mode == "CMYK":
        return _cmyk_to_rgb(image)
    if mode in _UINT16_MODES:
        return _uint16_to_l(np.asarray(image))
    if mode == "I" or mode.startswith("I;"):
        return _int_to_l(np.asarray(image if mode == "I" else image.convert("I")))
    if mode == "F":
        return _float_to_l(np.asarray(image))
    # YCbCr, LAB, HSV, RGBX and whatever else Pillow knows how to turn into RGB.
    return image.convert("RGBA" if "A" in image.getbands() else "RGB")


def _has_transparency(image: Image.Image) -> bool:
    if "transparency" in image.info:
        return True
    palette = getattr(image, "palette", None)
    return image.mode == "P" and palette is not None and palette.mode == "RGBA"


def _uint16_to_l(values: np.ndarray) -> Image.Image:
    # Scale, do not clip: Pillow's convert("L") clips, which turns almost every 16-bit pixel
    # white. Integer round-to-nearest of v * 255 / 65535 (65535 is odd, so there are no ties).
    wide = values.astype(np.uint32)
    return Image.fromarray(((wide * 255 + 32767) // 65535).astype(np.uint8))


def _int_to_l(values: np.ndarray) -> Image.Image:
    # Mode I is what older Pillow and some TIFFs give for 16-bit data, so 0..65535 is read as
    # 16-bit and scaled. Anything outside that range has no known white point: clip instead.
    if values.size and values.min() >= 0 and values.max() <= 65535:
        return _uint16_to_l(values)
    return Image.fromarray(np.clip(values, 0, 255).astype(np.uint8))


def _float_to_l(values: np.ndarray) -> Image.Image:
    # Float images are either normalised (0..1, e.g. from a model) or already 0..255.
    top = float(np.finfo(np.float32).max)
    clean = np.nan_to_num(values.astype(np.float32), nan=0.0, posinf=top, neginf=-top)
    if clean.size and clean.min() >= 0.0 and clean.max() <= 1.0:
        clean = clean * 255.0
    return Image.fromarray(np.rint(np.clip(clean, 0.0, 255.0)).astype(np.uint8))


def _cmyk_to_rgb(image: Image.Image) -> Image.Image:
    profile = image.info.get("icc_profile")
    if profile:
        try:
            # Print profiles differ a lot; the embedded one is the only faithful route to sRGB.
            from PIL import ImageCms

            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            srgb = ImageCms.createProfile("sRGB")
            converted = ImageCms.profileToProfile(image, source, srgb, outputMode="RGB")
            if converted is not None:
                return converted
        except Exception:
            pass  # broken or unsupported profile (or no LittleCMS): the naive formula is close
    return image.convert("RGB")


def _to_target(flat: Image.Image, mode: Mode) -> Image.Image:
    if mode == "RGBA":
        return flat if flat.mode == "RGBA" else flat.convert("RGBA")
    if flat.mode in ("LA", "RGBA"):
        # A viewer draws transparent pixels over a light page; white is what users saw when
        # they chose the picture, and a black default would invent dark halos.
        flat = _over_white(flat)
    return flat if flat.mode == mode else flat.convert(mode)


def _over_white(image: Image.Image) -> Image.Image:
    rgba = image if image.mode == "RGBA" else image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, _WHITE)
    return Image.alpha_composite(background, rgba).convert("RGB")


# --- writing -----------------------------------------------------------------------------


def save_image(image: Image.Image, path: str | os.PathLike) -> Path:
    """Write `image` as PNG to `path` atomically, creating parent directories.

    The PNG is encoded in memory, then written through a temp file and renamed over `path`,
    so a crash or a full disk never leaves a half-written file and an existing file keeps its
    old content on failure. Modes PNG cannot hold (CMYK, F, ...) are
    converted by the reading policy first. Returns the destination path.
    """
    dest = Path(path)
    if image.mode not in _PNG_MODES:
        has_alpha = "A" in image.getbands() or image.mode in ("La", "RGBa", "PA")
        single = len(image.getbands()) == 1
        image = to_mode(image, "RGBA" if has_alpha else "L" if single else "RGB")
    encoded = io.BytesIO()
    image.save(encoded, format="PNG")
    try:
        atomic_write_bytes(dest, encoded.getvalue())
    except OSError as exc:
        raise _error(str(dest), f"cannot write the image ({_describe(exc)})") from exc
    return dest


# --- messages ----------------------------------------------------------------------------


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _error(label: str, problem: str) -> ImageError:
    # The CLI prints these as they are and the demo shows them in a toast: keep them one line,
    # even when a file name or a library message carries a newline.
    return ImageError(re.sub(r"\s*[\r\n]+\s*", " ", f"{label}: {problem}").strip())
