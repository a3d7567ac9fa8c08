"""translate.deprecation.moved: old names keep working, with one warning that names the new home."""

from __future__ import annotations

import types
import warnings

import pytest

from translate.deprecation import REMOVED_IN, moved


def old_module(names: dict) -> types.ModuleType:
    module = types.ModuleType("old_plugin.old")
    module.__getattr__ = moved(module.__name__, names)
    return module


def test_a_moved_name_is_the_new_object_and_warns_where_used() -> None:
    module = old_module({"join": "os.path.join"})
    with pytest.warns(DeprecationWarning, match=r"old_plugin\.old\.join is deprecated; use "
                      rf"os\.path\.join \(removed in gan-translate {REMOVED_IN}\)") as caught:
        value = module.join
    import os.path

    assert value is os.path.join
    assert caught[0].filename == __file__  # stacklevel points at the user's line


def test_a_stand_in_serves_an_old_call_and_names_what_to_use() -> None:
    module = old_module({"twice": (lambda x: 2 * x, "times(x, 2)")})
    with pytest.warns(DeprecationWarning, match=r"use times\(x, 2\)"):
        assert module.twice(4) == 8


def test_unknown_names_raise_attribute_error_without_warning() -> None:
    module = old_module({"join": "os.path.join"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
            _ = module.nothing
        assert not hasattr(module, "nothing")
