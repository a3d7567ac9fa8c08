"""Inpainting quality inside the hole, next to OpenCV's classical Telea inpainting.

Telea 2004, "An Image Inpainting Technique Based on the Fast Marching Method": the
baseline every learned inpainter has to beat, and what `cv2.inpaint` offers. Both
results are quantised to 8 bits and composited the same way, then measured only on hole
pixels (`translate.metrics.fidelity` with `mask=`): known pixels are copied by both, and
counting them would flatter everyone. For AOT-GAN, the weight-free coarse fill that its
generator refines is measured too, as an ablation.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import torch

from translate.data.holes import fixed_masks
from translate.data.tensors import tensor_to_uint8
from translate.evaluation import in_chunks
from translate.metrics.fidelity import l1, psnr, ssim

# (name, hole-area range, mask seed): the two ranges of the issue, fixed forever.
RANGES = (("hole_10_20", (0.10, 0.20), 1010), ("hole_30_40", (0.30, 0.40), 3040))
TELEA_RADIUS = 3  # OpenCV's documented example value; the neighbourhood each pixel draws on
FIGURES = {"l1": l1, "psnr": psnr, "ssim": ssim}  # SSIM: the full map's mean over the hole


def telea(truth: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """OpenCV's fast-marching inpainting of one uint8 RGB image."""
    return cv2.inpaint(np.ascontiguousarray(truth), hole.astype(np.uint8), TELEA_RADIUS,
                       cv2.INPAINT_TELEA)


Fill = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (images, masks) -> images


def compare_with_telea(fill: Fill, images: torch.Tensor, *,
                       coarse: Fill | None = None, batch_size: int = 32) -> dict[str, float]:
    """Figures per hole range for `fill` (the model), Telea and `coarse`, on the same masks.

    Images are (N, 3, S, S) in [-1, 1], and so are `fill`'s predictions. `coarse` is
    AOT-GAN's weight-free first stage: the gap between it and the model is what training
    added.
    """
    truth = tensor_to_uint8(images)
    metrics: dict[str, float] = {"heldout_crops": float(len(images))}
    for name, area, seed in RANGES:
        holes = np.stack(fixed_masks(len(images), images.shape[-1], area, seed=seed))
        mask = torch.from_numpy(holes)[:, None]
        # Only hole pixels come from the model: the rest is the original, as infer returns it.
        predicted = tensor_to_uint8(in_chunks(fill, images, mask, size=batch_size))
        results = {"": np.where(holes[..., None] > 0, predicted, truth),
                   "_telea": np.stack([telea(*pair) for pair in zip(truth, holes, strict=True)])}
        if coarse is not None:
            results["_coarse_stage"] = tensor_to_uint8(coarse(images * (1 - mask), mask))
        metrics[f"{name}/hole_area"] = float(holes.mean())
        for figure, score in FIGURES.items():
            for suffix, result in results.items():
                metrics[f"{name}/{figure}{suffix}"] = score(result, truth, mask=holes)
    return metrics
