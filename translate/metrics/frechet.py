"""Fréchet distance between real and generated images, in a feature space that works offline.

Heusel et al. 2017, https://arxiv.org/abs/1706.08500: fit a Gaussian to each set's
features and report ||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^1/2).

Two feature spaces, and the result always names the one it used:

- ``inception``: the standard FID network (the TF-ported InceptionV3 pool features that
  torch-fidelity and torchmetrics use). Used when `torch-fidelity` is installed and its
  weights file is already on disk: ``$TRANSLATE_INCEPTION_WEIGHTS``, or where
  torch-fidelity caches it (``<torch hub>/checkpoints/weights-inception-2015-12-05-6726825d.pth``).
  Nothing is downloaded.
- ``random-conv``: a fixed, seeded, randomly initialised conv net (5 stages, 3x3 convs,
  multi-scale mean+std pooling, 960 features). Naeem et al. 2020,
  https://arxiv.org/abs/2002.09797, show such random embeddings rank generative models
  sensibly where no pretrained network applies. It needs no download and is bit-identical
  on every machine, so figures are comparable across runs of this project, but not with
  published Inception FIDs.

With the few dozen held-out images the bundled sets have, the absolute value is biased
upwards (it shrinks with more samples); compare it with a baseline computed the same way
on the same number of images, never with published numbers.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from translate.paths import torch_checkpoint

FeatureSpace = Literal["auto", "inception", "random-conv"]
INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"


@dataclass(frozen=True)
class FrechetDistance:
    value: float
    features: str  # the feature space: "inception" or "random-conv"


def frechet_distance(real: torch.Tensor, fake: torch.Tensor, *,
                     features: FeatureSpace = "auto") -> FrechetDistance:
    """Fréchet distance between two (N, C, H, W) batches in [-1, 1] (C = 1 or 3)."""
    if len(real) < 2 or len(fake) < 2:
        raise ValueError("a Fréchet distance needs at least 2 images on each side")
    if features == "auto":
        features = "inception" if inception_weights() is not None else "random-conv"
    embed = _inception_features if features == "inception" else _random_conv_features
    return FrechetDistance(_frechet(embed(real), embed(fake)), features)


def inception_weights() -> Path | None:
    """The local InceptionV3 FID weights, if torch-fidelity and the file are both present."""
    try:
        import torch_fidelity  # noqa: F401
    except ImportError:
        return None
    override = os.environ.get("TRANSLATE_INCEPTION_WEIGHTS")
    path = Path(override) if override else torch_checkpoint(INCEPTION_FILE)
    return path if path.is_file() else None


def _frechet(real: np.ndarray, fake: np.ndarray) -> float:
    mu_r, mu_f = real.mean(0), fake.mean(0)
    cov_r, cov_f = np.cov(real, rowvar=False), np.cov(fake, rowvar=False)
    # Tr((S_r S_f)^1/2) = Tr((S_r^1/2 S_f S_r^1/2)^1/2): two symmetric eigendecompositions,
    # exact even when few samples leave both covariances singular, where sqrtm is unstable.
    values, vectors = np.linalg.eigh(cov_r)
    root_r = (vectors * np.sqrt(values.clip(min=0))) @ vectors.T
    eigenvalues = np.linalg.eigvalsh(root_r @ cov_f @ root_r).clip(min=0)
    distance = ((mu_r - mu_f) ** 2).sum() + np.trace(cov_r) + np.trace(cov_f) \
        - 2 * np.sqrt(eigenvalues).sum()
    return float(max(distance, 0.0))


def _as_rgb(images: torch.Tensor) -> torch.Tensor:
    images = images.detach().float().cpu().clamp(-1, 1)
    return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images


class RandomConvFeatures(nn.Module):
    """The seeded random embedding behind the ``random-conv`` feature space."""

    resolution = 64  # every input is resized to this, so image size does not shift the features
    widths = (32, 64, 96, 128, 160)

    def __init__(self) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        channels, stages = 3, []
        for width in self.widths:
            conv = nn.Conv2d(channels, width, 3, stride=2, padding=1)
            # He init from a private generator: identical weights on every machine and
            # independent of the global RNG the caller may be seeding.
            nn.init.normal_(conv.weight, std=(2 / (9 * channels)) ** 0.5, generator=generator)
            nn.init.zeros_(conv.bias)
            stages.append(conv)
            channels = width
        self.stages = nn.ModuleList(stages)
        self.requires_grad_(False)

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        # (N, 3, H, W) in [-1, 1] -> (N, 2 * sum(widths)) mean and std of every stage
        x = F.interpolate(images, size=(self.resolution, self.resolution), mode="bilinear",
                          antialias=True, align_corners=False)
        pooled = []
        for conv in self.stages:
            x = F.leaky_relu(conv(x), 0.2)
            pooled += [x.mean((2, 3)), x.std((2, 3))]
        return torch.cat(pooled, 1)


def _random_conv_features(images: torch.Tensor) -> np.ndarray:
    network = RandomConvFeatures()
    return torch.cat([network(chunk) for chunk in _as_rgb(images).split(256)]).double().numpy()


@contextlib.contextmanager
def _pickle_free_loading() -> Iterator[None]:
    """torch-fidelity loads its weights file with weights_only=False; force the safe loader."""
    saved = {key: os.environ.pop(key, None)
             for key in ("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD")}
    os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = "1"
    try:
        yield
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None)
            if value is not None:
                os.environ[key] = value


def _inception_features(images: torch.Tensor) -> np.ndarray:
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    path = inception_weights()
    if path is None:
        raise FileNotFoundError(
            f"Inception FID weights not found: install torch-fidelity and put {INCEPTION_FILE} "
            "in the torch hub checkpoints folder or set TRANSLATE_INCEPTION_WEIGHTS")
    with _pickle_free_loading():
        network = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"],
                                              feature_extractor_weights_path=str(path))
    pixels = _as_rgb(images).add(1).mul(127.5).round().to(torch.uint8)
    with torch.no_grad():
        return torch.cat([network(chunk)[0] for chunk in pixels.split(64)]).double().numpy()
