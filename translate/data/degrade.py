"""Synthetic degradations, for translators that restore images: pairs to train on, and a
held-out benchmark.

Super-resolution, denoising, deblurring and JPEG-artefact removal all learn from clean
images degraded on the fly, and are all judged by degrading held-out images, restoring
them and comparing with the originals. Three kinds (`Degradation`):

* `bicubic`: antialiased bicubic resizing, as MATLAB's imresize (which Pillow matches):
  the classic super-resolution benchmark degradation, and what `restoration_benchmark`
  measures by default;
* `real-esrgan`: Real-ESRGAN's degradation model (Wang et al. 2021,
  https://arxiv.org/abs/2107.10833, section 3.1): blur, random resize, noise and JPEG;
* `real-esrgan-2`: the same twice (its "second order"), for inputs from the real world.

Both Real-ESRGAN kinds end with a resize to the network's input size, so at scale 1 they
are a denoising/deblurring/JPEG model and at scale s a super-resolution one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal, get_args

import cv2
import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from translate.data.crops import SquareCrops
from translate.data.images import to_mode
from translate.data.source import Source
from translate.data.tensors import to_tensor
from translate.metrics.fidelity import psnr, ssim

if TYPE_CHECKING:
    import albumentations as A

__all__ = ["DEGRADATIONS", "Degradation", "DegradedPairs", "bicubic", "degradation",
           "restoration_benchmark"]

Degradation = Literal["bicubic", "real-esrgan", "real-esrgan-2"]
DEGRADATIONS: tuple[str, ...] = get_args(Degradation)
_INTERPOLATIONS = (cv2.INTER_AREA, cv2.INTER_LINEAR, cv2.INTER_CUBIC)


def bicubic(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize uint8 (H, W[, C]) to (width, height) with antialiased bicubic (MATLAB-like)."""
    return np.asarray(Image.fromarray(pixels).resize(size, Image.BICUBIC))


def _any_resize(height: int, width: int) -> A.BasicTransform:
    import albumentations as A  # slow to import; `translate list` never needs it

    return A.OneOf([A.Resize(height, width, interpolation=i) for i in _INTERPOLATIONS], p=1)


def _blur(sigma: tuple[float, float], p: float) -> A.BasicTransform:
    import albumentations as A  # slow to import; `translate list` never needs it

    # Isotropic and anisotropic generalised Gaussians (Real-ESRGAN's "blur kernels"), and
    # the sinc filter that imitates ringing and overshoot artefacts.
    return A.OneOf([
        A.GaussianBlur(blur_limit=(7, 21), sigma_limit=sigma, p=1),
        A.AdvancedBlur(blur_limit=(7, 21), sigma_x_limit=sigma, sigma_y_limit=sigma,
                       rotate_limit=(-90, 90), beta_limit=(0.5, 4.0), noise_limit=(1.0, 1.0),
                       p=1),
        A.RingingOvershoot(blur_limit=(7, 21), p=1),
    ], p=p)


def _noise(max_std: float) -> A.BasicTransform:
    import albumentations as A  # slow to import; `translate list` never needs it

    # Real-ESRGAN: Gaussian or Poisson noise, coloured or grey (40% grey for Gaussian).
    return A.OneOf([
        A.GaussNoise(std_range=(1 / 255, max_std / 255), per_channel=True, p=0.6),
        A.GaussNoise(std_range=(1 / 255, max_std / 255), per_channel=False, p=0.4),
        A.ShotNoise(scale_range=(0.05, 0.5), p=0.4),
    ], p=1)


def _order(resize_range: tuple[float, float], sigma: tuple[float, float], blur_p: float,
           max_std: float) -> list[A.BasicTransform]:
    """One degradation order: blur, random resize, noise, JPEG."""
    import albumentations as A  # slow to import; `translate list` never needs it

    low, high = resize_range
    return [
        _blur(sigma, blur_p),
        A.OneOf([A.RandomScale(scale_limit=(low - 1, high - 1), interpolation=i, p=1)
                 for i in _INTERPOLATIONS], p=1),
        _noise(max_std),
        A.ImageCompression(quality_range=(30, 95), p=1),
    ]


def degradation(kind: Degradation, size: int) -> A.Compose | None:
    """The albumentations pipeline that turns a clean crop into a `size` square input.

    Ranges are Real-ESRGAN's published training options (`train_realesrnet_x4plus.yml`):
    blur sigma 0.2-3 then 0.2-1.5, resize 0.15-1.5 then 0.3-1.2, noise up to 30 then 25,
    JPEG quality 30-95. None for `bicubic`, which is `bicubic` (Pillow), not a pipeline.
    """
    import albumentations as A  # slow to import; `translate list` never needs it

    if kind not in DEGRADATIONS:
        raise ValueError(f"unknown degradation {kind!r}; known: {', '.join(DEGRADATIONS)}")
    if kind == "bicubic":
        return None
    transforms = _order((0.15, 1.5), (0.2, 3.0), 1.0, 30.0)
    if kind == "real-esrgan-2":
        transforms += _order((0.3, 1.2), (0.2, 1.5), 0.8, 25.0)[:3]
    # The final resize to the input size, then JPEG; the second order ends with them in
    # either order, as in the paper.
    final = [_any_resize(size, size), A.ImageCompression(quality_range=(30, 95), p=1)]
    transforms.append(A.OneOf([A.Sequential(final, p=1),
                               A.Sequential(final[::-1], p=1)], p=1)
                      if kind == "real-esrgan-2" else A.Sequential(final, p=1))
    return A.Compose(transforms, seed=0)


class DegradedPairs(Dataset):
    """Records -> {"image": clean (3, s*P, s*P), key: degraded (3, P, P)}, both in [-1, 1].

    `patch` (P) is the side of the network's input and `scale` (s) its upscaling factor (1
    for denoising or deblurring). Clean crops are `translate.data.crops.SquareCrops`:
    random (flips, 90° turns, no flat ones) for training, fixed places of each image held
    out. Training crops are degraded by `kind` on the fly, from the crop's own random
    stream, so every pair is a pure function of (record, seed); held-out ones by plain
    bicubic, so that sample grids compare across runs.
    """

    def __init__(self, source: Source, *, scale: int, patch: int, train: bool,
                 kind: Degradation = "bicubic", key: str = "degraded") -> None:
        self.patch, self.key = patch, key
        self.crops = SquareCrops(source, side=patch * scale, train=train)
        self.degrade = degradation(kind, patch) if train else None

    def __len__(self) -> int:
        return len(self.crops)

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, torch.Tensor]:
        clean, state = self.crops.crop(key)
        if self.degrade is None:
            degraded = bicubic(clean, (self.patch, self.patch))
        else:
            self.degrade.set_random_state(*state)
            degraded = self.degrade(image=clean)["image"]
        return {"image": to_tensor(clean), self.key: to_tensor(degraded)}


def downscale(pixels: np.ndarray, scale: int) -> np.ndarray:
    """Bicubic (antialiased) 1/`scale` of uint8 (H, W, C) whose sides are multiples of it."""
    return bicubic(pixels, (pixels.shape[1] // scale, pixels.shape[0] // scale))


def restoration_benchmark(
    restore: Callable[[Image.Image], Image.Image], source: Source, *, scale: int = 1,
    degrade: Callable[[np.ndarray, int], np.ndarray] = downscale,
    baseline: Callable[[np.ndarray, tuple[int, int]], np.ndarray] = bicubic,
    border: int | None = None, y_channel: bool = True,
) -> dict[str, float]:
    """Mean PSNR and SSIM of `restore` on the source's images degraded, next to a baseline.

    Each image (RGB, cropped to a multiple of `scale`) is degraded (`degrade(pixels,
    scale)`; by default bicubic downscaling, the SR benchmark), restored, and compared with
    the original; so is `baseline(degraded, (width, height))` (by default bicubic
    upscaling). As in the SR literature, scores are on luma (`y_channel`) with `border`
    pixels cropped (default: `scale`). Keys: psnr, ssim, baseline_psnr, baseline_ssim.
    """
    border = scale if border is None else border
    scores: dict[str, list[float]] = {k: [] for k in ("psnr", "ssim", "baseline_psnr",
                                                       "baseline_ssim")}
    for index in range(len(source)):
        image = to_mode(source[index]["image"], "RGB")
        width, height = image.size
        clean = np.asarray(image)[: height - height % scale, : width - width % scale]
        degraded = degrade(clean, scale)
        restored = np.asarray(restore(Image.fromarray(degraded)))
        for prefix, result in (("", restored),
                               ("baseline_", baseline(degraded, clean.shape[1::-1]))):
            scores[f"{prefix}psnr"].append(psnr(result, clean, border=border,
                                                y_channel=y_channel))
            scores[f"{prefix}ssim"].append(ssim(result, clean, border=border,
                                                y_channel=y_channel))
    return {key: float(np.mean(values)) for key, values in scores.items()}
