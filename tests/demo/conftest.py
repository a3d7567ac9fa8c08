"""The browser tests' shared fixtures: the demo served for a module's `registry`, and a page
context of Debian's chromium. Each browser test module defines `registry` itself."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from translate_demo import app
from translate_demo.testing import chromium, free_port


@pytest.fixture(scope="module")
def url(registry: Any, request: pytest.FixtureRequest) -> str:
    demo = app.build_demo(registry, device="cpu", backend="eager")
    request.addfinalizer(demo.close)
    port = free_port()
    app.launch(demo, host="127.0.0.1", port=port, block=False)
    return f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with chromium(tmp_path_factory.mktemp("profile")) as context:
        yield context
