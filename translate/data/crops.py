"""Square crops of a source's images, for networks that train on patches.

Training crops are random, with flips and 90° turns, and a crop with almost no texture
(night sky, an out-of-focus background), which teaches a restoration network nothing, is
drawn again a few times. Held-out crops are fixed, so sample grids compare across runs,
and each image offers several places (`HELDOUT_PLACES`): a held-out set of two or three
photos then still fills a grid with different crops. Keys are the engine's StepSampler
`(index, seed)`, so every crop is a pure function of (record, seed); the random state is
handed back, so that what the caller draws next (a degradation) continues the same stream.
"""

from __future__ import annotations

import random

import albumentations as A
import cv2
import numpy as np
from torch.utils.data import Dataset

from translate.data.images import to_mode
from translate.data.source import Source
from translate.data.tensors import to_tensor

__all__ = ["FLAT_RETRIES", "FLAT_STD", "HELDOUT_PLACES", "RandomState", "SquareCrops",
           "crop_at", "texture"]

# Where held-out crops sit, as fractions of the free room along (y, x): the centre first.
HELDOUT_PLACES = ((0.5, 0.5), (0.25, 0.25), (0.75, 0.75), (0.25, 0.75))
FLAT_STD = 12.0  # a crop whose grey levels vary less than this (0-255) is "flat"
FLAT_RETRIES = 3  # draws after a flat one; the most varied is kept
RandomState = tuple[np.random.Generator, random.Random]


def crop_at(pixels: np.ndarray, side: int, where: tuple[float, float]) -> np.ndarray:
    """The `side` square of (H, W, C) pixels at `where` (fractions of the room left over)."""
    top, left = (round((size - side) * f) for size, f in zip(pixels.shape[:2], where,
                                                               strict=True))
    return pixels[top:top + side, left:left + side]


def texture(pixels: np.ndarray) -> float:
    """Spread of the grey levels of an RGB crop (0-255)."""
    return float(pixels.mean(axis=2).std())


class SquareCrops(Dataset):
    """Records -> {"image": (3, side, side) in [-1, 1]}; `crop(key)` gives the uint8 pixels.

    Images smaller than `side` are reflect-padded. Held out, item k is place
    k // n of image k % n.
    """

    def __init__(self, source: Source, *, side: int, train: bool,
                 places: tuple[tuple[float, float], ...] = HELDOUT_PLACES,
                 flat_std: float = FLAT_STD, retries: int = FLAT_RETRIES) -> None:
        self.source, self.side, self.train = source, side, train
        self.places, self.flat_std, self.retries = places, flat_std, retries
        place = ([A.RandomCrop(side, side, pad_if_needed=True,
                               border_mode=cv2.BORDER_REFLECT_101),
                  A.SquareSymmetry(p=1)] if train else
                 [A.PadIfNeeded(side, side, border_mode=cv2.BORDER_REFLECT_101)])
        self.transform = A.Compose(place, seed=0)

    def __len__(self) -> int:
        return len(self.source) * (1 if self.train else len(self.places))

    def crop(self, key: int | tuple[int, int]) -> tuple[np.ndarray, RandomState]:
        """The (side, side, 3) uint8 crop for `key`, and the random state it drew from."""
        index, seed = key if isinstance(key, tuple) else (key, 0)
        # One generator for all transforms (see translate.data.pipeline.ImageDataset).
        state = (np.random.default_rng(seed), random.Random(seed))
        self.transform.set_random_state(*state)
        which, index = divmod(index, len(self.source))  # which held-out place of which image
        full = np.asarray(to_mode(self.source[index]["image"], "RGB"))
        crop = self.transform(image=full)["image"]
        if not self.train:
            crop = crop_at(crop, self.side, self.places[which])
        for _ in range(self.retries if self.train else 0):
            if texture(crop) >= self.flat_std:
                break
            again = self.transform(image=full)["image"]
            crop = again if texture(again) > texture(crop) else crop
        return np.ascontiguousarray(crop), state

    def __getitem__(self, key: int | tuple[int, int]) -> dict:
        return {"image": to_tensor(self.crop(key)[0])}
