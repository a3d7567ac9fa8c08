"""An optional VGG16 perceptual loss, used only when its weights are already on disk.

Johnson et al. 2016, https://arxiv.org/abs/1603.08155: L1 distance between VGG16
features (relu1_2, relu2_2, relu3_3) of the result and of the real image. The ImageNet
weights are never downloaded: training must not depend on the network, so the term is
switched off (and the model card says so) when torchvision's file is not in the cache.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from translate.hub.importers import read_reference_state_dict
from translate.paths import torch_checkpoint

VGG16_FILE = "vgg16-397923af.pth"  # torchvision's ImageNet VGG16 weights
LAYERS = (4, 9, 16)  # ends of relu1_2, relu2_2, relu3_3 in torchvision's vgg16.features
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def vgg16_weights_path() -> Path:
    """Where torchvision keeps the file: $TORCH_HOME/hub/checkpoints (or ~/.cache/torch)."""
    return torch_checkpoint(VGG16_FILE)


class VGGPerceptualLoss(nn.Module):
    """Mean L1 over three VGG16 feature maps; frozen, in eval mode."""

    def __init__(self, weights: Path) -> None:
        super().__init__()
        from torchvision.models import vgg16

        network = vgg16()
        state = read_reference_state_dict(weights)
        network.load_state_dict(state)
        self.features = network.features[: LAYERS[-1] + 1].eval().requires_grad_(False)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def train(self, mode: bool = True) -> VGGPerceptualLoss:
        super().train(mode)
        self.features.eval()  # a fixed feature extractor, whatever the engine asks
        return self

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        # fake, real: (B, 3, H, W) in [-1, 1] -> scalar
        x = torch.cat([fake, real]).add(1).div(2).sub(self.mean).div(self.std)
        total = fake.new_zeros(())
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in LAYERS:
                a, b = x.chunk(2)
                total = total + F.l1_loss(a, b)
        return total / len(LAYERS)
