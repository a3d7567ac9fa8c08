"""Typed translator configs: shared training knobs, presets and `--set key=value`.

A plugin's config is a keyword-only dataclass that extends `TrainConfig`. Each
field carries a trailing `# comment`; those comments are the documentation shown
by `translate train NAME --help`, so the source and the help never disagree.

A field's bounds are part of its type: `width: Annotated[int, Range(1)] = 64`. They
are checked whenever a config is built (presets, `--set`, a config.json), and every
float must be finite, so `--set lr_g=inf` or `width=0` is refused in one line before
anything trains.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import io
import math
import tokenize
import types
import typing
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Annotated, Any, Literal, TypeVar

from translate.errors import ConfigError

C = TypeVar("C", bound="TrainConfig")


@dataclasses.dataclass(frozen=True)
class Range:
    """Bounds of a numeric config field, used as `Annotated[int, Range(1)]`.

    `low`/`high` are inclusive unless `open_low`/`open_high`; None means unbounded.
    """

    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False

    def check(self, name: str, value: float) -> None:
        if self.low is not None and (value <= self.low if self.open_low else value < self.low):
            raise ConfigError(f"{name} must be {'above' if self.open_low else 'at least'} "
                              f"{_number(self.low)}, got {_number(value)}")
        if self.high is not None and (value >= self.high if self.open_high
                                      else value > self.high):
            raise ConfigError(f"{name} must be {'below' if self.open_high else 'at most'} "
                              f"{_number(self.high)}, got {_number(value)}")


POSITIVE = Range(0, open_low=True)
AT_LEAST_1 = Range(1)
NOT_NEGATIVE = Range(0)
FRACTION = Range(0, 1)


@dataclasses.dataclass(kw_only=True)
class TrainConfig:
    """What every adversarial training run needs, whatever the networks."""

    arch: str = ""  # the generator architecture (see `presets`/--help); "" = the default one
    steps: Annotated[int, AT_LEAST_1] = 2000  # optimisation steps; one = d_steps D + one G update
    batch_size: Annotated[int, AT_LEAST_1] = 64  # images per step, per process
    lr_g: Annotated[float, POSITIVE] = 2e-4  # generator Adam step size
    lr_d: Annotated[float, POSITIVE] = 2e-4  # discriminator Adam step size
    betas: tuple[float, float] = (0.5, 0.999)  # Adam betas; beta1=0.5 is the DCGAN-era default
    d_steps: Annotated[int, AT_LEAST_1] = 1  # discriminator updates per generator update
    lr_decay_fraction: Annotated[float, FRACTION] = 0.0  # final share of steps decaying LR to 0
    ema_decay: Annotated[float, Range(0, 1, open_high=True)] = 0.999  # generator EMA (0 = off)
    grad_clip: Annotated[float, NOT_NEGATIVE] = 0.0  # clip each net's gradient norm (0 = off)
    seed: Annotated[int, NOT_NEGATIVE] = 0  # seeds data order, augmentation and initial weights
    mixed_precision: Literal["auto", "no", "bf16", "fp16"] = "auto"  # auto: CUDA bf16, CPU fp32
    log_every: Annotated[int, AT_LEAST_1] = 25  # steps between logged scalars (bar, TensorBoard)
    sample_every: Annotated[int, AT_LEAST_1] = 250  # steps between sample-grid PNGs
    checkpoint_every: Annotated[int, AT_LEAST_1] = 250  # steps between atomic checkpoints
    workers: Annotated[int, NOT_NEGATIVE] = 0  # DataLoader worker processes (0 = in-process)
    evaluate_at_end: bool = True  # run the translator's evaluation and put it in the model card
    init_from: str = ""  # weights (folder, Hub repo or index name) that G starts from; "" = none

    def __post_init__(self) -> None:
        check_bounds(self)


def check_bounds(config: Any) -> None:
    """Every float finite, every annotated field within its Range; one line if not."""
    hints = _hints(type(config))
    for field in config_fields(type(config)):
        value = getattr(config, field.name)
        values = value if isinstance(value, tuple) else (value,)
        for item in values:
            if isinstance(item, float) and not math.isfinite(item):
                raise ConfigError(f"{field.name} must be a finite number, got {item}")
        for bound in getattr(hints[field.name], "__metadata__", ()):
            if isinstance(bound, Range) and isinstance(value, int | float) \
                    and not isinstance(value, bool):
                bound.check(field.name, value)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def config_fields(cls: type[TrainConfig]) -> list[dataclasses.Field]:
    """The config's fields, in declaration order (base class first)."""
    return [f for f in dataclasses.fields(cls) if f.init]


@cache
def field_docs(cls: type) -> dict[str, str]:
    """The trailing `# comment` of every field, read from the class source of cls and its bases."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass) or klass is object:
            continue
        try:
            source = inspect.getsource(klass)
        except (OSError, TypeError):
            continue
        names = {f.name for f in dataclasses.fields(klass)}
        current: str | None = None
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.NEWLINE:
                current = None
            elif token.type == tokenize.NAME and token.start[1] == 4 and token.string in names:
                current = token.string
            elif token.type == tokenize.COMMENT and current is not None:
                docs[current] = token.string.lstrip("# ").strip()
    return docs


def config_to_dict(config: TrainConfig) -> dict[str, Any]:
    """A JSON-ready dict of the config (tuples become lists)."""
    return {f.name: _jsonable(getattr(config, f.name)) for f in config_fields(type(config))}


def config_from_dict(cls: type[C], values: Mapping[str, Any]) -> C:
    """Rebuild a config from a dict, refusing keys the class does not know."""
    known = {f.name: f for f in config_fields(cls)}
    kwargs = {}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(_unknown_key(cls, key))
        kwargs[key] = _coerce_json(value, _field_type(cls, key), key)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as error:
        # A plugin's __post_init__ meeting a value it did not expect (from --set or a
        # config.json) is still a bad config, told in one line.
        raise ConfigError(f"bad config for {cls.__name__}: {error}") from None


def parse_assignments(assignments: Iterable[str]) -> dict[str, str]:
    """Turn `["lr_g=1e-4", "steps=10"]` into a dict, with a clear error for malformed items."""
    values = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects key=value, got {item!r}")
        values[key.strip()] = value.strip()
    return values


def build_config(
    cls: type[C],
    *,
    presets: Mapping[str, Mapping[str, Any]],
    preset: str = "starter",
    overrides: Mapping[str, str] | None = None,
    values: Mapping[str, Any] | None = None,
) -> C:
    """The preset's values, then typed `values`, then `--set` overrides (strings parsed by
    field type), validated."""
    if preset not in presets:
        raise ConfigError(f"unknown preset {preset!r}; choose from {', '.join(presets)}")
    merged: dict[str, Any] = {**presets[preset], **(values or {})}
    for key, text in (overrides or {}).items():
        if key not in {f.name for f in config_fields(cls)}:
            raise ConfigError(_unknown_key(cls, key))
        merged[key] = parse_value(text, _field_type(cls, key), key)
    return config_from_dict(cls, merged)


def parse_value(text: str, annotation: Any, key: str = "value") -> Any:
    """Parse one `--set` string into the field's type, or say what was expected."""
    origin = typing.get_origin(annotation)
    if origin is Literal:
        choices = typing.get_args(annotation)
        for choice in choices:
            if str(choice) == text:
                return choice
        raise ConfigError(f"{key} must be one of {', '.join(map(str, choices))}; got {text!r}")
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if text.lower() in ("none", "null", ""):
            return None
        return parse_value(text, args[0], key)
    if origin is tuple:
        item_types = typing.get_args(annotation)
        parts = [p for p in text.strip("()[] ").split(",") if p.strip()]
        if item_types and item_types[-1] is not Ellipsis and len(parts) != len(item_types):
            raise ConfigError(
                f"{key} expects {len(item_types)} comma-separated values, got {text!r}")
        element = item_types[0] if item_types else str
        return tuple(parse_value(p.strip(), element, key) for p in parts)
    if annotation is bool:
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{key} expects true or false, got {text!r}")
    if annotation in (int, float):
        try:
            number = float(text) if annotation is float else int(text)
        except ValueError:
            raise ConfigError(f"{key} expects {annotation.__name__}, got {text!r}") from None
        return number
    return text


def describe_type(annotation: Any) -> str:
    """A short human name for a field type, for help text."""
    if typing.get_origin(annotation) is Literal:
        return "|".join(map(str, typing.get_args(annotation)))
    return getattr(annotation, "__name__", str(annotation)).replace("typing.", "")


def field_type(cls: type, name: str) -> Any:
    """The resolved type annotation of one config field."""
    return _field_type(cls, name)


def _field_type(cls: type, name: str) -> Any:
    return _plain_hints(cls)[name]


# Resolving a dataclass's string annotations costs milliseconds per call, and `translate list`
# builds every translator's configs: once per class is enough (a class's fields never change).
@cache
def _plain_hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, include_extras=True)


def _unknown_key(cls: type, key: str) -> str:
    names = [f.name for f in config_fields(cls)]
    close = difflib.get_close_matches(key, names, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown config key {key!r}{hint}"


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _coerce_json(value: Any, annotation: Any, key: str) -> Any:
    """Check a JSON value against the field's type; JSON has no tuples, so rebuild them."""
    origin = typing.get_origin(annotation)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{key} expects a list, got {value!r}")
        element = (typing.get_args(annotation) or (Any,))[0]
        return tuple(_coerce_json(item, element, key) for item in value)
    if origin is Literal:
        if value not in typing.get_args(annotation):
            raise ConfigError(f"{key} must be one of "
                              f"{', '.join(map(str, typing.get_args(annotation)))}; got {value!r}")
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        return _coerce_json(value, next(a for a in typing.get_args(annotation)
                                        if a is not type(None)), key)
    expected = {bool: (bool,), int: (int,), float: (int, float), str: (str,)}.get(annotation)
    # bool is an int in Python, but `"steps": true` is a mistake, not a number.
    if expected and (not isinstance(value, expected) or
                     (annotation is not bool and isinstance(value, bool))):
        raise ConfigError(f"{key} expects {annotation.__name__}, got {value!r}")
    return float(value) if annotation is float else value
