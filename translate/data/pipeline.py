"""From records to training batches: albumentations transforms and resumable sampling.

Every batch is a pure function of (seed, batch number): which records it holds and
how each is augmented. A run resumed at step N therefore sees exactly the batches
the uninterrupted run would have seen, with any number of DataLoader workers.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from translate.data.images import to_mode
from translate.data.source import Source
from translate.data.tensors import to_tensor

if TYPE_CHECKING:
    import albumentations as A

__all__ = ["ImageDataset", "Key", "StepSampler", "first_items", "to_tensor", "training_loader"]

Key = tuple[int, int]  # (record index, augmentation seed)


class ImageDataset(Dataset):
    """Records -> {"image": (C, H, W) float in [-1, 1], "label": long} at a square size."""

    def __init__(self, source: Source, *, size: int, mode: Literal["L", "RGB"],
                 augmentations: Sequence[A.BasicTransform] = ()) -> None:
        import albumentations as A  # slow to import; `translate list` never needs it

        self.source, self.mode = source, mode
        # Shrinking uses area averaging (no aliasing); a non-square image is centre-cropped,
        # as a user expects of a square generator.
        self.transform = A.Compose([
            A.SmallestMaxSize(max_size=size, interpolation=cv2.INTER_LINEAR,
                              area_for_downscale="image"),
            A.CenterCrop(height=size, width=size),
            *augmentations,
        ], seed=0)

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, key: int | Key) -> dict[str, torch.Tensor]:
        index, seed = key if isinstance(key, tuple) else (key, None)
        record = self.source[index]
        if seed is not None:
            # One generator shared by all transforms: set_random_seed(seed) would give each
            # transform its own generator with the same seed, so their random choices would
            # coincide (every p=0.5 transform firing together).
            self.transform.set_random_state(np.random.default_rng(seed), random.Random(seed))
        pixels = self.transform(image=np.asarray(to_mode(record["image"], self.mode)))["image"]
        item = {"image": to_tensor(pixels)}
        if "label" in record:
            item["label"] = torch.tensor(record["label"], dtype=torch.long)
        return item


class StepSampler(Sampler[list[Key]]):
    """An endless stream of batches; batch b depends only on (seed, b), never on history."""

    def __init__(self, size: int, batch_size: int, *, seed: int, rank: int = 0,
                 world_size: int = 1, start_batch: int = 0) -> None:
        if size < 1:
            raise ValueError("cannot sample from an empty dataset")
        self.size, self.batch_size, self.seed = size, batch_size, seed
        self.rank, self.world_size, self.start_batch = rank, world_size, start_batch

    def __iter__(self) -> Iterator[list[Key]]:
        batch = self.start_batch
        while True:
            yield self.batch(batch)
            batch += 1

    def batch(self, number: int) -> list[Key]:
        """This process's share of global batch `number`: (record, augmentation seed) pairs."""
        first = (number * self.world_size + self.rank) * self.batch_size
        return [self._key(position) for position in range(first, first + self.batch_size)]

    def _key(self, position: int) -> Key:
        # Epochs run back to back over fresh permutations, so a dataset smaller than a
        # batch still works and no record is seen twice before all have been seen once.
        epoch, offset = divmod(position, self.size)
        index = int(_permutation(self.seed, epoch, self.size)[offset])
        augmentation_seed = int(np.random.SeedSequence([self.seed, position]).generate_state(1)[0])
        return index, augmentation_seed


@lru_cache(maxsize=4)
def _permutation(seed: int, epoch: int, size: int) -> np.ndarray:
    return np.random.default_rng([seed, epoch]).permutation(size)


def training_loader(dataset: Dataset, sampler: StepSampler, *, workers: int) -> DataLoader:
    """A DataLoader over the step sampler; workers persist across the endless stream."""
    # A private generator: the loader draws worker seeds from it, and drawing them from
    # the global RNG would shift the noise stream of a resumed run.
    return DataLoader(dataset, batch_sampler=sampler, num_workers=workers,
                      persistent_workers=workers > 0, pin_memory=torch.cuda.is_available(),
                      generator=torch.Generator().manual_seed(sampler.seed))


def first_items(dataset: Dataset, count: int) -> dict[str, torch.Tensor]:
    """The first `count` items (cycling if fewer), un-augmented, stacked into one batch."""
    items: list[dict[str, Any]] = [dataset[i % len(dataset)] for i in range(count)]
    return {key: torch.stack([item[key] for item in items]) for key in items[0]}
