"""The pix2pix U-Net of eriklindernoren/PyTorch-GAN, as the Hub's HugGAN repos hold it.

Isola et al. 2017, "Image-to-Image Translation with Conditional Adversarial Networks",
https://arxiv.org/abs/1611.07004. PyTorch-GAN (implementations/pix2pix/models.py) and the
HugGAN community scripts that copied it (huggingface/community-events,
huggan/pytorch/pix2pix/modeling_pix2pix.py) write the U-Net flat rather than nested: eight
`UNetDown` blocks, seven `UNetUp` blocks and a `final` head, so its checkpoints have keys
`down1.model.0.weight` ... `up7.model.0.weight`, `final.2.weight`, `final.2.bias`. This
differs from the reference U-Net of junyanz/pytorch-CycleGAN-and-pix2pix (`model.py`,
keys `model.model.1.model.…`) in more than names:

- instance norm (no affine weights, no running statistics) instead of batch norm;
- no conv biases, except in the final conv;
- dropout 0.5 in the encoder too (down4 to down8), and in up1 to up4;
- the last upsampling is nearest-neighbour x2, a one-pixel zero pad at the top-left and a
  4x4 conv, not a transposed conv.

Module names here equal those checkpoint keys, so importing is `filter_state` (which
only drops stale statistics) and a strict load.
"""

from __future__ import annotations

import re

import torch
from torch import nn

from translate.errors import WeightsError

ARCH = "pytorch_gan_unet"  # a name for this architecture in weights configs
LEVELS = 8  # halvings; 256 pixels shrink to 1x1
MAX_WIDTH_MULTIPLIER = 8  # channels stop doubling at 8x the base width, as C64-...-C512
DROPOUT_DOWN = range(4, 9)  # encoder blocks with dropout: down4..down8
DROPOUT_UP = range(1, 5)  # decoder blocks with dropout: up1..up4
DROPOUT = 0.5  # their probability


class UNetDown(nn.Module):
    """Conv 4x4 stride 2 (no bias), optional instance norm, LeakyReLU 0.2, optional dropout."""

    def __init__(self, *, in_channels: int, out_channels: int, normalize: bool = True,
                 dropout: float = 0.0) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, 4, 2, 1, bias=False)]
        if normalize:
            layers.append(nn.InstanceNorm2d(out_channels))
        layers.append(nn.LeakyReLU(0.2))
        if dropout:
            layers.append(nn.Dropout(dropout))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (N, in, H, W) -> (N, out, H/2, W/2)
        return self.model(x)


class UNetUp(nn.Module):
    """Transposed conv 4x4 stride 2 (no bias), instance norm, ReLU, optional dropout; then
    the skip: the matching encoder output is concatenated after the upsampled features."""

    def __init__(self, *, in_channels: int, out_channels: int, dropout: float = 0.0) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(in_channels, out_channels, 4, 2, 1, bias=False),
            nn.InstanceNorm2d(out_channels),
            nn.ReLU(inplace=True),
        ]
        if dropout:
            layers.append(nn.Dropout(dropout))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        # (N, in, H, W), (N, S, 2H, 2W) -> (N, out + S, 2H, 2W)
        return torch.cat((self.model(x), skip), 1)


class GeneratorUNet(nn.Module):
    """PyTorch-GAN's pix2pix generator: 8 levels, so sides must be multiples of 256.

    `width` is the first level's channels (64 in every published file); `dropout` puts
    dropout 0.5 in the nine blocks that have it in the source (False removes the layers,
    which changes no key). Translate any size by padding to `stride` and cropping back.
    """

    stride = 2 ** LEVELS

    def __init__(self, *, in_channels: int = 3, out_channels: int = 3, width: int = 64,
                 dropout: bool = True) -> None:
        super().__init__()

        def channels(level: int) -> int:  # level 1 = down1's output
            return width * min(2 ** (level - 1), MAX_WIDTH_MULTIPLIER)

        for level in range(1, LEVELS + 1):
            inputs = in_channels if level == 1 else channels(level - 1)
            # Neither the full-resolution block nor the 1x1 bottleneck is normalised.
            block = UNetDown(in_channels=inputs, out_channels=channels(level),
                             normalize=level not in (1, LEVELS),
                             dropout=DROPOUT if dropout and level in DROPOUT_DOWN else 0.0)
            self.add_module(f"down{level}", block)
        for level in range(1, LEVELS):
            # up1 sees the bottleneck alone; every later block also sees its skip.
            below = LEVELS - level + 1  # the encoder level whose resolution feeds this block
            inputs = channels(below) if level == 1 else 2 * channels(below)
            block = UNetUp(in_channels=inputs, out_channels=channels(below - 1),
                           dropout=DROPOUT if dropout and level in DROPOUT_UP else 0.0)
            self.add_module(f"up{level}", block)
        self.final = nn.Sequential(
            nn.Upsample(scale_factor=2),
            # Pad one pixel top-left so that a 4x4 conv with padding 1 keeps the size.
            nn.ZeroPad2d((1, 0, 1, 0)),
            nn.Conv2d(2 * width, out_channels, 4, padding=1),
            nn.Tanh(),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        # (N, in_channels, H, W) in [-1, 1], H and W multiples of 256
        # -> (N, out_channels, H, W) in [-1, 1]
        if images.shape[-2] % self.stride or images.shape[-1] % self.stride:
            raise ValueError(f"height and width must be multiples of {self.stride}, got "
                             f"{tuple(images.shape[-2:])}: pad with pad_to_multiple first")
        skips = []
        x = images
        for level in range(1, LEVELS + 1):
            x = getattr(self, f"down{level}")(x)
            skips.append(x)
        skips.pop()  # the bottleneck has no skip of its own
        for level in range(1, LEVELS):
            x = getattr(self, f"up{level}")(x, skips.pop())
        return self.final(x)


# ---- reading published checkpoints --------------------------------------------------------

SIGNATURE = ("down1.model.0.weight", "final.2.weight")
# Where the instance norms sit: index 1 of every normalised block's Sequential.
_NORM_KEY = re.compile(r"^(down[2-7]|up[1-7])\.model\.1\.(running_mean|running_var|"
                       r"num_batches_tracked)$")


def detect(state: dict[str, torch.Tensor], *, norm: str | None = None) -> dict[str, object] | None:
    """`arch` and the `GeneratorUNet` keyword arguments of a state dict, or None if not this
    layout.

    None for anything without `down1.model.0.weight` and `final.2.weight` (junyanz files
    start with `model.model.`); a file that has them but does not fit raises WeightsError,
    as does a `norm` given (the importer's --norm) other than instance.
    """
    if any(key not in state for key in SIGNATURE):
        return None
    if norm not in (None, "instance"):
        raise WeightsError(f"--norm {norm} given, but the file is PyTorch-GAN's U-Net, "
                           "instance-normalised throughout")
    first, last = state["down1.model.0.weight"], state["final.2.weight"]
    if first.ndim != 4 or last.ndim != 4:
        raise WeightsError(f"a PyTorch-GAN U-Net has 4-d down1.model.0.weight and "
                           f"final.2.weight; found shapes {tuple(first.shape)} and "
                           f"{tuple(last.shape)}")
    found = {"in_channels": int(first.shape[1]), "out_channels": int(last.shape[0]),
             "width": int(first.shape[0])}
    check_layout(filter_state(state), found)
    return {"arch": ARCH, **found}


def check_layout(state: dict[str, torch.Tensor], arguments: dict[str, int]) -> None:
    """Raise WeightsError naming the first key that `GeneratorUNet(**arguments)` lacks,
    does not expect, or expects with another shape."""
    with torch.device("meta"):
        expected = GeneratorUNet(**arguments).state_dict()
    for key in expected:
        if key not in state:
            raise WeightsError(f"PyTorch-GAN U-Net ({_describe(arguments)}): missing key {key}")
    for key, tensor in state.items():
        if key not in expected:
            raise WeightsError(f"PyTorch-GAN U-Net ({_describe(arguments)}): unexpected key "
                               f"{key}")
        if tensor.shape != expected[key].shape:
            raise WeightsError(f"PyTorch-GAN U-Net ({_describe(arguments)}): {key} has shape "
                               f"{tuple(tensor.shape)}, expected {tuple(expected[key].shape)}")


def filter_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The state as `GeneratorUNet` loads it: the same keys, minus instance-norm statistics.

    The published files carry none (InstanceNorm2d tracks none by default), but files
    saved by PyTorch < 0.4 or from a model built with track_running_stats would; our
    instance norms, like the source's, normalise each image by its own statistics.
    """
    return {key: value for key, value in state.items() if not _NORM_KEY.match(key)}


def _describe(arguments: dict[str, int]) -> str:
    return ", ".join(f"{key}={value}" for key, value in arguments.items())
