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
answers when the file would load strictly; `filter_state` renames; `closest_match` says,
for a file that is none of these, which one it is nearest and the first key that differs.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

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


# ---- renaming: one function each way per layout ------------------------------------------

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


def _substitute(key: str, rules: list[tuple[re.Pattern, str]]) -> str:
    for pattern, replacement in rules:
        key, count = pattern.subn(replacement, key)
        if count:
            break
    return key


@dataclass(frozen=True)
class _OldLayout:
    """Where ESRGAN's sequential layout put each conv: it depends on depth and x2 steps."""

    trunk_end: int  # index of the trunk's last conv inside model.1.sub (= blocks)
    steps: int  # x2 upsampling convs (2 for x4, 3 for x8)

    @classmethod
    def of(cls, state: State) -> _OldLayout:
        trunk = [int(m.group(1)) for key in state
                 if (m := re.match(r"model\.1\.sub\.(\d+)\.(weight|bias)$", key))]
        blocks = {int(m.group(1)) for key in state
                  if (m := re.match(r"model\.1\.sub\.(\d+)\.RDB", key))}
        convs = sorted({int(m.group(1)) for key in state
                        if (m := re.match(r"model\.(\d+)\.(weight|bias)$", key))} - {0})
        last = convs[-1] if convs else 10
        # B.sequential flattens (upsample, conv, lrelu) per x2 step, then (conv, lrelu), conv.
        steps = (last - 4) // 3 if (last - 4) % 3 == 0 else max(len(convs) - 2, 0)
        return cls(trunk_end=max(trunk) if trunk else len(blocks), steps=steps)

    def ours(self, key: str) -> str:
        if m := re.match(r"^model\.1\.sub\.(\d+)\.RDB(\d)\.conv(\d)\.0\.(.*)$", key):
            return f"body.{m[1]}.rdb{m[2]}.conv{m[3]}.{m[4]}"
        if m := re.match(r"^model\.1\.sub\.(\d+)\.(weight|bias)$", key):
            return f"conv_body.{m[2]}" if int(m[1]) == self.trunk_end else key
        if m := re.match(r"^model\.(\d+)\.(weight|bias)$", key):
            index = int(m[1])
            names = {0: "conv_first", 3 * self.steps + 2: "conv_hr",
                     3 * self.steps + 4: "conv_last",
                     **{3 * step: f"conv_up{step}" for step in range(1, self.steps + 1)}}
            return f"{names[index]}.{m[2]}" if index in names else key
        return key

    def theirs(self, key: str) -> str:
        if m := re.match(r"^body\.(\d+)\.rdb(\d)\.conv(\d)\.(.*)$", key):
            return f"model.1.sub.{m[1]}.RDB{m[2]}.conv{m[3]}.0.{m[4]}"
        module, _, param = key.rpartition(".")
        indices = {"conv_first": "0", "conv_hr": str(3 * self.steps + 2),
                   "conv_last": str(3 * self.steps + 4),
                   **{f"conv_up{step}": str(3 * step) for step in range(1, 4)}}
        if module == "conv_body":
            return f"model.1.sub.{self.trunk_end}.{param}"
        return f"model.{indices[module]}.{param}" if module in indices else key


def _renamers(layout: str, state: State) -> tuple[Callable[[str], str], Callable[[str], str]]:
    """(theirs -> ours, ours -> theirs) key renaming for `layout`."""
    if layout == "esrgan":
        return (lambda key: _substitute(key, _ESRGAN_TO_OURS),
                lambda key: _substitute(key, _OURS_TO_ESRGAN))
    if layout == "esrgan-old":
        old = _OldLayout.of(state)
        return old.ours, old.theirs
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


def _expected_shapes(arch: str, arguments: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
    """Our module's keys, in module order, and their shapes."""
    return dict(_module_shapes(arch, tuple(sorted(arguments.items()))))


@functools.lru_cache(maxsize=64)
def _module_shapes(arch: str, arguments: tuple[tuple[str, Any], ...],
                   ) -> tuple[tuple[str, tuple[int, ...]], ...]:
    # Built on the meta device (no memory), which still takes a good fraction of a second
    # for a 23-block RRDBNet: hence the cache.
    with torch.device("meta"):
        module = ARCHITECTURES[arch](**dict(arguments))
    return tuple((key, tuple(value.shape)) for key, value in module.state_dict().items())


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


def _compare(state: State, layout: str) -> Mismatch:
    """How `state` fits the network its keys suggest under `layout` (problem "" if exactly)."""
    arch = LAYOUTS[layout][0]
    to_ours, to_theirs = _renamers(layout, state)
    ours = {to_ours(key): value for key, value in state.items()}
    arguments = _ARGUMENTS[arch](ours)
    try:
        expected = _expected_shapes(arch, arguments)
    except ValueError as error:  # e.g. a scale no such network has
        return Mismatch(layout, arguments, None, str(error))
    present = [key for key in expected if key in ours]
    fitting = [key for key in present if tuple(ours[key].shape) == expected[key]]
    # A key of the right name counts half, of the right name and shape fully.
    matched = (len(present) + len(fitting)) / (2 * max(len(expected), len(ours), 1))
    missing = [key for key in expected if key not in ours]
    unexpected = [key for key in state if to_ours(key) not in expected]
    misshapen = [key for key in present if key not in fitting]
    if missing:
        key = to_theirs(missing[0])
        return Mismatch(layout, arguments, key, f"missing key {key!r}", matched)
    if unexpected:
        key = unexpected[0]
        return Mismatch(layout, arguments, key, f"unexpected key {key!r}", matched)
    if misshapen:
        key = to_theirs(misshapen[0])
        return Mismatch(layout, arguments, key,
                        f"{key!r} has shape {tuple(ours[misshapen[0]].shape)}, the network "
                        f"expects {expected[misshapen[0]]}", matched)
    if arch == "srvgg" and "body.1.weight" not in ours:
        return Mismatch(layout, arguments, "body.1.weight",
                        "no activation weights at 'body.1.weight': ReLU or LeakyReLU, which a "
                        "state dict cannot tell apart", matched)
    return Mismatch(layout, arguments, None, "", 1.0)


def detect(state: State) -> tuple[str, dict[str, Any]] | None:
    """The architecture ("rrdbnet" or "srvgg") and its constructor arguments, if `state`
    is exactly such a network in a known layout (a strict load will then succeed)."""
    layout = layout_of(state)
    if layout is None:
        return None
    fit = _compare(state, layout)
    return (fit.arch, fit.arguments) if not fit.problem else None


def closest_match(state: State) -> Mismatch:
    """The known network nearest to `state` and the first key that differs.

    The layout the keys name wins; a file no layout claims is compared with all of them
    and the one with the most keys of the right name and shape is named.
    """
    layout = layout_of(state)
    if layout is not None:
        return _compare(state, layout)
    fits = [_compare(state, name) for name in LAYOUTS]
    return max(fits, key=lambda fit: fit.matched)  # max keeps the first of equals
