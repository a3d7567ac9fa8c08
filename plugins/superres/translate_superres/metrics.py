"""Deprecated: PSNR-Y and SSIM-Y are `translate.metrics.fidelity.psnr/ssim(..., y_channel=True)`.

`psnr_y`, `ssim_y` and `luma` still work, with a DeprecationWarning, until gan-translate 0.3.
"""

from __future__ import annotations

import warnings

import numpy as np

from translate.metrics.fidelity import luma, psnr, ssim

__all__ = ["luma", "psnr_y", "ssim_y"]


def _deprecated(name: str, replacement: str) -> None:
    warnings.warn(f"translate_superres.metrics.{name} is deprecated; use translate.metrics."
                  f"fidelity.{replacement}(..., border=, y_channel=True) (removed in "
                  "gan-translate 0.3)", DeprecationWarning, stacklevel=3)


def psnr_y(result: np.ndarray, reference: np.ndarray, *, border: int) -> float:
    """PSNR in dB between two uint8 RGB images of the same size, on Y, borders cropped."""
    _deprecated("psnr_y", "psnr")
    return psnr(result, reference, border=border, y_channel=True)


def ssim_y(result: np.ndarray, reference: np.ndarray, *, border: int) -> float:
    """SSIM between two uint8 RGB images of the same size, on Y, borders cropped."""
    _deprecated("ssim_y", "ssim")
    return ssim(result, reference, border=border, y_channel=True)
