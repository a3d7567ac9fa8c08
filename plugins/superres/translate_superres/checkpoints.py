"""Which network a published super-resolution checkpoint holds, and its keys in our names.

Pure functions on state dicts that are already unwrapped (`params_ema`/`params`/
`model_state_dict`, `module.` and `_orig_mod.` are `translate.hub.reading.find_state_dict`'s
job). Four key layouts are known:

* `basicsr`: BasicSR / Real-ESRGAN / ai-forever names (`conv_first`, `body.N.rdbK.convJ`,
  `conv_body`, `conv_up1..3`, `conv_hr`, `conv_last`), our RRDBNet's own.
* `esrgan`: ESRGAN's `RRDBNet_arch.py` (`RRDB_trunk.N.RDBk.convJ`, `trunk_conv`,
  `upconv1..3`, `HRconv`), as in `RRDB_ESRGAN_x4.pth` and `RRDB_PSNR_x4.pth`.
* `esrgan-old`: ESRGAN's first, sequential `architecture.py` (tag `old-arch`; the
  `*_old_arch.pth` files): `model.0`, `model.1.sub.N.RDBk.convJ.0`, `model.1.sub.{blocks}`,
  then each x2 step is `model.{3m}` and the last two convs follow at steps of two.
* `srvgg`: Real-ESRGAN's SRVGGNetCompact (`body.N`), our `SRVGGNetCompact`'s own.

`detect` reads the network and its constructor arguments from keys and shapes and only
answers when the file would load strictly; `filter_state` renames; `closest_match` says in
one line, for a file that is none of these, which one it is nearest and the first key that
differs (`nearest_network` gives the same as data).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from translate.hub.importers import expected_shapes, rename_key, state_fit
from translate_superres.model import RRDBNet
from translate_superres.srvgg import SRVGGNetCompact

State = Mapping[str, torch.Tensor]

ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {"rrdbnet": RRDBNet,
                                                      "srvgg": SRVGGNetCompact}
LAYOUTS = {  # layout -> (architecture, how a message names it)
    "basicsr": ("rrdbnet", "BasicSR/Real-ESRGAN"),
    "esrgan": ("rrdbnet", "ESRGAN"),
    "esrgan-old": ("rrdbnet", "ESRGAN (old sequential)"),
    "srvgg": ("srvgg", "Real-ESRGAN SRVGGNetCompact"),
}
# Input channels of conv_first over image channels -> scale: x2 and x1 fold 2x2 and 4x4
# pixels into channels; x4 and x8 take the image as it is.
_SCALE_BY_FOLD = {1: 4, 4: 2, 16: 1}


def layout_of(state: State) -> str | None:
    """The key layout of `state`, from the keys that only that layout has; None if none."""
    if any(key.startswith("RRDB_trunk.") for key in state):
        return "esrgan"
    if any(key.startswith("model.1.sub.") for key in state):
        return "esrgan-old"
    if "conv_first.weight" in state:
        return "basicsr"
    if "body.0.weight" in state and state["body.0.weight"].ndim == 4:
        return "srvgg"
    return None


# ---- renaming: rule tables each way per layout ------------------------------------------

_ESRGAN_TO_OURS = [
    (re.compile(r"^RRDB_trunk\.(\d+)\.RDB(\d)\.conv(\d)\."), r"body.\1.rdb\2.conv\3."),
    (re.compile(r"^trunk_conv\."), "conv_body."),
    (re.compile(r"^upconv(\d)\."), r"conv_up\1."),
    (re.compile(r"^HRconv\."), "conv_hr."),
]
_OURS_TO_ESRGAN = [
    (re.compile(r"^body\.(\d+)\.rdb(\d)\.conv(\d)\."), r"RRDB_trunk.\1.RDB\2.conv\3."),
    (re.compile(r"^conv_body\."), "trunk_conv."),
    (re.compile(r"^conv_up(\d)\."), r"upconv\1."),
    (re.compile(r"^conv_hr\."), "HRconv."),
]


# ESRGAN's old architecture.py: B.sequential flattens the first conv (model.0), the trunk
# (model.1.sub: the blocks, then its conv), (upsample, conv, LeakyReLU) per x2 step, then
# (HR conv, LeakyReLU) and the last conv. Only the trunk conv has weights of its own in
# model.1.sub; the convs after it sit at 3 per x2 step (2 steps for x4, 3 for x8).
_OLD_BODY = (re.compile(r"^model\.1\.sub\.(\d+)\.RDB(\d)\.conv(\d)\.0\."), r"body.\1.rdb\2.conv\3.")
_OLD_TRUNK = (re.compile(r"^model\.1\.sub\.\d+\.(weight|bias)$"), r"conv_body.\1")
_OURS_BODY = (re.compile(r"^body\.(\d+)\.rdb(\d)\.conv(\d)\."), r"model.1.sub.\1.RDB\2.conv\3.0.")


def _old_places(state: State) -> dict[str, int]:
    """Where the old layout of this file puts each conv outside the trunk."""
    last = max((int(m[1]) for key in state if (m := re.match(r"model\.(\d+)\.weight$", key))),
               default=10)
    steps = max((last - 4) // 3, 1)
    return {"conv_first": 0, **{f"conv_up{m}": 3 * m for m in range(1, steps + 1)},
            "conv_hr": 3 * steps + 2, "conv_last": 3 * steps + 4}


def _renamers(layout: str, state: State) -> tuple[Callable[[str], str], Callable[[str], str]]:
    """(theirs -> ours, ours -> theirs) key renaming for `layout`."""
    if layout == "esrgan":
        return (lambda key: rename_key(key, _ESRGAN_TO_OURS),
                lambda key: rename_key(key, _OURS_TO_ESRGAN))
    if layout == "esrgan-old":
        places = _old_places(state).items()
        blocks = len({m[1] for key in state if (m := _OLD_BODY[0].match(key))})
        to_ours = [_OLD_BODY, _OLD_TRUNK,
                   *((re.compile(rf"^model\.{i}\."), f"{name}.") for name, i in places)]
        to_theirs = [_OURS_BODY, (re.compile(r"^conv_body\."), f"model.1.sub.{blocks}."),
                     *((re.compile(rf"^{name}\."), f"model.{i}.") for name, i in places)]
        return (lambda key: rename_key(key, to_ours)), (lambda key: rename_key(key, to_theirs))
    return (lambda key: key), (lambda key: key)


def filter_state(state: State, arch: str) -> dict[str, torch.Tensor]:
    """`state` with our module names for `arch`; keys no rule knows are kept as they are,
    so that a strict load names them."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; known: {', '.join(ARCHITECTURES)}")
    layout = layout_of(state)
    if layout is None or LAYOUTS[layout][0] != arch:
        return dict(state)
    to_ours, _ = _renamers(layout, state)
    return {to_ours(key): value for key, value in state.items()}


# ---- reading constructor arguments from shapes --------------------------------------------


def _shape(state: State, key: str, dim: int, default: int) -> int:
    value = state.get(key)
    return int(value.shape[dim]) if value is not None and value.ndim > dim else default


def _rrdbnet_arguments(ours: State) -> dict[str, Any]:
    """RRDBNet's arguments as far as `ours` (our names) shows them; defaults elsewhere."""
    channels = _shape(ours, "conv_last.weight", 0, 3)
    fold, remainder = divmod(_shape(ours, "conv_first.weight", 1, channels), channels)
    blocks = {int(key.split(".")[1]) for key in ours if re.match(r"body\.\d+\.", key)}
    scale = _SCALE_BY_FOLD.get(fold, 4) if not remainder else 4
    if scale == 4 and any(key.startswith("conv_up3.") for key in ours):
        scale = 8
    return {"scale": scale, "channels": channels,
            "features": _shape(ours, "conv_first.weight", 0, 64),
            "blocks": max(blocks) + 1 if blocks else 0,
            "growth": _shape(ours, "body.0.rdb1.conv1.weight", 0, 32)}


def _srvgg_arguments(ours: State) -> dict[str, Any]:
    """SRVGGNetCompact's arguments as far as `ours` shows them; defaults elsewhere.

    Convs sit at the even indices of `body` and activations at the odd ones. PReLU is the
    only activation with weights (one slope per channel); ReLU and LeakyReLU leave no
    trace, so a file without `body.1.weight` gets "relu" here and `detect` refuses it.
    """
    channels = _shape(ours, "body.0.weight", 1, 3)
    convs = [int(m[1]) for key in ours if (m := re.match(r"body\.(\d+)\.weight$", key))
             and ours[key].ndim == 4]
    last = max(convs) if convs else 2 * 16 + 2
    sub_pixels = _shape(ours, f"body.{last}.weight", 0, channels * 16)
    scale = math.isqrt(sub_pixels // channels) if channels else 4
    if scale < 1 or scale * scale * channels != sub_pixels:
        scale = 4
    return {"channels": channels, "features": _shape(ours, "body.0.weight", 0, 64),
            "convs": max(last // 2 - 1, 0), "scale": scale,
            "activation": "prelu" if "body.1.weight" in ours else "relu"}


_ARGUMENTS = {"rrdbnet": _rrdbnet_arguments, "srvgg": _srvgg_arguments}


# ---- comparing a file with what its guessed network expects -----------------------------


@dataclass(frozen=True)
class Mismatch:
    """The nearest known network to a state dict and the first key where they part."""

    layout: str  # the nearest key layout (see LAYOUTS)
    arguments: dict[str, Any]  # that network's constructor arguments, as read from shapes
    key: str | None  # the first key that differs, in the file's own naming
    problem: str  # what is wrong with it, e.g. "missing key 'conv_hr.bias'"
    matched: float = 0.0  # 0..1: how many keys have the expected names and shapes

    @property
    def arch(self) -> str:
        return LAYOUTS[self.layout][0]

    def __str__(self) -> str:
        settings = ", ".join(f"{k}={v}" for k, v in self.arguments.items())
        return (f"closest match: {self.arch} with {LAYOUTS[self.layout][1]} keys ({settings}); "
                f"first key that differs: {self.problem}")


def _compare(state: State, layout: str, activation: str | None = None) -> Mismatch:
    """How `state` fits the network its keys suggest under `layout` (problem "" if exactly);
    `activation`, if given, is SRVGGNetCompact's, which no weights may show."""
    arch = LAYOUTS[layout][0]
    to_ours, to_theirs = _renamers(layout, state)
    ours = {to_ours(key): value for key, value in state.items()}
    arguments = _ARGUMENTS[arch](ours)
    if arch == "srvgg" and activation is not None:
        arguments["activation"] = activation
    try:
        expected = expected_shapes(ARCHITECTURES[arch], **arguments)
    except ValueError as error:  # e.g. a scale no such network has
        return Mismatch(layout, arguments, None, str(error))
    fit = state_fit(ours, expected, theirs=to_theirs)
    if not fit.problem and arch == "srvgg" and "body.1.weight" not in ours \
            and activation is None:
        return Mismatch(layout, arguments, "body.1.weight",
                        "no activation weights at 'body.1.weight': ReLU or LeakyReLU, which a "
                        "state dict cannot tell apart (say which: activation=relu|leakyrelu)",
                        fit.matched)
    return Mismatch(layout, arguments, fit.key, fit.problem, fit.matched)


def detect(state: State, *, activation: str | None = None,
           ) -> tuple[str, dict[str, Any]] | None:
    """The architecture ("rrdbnet" or "srvgg") and its constructor arguments, if `state`
    is exactly such a network in a known layout (a strict load will then succeed).

    An SRVGGNetCompact without PReLU slopes is ReLU or LeakyReLU, which only the user
    knows: it is detected only with `activation` given.
    """
    layout = layout_of(state)
    if layout is None:
        return None
    fit = _compare(state, layout, activation)
    return (fit.arch, fit.arguments) if not fit.problem else None


def nearest_network(state: State) -> Mismatch:
    """The known network nearest to `state` and the first key that differs.

    The layout the keys name wins; a file no layout claims is compared with all of them
    and the one with the most keys of the right name and shape is named.
    """
    layout = layout_of(state)
    if layout is not None:
        return _compare(state, layout)
    fits = [_compare(state, name) for name in LAYOUTS]
    return max(fits, key=lambda fit: fit.matched)  # max keeps the first of equals


def closest_match(state: State) -> str:
    """One line for a state dict `detect` refuses: what it is nearest, and where it parts."""
    nearest = nearest_network(state)
    if layout_of(state) is None:
        return f"not an RRDBNet checkpoint, nor an SRVGGNetCompact one; {nearest}"
    return (f"a {nearest.arch} checkpoint in {LAYOUTS[nearest.layout][1]} names that does "
            f"not fit: {nearest.problem}")
