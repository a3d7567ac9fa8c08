"""Unpaired data: images of two domains, A and B, each with its own held-out images.

An unpaired source is any `Source` whose records carry a domain label (0 = A, 1 = B) and
which names exactly two classes:

- `unpaired:PATH`: the layout of the CycleGAN reference's datasets (horse2zebra, ...),
  `trainA/ trainB/ testA/ testB/`; the test folders are the held-out split, and without
  them a fixed share of each train folder is held out;
- `unpaired:SPEC_A,SPEC_B`: two sources of any kind, e.g. two Hugging Face datasets
  (`unpaired:hf:user/horses,hf:user/zebras`), each split on its own;
- any labelled source with two classes, e.g. `hf:NAME?label=COLUMN`.

`UnpairedDataset` turns one into training items that are not pairs: A is taken in the
sampler's epoch order and B is drawn independently (the reference's unaligned sampling),
so no A image is tied to a B image.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import albumentations as A
import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from translate.data.pipeline import ImageDataset, Key
from translate.data.source import InMemorySource, Source, Subset
from translate.data.sources import FolderSource
from translate.errors import DataError

__all__ = ["DOMAINS", "UnpairedDataset", "UnpairedSource", "domain_indices",
           "reference_layout_source", "unpaired_source"]

DOMAINS = ("A", "B")
Opener = Callable[[str], Source]  # a `--data` spec -> its source (the registry's open_source)


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

    @classmethod
    def from_images(cls, name: str, *, train: tuple[Sequence[Image.Image], Sequence[Image.Image]],
                    heldout: tuple[Sequence[Image.Image], Sequence[Image.Image]],
                    classes: tuple[str, str] = DOMAINS) -> UnpairedSource:
        """Images already decoded (a bundled task, a test): (A, B) lists for each split."""
        def part(images: Sequence[Image.Image], label: int) -> InMemorySource:
            return InMemorySource(classes[label], images, heldout=[])

        return cls(name, classes=classes, train=(part(train[0], 0), part(train[1], 1)),
                   heldout=(part(heldout[0], 0), part(heldout[1], 1)))

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


def unpaired_source(argument: str | None, *, opener: Opener) -> UnpairedSource:
    """The `unpaired:` data source: a reference-layout folder, or `SPEC_A,SPEC_B`.

    `opener` opens each of the two specs (the registry's `open_source`, which knows every
    registered source; this module does not know the registry).
    """
    if not argument:
        raise DataError("unpaired: needs a folder (trainA/ trainB/ ...) or SPEC_A,SPEC_B")
    if Path(argument).expanduser().is_dir():
        return reference_layout_source(argument)
    if "," not in argument:
        raise DataError(f"unpaired:{argument}: not a folder, and not two sources SPEC_A,SPEC_B")
    spec_a, spec_b = (part.strip() for part in argument.split(",", 1))
    a, b = opener(spec_a), opener(spec_b)
    return UnpairedSource(f"unpaired:{argument}", train=(a.split("train"), b.split("train")),
                          heldout=(a.split("heldout"), b.split("heldout")))


def domain_indices(source: Source) -> tuple[list[int], list[int]]:
    """Which records of a domain-labelled source are A and which are B, or a one-line error."""
    labels = source.labels()
    classes = source.classes or ()
    if labels is None or len(classes) != 2:
        found = f"{len(classes)} classes" if classes else "no domain labels"
        hint = (" (it looks like the reference layout: use --data unpaired:PATH)"
                if {"trainA", "trainB"} <= set(classes) else "")
        raise DataError(f"{source.name}: unpaired translation needs images of two domains A "
                        f"and B, found {found}{hint}; use unpaired:PATH, "
                        "unpaired:SPEC_A,SPEC_B, or a labelled source with two classes")
    a = [i for i, label in enumerate(labels) if label == 0]
    b = [i for i, label in enumerate(labels) if label == 1]
    if not a or not b:
        raise DataError(f"{source.name}: domain {classes[0] if not a else classes[1]} has no "
                        "images in this split")
    return a, b


class UnpairedDataset(Dataset):
    """Items {"A": (C, S, S), "B": (C, S, S)} in [-1, 1]; A and B drawn independently.

    For training, images are resized to `load_size` (at least `size`), randomly cropped to
    `size` and flipped half the time: the reference's `resize_and_crop` with flips. Held-out
    images are only resized to `size`.

    Training keys are (index, seed) from the engine's step sampler: A is record `index`
    (every A image once per epoch) and B is drawn with `seed`, so a resumed run sees the
    same pairs. Plain integer keys (evaluation, sample grids) pair A[i] with B[i mod |B|].
    """

    def __init__(self, source: Source, *, size: int, mode: Literal["L", "RGB"], train: bool,
                 load_size: int = 0) -> None:
        a, b = domain_indices(source)
        if train:
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
