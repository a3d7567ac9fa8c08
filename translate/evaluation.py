"""What every `evaluate` does around its own figures: held-out batches and chunked runs.

A translator's evaluation is its own science (which classifier, which baseline); loading
the held-out items and running a network over them in memory-sized chunks is not.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.utils.data import Dataset

__all__ = ["in_chunks", "stack_items"]


def stack_items(dataset: Dataset, *, limit: int | None = None,
                keys: tuple[str, ...] | None = None) -> dict[str, torch.Tensor]:
    """The dataset's first `limit` items (all by default), each key stacked into a batch.

    Meant for held-out datasets (built with `train=False`, so un-augmented): the same items,
    in the same order, every time.
    """
    count = len(dataset) if limit is None else min(limit, len(dataset))
    if count == 0:
        raise ValueError("no items to stack: the held-out split is empty")
    items = [dataset[i] for i in range(count)]
    return {key: torch.stack([item[key] for item in items])
            for key in (keys or tuple(items[0]))}


def in_chunks(fn: Callable[..., torch.Tensor], *inputs: torch.Tensor, size: int = 32,
              device: torch.device | str | None = None) -> torch.Tensor:
    """fn over aligned slices of `inputs` (moved to `device`), concatenated on the CPU."""
    total = len(inputs[0])
    if any(len(x) != total for x in inputs):
        raise ValueError(f"inputs of different lengths: {[len(x) for x in inputs]}")
    outputs = []
    for start in range(0, total, size):
        pieces = [x[start:start + size] for x in inputs]
        if device is not None:
            pieces = [p.to(device) for p in pieces]
        outputs.append(fn(*pieces).cpu())
    return torch.cat(outputs)
