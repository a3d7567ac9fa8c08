"""Install throwaway plugins the way pip would: a module plus a .dist-info with entry points."""

from __future__ import annotations

import itertools
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

_counter = itertools.count()


@pytest.fixture
def install_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """install_plugin(source, entry_point=...) -> the unique module name it was installed as."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))

    def install(source: str, *, entry_point: str, distribution: str | None = None) -> str:
        module = f"fake_plugin_{next(_counter)}"
        (site / f"{module}.py").write_text(textwrap.dedent(source))
        name = distribution or f"fake-{module}"
        info = site / f"{name.replace('-', '_')}-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
        (info / "entry_points.txt").write_text(f"[translate]\n{entry_point} = {module}\n")
        return module

    return install
