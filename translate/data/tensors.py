"""Pixels <-> tensors, the same way everywhere.

Networks see float tensors shaped (N, C, H, W), in one of two value ranges:

* signed, [-1, 1]: what the datasets yield and most GANs (tanh outputs) use;
* unit, [0, 1]: what ESRGAN-family and LaMa networks expect (`unit=True`).

Converting back rounds to the nearest 8-bit value after clamping, so a tensor that came
from pixels goes back to exactly those pixels.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

__all__ = [
    "pil_to_tensor",
    "signed",
    "tensor_to_pil",
    "tensor_to_uint8",
    "to_tensor",
    "to_unit_tensor",
    "unit",
]


def to_tensor(pixels: np.ndarray) -> torch.Tensor:
    """uint8 (H, W) or (H, W, C) -> float (C, H, W) in [-1, 1]."""
    tensor = torch.from_numpy(np.array(pixels, dtype=np.float32)).div_(127.5).sub_(1.0)
    return tensor.unsqueeze(0) if tensor.ndim == 2 else tensor.permute(2, 0, 1)


def to_unit_tensor(pixels: np.ndarray) -> torch.Tensor:
    """uint8 (H, W) or (H, W, C) -> float (C, H, W) in [0, 1]."""
    tensor = torch.from_numpy(np.array(pixels, dtype=np.float32)).div_(255)
    return tensor.unsqueeze(0) if tensor.ndim == 2 else tensor.permute(2, 0, 1)


def pil_to_tensor(image: Image.Image, *, unit: bool = False) -> torch.Tensor:
    """A PIL image (in the mode it is) -> (1, C, H, W), signed or unit."""
    pixels = np.asarray(image)
    return (to_unit_tensor(pixels) if unit else to_tensor(pixels))[None]


def tensor_to_uint8(images: torch.Tensor, *, unit: bool = False) -> np.ndarray:
    """(N, C, H, W), signed or unit -> uint8 (N, H, W, C), clamped and rounded."""
    images = images.detach().float()
    scaled = images.clamp(0, 1).mul(255) if unit else images.clamp(-1, 1).add(1).mul(127.5)
    return scaled.round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def tensor_to_pil(images: torch.Tensor, *, unit: bool = False) -> list[Image.Image]:
    """(N, C, H, W), signed or unit -> PIL images (L for one channel, RGB for three)."""
    return [Image.fromarray(p[..., 0] if p.shape[-1] == 1 else p)
            for p in tensor_to_uint8(images, unit=unit)]


def unit(images: torch.Tensor) -> torch.Tensor:
    """Signed [-1, 1] -> unit [0, 1]."""
    return images.add(1).div(2)


def signed(images: torch.Tensor) -> torch.Tensor:
    """Unit [0, 1] -> signed [-1, 1]."""
    return images.mul(2).sub(1)
