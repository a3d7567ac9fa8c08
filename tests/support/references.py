"""Where tests find reference implementations, which are never part of this repository.

`TRANSLATE_REFERENCES` names a folder holding `owner+name/` checkouts (or several such
folders joined by the platform's path separator, ':' on Linux). A test that needs one
calls `reference_checkout`, which skips it, saying what is missing, when the variable is
unset or the checkout absent.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

VARIABLE = "TRANSLATE_REFERENCES"


def reference_checkout(repo: str) -> Path:
    """The checkout of `repo` ("owner/name"), or skip the calling test."""
    roots = [Path(p) for p in os.environ.get(VARIABLE, "").split(os.pathsep) if p]
    if not roots:
        pytest.skip(f"{VARIABLE} is unset; it names a folder of owner+name/ checkouts "
                    f"(here: {repo.replace('/', '+')})")
    for root in roots:
        checkout = root / repo.replace("/", "+")
        if checkout.is_dir():
            return checkout
    pytest.skip(f"{repo} is not checked out in {VARIABLE} "
                f"({os.pathsep.join(map(str, roots))}); expected {repo.replace('/', '+')}/")


def load_reference_module(path: Path, name: str) -> ModuleType:
    """Import one file of a checkout under a name of our choosing.

    References often have several files called models.py; loading each by path under a
    distinct name keeps them apart and leaves sys.path alone. Imports the file makes of
    its own project must already be in sys.modules (stub them with monkeypatch).
    """
    if not path.is_file():
        pytest.skip(f"{path} is missing from the reference checkout")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
