"""Timing helpers the step benchmarks share (run them as `python bench/NAME.py`)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import torch

from translate.engine.trainer import Trainer


def sync() -> None:
    """Wait for queued CUDA work, so a step's wall time includes it."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def engine_steps(trainer: Trainer, batches: Iterator, steps: int) -> list[float]:
    """Wall seconds of each of `steps` steps of the shared engine."""
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        trainer._train_step(batches)
        trainer.step += 1
        sync()
        times.append(time.perf_counter() - start)
    return times
