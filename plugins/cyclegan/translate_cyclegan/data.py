"""Unpaired data: two domains, A and B, each with its own held-out images.

A source for CycleGAN is any `Source` whose records carry a domain label (0 = A, 1 = B):

- `unpaired:PATH` — the reference layout, `trainA/ trainB/ testA/ testB/` (test folders are
  the held-out split; without them a fixed share of each train folder is held out);
- `unpaired:SPEC_A,SPEC_B` — two sources of any kind, e.g. two Hugging Face datasets
  (`unpaired:hf:user/horses,hf:user/zebras`), each split on its own;
- `hf:NAME?label=COLUMN` — one dataset whose ClassLabel/integer column names the domain;
- `photo2painting` — the bundled task (below).

Training pairs are not pairs: each item takes A in the sampler's epoch order and draws B
independently (the reference's unaligned sampling), so no A image is tied to a B image.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import albumentations as A
import cv2
import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from translate.data.pipeline import ImageDataset, Key
from translate.data.sources import (
    FolderSource,
    InMemorySource,
    Source,
    Subset,
    photos_source,
)
from translate.errors import DataError
from translate.plugins import open_source

DOMAINS = ("A", "B")


class UnpairedSource(Source):
    """Domain-labelled records assembled from four parts: train and held-out of A and of B."""

    def __init__(self, name: str, *, train: tuple[Source, Source], heldout: tuple[Source, Source],
                 classes: tuple[str, str] = DOMAINS) -> None:
        self.name, self.classes = name, classes
        parts = [(train[0], 0), (train[1], 1), (heldout[0], 0), (heldout[1], 1)]
        self._records = [(source, index, label) for source, label in parts
                         for index in range(len(source))]
        first_heldout = len(train[0]) + len(train[1])
        self._heldout = list(range(first_heldout, len(self._records)))
        for part, label in parts:
            if len(part) == 0:
                raise DataError(f"{name}: domain {classes[label]} has no images in one split")

    def __len__(self) -> int:
        return len(self._records)

    def __getitem__(self, index: int) -> dict[str, Any]:
        source, inner, label = self._records[index]
        return {"image": source[inner]["image"], "label": label}

    def labels(self) -> Sequence[int]:
        return [label for _, _, label in self._records]

    def heldout_indices(self) -> Sequence[int]:
        return self._heldout


def reference_layout_source(root: str | Path) -> UnpairedSource:
    """`trainA/ trainB/ [testA/ testB/]`, as the reference's datasets unpack."""
    root = Path(root).expanduser()
    folders = {name: root / name for name in ("trainA", "trainB", "testA", "testB")}
    missing = [name for name in ("trainA", "trainB") if not folders[name].is_dir()]
    if missing:
        raise DataError(f"{root}: not the unpaired layout (missing {', '.join(missing)}/; "
                        "expected trainA/ trainB/ and optionally testA/ testB/)")
    train = (FolderSource(folders["trainA"]), FolderSource(folders["trainB"]))
    if folders["testA"].is_dir() and folders["testB"].is_dir():
        return UnpairedSource(str(root), train=train,
                              heldout=(FolderSource(folders["testA"]),
                                       FolderSource(folders["testB"])))
    return UnpairedSource(str(root), train=(train[0].split("train"), train[1].split("train")),
                          heldout=(train[0].split("heldout"), train[1].split("heldout")))


def unpaired_source(argument: str | None) -> Source:
    """The `unpaired:` data source: a reference-layout folder, or `SPEC_A,SPEC_B`."""
    if not argument:
        raise DataError("unpaired: needs a folder (trainA/ trainB/ ...) or SPEC_A,SPEC_B")
    if Path(argument).expanduser().is_dir():
        return reference_layout_source(argument)
    if "," not in argument:
        raise DataError(f"unpaired:{argument}: not a folder, and not two sources SPEC_A,SPEC_B")
    spec_a, spec_b = (part.strip() for part in argument.split(",", 1))
    a, b = open_source(spec_a), open_source(spec_b)
    return UnpairedSource(f"unpaired:{argument}", train=(a.split("train"), b.split("train")),
                          heldout=(a.split("heldout"), b.split("heldout")))


# ---- the bundled task: photographs vs. moonlit paintings of OTHER parts of photographs ------

TILE = 64  # side of each tile, in pixels of the photo scaled to SHORT_SIDE
SHORT_SIDE = 256


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
def _photo2painting_parts() -> tuple[tuple[list, list], tuple[list, list]]:
    photos = photos_source()
    heldout = set(photos.heldout_indices())
    parts: dict[bool, tuple[list, list]] = {False: ([], []), True: ([], [])}
    for index in range(len(photos)):
        a, b = checkerboard_tiles(photos[index]["image"])
        parts[index in heldout][0].extend(a)
        parts[index in heldout][1].extend(b)
    return parts[False], parts[True]


def photo2painting_source(_: str | None = None) -> UnpairedSource:
    """The bundled unpaired task: 64x64 tiles of photos (A) and of moonlit paintings (B).

    Built from the RGB photos bundled with scikit-image and scikit-learn; the photos the
    `photos` source holds out (chelsea, china) give the held-out tiles of both domains.
    """
    (train_a, train_b), (held_a, held_b) = _photo2painting_parts()

    def part(name: str, images: list) -> InMemorySource:
        return InMemorySource(name, images, heldout=[])

    return UnpairedSource("photo2painting", classes=("photo", "painting"),
                          train=(part("photo", train_a), part("painting", train_b)),
                          heldout=(part("photo", held_a), part("painting", held_b)))


# ---- from records to tensors ------------------------------------------------------------------


def domain_indices(source: Source) -> tuple[list[int], list[int]]:
    """Which records of a domain-labelled source are A and which are B, or a one-line error."""
    labels = source.labels()
    classes = source.classes or ()
    if labels is None or len(classes) != 2:
        found = f"{len(classes)} classes" if classes else "no domain labels"
        hint = (" (it looks like the reference layout: use --data unpaired:PATH)"
                if {"trainA", "trainB"} <= set(classes) else "")
        raise DataError(f"{source.name}: cyclegan needs images of two domains A and B, found "
                        f"{found}{hint}; use unpaired:PATH, unpaired:SPEC_A,SPEC_B, or a "
                        "labelled source with two classes")
    a = [i for i, label in enumerate(labels) if label == 0]
    b = [i for i, label in enumerate(labels) if label == 1]
    if not a or not b:
        raise DataError(f"{source.name}: domain {classes[0] if not a else classes[1]} has no "
                        "images in this split")
    return a, b


class UnpairedDataset(Dataset):
    """Items {"A": (C, S, S), "B": (C, S, S)} in [-1, 1]; A and B drawn independently.

    Training keys are (index, seed) from the engine's step sampler: A is record `index`
    (every A image once per epoch) and B is drawn with `seed`, so a resumed run sees the
    same pairs. Plain integer keys (evaluation, sample grids) pair A[i] with B[i mod |B|].
    """

    def __init__(self, source: Source, *, size: int, load_size: int, mode: str,
                 train: bool) -> None:
        a, b = domain_indices(source)
        if train:  # the reference's resize-then-random-crop and horizontal flip
            extra = [A.RandomCrop(height=size, width=size), A.HorizontalFlip(p=0.5)]
            load = max(load_size, size)
        else:
            extra, load = [], size
        self.domains = [ImageDataset(Subset(source, indices, domain), size=load, mode=mode,
                                     augmentations=extra)
                        for indices, domain in ((a, "A"), (b, "B"))]
        self.classes = source.classes

    def __len__(self) -> int:
        return max(len(domain) for domain in self.domains)

    def __getitem__(self, key: int | Key) -> dict[str, torch.Tensor]:
        data_a, data_b = self.domains
        if not isinstance(key, tuple):
            return {"A": data_a[key % len(data_a)]["image"],
                    "B": data_b[key % len(data_b)]["image"]}
        index, seed = key
        rng = np.random.default_rng(seed)
        partner = int(rng.integers(len(data_b)))
        seed_a, seed_b = (int(s) for s in rng.integers(2**63 - 1, size=2))
        return {"A": data_a[(index % len(data_a), seed_a)]["image"],
                "B": data_b[(partner, seed_b)]["image"]}

    def domain(self, which: int) -> torch.Tensor:
        """Every image of one domain (0 = A, 1 = B), un-augmented, as one (N, C, S, S) batch."""
        data = self.domains[which]
        return torch.stack([data[i]["image"] for i in range(len(data))])
