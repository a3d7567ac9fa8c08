"""CycleGAN's networks: the ResNet generator and the discriminators' history of fakes.

Zhu et al. 2017, "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial
Networks", https://arxiv.org/abs/1703.10593. The discriminators are the shared 70x70
PatchGAN (`translate.nn.PatchDiscriminator`).

Module names follow the reference `ResnetGenerator` (`model.<i>`, `model.<i>.conv_block.<j>`),
so its published checkpoints (horse2zebra, monet2photo, ...) load without renaming.
"""

from __future__ import annotations

import torch
from torch import nn

from translate.nn import NormKind, PatchDiscriminator, norm_layer
from translate.nn.norm import conv_bias


# He et al. 2016, https://arxiv.org/abs/1512.03385, in the form of Johnson et al. 2016,
# https://arxiv.org/abs/1603.08155 (reflection padding, norm after each conv, no final ReLU).
class ResnetBlock(nn.Module):
    def __init__(self, *, channels: int, norm: NormKind, dropout: bool) -> None:
        super().__init__()
        make_norm, bias = norm_layer(norm), conv_bias(norm)
        layers: list[nn.Module] = [nn.ReflectionPad2d(1),
                                   nn.Conv2d(channels, channels, 3, bias=bias),
                                   make_norm(channels), nn.ReLU(inplace=True)]
        if dropout:
            layers.append(nn.Dropout(0.5))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias),
                   make_norm(channels)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (N, C, H, W) -> (N, C, H, W)
        return x + self.conv_block(x)


# Zhu et al. 2017, appendix 7.2: c7s1-64, d128, d256, R256 x blocks, u128, u64, c7s1-3.
class ResnetGenerator(nn.Module):
    """Two stride-2 convs down, residual blocks at 1/4 resolution, two transposed convs up."""

    stride = 4  # inputs must have sides that are multiples of this

    def __init__(self, *, in_channels: int = 3, out_channels: int = 3, width: int = 64,
                 blocks: int = 9, norm: NormKind = "instance", dropout: bool = False) -> None:
        super().__init__()
        make_norm, bias = norm_layer(norm), conv_bias(norm)
        # Reflection instead of zero padding: zeros at the border would be a fake edge that
        # the generator learns to paint.
        layers: list[nn.Module] = [nn.ReflectionPad2d(3),
                                   nn.Conv2d(in_channels, width, 7, bias=bias),
                                   make_norm(width), nn.ReLU(inplace=True)]
        for mult in (1, 2):
            layers += [nn.Conv2d(width * mult, width * mult * 2, 3, stride=2, padding=1, bias=bias),
                       make_norm(width * mult * 2), nn.ReLU(inplace=True)]
        layers += [ResnetBlock(channels=width * 4, norm=norm, dropout=dropout)
                   for _ in range(blocks)]
        for mult in (4, 2):
            layers += [nn.ConvTranspose2d(width * mult, width * mult // 2, 3, stride=2, padding=1,
                                          output_padding=1, bias=bias),
                       make_norm(width * mult // 2), nn.ReLU(inplace=True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, out_channels, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        # (N, in_channels, H, W) in [-1, 1], H and W multiples of 4 -> (N, out_channels, H, W)
        return self.model(images)


# Shrivastava et al. 2017, https://arxiv.org/abs/1612.07828 (section 2.3), as used by
# Zhu et al. 2017 (section 4): D is shown a mix of current and earlier fakes, so it cannot
# chase only the generator's latest mistakes and the two do not oscillate.
class HistoryBuffer(nn.Module):
    """The last fakes a discriminator saw, kept as buffers so checkpoints and resume hold them."""

    def __init__(self, *, capacity: int, channels: int, size: int) -> None:
        super().__init__()
        self.capacity = capacity
        self.register_buffer("images", torch.zeros(capacity, channels, size, size))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def query(self, fakes: torch.Tensor) -> torch.Tensor:
        """Fakes to show D: while filling, the new ones; then each is swapped for a stored
        one with probability 1/2 (the new one takes the stored one's place)."""
        if self.capacity == 0:
            return fakes
        if fakes.shape[1:] != self.images.shape[1:]:
            raise ValueError(f"history holds {tuple(self.images.shape[1:])} images, "
                             f"got {tuple(fakes.shape[1:])}")
        shown = fakes.clone()
        for index, fake in enumerate(fakes):
            filled = int(self.count)
            if filled < self.capacity:
                self.images[filled] = fake
                self.count += 1
            elif torch.rand(()) < 0.5:  # the global RNG: the engine checkpoints it
                slot = int(torch.randint(self.capacity, ()))
                shown[index] = self.images[slot]
                self.images[slot] = fake
        return shown


class HistoryPatchDiscriminator(PatchDiscriminator):
    """The shared PatchGAN plus its history buffer (`model.*` keys stay the reference's)."""

    def __init__(self, *, in_channels: int, width: int, layers: int, norm: NormKind,
                 history: int, image_size: int) -> None:
        super().__init__(in_channels=in_channels, width=width, layers=layers, norm=norm)
        self.history = HistoryBuffer(capacity=history, channels=in_channels, size=image_size)
