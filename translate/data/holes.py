"""Training and evaluation holes for inpainting: drawn on the fly, or read from files.

What any inpainting translator trains and is judged on: DeepFill v2's free-form strokes,
rectangles, a mix, or a folder of mask images. Every drawer is a pure function of a numpy
Generator, so a training batch (and a resumed run) always gets the same holes for the same
seed, and evaluation holes are fixed. Holes are float32 (H, W) arrays with 1 in the hole
and 0 on known pixels; what a user's mask image means is `translate.data.masks`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw

from translate.data.images import open_image
from translate.data.masks import hole_array
from translate.data.sources import image_files
from translate.errors import DataError

__all__ = ["MaskFiles", "MaskKind", "area_bounds", "brush_stroke", "draw_mask", "fixed_masks",
           "hole_ratio", "rectangle"]

MaskKind = Literal["freeform", "rectangles", "mixed", "files"]
# Drawing is cheap next to a training step; this many tries nearly always land in range.
MAX_TRIES = 50


def hole_ratio(mask: np.ndarray) -> float:
    """The share of pixels in the hole."""
    return float(mask.mean())


# Free-form brush strokes: Yu et al. 2019 (DeepFill v2), https://arxiv.org/abs/1806.03589,
# appendix "free-form mask generation"; widths and radii scale with the image size.
def brush_stroke(draw: ImageDraw.ImageDraw, rng: np.random.Generator, size: int) -> None:
    """One stroke: a random polyline of thick segments with rounded joints."""
    mean_angle, angle_range = 2 * math.pi / 5, 2 * math.pi / 15
    min_width, max_width = max(1, round(12 * size / 256)), max(2, round(40 * size / 256))
    average_radius = math.sqrt(2) * size / 8
    vertices = int(rng.integers(4, 13))
    angle_min = mean_angle - rng.uniform(0, angle_range)
    angle_max = mean_angle + rng.uniform(0, angle_range)
    points = [(float(rng.integers(0, size)), float(rng.integers(0, size)))]
    for i in range(vertices):
        angle = rng.uniform(angle_min, angle_max)
        angle = 2 * math.pi - angle if i % 2 == 0 else angle
        radius = float(np.clip(rng.normal(average_radius, average_radius / 2), 0,
                               2 * average_radius))
        x = float(np.clip(points[-1][0] + radius * math.cos(angle), 0, size))
        y = float(np.clip(points[-1][1] + radius * math.sin(angle), 0, size))
        points.append((x, y))
    width = int(rng.uniform(min_width, max_width))
    draw.line(points, fill=1, width=width)
    half = width / 2
    for x, y in points:
        draw.ellipse((x - half, y - half, x + half, y + half), fill=1)


def rectangle(draw: ImageDraw.ImageDraw, rng: np.random.Generator, size: int) -> None:
    """One axis-aligned box, each side between 1/8 and 1/2 of the image."""
    h, w = (int(rng.integers(max(1, size // 8), size // 2 + 1)) for _ in range(2))
    top, left = int(rng.integers(0, size - h + 1)), int(rng.integers(0, size - w + 1))
    draw.rectangle((left, top, left + w - 1, top + h - 1), fill=1)


def draw_mask(rng: np.random.Generator, size: int, *, kind: MaskKind = "mixed",
              area: tuple[float, float] = (0.05, 0.5), rectangle_share: float = 0.3) -> np.ndarray:
    """A (size, size) mask whose hole covers a share of the image within `area`.

    A target share is drawn uniformly within `area` and shapes are added one at a time
    until the hole reaches it, so hole sizes spread over the whole range; a draw that
    overshoots the upper bound starts again. `mixed` picks rectangles with probability
    `rectangle_share`, free-form strokes otherwise.
    """
    low, high = area
    if not 0 <= low <= high <= 1:
        raise ValueError(f"area must be 0 <= low <= high <= 1, got {area}")
    if kind == "mixed":
        kind = "rectangles" if rng.random() < rectangle_share else "freeform"
    shape = {"freeform": brush_stroke, "rectangles": rectangle}.get(kind)
    if shape is None:
        raise ValueError(f"cannot draw masks of kind {kind!r}")
    best, best_gap = None, math.inf
    for _ in range(MAX_TRIES):
        canvas = Image.new("L", (size, size), 0)
        draw = ImageDraw.Draw(canvas)
        ratio, target = 0.0, rng.uniform(low, high)
        while ratio < target or ratio == 0:
            shape(draw, rng, size)
            ratio = hole_ratio(np.asarray(canvas))
        mask = np.asarray(canvas, dtype=np.float32)
        if ratio <= high:
            best = mask
            break
        if ratio - high < best_gap:  # keep the nearest miss in case no try lands in range
            best, best_gap = mask, ratio - high
    if rng.random() < 0.5:
        best = best[:, ::-1]
    if rng.random() < 0.5:
        best = best[::-1, :]
    return np.ascontiguousarray(best)


class MaskFiles:
    """Masks read from a folder of images (translate.data.masks rules), resized, flipped."""

    def __init__(self, folder: str | Path) -> None:
        root = Path(folder).expanduser()
        if not root.is_dir():
            raise DataError(f"{folder}: no such mask folder")
        self.files = image_files(root, recursive=True)
        if not self.files:
            raise DataError(f"{folder}: no mask images found")

    def __call__(self, rng: np.random.Generator, size: int) -> np.ndarray:
        path = self.files[int(rng.integers(len(self.files)))]
        mask = hole_array(open_image(path, mode="RGBA"))
        picture = Image.fromarray(np.uint8(mask) * 255).resize((size, size), Image.NEAREST)
        hole = np.asarray(picture, dtype=np.float32) / 255
        if rng.random() < 0.5:
            hole = hole[:, ::-1]
        return np.ascontiguousarray(hole)


def fixed_masks(count: int, size: int, area: tuple[float, float], *, seed: int,
                kind: MaskKind = "freeform") -> list[np.ndarray]:
    """The same `count` masks for the same arguments on any machine (evaluation)."""
    rng = np.random.default_rng(seed)
    return [draw_mask(rng, size, kind=kind, area=area) for _ in range(count)]


def area_bounds(values: Sequence[float]) -> tuple[float, float]:
    """Check and return a (low, high) hole-area range."""
    low, high = values
    if not 0 < low <= high <= 1:
        raise ValueError(f"a hole-area range needs 0 < low <= high <= 1, got ({low}, {high})")
    return float(low), float(high)
