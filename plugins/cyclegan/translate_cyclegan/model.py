"""CycleGAN's networks: the ResNet generator and the discriminators' history of fakes.

Zhu et al. 2017, "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial
Networks", https://arxiv.org/abs/1703.10593. The discriminators are the shared 70x70
PatchGAN (`translate.nn.PatchDiscriminator`).

Module names follow the reference `ResnetGenerator` (`model.<i>`, `model.<i>.conv_block.<j>`),
so its published checkpoints (horse2zebra, monet2photo, ...) load without renaming:
`detect` reads the constructor arguments off a file's keys and shapes, and `filter_state`
has nothing to rename.
"""

from __future__ import annotations

import re
from typing import Any

import torch
from torch import nn

from translate.errors import WeightsError
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


# ---- reading the reference's checkpoints (latest_net_G_A.pth, horse2zebra.pth, ...) ------------

FIRST_BLOCK = 10  # model.0-9: stem conv and two downsampling convs, each with norm and ReLU
NORM_STATISTICS = ("running_mean", "running_var", "num_batches_tracked")
_BLOCK = re.compile(r"^model\.(\d+)\.conv_block\.")


def detect(state: dict[str, torch.Tensor]) -> dict[str, Any] | None:
    """`ResnetGenerator` keyword arguments read from a state dict, or None if not this layout.

    The layout is told by a 7x7 `model.1.weight` and at least one residual block named
    `conv_block` (PyTorch-GAN's generator, which also starts with a 7x7 `model.1`, names
    them `block`); a file that has them but does not fit raises WeightsError.
    """
    stem = state.get("model.1.weight")
    blocks = sorted({int(m.group(1)) for key in state if (m := _BLOCK.match(key))})
    if stem is None or stem.ndim != 4 or tuple(stem.shape[-2:]) != (7, 7) or not blocks:
        return None
    if stem.shape[1] != 3:
        raise WeightsError(f"reference ResnetGenerator: 'model.1.weight' takes {stem.shape[1]} "
                           "input channels; cyclegan translates RGB images (3)")
    if blocks != list(range(FIRST_BLOCK, FIRST_BLOCK + len(blocks))):
        raise WeightsError(f"reference ResnetGenerator: residual blocks at model.{blocks[0]}"
                           f"..model.{blocks[-1]}, expected consecutive ones from "
                           f"model.{FIRST_BLOCK}")
    found = {
        "blocks": len(blocks),
        "width": int(stem.shape[0]),
        # Batch norm carries affine weights; the reference's instance norm has none.
        "norm": "batch" if "model.2.weight" in state else "instance",
        # Dropout shifts the second conv of each block from index 5 to 6.
        "dropout": any(key.endswith(".conv_block.6.weight") for key in state),
    }
    check_layout(state, found)
    return found


def check_layout(state: dict[str, torch.Tensor], arguments: dict[str, Any]) -> None:
    """Raise WeightsError naming the first key that `ResnetGenerator(**arguments)` lacks, does
    not expect, or expects with another shape. Norm statistics may be stale or missing:
    files from PyTorch < 0.4 carry them for instance norms and lack the batch counters."""
    with torch.device("meta"):
        expected = ResnetGenerator(**arguments).state_dict()
    described = ", ".join(f"{key}={value}" for key, value in arguments.items())
    for key in expected:
        if key not in state and not key.endswith("num_batches_tracked"):
            raise WeightsError(f"reference ResnetGenerator ({described}): missing key {key!r}")
    for key, tensor in state.items():
        if key not in expected and not key.endswith(NORM_STATISTICS):
            raise WeightsError(f"reference ResnetGenerator ({described}): unexpected key "
                               f"{key!r}")
        if key in expected and tensor.shape != expected[key].shape:
            raise WeightsError(f"reference ResnetGenerator ({described}): {key!r} has shape "
                               f"{tuple(tensor.shape)}, expected {tuple(expected[key].shape)}")


def filter_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The state as `ResnetGenerator` loads it: the same keys (the host drops stale statistics)."""
    return dict(state)
