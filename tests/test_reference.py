"""docs/reference.md is generated from translate.__all__, documents every name, and is current."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import translate

TOOL = Path(__file__).resolve().parents[1] / "tools" / "host_reference.py"


def tool():
    spec = importlib.util.spec_from_file_location("host_reference", TOOL)
    module = importlib.util.module_from_spec(spec)
    sys.modules["host_reference"] = module
    spec.loader.exec_module(module)
    return module


def test_the_public_list_and_all_agree_and_every_name_imports() -> None:
    assert sorted(translate.__all__) == sorted([*translate._PUBLIC, "__version__"])
    for name in translate._PUBLIC:
        assert getattr(translate, name) is not None


def test_every_public_name_has_a_one_line_summary() -> None:
    assert tool().undocumented() == []


def test_the_reference_page_is_up_to_date() -> None:
    assert tool().PAGE.read_text() == tool().render(), "run python tools/host_reference.py"
