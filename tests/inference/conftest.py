"""One cache folder per test session, so each tiny network is exported once for all tests."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="session")
def inference_cache(tmp_path_factory: pytest.TempPathFactory):
    return tmp_path_factory.mktemp("inference-cache")


@pytest.fixture(scope="session")
def exported_rrdbnet(inference_cache):
    """(net, path): the tiny RRDBNet exported once, through the ONNX Runtime engine's cache,
    for every test that needs an export (each costs ~5 CPU seconds)."""
    pytest.importorskip("onnxscript", reason="ONNX export needs onnxscript (gan-translate[fast])")
    pytest.importorskip("onnxruntime", reason="the ONNX Runtime engine is not installed")
    from support.inference_nets import NETS
    from translate.inference.backends import EVENTS, compile_for_inference

    build, example, _ = NETS["rrdbnet"]
    net = build()
    before = EVENTS["export"]
    compile_for_inference(net, device="cpu", backend="onnxruntime", example=torch.rand(example),
                          cache_dir=inference_cache)
    assert EVENTS["export"] == before + 1
    (path,) = (inference_cache / "onnx").glob("RRDBNet-*.onnx")
    return net, path
