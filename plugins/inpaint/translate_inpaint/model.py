"""The networks of an AOT-GAN inpainter.

Zeng et al. 2022, "Aggregated Contextual Transformations for High-Resolution Image
Inpainting", https://arxiv.org/abs/2104.01431. The generator encodes the masked image,
reasons about context with a stack of AOT blocks (dilated convolutions at several rates,
mixed through a learned spatial gate) and decodes a full image; the discriminator is the
spectrally normalised PatchGAN of DeepFill v2, which judges every patch of the result.

Optionally (`refine=True`, the starter's choice) the generator works coarse-to-fine as
DeepFill does, but with a coarse stage that has no weights: a harmonic (smoothest) fill of
the hole, started from a pull-push pyramid. The AOT network sees that coarse image and
learns a correction to it, starting from zero, so a short CPU training run spends its
steps on what a smooth fill gets wrong. With `contrast_window` the correction is measured
in units of the known pixels' local contrast, so flat holes stay flat.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


def _gate_norm(features: torch.Tensor) -> torch.Tensor:
    """AOT-GAN's per-channel spatial standardisation before the gate's sigmoid.

    Scaling by 5 after centring at -1 makes the sigmoid start mostly closed and saturate
    quickly: each position picks either the identity or the transformed features.
    """
    mean = features.mean((2, 3), keepdim=True)
    std = features.std((2, 3), keepdim=True) + 1e-9
    return 5 * (2 * (features - mean) / std - 1)


# AOT block: Zeng et al. 2022, https://arxiv.org/abs/2104.01431 (section 3.2, figure 3)
class AOTBlock(nn.Module):
    """Split into dilated branches, fuse, then gate between input and fused features."""

    def __init__(self, *, channels: int, rates: Sequence[int]) -> None:
        super().__init__()
        branch = channels // len(rates)
        self.branches = nn.ModuleList(
            nn.Sequential(nn.ReflectionPad2d(rate),
                          nn.Conv2d(channels, branch, 3, dilation=rate), nn.ReLU(inplace=True))
            for rate in rates)
        self.fuse = nn.Sequential(nn.ReflectionPad2d(1),
                                  nn.Conv2d(branch * len(rates), channels, 3))
        self.gate = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, C, H, W) -> (B, C, H, W); H and W must exceed the largest rate
        fused = self.fuse(torch.cat([branch(x) for branch in self.branches], dim=1))
        gate = torch.sigmoid(_gate_norm(self.gate(x)))
        return x * (1 - gate) + fused * gate


class UpConv(nn.Module):
    """Bilinear x2 then a 3x3 conv: AOT-GAN's decoder step, free of checkerboard artefacts."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, Cin, H, W) -> (B, Cout, 2H, 2W)
        return self.conv(F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True))


# Pull-push fill: Gortler et al. 1996, "The Lumigraph" (section 3.4.1), the classic
# scattered-data interpolation: average the known pixels down a pyramid, then fill each
# level's holes from the level below, upsampled.
def pyramid_fill(image: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) with known (B, 1, H, W) in {0, 1} -> holes filled smoothly, same shape."""
    height, width = image.shape[-2:]
    if min(height, width) < 2:
        count = known.sum((2, 3), keepdim=True)
        mean = (image * known).sum((2, 3), keepdim=True) / count.clamp_min(1e-8)
        return image * known + mean * (1 - known)  # nothing known at all: mean 0, grey
    weight = F.avg_pool2d(known, 2, ceil_mode=True)
    coarse = F.avg_pool2d(image * known, 2, ceil_mode=True) / weight.clamp_min(1e-8)
    coarse = pyramid_fill(coarse, (weight > 0).to(image.dtype))
    up = F.interpolate(coarse, size=(height, width), mode="bilinear", align_corners=False)
    return image * known + up * (1 - known)


# Harmonic (membrane) inpainting: Bertalmio et al. 2000 and the PDE methods after it solve
# Laplace's equation in the hole with the known pixels as boundary values. Jacobi sweeps
# from the pyramid fill converge fast, since the pyramid already holds the low frequencies.
def harmonic_fill(image: torch.Tensor, known: torch.Tensor, iterations: int) -> torch.Tensor:
    """(B, C, H, W) with known (B, 1, H, W) in {0, 1} -> the smoothest fill of the holes."""
    filled = pyramid_fill(image, known)
    channels = image.shape[1]
    average = image.new_tensor([[0, 0.25, 0], [0.25, 0, 0.25], [0, 0.25, 0]])
    average = average.expand(channels, 1, 3, 3)
    for _ in range(iterations):
        neighbours = F.conv2d(F.pad(filled, (1, 1, 1, 1), mode="replicate"), average,
                              groups=channels)
        filled = image * known + neighbours * (1 - known)
    return filled


# Local contrast, after the local contrast normalisation of Jarrett et al. 2009 ("What is
# the best multi-stage architecture for object recognition?", ICCV): the spread of the
# known pixels around each point, carried into the hole by the same pull-push fill. It
# sets the scale of the learned correction, so a flat hole (sky) can only be changed by
# about a grey level while a textured one can take an edge.
CONTRAST_FLOOR = 2 / 255  # one grey level in [-1, 1]: a perfectly flat hole can still move


def local_contrast(image: torch.Tensor, known: torch.Tensor, window: int) -> torch.Tensor:
    """(B, C, H, W), known (B, 1, H, W) -> (B, 1, H, W) spread of the known pixels nearby.

    The standard deviation over an odd `window` of known pixels, averaged over channels;
    where a window holds no known pixel at all, it is filled in from the nearest ones.
    """
    def pool(values: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(values, window, stride=1, padding=window // 2,
                            count_include_pad=False)

    weight = pool(known)
    share = weight.clamp_min(1e-8)
    mean = pool(image * known) / share
    variance = (pool(image.square() * known) / share - mean.square()).clamp_min(0)
    seen = (weight > 0).to(image.dtype)  # windows with at least one known pixel
    return pyramid_fill(variance.mean(1, keepdim=True) * seen, seen).sqrt()


class Generator(nn.Module):
    """(masked image, mask) -> a full image; only its hole pixels are kept by the caller.

    The encoder halves the resolution `downsamples` times, so inputs must be a multiple of
    `multiple` in height and width (pad with translate.nn.pad_to_multiple).
    """

    def __init__(self, *, channels: int = 3, width: int = 64, blocks: int = 8,
                 rates: Sequence[int] = (1, 2, 4, 8), downsamples: int = 2,
                 refine: bool = False, smoothing: int = 100,
                 contrast_window: int = 0) -> None:
        super().__init__()
        self.refine, self.smoothing = refine, smoothing
        self.contrast_window = contrast_window
        widths = [width * 2**i for i in range(downsamples + 1)]  # e.g. 64, 128, 256
        if widths[-1] % len(rates):
            raise ValueError(f"the deepest width {widths[-1]} must divide into {len(rates)} rates")
        self.multiple = 2**downsamples
        encoder: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(channels + 1, width, 7),
                                    nn.ReLU(inplace=True)]
        for a, b in itertools.pairwise(widths):
            encoder += [nn.Conv2d(a, b, 4, stride=2, padding=1), nn.ReLU(inplace=True)]
        self.encoder = nn.Sequential(*encoder)
        self.middle = nn.Sequential(*(AOTBlock(channels=widths[-1], rates=rates)
                                      for _ in range(blocks)))
        decoder: list[nn.Module] = []
        for a, b in itertools.pairwise(widths[::-1]):
            decoder += [UpConv(a, b), nn.ReLU(inplace=True)]
        decoder.append(nn.Conv2d(width, channels, 3, padding=1))
        self.decoder = nn.Sequential(*decoder)
        if refine:  # the correction starts at zero: the untrained generator is the coarse fill
            nn.init.zeros_(decoder[-1].weight)
            nn.init.zeros_(decoder[-1].bias)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # image: (B, C, H, W) in [-1, 1], mask: (B, 1, H, W) with 1 = hole -> (B, C, H, W)
        masked = image * (1 - mask)  # hole pixels never reach the network
        if not self.refine:
            features = self.middle(self.encoder(torch.cat([masked, mask], dim=1)))
            return torch.tanh(self.decoder(features))
        coarse = self.coarse(masked, mask)
        features = self.middle(self.encoder(torch.cat([coarse, mask], dim=1)))
        correction = self.decoder(features)
        if self.contrast_window:  # in units of the local contrast, never quite zero
            with torch.no_grad():
                scale = local_contrast(masked, 1 - mask, self.contrast_window)
            correction = correction * (scale + CONTRAST_FLOOR)
        return (coarse + correction).clamp(-1, 1)

    def coarse(self, masked: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The weight-free coarse stage: (B, C, H, W), (B, 1, H, W) -> (B, C, H, W)."""
        with torch.no_grad():  # no weights, nothing to learn: no graph either
            return harmonic_fill(masked, 1 - mask, self.smoothing)


# SN-PatchGAN: Yu et al. 2019 (DeepFill v2), https://arxiv.org/abs/1806.03589 (section 3.2)
class SNPatchDiscriminator(nn.Module):
    """Strided 5x5 spectrally normalised convs; every output logit judges one patch.

    It sees the image with the mask as a fourth channel, so it knows where to look.
    """

    def __init__(self, *, channels: int = 3, width: int = 64, layers: int = 6) -> None:
        super().__init__()
        modules: list[nn.Module] = []
        current = channels + 1
        for index in range(layers):
            out = width * min(2**index, 4)
            modules += [spectral_norm(nn.Conv2d(current, out, 5, stride=2, padding=2)),
                        nn.LeakyReLU(0.2, inplace=True)]
            current = out
        self.convs = nn.Sequential(*modules[:-1])  # DeepFill v2 keeps the last layer linear

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # image: (B, C, H, W), mask: (B, 1, H, W) -> (B, C', H / 2^layers, W / 2^layers) logits
        return self.convs(torch.cat([image, mask], dim=1))
