"""The CycleGAN generator of eriklindernoren/PyTorch-GAN, as the Hub's HugGAN repos hold it.

Zhu et al. 2017, "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial
Networks", https://arxiv.org/abs/1703.10593, appendix 7.2 (c7s1-64, d128, d256, R256 x n,
u128, u64, c7s1-3). PyTorch-GAN (implementations/cyclegan/models.py) and the HugGAN
community scripts that copied it (huggingface/community-events,
huggan/pytorch/cyclegan/modeling_cyclegan.py) build it as one Sequential, so checkpoints
have keys `model.1.weight`, `model.<i>.block.{1,5}.weight`, .... It differs from the
reference `ResnetGenerator` of junyanz/pytorch-CycleGAN-and-pix2pix (`model.py`) in:

- upsampling by nearest-neighbour x2 and a 3x3 conv, not a transposed conv, so the
  decoder sits at other indices (model.<11+n> and model.<15+n>, not <10+n> and <13+n>);
- residual blocks named `block`, not `conv_block`;
- instance norm only, with biases on every conv, and no dropout option.

Module names here equal those checkpoint keys, so importing is `filter_state` (which
only drops stale statistics) and a strict load.
"""

from __future__ import annotations

import re

import torch
from torch import nn

from translate.errors import WeightsError

ARCH = "pytorch_gan_resnet"  # a name for this architecture in weights configs
STEM = 7  # the 7x7 convs at either end
DOWNSAMPLINGS = 2


# He et al. 2016, https://arxiv.org/abs/1512.03385, in the form of Johnson et al. 2016,
# https://arxiv.org/abs/1603.08155 (reflection padding, norm after each conv, no final ReLU).
class ResidualBlock(nn.Module):
    def __init__(self, *, channels: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            nn.InstanceNorm2d(channels),
            nn.ReLU(inplace=True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            nn.InstanceNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (N, C, H, W) -> (N, C, H, W)
        return x + self.block(x)


class GeneratorResNet(nn.Module):
    """PyTorch-GAN's CycleGAN generator; sides must be multiples of `stride` (4), at least 8.

    `channels` are the image's, in and out. The source pads its 7x7 convs by `channels`
    (ReflectionPad2d(channels)), which keeps the size only for 3 channels; here the pad
    is 3 whatever the channels, which is the same network for every published (RGB) file.
    """

    stride = 2 ** DOWNSAMPLINGS

    def __init__(self, *, channels: int = 3, blocks: int = 9, width: int = 64) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.ReflectionPad2d(STEM // 2), nn.Conv2d(channels, width, STEM),
                                   nn.InstanceNorm2d(width), nn.ReLU(inplace=True)]
        features = width
        for _ in range(DOWNSAMPLINGS):
            layers += [nn.Conv2d(features, features * 2, 3, stride=2, padding=1),
                       nn.InstanceNorm2d(features * 2), nn.ReLU(inplace=True)]
            features *= 2
        layers += [ResidualBlock(channels=features) for _ in range(blocks)]
        for _ in range(DOWNSAMPLINGS):
            # Nearest upsampling then a conv, instead of a transposed conv (no checkerboard
            # overlap pattern); this is what moves the decoder's indices.
            layers += [nn.Upsample(scale_factor=2),
                       nn.Conv2d(features, features // 2, 3, stride=1, padding=1),
                       nn.InstanceNorm2d(features // 2), nn.ReLU(inplace=True)]
            features //= 2
        layers += [nn.ReflectionPad2d(STEM // 2), nn.Conv2d(features, channels, STEM), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        # (N, channels, H, W) in [-1, 1], H and W multiples of 4 and at least 8
        # -> (N, channels, H, W) in [-1, 1]
        return self.model(images)


# ---- reading published checkpoints --------------------------------------------------------

FIRST_BLOCK = 10  # model.0-9: stem (pad, conv, norm, ReLU) and two (conv, norm, ReLU)
_BLOCK = re.compile(r"^model\.(\d+)\.block\.")
_STATISTIC = re.compile(r"^model\.(\d+)\.(?:block\.(\d+)\.)?(running_mean|running_var|"
                        r"num_batches_tracked)$")


def detect(state: dict[str, torch.Tensor]) -> dict[str, int] | None:
    """`GeneratorResNet` keyword arguments read from a state dict, or None if not this layout.

    The layout is told by its residual blocks' keys (`model.<i>.block.1.weight`; junyanz
    names them `conv_block`) and a 7x7 `model.1.weight`; a file that has them but does not
    fit raises WeightsError.
    """
    stem = state.get("model.1.weight")
    blocks = sorted({int(m.group(1)) for key in state if (m := _BLOCK.match(key))})
    if stem is None or stem.ndim != 4 or tuple(stem.shape[-2:]) != (STEM, STEM) or not blocks:
        return None
    if any(".conv_block." in key for key in state):
        return None  # a junyanz ResnetGenerator file with stray keys; not ours to read
    if blocks != list(range(FIRST_BLOCK, FIRST_BLOCK + len(blocks))):
        raise WeightsError(f"PyTorch-GAN ResNet generator: residual blocks at model.{blocks[0]}"
                           f"..model.{blocks[-1]}, expected consecutive ones from "
                           f"model.{FIRST_BLOCK}")
    found = {"channels": int(stem.shape[1]), "blocks": len(blocks), "width": int(stem.shape[0])}
    if found["channels"] != 3:
        raise WeightsError(f"PyTorch-GAN ResNet generator with {found['channels']} channels: "
                           "the source pads its 7x7 convs by the channel count, which only "
                           "3-channel (RGB) generators match")
    check_layout(filter_state(state), found)
    return found


def check_layout(state: dict[str, torch.Tensor], arguments: dict[str, int]) -> None:
    """Raise WeightsError naming the first key that `GeneratorResNet(**arguments)` lacks,
    does not expect, or expects with another shape."""
    with torch.device("meta"):
        expected = GeneratorResNet(**arguments).state_dict()
    described = ", ".join(f"{key}={value}" for key, value in arguments.items())
    for key in expected:
        if key not in state:
            raise WeightsError(f"PyTorch-GAN ResNet generator ({described}): missing key {key}")
    for key, tensor in state.items():
        if key not in expected:
            raise WeightsError(f"PyTorch-GAN ResNet generator ({described}): unexpected key "
                               f"{key}")
        if tensor.shape != expected[key].shape:
            raise WeightsError(f"PyTorch-GAN ResNet generator ({described}): {key} has shape "
                               f"{tuple(tensor.shape)}, expected {tuple(expected[key].shape)}")


def filter_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The state as `GeneratorResNet` loads it: the same keys, minus instance-norm statistics.

    The published files carry none (InstanceNorm2d tracks none by default), but files
    saved by PyTorch < 0.4 or from a model built with track_running_stats would; our
    instance norms, like the source's, normalise each image by its own statistics.
    """
    blocks = len({m.group(1) for key in state if (m := _BLOCK.match(key))})
    # Top-level norms follow a conv: model.2, 5, 8, then 12+n and 16+n after the n blocks.
    norms = {2, 5, 8, FIRST_BLOCK + blocks + 2, FIRST_BLOCK + blocks + 6}

    def is_statistic(key: str) -> bool:
        found = _STATISTIC.match(key)
        if found is None:
            return False
        if found.group(2) is not None:
            return found.group(2) in ("2", "6")  # the two norms inside a residual block
        return int(found.group(1)) in norms

    return {key: value for key, value in state.items() if not is_statistic(key)}
