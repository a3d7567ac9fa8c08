"""The bundled unpaired task, `photo2painting`: photographs vs. paintings of other photographs.

Unpaired data in general (`unpaired:PATH`, `unpaired:SPEC_A,SPEC_B`, `UnpairedSource`,
`UnpairedDataset`) is the host's: `translate.data.unpaired`. The names that lived here
still import from this module, with a DeprecationWarning.
"""

from __future__ import annotations

import warnings
from functools import cache
from typing import Any

import cv2
import numpy as np
from PIL import Image

from translate.builtins.sources import open_unpaired
from translate.data import unpaired
from translate.data.sources import photos_source

TILE = 64  # side of each tile, in pixels of the photo scaled to SHORT_SIDE
SHORT_SIDE = 256
CLASSES = ("photo", "painting")  # the domains, A and B


def paint(photo: np.ndarray) -> np.ndarray:
    """A moonlit ink-and-wash rendering of an RGB uint8 photo.

    OpenCV's edge-preserving stylisation (Gastal & Oliveira 2011, domain transform) flattens
    texture into washes and darkens edges like ink; a darker, cool blue palette then gives
    the nocturne's light. Deterministic, so the task is the same on every machine.
    """
    washed = cv2.stylization(photo, sigma_s=20, sigma_r=0.35).astype(np.float32) / 255
    moonlit = washed ** 1.2 * 0.85 * np.array([0.65, 0.9, 1.15]) + np.array([0.0, 0.03, 0.08])
    return np.clip(moonlit * 255, 0, 255).astype(np.uint8)


def checkerboard_tiles(photo: Image.Image) -> tuple[list[Image.Image], list[Image.Image]]:
    """Tiles of the photo (A) and of its painting (B), on alternate squares of a checkerboard.

    A tile is either photographed or painted, never both: no A image has its counterpart
    in B, yet both domains show the same kinds of content.
    """
    scale = SHORT_SIDE / min(photo.size)
    size = (max(TILE, round(photo.width * scale)), max(TILE, round(photo.height * scale)))
    pixels = np.asarray(photo.convert("RGB").resize(size, Image.Resampling.BOX))
    painted = paint(pixels)
    photos, paintings = [], []
    for row in range(pixels.shape[0] // TILE):
        for col in range(pixels.shape[1] // TILE):
            window = np.s_[row * TILE:(row + 1) * TILE, col * TILE:(col + 1) * TILE]
            if (row + col) % 2 == 0:
                photos.append(Image.fromarray(pixels[window]))
            else:
                paintings.append(Image.fromarray(painted[window]))
    return photos, paintings


@cache
def photo2painting_source(_: str | None = None) -> unpaired.UnpairedSource:
    """The bundled unpaired task: 64x64 tiles of photos (A) and of moonlit paintings (B).

    Built from the RGB photos bundled with scikit-image and scikit-learn; the photos the
    `photos` source holds out (chelsea, china) give the held-out tiles of both domains.
    Built once per process: the tiles do not change.
    """
    photos = photos_source()
    heldout = set(photos.heldout_indices())
    tiles: dict = {(split, domain): [] for split in ("train", "heldout") for domain in (0, 1)}
    for index in range(len(photos)):
        split = "heldout" if index in heldout else "train"
        for domain, images in enumerate(checkerboard_tiles(photos[index]["image"])):
            tiles[split, domain].extend(images)
    return unpaired.UnpairedSource.from_images(
        "photo2painting", classes=CLASSES, train=(tiles["train", 0], tiles["train", 1]),
        heldout=(tiles["heldout", 0], tiles["heldout", 1]))


# ---- names that moved to the host ---------------------------------------------------------

MOVED = ("DOMAINS", "UnpairedDataset", "UnpairedSource", "domain_indices",
         "reference_layout_source", "unpaired_source")


def __getattr__(name: str) -> Any:
    if name not in MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(f"translate_cyclegan.data.{name} moved to translate.data.unpaired.{name}",
                  DeprecationWarning, stacklevel=2)
    if name == "unpaired_source":  # the host's takes an opener for its two specs now
        return open_unpaired
    return getattr(unpaired, name)
