"""Every test, the host's and each plugin's, runs offline with its own TRANSLATE_HOME.

A training run in a test must never become the "latest run" that `translate infer` would
pick up afterwards, nor reach the network."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import pytest

# Set before anything imports huggingface_hub or gradio, which read these once.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# Module- and session-scoped fixtures run before the per-test home below exists; they get
# this session's own home, never the user's ~/.cache/gan-translate.
os.environ["TRANSLATE_HOME"] = tempfile.mkdtemp(prefix="translate-tests-")
atexit.register(shutil.rmtree, os.environ["TRANSLATE_HOME"], ignore_errors=True)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    home = tmp_path_factory.mktemp("translate-home")
    monkeypatch.setenv("TRANSLATE_HOME", str(home))
    monkeypatch.delenv("TRANSLATE_DISABLE_PLUGINS", raising=False)
    return home
