"""gan-translate's pytest plugin: every test offline, with a TRANSLATE_HOME of its own.

pytest loads it for any project once gan-translate is installed (entry point `pytest11`),
so a third-party plugin's tests are isolated without a conftest: a training run in a test
never becomes the "latest" weights that `translate infer` would pick up afterwards, and
nothing reaches the network. `-p no:translate` turns it off.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1",
           "GRADIO_ANALYTICS_ENABLED": "False",
           # Tests run networks through PyTorch unless they ask for an engine: building one
           # (an ONNX export) costs more than a test should.
           "TRANSLATE_BACKEND": "eager"}


def pytest_configure(config: pytest.Config) -> None:
    # Before any test module imports huggingface_hub or gradio, which read these once.
    for name, value in OFFLINE.items():
        os.environ.setdefault(name, value)
    # Module- and session-scoped fixtures run before the per-test home exists; they get
    # this session's own home, never the user's ~/.cache/gan-translate.
    home = tempfile.mkdtemp(prefix="translate-tests-")
    config.add_cleanup(lambda: shutil.rmtree(home, ignore_errors=True))
    os.environ["TRANSLATE_HOME"] = home


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """This test's own TRANSLATE_HOME; plugins are enabled as installed."""
    home = tmp_path_factory.mktemp("translate-home")
    monkeypatch.setenv("TRANSLATE_HOME", str(home))
    monkeypatch.delenv("TRANSLATE_DISABLE_PLUGINS", raising=False)
    return home
