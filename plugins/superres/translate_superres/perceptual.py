"""The perceptual loss of ESRGAN, from VGG19 weights already on this machine.

ESRGAN (https://arxiv.org/abs/1809.00219, section 3.3) compares VGG19 features before
their activation; Real-ESRGAN weighs conv1_2, conv2_2 (0.1 each) and conv3_4, conv4_4,
conv5_4 (1 each). The weights are torchvision's ImageNet VGG19, looked for in the torch
hub cache only: training never downloads 550 MB by surprise, and without them the term
is off (the model card says so).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.vgg import cfgs, make_layers

from translate.hub.importers import read_reference_state_dict
from translate.paths import torch_checkpoint

VGG19_FILE = "vgg19-dcbb9e9d.pth"  # torchvision's VGG19_Weights.IMAGENET1K_V1
# Index in torchvision's vgg19().features of each conv, by its paper name.
VGG19_CONVS = {"conv1_2": 2, "conv2_2": 7, "conv3_4": 16, "conv4_4": 25, "conv5_4": 34}
REAL_ESRGAN_LAYERS = {"conv1_2": 0.1, "conv2_2": 0.1, "conv3_4": 1.0, "conv4_4": 1.0,
                      "conv5_4": 1.0}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def vgg19_path() -> Path:
    """Where torchvision keeps the VGG19 weights (honours TORCH_HOME)."""
    return torch_checkpoint(VGG19_FILE)


class PerceptualLoss(nn.Module):
    """Weighted L1 distance between VGG19 features (before ReLU) of two [0, 1] images."""

    def __init__(self, *, layers: dict[str, float] | None = None,
                 weights: Path | None = None) -> None:
        super().__init__()
        self.layers = dict(layers or REAL_ESRGAN_LAYERS)
        last = max(VGG19_CONVS[name] for name in self.layers)
        # torchvision's own layer list (config "E" is VGG19), without the 120M-weight classifier.
        features = make_layers(cfgs["E"])[: last + 1]
        # Only the layers used are kept, so a file truncated to them also loads.
        state = read_reference_state_dict(weights or vgg19_path())
        wanted = {k.removeprefix("features."): v for k, v in state.items()
                  if k.startswith("features.") and int(k.split(".")[1]) <= last}
        features.load_state_dict(wanted, strict=True)
        self.features = features.eval().requires_grad_(False)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), False)
        self.taps = {VGG19_CONVS[name]: weight for name, weight in self.layers.items()}

    def _features(self, x: torch.Tensor) -> dict[int, torch.Tensor]:
        found, x = {}, (x - self.mean) / self.std
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in self.taps:
                found[index] = x
        return found

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        # (N, 3, H, W) pairs in [0, 1] -> scalar
        fake_features, real_features = self._features(fake), self._features(real.detach())
        return sum(weight * F.l1_loss(fake_features[i], real_features[i])
                   for i, weight in self.taps.items())


def available() -> bool:
    """Whether the VGG19 weights are on this machine."""
    return vgg19_path().is_file()
