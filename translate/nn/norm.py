"""Normalisation layers as the pix2pix/CycleGAN reference code configures them.

Matching the reference's settings keeps its published checkpoints loadable: batch norm
carries affine parameters and running statistics, instance norm carries neither.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Literal

from torch import nn

NormKind = Literal["batch", "instance", "none"]


def norm_layer(kind: NormKind) -> Callable[[int], nn.Module]:
    """A factory `channels -> layer` for the named normalisation."""
    if kind == "batch":
        return functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True)
    if kind == "instance":
        return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)
    if kind == "none":
        return lambda channels: nn.Identity()
    raise ValueError(f"unknown norm {kind!r}: expected batch, instance or none")


def conv_bias(kind: NormKind) -> bool:
    """Whether a conv followed by this norm needs its own bias.

    Batch norm's shift makes a bias redundant; the reference keeps one before instance
    norm (which has no affine shift), so its checkpoints carry it.
    """
    return kind != "batch"
