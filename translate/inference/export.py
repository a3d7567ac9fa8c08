"""ONNX export of a generator, with dynamic batch, height and width, and its check.

The exporter is PyTorch's own (`torch.onnx.export(dynamo=True)`, built on `torch.export`):
the TorchScript-based one is deprecated, and it traces a single path through Python
control flow silently, while `torch.export` refuses data-dependent branches, which is
the refusal a user needs. It needs the `onnx` and `onnxscript` packages; checking needs
`onnxruntime`. All three are imported here, inside the functions, so the CLI's start-up
never pays for them.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import sys
import tempfile
import traceback
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import torch
from torch import nn

from translate.errors import TranslateError

DYNAMIC_AXES = ("batch", "height", "width")
AXIS_INDEX = {"batch": 0, "height": 2, "width": 3}
# The lowest opset the dynamo exporter writes; every ONNX Runtime since 1.14 and OpenVINO
# since 2023 read it.
DEFAULT_OPSET = 18
TOLERANCE = 1e-4
INPUT_NAME, OUTPUT_NAME = "images", "output"
# ONNX metadata keys: the sizes the exported graph is valid for, as torch.export proved.
RANGES_KEY = "gan_translate.dynamic_ranges"


class ExportError(TranslateError):
    """A network cannot be exported to ONNX (an operation or a branch ONNX cannot express)."""


def export_onnx(net: nn.Module, path: str | Path, *,
                example: torch.Tensor | tuple[torch.Tensor, ...],
                dynamic: Sequence[str] = DYNAMIC_AXES, opset: int = DEFAULT_OPSET) -> Path:
    """Write `net` (in eval mode) to `path` as one self-contained ONNX file.

    `example` is one valid (N, C, H, W) input, or a tuple of the network's inputs (a
    latent and a label, an image and a mask): the batch axis of each is dynamic, and height
    and width of each 4-D one. The axes named in `dynamic` stay symbolic, so one file
    serves every batch and size the network accepts; the ranges `torch.export` proved for
    the first input's axes (a U-Net's height >= 256, say) are stored in the file's
    metadata under `gan_translate.dynamic_ranges`. The file appears atomically: a crash
    leaves no half file. Raises ExportError, one line naming the operation, when the
    network cannot be exported.
    """
    unknown = set(dynamic) - set(AXIS_INDEX)
    if unknown:
        raise ValueError(f"dynamic axes must be among {DYNAMIC_AXES}, got {sorted(unknown)}")
    _require("onnxscript", "ONNX export")
    from torch.export import Dim

    path = Path(path)
    examples = example if isinstance(example, tuple) else (example,)
    # Sizes of 0 or 1 are specialised by torch.export (a size-1 axis broadcasts), so a
    # batch of one would come out fixed; a batch of two exports the general graph.
    if "batch" in dynamic:
        examples = tuple(e.expand(2, *e.shape[1:]).clone() if e.shape[0] < 2 else e
                         for e in examples)
    shapes = tuple({AXIS_INDEX[axis]: Dim.DYNAMIC for axis in dynamic
                    if axis == "batch" or e.ndim == 4} for e in examples)
    names = [INPUT_NAME] + [f"input_{index}" for index in range(1, len(examples))]
    was_training = net.training
    net.eval()
    try:
        with _quiet():
            program = torch.onnx.export(
                net, tuple(e.detach() for e in examples), dynamo=True, opset_version=opset,
                input_names=names, output_names=[OUTPUT_NAME], dynamic_shapes=shapes,
                external_data=False, optimize=True, verbose=False)
    except Exception as error:  # every exporter failure becomes one line
        raise ExportError(f"{type(net).__name__} cannot be exported to ONNX: "
                          f"{describe_export_failure(error)}") from error
    finally:
        net.train(was_training)
    ranges = _proved_ranges(program, dynamic)
    program.model.metadata_props[RANGES_KEY] = json.dumps(ranges)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(handle)
    try:
        program.save(temporary, external_data=False)
        # mkstemp makes the file private; the export is an ordinary file of the user's.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path


def image_inputs(channels: int, multiple: int = 1, *, seed: int = 0
                 ) -> list[tuple[torch.Tensor]]:
    """Three image inputs for export and `check_onnx`: other batches, sides and shapes.

    (1, C, s, 2s), (2, C, 2s, s) and (1, C, 3s, 3s) in [-1, 1], with s the smallest
    multiple of `multiple` that is at least 16, so the check shows all three axes dynamic.
    """
    side = -(-16 // multiple) * multiple
    generator = torch.Generator().manual_seed(seed)
    shapes = ((1, channels, side, 2 * side), (2, channels, 2 * side, side),
              (1, channels, 3 * side, 3 * side))
    return [(torch.rand(shape, generator=generator) * 2 - 1,) for shape in shapes]


def dynamic_ranges(path: str | Path) -> dict[str, tuple[int, int | None]]:
    """{axis: (min, max or None)} stored by `export_onnx`; {} for another exporter's file."""
    _require("onnx", "reading an ONNX file")
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    for prop in model.metadata_props:
        if prop.key == RANGES_KEY:
            return {axis: (low, high) for axis, (low, high) in json.loads(prop.value).items()}
    return {}


def check_onnx(path: str | Path, net: nn.Module, *,
               sizes: Sequence[tuple[int, ...]] = (),
               inputs: Sequence[tuple[torch.Tensor, ...]] = (),
               tolerance: float | None = TOLERANCE, seed: int = 0) -> float:
    """Largest |ONNX Runtime - PyTorch eager fp32| over the given inputs.

    Each (N, C, H, W) in `sizes` is one random image input, uniform in [-1, 1]; use three,
    with different batches and sides, to show the axes really are dynamic. Networks with
    several inputs pass whole input tuples in `inputs` instead (or as well). Raises
    ExportError when the difference exceeds `tolerance` (None: only report it).
    """
    _require("onnxruntime", "checking an ONNX file")
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(path), options,
                                           providers=["CPUExecutionProvider"])
    generator = torch.Generator().manual_seed(seed)
    cases = [(torch.rand(shape, generator=generator) * 2 - 1,) for shape in sizes]
    cases += [tuple(case) for case in inputs]
    if not cases:
        raise ValueError("check_onnx needs sizes or inputs")
    names = [node.name for node in session.get_inputs()]
    was_training = net.training
    net.eval()
    worst = 0.0
    try:
        for case in cases:
            with torch.no_grad():
                expected = net(*case).float()
            got = session.run(None, {name: tensor.numpy()
                                     for name, tensor in zip(names, case, strict=True)})[0]
            if tuple(got.shape) != tuple(expected.shape):
                shapes = ", ".join(str(tuple(tensor.shape)) for tensor in case)
                raise ExportError(f"{Path(path).name}: output {tuple(got.shape)} for input "
                                  f"{shapes}, PyTorch gives {tuple(expected.shape)}")
            worst = max(worst, float((torch.from_numpy(got) - expected).abs().max()))
    finally:
        net.train(was_training)
    if tolerance is not None and worst > tolerance:
        raise ExportError(f"{Path(path).name} differs from PyTorch by {worst:.2e} "
                          f"(more than {tolerance:g})")
    return worst


def describe_export_failure(error: BaseException) -> str:
    """One line for why the exporter gave up: the operation, or the branch and its place."""
    chain = list(_causes(error))
    for cause in chain:
        found = re.search(r"No ONNX function found for <OpOverload\(op='([^']+)'", str(cause))
        if found:
            return f"operation {found.group(1)} has no ONNX translation"
    for cause in chain:
        name = type(cause).__name__
        if name in ("GuardOnDataDependentSymNode", "UserError") or "data-dependent" in str(cause):
            where = _user_frame(cause)
            return "data-dependent control flow" + (f" at {where}" if where else "") + \
                " (a branch on tensor values cannot be a graph)"
    for cause in chain:
        found = re.search(r"Exporting the operator '([^']+)'", str(cause))
        if found:
            return f"operation {found.group(1)} has no ONNX translation"
    last = chain[-1]
    message = next((line.strip() for line in str(last).splitlines() if line.strip()), "")
    return f"{type(last).__name__}: {message[:200]}"


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _user_frame(error: BaseException) -> str | None:
    """file:line (source) of the model's own code that raised: torch.export names it in its
    message ("The following call raised this error"); else the innermost non-torch frame."""
    found = re.search(r'File "([^"]+)", line (\d+), in \w+\n\s*(.+)', str(error))
    if found:
        return f"{os.path.basename(found.group(1))}:{found.group(2)} ({found.group(3).strip()})"
    torch_root = os.path.dirname(torch.__file__)
    frames = [frame for frame in traceback.extract_tb(error.__traceback__)
              if not frame.filename.startswith(torch_root) and frame.filename != __file__]
    if not frames:
        return None
    frame = frames[-1]
    source = f" ({frame.line.strip()})" if frame.line else ""
    return f"{os.path.basename(frame.filename)}:{frame.lineno}{source}"


def _proved_ranges(program, dynamic: Sequence[str]) -> dict[str, list[int | None]]:
    """{axis: [min, max]} of the exported input's symbolic sizes (max None: unbounded)."""
    exported = getattr(program, "exported_program", None)
    if exported is None:
        return {}
    placeholder = next(node for node in exported.graph.nodes if node.op == "placeholder"
                       and node.name in exported.graph_signature.user_inputs)
    shape = placeholder.meta["val"].shape
    ranges: dict[str, list[int | None]] = {}
    for axis in dynamic:
        if AXIS_INDEX[axis] >= len(shape):  # a latent vector has no height or width
            continue
        size = shape[AXIS_INDEX[axis]]
        symbol = getattr(size, "node", None)
        if symbol is None:  # specialised after all: a constant
            ranges[axis] = [int(size), int(size)]
            continue
        bound = exported.range_constraints.get(symbol.expr)
        low = int(bound.lower) if bound is not None else 1
        high = _finite(bound.upper) if bound is not None else None
        # A batch of two was exported only to escape the 0/1 specialisation; the graph is
        # the same for one (check_onnx runs both).
        ranges[axis] = [1 if axis == "batch" else max(low, 1), high]
    return ranges


def _finite(bound) -> int | None:
    """A sympy bound as an int; None for torch's integer infinity."""
    try:
        return int(bound)
    except (TypeError, ValueError, AttributeError, OverflowError):
        return None


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The exporter narrates each stage and dumps graphs on failure; the CLI says one line."""
    loggers = [logging.getLogger(name) for name in
               ("torch.onnx", "torch.export", "torch._dynamo", "torch._export", "onnxscript")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _require(module: str, purpose: str) -> None:
    if module in sys.modules:
        return
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise TranslateError(f"{purpose} needs the {module} package: "
                             "pip install 'gan-translate[fast]'")
