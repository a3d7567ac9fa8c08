"""The demo's fast path: a model's engine is built by a child process while eager PyTorch
answers, then loaded by the server, which never exports anything itself."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from gradio_client import handle_file
from PIL import Image

from support.translators import InvertTranslator
from translate.inference.backends import EVENTS
from translate.paths import translate_home
from translate_demo.testing import demo_client

pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")


def test_the_engine_is_built_in_a_child_and_then_serves(tmp_path: Path) -> None:
    pytest.importorskip("onnxscript", reason="ONNX export needs onnxscript (gan-translate[fast])")
    pytest.importorskip("onnxruntime", reason="the ONNX Runtime engine is not installed")
    weights = InvertTranslator(InvertTranslator.make_config("starter")).save_pretrained(
        tmp_path / "weights")
    pixels = np.random.default_rng(0).integers(0, 256, (24, 40, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "photo.png")
    engines = translate_home() / "cache" / "inference"
    exports, sessions = EVENTS["export"], EVENTS["session"]
    with demo_client({"invert": InvertTranslator}, weights={"invert": weights},
                     downloads=tmp_path / "downloads", backend="onnxruntime") as client:

        def inverted() -> np.ndarray:
            path = client.predict(handle_file(str(tmp_path / "photo.png")), api_name="/invert")
            return np.asarray(Image.open(path))

        # The first request is answered at once, by eager PyTorch; a child builds the engine,
        # and the requests after its end load it: one session here, and no export here.
        assert np.array_equal(inverted(), 255 - pixels)
        deadline = time.monotonic() + 240
        while EVENTS["session"] == sessions:
            logs = "".join(p.read_text() for p in (engines / "logs").glob("*.log"))
            assert time.monotonic() < deadline, f"no engine after 240 s; the child said: {logs}"
            time.sleep(0.5)
            assert np.array_equal(inverted(), 255 - pixels)
        assert list((engines / "checks").glob("Conv2d-*.json"))
        assert len(list((engines / "onnx").glob("Conv2d-*.onnx"))) == 1
        for _ in range(2):
            assert np.array_equal(inverted(), 255 - pixels)
        assert EVENTS["session"] == sessions + 1
        assert EVENTS["export"] == exports
