"""Which network a published super-resolution checkpoint holds, and its keys in our names.

Pure functions on state dicts that are already unwrapped (`params_ema`/`params`/
`model_state_dict`, `module.` and `_orig_mod.` are `translate.hub.reading.find_state_dict`'s
job). Four key layouts are known, described as data for `translate.hub.keys` (`LAYOUTS`):

* `basicsr`: BasicSR / Real-ESRGAN / ai-forever names (`conv_first`, `body.N.rdbK.convJ`,
  `conv_body`, `conv_up1..3`, `conv_hr`, `conv_last`), our RRDBNet's own.
* `esrgan`: ESRGAN's `RRDBNet_arch.py` (`RRDB_trunk.N.RDBk.convJ`, `trunk_conv`,
  `upconv1..3`, `HRconv`), as in `RRDB_ESRGAN_x4.pth` and `RRDB_PSNR_x4.pth`.
* `esrgan-old`: ESRGAN's first, sequential `architecture.py` (tag `old-arch`; the
  `*_old_arch.pth` files): `model.0`, `model.1.sub.N.RDBk.convJ.0`, `model.1.sub.{blocks}`,
  then each x2 step is `model.{3m}` and the last two convs follow at steps of two.
* `srvgg`: Real-ESRGAN's SRVGGNetCompact (`body.N`), our `SRVGGNetCompact`'s own.

What is RRDBNet and SRVGGNetCompact knowledge stays here: where the old layout puts its
convs, and how scale, width, depth and growth (or conv count and activation) show in the
shapes. `detect` reads the network and its constructor arguments and only answers when
the file would load strictly; `filter_state` renames; `closest_match` says in one line,
for a file that is none of these, which one it is nearest and the first key that differs
(`nearest_network` gives the same as data).
"""

from __future__ import annotations

import math
from typing import Any

from translate.hub.keys import KeyLayout, KeyLayouts, Rules, State, indices, shape_at
from translate_superres.model import RRDBNet
from translate_superres.srvgg import SRVGGNetCompact

ESRGAN_RULES = (  # ESRGAN's RRDBNet_arch.py names, ours
    ("RRDB_trunk.{n}.RDB{k}.conv{j}.", "body.{n}.rdb{k}.conv{j}."),
    ("trunk_conv.", "conv_body."),
    ("upconv{n}.", "conv_up{n}."),
    ("HRconv.", "conv_hr."),
)
# Input channels of conv_first over image channels -> scale: x2 and x1 fold 2x2 and 4x4
# pixels into channels; x4 and x8 take the image as it is.
SCALE_BY_FOLD = {1: 4, 4: 2, 16: 1}
NO_ACTIVATION_WEIGHTS = ("no activation weights at 'body.1.weight': ReLU or LeakyReLU, which "
                         "a state dict cannot tell apart (say which: activation=relu|leakyrelu)")


def _old_rules(state: State) -> Rules:
    """ESRGAN's old architecture.py, whose places depend on the network's size.

    B.sequential flattens the first conv (model.0), the trunk (model.1.sub: the blocks, then
    its conv), (upsample, conv, LeakyReLU) per x2 step, then (HR conv, LeakyReLU) and the
    last conv: the convs after the trunk sit at 3 per x2 step (2 steps for x4, 3 for x8).
    """
    last = max(indices(state, r"model\.(\d+)\.weight$"), default=10)
    steps = max((last - 4) // 3, 1)
    places = {"conv_first": 0, **{f"conv_up{m}": 3 * m for m in range(1, steps + 1)},
              "conv_hr": 3 * steps + 2, "conv_last": 3 * steps + 4}
    blocks = len(indices(state, r"model\.1\.sub\.(\d+)\.RDB"))
    return [("model.1.sub.{n}.RDB{k}.conv{j}.0.", "body.{n}.rdb{k}.conv{j}."),
            (f"model.1.sub.{blocks}.", "conv_body."),
            *((f"model.{place}.", f"{name}.") for name, place in places.items())]


def _rrdbnet_arguments(ours: State) -> dict[str, Any]:
    """RRDBNet's arguments as far as `ours` (our names) shows them; defaults elsewhere."""
    channels = shape_at(ours, "conv_last.weight", 0, 3)
    fold, remainder = divmod(shape_at(ours, "conv_first.weight", 1, channels), channels)
    scale = SCALE_BY_FOLD.get(fold, 4) if not remainder else 4
    if scale == 4 and any(key.startswith("conv_up3.") for key in ours):
        scale = 8
    return {"scale": scale, "channels": channels,
            "features": shape_at(ours, "conv_first.weight", 0, 64),
            "blocks": max(indices(ours, r"body\.(\d+)\."), default=-1) + 1,
            "growth": shape_at(ours, "body.0.rdb1.conv1.weight", 0, 32)}


def _srvgg_arguments(ours: State) -> dict[str, Any]:
    """SRVGGNetCompact's arguments as far as `ours` shows them; defaults elsewhere.

    Convs sit at the even indices of `body` and activations at the odd ones. PReLU is the
    only activation with weights (one slope per channel); ReLU and LeakyReLU leave no
    trace, so a file without `body.1.weight` gets "relu" here and `_activation_shown`
    refuses it unless the user names the activation.
    """
    channels = shape_at(ours, "body.0.weight", 1, 3)
    last = max(indices(ours, r"body\.(\d+)\.weight$", ndim=4), default=2 * 16 + 2)
    sub_pixels = shape_at(ours, f"body.{last}.weight", 0, channels * 16)
    scale = math.isqrt(sub_pixels // channels) if channels else 4
    if scale < 1 or scale * scale * channels != sub_pixels:
        scale = 4
    return {"channels": channels, "features": shape_at(ours, "body.0.weight", 0, 64),
            "convs": max(last // 2 - 1, 0), "scale": scale,
            "activation": "prelu" if "body.1.weight" in ours else "relu"}


def _srvgg_marker(state: State) -> bool:
    return getattr(state.get("body.0.weight"), "ndim", 0) == 4  # the first conv, not a norm


def _activation_shown(ours: State, given: dict[str, Any]) -> tuple[str, str] | None:
    if "body.1.weight" in ours or "activation" in given:
        return None
    return "body.1.weight", NO_ACTIVATION_WEIGHTS


LAYOUTS = KeyLayouts({
    "basicsr": KeyLayout(arch="rrdbnet", network=RRDBNet, label="BasicSR/Real-ESRGAN",
                         marker=r"body\.\d+\.rdb\d\.", arguments=_rrdbnet_arguments),
    "esrgan": KeyLayout(arch="rrdbnet", network=RRDBNet, label="ESRGAN",
                        marker=r"RRDB_trunk\.", arguments=_rrdbnet_arguments,
                        rules=ESRGAN_RULES),
    "esrgan-old": KeyLayout(arch="rrdbnet", network=RRDBNet, label="ESRGAN (old sequential)",
                            marker=r"model\.1\.sub\.", arguments=_rrdbnet_arguments,
                            rules=_old_rules),
    "srvgg": KeyLayout(arch="srvgg", network=SRVGGNetCompact, label="Real-ESRGAN "
                       "SRVGGNetCompact", marker=_srvgg_marker,
                       arguments=_srvgg_arguments, check=_activation_shown),
}, unknown="not an RRDBNet checkpoint, nor an SRVGGNetCompact one")


def detect(state: State, *, activation: str | None = None,
           ) -> tuple[str, dict[str, Any]] | None:
    """The architecture ("rrdbnet" or "srvgg") and its constructor arguments, if `state`
    is exactly such a network in a known layout (a strict load will then succeed).

    An SRVGGNetCompact without PReLU slopes is ReLU or LeakyReLU, which only the user
    knows: it is detected only with `activation` given.
    """
    fit = LAYOUTS.detect(state, activation=activation)
    return None if fit is None else (fit.arch, fit.arguments)


layout_of = LAYOUTS.layout_of
filter_state = LAYOUTS.filter
nearest_network = LAYOUTS.nearest
closest_match = LAYOUTS.misfit
