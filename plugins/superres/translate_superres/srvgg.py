"""Real-ESRGAN's compact VGG-style generator (SRVGGNetCompact) and its denoise control.

The network of `realesr-general-x4v3.pth`, `realesr-general-wdn-x4v3.pth` and
`realesr-animevideov3.pth`: a plain stack of 3x3 convs at the input resolution, one
pixel-shuffle at the end, and the nearest-neighbour upscaled input added back, so it only
learns the residual. About 1.2 M parameters against RRDBNet's 16.7 M.

Module names are the checkpoints' own (`body.0` the first conv, `body.1` its activation,
... `body.{2 * convs + 2}` the last conv), so those files load without renaming. Like the
reference, the network sees and returns images in [0, 1].
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from translate.errors import WeightsError

ACTIVATIONS = ("prelu", "relu", "leakyrelu")


def _activation(name: str, features: int) -> nn.Module:
    if name == "prelu":
        return nn.PReLU(num_parameters=features)  # one learned slope per channel
    if name == "relu":
        return nn.ReLU(inplace=True)
    return nn.LeakyReLU(negative_slope=0.1, inplace=True)  # the reference's slope


# SRVGGNetCompact: Real-ESRGAN's "compact" models (github.com/xinntao/Real-ESRGAN,
# realesrgan/archs/srvgg_arch.py); the upsampler is ESPCN's pixel shuffle (Shi et al. 2016,
# https://arxiv.org/abs/1609.05158).
class SRVGGNetCompact(nn.Module):
    """`convs` 3x3 convs of `features` channels between a first and a last conv, all at the
    low resolution; the last conv makes `scale`**2 sub-pixels per channel.

    `activation` follows every conv but the last: "prelu" (every published model),
    "relu", or "leakyrelu" (slope 0.1).
    """

    def __init__(self, *, channels: int = 3, features: int = 64, convs: int = 16,
                 scale: int = 4, activation: str = "prelu") -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, "
                             f"got {activation!r}")
        if min(channels, features, scale) < 1 or convs < 0:
            raise ValueError("channels, features and scale must be at least 1, convs at least 0")
        self.scale = scale
        layers: list[nn.Module] = [nn.Conv2d(channels, features, 3, 1, 1),
                                   _activation(activation, features)]
        for _ in range(convs):
            layers += [nn.Conv2d(features, features, 3, 1, 1), _activation(activation, features)]
        layers.append(nn.Conv2d(features, channels * scale * scale, 3, 1, 1))
        self.body = nn.ModuleList(layers)  # a list, not Sequential: keys are `body.N.*`
        self.upsampler = nn.PixelShuffle(scale)

    @property
    def multiple(self) -> int:
        """Input sides must be multiples of this: any size works."""
        return 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (N, C, H, W) in [0, 1] -> (N, C, H*scale, W*scale), roughly [0, 1] (not clamped)
        out = x
        for layer in self.body:
            out = layer(out)
        return self.upsampler(out) + F.interpolate(x, scale_factor=self.scale, mode="nearest")


# Deep network interpolation: Wang et al. 2019, https://arxiv.org/abs/1811.10515. Real-ESRGAN's
# inference script (`--denoise_strength`, RealESRGANer.dni) blends realesr-general-x4v3 with
# its weak-denoise companion realesr-general-wdn-x4v3 this way.
def interpolate_states(a: Mapping[str, torch.Tensor], b: Mapping[str, torch.Tensor],
                       strength: float) -> dict[str, torch.Tensor]:
    """`strength * a + (1 - strength) * b`, key by key.

    With `a` = realesr-general-x4v3 and `b` = realesr-general-wdn-x4v3, `strength` is
    Real-ESRGAN's denoise strength: 1 denoises fully (`a` alone), 0 keeps the noise
    (`b` alone). Both must be state dicts of the same network.
    """
    if not 0.0 <= strength <= 1.0:
        raise WeightsError(f"denoise strength must be between 0 and 1, got {strength}")
    if a.keys() != b.keys():
        key = next(iter(sorted(a.keys() ^ b.keys())))
        raise WeightsError(f"cannot interpolate two different networks: {key!r} is in only one")
    for key, value in a.items():
        if value.shape != b[key].shape:
            raise WeightsError(f"cannot interpolate two different networks: {key!r} has shape "
                               f"{tuple(value.shape)} in one, {tuple(b[key].shape)} in the other")
    return {key: strength * value + (1 - strength) * b[key] for key, value in a.items()}
