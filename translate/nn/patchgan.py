"""The PatchGAN discriminator of pix2pix and CycleGAN.

Isola et al. 2017, https://arxiv.org/abs/1611.07004 (section 3.2.2): D classifies each
overlapping N×N patch as real or fake; with 3 layers each output logit sees 70×70 pixels.
Module names follow the reference `NLayerDiscriminator` (`model.<index>`), so its
checkpoints load without renaming.
"""

from __future__ import annotations

import torch
from torch import nn

from translate.nn.norm import NormKind, conv_bias, norm_layer


class PatchDiscriminator(nn.Module):
    def __init__(self, *, in_channels: int, width: int = 64, layers: int = 3,
                 norm: NormKind = "batch") -> None:
        super().__init__()
        make_norm, bias = norm_layer(norm), conv_bias(norm)
        blocks: list[nn.Module] = [
            nn.Conv2d(in_channels, width, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        channels = width
        # Halve resolution `layers - 1` more times, doubling width up to 8x; the last
        # widening conv keeps stride 1 so the receptive field grows without shrinking.
        for index in range(1, layers + 1):
            out = width * min(2 ** index, 8)
            stride = 2 if index < layers else 1
            blocks += [nn.Conv2d(channels, out, 4, stride=stride, padding=1, bias=bias),
                       make_norm(out), nn.LeakyReLU(0.2, inplace=True)]
            channels = out
        blocks.append(nn.Conv2d(channels, 1, 4, stride=1, padding=1))
        self.model = nn.Sequential(*blocks)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        # (N, in_channels, H, W) -> (N, 1, H/2^layers - 2, W/2^layers - 2) patch logits
        return self.model(images)
