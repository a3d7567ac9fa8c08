"""Deprecated: tiled upscaling moved to `translate.inference.anysize.run_any_size`.

`upscale_tiled` still works, with a DeprecationWarning, until gan-translate 0.3.
"""

from __future__ import annotations

import warnings
from functools import partial

import numpy as np
import torch

from translate.data.tensors import tensor_to_uint8
from translate.inference.anysize import run_any_size


def upscale_tiled(net, image: torch.Tensor, *, scale: int, tile: int, overlap: int,
                  multiple: int = 1, device: torch.device | str = "cpu",
                  dtype: torch.dtype | None = None) -> np.ndarray:
    """(1, C, H, W) in [0, 1] -> (H*scale, W*scale, C) uint8: `run_any_size`, unit in, uint8 out."""
    warnings.warn("translate_superres.tiling.upscale_tiled is deprecated; use "
                  "translate.inference.anysize.run_any_size(..., postprocess=partial("
                  "tensor_to_uint8, unit=True)) (removed in gan-translate 0.3)",
                  DeprecationWarning, stacklevel=2)
    if image.ndim != 4 or image.shape[0] != 1:
        raise ValueError(f"expected one image as (1, C, H, W), got {tuple(image.shape)}")
    return run_any_size(net, image, scale=scale, tile=tile, overlap=overlap, multiple=multiple,
                        device=device, dtype=dtype,
                        postprocess=partial(tensor_to_uint8, unit=True))[0]
