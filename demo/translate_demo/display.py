"""Results as a visitor sees them: small generated images enlarged pixel-exact, grids wrapped.

Nothing here changes a pixel's value: enlargement repeats pixels (nearest neighbour), so a
16x16 digit shown at 96x96 is still exactly the 16x16 digit the model drew. Only what a
model draws from nothing is enlarged; a translation is shown, and downloaded, at the size
of the upload it was made from.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image
from torchvision.utils import make_grid

from translate.data.pipeline import to_tensor
from translate.engine.samples import tensor_to_pil

SHORT_SIDE = 256  # a result is enlarged until its short side is at least this...
LONG_SIDE = 1100  # ...unless that would make its long side wider than this
TILE_SIDE = 96  # each picture of a set is enlarged to at least this, a readable face or digit
MAX_COLUMNS = 16  # a set wraps into rows of at most this many (about a square)
GAP = 2  # pixels between the pictures of a set (before enlarging)


def for_display(images: list[Image.Image]) -> Image.Image:
    """One picture to show: the image itself, or a wrapped grid of several; small ones enlarged."""
    if len(images) == 1:
        return enlarge(images[0], least=SHORT_SIDE)
    return enlarge(grid(images), least=SHORT_SIDE,
                   tile=min(min(image.size) for image in images))


def columns_for(count: int) -> int:
    """Columns of a wrapped grid: about square, never more than MAX_COLUMNS."""
    return max(1, min(count, MAX_COLUMNS, math.ceil(math.sqrt(count))))


def grid(images: list[Image.Image]) -> Image.Image:
    """The images in rows, GAP pixels of white between and around them, at their own size."""
    mode = "RGB" if any(image.mode != "L" for image in images) else "L"
    tensors = torch.stack([to_tensor(np.asarray(image.convert(mode))) for image in images])
    picture = make_grid(tensors, nrow=columns_for(len(images)), padding=GAP, pad_value=1.0)
    return tensor_to_pil(picture[: tensors.shape[1]][None])[0]


def enlarge(picture: Image.Image, *, least: int, tile: int | None = None) -> Image.Image:
    """Repeat each pixel k times, the smallest k that makes the short side >= least (and each
    tile >= TILE_SIDE), as long as the long side stays within LONG_SIDE."""
    short, long = min(picture.size), max(picture.size)
    wanted = max(1, math.ceil(least / short), math.ceil(TILE_SIDE / tile) if tile else 1)
    factor = max(1, min(wanted, LONG_SIDE // long))
    if factor == 1:
        return picture
    return picture.resize((picture.width * factor, picture.height * factor), Image.NEAREST)


def before_after(before: Image.Image, after: Image.Image) -> tuple[Image.Image, Image.Image]:
    """The input enlarged to the output's size by bicubic interpolation (the baseline such a
    model is measured against), then the output."""
    if before.size != after.size:
        before = before.convert("RGBA" if before.mode in ("RGBA", "LA") else "RGB")
        before = before.resize(after.size, Image.BICUBIC)
    return before.convert(after.mode), after
