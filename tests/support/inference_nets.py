"""Small networks for the inference tests: the plugins' own generator classes at tiny widths,
and toy nets that ONNX cannot express."""

from __future__ import annotations

import torch
from torch import nn

from translate_cyclegan.model import ResnetGenerator
from translate_pix2pix.model import UNetGenerator
from translate_superres.model import RRDBNet


def _randomise_norms(net: nn.Module) -> nn.Module:
    # Fresh batch norms are the identity in eval mode; random statistics make the test see
    # whether an engine folds them in correctly.
    generator = torch.Generator().manual_seed(1)
    for module in net.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.copy_(torch.randn(module.num_features, generator=generator) * 0.1)
            module.running_var.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
            module.weight.data.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
            module.bias.data.copy_(torch.randn(module.num_features, generator=generator) * 0.1)
    return net.eval()


def tiny_rrdbnet() -> nn.Module:
    torch.manual_seed(0)
    return RRDBNet(features=8, blocks=1, growth=4).eval()


def tiny_resnet() -> nn.Module:
    torch.manual_seed(0)
    return ResnetGenerator(width=4, blocks=2).eval()


def tiny_unet() -> nn.Module:
    torch.manual_seed(0)
    # depth 6 (stride 64) keeps the test inputs small; unet_256 is the same levels, deeper.
    return _randomise_norms(UNetGenerator(width=2, depth=6))


# (builder, example shape, three check shapes: odd sides where the net takes them, batch > 1)
NETS = {
    "rrdbnet": (tiny_rrdbnet, (1, 3, 16, 16), [(1, 3, 17, 23), (3, 3, 32, 32), (2, 3, 9, 40)]),
    "resnet": (tiny_resnet, (1, 3, 32, 32), [(1, 3, 36, 20), (3, 3, 64, 64), (2, 3, 44, 52)]),
    "unet": (tiny_unet, (1, 3, 64, 64), [(1, 3, 64, 64), (3, 3, 128, 64), (2, 3, 64, 192)]),
}


@torch.library.custom_op("translate_tests::wobble", mutates_args=())
def wobble(images: torch.Tensor) -> torch.Tensor:
    """An operation with no ONNX translation (a plugin's own kernel would be one)."""
    return images * 2


@wobble.register_fake
def _(images: torch.Tensor) -> torch.Tensor:
    return torch.empty_like(images)


class CustomOpNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return wobble(self.conv(images))


class BranchingNet(nn.Module):
    """Python control flow on a tensor's value: a graph cannot hold it."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        features = self.conv(images)
        if features.mean() > 0:
            return features
        return -features
