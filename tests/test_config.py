"""Typed configs: presets, `--set` parsing, validation and documentation from comments."""

from __future__ import annotations

import dataclasses
from typing import Literal

import pytest

from translate.config import (
    TrainConfig,
    build_config,
    config_fields,
    config_from_dict,
    config_to_dict,
    field_docs,
    parse_assignments,
    parse_value,
)
from translate.errors import ConfigError


@dataclasses.dataclass(kw_only=True)
class Example(TrainConfig):
    size: int = 32  # pixels per side
    mode: Literal["a", "b"] = "a"  # which variant
    scale: float | None = None  # optional factor


PRESETS = {"starter": {"steps": 10}, "full": {"steps": 1000, "size": 64}}


def test_presets_then_overrides_parsed_by_type():
    config = build_config(Example, presets=PRESETS, preset="full",
                          overrides={"lr_g": "1e-3", "betas": "0.0,0.99", "mode": "b",
                                     "evaluate_at_end": "no", "scale": "none"})
    assert (config.steps, config.size, config.lr_g) == (1000, 64, 1e-3)
    assert config.betas == (0.0, 0.99) and config.mode == "b"
    assert config.evaluate_at_end is False and config.scale is None


@pytest.mark.parametrize(("overrides", "message"), [
    ({"sise": "3"}, r"unknown config key 'sise' \(did you mean 'size'\?\)"),
    ({"size": "big"}, r"size expects int, got 'big'"),
    ({"mode": "c"}, r"mode must be one of a, b; got 'c'"),
    ({"betas": "0.5"}, r"betas expects 2 comma-separated values"),
    ({"evaluate_at_end": "maybe"}, r"evaluate_at_end expects true or false"),
    ({"steps": "0"}, r"steps must be at least 1"),
    ({"ema_decay": "1.5"}, r"ema_decay must be below 1, got 1.5"),
    ({"lr_decay_fraction": "2"}, r"lr_decay_fraction must be at most 1, got 2"),
    ({"lr_g": "inf"}, r"lr_g must be a finite number, got inf"),
    ({"lr_g": "nan"}, r"lr_g must be a finite number, got nan"),
    ({"lr_d": "0"}, r"lr_d must be above 0, got 0"),
    ({"seed": "-1"}, r"seed must be at least 0, got -1"),
])
def test_bad_values_are_one_line_errors(overrides, message):
    with pytest.raises(ConfigError, match=message) as error:
        build_config(Example, presets=PRESETS, overrides=overrides)
    assert "\n" not in str(error.value)


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(ConfigError, match="unknown preset 'huge'; choose from starter, full"):
        build_config(Example, presets=PRESETS, preset="huge")


def test_assignments_need_an_equals_sign():
    assert parse_assignments(["a=1", "b = x=y"]) == {"a": "1", "b": "x=y"}
    with pytest.raises(ConfigError, match="--set expects key=value, got 'steps'"):
        parse_assignments(["steps"])


def test_json_round_trip_keeps_tuples_and_checks_types():
    config = build_config(Example, presets=PRESETS)
    assert config_from_dict(Example, config_to_dict(config)) == config
    with pytest.raises(ConfigError, match="steps expects int, got True"):
        config_from_dict(Example, {"steps": True})


def test_every_field_is_documented_by_its_comment():
    docs = field_docs(Example)
    assert docs["size"] == "pixels per side"
    assert docs["steps"].startswith("optimisation steps")
    assert all(docs.get(f.name) for f in config_fields(Example))


def test_parse_value_of_plain_strings():
    assert parse_value("hello", str) == "hello"
