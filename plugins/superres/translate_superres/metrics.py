"""PSNR and SSIM the way the super-resolution literature reports them.

On the luma (Y) channel of ITU-R BT.601 YCbCr (MATLAB's `rgb2ycbcr`, range 16-235), with
`scale` pixels cropped from every border, as in EDSR/ESRGAN/BasicSR's `calculate_psnr`
with `test_y_channel=True`; SSIM with an 11x11 Gaussian window of sigma 1.5
(Wang et al. 2004, https://doi.org/10.1109/TIP.2003.819861).
"""

from __future__ import annotations

import math

import numpy as np
from skimage.metrics import structural_similarity


def luma(pixels: np.ndarray) -> np.ndarray:
    """uint8 RGB (H, W, 3) -> float64 Y in [16, 235]."""
    rgb = pixels.astype(np.float64)
    return 16.0 + (65.481 * rgb[..., 0] + 128.553 * rgb[..., 1] + 24.966 * rgb[..., 2]) / 255.0


def _crop(pixels: np.ndarray, border: int) -> np.ndarray:
    return pixels[border:-border, border:-border] if border else pixels


def psnr_y(result: np.ndarray, reference: np.ndarray, *, border: int) -> float:
    """PSNR in dB between two uint8 RGB images of the same size, on Y, borders cropped."""
    if result.shape != reference.shape:
        raise ValueError(f"shapes differ: {result.shape} vs {reference.shape}")
    error = np.mean((_crop(luma(result), border) - _crop(luma(reference), border)) ** 2)
    return math.inf if error == 0 else 10.0 * math.log10(255.0**2 / error)


def ssim_y(result: np.ndarray, reference: np.ndarray, *, border: int) -> float:
    """SSIM between two uint8 RGB images of the same size, on Y, borders cropped."""
    if result.shape != reference.shape:
        raise ValueError(f"shapes differ: {result.shape} vs {reference.shape}")
    return float(structural_similarity(
        _crop(luma(result), border), _crop(luma(reference), border), data_range=255.0,
        gaussian_weights=True, sigma=1.5, use_sample_covariance=False))
