"""LaMa's generator: a ResNet of fast Fourier convolutions, as the published big-lama uses it.

Suvorov et al. 2022, "Resolution-robust Large Mask Inpainting with Fourier Convolutions",
https://arxiv.org/abs/2109.07161. Three strided convolutions encode the masked image and its
mask; a stack of residual blocks of fast Fourier convolutions (FFCs) follows, each of which
splits its channels into a local branch (ordinary 3x3 convolutions) and a global branch (a
1x1 convolution applied in the frequency domain, so every output pixel sees the whole image
from the first block on); transposed convolutions decode. big-lama is `LamaGenerator()` with
its defaults: 64 features, 3 downsamplings, 18 blocks, 3/4 of the block channels global.

Module names equal the keys of LaMa's checkpoints minus their `generator.` prefix
(`model.5.conv1.ffc.convg2g.fu.conv_layer.weight`), so reading them is a key filter:
`filter_state` and `detect` at the end of this file. Inference (`inpaint`) pads to a
multiple of 8 as LaMa's own prediction does and crops back; `composite` then keeps every
known pixel bit for bit. Everything runs in fp32 on the CPU (torch.fft).

For fine-tuning, `NLayerDiscriminator` is the pix2pixHD discriminator LaMa trains against,
under the names of its checkpoints' `discriminator.` keys.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from translate.errors import ImageError

__all__ = ["BIG_LAMA", "LamaGenerator", "NLayerDiscriminator", "composite", "detect",
           "filter_state", "inpaint", "least_side", "pad_symmetric"]

# big-lama's generator block (configs/training/big-lama.yaml in advimman/lama), in our terms.
BIG_LAMA: dict[str, Any] = {"in_channels": 4, "out_channels": 3, "width": 64, "downsamples": 3,
                            "blocks": 18, "global_ratio": 0.75, "max_width": 1024,
                            "out_activation": "sigmoid"}

Branches = tuple[torch.Tensor | None, torch.Tensor | None]  # (local, global); None = empty


# Fourier unit: Chi et al. 2020, "Fast Fourier Convolution", NeurIPS,
# https://proceedings.neurips.cc/paper/2020/hash/2fd5d41ec6cfab47e32164d5624269b1-Abstract.html
# a real FFT, a 1x1 convolution + BN + ReLU on the stacked real and imaginary parts, and
# the inverse FFT. Its receptive field is the whole image.
class FourierUnit(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        # LaMa's channel order: (c0 real, c0 imaginary, c1 real, ...), hence 2x channels.
        self.conv_layer = nn.Conv2d(2 * channels, 2 * channels, 1, bias=False)
        self.bn = nn.BatchNorm2d(2 * channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (N, C, H, W) -> (N, C, H, W); the spectrum is (N, C, H, W // 2 + 1) complex
        batch, channels, height, width = x.shape
        spectrum = torch.view_as_real(torch.fft.rfftn(x, dim=(-2, -1), norm="ortho"))
        stacked = spectrum.permute(0, 1, 4, 2, 3).reshape(batch, 2 * channels, height, -1)
        mixed = self.relu(self.bn(self.conv_layer(stacked)))
        mixed = mixed.reshape(batch, channels, 2, height, -1).permute(0, 1, 3, 4, 2)
        return torch.fft.irfftn(torch.view_as_complex(mixed.contiguous()), s=(height, width),
                                dim=(-2, -1), norm="ortho")


# Spectral transform: Chi et al. 2020, the NeurIPS link above: halve the channels with a
# 1x1 conv, add the Fourier unit's global view to them, restore the channels with a 1x1 conv.
# big-lama turns off the local Fourier unit (enable_lfu: false), so it is not built here.
class SpectralTransform(nn.Module):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        hidden = out_channels // 2
        self.conv1 = nn.Sequential(nn.Conv2d(in_channels, hidden, 1, bias=False),
                                   nn.BatchNorm2d(hidden), nn.ReLU(inplace=True))
        self.fu = FourierUnit(hidden)
        self.conv2 = nn.Conv2d(hidden, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (N, Cin, H, W) -> (N, Cout, H, W)
        x = self.conv1(x)
        return self.conv2(x + self.fu(x))


# FFC: Chi et al. 2020, the NeurIPS link above: channels split into a local and a global
# part; local->local, local->global and global->local are ordinary convolutions, and
# global->global is the spectral transform. A ratio of 0 gives a plain convolution.
class FFC(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, *, kernel_size: int, stride: int,
                 padding: int, ratio_in: float, ratio_out: float) -> None:
        super().__init__()
        global_in, global_out = int(in_channels * ratio_in), int(out_channels * ratio_out)
        local_in, local_out = in_channels - global_in, out_channels - global_out

        def conv(a: int, b: int) -> nn.Conv2d | None:
            # LaMa pads every FFC convolution by reflection (padding_type='reflect').
            return nn.Conv2d(a, b, kernel_size, stride, padding, bias=False,
                             padding_mode="reflect") if a and b else None

        self.convl2l = conv(local_in, local_out)
        self.convl2g = conv(local_in, global_out)
        self.convg2l = conv(global_in, local_out)
        # LaMa's FFC only ever meets stride 1 where both sides have global channels.
        self.convg2g = SpectralTransform(global_in, global_out) \
            if global_in and global_out else None

    def forward(self, x: Branches | torch.Tensor) -> Branches:
        # (local (N, Cl, H, W), global (N, Cg, H, W)) -> the same split at Cout, H / stride;
        # a plain tensor (the image, in the first layer) is all local
        local, global_ = x if isinstance(x, tuple) else (x, None)
        return (_add(_apply(self.convl2l, local), _apply(self.convg2l, global_)),
                _add(_apply(self.convl2g, local), _apply(self.convg2g, global_)))


def _apply(module: nn.Module | None, x: torch.Tensor | None) -> torch.Tensor | None:
    return None if module is None or x is None else module(x)


def _add(a: torch.Tensor | None, b: torch.Tensor | None) -> torch.Tensor | None:
    return b if a is None else a if b is None else a + b


class FFCBlock(nn.Module):
    """An FFC, then BatchNorm and ReLU on each branch (LaMa's FFC_BN_ACT)."""

    def __init__(self, in_channels: int, out_channels: int, *, kernel_size: int,
                 stride: int = 1, padding: int = 0, ratio_in: float = 0.0,
                 ratio_out: float = 0.0) -> None:
        super().__init__()
        self.ffc = FFC(in_channels, out_channels, kernel_size=kernel_size, stride=stride,
                       padding=padding, ratio_in=ratio_in, ratio_out=ratio_out)
        global_out = int(out_channels * ratio_out)
        local_out = out_channels - global_out
        self.bn_l = nn.BatchNorm2d(local_out) if local_out else None
        self.bn_g = nn.BatchNorm2d(global_out) if global_out else None
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: Branches | torch.Tensor) -> Branches:
        # (local, global) -> (local, global), each branch normalised and rectified
        local, global_ = self.ffc(x)
        return (_apply(self.act, _apply(self.bn_l, local)),
                _apply(self.act, _apply(self.bn_g, global_)))


# FFC residual block: Suvorov et al. 2022, https://arxiv.org/abs/2109.07161: two FFCs,
# with the identity added to each branch.
class FFCResBlock(nn.Module):
    def __init__(self, channels: int, *, ratio: float) -> None:
        super().__init__()
        self.conv1 = FFCBlock(channels, channels, kernel_size=3, padding=1, ratio_in=ratio,
                              ratio_out=ratio)
        self.conv2 = FFCBlock(channels, channels, kernel_size=3, padding=1, ratio_in=ratio,
                              ratio_out=ratio)

    def forward(self, x: Branches) -> Branches:
        # (local, global) -> (local, global), same shapes
        local, global_ = self.conv2(self.conv1(x))
        return _add(x[0], local), _add(x[1], global_)


class _Merge(nn.Module):
    """Concatenates the branches, local channels first (LaMa's ConcatTupleLayer)."""

    def forward(self, x: Branches) -> torch.Tensor:
        parts = [part for part in x if part is not None]
        return torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]


# LaMa's generator: Suvorov et al. 2022, https://arxiv.org/abs/2109.07161; the layer list
# follows FFCResNetGenerator in advimman/lama (saicinpainting/training/modules/ffc.py).
class LamaGenerator(nn.Module):
    """(masked image, mask) concatenated, (N, 4, H, W) -> an image (N, 3, H, W) in [0, 1].

    H and W must be multiples of 2**downsamples (`inpaint` pads), and at least twice that:
    the blocks pad by reflection at 1/2**downsamples of the input size.
    """

    def __init__(self, *, in_channels: int = 4, out_channels: int = 3, width: int = 64,
                 downsamples: int = 3, blocks: int = 18, global_ratio: float = 0.75,
                 max_width: int = 1024, out_activation: str | None = "sigmoid") -> None:
        super().__init__()
        if downsamples < 1:
            raise ValueError("LaMa's generator needs at least one downsampling")
        if out_activation not in ("sigmoid", "tanh", None):
            raise ValueError(f"out_activation must be 'sigmoid', 'tanh' or None, "
                             f"not {out_activation!r}")
        self.downsamples = downsamples
        widths = [min(max_width, width * 2**i) for i in range(downsamples + 1)]
        # Indices in this list are the checkpoints' `model.N` numbers; the weightless
        # layers keep their places so that the numbers match.
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), FFCBlock(in_channels, width,
                                                                   kernel_size=7)]
        for i in range(downsamples):  # only the last one starts the global branch
            ratio_out = global_ratio if i == downsamples - 1 else 0.0
            layers.append(FFCBlock(widths[i], widths[i + 1], kernel_size=3, stride=2,
                                   padding=1, ratio_out=ratio_out))
        layers += [FFCResBlock(widths[-1], ratio=global_ratio) for _ in range(blocks)]
        layers.append(_Merge())
        for i in range(downsamples, 0, -1):
            layers += [nn.ConvTranspose2d(widths[i], widths[i - 1], 3, stride=2, padding=1,
                                          output_padding=1),
                       nn.BatchNorm2d(widths[i - 1]), nn.ReLU(inplace=True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, out_channels, 7)]
        if out_activation is not None:
            layers.append(nn.Sigmoid() if out_activation == "sigmoid" else nn.Tanh())
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (N, Cin, H, W) -> encoder: (N, C, H / 2^d, W / 2^d) as (local, global) branches,
        # C = width * 2^d up to max_width -> blocks, same shapes -> concatenated
        # -> decoder -> (N, Cout, H, W)
        return self.model(x)


# ---- training: LaMa's discriminator --------------------------------------------------------


# pix2pixHD's multi-layer PatchGAN: Wang et al. 2018, https://arxiv.org/abs/1711.11585
# (section 3.2), the discriminator LaMa trains big-lama against (configs/training/
# discriminator/pix2pixhd_nlayer.yaml: ndf 64, n_layers 4; NLayerDiscriminator in
# saicinpainting/training/modules/pix2pixhd.py). Module names are the `discriminator.` keys
# of LaMa's checkpoints. It sees the image alone, not the mask.
class NLayerDiscriminator(nn.Module):
    """Patch logits and, for LaMa's feature-matching loss, every block's activations."""

    def __init__(self, *, in_channels: int = 3, width: int = 64, layers: int = 4) -> None:
        super().__init__()
        self.layers = layers
        # Widths double up to 512; 4x4 kernels padded by 2 (pix2pixHD's ceil(3 / 2)).
        widths = [min(width * 2**i, 512) for i in range(layers + 1)]
        self.model0 = nn.Sequential(nn.Conv2d(in_channels, width, 4, stride=2, padding=2),
                                    nn.LeakyReLU(0.2, inplace=True))
        for i in range(1, layers + 1):  # the last of these keeps the resolution
            self.add_module(f"model{i}", nn.Sequential(
                nn.Conv2d(widths[i - 1], widths[i], 4, stride=2 if i < layers else 1,
                          padding=2),
                nn.BatchNorm2d(widths[i]), nn.LeakyReLU(0.2, inplace=True)))
        self.add_module(f"model{layers + 1}",
                        nn.Sequential(nn.Conv2d(widths[-1], 1, 4, padding=2)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        # (N, C, H, W) -> logits (N, 1, ~H / 2^(layers - 1) / 2, ...), [block outputs]
        features = []
        for i in range(self.layers + 1):
            x = getattr(self, f"model{i}")(x)
            features.append(x)
        return getattr(self, f"model{self.layers + 1}")(x), features


# ---- inference -----------------------------------------------------------------------------


def pad_symmetric(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """(N, C, H, W) padded at the bottom and right to multiples, edge pixels repeated.

    numpy's `symmetric` mode, which LaMa's prediction uses (pad_img_to_modulo in
    saicinpainting/evaluation/data.py): the mirror includes the edge row, and pads longer
    than the image keep mirroring, so any size works.
    """
    for dim in (-2, -1):
        size = x.shape[dim]
        index = torch.arange(size + (-size % multiple), device=x.device) % (2 * size)
        x = x.index_select(dim, torch.where(index < size, index, 2 * size - 1 - index))
    return x


def least_side(downsamples: int) -> int:
    """The shortest image side `inpaint` takes: the blocks reflect 2 pixels at the bottleneck."""
    return max(1, 2 * 2**downsamples - max(8, 2**downsamples) + 1)


def inpaint(generator: LamaGenerator, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """LaMa's prediction for the whole image: (N, 3, H, W) in [0, 1], mask (N, 1, H, W).

    Any non-zero mask value is a hole. As in LaMa's bin/predict.py (configs/prediction:
    pad_out_to_modulo 8): hole pixels are zeroed, the mask is appended as a fourth channel,
    both are padded symmetrically to a multiple of 8 and the prediction is cropped back.
    Known pixels of the result are the network's, not the input's: use `composite`.
    """
    height, width = image.shape[-2:]
    multiple = max(8, 2**generator.downsamples)
    if min(height, width) < least_side(generator.downsamples):
        side = least_side(generator.downsamples) - 1
        raise ImageError(f"LaMa needs images larger than {side}x{side} pixels, "
                         f"got {width}x{height}")
    hole = (mask > 0).to(image.dtype)
    inputs = pad_symmetric(torch.cat([image * (1 - hole), hole], dim=1), multiple)
    # (N, 4, H', W') with H', W' multiples of 8 -> (N, 3, H', W') -> (N, 3, H, W)
    return generator(inputs)[..., :height, :width]


def composite(image: torch.Tensor, prediction: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The prediction inside the hole (mask > 0), the input's own values everywhere else."""
    return torch.where(mask > 0, prediction, image)


# ---- checkpoints ---------------------------------------------------------------------------

# Prefixes in front of the generator's keys: a Lightning checkpoint's state_dict
# (`generator.`, next to `discriminator.` and `loss_*.` keys, which are dropped), and the
# wrapper of LaMa's bin/to_jit.py, whose `model` is the whole training module.
_PREFIXES = ("generator.", "model.generator.")
_KEY = re.compile(r"model\.(\d+)\.")


def filter_state(state: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """The generator's tensors under our names (`model.N...`), from a LaMa state dict.

    Takes a Lightning checkpoint's `state_dict` (only its `generator.` keys are kept) or a
    copy already without the prefix (the safetensors conversions). BatchNorm step counters,
    which some conversions drop, are restored as 0: LaMa never reads them (its momentum is
    fixed).
    """
    prefix = next((p for p in _PREFIXES if any(k.startswith(p) for k in state)), "")
    kept = {key[len(prefix):]: value for key, value in state.items()
            if key.startswith(prefix) and isinstance(value, torch.Tensor)}
    kept = {key: value for key, value in kept.items() if _KEY.match(key)}
    for key in [k for k in kept if k.endswith(".running_mean")]:
        counter = key.removesuffix("running_mean") + "num_batches_tracked"
        kept.setdefault(counter, torch.tensor(0, dtype=torch.long))
    return kept


def detect(state: Mapping[str, Any]) -> dict[str, Any] | None:
    """`LamaGenerator` keyword arguments that fit a LaMa state dict, or None if none do.

    Reads the widths, depths and global ratio from keys and shapes (`filter_state` is applied
    first), then checks every key and shape against a model built on the meta device. The
    output activation has no weights; it is taken to be big-lama's sigmoid.
    """
    state = filter_state(state)
    first = state.get("model.1.ffc.convl2l.weight")
    if first is None or first.ndim != 4 or first.shape[-1] != 7:
        return None
    width, in_channels = int(first.shape[0]), int(first.shape[1])
    downsamples = 0
    while f"model.{2 + downsamples}.ffc.convl2l.weight" in state:
        downsamples += 1
    blocks = 0
    while any(k.startswith(f"model.{2 + downsamples + blocks}.conv1.") for k in state):
        blocks += 1
    last_down = 1 + downsamples
    if downsamples == 0:
        return None
    global_out = _channels(state, f"model.{last_down}.bn_g.weight")
    total = global_out + _channels(state, f"model.{last_down}.bn_l.weight")
    ratio = global_out / total if total else 0.0
    if int(total * ratio) != global_out:
        ratio = math.nextafter(ratio, 1.0)  # so that int(total * ratio) gives it back
    # The widths double up to max_width (1024 in LaMa); only a clamp shows in the shapes.
    max_width = total if total < width * 2**downsamples else 1024
    out = state.get(f"model.{last_down + blocks + 1 + 3 * downsamples + 2}.weight")
    if out is None or out.ndim != 4:
        return None
    kwargs = {"in_channels": in_channels, "out_channels": int(out.shape[0]), "width": width,
              "downsamples": downsamples, "blocks": blocks, "global_ratio": ratio,
              "max_width": max_width, "out_activation": "sigmoid"}
    try:
        with torch.device("meta"):
            expected = LamaGenerator(**kwargs).state_dict()
    except (ValueError, RuntimeError):
        return None
    fits = expected.keys() == state.keys() and all(
        expected[key].shape == state[key].shape for key in expected)
    return kwargs if fits else None


def _channels(state: Mapping[str, torch.Tensor], key: str) -> int:
    return int(state[key].shape[0]) if key in state else 0
