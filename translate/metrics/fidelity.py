"""Full-reference image fidelity: how close an output is to the image it should be.

For tasks with a ground truth (paired translation, super-resolution, inpainting). All
functions take (N, C, H, W) tensors in [-1, 1] and measure in [0, 1] pixel units,
averaged over images, so figures compare across plugins and match the usual tables.
"""

from __future__ import annotations

import numpy as np
import torch
from skimage.metrics import structural_similarity


def _unit(images: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] -> float64 (N, H, W, C) in [0, 1]."""
    return images.detach().float().cpu().add(1).div(2).clamp(0, 1).permute(0, 2, 3, 1).numpy(
    ).astype(np.float64)


def _check(output: torch.Tensor, target: torch.Tensor) -> None:
    if output.shape != target.shape or output.ndim != 4:
        raise ValueError(f"need two (N, C, H, W) batches of one shape, got "
                         f"{tuple(output.shape)} and {tuple(target.shape)}")


def psnr(output: torch.Tensor, target: torch.Tensor) -> float:
    """Mean over images of the peak signal-to-noise ratio in dB (peak = 1)."""
    _check(output, target)
    errors = ((_unit(output) - _unit(target)) ** 2).reshape(len(output), -1).mean(1)
    # A perfect image has infinite PSNR; cap it at 100 dB so a mean stays finite.
    return float(np.mean(10 * np.log10(1.0 / np.maximum(errors, 1e-10))))


def ssim(output: torch.Tensor, target: torch.Tensor) -> float:
    """Mean SSIM (Wang et al. 2004, 7x7 windows as in scikit-image), colour channels averaged."""
    _check(output, target)
    out, ref = _unit(output), _unit(target)
    return float(np.mean([structural_similarity(o, r, data_range=1.0, channel_axis=-1)
                          for o, r in zip(out, ref, strict=True)]))


def l1(output: torch.Tensor, target: torch.Tensor) -> float:
    """Mean absolute pixel error in [0, 1] units."""
    _check(output, target)
    return float(np.abs(_unit(output) - _unit(target)).mean())
