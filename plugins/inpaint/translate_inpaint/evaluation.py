"""Inpainting quality inside the hole, next to OpenCV's classical Telea inpainting.

Telea 2004, "An Image Inpainting Technique Based on the Fast Marching Method": the
baseline every learned inpainter has to beat, and what `cv2.inpaint` offers. Both
results are quantised to 8 bits and composited the same way, then measured only on hole
pixels: known pixels are copied by both, and counting them would flatter everyone. The
weight-free coarse fill that the generator refines is measured too, as an ablation.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import torch
from skimage.metrics import structural_similarity

from translate_inpaint.masks import fixed_masks

# (name, hole-area range, mask seed): the two ranges of the issue, fixed forever.
RANGES = (("hole_10_20", (0.10, 0.20), 1010), ("hole_30_40", (0.30, 0.40), 3040))
TELEA_RADIUS = 3  # OpenCV's documented example value; the neighbourhood each pixel draws on


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) in [-1, 1] -> uint8 (N, H, W, 3)."""
    pixels = images.float().clamp(-1, 1).add(1).mul(127.5).round().byte()
    return pixels.permute(0, 2, 3, 1).cpu().numpy()


def hole_scores(result: np.ndarray, truth: np.ndarray, hole: np.ndarray) -> tuple[float, ...]:
    """(L1 in [0, 1], PSNR in dB, SSIM) over the hole pixels of one uint8 (H, W, 3) image.

    SSIM is the mean of the full SSIM map (7x7 windows) over hole pixels, so the window
    still sees the known surroundings, as a viewer does.
    """
    a, b = result.astype(np.float64) / 255, truth.astype(np.float64) / 255
    inside = hole.astype(bool)
    l1 = float(np.abs(a - b)[inside].mean())
    mse = float(((a - b) ** 2)[inside].mean())
    psnr = 10 * np.log10(1 / max(mse, 1e-10))
    _, ssim_map = structural_similarity(a, b, channel_axis=-1, data_range=1.0, full=True)
    return l1, float(psnr), float(ssim_map[inside].mean())


def telea(truth: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """OpenCV's fast-marching inpainting of one uint8 RGB image."""
    return cv2.inpaint(np.ascontiguousarray(truth), hole.astype(np.uint8), TELEA_RADIUS,
                       cv2.INPAINT_TELEA)


Fill = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (images, masks) -> images


def compare_with_telea(fill: Fill, images: torch.Tensor, *, device: torch.device,
                       coarse: Fill, batch_size: int = 32) -> dict[str, float]:
    """Figures per hole range for `fill` (the model), Telea and `coarse`, on the same masks.

    `coarse` is the generator's weight-free first stage: the gap between it and the model
    is what training added.
    """
    truth = to_uint8(images)
    count, size = len(images), images.shape[-1]
    metrics: dict[str, float] = {"heldout_crops": float(count)}
    for name, area, seed in RANGES:
        holes = np.stack(fixed_masks(count, size, area, seed=seed))
        mask = torch.from_numpy(holes)[:, None]
        predicted = torch.cat([
            fill(images[i:i + batch_size].to(device), mask[i:i + batch_size].to(device)).cpu()
            for i in range(0, count, batch_size)])
        composite = to_uint8(predicted * mask + images * (1 - mask))
        ours = np.array([hole_scores(composite[i], truth[i], holes[i]) for i in range(count)])
        base = np.array([hole_scores(telea(truth[i], holes[i]), truth[i], holes[i])
                         for i in range(count)])
        smooth = to_uint8(coarse(images * (1 - mask), mask))
        stage = np.array([hole_scores(smooth[i], truth[i], holes[i]) for i in range(count)])
        metrics[f"{name}/hole_area"] = float(holes.mean())
        for column, figure in enumerate(("l1", "psnr", "ssim")):
            metrics[f"{name}/{figure}"] = float(ours[:, column].mean())
            metrics[f"{name}/{figure}_telea"] = float(base[:, column].mean())
            # The weight-free coarse stage alone: what the learned correction adds to it.
            metrics[f"{name}/{figure}_coarse_stage"] = float(stage[:, column].mean())
    return metrics
