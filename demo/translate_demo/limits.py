"""What one demo request may ask for, checked before any pixel is decoded or computed.

Three limits, each named in the message that refuses a request:

* the pixel cap of one uploaded image: TRANSLATE_MAX_PIXELS (default 50 MP, as the README
  says), which `translate demo --max-pixels N` sets for the whole process;
* a translator's cost cap, `max_output_pixels`, against its `output_pixels(sizes, params)`:
  how much work one request may make;
* a time limit per request (`translate demo --time-limit S`), enforced through
  `translate.progress` at the translator's next report (superres: the next tile).

Messages are written for the visitor, who can change the image but not the server.
"""

from __future__ import annotations

import io
import os
import re
import warnings

from PIL import Image, UnidentifiedImageError

from translate.data.images import DEFAULT_MAX_PIXELS, MAX_PIXELS_ENV
from translate.errors import ConfigError, ImageError, TranslateError
from translate.translator import Translator

DEFAULT_TIME_LIMIT = 120.0  # seconds one request may run; about 2 MP of superres on 2 cores
_PILLOW_PIXELS = re.compile(r"\((\d+) pixels\)")
# What the image policy tells a command-line user; a visitor can only change the image.
_OPERATOR_HINTS = (f"; set the {MAX_PIXELS_ENV} environment variable to raise the limit",
                   "; raise the max_pixels limit to allow it")


def pixel_cap() -> int:
    """The pixel cap in force: TRANSLATE_MAX_PIXELS, else the policy's default (50 MP)."""
    raw = os.environ.get(MAX_PIXELS_ENV, "").strip().replace("_", "")
    if not raw:
        return DEFAULT_MAX_PIXELS
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{MAX_PIXELS_ENV} must be a positive whole number of pixels, "
                          f"got {raw!r}")
    return int(raw)


def megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:.3g} MP"


def image_size(data: bytes, label: str) -> tuple[int, int] | None:
    """(width, height) read from the image's header alone, refused if over the pixel cap.

    None when Pillow cannot read a header at all; decoding then names the problem.
    """
    cap = pixel_cap()
    Image.init()
    formats = [name for name in Image.OPEN if name != "EPS"]  # as the image policy
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=formats) as image:
                width, height = image.size
    except Image.DecompressionBombError as error:
        found = _PILLOW_PIXELS.search(str(error))
        count = f"{int(found.group(1))} pixels" if found else "the image"
        raise ImageError(f"{label}: {count} is over the limit of {cap} pixels "
                         f"({megapixels(cap)}) for one image here; use a smaller image") \
            from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None
    if width * height > cap:
        raise ImageError(f"{label}: {width}x{height} = {width * height} pixels is over the "
                         f"limit of {cap} pixels ({megapixels(cap)}) for one image here; use "
                         "a smaller image")
    return width, height


def check_cost(cls: type[Translator], sizes: dict[str, tuple[int, int]],
               params: dict[str, object]) -> None:
    """Refuse a request whose result would be over the translator's `max_output_pixels`."""
    cap = cls.max_output_pixels
    if cap is None or not sizes:
        return
    pixels = cls.output_pixels(sizes, params)
    if pixels > cap:
        shown = ", ".join(f"{w}x{h}" for w, h in sizes.values())
        raise TranslateError(f"{cls.name}: {shown} would make {pixels} pixels "
                             f"({megapixels(pixels)}), over the {cap} pixels "
                             f"({megapixels(cap)}) one {cls.name} request may make here; use "
                             "a smaller image")


def for_visitors(message: str) -> str:
    """The message without advice only the server's operator can follow."""
    for hint in _OPERATOR_HINTS:
        message = message.replace(hint, "; use a smaller image")
    return message
