"""Training and evaluation images for inpainting: crops of any source, each with a hole.

Training takes random crops at random scales (a handful of bundled photos then give
endless different squares, from whole-photo views to near-native texture) and draws a
fresh mask for each, both from the sampler's per-item seed so resumed runs repeat
exactly. Held-out data is a fixed list of crops on a multi-scale grid, with fixed masks.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from translate.data.images import to_mode
from translate.data.pipeline import Key
from translate.data.source import Source
from translate.data.tensors import to_tensor

MaskFn = Callable[[np.random.Generator, int], np.ndarray]
HELDOUT_MASK_SEED = 7  # held-out items carry fixed masks (sample grids); eval draws its own


def resize(pixels: np.ndarray, size: int) -> np.ndarray:
    """A square crop to (size, size): area averaging down, bicubic up."""
    shrinking = pixels.shape[0] >= size
    return cv2.resize(pixels, (size, size),
                      interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)


def rgb_pixels(record: dict) -> np.ndarray:
    return np.asarray(to_mode(record["image"], "RGB"))


def item(crop: np.ndarray, mask: np.ndarray) -> dict[str, torch.Tensor]:
    """{"image": (3, S, S) in [-1, 1], "mask": (1, S, S) with 1 = hole}."""
    return {"image": to_tensor(np.ascontiguousarray(crop)),
            "mask": torch.from_numpy(np.ascontiguousarray(mask, dtype=np.float32))[None]}


class RandomCrops(Dataset):
    """Training items: {"image": (3, S, S) in [-1, 1], "mask": (1, S, S) with 1 = hole}."""

    def __init__(self, source: Source, *, size: int, masks: MaskFn) -> None:
        self.source, self.size, self.masks = source, size, masks

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, key: int | Key) -> dict[str, torch.Tensor]:
        index, seed = key if isinstance(key, tuple) else (key, index_seed(key))
        rng = np.random.default_rng(seed)
        pixels = rgb_pixels(self.source[index])
        height, width = pixels.shape[:2]
        shortest = min(height, width)
        # Log-uniform side: as many near-native crops as whole-image views.
        low = math.log(min(self.size, shortest))
        side = round(math.exp(rng.uniform(low, math.log(shortest))))
        top, left = int(rng.integers(0, height - side + 1)), int(rng.integers(0, width - side + 1))
        crop = resize(pixels[top:top + side, left:left + side], self.size)
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        return item(crop, self.masks(rng, self.size))


def index_seed(index: int) -> int:
    return int(np.random.SeedSequence([HELDOUT_MASK_SEED, index]).generate_state(1)[0])


def grid_boxes(height: int, width: int, size: int) -> list[tuple[int, int, int]]:
    """(top, left, side) squares: the whole short side, then halves, quarters... >= size.

    Each scale tiles the image without overlap, centred, so crops never share pixels
    within a scale and the smallest are close to the photo's native detail.
    """
    boxes = []
    side = min(height, width)
    while True:
        rows, cols = height // side, width // side
        top0, left0 = (height - rows * side) // 2, (width - cols * side) // 2
        boxes += [(top0 + r * side, left0 + c * side, side)
                  for r in range(rows) for c in range(cols)]
        side //= 2
        if side < size:
            break
    return boxes


class GridCrops(Dataset):
    """Held-out items: fixed multi-scale crops of the first images, each with a fixed mask.

    At most `count` crops, spread evenly over at most `count` images.
    """

    def __init__(self, source: Source, *, size: int, masks: MaskFn, count: int) -> None:
        self.source, self.size, self.masks = source, size, masks
        images = min(len(source), count)
        per_image = math.ceil(count / max(images, 1))
        self.items: list[tuple[int, tuple[int, int, int]]] = []
        for index in range(images):
            height, width = rgb_pixels(source[index]).shape[:2]
            boxes = grid_boxes(height, width, size)
            chosen = np.linspace(0, len(boxes) - 1, min(per_image, len(boxes))).round()
            self.items += [(index, boxes[int(i)]) for i in chosen]
        self.items = self.items[:count]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, position: int) -> dict[str, torch.Tensor]:
        index, (top, left, side) = self.items[position]
        pixels = rgb_pixels(self.source[index])
        crop = resize(pixels[top:top + side, left:left + side], self.size)
        return item(crop, self.masks(np.random.default_rng(index_seed(position)), self.size))
