"""Checkouts of reference implementations, for tests that compare our networks with theirs.

`TRANSLATE_REFERENCES` names a folder of checkouts called `owner+name` (`xinntao+Real-ESRGAN`),
or `owner+name@ref` for a tag or commit other than the default branch's
(`xinntao+ESRGAN@old-arch`); several folders may be joined by the path separator (':').
A test asking for one that is not there is skipped, saying so. Reference code is only ever
imported by tests and benches, never by the package, and never edited or vendored.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ENV = "TRANSLATE_REFERENCES"


def reference_checkout(repo: str, ref: str | None = None) -> Path:
    """The checkout of `repo` ("owner/name") at `ref` (default branch if None), or skip."""
    roots = [Path(p) for p in os.environ.get(ENV, "").split(os.pathsep) if p]
    label = repo + (f"@{ref}" if ref else "")
    if not roots:
        pytest.skip(f"{ENV} is unset, so there is no {label} checkout to compare with")
    for root in roots:
        folder = root / label.replace("/", "+")
        if folder.is_dir():
            return folder
    pytest.skip(f"no {label} checkout under {ENV}={os.pathsep.join(map(str, roots))} "
                f"(looked for {label.replace('/', '+')}/)")


def load_reference_module(path: Path, name: str) -> types.ModuleType:
    """Import one file of a checkout under a name of our choosing.

    References often have several files called models.py; loading each by path under a
    distinct name keeps them apart and leaves sys.path alone. Imports the file makes of
    its own project must already be in sys.modules (stub them with monkeypatch).
    """
    if not path.is_file():
        pytest.skip(f"{path} is missing from the reference checkout")
    try:
        return load_file(name, path)
    except BaseException:
        sys.modules.pop(name, None)
        raise


@contextmanager
def isolated_imports() -> Iterator[None]:
    """Whatever is imported (or stubbed) inside is forgotten afterwards, so reference
    packages and their stand-ins never leak into other tests."""
    before = dict(sys.modules)
    try:
        yield
    finally:
        for name in set(sys.modules) - set(before):
            del sys.modules[name]
        sys.modules.update(before)


def stub_package(name: str, folder: Path | None = None, **attributes: Any) -> types.ModuleType:
    """Put a module `name` into sys.modules whose submodules are read from `folder`,
    without running the package's `__init__.py` (which often imports half the project)."""
    module = types.ModuleType(name)
    module.__path__ = [str(folder)] if folder is not None else []
    for key, value in attributes.items():
        setattr(module, key, value)
    sys.modules[name] = module
    return module


def load_file(name: str, path: Path) -> types.ModuleType:
    """Import the file `path` as module `name` (which may sit inside a stubbed package)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def functions_from(path: Path, names: tuple[str, ...], namespace: dict[str, Any]) -> dict[str, Any]:
    """Only the top-level functions `names` of the file at `path`, run in `namespace`.

    For reference modules whose other imports cannot be satisfied (CUDA extensions): the
    functions we need still run the reference's own code.
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    wanted = [node for node in tree.body
              if isinstance(node, ast.FunctionDef) and node.name in names]
    missing = set(names) - {node.name for node in wanted}
    assert not missing, f"{path} has no {', '.join(sorted(missing))}"
    exec(compile(ast.Module(body=wanted, type_ignores=[]), str(path), "exec"), namespace)
    return {name: namespace[name] for name in names}


LOG_ENV = "TRANSLATE_REFERENCE_LOG"


def max_difference(ours: Any, theirs: Any) -> float:
    """max |ours - theirs| over two tensors, recorded for bench/reference_differences.py.

    With `TRANSLATE_REFERENCE_LOG` set, each call appends the running test's id and the
    figure to that file (JSON lines), so the closing figures come from the very comparisons
    the tests assert on.
    """
    difference = float((ours.float() - theirs.float()).abs().max())
    if log := os.environ.get(LOG_ENV):
        with open(log, "a", encoding="utf-8") as out:
            test = os.environ.get("PYTEST_CURRENT_TEST", "?").rsplit(" ", 1)[0]
            out.write(json.dumps({"test": test, "difference": difference}) + "\n")
    return difference
