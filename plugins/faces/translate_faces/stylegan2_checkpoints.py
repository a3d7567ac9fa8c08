"""Reading rosinality's `stylegan2-pytorch` checkpoints into StyleGAN2Generator.

His files come in two shapes, both plain pickles of tensors (read with
`translate.hub.reading.read_checkpoint`, never by running code):

- converted releases, from `convert_weight.py` (e.g. `stylegan2-ffhq-config-f.pt`):
  `{"g_ema": state, "latent_avg": (512,)}`, plus `"g"` and `"d"` when converted with
  `--gen` / `--disc`; latent_avg is the official network's tracked mean of W;
- training checkpoints, from `train.py` (`checkpoint/NNNNNN.pt`): `{"g", "d", "g_ema",
  "g_optim", "d_optim", "args", "ada_aug_p"}`, where `args` is the script's argparse
  Namespace (an inert stand-in here) and there is no latent_avg.

Our module names are his `g_ema` keys, so `filter_state` only picks `g_ema` out of the file;
`detect` reads the constructor arguments back from the keys and shapes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from translate.errors import WeightsError
from translate.hub.reading import find_state_dict, read_checkpoint
from translate_faces.stylegan2 import SIZES, StyleGAN2Generator

__all__ = ["convert", "detect", "expected_shapes", "filter_state", "flat_state", "load_generator"]

_MAPPING = re.compile(r"style\.(\d+)\.weight")
_TO_RGB = re.compile(r"to_rgbs\.(\d+)\.conv\.weight")
LATENT_AVG = "latent_avg"  # our buffer; his files keep it beside g_ema, not inside


def expected_shapes(config: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
    """Every key of StyleGAN2Generator(**config)'s state dict with its shape, latent_avg aside.

    Built on the meta device: no memory, no random numbers, a few milliseconds even at 1024.
    """
    with torch.device("meta"):
        model = StyleGAN2Generator(**config)
    return {key: tuple(value.shape) for key, value in model.state_dict().items()
            if key != LATENT_AVG}


def detect(state: Mapping[str, Any]) -> dict[str, int] | None:
    """size, style_dim, n_mlp and channel_multiplier of a rosinality `g_ema` state, or None.

    None unless every key and shape is exactly what that configuration has (a latent_avg
    entry aside), so a DCGAN, a SWAGAN (12-channel ToRGBs) or a truncated file is no match.
    Below 64x64 the channel multiplier changes no shape; rosinality's default, 2, is given.
    """
    shapes = {key: tuple(value.shape) for key, value in state.items()
              if isinstance(value, torch.Tensor) and key != LATENT_AVG}
    mapping = sorted(int(m.group(1)) for key in shapes if (m := _MAPPING.fullmatch(key)))
    levels = sum(1 for key in shapes if _TO_RGB.fullmatch(key))
    if not mapping or mapping != list(range(1, len(mapping) + 1)):
        return None
    size = 4 * 2**levels
    style_dim = shapes["style.1.weight"][0]
    if size not in SIZES:
        return None
    channel_multiplier = 2
    if size >= 64:  # to_rgbs.3 is the 64x64 ToRGB: 256 * channel_multiplier inputs
        channel_multiplier, remainder = divmod(shapes["to_rgbs.3.conv.weight"][2], 256)
        if remainder or channel_multiplier not in (1, 2):
            return None
    config = {"size": size, "style_dim": style_dim, "n_mlp": len(mapping),
              "channel_multiplier": channel_multiplier}
    return config if expected_shapes(config) == shapes else None


def filter_state(checkpoint: Any) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
    """The generator state and the recorded mean latent from what read_checkpoint returned.

    Takes the EMA generator (`g_ema`, the one his scripts sample from; `g` only when a file
    has nothing else), a bare `g_ema` state dict, or one of our own states (latent_avg
    inside). Optimisers, the discriminator, `args` and `ada_aug_p` are left behind.
    """
    state = find_state_dict(checkpoint, wrappers=("g_ema", "g"))
    latent_avg = state.pop(LATENT_AVG, None)
    if latent_avg is None and isinstance(checkpoint, Mapping):
        found = checkpoint.get(LATENT_AVG)
        latent_avg = found if isinstance(found, torch.Tensor) else None
    if latent_avg is not None:
        latent_avg = latent_avg.detach().float().flatten()  # (512,); (1, 512) in some forks
    return state, latent_avg


def flat_state(checkpoint: Any) -> dict[str, torch.Tensor]:
    """filter_state's two results in one dict: the g_ema keys, plus latent_avg if recorded.

    For readers that pass a single state dict along (the host's importers unwrap g_ema and
    would drop the latent_avg beside it); detect ignores the extra key, convert uses it.
    """
    state, latent_avg = filter_state(checkpoint)
    return state if latent_avg is None else {**state, LATENT_AVG: latent_avg}


def convert(checkpoint: Any, *, label: str = "checkpoint"
            ) -> tuple[dict[str, int], dict[str, torch.Tensor]]:
    """(constructor arguments, full state dict) ready for `load_state_dict(strict=True)`.

    A file without latent_avg (training checkpoints) gets rosinality's estimate: the mean of
    the mapping network over MEAN_LATENT_SAMPLES seeded latents.
    """
    state, latent_avg = filter_state(checkpoint)
    config = detect(state)
    if config is None:
        raise WeightsError(f"{label}: not a StyleGAN2 generator in rosinality's layout "
                           "(stylegan2-pytorch g_ema keys and shapes)")
    if latent_avg is None:
        model = StyleGAN2Generator(**config)
        model.load_state_dict(state, strict=False)  # everything but latent_avg, checked above
        latent_avg = model.estimate_mean_latent().clone()
    elif latent_avg.shape != (config["style_dim"],):
        raise WeightsError(f"{label}: latent_avg has shape {tuple(latent_avg.shape)}, expected "
                           f"({config['style_dim']},)")
    return config, {**state, LATENT_AVG: latent_avg}


def load_generator(path: str | Path) -> StyleGAN2Generator:
    """A rosinality StyleGAN2 file (.pt/.pth/.safetensors) as an eval-mode generator."""
    config, state = convert(read_checkpoint(path), label=str(path))
    model = StyleGAN2Generator(**config)
    model.load_state_dict(state, strict=True)
    return model.eval()
