"""The networks of a class-conditional GAN for small greyscale digits.

The generator is a residual up-sampling network conditioned through class-conditional
batch norm; the discriminator is a spectrally normalised residual network whose class
information enters through a projection. This is the SNGAN/cGAN-with-projection
recipe, sized to train on a laptop CPU in minutes.
"""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


# Conditional batch norm: de Vries et al. 2017, https://arxiv.org/abs/1707.00683
class ConditionalBatchNorm(nn.Module):
    """BatchNorm whose scale and shift are looked up from the class label."""

    def __init__(self, *, channels: int, num_classes: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.scale = nn.Embedding(num_classes, channels)
        self.shift = nn.Embedding(num_classes, channels)
        nn.init.ones_(self.scale.weight)
        nn.init.zeros_(self.shift.weight)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        # x: (B, C, H, W), labels: (B,) -> (B, C, H, W)
        scale = self.scale(labels)[:, :, None, None]
        shift = self.shift(labels)[:, :, None, None]
        return self.norm(x) * scale + shift


# Residual generator block: Miyato et al. 2018 (SNGAN), https://arxiv.org/abs/1802.05957
class UpBlock(nn.Module):
    """CBN-ReLU-upsample-conv-CBN-ReLU-conv, plus an upsampled 1x1 shortcut."""

    def __init__(self, *, in_channels: int, out_channels: int, num_classes: int) -> None:
        super().__init__()
        self.norm1 = ConditionalBatchNorm(channels=in_channels, num_classes=num_classes)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.norm2 = ConditionalBatchNorm(channels=out_channels, num_classes=num_classes)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.shortcut = nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        # x: (B, Cin, H, W) -> (B, Cout, 2H, 2W)
        h = F.interpolate(F.relu(self.norm1(x, labels)), scale_factor=2, mode="nearest")
        h = self.conv2(F.relu(self.norm2(self.conv1(h), labels)))
        return h + self.shortcut(F.interpolate(x, scale_factor=2, mode="nearest"))


class Generator(nn.Module):
    """z ~ N(0, I) and a class label -> a (channels, size, size) image in [-1, 1]."""

    def __init__(self, *, latent_dim: int, num_classes: int, width: int, image_size: int,
                 channels: int = 1) -> None:
        super().__init__()
        blocks = int(math.log2(image_size // 4))
        if 4 * 2**blocks != image_size:
            raise ValueError(f"image_size must be 4 times a power of two, got {image_size}")
        widths = [width * 2 ** (blocks - i) for i in range(blocks + 1)]  # e.g. 256, 128, 64
        self.latent_dim, self.start_channels = latent_dim, widths[0]
        self.project = nn.Linear(latent_dim, widths[0] * 4 * 4)
        self.blocks = nn.ModuleList(
            UpBlock(in_channels=a, out_channels=b, num_classes=num_classes)
            for a, b in itertools.pairwise(widths))
        self.out_norm = nn.BatchNorm2d(widths[-1])
        self.to_image = nn.Conv2d(widths[-1], channels, 3, padding=1)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        # z: (B, latent_dim), labels: (B,) -> (B, channels, image_size, image_size)
        h = self.project(z).view(-1, self.start_channels, 4, 4)
        for block in self.blocks:
            h = block(h, labels)
        return torch.tanh(self.to_image(F.relu(self.out_norm(h))))


class DownBlock(nn.Module):
    """Spectrally normalised ReLU-conv-ReLU-conv-(avgpool) with a 1x1 shortcut."""

    def __init__(self, *, in_channels: int, out_channels: int, downsample: bool,
                 first: bool = False) -> None:
        super().__init__()
        self.conv1 = spectral_norm(nn.Conv2d(in_channels, out_channels, 3, padding=1))
        self.conv2 = spectral_norm(nn.Conv2d(out_channels, out_channels, 3, padding=1))
        self.shortcut = spectral_norm(nn.Conv2d(in_channels, out_channels, 1))
        self.downsample, self.first = downsample, first

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, Cin, H, W) -> (B, Cout, H/2, W/2) when downsampling
        # The first block sees raw pixels: a ReLU there would discard all negative values.
        h = self.conv2(F.relu(self.conv1(x if self.first else F.relu(x))))
        shortcut = self.shortcut(x)
        if self.downsample:
            h, shortcut = F.avg_pool2d(h, 2), F.avg_pool2d(shortcut, 2)
        return h + shortcut


# Projection discriminator: Miyato & Koyama 2018, https://arxiv.org/abs/1802.05637
class Discriminator(nn.Module):
    """An image and its claimed label -> one realness logit per image."""

    def __init__(self, *, num_classes: int, width: int, image_size: int, channels: int = 1) -> None:
        super().__init__()
        downsamples = int(math.log2(image_size // 4))
        widths = [width * 2 ** min(i, 2) for i in range(downsamples + 1)]  # e.g. 64, 128, 256
        layers = [DownBlock(in_channels=channels, out_channels=widths[0], downsample=True,
                            first=True)]
        layers += [DownBlock(in_channels=a, out_channels=b, downsample=True)
                   for a, b in itertools.pairwise(widths[:-1])]
        layers.append(DownBlock(in_channels=widths[-2], out_channels=widths[-1], downsample=False))
        self.blocks = nn.Sequential(*layers)
        self.realness = spectral_norm(nn.Linear(widths[-1], 1))
        self.class_embedding = spectral_norm(nn.Embedding(num_classes, widths[-1]))

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        # images: (B, C, H, W), labels: (B,) -> logits (B,)
        features = F.relu(self.blocks(images)).sum(dim=(2, 3))  # (B, F): global sum pooling
        projection = (self.class_embedding(labels) * features).sum(dim=1)
        return self.realness(features).squeeze(1) + projection
