"""Published super-resolution checkpoints -> a superres weights folder.

The host reads the file safely and unwraps it (`params_ema` preferred, as Real-ESRGAN's
inference script does, then `params`, `model_state_dict`, ...; `module.`/`_orig_mod.`
stripped); `checkpoints.py` recognises and renames:

* RRDBNet in BasicSR / Real-ESRGAN / ai-forever names (`RealESRGAN_x4plus.pth`,
  `RealESRGAN_x2plus.pth`, `RealESRGAN_x4plus_anime_6B.pth`, `RealESRGAN_x8.pth`, ...);
* RRDBNet in ESRGAN's names (`RRDB_ESRGAN_x4.pth`, `RRDB_PSNR_x4.pth`) and in its old
  sequential layout (`*_old_arch.pth`);
* SRVGGNetCompact (`realesr-general-x4v3.pth`, `realesr-animevideov3.pth`, ...).

Scale, width, depth and growth (or conv count and activation) are read from the shapes.
`--wdn realesr-general-wdn-x4v3.pth --denoise-strength S` blends realesr-general-x4v3 with
its weak-denoise companion before loading, as Real-ESRGAN's `--denoise_strength` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from translate import Param
from translate.errors import WeightsError
from translate.hub.importers import Importer
from translate_superres.checkpoints import closest_match, detect, filter_state, nearest_network
from translate_superres.srvgg import ACTIVATIONS, interpolate_states

State = dict[str, torch.Tensor]
# Real-ESRGAN's default --denoise_strength for realesr-general-x4v3.
DENOISE_STRENGTH = 0.5


def detect_config(state: State, *, activation: str | None = None,
                  **options: Any) -> dict[str, Any] | None:
    """Config values (`arch` and the network's arguments) of a file, or None."""
    found = detect(state, activation=activation)
    if found is None:
        return None
    arch, arguments = found
    if arguments.pop("channels") != 3:
        raise WeightsError("only RGB networks are supported (the translator's image mode)")
    if activation is not None and arch != "srvgg":
        raise WeightsError(f"activation is an SRVGGNetCompact setting; this file is {arch}")
    return {"arch": arch, **arguments}


def filter_config(state: State, config: Any, role: str) -> State:
    """The file's tensors under the translator's keys (`G.conv_first.weight`, ...)."""
    return {f"G.{key}": value for key, value in filter_state(state, config.arch).items()}


def closest(state: State) -> tuple[float, str]:
    """How near a refused file is to a known layout (0..1), and the one line saying so."""
    return nearest_network(state).matched, closest_match(state)


def blend(states: Mapping[str, State], *, denoise_strength: float | None = None) -> State:
    """The main file's state, or with `wdn` its blend: strength x file + (1 - strength) x wdn."""
    if "wdn" not in states:
        if denoise_strength not in (None, 1.0):
            raise WeightsError("--denoise-strength needs --wdn, the weak-denoise companion "
                               "(realesr-general-wdn-x4v3.pth) to blend with")
        return dict(states["file"])
    strength = DENOISE_STRENGTH if denoise_strength is None else denoise_strength
    return interpolate_states(states["file"], states["wdn"], strength)


IMPORTER = Importer(
    translator="superres",
    description="Real-ESRGAN-family .pth files: RRDBNet x1/x2/x4/x8 (BasicSR/Real-ESRGAN, "
                "ai-forever, ESRGAN RRDB_trunk and old layouts) and SRVGGNetCompact; the "
                "network is read from the shapes",
    detect=detect_config,
    filter=filter_config,
    closest=closest,
    combine=blend,
    options=(
        Param(name="wdn", kind="file",
              help="A second file of the same network to blend with FILE, e.g. "
                   "realesr-general-wdn-x4v3.pth next to realesr-general-x4v3.pth."),
        Param(name="denoise_strength", kind="float", low=0.0, high=1.0,
              help=f"With --wdn: weight of FILE in the blend, 1 = FILE alone (full "
                   f"denoising), 0 = the --wdn file alone [default: {DENOISE_STRENGTH}, "
                   "Real-ESRGAN's]."),
        Param(name="activation", kind="choice", choices=ACTIVATIONS[1:],
              help="For SRVGGNetCompact files without PReLU weights: relu or leakyrelu "
                   "(their state dicts look the same, so the file cannot say)."),
    ),
)
