"""Published checkpoints' key layouts, described as data: renaming, detection, nearest fit.

Every importer asks the same of a foreign state dict: which of my networks is it, with
which constructor arguments, and what are its keys in my names; and for a file it does
not take, which layout is it nearest and where does it part. A plugin answers with data,
one `KeyLayout` per layout it reads:

* `marker`: a key pattern only that layout has (`r"RRDB_trunk\\."`);
* `rules`: its key names next to ours, as templates that rename both ways
  (`("RRDB_trunk.{n}.RDB{k}.", "body.{n}.rdb{k}.")`; `{name}` matches a number), or a
  function of the file for layouts whose places depend on the network's size;
* `arguments`: how the constructor arguments show in the shapes (the one piece of real
  knowledge about the network), given the state in our names;

and `KeyLayouts` does the rest: `layout_of` (whose marker), `filter` (our names),
`fit`/`detect` (the arguments and whether a strict load succeeds, with the first bad key
in the file's own names), `nearest`, `misfit` and `closest` (an `Importer`'s `closest=`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from translate.errors import WeightsError
from translate.hub.importers import expected_shapes, state_fit

__all__ = ["KeyLayout", "KeyLayouts", "LayoutFit", "Rules", "State", "indices", "key_renamer",
           "rename_keys", "shape_at"]

State = Mapping[str, torch.Tensor]
Rules = Sequence[tuple[str, str]]  # (their key template, ours), first match wins
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


# ---- renaming ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def _pattern(template: str) -> re.Pattern:
    # "body.{n}.rdb{k}." -> ^body\.(?P<n>\d+)\.rdb(?P<k>\d+)\. ; a template that does not
    # end with a dot ends at a key segment's end, so "conv_hr" never matches "conv_hr2".
    pieces = _PLACEHOLDER.split(template)
    body = "".join(re.escape(piece) if i % 2 == 0 else rf"(?P<{piece}>\d+)"
                   for i, piece in enumerate(pieces))
    return re.compile("^" + body + ("" if template.endswith(".") else r"(?=\.|$)"))


def key_renamer(rules: Rules, *, reverse: bool = False) -> Callable[[str], str]:
    """key -> key renamed by the first rule whose template starts it (theirs -> ours, or
    ours -> theirs with `reverse`); the rest of the key is kept, and a key no rule
    matches is returned as it is."""
    compiled = [(_pattern(ours if reverse else theirs), theirs if reverse else ours)
                for theirs, ours in rules]

    def rename(key: str) -> str:
        for pattern, target in compiled:
            if found := pattern.match(key):
                return target.format(**found.groupdict()) + key[found.end():]
        return key

    return rename


def rename_keys(state: State, rules: Rules, *, reverse: bool = False) -> dict[str, torch.Tensor]:
    """`state` with every key renamed by `rules` (see `key_renamer`)."""
    rename = key_renamer(rules, reverse=reverse)
    return {rename(key): value for key, value in state.items()}


# ---- reading shapes -----------------------------------------------------------------------


def shape_at(state: State, key: str, dim: int, default: int) -> int:
    """`state[key].shape[dim]`, or `default` where the key is missing or has fewer dims."""
    value = state.get(key)
    return int(value.shape[dim]) if value is not None and value.ndim > dim else default


def indices(state: State, pattern: str, *, ndim: int | None = None) -> set[int]:
    """The numbers that `pattern`'s first group matches in the keys (of tensors with
    `ndim` dims, if given): `indices(state, r"body\\.(\\d+)\\.")` -> the blocks present."""
    return {int(found[1]) for key, value in state.items()
            if (found := re.match(pattern, key)) and (ndim is None or value.ndim == ndim)}


# ---- layouts ----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class KeyLayout:
    """One way published checkpoints name the keys of one of our networks."""

    arch: str  # the translator's architecture the file loads into, e.g. "rrdbnet"
    network: Callable[..., nn.Module]  # its network class
    label: str  # how messages name the layout, e.g. "ESRGAN"
    # A pattern (re.match) some key of every such file matches and no other layout's does,
    # or state -> bool.
    marker: str | Callable[[State], bool]
    # state in our names -> the network's constructor arguments, as far as it shows them.
    arguments: Callable[[State], dict[str, Any]]
    rules: Rules | Callable[[State], Rules] = ()  # (theirs, ours) templates, or per file
    # (state in our names, the arguments the user gave) -> (key, problem) for a file that
    # fits but does not show all its network needs (weightless activations), else None.
    check: Callable[[State, Mapping[str, Any]], tuple[str, str] | None] | None = None

    def claims(self, state: State) -> bool:
        """Whether the file's keys carry this layout's marker."""
        if callable(self.marker):
            return self.marker(state)
        return any(re.match(self.marker, key) for key in state)

    def renamers(self, state: State) -> tuple[Callable[[str], str], Callable[[str], str]]:
        """(theirs -> ours, ours -> theirs) key renaming for this file."""
        rules = self.rules(state) if callable(self.rules) else self.rules
        return key_renamer(rules), key_renamer(rules, reverse=True)


@dataclass(frozen=True)
class LayoutFit:
    """How a state dict fits one layout's network: exactly (`problem` ""), or where not."""

    layout: str  # the layout's name in its KeyLayouts
    arch: str  # the architecture it loads into
    label: str  # the layout, as messages name it
    arguments: dict[str, Any]  # the network's constructor arguments, as read from shapes
    key: str | None  # the first key that differs, in the file's own naming
    problem: str  # what is wrong with it, e.g. "missing key 'conv_hr.bias'"; "" if none
    matched: float = 0.0  # 0..1: how many keys have the expected names and shapes

    def __str__(self) -> str:
        settings = ", ".join(f"{k}={v}" for k, v in self.arguments.items())
        return (f"closest match: {self.arch} with {self.label} keys ({settings}); first key "
                f"that differs: {self.problem}")


class KeyLayouts(Mapping[str, KeyLayout]):
    """An importer's layouts by name; their markers must not overlap.

    `unknown` opens the message for a file no marker claims ("not an RRDBNet checkpoint").
    """

    def __init__(self, layouts: Mapping[str, KeyLayout], *, unknown: str) -> None:
        self._layouts, self.unknown = dict(layouts), unknown

    def __getitem__(self, name: str) -> KeyLayout:
        return self._layouts[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._layouts)

    def __len__(self) -> int:
        return len(self._layouts)

    def layout_of(self, state: State) -> str | None:
        """The name of the layout whose marker the file carries; None if none."""
        return next((name for name, layout in self.items() if layout.claims(state)), None)

    def filter(self, state: State, arch: str) -> dict[str, torch.Tensor]:
        """`state` in our names for `arch`; a file of another architecture's layout, or of
        none, and keys no rule knows, are kept as they are, so a strict load names them."""
        known = dict.fromkeys(layout.arch for layout in self.values())
        if arch not in known:
            raise ValueError(f"unknown architecture {arch!r}; known: {', '.join(known)}")
        name = self.layout_of(state)
        if name is None or self[name].arch != arch:
            return dict(state)
        to_ours, _ = self[name].renamers(state)
        return {to_ours(key): value for key, value in state.items()}

    def fit(self, state: State, name: str, **given: Any) -> LayoutFit:
        """How `state` fits layout `name`'s network, with the arguments read off its shapes;
        `given` (None = not given) overrides those that no weights may show."""
        layout = self[name]
        to_ours, to_theirs = layout.renamers(state)
        ours = {to_ours(key): value for key, value in state.items()}
        read = layout.arguments(ours)
        given = {key: value for key, value in given.items() if key in read and value is not None}
        arguments = {**read, **given}
        result = functools.partial(LayoutFit, name, layout.arch, layout.label, arguments)
        try:
            expected = expected_shapes(layout.network, **arguments)
        except ValueError as error:  # e.g. a scale no such network has
            return result(None, str(error))
        found = state_fit(ours, expected, theirs=to_theirs)
        if not found.problem and layout.check is not None \
                and (trouble := layout.check(ours, given)) is not None:
            return result(*trouble, found.matched)
        return result(found.key, found.problem, found.matched)

    def detect(self, state: State, **given: Any) -> LayoutFit | None:
        """The fit of the layout that claims `state`, if exact (a strict load then succeeds).

        A `given` argument (not None) that this file's network does not take is the user's
        mistake: WeightsError.
        """
        name = self.layout_of(state)
        fit = None if name is None else self.fit(state, name, **given)
        if fit is None or fit.problem:
            return None
        for key, value in given.items():
            if value is not None and key not in fit.arguments:
                raise WeightsError(f"{key} does not apply: this file is a {fit.arch} "
                                   f"checkpoint in {fit.label} names")
        return fit

    def nearest(self, state: State) -> LayoutFit:
        """The fit of the layout that claims `state`; for a file none claims, the layout
        with the most keys of the right name and shape (the first of equals)."""
        name = self.layout_of(state)
        if name is not None:
            return self.fit(state, name)
        return max((self.fit(state, name) for name in self), key=lambda fit: fit.matched)

    def misfit(self, state: State) -> str:
        """One line for a file `detect` refuses: what it is nearest, and where it parts."""
        nearest = self.nearest(state)
        if self.layout_of(state) is None:
            return f"{self.unknown}; {nearest}"
        return (f"a {nearest.arch} checkpoint in {nearest.label} names that does not fit: "
                f"{nearest.problem}")

    def closest(self, state: State) -> tuple[float, str]:
        """(how near, 0..1, the one line): an `Importer`'s `closest`."""
        return self.nearest(state).matched, self.misfit(state)
