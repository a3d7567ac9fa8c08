"""What a mask image means: the one rule for every translator with a `mask` input.

A mask with transparency is a painted layer (as the demo's editor produces): whatever is
painted, alpha > 0, is the hole. A mask without transparency is read by value: any
non-zero pixel, in any channel, is the hole. So a white-on-black PNG, a black PNG with a
red scribble and a transparent layer with strokes all mean what their authors meant.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})


def hole_array(mask: Image.Image) -> np.ndarray:
    """bool (H, W), True in the hole, from a mask image of any mode."""
    if mask.mode in _ALPHA_MODES or "transparency" in mask.info:
        rgba = np.asarray(mask.convert("RGBA"))
        alpha = rgba[..., 3]
        if (alpha < 255).any():
            return alpha > 0
        return (rgba[..., :3] > 0).any(axis=-1)
    if mask.mode not in ("1", "L", "RGB"):
        mask = mask.convert("RGB")
    values = np.asarray(mask)
    return values > 0 if values.ndim == 2 else (values > 0).any(axis=-1)


def hole_mask(mask: Image.Image) -> Image.Image:
    """The same rule as an L image: 255 in the hole, 0 elsewhere."""
    return Image.fromarray(np.uint8(hole_array(mask)) * 255)
