"""What every dataset source is: indexable records with a fixed, deterministic held-out split.

A source is an indexable collection of records (`{"image": PIL.Image, "label": int}`)
whose held-out split never changes, so training never sees what evaluation measures.
The concrete sources (folders, Hugging Face datasets, torchvision, the bundled sets)
are in `translate.data.sources`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any, Literal

import numpy as np
from PIL import Image

from translate.errors import DataError

__all__ = ["InMemorySource", "Source", "SourceFactory", "Split", "Subset"]

Split = Literal["train", "heldout"]
SourceFactory = Callable[[str | None], "Source"]


class Source(ABC):
    """An indexable set of records with a deterministic train/held-out split."""

    name: str = "source"  # the --data spec it was opened from; recorded in model cards
    classes: tuple[str, ...] | None = None  # class names, when records carry labels
    heldout_fraction: float = 0.2
    split_seed: int = 0  # fixed: the split must be the same for every run and for evaluation

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    def labels(self) -> Sequence[int] | None:
        """Every record's label without decoding images, for stratified splitting."""
        return None

    def split(self, part: Split) -> Source:
        """The train or held-out part; stratified by label when there are labels."""
        train, heldout = self._split_indices
        return Subset(self, train if part == "train" else heldout, part)

    def heldout_indices(self) -> Sequence[int]:
        """Which records are held out: a seeded random share of each class by default."""
        n = len(self)
        if n < 2:
            raise DataError(f"{self.name}: needs at least 2 records to hold some out, has {n}")
        rng = np.random.default_rng(self.split_seed)
        labels = self.labels()
        groups = ([np.flatnonzero(np.asarray(labels) == c) for c in np.unique(labels)]
                  if labels is not None else [np.arange(n)])
        heldout: list[int] = []
        for group in groups:
            count = max(1, round(len(group) * self.heldout_fraction)) if len(group) > 1 else 0
            heldout.extend(rng.permutation(group)[:count].tolist())
        return heldout

    @cached_property
    def _split_indices(self) -> tuple[np.ndarray, np.ndarray]:
        mask = np.zeros(len(self), bool)
        mask[np.asarray(self.heldout_indices(), dtype=int)] = True
        return np.flatnonzero(~mask), np.flatnonzero(mask)


class Subset(Source):
    """A view of some records of a parent source."""

    def __init__(self, parent: Source, indices: Sequence[int], part: str) -> None:
        self.parent, self.indices = parent, np.asarray(indices)
        self.name, self.classes = f"{parent.name}[{part}]", parent.classes

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.parent[int(self.indices[index])]

    def labels(self) -> Sequence[int] | None:
        labels = self.parent.labels()
        return None if labels is None else [labels[i] for i in self.indices]


class InMemorySource(Source):
    """Records already decoded: the bundled sets."""

    def __init__(self, name: str, images: Sequence[Image.Image], *,
                 labels: Sequence[int] | None = None, classes: tuple[str, ...] | None = None,
                 heldout_fraction: float = 0.2, heldout: Sequence[int] | None = None) -> None:
        self.name, self.images, self._labels = name, list(images), labels
        self.classes, self.heldout_fraction, self._heldout = classes, heldout_fraction, heldout

    def heldout_indices(self) -> Sequence[int]:
        return self._heldout if self._heldout is not None else super().heldout_indices()

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> dict[str, Any]:
        record: dict[str, Any] = {"image": self.images[index]}
        if self._labels is not None:
            record["label"] = int(self._labels[index])
        return record

    def labels(self) -> Sequence[int] | None:
        return self._labels
