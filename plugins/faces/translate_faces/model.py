"""The networks of a data-efficient DCGAN for faces, and the augmentation that makes it work.

The generator and discriminator are the DCGAN of the textbooks: a Gaussian latent vector
grown into an image by strided transposed convolutions with batch norm, judged by strided
convolutions with leaky ReLUs. Two later additions make it train from a hundred faces:
spectral norm in D keeps the critic Lipschitz without batch norm, and DiffAugment shows
D only randomly translated, cut-out and recoloured images (real and fake alike), so it
cannot memorise a tiny training set and G still learns the un-augmented distribution.
"""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

RESOLUTIONS = (32, 64, 128)


def _levels(image_size: int) -> int:
    """Number of 2x resolution steps between the 4x4 base and image_size."""
    if image_size not in RESOLUTIONS:
        raise ValueError(f"image_size must be one of {', '.join(map(str, RESOLUTIONS))}, "
                         f"got {image_size}")
    return int(math.log2(image_size // 4))


# DCGAN generator: Radford et al. 2015, https://arxiv.org/abs/1511.06434
class Generator(nn.Module):
    """z ~ N(0, I) -> a (channels, image_size, image_size) image in [-1, 1]."""

    def __init__(self, *, latent_dim: int, width: int, image_size: int, channels: int) -> None:
        super().__init__()
        levels = _levels(image_size)
        # Channels halve as resolution doubles: width * 2^(levels-1) at 4x4, width before RGB.
        widths = [width * 2 ** (levels - 1 - i) for i in range(levels)]
        self.latent_dim = latent_dim
        layers: list[nn.Module] = [
            # A 4x4 transposed conv on a 1x1 input is the DCGAN "project and reshape".
            nn.ConvTranspose2d(latent_dim, widths[0], 4, 1, 0, bias=False),
            nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True)]
        for a, b in itertools.pairwise(widths):
            layers += [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b),
                       nn.ReLU(inplace=True)]
        layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        for module in self.modules():
            if isinstance(module, nn.ConvTranspose2d):
                nn.init.normal_(module.weight, 0.0, 0.02)  # the DCGAN paper's initialisation

    def forward(self, z: torch.Tensor, *, truncation: float = 1.0) -> torch.Tensor:
        # z: (B, latent_dim) -> (B, channels, image_size, image_size)
        # Truncation scales z towards the mean latent (0 for a Gaussian): the truncation trick
        # of Brock et al. 2018 (https://arxiv.org/abs/1809.11096) in its scaling form.
        return self.net((z * truncation)[:, :, None, None])


# DCGAN discriminator with spectral norm (Miyato et al. 2018, https://arxiv.org/abs/1802.05957)
# in place of batch norm: the SNGAN paper's "standard CNN" critic.
class Discriminator(nn.Module):
    """An image -> one realness logit."""

    def __init__(self, *, width: int, image_size: int, channels: int) -> None:
        super().__init__()
        levels = _levels(image_size)
        widths = [width * 2 ** min(i, 3) for i in range(levels)]  # e.g. 32, 64, 128 (caps at 8x)
        layers: list[nn.Module] = []
        previous = channels
        for w in widths:
            layers += [spectral_norm(nn.Conv2d(previous, w, 4, 2, 1)), nn.LeakyReLU(0.2)]
            previous = w
        # 4x4 features -> one logit: DCGAN's final full-size convolution.
        layers.append(spectral_norm(nn.Conv2d(previous, 1, 4, 1, 0)))
        self.net = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        # images: (B, C, H, W) -> logits (B,)
        return self.net(images).flatten()


# DiffAugment: Zhao et al. 2020, https://arxiv.org/abs/2006.10738 (the official policies
# "color,translation,cutout", re-written without per-pixel index grids).
AUGMENTATIONS = ("color", "translation", "cutout")


def diff_augment(images: torch.Tensor, policy: tuple[str, ...]) -> torch.Tensor:
    """Random, differentiable augmentation, drawn afresh for every image of every call.

    images: (B, C, H, W) in [-1, 1] -> the same shape. Gradients flow through to G.
    """
    for name in policy:
        if name == "color":
            images = _colour(images)
        elif name == "translation":
            images = _translation(images, ratio=0.125)
        elif name == "cutout":
            images = _cutout(images, ratio=0.5)
        else:
            raise ValueError(f"unknown DiffAugment policy {name!r}; use {', '.join(AUGMENTATIONS)}")
    return images


def _uniform(images: torch.Tensor) -> torch.Tensor:
    return torch.rand(len(images), 1, 1, 1, dtype=images.dtype, device=images.device)


def _colour(x: torch.Tensor) -> torch.Tensor:
    x = x + (_uniform(x) - 0.5)  # brightness
    if x.shape[1] > 1:  # saturation means nothing for one channel
        mean = x.mean(dim=1, keepdim=True)
        x = (x - mean) * (_uniform(x) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_uniform(x) + 0.5) + mean  # contrast


def _translation(x: torch.Tensor, *, ratio: float) -> torch.Tensor:
    """Shift each image by up to ratio of its size, filling with zeros (mid-grey)."""
    b, c, h, w = x.shape
    dy, dx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    shift_y = torch.randint(-dy, dy + 1, (b, 1), device=x.device)
    shift_x = torch.randint(-dx, dx + 1, (b, 1), device=x.device)
    # Indices into the image padded by one zero pixel; out-of-range ones land on the padding.
    rows = (torch.arange(h, device=x.device)[None] + shift_y + 1).clamp(0, h + 1)  # (B, H)
    cols = (torch.arange(w, device=x.device)[None] + shift_x + 1).clamp(0, w + 1)  # (B, W)
    padded = F.pad(x, (1, 1, 1, 1))
    x = padded.gather(2, rows[:, None, :, None].expand(b, c, h, w + 2))
    return x.gather(3, cols[:, None, None, :].expand(b, c, h, w))


def _cutout(x: torch.Tensor, *, ratio: float) -> torch.Tensor:
    """Zero one square of ratio x the image size per image, centred anywhere."""
    b, _, h, w = x.shape
    size_y, size_x = int(h * ratio + 0.5), int(w * ratio + 0.5)
    top = torch.randint(0, h + (1 - size_y % 2), (b, 1, 1), device=x.device) - size_y // 2
    left = torch.randint(0, w + (1 - size_x % 2), (b, 1, 1), device=x.device) - size_x // 2
    rows = torch.arange(h, device=x.device)[None, :, None]
    cols = torch.arange(w, device=x.device)[None, None, :]
    inside = (rows >= top) & (rows < top + size_y) & (cols >= left) & (cols < left + size_x)
    return x * (~inside).to(x.dtype)[:, None]


# R1 regularisation: Mescheder et al. 2018, https://arxiv.org/abs/1801.04406
def r1_penalty(logits: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """Mean squared norm of D's gradient at the (augmented) real images."""
    (gradient,) = torch.autograd.grad(logits.sum(), images, create_graph=True)
    return gradient.pow(2).flatten(1).sum(1).mean()


# Spherical interpolation: White 2016, https://arxiv.org/abs/1609.04468. Gaussian latents
# live near a sphere; a straight line between two would pass through unlikely, small norms.
def slerp(a: torch.Tensor, b: torch.Tensor, steps: int) -> torch.Tensor:
    """(D,), (D,) -> (steps, D) latents from a to b along the great circle."""
    t = torch.linspace(0.0, 1.0, steps, dtype=a.dtype)[:, None]
    cosine = torch.dot(a, b) / (a.norm() * b.norm())
    omega = torch.arccos(cosine.clamp(-1.0, 1.0))
    if omega.abs() < 1e-4:  # (nearly) the same direction: a straight line is the same path
        return torch.lerp(a, b, t)
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)
