"""Low-resolution inputs made on the fly from high-resolution images.

Two modes. `bicubic` is the classic SR benchmark degradation (antialiased bicubic, as
MATLAB's imresize, which Pillow matches); it is what `translate eval superres` measures,
so a PSNR-oriented model should train on it. `real-esrgan` follows Real-ESRGAN's
high-order degradation model (Wang et al. 2021, https://arxiv.org/abs/2107.10833,
section 3.1): blur, random resize, noise and JPEG, once or (second order) twice, built
from albumentations transforms, for models that must cope with real-world inputs.
"""

from __future__ import annotations

from typing import Literal

import albumentations as A
import cv2
import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from translate.data.crops import SquareCrops
from translate.data.source import Source
from translate.data.tensors import to_tensor

Degradation = Literal["bicubic", "real-esrgan", "real-esrgan-2"]
_INTERPOLATIONS = (cv2.INTER_AREA, cv2.INTER_LINEAR, cv2.INTER_CUBIC)


def bicubic(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize uint8 (H, W[, C]) to (width, height) with antialiased bicubic (MATLAB-like)."""
    return np.asarray(Image.fromarray(pixels).resize(size, Image.BICUBIC))


def _any_resize(height: int, width: int) -> A.BasicTransform:
    return A.OneOf([A.Resize(height, width, interpolation=i) for i in _INTERPOLATIONS], p=1)


def _blur(sigma: tuple[float, float], p: float) -> A.BasicTransform:
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
    # Real-ESRGAN: Gaussian or Poisson noise, coloured or grey (40% grey for Gaussian).
    return A.OneOf([
        A.GaussNoise(std_range=(1 / 255, max_std / 255), per_channel=True, p=0.6),
        A.GaussNoise(std_range=(1 / 255, max_std / 255), per_channel=False, p=0.4),
        A.ShotNoise(scale_range=(0.05, 0.5), p=0.4),
    ], p=1)


def _order(resize_range: tuple[float, float], sigma: tuple[float, float], blur_p: float,
           max_std: float) -> list[A.BasicTransform]:
    """One degradation order: blur, random resize, noise, JPEG."""
    low, high = resize_range
    return [
        _blur(sigma, blur_p),
        A.OneOf([A.RandomScale(scale_limit=(low - 1, high - 1), interpolation=i, p=1)
                 for i in _INTERPOLATIONS], p=1),
        _noise(max_std),
        A.ImageCompression(quality_range=(30, 95), p=1),
    ]


def degradation(kind: Degradation, lr_size: int) -> A.Compose | None:
    """The albumentations pipeline that turns an HR crop into a `lr_size` square LR input.

    Ranges are Real-ESRGAN's published training options (`train_realesrnet_x4plus.yml`):
    blur sigma 0.2-3 then 0.2-1.5, resize 0.15-1.5 then 0.3-1.2, noise up to 30 then 25,
    JPEG quality 30-95. None for `bicubic`, which `make_lr` does with Pillow.
    """
    if kind == "bicubic":
        return None
    transforms = _order((0.15, 1.5), (0.2, 3.0), 1.0, 30.0)
    if kind == "real-esrgan-2":
        transforms += _order((0.3, 1.2), (0.2, 1.5), 0.8, 25.0)[:3]
    # The final resize to the LR size, then JPEG; the second order ends with them in either
    # order, as in the paper.
    final = [_any_resize(lr_size, lr_size), A.ImageCompression(quality_range=(30, 95), p=1)]
    transforms.append(A.OneOf([A.Sequential(final, p=1),
                               A.Sequential(final[::-1], p=1)], p=1)
                      if kind == "real-esrgan-2" else A.Sequential(final, p=1))
    return A.Compose(transforms, seed=0)


class PairDataset(Dataset):
    """Records -> {"image": HR (3, s*P, s*P), "lr": LR (3, P, P)}, both in [-1, 1].

    HR crops are `translate.data.crops.SquareCrops`: random (flips, 90° turns, no flat
    ones) for training, fixed places of each photo held out. Training crops are degraded
    on the fly, from the crop's own random stream, so every pair is a pure function of
    (record, seed); held-out ones with plain bicubic, so sample grids compare across runs.
    """

    def __init__(self, source: Source, *, scale: int, patch: int, train: bool,
                 kind: Degradation = "bicubic") -> None:
        self.patch = patch
        self.crops = SquareCrops(source, side=patch * scale, train=train)
        self.degrade = degradation(kind, patch) if train else None

    def __len__(self) -> int:
        return len(self.crops)

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, torch.Tensor]:
        hr, state = self.crops.crop(key)
        if self.degrade is None:
            lr = bicubic(hr, (self.patch, self.patch))
        else:
            self.degrade.set_random_state(*state)
            lr = self.degrade(image=hr)["image"]
        return {"image": to_tensor(hr), "lr": to_tensor(lr)}
