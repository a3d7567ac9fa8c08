"""Full-reference image fidelity: how close an output is to the image it should be.

For tasks with a ground truth (paired translation, super-resolution, inpainting). Every
function takes a batch either as (N, C, H, W) tensors in [-1, 1] or as uint8 arrays
(N, H, W, C) or (H, W, C), and returns the mean over images. Options, shared by all three:

* `mask`: bool (N, H, W) (or (N, 1, H, W), or (H, W) for one image): measure only there,
  e.g. inside an inpainted hole (known pixels are copied, and counting them would flatter
  everyone). SSIM is then the mean of the full SSIM map over the mask, so its windows still
  see the surroundings, as a viewer does.
* `border`: pixels cropped from every side first (the super-resolution convention: scale).
* `y_channel`: on the luma of ITU-R BT.601 YCbCr (MATLAB's `rgb2ycbcr`, 16-235), as the
  super-resolution literature reports (EDSR, ESRGAN, BasicSR's `test_y_channel`); SSIM then
  uses an 11x11 Gaussian window of sigma 1.5 (Wang et al. 2004,
  https://doi.org/10.1109/TIP.2003.819861), otherwise scikit-image's 7x7 window.
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["l1", "luma", "psnr", "ssim"]

Images = torch.Tensor | np.ndarray
# A perfect image has infinite PSNR; the error floor caps it at 100 dB so a mean stays finite.
_ERROR_FLOOR = 1e-10


def luma(pixels: np.ndarray) -> np.ndarray:
    """RGB (..., 3) in 0-255 -> float64 Y in [16, 235]."""
    rgb = pixels.astype(np.float64)
    return 16.0 + (65.481 * rgb[..., 0] + 128.553 * rgb[..., 1] + 24.966 * rgb[..., 2]) / 255.0


def _pixels(images: Images, y_channel: bool) -> tuple[np.ndarray, float]:
    """float64 (N, H, W, C) and its peak value: [0, 1] (peak 1), or Y in 0-255 (peak 255)."""
    if isinstance(images, torch.Tensor):
        if images.ndim != 4:
            raise ValueError(f"need an (N, C, H, W) batch, got {tuple(images.shape)}")
        unit = images.detach().float().cpu().add(1).div(2).clamp(0, 1).permute(0, 2, 3, 1) \
            .numpy().astype(np.float64)
        return (luma(unit * 255)[..., None], 255.0) if y_channel else (unit, 1.0)
    array = np.asarray(images)
    if array.dtype != np.uint8:
        raise ValueError(f"arrays must be uint8 pixels, got {array.dtype}")
    array = array[None] if array.ndim == 3 else array
    if array.ndim != 4:
        raise ValueError(f"need (N, H, W, C) or (H, W, C) pixels, got {array.shape}")
    return (luma(array)[..., None], 255.0) if y_channel else (array.astype(np.float64) / 255, 1.0)


def _masks(mask: Images | None, count: int, shape: tuple[int, int]) -> np.ndarray | None:
    if mask is None:
        return None
    array = mask.detach().cpu().numpy() if isinstance(mask, torch.Tensor) else np.asarray(mask)
    array = array.reshape(-1, *array.shape[-2:]) if array.ndim >= 2 else array
    if array.shape != (count, *shape):
        raise ValueError(f"mask of shape {array.shape} does not fit {count} images of {shape}")
    return array.astype(bool)


def _pairs(output: Images, target: Images, *, mask: Images | None, border: int,
           y_channel: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, float]:
    out, peak = _pixels(output, y_channel)
    ref, _ = _pixels(target, y_channel)
    if out.shape != ref.shape:
        raise ValueError(f"need two batches of one shape, got {out.shape} and {ref.shape}")
    masks = _masks(mask, len(out), out.shape[1:3])
    if border:
        out, ref = out[:, border:-border, border:-border], ref[:, border:-border, border:-border]
        masks = masks[:, border:-border, border:-border] if masks is not None else None
    return out, ref, masks, peak


def psnr(output: Images, target: Images, *, mask: Images | None = None, border: int = 0,
         y_channel: bool = False) -> float:
    """Mean over images of the peak signal-to-noise ratio in dB."""
    out, ref, masks, peak = _pairs(output, target, mask=mask, border=border, y_channel=y_channel)
    squared = (out - ref) ** 2
    errors = (np.array([squared[i][masks[i]].mean() for i in range(len(out))]) if masks is not None
              else squared.reshape(len(out), -1).mean(1))
    ratios = peak**2 / np.maximum(errors, _ERROR_FLOOR * peak**2)
    # The Y path is superres's PSNR-Y, which took math.log10; numpy's log10 differs from it
    # in the last bit for about 2% of values, so each keeps its own to reproduce its figures.
    logs = [math.log10(r) for r in ratios] if y_channel else np.log10(ratios)
    return float(np.mean(10 * np.asarray(logs)))


def ssim(output: Images, target: Images, *, mask: Images | None = None, border: int = 0,
         y_channel: bool = False) -> float:
    """Mean SSIM over images; colour channels averaged."""
    from skimage.metrics import structural_similarity  # brings SciPy: half a second

    out, ref, masks, peak = _pairs(output, target, mask=mask, border=border, y_channel=y_channel)
    window = ({"gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False}
              if y_channel else {})
    scores = []
    for i in range(len(out)):
        a, b = (out[i][..., 0], ref[i][..., 0]) if y_channel else (out[i], ref[i])
        channels = {} if y_channel else {"channel_axis": -1}
        if masks is None:
            scores.append(structural_similarity(a, b, data_range=peak, **channels, **window))
        else:
            _, full = structural_similarity(a, b, data_range=peak, full=True, **channels,
                                            **window)
            scores.append(full[masks[i]].mean())
    return float(np.mean(scores))


def l1(output: Images, target: Images, *, mask: Images | None = None, border: int = 0,
       y_channel: bool = False) -> float:
    """Mean absolute pixel error in [0, 1] units (0-255 on Y)."""
    out, ref, masks, _ = _pairs(output, target, mask=mask, border=border, y_channel=y_channel)
    difference = np.abs(out - ref)
    if masks is None:
        return float(difference.mean())
    return float(np.mean([difference[i][masks[i]].mean() for i in range(len(out))]))
