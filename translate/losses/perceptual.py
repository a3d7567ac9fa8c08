"""Perceptual losses from torchvision's ImageNet VGG weights, used only when already on disk.

Johnson et al. 2016, https://arxiv.org/abs/1603.08155: the distance between a frozen
VGG's features of a result and of its target rewards what people see as similar, where
pixel losses reward blur. Plugins pick the network depth and the feature maps by their
paper names (`relu3_3`, `conv5_4`, ...) with a weight each.

The weights are never downloaded: training must not depend on the network, so a plugin
asks `vgg_available(depth)` and, without the file, trains without the term and says so in
its model card. Files are read with `torch.load(weights_only=True)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from translate.hub.reading import find_state_dict, read_checkpoint
from translate.paths import torch_checkpoint

VGGDepth = Literal[16, 19]
# torchvision's file names for its IMAGENET1K_V1 weights, and its layer configurations.
VGG_FILES: dict[int, str] = {16: "vgg16-397923af.pth", 19: "vgg19-dcbb9e9d.pth"}
VGG_CONFIGS: dict[int, str] = {16: "D", 19: "E"}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def vgg_weights_path(depth: VGGDepth) -> Path:
    """Where torchvision keeps the file: $TORCH_HOME/hub/checkpoints (or ~/.cache/torch)."""
    return torch_checkpoint(VGG_FILES[depth])


def vgg_available(depth: VGGDepth) -> bool:
    """Whether this machine already has the VGG weights of that depth."""
    return vgg_weights_path(depth).is_file()


@cache
def vgg_layer_indices(depth: VGGDepth) -> dict[str, int]:
    """Paper names of the layers in torchvision's `vgg{depth}().features`, e.g. relu3_3 -> 15."""
    from torchvision.models.vgg import cfgs  # torchvision takes a second to import

    names, block, conv, index = {}, 1, 0, 0
    for item in cfgs[VGG_CONFIGS[depth]]:
        if item == "M":  # max-pool: the next block starts
            block, conv, index = block + 1, 0, index + 1
            continue
        conv += 1
        names[f"conv{block}_{conv}"], names[f"relu{block}_{conv}"] = index, index + 1
        index += 2
    return names


class VGGPerceptualLoss(nn.Module):
    """Weighted mean-L1 distances between VGG feature maps of two images in [0, 1]."""

    def __init__(self, *, depth: VGGDepth, layers: Mapping[str, float],
                 weights: Path | None = None) -> None:
        super().__init__()
        indices = vgg_layer_indices(depth)
        unknown = sorted(set(layers) - set(indices))
        if unknown or not layers:
            raise ValueError(f"VGG{depth} has no layer {unknown[0] if unknown else '(none given)'}"
                             f"; names look like conv3_4 or relu2_2")
        self.taps = {indices[name]: float(weight) for name, weight in layers.items()}
        last = max(self.taps)
        from torchvision.models.vgg import cfgs, make_layers

        # A prefix of torchvision's own layer list: its pretrained weights load by index.
        features = make_layers(cfgs[VGG_CONFIGS[depth]])[: last + 1]
        for layer in features:
            if isinstance(layer, nn.ReLU):
                # A tapped conv output must not be overwritten by the ReLU that follows it.
                layer.inplace = False
        # Only the layers used are loaded, so a file truncated to them loads too.
        path = weights or vgg_weights_path(depth)
        state = find_state_dict(read_checkpoint(path), path=path)
        wanted = {key.removeprefix("features."): value for key, value in state.items()
                  if key.startswith("features.") and int(key.split(".")[1]) <= last}
        features.load_state_dict(wanted, strict=True)
        self.features = features.eval().requires_grad_(False)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), False)

    def train(self, mode: bool = True) -> VGGPerceptualLoss:
        super().train(mode)
        self.features.eval()  # a fixed feature extractor, whatever the engine asks
        return self

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        # fake, real: (N, 3, H, W) in [0, 1] -> scalar; gradients reach `fake` only
        x = (torch.cat([fake, real.detach()]) - self.mean) / self.std
        total = fake.new_zeros(())
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in self.taps:
                fake_features, real_features = x.chunk(2)
                total = total + self.taps[index] * F.l1_loss(fake_features, real_features)
        return total
