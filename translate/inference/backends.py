"""Running a generator fast for inference: one network, several engines, one contract.

`compile_for_inference(net, device=..., example=..., cache_dir=...)` returns a `Runner`,
a callable `(N, C, H, W) -> output` for any batch and any size the network accepts, that
says which engine it uses and why. The engines:

- `eager`: the network as PyTorch runs it, the reference every other one is checked against;
- `channels_last`: the same, with weights and activations in NHWC (oneDNN's preferred layout);
- `compile`: `torch.compile` (inductor, frozen weights), its caches on disk under
  `cache_dir/inductor`, so a machine compiles once; the first call still costs tens of
  seconds to minutes, so `auto` never picks it;
- `onnxruntime` and `openvino`: the network exported once to ONNX with dynamic batch,
  height and width (`translate.inference.export`), cached as `cache_dir/onnx/KEY.onnx`
  where KEY hashes the weights, the module attributes and the exporter's version;
- `bf16` and `openvino_bf16`: the same two ideas (PyTorch, and OpenVINO on the same ONNX
  file) computing in bfloat16 on a CPU's AMX units. They are several times faster where
  AMX exists and are not exact, so only a caller who asks for one gets it: each is checked
  against eager within BF16_TOLERANCE instead.

`auto` follows a fixed order per device and architecture, measured by
`bench/cpu_inference.py` (a timing taken at run time on a shared CPU is noise, and would
cost a full eager run of the network), and takes the first engine that is installed,
exports, and reproduces eager fp32 within 1e-4 on the example. That check runs once, when
the engine's cached file is made, and its result is kept beside it. On CUDA, `auto` is
eager: the host's bf16 and channels_last logic apply there.

Heavy modules (onnx, onnxruntime, openvino, torch._dynamo) are imported only when an
engine that needs them is built.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import importlib.util
import json
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import torch
from torch import nn

from translate.errors import ConfigError, TranslateError

BACKENDS = ("auto", "eager", "channels_last", "compile", "onnxruntime", "openvino", "bf16",
            "openvino_bf16")
TOLERANCE = 1e-4
# The bf16 engines' bound on max |engine - eager fp32| (outputs span [-1, 1] or [0, 1]).
# bf16 keeps 8 bits of mantissa, so each layer rounds at about 4e-3 relative; through the
# 20-70 layers of our big generators the worst pixel measured 3-4e-2 on random weights
# (bench/cpu_inference.py). 0.1 leaves room for that and still refuses a broken engine,
# whose overflow or garbage lands far beyond it.
BF16_TOLERANCE = 0.1
BF16_ENGINES = ("bf16", "openvino_bf16")
# From bench/cpu_inference.py on the 2-core machine (2 threads, exact within 1e-4): ONNX
# Runtime and OpenVINO are the fast exact engines (RRDBNet x4 at 64 and 128: 1.52x/1.41x
# and 1.55x/1.35x; unet_256 at 256 and 512: 1.78x/1.50x and 1.55x/1.43x; resnet_9blocks at
# 64: 3.4x and 3.6x, but at 256 and 512 only 1.05x/1.09x and 1.15x/1.35x), both start in
# about a second from their cached file. eager PyTorch already runs these convolutions at
# 43-71% of the CPU's best fp32 rate (bench/cpu_roofline.py), which bounds every exact
# engine. ONNX Runtime leads: a third of OpenVINO's install and a thread-safe session.
# torch.compile is never chosen: its first call costs minutes. channels_last is a small
# gain or none.
CPU_ORDER: dict[str, tuple[str, ...]] = {
    # channels_last is left out of auto: on resnet_9blocks at 256 it measured 0.82x.
    "default": ("onnxruntime", "openvino", "eager"),
    # A quiet run (bench/cpu_inference.py --nets resnet,unet): on resnet_9blocks OpenVINO
    # 1.15x at 256 and 1.35x at 512, ONNX Runtime 1.05x and 1.09x; on unet_256 ONNX Runtime
    # leads (1.78x and 1.50x against 1.55x and 1.43x). OpenVINO is not in [fast], so
    # without it resnet still gets ONNX Runtime.
    "ResnetGenerator": ("openvino", "onnxruntime", "eager"),
}
PACKAGES = {"onnxruntime": ("onnxruntime", "onnxscript"), "openvino": ("openvino", "onnxscript"),
            "openvino_bf16": ("openvino", "onnxscript")}
# The pip extra of gan-translate that installs them. OpenVINO has its own: 180 MB installed,
# where ONNX Runtime's [fast] is 78 MB.
EXTRAS = {"onnxruntime": "fast", "openvino": "openvino", "openvino_bf16": "openvino"}

# How many times each costly step ran in this process: tests read it to show that a
# second build reuses the cache.
EVENTS: Counter[str] = Counter()


class PendingBuild(Protocol):
    """An engine being built elsewhere (another process, say)."""

    def done(self) -> bool:
        """Whether the build has ended, with or without the engine."""


# (generator name, channels, multiple) -> the build it started: see Translator.use_backend.
EngineBuilder = Callable[[str, int, int], PendingBuild]


class NotBuilt(TranslateError):
    """The engine's files are not on disk, and this call was told not to make them."""


@dataclasses.dataclass(frozen=True)
class Runner:
    """`runner(images)` runs the network; `name` is the engine, `reason` how it was chosen."""

    name: str
    reason: str
    forward: Callable[[torch.Tensor], torch.Tensor]
    max_abs_diff: float | None = None  # against eager fp32 on the example; None: not measured

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        # (N, C, H, W) -> the network's output, fp32, contiguous, on the input's device
        return self.forward(images)


def available(backend: str) -> bool:
    """Whether the packages an engine needs are installed (importing none of them)."""
    if backend == "compile":
        return True
    return all(importlib.util.find_spec(name) is not None for name in PACKAGES.get(backend, ()))


def compile_for_inference(net: nn.Module, *, device: torch.device | str,
                          example: torch.Tensor, cache_dir: str | Path,
                          backend: str = "auto", tolerance: float | None = None,
                          build: bool = True) -> Runner:
    """A Runner for `net`, switched to eval mode, built and checked on `example`.

    `example` is one valid input (N, C, H, W); any size works afterwards, but keep it
    small: eager runs on it once per new cached file. An explicit `backend` is built or
    fails (ConfigError when its package is missing or, for a bf16 engine, the CPU has no
    AMX; ExportError when the network cannot be exported); `auto` falls back along
    its order, which holds exact engines only, and says why in `reason`. `tolerance`
    defaults to the engine's own: TOLERANCE, or BF16_TOLERANCE for the bf16 engines.

    `build=False` only loads engines already in `cache_dir` and raises NotBuilt where
    one would have to be exported or compiled first: a server uses it so that neither the
    wait nor torch.export's process-wide tracing ever happens in the serving process, and
    has the engine built elsewhere (translate_demo.engines) with the same arguments.
    """
    if backend not in BACKENDS:
        raise ConfigError(f"inference backend must be one of {', '.join(BACKENDS)}, "
                          f"not {backend!r}")
    device = torch.device(device)
    net.eval()
    if device.type != "cpu":
        if backend not in ("auto", "eager"):
            raise ConfigError(f"backend {backend} runs on the CPU; on {device.type} the "
                              "engine is eager")
        return Runner("eager", f"{device.type}: eager (the host's precision and layout "
                      "apply)", _eager(net))
    cache_dir = Path(cache_dir)
    if backend != "auto":
        if not available(backend):
            missing = [name for name in PACKAGES[backend]
                       if importlib.util.find_spec(name) is None]
            raise ConfigError(f"backend {backend} needs {', '.join(missing)}: "
                              f"pip install 'gan-translate[{EXTRAS[backend]}]'")
        if backend in BF16_ENGINES and not has_amx():
            raise ConfigError(f"backend {backend} needs a CPU with AMX (Intel Xeon 4th "
                              "generation or later); without it bf16 measured no faster than fp32")
        reason = "asked for"
        if backend in BF16_ENGINES:
            reason += ", not exact: bf16 arithmetic"
        return _build(backend, net, example, cache_dir, tolerance, reason=reason, build=build)
    order = CPU_ORDER.get(type(net).__name__, CPU_ORDER["default"])
    skipped: list[str] = []
    for candidate in order:
        if candidate in PACKAGES and not available(candidate):
            skipped.append(f"{candidate} not installed")
            continue
        try:
            runner = _build(candidate, net, example, cache_dir, tolerance, reason="",
                            build=build)
        except NotBuilt:
            # Not "skip to the next engine": the fastest one is what a build elsewhere
            # would make, and the caller decides whether to wait for it.
            raise
        except TranslateError as error:
            skipped.append(f"{candidate}: {error}")
            continue
        reason = f"auto: fastest exact engine for {type(net).__name__} on this CPU"
        if skipped:
            reason += " (" + "; ".join(skipped) + ")"
        return dataclasses.replace(runner, reason=reason)
    raise AssertionError("eager closes every order")  # pragma: no cover


def usable(backend: str) -> bool:
    """Whether `backend` can be built here: its packages installed, and AMX for bf16."""
    return available(backend) and (backend not in BF16_ENGINES or has_amx())


def has_amx() -> bool:
    """Whether this CPU has AMX, the matrix units that make bf16 inference pay."""
    # AVX-512 BF16 alone is not enough: on such a CPU OpenVINO's bf16 took 19.8 s where its
    # fp32 took 10.7 s, and bf16 autocast gained 1.09x (RRDBNet x4, ../shared/FACTS.md).
    # torch.cpu's probe is private; a PyTorch without it is taken as "no AMX".
    return bool(getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)())


def weights_key(net: nn.Module, *extra: str) -> str:
    """A hex digest naming this network exactly: class, plain attributes, every tensor.

    The plain attributes (ints, floats, bools, strings of each module) are part of it
    because they shape the graph without being weights (RRDBNet's residual scale, say).
    """
    digest = hashlib.sha256()
    digest.update(f"{type(net).__module__}.{type(net).__qualname__}".encode())
    for name, module in net.named_modules():
        plain = {key: value for key, value in vars(module).items()
                 if not key.startswith("_") and key != "training"
                 and isinstance(value, (bool, int, float, str, tuple))}
        digest.update(f"{name}:{type(module).__name__}:{sorted(plain.items())!r}".encode())
    for name, tensor in net.state_dict().items():
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    for part in extra:
        digest.update(part.encode())
    return digest.hexdigest()


# ---- the engines ------------------------------------------------------------------------------


def _build(backend: str, net: nn.Module, example: torch.Tensor, cache_dir: Path,
           tolerance: float | None, *, reason: str, build: bool = True) -> Runner:
    if backend == "eager":
        return Runner("eager", reason or "the reference", _eager(net), 0.0)
    if tolerance is None:
        tolerance = BF16_TOLERANCE if backend in BF16_ENGINES else TOLERANCE
    checks = EVENTS["check"]
    if backend == "channels_last":
        forward = _channels_last(net)
    elif backend == "bf16":
        forward = _channels_last(net, torch.bfloat16)
    elif backend == "compile":
        if not build:  # inductor's disk cache still costs a trace on each process's first call
            raise NotBuilt("compile traces and compiles in the calling process")
        forward = _compiled(net, cache_dir)
    else:
        forward = _onnx_engine(backend, net, example, cache_dir, build=build)
    difference = _checked(backend, forward, net, example, cache_dir, tolerance)
    if backend == "compile" and EVENTS["check"] == checks:
        # The check was remembered, so nothing has called the compiled graph yet: call it
        # now, so its cost falls in this build and never on a user's first request.
        forward(example)
    return Runner(backend, reason, forward, difference)


def _eager(net: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    def forward(images: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return net(images)

    return forward


def _channels_last(net: nn.Module,
                   dtype: torch.dtype = torch.float32) -> Callable[[torch.Tensor], torch.Tensor]:
    # A copy, so the caller's network keeps its layout (and its training use, if any).
    # In bf16 the weights are cast once, here, where autocast would cast every weight again
    # on every call; NHWC because oneDNN's bf16 kernels (AMX) work in it and would reorder
    # each layer's input and output otherwise.
    converted = copy.deepcopy(net).to(dtype, memory_format=torch.channels_last)

    def forward(images: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            output = converted(images.to(dtype).contiguous(memory_format=torch.channels_last))
        return output.float().contiguous()

    return forward


def _compiled(net: nn.Module, cache_dir: Path) -> Callable[[torch.Tensor], torch.Tensor]:
    # Freezing folds the weights into the graph as constants, so convolutions get
    # prepacked weights and fused activations: most of inductor's gain on the CPU.
    # dynamic=True: one graph for every size, instead of a recompilation per new shape.
    compiled = torch.compile(copy.deepcopy(net), dynamic=True, options={"freezing": True})
    EVENTS["compile"] += 1
    folder = str(cache_dir / "inductor")

    def forward(images: torch.Tensor) -> torch.Tensor:
        # Inductor compiles on a call, reading its cache folder from the environment (and
        # writing its default there on first use, so a setdefault at build time is not
        # enough); the folder is set around every call, which may compile.
        previous = os.environ.get("TORCHINDUCTOR_CACHE_DIR")
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = folder
        try:
            with torch.no_grad():
                return compiled(images)
        finally:
            if previous is None:
                del os.environ["TORCHINDUCTOR_CACHE_DIR"]
            else:
                os.environ["TORCHINDUCTOR_CACHE_DIR"] = previous

    return forward


def _onnx_engine(backend: str, net: nn.Module, example: torch.Tensor, cache_dir: Path, *,
                 build: bool = True) -> Callable[[torch.Tensor], torch.Tensor]:
    from translate.inference import export

    key = weights_key(net, torch.__version__, str(export.DEFAULT_OPSET),
                      ",".join(export.DYNAMIC_AXES), str(example.shape[1]))
    path = cache_dir / "onnx" / f"{type(net).__name__}-{key[:20]}.onnx"
    if not path.exists():
        if not build:
            raise NotBuilt(f"{path.name} is not exported yet")
        export.export_onnx(net, path, example=example)
        EVENTS["export"] += 1
    threads = torch.get_num_threads()
    if backend == "onnxruntime":
        return _onnxruntime_forward(path, threads)
    return _openvino_forward(path, threads, cache_dir,
                             precision="bf16" if backend == "openvino_bf16" else "f32")


def _onnxruntime_forward(path: Path, threads: int) -> Callable[[torch.Tensor], torch.Tensor]:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(path), options,
                                           providers=["CPUExecutionProvider"])
    EVENTS["session"] += 1
    name = session.get_inputs()[0].name

    def forward(images: torch.Tensor) -> torch.Tensor:
        # session.run is thread-safe, so one session serves concurrent demo requests.
        array = images.detach().to("cpu", torch.float32).contiguous().numpy()
        return torch.from_numpy(session.run(None, {name: array})[0])

    return forward


def _openvino_forward(path: Path, threads: int, cache_dir: Path, *,
                      precision: str) -> Callable[[torch.Tensor], torch.Tensor]:
    import openvino

    core = openvino.Core()
    core.set_property({"CACHE_DIR": str(cache_dir / "openvino")})
    # The precision is always named: on CPUs with bf16 units OpenVINO's default is bf16,
    # about 3e-2 off, which only the openvino_bf16 engine may be.
    compiled = core.compile_model(core.read_model(str(path)), "CPU", {
        "INFERENCE_PRECISION_HINT": precision, "INFERENCE_NUM_THREADS": threads,
        "PERFORMANCE_HINT": "LATENCY"})
    EVENTS["session"] += 1

    def forward(images: torch.Tensor) -> torch.Tensor:
        # An infer request is not thread-safe; a fresh one per call is cheap.
        request = compiled.create_infer_request()
        array = images.detach().to("cpu", torch.float32).contiguous().numpy()
        return torch.from_numpy(request.infer({0: array})[0].copy())

    return forward


def _checked(backend: str, forward: Callable[[torch.Tensor], torch.Tensor], net: nn.Module,
             example: torch.Tensor, cache_dir: Path, tolerance: float) -> float:
    """max |engine - eager| on the example, measured once per (engine, network, example
    shape) and remembered on disk; raises TranslateError beyond `tolerance`."""
    key = weights_key(net, backend, torch.__version__, str(tuple(example.shape)))
    record = cache_dir / "checks" / f"{type(net).__name__}-{key[:20]}.json"
    difference: float | None = None
    if record.exists():
        try:
            difference = float(json.loads(record.read_text())["max_abs_diff"])
        except (ValueError, KeyError, TypeError):
            difference = None
    if difference is None:
        with torch.no_grad():
            expected = net(example).float()
        got = forward(example).float()
        EVENTS["check"] += 1
        if got.shape != expected.shape:
            raise TranslateError(f"{backend} gives {tuple(got.shape)} where eager gives "
                                 f"{tuple(expected.shape)}")
        difference = float((got - expected).abs().max())
        record.parent.mkdir(parents=True, exist_ok=True)
        temporary = record.with_suffix(".tmp")
        temporary.write_text(json.dumps({"backend": backend, "max_abs_diff": difference,
                                         "example": list(example.shape)}))
        os.replace(temporary, record)
    if not difference <= tolerance:
        raise TranslateError(f"{backend} differs from eager by {difference:.2e} "
                             f"(more than {tolerance:g})")
    return difference
