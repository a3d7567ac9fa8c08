"""Quality measures shared by plugins: independent classifiers, diversity, memorisation.

All work on flattened pixel features in [0, 1], so they need no downloaded network
and mean the same thing for every plugin that uses them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.utils.data import Dataset

if TYPE_CHECKING:
    from sklearn.svm import SVC


def stack(dataset: Dataset) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Every item of an un-augmented dataset as one (N, C, H, W) tensor, plus labels if any."""
    items = [dataset[i] for i in range(len(dataset))]
    images = torch.stack([item["image"] for item in items])
    labels = torch.stack([item["label"] for item in items]) if "label" in items[0] else None
    return images, labels


def pixels(images: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] -> (N, C*H*W) float64 in [0, 1]."""
    return images.detach().float().cpu().add(1).div(2).clamp(0, 1).flatten(1).numpy().astype(
        np.float64)


def pixel_classifier(features: np.ndarray, labels: np.ndarray) -> SVC:
    """An RBF-SVM on raw pixels in [0, 1]: strong on small images and trained in seconds.

    Pixels are not standardised: that would inflate rarely-inked border pixels to the
    same weight as the strokes that tell classes apart.
    """
    from sklearn.svm import SVC  # here: importing a translator must stay light

    return SVC(C=10.0, gamma="scale").fit(features, labels)


def mean_pairwise_distance(features: np.ndarray) -> float:
    """Average L2 distance between distinct rows: near zero means mode collapse."""
    if len(features) < 2:
        return 0.0
    squared = (features ** 2).sum(1)
    distances = np.sqrt(np.maximum(squared[:, None] + squared[None, :] - 2 * features @ features.T,
                                   0))
    n = len(features)
    return float(distances.sum() / (n * (n - 1)))


def nearest_distances(queries: np.ndarray, references: np.ndarray) -> np.ndarray:
    """For each query row, the L2 distance to its nearest reference row (memorisation check)."""
    squared = ((queries ** 2).sum(1)[:, None] + (references ** 2).sum(1)[None, :]
               - 2 * queries @ references.T)
    return np.sqrt(np.maximum(squared.min(1), 0))
