"""pix2pix's own paired data: the bundled tasks, and colourisation in CIE L*a*b*.

The paired formats any paired translator reads (`aligned:PATH`, `paired:PATH`,
`hf-paired:NAME?a=COL&b=COL`) and their augmentation are the host's:
`translate.data.paired`. What stays here:

- `photo2sketch` — the bundled starter task: the photos of
  `translate.data.sources.photos_source` and their pencil sketches, same held-out photos;
- `gray2color` — the same photos as greyscale -> colour pairs (colourisation);
- `LabPairs` — the host's `PairedDataset` for `colour_space="lab"`.
"""

from __future__ import annotations

import warnings
from typing import Any

import cv2
import numpy as np
import torch
from PIL import Image

from translate.data import paired
from translate.data.images import to_mode
from translate.data.sources import Source, photos_source
from translate.data.tensors import to_tensor
from translate_pix2pix.colour import rgb_to_lab

# Sources of pix2pix's own, offered next to the host's paired formats in error messages.
OWN_SOURCES = ("photo2sketch", "gray2color")
# Names that moved to translate.data.paired; importing them from here still works, warned.
MOVED = ("AlignedSource", "FolderPairSource", "HFPairSource", "PairedDataset", "needs_pairs")


def __getattr__(name: str) -> Any:
    if name in MOVED:
        warnings.warn(f"translate_pix2pix.data.{name} is now translate.data.paired.{name}; "
                      "the old name goes in gan-translate 0.3", DeprecationWarning, stacklevel=2)
        return getattr(paired, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def pencil_sketch(photo: Image.Image, sigma: float = 6.0) -> Image.Image:
    """The classic "colour dodge" pencil sketch: grey divided by its blurred negative.

    Flat regions go white and every edge turns into a dark stroke whose weight follows its
    contrast; squaring darkens the strokes to read like graphite. `sigma` (pixels, for
    photos with a 256-pixel shorter side) sets how wide a stroke can be.
    """
    grey = np.asarray(photo.convert("L"), dtype=np.float32)
    blurred = cv2.GaussianBlur(255.0 - grey, (0, 0), sigma * min(photo.size) / 256)
    dodge = np.clip(grey / np.maximum(255.0 - blurred, 1.0), 0.0, 1.0)
    return Image.fromarray(np.round(255 * dodge ** 2).astype(np.uint8), mode="L")


def photo_to_sketch() -> paired.DerivedPairs:
    """The bundled starter task: colour photo (A) -> pencil sketch (B).

    Whole photos of `photos_source` at a 256-pixel shorter side; its held-out photos
    (chelsea, china) are held out here too.
    """
    return paired.DerivedPairs("photo2sketch", photos_source(),
                               lambda photo: (photo, pencil_sketch(photo)), scale=256)


def grey_to_colour() -> paired.DerivedPairs:
    """Greyscale (A) -> colour (B): colourisation, best trained with colour_space=lab."""
    # ITU-R 601 luma, what "black and white" means to Pillow
    return paired.DerivedPairs("gray2color", photos_source(),
                               lambda photo: (photo.convert("L"), photo), scale=256)


class LabPairs(paired.PairedDataset):
    """colour_space=lab: only the target side is read, as RGB; the input is its L*, the
    target its a*b*, and items also carry the target as "rgb" (what figures measure)."""

    def __init__(self, source: Source, **options: Any) -> None:
        super().__init__(source, in_channels=3, out_channels=3, **options)

    def sides(self, record: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        target = np.asarray(to_mode(record[self.target_key], "RGB"))
        return target, target

    def tensors(self, inputs: np.ndarray, target: np.ndarray) -> dict[str, torch.Tensor]:
        rgb = to_tensor(target)
        lightness, ab = rgb_to_lab(rgb[None])
        return {"input": lightness[0], "image": ab[0], "rgb": rgb}
