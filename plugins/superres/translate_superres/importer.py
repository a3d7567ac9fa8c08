"""Published RRDBNet checkpoints -> a superres translator.

Three public key layouts are read (all with `torch.load(weights_only=True)`):

* BasicSR / Real-ESRGAN (`RealESRGAN_x4plus.pth`, `RealESRGAN_x2plus.pth`, …): our own
  names, usually wrapped as `{"params_ema": …}` or `{"params": …}`; EMA is preferred,
  as Real-ESRGAN's inference script does.
* ESRGAN (`RRDB_ESRGAN_x4.pth`, `RRDB_PSNR_x4.pth`): `RRDB_trunk.N.RDBk.convJ`,
  `trunk_conv`, `upconv1/2`, `HRconv`, `conv_last`.
* ESRGAN's older sequential layout (`*_old_arch.pth`): `model.0`, `model.1.sub.N.RDBk.convJ.0`,
  `model.3/6/8/10`, as converted by ESRGAN's own `transer_RRDB_models.py`.

Scale, width, block count and growth channels are read from the tensor shapes.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch

from translate.errors import WeightsError
from translate.hub.importers import Importer, read_reference_state_dict
from translate.hub.pretrained import load_state_dict_strict

WRAPPERS = ("params_ema", "params", "state_dict")
_ESRGAN = [
    (re.compile(r"^RRDB_trunk\.(\d+)\.RDB(\d)\.conv(\d)\."), r"body.\1.rdb\2.conv\3."),
    (re.compile(r"^trunk_conv\."), "conv_body."),
    (re.compile(r"^upconv1\."), "conv_up1."),
    (re.compile(r"^upconv2\."), "conv_up2."),
    (re.compile(r"^HRconv\."), "conv_hr."),
]
_OLD_ESRGAN = [
    (re.compile(r"^model\.0\."), "conv_first."),
    (re.compile(r"^model\.1\.sub\.(\d+)\.RDB(\d)\.conv(\d)\.0\."), r"body.\1.rdb\2.conv\3."),
    (re.compile(r"^model\.3\."), "conv_up1."),
    (re.compile(r"^model\.6\."), "conv_up2."),
    (re.compile(r"^model\.8\."), "conv_hr."),
    (re.compile(r"^model\.10\."), "conv_last."),
]
# Input channels of conv_first -> scale: x2 and x1 fold 2x2 and 4x4 pixels into channels.
_SCALE_BY_FOLD = {1: 4, 4: 2, 16: 1}


def _rename(state: dict[str, torch.Tensor],
            rules: list[tuple[re.Pattern, str]]) -> dict[str, torch.Tensor]:
    renamed = {}
    for key, value in state.items():
        for pattern, replacement in rules:
            key, count = pattern.subn(replacement, key)
            if count:
                break
        renamed[key] = value
    return renamed


def to_basicsr_layout(state: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], str]:
    """Any supported layout -> BasicSR names, and the layout's name."""
    if any(k.startswith("RRDB_trunk.") for k in state):
        return _rename(state, _ESRGAN), "ESRGAN"
    if any(k.startswith("model.1.sub.") for k in state):
        trunk_end = max(int(m.group(1)) for k in state
                        if (m := re.match(r"model\.1\.sub\.(\d+)\.weight$", k)))
        rules = [(re.compile(rf"^model\.1\.sub\.{trunk_end}\."), "conv_body."), *_OLD_ESRGAN]
        return _rename(state, rules), "ESRGAN (old sequential)"
    if "conv_first.weight" in state and any(k.startswith("body.") for k in state):
        return dict(state), "BasicSR/Real-ESRGAN"
    sample = ", ".join(list(state)[:3])
    raise WeightsError(f"not an RRDBNet checkpoint: no conv_first/body.*, RRDB_trunk.* or "
                       f"model.1.sub.* keys (first keys: {sample})")


def architecture(state: dict[str, torch.Tensor]) -> dict[str, int]:
    """scale, features, blocks and growth of a BasicSR-named RRDBNet state dict."""
    try:
        first = state["conv_first.weight"]
        last = state["conv_last.weight"]
        growth = state["body.0.rdb1.conv1.weight"].shape[0]
    except KeyError as missing:
        raise WeightsError(f"RRDBNet checkpoint lacks {missing.args[0]}") from None
    channels = last.shape[0]
    fold, remainder = divmod(first.shape[1], channels)
    if remainder or fold not in _SCALE_BY_FOLD:
        raise WeightsError(f"conv_first takes {first.shape[1]} channels for {channels}-channel "
                           "images: not a x4, x2 or x1 RRDBNet")
    blocks = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("body."))
    return {"scale": _SCALE_BY_FOLD[fold], "features": first.shape[0], "blocks": blocks,
            "growth": growth, "channels": channels}


def convert(path: Path) -> torch.nn.Module:
    """Read a checkpoint file into a ready superres translator."""
    from translate_superres.translator import SuperResTranslator

    state, layout = to_basicsr_layout(read_reference_state_dict(path, wrappers=WRAPPERS))
    arch = architecture(state)
    if arch.pop("channels") != 3:
        raise WeightsError(f"{path}: only RGB RRDBNets are supported")
    config = SuperResTranslator.make_config("full", {k: str(v) for k, v in arch.items()})
    translator = SuperResTranslator(config)
    load_state_dict_strict(translator.generators["G"], state, source=f"{path} ({layout} layout)")
    return translator.eval()


IMPORTER = Importer(
    translator="superres",
    description="RRDBNet .pth files: Real-ESRGAN/BasicSR (params_ema or params), ESRGAN "
                "(RRDB_trunk…) and ESRGAN's old layout; scale and depth read from the shapes",
    convert=convert,
)
