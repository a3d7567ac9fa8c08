"""The pix2pix generator: a U-Net whose module names match the reference implementation.

Isola et al. 2017, "Image-to-Image Translation with Conditional Adversarial Networks",
https://arxiv.org/abs/1611.07004 (section 3.2.1 and appendix 6.1.1). The encoder halves
the resolution `depth` times; each decoder level sees the matching encoder features
through a skip connection, so low-level detail (edges, positions) need not squeeze
through the bottleneck.

The network is built recursively, one `UNetLevel` per resolution, each holding the next
finer-to-coarser level inside its `model` Sequential. This nesting is what the reference
`UnetGenerator` / `UnetSkipConnectionBlock` produce, so their checkpoints' keys
(`model.model.1.model.3.…`) load here unchanged. The discriminator is the shared
`translate.nn.PatchDiscriminator`.

`detect` reads a reference checkpoint's architecture off its keys and shapes; nothing needs
renaming (the host drops the stale instance-norm statistics of old files).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from translate.errors import WeightsError
from translate.nn import NormKind, norm_layer
from translate.nn.norm import conv_bias

LevelKind = Literal["outermost", "middle", "innermost"]

# Channel multipliers stop growing at 8x the base width, as in the paper's C64-…-C512.
MAX_WIDTH_MULTIPLIER = 8
# Named depths: 128 or 256 pixels shrink to 1x1.
DEPTHS = {"unet_128": 7, "unet_256": 8}


class UNetLevel(nn.Module):
    """One resolution: downsample, run the coarser levels, upsample, concatenate the input.

    Layer order inside `model` (and so the checkpoint indices) follows the reference:
    outermost  [down conv, inner, ReLU, up conv, tanh]
    middle     [LeakyReLU, down conv, norm, inner, ReLU, up conv, norm, (dropout)]
    innermost  [LeakyReLU, down conv, ReLU, up conv, norm]
    """

    def __init__(self, *, outer: int, inner: int, kind: LevelKind, norm: NormKind,
                 in_channels: int | None = None, submodule: nn.Module | None = None,
                 dropout: bool = False) -> None:
        super().__init__()
        make_norm, bias = norm_layer(norm), conv_bias(norm)
        self.outermost = kind == "outermost"
        in_channels = outer if in_channels is None else in_channels
        down = nn.Conv2d(in_channels, inner, 4, stride=2, padding=1, bias=bias)
        # Every level except the innermost receives its inner level's output concatenated
        # with that level's input, hence twice the channels on the way up.
        up_in = inner if kind == "innermost" else inner * 2
        if kind == "outermost":
            layers = [down, submodule, nn.ReLU(True),
                      nn.ConvTranspose2d(up_in, outer, 4, stride=2, padding=1), nn.Tanh()]
        elif kind == "innermost":
            layers = [nn.LeakyReLU(0.2, True), down, nn.ReLU(True),
                      nn.ConvTranspose2d(up_in, outer, 4, stride=2, padding=1, bias=bias),
                      make_norm(outer)]
        else:
            layers = [nn.LeakyReLU(0.2, True), down, make_norm(inner), submodule, nn.ReLU(True),
                      nn.ConvTranspose2d(up_in, outer, 4, stride=2, padding=1, bias=bias),
                      make_norm(outer)]
            if dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (N, C, H, W) -> outermost: (N, out, H, W); others: (N, C + outer, H, W)
        if self.outermost:
            return self.model(x)
        # The skip connection. The first inner layer is an in-place LeakyReLU, so the copy
        # of x that skips the level is the activated one, as in the reference: keeping
        # that is what makes reference checkpoints give the reference's outputs.
        return torch.cat([x, self.model(x)], 1)


class UNetGenerator(nn.Module):
    """`unet_256` (depth 8) or `unet_128` (depth 7): 256 or 128 pixels shrink to 1x1."""

    def __init__(self, *, in_channels: int = 3, out_channels: int = 3, depth: int = 8,
                 width: int = 64, norm: NormKind = "batch", dropout: bool = True) -> None:
        super().__init__()
        if depth < 5:
            raise ValueError(f"a U-Net needs depth >= 5 (got {depth})")
        self.depth = depth

        def channels(level: int) -> int:
            return width * min(2 ** level, MAX_WIDTH_MULTIPLIER)

        # Built from the bottleneck outwards; level 0 is the full-resolution one.
        block: nn.Module = UNetLevel(outer=channels(depth - 2), inner=channels(depth - 1),
                                     kind="innermost", norm=norm)
        for level in range(depth - 2, 0, -1):
            # Dropout in the decoder blocks that keep the maximum width below the bottleneck:
            # three for unet_256, two for unet_128, exactly as the reference.
            noisy = dropout and level >= 4
            block = UNetLevel(outer=channels(level - 1), inner=channels(level), kind="middle",
                              norm=norm, submodule=block, dropout=noisy)
        self.model = UNetLevel(outer=out_channels, inner=width, in_channels=in_channels,
                               kind="outermost", norm=norm, submodule=block)

    @property
    def stride(self) -> int:
        """Height and width must be multiples of this."""
        return 2 ** self.depth

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        # (N, in_channels, H, W) in [-1, 1], H and W multiples of `stride`
        # -> (N, out_channels, H, W) in [-1, 1]
        return self.model(images)


# ---- reading the reference's checkpoints (latest_net_G.pth) -------------------------------

OUTER = "model.model."  # the outermost level's Sequential


def level_prefix(level: int) -> str:
    """Key prefix of level `level`'s Sequential (0 = full resolution); index 1, then 3s."""
    return OUTER if level == 0 else OUTER + "1.model." + "3.model." * (level - 1)


def detect(state: dict[str, torch.Tensor], *, norm: str | None = None) -> dict[str, object] | None:
    """Architecture name and `UNetGenerator` arguments of a reference state dict, or None.

    Depth is how many levels nest, width and channels are the outermost convolutions'
    shapes, and the norm is batch if the norm layers carry weights (instance-norm layers
    carry nothing, or stale running statistics in files from PyTorch < 0.4); a `norm`
    given (the importer's --norm) must agree. None for a file without
    `model.model.0.weight`; one that has it but does not fit raises.
    """
    first, last, norm_key = OUTER + "0.weight", OUTER + "3.weight", level_prefix(1) + "2.weight"
    if first not in state:
        return None
    if state[first].ndim != 4:
        raise WeightsError(f"not a reference U-Net generator: {first} has shape "
                           f"{tuple(state[first].shape)}")
    depth = 1
    while level_prefix(depth) + "1.weight" in state:
        depth += 1
    names = {d: n for n, d in DEPTHS.items()}
    if depth not in names:
        raise WeightsError(f"a U-Net with {depth} levels; pix2pix reads unet_128 (7) "
                           f"and unet_256 (8) (deepest key: {level_prefix(depth - 1)}1.weight)")
    if last not in state:
        raise WeightsError(f"missing key {last} (the outermost up-convolution)")
    found = "batch" if norm_key in state else "instance"
    if norm is not None and norm != found:
        raise WeightsError(f"--norm {norm} given, but the file "
                           f"{'has' if found == 'batch' else 'lacks'} {norm_key} "
                           f"(a {found}-norm checkpoint)")
    return {"arch": names[depth], "width": state[first].shape[0],
            "in_channels": state[first].shape[1], "out_channels": state[last].shape[1],
            "norm": found}
