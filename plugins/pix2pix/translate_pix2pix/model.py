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
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from translate.nn import NormKind, norm_layer
from translate.nn.norm import conv_bias

LevelKind = Literal["outermost", "middle", "innermost"]

# Channel multipliers stop growing at 8x the base width, as in the paper's C64-…-C512.
MAX_WIDTH_MULTIPLIER = 8
# The paper's decoder applies dropout in its first three (innermost) blocks; the levels
# just outside the innermost that keep the maximum width are those blocks.
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
