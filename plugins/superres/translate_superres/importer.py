"""Published super-resolution checkpoints -> a superres translator.

Read with `translate.hub.reading` (safetensors, or pickles holding only tensors and plain
data), unwrapped by `find_state_dict` (`params_ema` preferred, as Real-ESRGAN's inference
script does, then `params`, `model_state_dict`, ...; `module.`/`_orig_mod.` stripped), then
recognised and renamed by `checkpoints.py`:

* RRDBNet in BasicSR / Real-ESRGAN / ai-forever names (`RealESRGAN_x4plus.pth`,
  `RealESRGAN_x2plus.pth`, `RealESRGAN_x4plus_anime_6B.pth`, `RealESRGAN_x8.pth`, ...);
* RRDBNet in ESRGAN's names (`RRDB_ESRGAN_x4.pth`, `RRDB_PSNR_x4.pth`) and in its old
  sequential layout (`*_old_arch.pth`);
* SRVGGNetCompact (`realesr-general-x4v3.pth`, `realesr-animevideov3.pth`, ...).

Scale, width, depth and growth (or conv count and activation) are read from the shapes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from translate.errors import WeightsError
from translate.hub.importers import Importer
from translate.hub.pretrained import load_state_dict_strict
from translate.hub.reading import find_state_dict, read_checkpoint
from translate_superres.checkpoints import (
    LAYOUTS,
    closest_match,
    detect,
    filter_state,
    layout_of,
)


def to_basicsr_layout(state: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], str]:
    """An RRDBNet state dict in any known layout -> BasicSR names, and the layout's name."""
    layout = layout_of(state)
    if layout is None or LAYOUTS[layout][0] != "rrdbnet":
        sample = ", ".join(list(state)[:3])
        raise WeightsError(f"not an RRDBNet checkpoint: no conv_first/body.*, RRDB_trunk.* or "
                           f"model.1.sub.* keys (first keys: {sample})")
    return filter_state(state, "rrdbnet"), LAYOUTS[layout][1]


def architecture(state: dict[str, torch.Tensor]) -> dict[str, Any]:
    """RRDBNet's constructor arguments for a BasicSR-named state dict."""
    found = detect(state)
    if found is None or found[0] != "rrdbnet":
        raise WeightsError(f"not an RRDBNet state dict that loads as it is; {closest_match(state)}")
    return found[1]


def unrecognised(state: dict[str, torch.Tensor]) -> str:
    """One line for a state dict `detect` refuses: what it is nearest, and where it parts."""
    nearest = closest_match(state)
    if layout_of(state) is None:
        return f"not an RRDBNet checkpoint, nor an SRVGGNetCompact one; {nearest}"
    return (f"a {nearest.arch} checkpoint in {LAYOUTS[nearest.layout][1]} names that does "
            f"not fit: {nearest.problem}")


def convert(path: Path) -> torch.nn.Module:
    """Read a checkpoint file into a ready superres translator."""
    from translate_superres.translator import SuperResTranslator

    state = find_state_dict(read_checkpoint(path), path=path)
    found = detect(state)
    if found is None:
        raise WeightsError(f"{path}: {unrecognised(state)}")
    arch, arguments = found
    if arguments.pop("channels") != 3:
        raise WeightsError(f"{path}: only RGB networks are supported")
    overrides = {"arch": arch, **{k: str(v) for k, v in arguments.items()}}
    config = SuperResTranslator.make_config("full", overrides)
    translator = SuperResTranslator(config)
    layout = LAYOUTS[layout_of(state)][1]
    load_state_dict_strict(translator.generators["G"], filter_state(state, arch),
                           source=f"{path} ({layout} layout)")
    return translator.eval()


IMPORTER = Importer(
    translator="superres",
    description="Real-ESRGAN-family .pth files: RRDBNet x1/x2/x4/x8 (BasicSR/Real-ESRGAN, "
                "ai-forever, ESRGAN RRDB_trunk and old layouts) and SRVGGNetCompact; the "
                "network is read from the shapes",
    convert=convert,
)
