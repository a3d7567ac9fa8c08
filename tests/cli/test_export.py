"""`translate export` and `--backend`: the generator to ONNX, checked; infer through an engine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pluggy
import pytest
import torch
from PIL import Image

from support.translators import FillTranslator, InvertTranslator
from translate.cli import BACKENDS, main
from translate.inference.backends import BACKENDS as ENGINE_BACKENDS
from translate.plugins import ENTRY_POINT_GROUP, Registry

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")


def registry() -> Registry:
    return Registry(pluggy.PluginManager(ENTRY_POINT_GROUP), translators={
        "invert": InvertTranslator, "fill": FillTranslator}, sources={}, importers={})


@pytest.fixture
def weights(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    return InvertTranslator(InvertTranslator.make_config("starter")).save_pretrained(
        tmp_path / "invert")


def test_the_cli_names_the_engines_the_engine_module_has() -> None:
    assert BACKENDS == ENGINE_BACKENDS  # repeated there so --help imports no torch


def test_the_demo_offers_every_engine_but_compile() -> None:
    from translate_demo.plugin import DEMO_BACKENDS

    assert tuple(name for name in ENGINE_BACKENDS if name != "compile") == DEMO_BACKENDS


def test_export_writes_a_checked_onnx_file(weights: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "invert.onnx"
    code = main(["export", "invert", "--weights", str(weights), "--out", str(out)], registry())
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert out.is_file() and "matches PyTorch within" in captured.out
    import onnxruntime

    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    image = np.random.default_rng(0).uniform(-1, 1, (3, 3, 21, 13)).astype(np.float32)
    got = session.run(None, {session.get_inputs()[0].name: image})[0]
    np.testing.assert_allclose(got, -image, atol=1e-5)  # the generator is minus identity


def test_a_translator_without_export_inputs_is_refused_in_one_line(tmp_path: Path,
                                                                    capsys) -> None:
    torch.manual_seed(0)
    folder = FillTranslator(FillTranslator.make_config("starter")).save_pretrained(tmp_path / "f")
    code = main(["export", "fill", "--weights", str(folder)], registry())
    err = capsys.readouterr().err
    error = err.splitlines()[-1]
    assert code == 1 and error.startswith("error: ") and "cannot be exported" in error


@pytest.mark.parametrize(("backend", "told"), [
    ("eager", None), ("onnxruntime", "engine G: onnxruntime (asked for)")])
def test_infer_through_an_engine_gives_the_same_pixels(weights: Path, tmp_path: Path,
                                                        backend: str, told: str | None,
                                                        monkeypatch, capsys) -> None:
    monkeypatch.setenv("TRANSLATE_HOME", str(tmp_path / "home"))
    pixels = np.random.default_rng(1).integers(0, 256, (19, 23, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "in.png")
    code = main(["infer", "invert", str(tmp_path / "in.png"), "--weights", str(weights),
                 "--backend", backend, "--out", str(tmp_path / backend)], registry())
    assert code == 0
    out = np.asarray(Image.open(tmp_path / backend / "in.png"))
    np.testing.assert_array_equal(out, 255 - pixels)
    engines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("engine")]
    assert engines == ([told] if told else [])  # eager is the network itself: nothing built
