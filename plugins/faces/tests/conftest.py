"""Every faces test runs offline with its own TRANSLATE_HOME: training in a test must not
become the "latest run" that `translate infer faces` would pick up afterwards."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    home = tmp_path_factory.mktemp("translate-home")
    monkeypatch.setenv("TRANSLATE_HOME", str(home))
    monkeypatch.delenv("TRANSLATE_DISABLE_PLUGINS", raising=False)
    return home
