"""Converting other projects' checkpoints into our weights folders: detect, then filter.

People already own weights trained with the papers' own code (`latest_net_G.pth`,
`RealESRGAN_x4plus.pth`, LaMa's `best.ckpt`, …). A plugin that can read such a layout
registers an `Importer` that knows two things, as timm's `checkpoint_filter_fn` does:

* `detect(state, **options)`: the config values (the architecture and its constructor
  arguments) read off the file's keys and shapes, or None when the file is not this layout;
* `filter(state, config, role)`: the file's tensors renamed to the keys of the translator's
  `generators` (e.g. `G.conv_first.weight`).

Both are called with the user's `options`, file options included (the path given, or None),
so that what a file becomes may depend on them: cyclegan's `--direction` names the
generator a file fills, and a `--reverse` file makes the folder translate both ways. Each
gets only the options its signature names (all of them with `**options`). An optional
`combine(states, **options)` makes one state of the files' filtered states (default: their
union; superres blends two sets of one network, Real-ESRGAN's denoise strength).

The host does everything else, the same way for every plugin (`import_checkpoint`): it
reads the file without running code (`translate.hub.reading`), unwraps the state dict,
builds the translator from the detected config, drops InstanceNorm running statistics
that old files carry (instance norm ignores them), and loads strictly, so a wrong file is
refused in one line that names its first bad key (or, with `closest`, the layout it is
nearest and where it parts).

For writing `detect` and `closest`: `expected_shapes` (a network's keys and shapes, built
on the meta device), `state_fit` (whether a state dict loads into them, else its first bad
key and how near it is) and `rename_key` (timm-style regex rules).
"""

from __future__ import annotations

import functools
import inspect
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from translate.errors import WeightsError
from translate.hub.layout import load_state_dict_strict
from translate.hub.reading import STATE_DICT_WRAPPERS, find_state_dict, read_checkpoint

if TYPE_CHECKING:
    from translate.config import TrainConfig
    from translate.translator import Translator
    from translate.types import Param

__all__ = ["Importer", "StateFit", "expected_shapes", "import_checkpoint",
           "read_reference_state_dict", "rename_key", "state_fit",
           "without_instance_norm_statistics"]

StateDict = dict[str, torch.Tensor]
NORM_STATISTICS = ("running_mean", "running_var", "num_batches_tracked")


def _as_is(state: StateDict, config: TrainConfig, role: str) -> StateDict:
    return state


def _union(states: Mapping[str, StateDict]) -> StateDict:
    return {key: value for state in states.values() for key, value in state.items()}


@dataclass(frozen=True, kw_only=True)
class Importer:
    """How one plugin reads one family of foreign checkpoints."""

    translator: str  # the translator name the weights are for
    description: str  # what files it reads, shown by `translate import --help`
    # (state, **options) -> config values (arch, constructor arguments), or None: not ours.
    detect: Callable[..., Mapping[str, Any] | None] | None = None
    # (state, config, role) -> tensors keyed like translator.generators.state_dict(); role
    # is "file" for the main file, or the name of a `file` option (a second checkpoint).
    filter: Callable[[StateDict, Any, str], StateDict] = _as_is
    options: tuple[Param, ...] = ()  # extra CLI options, e.g. --norm or --direction
    wrappers: tuple[str, ...] = STATE_DICT_WRAPPERS  # keys a state dict may be wrapped in
    preset: str = "full"  # the preset whose values complete the detected ones
    # (what the file holds) -> its tensors, for layouts whose state is not one wrapped
    # dict (StyleGAN2's g_ema with latent_avg beside it); default: find_state_dict.
    unwrap: Callable[[Any], StateDict] | None = None
    # (state) -> (similarity in [0, 1], one line naming the first key that differs): how
    # close an unrecognised file is to this importer's layouts, for `translate pull`'s message.
    closest: Callable[[StateDict], tuple[float, str]] | None = None
    # ({role: filtered state}, **options) -> the state to load; default: their union.
    combine: Callable[..., StateDict] = _union
    # Importers written before detect/filter: convert(path, **options) -> Translator.
    convert: Callable[..., Translator] | None = None

    def read(self, path: str | Path, member: str | None = None) -> StateDict:
        """The file's tensors, read safely and unwrapped."""
        loaded = read_checkpoint(path, member=member)
        if self.unwrap is not None:
            return self.unwrap(loaded)
        return find_state_dict(loaded, path=path, wrappers=self.wrappers)

    def recognises(self, state: StateDict) -> Mapping[str, Any] | None:
        """The detected config values, or None (also when detection finds a bad key)."""
        if self.detect is None:
            return None
        try:
            return self.detect(state)
        except WeightsError:
            return None


def import_checkpoint(importer: Importer, cls: type[Translator], path: str | Path, *,
                      member: str | None = None, **options: Any) -> Translator:
    """A ready translator holding the file's weights (and those of any `file` options).

    `member` names the checkpoint inside a zip archive that holds several.
    """
    path = Path(path)
    if importer.detect is None:
        if importer.convert is None:
            raise WeightsError(f"the {importer.translator} importer can neither detect nor "
                               "convert a file")
        warnings.warn(f"the {importer.translator} importer uses convert(); give it detect= "
                      "and filter= instead (convert is removed in gan-translate 0.3)",
                      DeprecationWarning, stacklevel=2)
        return importer.convert(path, **options)
    file_options = {p.name for p in importer.options if p.kind == "file"}
    files = {"file": path, **{name: Path(options[name]) for name in file_options
                              if options.get(name)}}
    settings = {**options, **{name: options.get(name) for name in file_options}}
    states, detected = {}, {}
    for role, file in files.items():
        states[role] = importer.read(file, member if role == "file" else None)
        found = importer.detect(states[role], **_named(importer.detect, settings))
        if found is None:
            if importer.closest is not None:
                raise WeightsError(f"{file}: {importer.closest(states[role])[1]}")
            first = next(iter(states[role]), "(none)")
            raise WeightsError(f"{file}: not a checkpoint the {importer.translator} importer "
                               f"reads ({importer.description}); first key {first!r}")
        detected[role] = {**found}
    main = detected["file"]
    for role, found in detected.items():
        if found != main:
            # One folder holds one architecture: a second file must match the first.
            key = next(k for k in {**main, **found} if main.get(k) != found.get(k))
            raise WeightsError(f"{files[role]}: {key} {found.get(key)}, but {path}: {key} "
                               f"{main.get(key)}; one folder holds one architecture")
    config = cls.make_config(importer.preset, values=main)
    translator = cls(config)
    loaded = importer.combine({role: importer.filter(state, config, role,
                                                     **_named(importer.filter, settings))
                               for role, state in states.items()},
                              **_named(importer.combine, settings))
    expected = translator.generators.state_dict()
    loaded = without_instance_norm_statistics(loaded, translator.generators)
    for key in expected:
        # Files from PyTorch < 0.4 lack the counter; nothing at inference reads it.
        if key.endswith("num_batches_tracked") and key not in loaded:
            loaded[key] = expected[key]
    loaded = {k: v.to(expected[k].dtype) if k in expected else v for k, v in loaded.items()}
    load_state_dict_strict(translator.generators, loaded, source=", ".join(map(str,
                                                                              files.values())))
    return translator.eval()


def _named(function: Callable[..., Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """The options that function takes by name: all of them if it has **kwargs."""
    parameters = inspect.signature(function).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return dict(options)
    names = {p.name for p in parameters if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}
    return {key: value for key, value in options.items() if key in names}


def without_instance_norm_statistics(state: Mapping[str, torch.Tensor],
                                     module: nn.Module) -> StateDict:
    """The state minus running statistics addressed to the module's InstanceNorm layers."""
    instance_norms = {name for name, layer in module.named_modules()
                      if isinstance(layer, nn.InstanceNorm1d | nn.InstanceNorm2d |
                                    nn.InstanceNorm3d)}
    return {key: value for key, value in state.items()
            if not (key.rpartition(".")[2] in NORM_STATISTICS
                    and key.rpartition(".")[0] in instance_norms)}


def read_reference_state_dict(
    path: str | Path, wrappers: tuple[str, ...] = ("state_dict",)
) -> StateDict:
    """Tensors of a checkpoint file, unwrapped from the first present wrapper key.

    Read by `translate.hub.reading.read_checkpoint`: safetensors, or pickles holding only
    tensors, plain data and allow-listed inert objects, never code.
    """
    return find_state_dict(read_checkpoint(path), path=path, wrappers=wrappers)


# ---- helpers for detect: does a state dict fit a network? --------------------------------


def expected_shapes(network: Callable[..., nn.Module], **arguments: Any,
                    ) -> dict[str, tuple[int, ...]]:
    """`network(**arguments)`'s state-dict keys, in module order, and their shapes."""
    return dict(_shapes(network, tuple(sorted(arguments.items()))))


@functools.lru_cache(maxsize=64)
def _shapes(network: Callable[..., nn.Module], arguments: tuple[tuple[str, Any], ...],
            ) -> tuple[tuple[str, tuple[int, ...]], ...]:
    # Built on the meta device (no memory), which still takes a good fraction of a second
    # for a large network (a 23-block RRDBNet): hence the cache.
    with torch.device("meta"):
        module = network(**dict(arguments))
    return tuple((key, tuple(value.shape)) for key, value in module.state_dict().items())


@dataclass(frozen=True)
class StateFit:
    """How a state dict fits a network: exactly (`problem` ""), or its first bad key."""

    problem: str  # e.g. "missing key 'conv_hr.bias'"; "" when a strict load succeeds
    key: str | None = None  # that key, in the file's own naming
    matched: float = 1.0  # 0..1: keys of the right name count half, of name and shape fully


def state_fit(state: Mapping[str, torch.Tensor], expected: Mapping[str, Sequence[int]], *,
              theirs: Callable[[str], str] = lambda key: key) -> StateFit:
    """Compare `state` (keys already renamed to the network's) with `expected` shapes.

    The first missing key is named first, then the first unexpected, then the first
    misshapen one, as a strict load would; `theirs` renames a key back for the message.
    """
    present = [key for key in expected if key in state]
    fitting = [key for key in present if tuple(state[key].shape) == tuple(expected[key])]
    matched = (len(present) + len(fitting)) / (2 * max(len(expected), len(state), 1))
    missing = [key for key in expected if key not in state]
    unexpected = [key for key in state if key not in expected]
    misshapen = [key for key in present if key not in fitting]
    if missing:
        return StateFit(f"missing key {theirs(missing[0])!r}", theirs(missing[0]), matched)
    if unexpected:
        return StateFit(f"unexpected key {theirs(unexpected[0])!r}", theirs(unexpected[0]),
                        matched)
    if misshapen:
        key = misshapen[0]
        return StateFit(f"{theirs(key)!r} has shape {tuple(state[key].shape)}, the network "
                        f"expects {tuple(expected[key])}", theirs(key), matched)
    return StateFit("")


def rename_key(key: str, rules: Sequence[tuple[re.Pattern, str]]) -> str:
    """`key` rewritten by the first (pattern, replacement) rule that matches it."""
    for pattern, replacement in rules:
        renamed, count = pattern.subn(replacement, key)
        if count:
            return renamed
    return key
