"""The networks of ESRGAN and Real-ESRGAN: the RRDBNet generator and a U-Net discriminator.

Module names follow BasicSR's `rrdbnet_arch.py` (`conv_first`, `body.N.rdbK.convJ`,
`conv_body`, `conv_up1`, `conv_up2`, `conv_hr`, `conv_last`), and ai-forever's Real-ESRGAN
for the x8 network's extra `conv_up3`, so those checkpoints load without renaming;
`checkpoints.py` maps the original ESRGAN names onto them. Like the references, the
generator sees and returns images in [0, 1].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm

# Both papers scale every residual branch by 0.2 ("residual scaling") so deep stacks train.
# It is a constant of the published weights, so it stays the default; a shallow net learns
# faster without it (see `RRDBNet`).
RESIDUAL_SCALE = 0.2
# Upscaling factors RRDBNet is built for: 1 and 2 fold the input first, 8 upsamples once more.
SCALES = (1, 2, 4, 8)


def _init_scaled(modules: list[nn.Module], scale: float) -> None:
    """Kaiming-normal weights shrunk by `scale`, zero biases: ESRGAN's initialisation.

    Small initial residual branches make each block start close to the identity, which
    is what lets 23 blocks train without batch norm (ESRGAN section 3.1).
    """
    for module in modules:
        if module.weight.is_meta:  # shapes only (detection, key checks): no values to draw,
            continue  # and drawing them through the meta kernels costs ~2 s per RRDBNet
        nn.init.kaiming_normal_(module.weight)
        module.weight.data.mul_(scale)
        if module.bias is not None:
            module.bias.data.zero_()


# Residual dense block: Zhang et al. 2018, https://arxiv.org/abs/1802.08797, as used in
# ESRGAN (Wang et al. 2018, https://arxiv.org/abs/1809.00219, figure 4).
class ResidualDenseBlock(nn.Module):
    """Five 3x3 convs, each seeing the block input and every earlier conv's output."""

    def __init__(self, *, features: int, growth: int,
                 residual_scale: float = RESIDUAL_SCALE) -> None:
        super().__init__()
        self.residual_scale = residual_scale
        self.conv1 = nn.Conv2d(features, growth, 3, 1, 1)
        self.conv2 = nn.Conv2d(features + growth, growth, 3, 1, 1)
        self.conv3 = nn.Conv2d(features + 2 * growth, growth, 3, 1, 1)
        self.conv4 = nn.Conv2d(features + 3 * growth, growth, 3, 1, 1)
        self.conv5 = nn.Conv2d(features + 4 * growth, features, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)
        _init_scaled([self.conv1, self.conv2, self.conv3, self.conv4, self.conv5], 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (N, features, H, W) -> same shape
        x1 = self.lrelu(self.conv1(x))
        x2 = self.lrelu(self.conv2(torch.cat((x, x1), 1)))
        x3 = self.lrelu(self.conv3(torch.cat((x, x1, x2), 1)))
        x4 = self.lrelu(self.conv4(torch.cat((x, x1, x2, x3), 1)))
        x5 = self.conv5(torch.cat((x, x1, x2, x3, x4), 1))
        return x5 * self.residual_scale + x


# Residual-in-residual dense block: ESRGAN, https://arxiv.org/abs/1809.00219 (figure 4).
class RRDB(nn.Module):
    """Three dense blocks inside one more scaled residual connection."""

    def __init__(self, *, features: int, growth: int,
                 residual_scale: float = RESIDUAL_SCALE) -> None:
        super().__init__()
        self.residual_scale = residual_scale
        dense = {"features": features, "growth": growth, "residual_scale": residual_scale}
        self.rdb1 = ResidualDenseBlock(**dense)
        self.rdb2 = ResidualDenseBlock(**dense)
        self.rdb3 = ResidualDenseBlock(**dense)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (N, features, H, W) -> same shape
        return self.rdb3(self.rdb2(self.rdb1(x))) * self.residual_scale + x


# RRDBNet: ESRGAN, https://arxiv.org/abs/1809.00219; the x2/x1 variants with a
# pixel-unshuffled input are Real-ESRGAN's, https://arxiv.org/abs/2107.10833 (section 3.2);
# x8 with a third upsampling conv is ai-forever's (github.com/ai-forever/Real-ESRGAN).
class RRDBNet(nn.Module):
    """RRDB trunk at low resolution, then nearest-neighbour x2 upsampling convs.

    The trunk ends with a x4 upsampler (two x2 steps); for x2 (x1) the input is first
    folded into 2x2 (4x4) more channels by pixel-unshuffle, so the trunk runs at a quarter
    (a sixteenth) of the pixels and the same body serves all three scales. x8 adds a third
    x2 step (`conv_up3`) instead, so x1/x2/x4 state dicts are unchanged.

    `bicubic_skip` (off in ESRGAN and in every published checkpoint) adds the bicubic
    upscaling of the input to the output, so the network only learns the residual.
    `residual_scale` multiplies every dense block's and RRDB's residual branch: 0.2 in
    both papers and in every published checkpoint, which keeps 23 blocks stable; with a
    few blocks it mostly slows learning (a trunk step moves the output 0.2 x 0.2 as far).
    """

    def __init__(self, *, scale: int = 4, channels: int = 3, features: int = 64, blocks: int = 23,
                 growth: int = 32, bicubic_skip: bool = False,
                 residual_scale: float = RESIDUAL_SCALE) -> None:
        super().__init__()
        if scale not in SCALES:
            raise ValueError(f"RRDBNet scale must be 1, 2, 4 or 8, got {scale}")
        self.scale = scale
        self.bicubic_skip = bicubic_skip
        self.residual_scale = residual_scale
        self.unshuffle = max(1, 4 // scale)  # 1: no fold
        self.conv_first = nn.Conv2d(channels * self.unshuffle**2, features, 3, 1, 1)
        self.body = nn.Sequential(*[RRDB(features=features, growth=growth,
                                         residual_scale=residual_scale)
                                    for _ in range(blocks)])
        self.conv_body = nn.Conv2d(features, features, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(features, features, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(features, features, 3, 1, 1)
        if scale == 8:
            self.conv_up3 = nn.Conv2d(features, features, 3, 1, 1)
        self.conv_hr = nn.Conv2d(features, features, 3, 1, 1)
        self.conv_last = nn.Conv2d(features, channels, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)
        if bicubic_skip:
            # A zero last conv makes the untrained network exactly bicubic upscaling, so
            # training starts from the baseline instead of from noise.
            nn.init.zeros_(self.conv_last.weight)
            nn.init.zeros_(self.conv_last.bias)

    @property
    def multiple(self) -> int:
        """Input sides must be multiples of this (pixel-unshuffle folds whole blocks)."""
        return self.unshuffle

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (N, C, H, W) in [0, 1] -> (N, C, H*scale, W*scale), roughly [0, 1] (not clamped)
        feat = F.pixel_unshuffle(x, self.unshuffle) if self.unshuffle > 1 else x
        feat = self.conv_first(feat)
        feat = feat + self.conv_body(self.body(feat))
        feat = self.lrelu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")))
        feat = self.lrelu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")))
        if self.scale == 8:
            feat = self.lrelu(self.conv_up3(F.interpolate(feat, scale_factor=2, mode="nearest")))
        out = self.conv_last(self.lrelu(self.conv_hr(feat)))
        if self.bicubic_skip:
            # Global residual learning: VDSR (Kim et al. 2016, https://arxiv.org/abs/1511.04587,
            # section 3.1) learns only what bicubic misses, which converges much faster.
            out = out + (F.interpolate(x, scale_factor=self.scale, mode="bicubic",
                                       align_corners=False) if self.scale > 1 else x)
        return out


# U-Net discriminator with spectral norm: Real-ESRGAN, https://arxiv.org/abs/2107.10833
# (section 3.3, figure 6); spectral norm from Miyato et al. 2018, https://arxiv.org/abs/1802.05957.
class UNetDiscriminator(nn.Module):
    """Per-pixel real/fake logits: a U-Net gives D both global context and local detail.

    Names follow BasicSR's `UNetDiscriminatorSN` (`conv0` … `conv9`).
    """

    def __init__(self, *, channels: int = 3, features: int = 64, skip: bool = True) -> None:
        super().__init__()
        self.skip = skip
        f = features
        self.conv0 = nn.Conv2d(channels, f, 3, 1, 1)
        self.conv1 = spectral_norm(nn.Conv2d(f, f * 2, 4, 2, 1, bias=False))
        self.conv2 = spectral_norm(nn.Conv2d(f * 2, f * 4, 4, 2, 1, bias=False))
        self.conv3 = spectral_norm(nn.Conv2d(f * 4, f * 8, 4, 2, 1, bias=False))
        self.conv4 = spectral_norm(nn.Conv2d(f * 8, f * 4, 3, 1, 1, bias=False))
        self.conv5 = spectral_norm(nn.Conv2d(f * 4, f * 2, 3, 1, 1, bias=False))
        self.conv6 = spectral_norm(nn.Conv2d(f * 2, f, 3, 1, 1, bias=False))
        self.conv7 = spectral_norm(nn.Conv2d(f, f, 3, 1, 1, bias=False))
        self.conv8 = spectral_norm(nn.Conv2d(f, f, 3, 1, 1, bias=False))
        self.conv9 = nn.Conv2d(f, 1, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (N, C, H, W) in [0, 1], H and W multiples of 8 -> (N, 1, H, W) logits
        act = lambda t: F.leaky_relu(t, 0.2)  # noqa: E731
        up = lambda t: F.interpolate(t, scale_factor=2, mode="bilinear",  # noqa: E731
                                     align_corners=False)
        x0 = act(self.conv0(x))
        x1 = act(self.conv1(x0))
        x2 = act(self.conv2(x1))
        x3 = act(self.conv3(x2))
        x4 = act(self.conv4(up(x3)))
        x4 = x4 + x2 if self.skip else x4
        x5 = act(self.conv5(up(x4)))
        x5 = x5 + x1 if self.skip else x5
        x6 = act(self.conv6(up(x5)))
        x6 = x6 + x0 if self.skip else x6
        return self.conv9(act(self.conv8(act(self.conv7(x6)))))
