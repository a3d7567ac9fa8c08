"""CIE L*a*b* for colourisation: the network sees lightness and predicts only colour.

The reference implementation colourises this way (its `colorization` dataset and model:
L* in, a*b* out), and so does Zhang et al. 2016 (https://arxiv.org/abs/1603.08511):
the output keeps the input's lightness exactly, and the GAN spends itself on colour.
sRGB with a D65 white, the same constants as scikit-image's rgb2lab / lab2rgb.
"""

from __future__ import annotations

import torch

_RGB_TO_XYZ = torch.tensor([[0.412453, 0.357580, 0.180423],
                            [0.212671, 0.715160, 0.072169],
                            [0.019334, 0.119193, 0.950227]], dtype=torch.float64)
_WHITE = torch.tensor([0.95047, 1.0, 1.08883], dtype=torch.float64)
_EPSILON = 0.008856  # (6/29)^3: where the cube root turns linear
# Scales that bring L* (0..100) and a*b* (about -110..110) to [-1, 1] for the networks.
L_HALF, AB_SCALE = 50.0, 110.0


def rgb_to_lab(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, 3, H, W) sRGB in [-1, 1] -> network-scaled L* (N, 1, H, W) and a*b* (N, 2, H, W)."""
    c = rgb.double().add(1).div(2).clamp(0, 1)
    linear = torch.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    xyz = torch.einsum("ij,njhw->nihw", _RGB_TO_XYZ, linear) / _WHITE.view(1, 3, 1, 1)
    f = torch.where(xyz > _EPSILON, xyz.clamp_min(1e-12) ** (1 / 3), 7.787 * xyz + 16 / 116)
    fx, fy, fz = f.unbind(1)
    lightness = 116 * fy - 16
    ab = torch.stack([500 * (fx - fy), 200 * (fy - fz)], 1)
    return ((lightness / L_HALF - 1).unsqueeze(1).to(rgb.dtype),
            (ab / AB_SCALE).to(rgb.dtype))


def lab_to_rgb(lightness: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """Network-scaled L* (N, 1, H, W) and a*b* (N, 2, H, W) -> sRGB (N, 3, H, W) in [-1, 1]."""
    big_l = (lightness.double().squeeze(1) + 1) * L_HALF
    a, b = (ab.double() * AB_SCALE).unbind(1)
    fy = (big_l + 16) / 116
    f = torch.stack([a / 500 + fy, fy, fy - b / 200], 1)
    xyz = torch.where(f ** 3 > _EPSILON, f ** 3, (f - 16 / 116) / 7.787) * _WHITE.view(1, 3, 1, 1)
    linear = torch.einsum("ij,njhw->nihw", torch.linalg.inv(_RGB_TO_XYZ), xyz).clamp_min(0)
    srgb = torch.where(linear > 0.0031308, 1.055 * linear ** (1 / 2.4) - 0.055, 12.92 * linear)
    return srgb.clamp(0, 1).mul(2).sub(1).to(lightness.dtype)
