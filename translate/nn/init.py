"""The weight initialisation of the pix2pix/CycleGAN reference code.

Isola et al. 2017 and Zhu et al. 2017 start every conv from N(0, 0.02) and every batch
norm scale from N(1, 0.02) (after DCGAN, Radford et al. 2015,
https://arxiv.org/abs/1511.06434). Matching it keeps training comparable with the
reference, step for step.
"""

from __future__ import annotations

from torch import nn


def reference_init(module: nn.Module, std: float = 0.02) -> nn.Module:
    """Re-initialise module in place: conv weights N(0, std), biases 0, norm scales N(1, std)."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d | nn.ConvTranspose2d):
            nn.init.normal_(layer.weight, 0.0, std)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, nn.BatchNorm2d):
            nn.init.normal_(layer.weight, 1.0, std)
            nn.init.zeros_(layer.bias)
    return module
