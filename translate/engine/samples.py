"""Sample grids: the picture of training progress written every `sample_every` steps."""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image

from translate.data.images import save_image
from translate.data.tensors import tensor_to_pil

__all__ = ["MIN_GRID_WIDTH", "grid_image", "save_grid", "tensor_to_pil"]

# Tiny images (8x8 digits) are unreadable at 1:1; grids are enlarged to at least this width.
MIN_GRID_WIDTH = 512


def grid_image(images: torch.Tensor, *, columns: int) -> Image.Image:
    """Tile images into one picture, enlarged (nearest neighbour) when small."""
    from torchvision.utils import make_grid  # torchvision costs seconds to import

    grid = make_grid(images.detach().float().cpu(), nrow=columns, padding=2, pad_value=-1.0)
    picture = tensor_to_pil(grid.unsqueeze(0))[0]
    scale = max(1, MIN_GRID_WIDTH // picture.width)
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
    return picture


def save_grid(images: torch.Tensor, path: str | Path, *, columns: int) -> Path:
    """Write a grid PNG atomically and return its path."""
    return save_image(grid_image(images, columns=columns), path)
