"""Inference engines: each exact one reproduces eager fp32 within 1e-4 at any size, the bf16
ones within BF16_TOLERANCE and only when asked for; caches are reused; `auto` falls back to
eager when nothing else is installed or exact."""

from __future__ import annotations

import pytest
import torch

from support.inference_nets import NETS, tiny_rrdbnet
from translate.errors import ConfigError, TranslateError
from translate.inference import backends
from translate.inference.backends import (
    BF16_ENGINES,
    BF16_TOLERANCE,
    CPU_ORDER,
    EVENTS,
    TOLERANCE,
    NotBuilt,
    compile_for_inference,
    weights_key,
)


def _arches(*fast: str):
    return [pytest.param(name, marks=[pytest.mark.slow] * (name not in fast)) for name in NETS]


def _assert_matches(runner, net, sizes, tolerance=TOLERANCE) -> list[float]:
    """Checks `runner` against eager at each size; returns the max |difference| of each."""
    generator = torch.Generator().manual_seed(0)
    differences = []
    for shape in sizes:
        images = torch.rand(shape, generator=generator) * 2 - 1
        with torch.no_grad():
            expected = net(images)
        got = runner(images)
        assert got.shape == expected.shape
        assert got.dtype == torch.float32 and got.is_contiguous()
        differences.append(float((got - expected).abs().max()))
        assert differences[-1] < tolerance, shape
    return differences


def _needs(backend: str) -> None:
    if not backends.available(backend):
        pytest.skip(f"{backend} is not installed (gan-translate[{backends.EXTRAS[backend]}])")


def _needs_amx() -> None:
    if not backends.has_amx():
        pytest.skip("this CPU has no AMX, so the bf16 engines are refused here")


# ---- always: eager, channels_last, the fallbacks -----------------------------------------------

def test_eager_is_the_network_itself(tmp_path):
    net = tiny_rrdbnet().train()
    runner = compile_for_inference(net, device="cpu", backend="eager",
                                   example=torch.rand(1, 3, 8, 8), cache_dir=tmp_path)
    assert (runner.name, runner.max_abs_diff) == ("eager", 0.0)
    assert not net.training
    images = torch.rand(2, 3, 11, 7)
    with torch.no_grad():
        assert torch.equal(runner(images), net(images))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", _arches("rrdbnet"))
def test_channels_last_matches_eager(name, tmp_path):
    build, example, sizes = NETS[name]
    net = build()
    runner = compile_for_inference(net, device="cpu", backend="channels_last",
                                   example=torch.rand(example), cache_dir=tmp_path)
    assert runner.name == "channels_last"
    _assert_matches(runner, net, sizes)
    assert next(net.parameters()).is_contiguous()  # the caller's network is untouched


def test_auto_falls_back_to_eager_when_nothing_else_is_exact(exported_rrdbnet, inference_cache,
                                                             monkeypatch):
    monkeypatch.setattr(backends, "available", lambda backend: backend == "onnxruntime")
    net = tiny_rrdbnet()
    example = torch.rand(1, 3, 8, 8)
    # The shared export: the engine is built, and then fails the (impossible) tolerance.
    runner = compile_for_inference(net, device="cpu", example=example,
                                   cache_dir=inference_cache, tolerance=-1.0)
    assert runner.name == "eager"
    assert "openvino not installed" in runner.reason
    assert "onnxruntime: " in runner.reason and "differs from eager by" in runner.reason
    _assert_matches(runner, net, [(2, 3, 9, 13)])


def test_auto_without_the_fast_extra_stays_eager(tmp_path, monkeypatch):
    # channels_last is never chosen by auto (0.82x on resnet_9blocks at 256).
    monkeypatch.setattr(backends, "available", lambda backend: False)
    runner = compile_for_inference(tiny_rrdbnet(), device="cpu", example=torch.rand(1, 3, 8, 8),
                                   cache_dir=tmp_path)
    assert runner.name == "eager"
    assert runner.reason.startswith("auto: ")
    assert "onnxruntime not installed; openvino not installed" in runner.reason


def test_cuda_stays_eager(tmp_path):
    runner = compile_for_inference(tiny_rrdbnet(), device="cuda", example=torch.rand(1, 3, 8, 8),
                                   cache_dir=tmp_path)
    assert runner.name == "eager" and runner.reason.startswith("cuda: ")
    with pytest.raises(ConfigError, match="backend onnxruntime runs on the CPU"):
        compile_for_inference(tiny_rrdbnet(), device="cuda", backend="onnxruntime",
                              example=torch.rand(1, 3, 8, 8), cache_dir=tmp_path)


def test_unknown_and_missing_backends_are_named(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="must be one of auto, eager, channels_last"):
        compile_for_inference(tiny_rrdbnet(), device="cpu", backend="tensorrt",
                              example=torch.rand(1, 3, 8, 8), cache_dir=tmp_path)
    monkeypatch.setattr(backends, "available", lambda backend: False)
    monkeypatch.setattr(backends.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ConfigError, match=r"backend openvino needs openvino, onnxscript: pip "
                                          r"install 'gan-translate\[openvino\]'$"):
        compile_for_inference(tiny_rrdbnet(), device="cpu", backend="openvino",
                              example=torch.rand(1, 3, 8, 8), cache_dir=tmp_path)


def test_the_key_sees_weights_and_plain_attributes():
    net = tiny_rrdbnet()
    key = weights_key(net)
    assert weights_key(tiny_rrdbnet()) == key
    net.residual_scale = 1.0
    assert weights_key(net) != key
    other = tiny_rrdbnet()
    with torch.no_grad():
        other.conv_first.weight[0, 0, 0, 0] += 1e-7
    assert weights_key(other) != key


# ---- ONNX engines -------------------------------------------------------------------------------

def test_onnxruntime_matches_eager_and_reuses_its_export(exported_rrdbnet, inference_cache):
    net, path = exported_rrdbnet  # built through compile_for_inference(backend="onnxruntime")
    stamp = path.stat().st_mtime_ns
    exports, checks = EVENTS["export"], EVENTS["check"]
    # A second build (the next process, say) finds the file and the check's record.
    build, example, sizes = NETS["rrdbnet"]
    runner = compile_for_inference(build(), device="cpu", backend="onnxruntime",
                                   example=torch.rand(example), cache_dir=inference_cache)
    assert runner.name == "onnxruntime" and runner.max_abs_diff < 1e-4
    assert (EVENTS["export"], EVENTS["check"]) == (exports, checks)
    assert path.stat().st_mtime_ns == stamp
    assert len(list(path.parent.glob("RRDBNet-*.onnx"))) == 1
    _assert_matches(runner, net, sizes)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["resnet", "unet"])
def test_onnxruntime_matches_eager_for_every_architecture(name, tmp_path):
    _needs("onnxruntime")
    build, example, sizes = NETS[name]
    net = build()
    runner = compile_for_inference(net, device="cpu", backend="onnxruntime",
                                   example=torch.rand(example), cache_dir=tmp_path)
    _assert_matches(runner, net, sizes)


@pytest.mark.slow
def test_new_weights_get_a_new_export(inference_cache):
    _needs("onnxruntime")
    net = tiny_rrdbnet()
    with torch.no_grad():
        net.conv_last.bias.add_(0.5)
    before = EVENTS["export"]
    runner = compile_for_inference(net, device="cpu", backend="onnxruntime",
                                   example=torch.rand(1, 3, 16, 16), cache_dir=inference_cache)
    assert EVENTS["export"] == before + 1
    _assert_matches(runner, net, [(1, 3, 10, 12)])


def test_auto_takes_onnxruntime_when_installed(exported_rrdbnet, inference_cache):
    runner = compile_for_inference(tiny_rrdbnet(), device="cpu", example=torch.rand(1, 3, 16, 16),
                                   cache_dir=inference_cache)
    assert runner.name == "onnxruntime"
    assert runner.reason == "auto: fastest exact engine for RRDBNet on this CPU"


@pytest.mark.parametrize("engine", ["openvino", "openvino_bf16"])
def test_openvino_runs_the_same_export(engine, exported_rrdbnet, inference_cache):
    _needs("openvino")
    bf16 = engine in BF16_ENGINES
    if bf16:
        _needs_amx()
    net, _ = exported_rrdbnet
    exports = EVENTS["export"]
    _, example, sizes = NETS["rrdbnet"]
    runner = compile_for_inference(net, device="cpu", backend=engine,
                                   example=torch.rand(example), cache_dir=inference_cache)
    assert runner.name == engine and EVENTS["export"] == exports
    differences = _assert_matches(runner, net, sizes,
                                  tolerance=BF16_TOLERANCE if bf16 else TOLERANCE)
    if bf16:  # beyond fp32's tolerance: OpenVINO was really told bf16
        assert min(differences) > TOLERANCE


@pytest.mark.slow
def test_an_unexportable_network_falls_back_under_auto(tmp_path):
    _needs("onnxruntime")
    from support.inference_nets import BranchingNet

    runner = compile_for_inference(BranchingNet(), device="cpu", example=torch.rand(1, 3, 8, 8),
                                   cache_dir=tmp_path)
    assert runner.name == "eager"
    assert "data-dependent control flow" in runner.reason


# ---- the bf16 engines: close, not exact, and only when asked for ---------------------------------

def test_auto_never_takes_an_inexact_engine():
    assert not {engine for order in CPU_ORDER.values() for engine in order} & set(BF16_ENGINES)


@pytest.mark.parametrize("name", _arches("rrdbnet", "resnet"))
def test_bf16_is_close_to_eager_and_really_in_bf16(name, tmp_path):
    _needs_amx()
    build, example, sizes = NETS[name]
    net = build()
    runner = compile_for_inference(net, device="cpu", backend="bf16",
                                   example=torch.rand(example), cache_dir=tmp_path)
    assert runner.name == "bf16" and "not exact" in runner.reason
    differences = _assert_matches(runner, net, sizes, tolerance=BF16_TOLERANCE)
    # Beyond fp32's tolerance: the arithmetic is bf16, not fp32 under another name.
    assert min(differences) > TOLERANCE
    assert next(net.parameters()).dtype == torch.float32  # the caller's network is untouched


def test_bf16_is_refused_where_the_cpu_would_only_emulate_it(tmp_path, monkeypatch):
    monkeypatch.setattr(backends, "has_amx", lambda: False)
    monkeypatch.setattr(backends, "available", lambda backend: True)
    for engine in BF16_ENGINES:
        with pytest.raises(ConfigError, match=f"backend {engine} needs a CPU with AMX"):
            compile_for_inference(tiny_rrdbnet(), device="cpu", backend=engine,
                                  example=torch.rand(1, 3, 8, 8), cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_bf16_engine_beyond_its_tolerance_is_refused(tmp_path):
    _needs_amx()
    with pytest.raises(TranslateError,
                       match=r"bf16 differs from eager by .* \(more than 1e-05\)"):
        compile_for_inference(tiny_rrdbnet(), device="cpu", backend="bf16", tolerance=1e-5,
                              example=torch.rand(1, 3, 16, 16), cache_dir=tmp_path)


# ---- build=False, and Translator.runner's builds elsewhere (the demo's) -------------------------

def test_without_build_a_missing_engine_is_not_made_here(tmp_path):
    _needs("onnxruntime")
    exports = EVENTS["export"]
    with pytest.raises(NotBuilt, match="not exported yet"):
        compile_for_inference(tiny_rrdbnet(), device="cpu", example=torch.rand(1, 3, 16, 16),
                              cache_dir=tmp_path, build=False)
    assert EVENTS["export"] == exports and list(tmp_path.iterdir()) == []


def test_without_build_a_cached_engine_loads(exported_rrdbnet, inference_cache):
    exports = EVENTS["export"]
    runner = compile_for_inference(tiny_rrdbnet(), device="cpu", example=torch.rand(1, 3, 16, 16),
                                   cache_dir=inference_cache, build=False)
    assert runner.name == "onnxruntime" and EVENTS["export"] == exports


class _Build:
    def __init__(self, *, finished: bool) -> None:
        self.finished = finished

    def done(self) -> bool:
        return self.finished


def _invert_with_builds(tmp_path, build: _Build, asked: list, backend: str = "onnxruntime"):
    from support.translators import InvertTranslator

    model = InvertTranslator(InvertTranslator.make_config("starter"))

    def builder(name: str, channels: int, multiple: int) -> _Build:
        asked.append((name, channels, multiple))
        return build

    model.use_backend(backend, cache_dir=tmp_path, build_elsewhere=builder)
    return model


def test_an_engine_built_elsewhere_is_asked_for_once_and_eager_answers_meanwhile(tmp_path):
    _needs("onnxruntime")
    asked: list = []
    build = _Build(finished=False)
    model = _invert_with_builds(tmp_path, build, asked)
    exports = EVENTS["export"]
    for _ in range(3):
        assert model.runner("G", channels=3, multiple=4) is model.generators["G"]
    assert asked == [("G", 3, 4)] and EVENTS["export"] == exports


def test_a_build_elsewhere_that_left_nothing_means_eager_without_asking_again(tmp_path):
    _needs("onnxruntime")
    asked: list = []
    model = _invert_with_builds(tmp_path, _Build(finished=True), asked)
    assert model.runner("G", channels=3) is model.generators["G"]
    for _ in range(2):
        runner = model.runner("G", channels=3)
        assert runner.name == "eager" and "built elsewhere and is still missing" in runner.reason
    assert len(asked) == 1


def test_bf16_is_made_in_the_serving_process_without_a_build_elsewhere(tmp_path):
    _needs_amx()  # it is a cast and a check on a small input, nothing to export
    asked: list = []
    model = _invert_with_builds(tmp_path, _Build(finished=False), asked, backend="bf16")
    assert model.runner("G", channels=3).name == "bf16" and asked == []


# ---- torch.compile: minutes of compiling, so slow ------------------------------------------------

@pytest.mark.slow
def test_compile_matches_eager_at_new_sizes(tmp_path):
    build, example, sizes = NETS["rrdbnet"]
    net = build()
    runner = compile_for_inference(net, device="cpu", backend="compile",
                                   example=torch.rand(example), cache_dir=tmp_path)
    assert runner.name == "compile"
    _assert_matches(runner, net, sizes)
    assert (tmp_path / "inductor").is_dir()
