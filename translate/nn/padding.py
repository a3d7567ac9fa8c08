"""Fitting any image size to a network whose stride needs a multiple of it."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def pad_to_multiple(images: torch.Tensor, multiple: int,
                    mode: str = "reflect") -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad (N, C, H, W) on the bottom/right up to multiples of `multiple`.

    Returns the padded batch and the original (H, W) for `crop_to`. Reflection avoids
    the dark border a zero pad would teach the network to draw; it needs the pad to be
    smaller than the image, so tiny images fall back to replication.
    """
    height, width = images.shape[-2:]
    pad_h, pad_w = -height % multiple, -width % multiple
    if pad_h or pad_w:
        if mode == "reflect" and (pad_h >= height or pad_w >= width):
            mode = "replicate"
        images = F.pad(images, (0, pad_w, 0, pad_h), mode=mode)
    return images, (height, width)


def crop_to(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Undo `pad_to_multiple`: keep the top-left (H, W)."""
    return images[..., : size[0], : size[1]]
