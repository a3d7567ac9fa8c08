"""Fixtures shared by the host's tests.

The host's tests never depend on the plugins installed next to it: every test here runs
with them blocked (`TRANSLATE_DISABLE_PLUGINS`), so it sees the host's own parts and the
test-only plugins it installs itself (`install_plugin`, `test_translators`), whether the
built-in translators are installed, broken or absent. tests/demo, tests/reliability and
tests/integration drive the installed translators and the demo on purpose.
"""

from __future__ import annotations

import itertools
import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support.plugin import ENTRY_POINT, installed_plugins
from translate.plugins import DISABLE_ENV, get_registry

TESTS = Path(__file__).resolve().parent
USES_INSTALLED_PLUGINS = {"demo", "reliability", "integration"}
installed_plugins()  # pinned now, before a test installs plugins of its own
_counter = itertools.count()


@pytest.fixture(autouse=True)
def only_host_plugins(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
                      isolated_home: Path) -> Iterator[None]:
    """Block the installed plugins (after `isolated_home`, which clears the variable).

    The process-wide registry is cached, so it is dropped on both sides of every test: a
    registry loaded with the plugins blocked must never serve a test that drives them.
    """
    get_registry.cache_clear()
    if request.path.relative_to(TESTS).parts[0] not in USES_INSTALLED_PLUGINS:
        monkeypatch.setenv(DISABLE_ENV, ",".join(sorted(installed_plugins())))
    yield
    get_registry.cache_clear()


def write_distribution(site: Path, name: str, entry_point: str, module: str) -> None:
    """A .dist-info in `site` whose `translate` entry point `entry_point` is `module`."""
    info = site / f"{name.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[translate]\n{entry_point} = {module}\n")


@pytest.fixture
def install_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """install_plugin(source, entry_point=...) -> the unique module name it was installed as."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))

    def install(source: str, *, entry_point: str, distribution: str | None = None) -> str:
        module = f"fake_plugin_{next(_counter)}"
        (site / f"{module}.py").write_text(textwrap.dedent(source))
        write_distribution(site, distribution or f"fake-{module}", entry_point, module)
        return module

    return install


@pytest.fixture
def test_translators(only_host_plugins: None, monkeypatch: pytest.MonkeyPatch,
                     tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The test-only translators (tests/support/plugin.py) installed as a plugin.

    `load_plugins()` finds them in this process; the environment returned is this one with
    the plugin and tests/support on PYTHONPATH, for `translate` subprocesses.
    """
    site = tmp_path_factory.mktemp("site")
    write_distribution(site, "translate-test-translators", ENTRY_POINT, "support.plugin")
    monkeypatch.syspath_prepend(str(site))
    path = [str(site), str(TESTS), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
