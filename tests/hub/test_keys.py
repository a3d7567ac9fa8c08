"""translate.hub.keys: key layouts as data rename both ways, detect, and name the nearest fit."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from translate.errors import WeightsError
from translate.hub.keys import (
    KeyLayout,
    KeyLayouts,
    State,
    indices,
    key_renamer,
    rename_keys,
    shape_at,
)


class Toy(nn.Module):
    """A stem conv, `blocks` convs and a head: enough shape to read arguments from."""

    def __init__(self, *, features: int = 4, blocks: int = 2, mode: str = "a") -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, features, 3)
        self.body = nn.ModuleList(nn.Conv2d(features, features, 3) for _ in range(blocks))
        self.head = nn.Conv2d(features, 3, 3)


def toy_arguments(ours: State) -> dict[str, Any]:
    return {"features": shape_at(ours, "stem.weight", 0, 4),
            "blocks": max(indices(ours, r"body\.(\d+)\."), default=-1) + 1, "mode": "a"}


THEIR_RULES = (("first.", "stem."), ("trunk.{n}.conv.", "body.{n}."), ("last", "head"))
LAYOUTS = KeyLayouts({
    "ours": KeyLayout(arch="toy", network=Toy, label="Toy", marker=r"stem\.",
                      arguments=toy_arguments),
    "theirs": KeyLayout(arch="toy", network=Toy, label="Theirs", marker=r"first\.",
                        arguments=toy_arguments, rules=THEIR_RULES),
}, unknown="not a Toy checkpoint")


def theirs(state: State) -> dict[str, torch.Tensor]:
    return rename_keys(state, THEIR_RULES, reverse=True)


def test_templates_rename_both_ways_and_keep_the_rest_of_the_key() -> None:
    to_ours, to_theirs = key_renamer(THEIR_RULES), key_renamer(THEIR_RULES, reverse=True)
    assert to_ours("trunk.12.conv.weight") == "body.12.weight"
    assert to_theirs("body.12.bias") == "trunk.12.conv.bias"
    assert to_ours("last.weight") == "head.weight"
    assert to_ours("lastly.weight") == "lastly.weight"  # a template ends at a segment's end
    assert to_ours("unknown.weight") == "unknown.weight"


def test_shapes_and_indices_are_read_with_defaults() -> None:
    state = Toy(features=6, blocks=3).state_dict()
    assert shape_at(state, "stem.weight", 0, 1) == 6
    assert shape_at(state, "stem.bias", 3, 1) == 1 and shape_at(state, "missing", 0, 7) == 7
    assert indices(state, r"body\.(\d+)\.") == {0, 1, 2}
    assert indices(state, r"body\.(\d+)\.", ndim=1) == {0, 1, 2}  # the biases


def test_detect_reads_the_arguments_of_either_layout() -> None:
    state = Toy(features=6, blocks=3).state_dict()
    for file in (state, theirs(state)):
        fit = LAYOUTS.detect(file)
        assert fit is not None and (fit.arch, fit.arguments) == ("toy", toy_arguments(state))
        assert LAYOUTS.filter(file, "toy").keys() == state.keys()
    assert LAYOUTS.layout_of(theirs(state)) == "theirs" and LAYOUTS.layout_of({}) is None


def test_given_arguments_override_and_foreign_ones_are_the_users_mistake() -> None:
    state = Toy().state_dict()
    assert LAYOUTS.detect(state, mode="b").arguments["mode"] == "b"
    assert LAYOUTS.detect(state, mode=None).arguments["mode"] == "a"
    with pytest.raises(WeightsError, match="colour does not apply: this file is a toy "
                                           "checkpoint in Toy names"):
        LAYOUTS.detect(state, colour="red")


def test_a_file_that_does_not_fit_names_its_first_bad_key_in_its_own_names() -> None:
    state = theirs(Toy().state_dict())
    del state["last.bias"]
    assert LAYOUTS.detect(state) is None
    assert LAYOUTS.misfit(state) == ("a toy checkpoint in Theirs names that does not fit: "
                                     "missing key 'last.bias'")


def test_a_file_no_marker_claims_is_compared_with_every_layout() -> None:
    state = {key.replace("stem.", "begin."): value for key, value in Toy().state_dict().items()}
    nearness, line = LAYOUTS.closest(state)
    assert 0 < nearness < 1
    assert line.startswith("not a Toy checkpoint; closest match: toy with Toy keys "
                           "(features=4, blocks=2, mode=a); first key that differs: ")


def test_a_layout_check_refuses_what_the_shapes_cannot_show() -> None:
    def needs_mode(ours: State, given: dict[str, Any]) -> tuple[str, str] | None:
        return None if "mode" in given else ("head.weight", "say which mode")

    layouts = KeyLayouts({"ours": KeyLayout(arch="toy", network=Toy, label="Toy",
                                            marker=r"stem\.", arguments=toy_arguments,
                                            check=needs_mode)}, unknown="not a Toy")
    state = Toy().state_dict()
    assert layouts.detect(state) is None and layouts.misfit(state).endswith("say which mode")
    assert layouts.detect(state, mode="a") is not None


def test_filter_refuses_an_unknown_architecture() -> None:
    with pytest.raises(ValueError, match="unknown architecture 'nope'; known: toy"):
        LAYOUTS.filter({}, "nope")
