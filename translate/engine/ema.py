"""Exponential moving average of generator weights.

EMA weights give visibly steadier GAN samples than the raw generator (Karras et
al. 2018, https://arxiv.org/abs/1710.10196; Yazici et al. 2019,
https://arxiv.org/abs/1806.04498), so samples, evaluation and export all use them.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


def make_ema(model: nn.Module) -> nn.Module:
    """A frozen copy of model that only `update_ema` changes."""
    ema = copy.deepcopy(model).eval()
    ema.requires_grad_(False)
    return ema


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, *, decay: float, step: int) -> None:
    """Move ema towards model; early steps use a smaller decay so EMA tracks the fast start."""
    decay = min(decay, (1 + step) / (10 + step))
    for averaged, current in zip(ema.parameters(), model.parameters(), strict=True):
        averaged.lerp_(current.detach().to(averaged.dtype), 1.0 - decay)
    # Buffers (BatchNorm statistics, spectral-norm vectors) are not averaged but copied.
    for averaged, current in zip(ema.buffers(), model.buffers(), strict=True):
        averaged.copy_(current)
