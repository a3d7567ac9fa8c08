"""Reading checkpoint files written by other projects, without ever running their code.

A `.pth`, `.pt`, `.ckpt` or `.bin` file is a pickle, and a pickle can call any function
while it loads. Every such file is read with `torch.load(weights_only=True)`, passed
explicitly so that `TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD` cannot turn arbitrary unpickling
back on; `.safetensors` files hold no code at all.

Real checkpoints also pickle a few inert objects next to their tensors: the training
script's `argparse.Namespace`, omegaconf configs and Lightning's hyper-parameters. Those
names are allow-listed, and each one is rebuilt as an inert stand-in class of our own
(`StandIn`), so the original class is never imported, let alone run. Anything else a
pickle asks for is refused in one line that says what it asked for.
"""

from __future__ import annotations

import io
import pickle
import pickletools
import re
import warnings
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import torch

from translate.errors import WeightsError

__all__ = ["ACCEPTED_FORMATS", "StandIn", "find_state_dict", "read_checkpoint"]

ACCEPTED_FORMATS = (".safetensors, or a PyTorch state dict (.pth/.pt/.ckpt/.bin) holding only "
                    "tensors and plain data")
CHECKPOINT_SUFFIXES = (".safetensors", ".pth", ".pt", ".ckpt", ".bin")
# Keys that wrap a state dict in the checkpoints people publish, most preferred first:
# BasicSR/Real-ESRGAN keep the EMA generator under params_ema, Lightning under state_dict.
STATE_DICT_WRAPPERS = ("params_ema", "params", "state_dict", "model_state_dict", "model",
                       "generator", "g_ema")
# Prefixes that wrappers add to every key: DataParallel/DDP, and torch.compile.
KEY_PREFIXES = ("module.", "_orig_mod.")


class StandIn:
    """An inert object standing in for a pickled instance of a class we never import.

    It keeps what the pickle gave it: constructor arguments in `args`, and the state in
    `state` (for a plain `__dict__` state, also as attributes, so `ckpt["args"].size`
    reads as it would with the real `argparse.Namespace`).
    """

    pickled_as: ClassVar[str] = "?"

    def __new__(cls, *args: Any, **kwargs: Any) -> StandIn:
        instance = super().__new__(cls)
        instance.args, instance.state = args, None
        return instance

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass  # __new__ kept the arguments; nothing is run

    def __setstate__(self, state: Any) -> None:
        self.state = state
        # (None, slots) is how objects with __slots__ pickle their state.
        mapping = state[1] if isinstance(state, tuple) and len(state) == 2 else state
        if isinstance(mapping, dict):
            for key, value in mapping.items():
                if isinstance(key, str) and key.isidentifier() and key not in ("args", "state"):
                    setattr(self, key, value)

    def __repr__(self) -> str:
        return f"<stand-in for {self.pickled_as}>"


class StandInDict:
    """A stand-in for a pickled dict subclass (Lightning's AttributeDict): a plain dict.

    torch's safe unpickler fills only exact dicts, so creating one returns a plain `dict`;
    its items then arrive through the pickle as they would into the original class.
    """

    pickled_as: ClassVar[str] = "?"

    def __new__(cls, *args: Any, **kwargs: Any) -> dict:  # type: ignore[misc]
        return {}


def _numpy_scalar(dtype: Any, data: bytes = b"", *_: Any) -> Any:
    """numpy.core.multiarray.scalar, rebuilt from its bytes as a plain Python number."""
    import numpy as np

    code = dtype.args[0] if isinstance(dtype, StandIn) and dtype.args else "f8"
    try:
        return np.frombuffer(data, dtype=np.dtype(str(code)))[0].item()
    except (TypeError, ValueError):
        return None


def _stand_in(name: str, base: type = StandIn) -> type:
    return type(name.rpartition(".")[2], (base,), {"pickled_as": name, "__module__": __name__})


# Inert objects that real, published checkpoints carry; nothing outside this list loads.
_OBJECTS = (
    "argparse.Namespace",  # rosinality's stylegan2-pytorch, many training scripts
    "pathlib.PosixPath", "pathlib.WindowsPath", "pathlib.PurePosixPath",
    "omegaconf.dictconfig.DictConfig", "omegaconf.listconfig.ListConfig",  # LaMa, Hydra runs
    "omegaconf.base.ContainerMetadata", "omegaconf.base.Metadata",
    "omegaconf.nodes.AnyNode", "omegaconf.nodes.StringNode", "omegaconf.nodes.IntegerNode",
    "omegaconf.nodes.FloatNode", "omegaconf.nodes.BooleanNode", "omegaconf.nodes.EnumNode",
    "omegaconf.nodes.BytesNode", "omegaconf.nodes.PathNode",
    "numpy.dtype", "numpy.dtypes.Float64DType", "numpy.dtypes.Float32DType",
    "numpy.dtypes.Int64DType", "numpy.dtypes.Int32DType",
    "pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint",  # keys Lightning 1.2 callbacks
)
_DICTS = (
    "pytorch_lightning.utilities.parsing.AttributeDict",
    "lightning_fabric.utilities.data.AttributeDict",
    "lightning.fabric.utilities.data.AttributeDict",
    "collections.defaultdict",
)
_VALUES: dict[str, Any] = {
    # omegaconf records the declared types of its nodes; only their names matter here.
    "typing.Any": "typing.Any", "builtins.object": "object", "builtins.dict": "dict",
    "builtins.list": "list", "builtins.str": "str", "builtins.int": "int",
    "builtins.float": "float", "builtins.bool": "bool", "builtins.tuple": "tuple",
    "numpy.core.multiarray.scalar": _numpy_scalar, "numpy._core.multiarray.scalar": _numpy_scalar,
}


def _safe_globals() -> list[tuple[Any, str]]:
    pairs: list[tuple[Any, str]] = [(_stand_in(name), name) for name in _OBJECTS]
    pairs += [(_stand_in(name, StandInDict), name) for name in _DICTS]
    pairs += [(value, name) for name, value in _VALUES.items()]
    return pairs


# ---- refusals that name what a file is ---------------------------------------------------

_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")
_UNPICKLER = "WeightsUnpickler error:"  # torch's own reason follows this
# NVlabs' own pickles (stylegan2-ada-pytorch, stylegan3, the TF-era networks) store the
# network's Python source and rebuild it by running it.
_NVLABS = ("torch_utils.persistence", "dnnlib.", "torch_utils.")


def _globals_in(data: bytes) -> list[str]:
    """The `module.name` globals a pickle asks for, in order (GLOBAL and STACK_GLOBAL)."""
    names, strings = [], []
    try:
        for opcode, argument, _ in pickletools.genops(data):
            if opcode.name == "GLOBAL":
                names.append(str(argument).replace(" ", "."))
            elif opcode.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE",
                                 "BINUNICODE8"):
                strings.append(str(argument))
            elif opcode.name == "STACK_GLOBAL" and len(strings) >= 2:
                names.append(f"{strings[-2]}.{strings[-1]}")
    except Exception:
        pass  # a damaged pickle: whatever was read so far is all there is to say
    return names


def _pickle_bytes(path: Path) -> bytes:
    """The pickle inside a torch file (data.pkl of a zip), or the file itself."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                name = next((n for n in archive.namelist() if n.endswith("/data.pkl")), None)
                return archive.read(name) if name else b""
        with path.open("rb") as handle:
            return handle.read(1 << 20)
    except OSError:
        return b""


def _refusal(path: Path, error: BaseException, data: bytes = b"") -> WeightsError:
    found = _GLOBAL.search(str(error))
    if found is None:
        # Protocol-4 pickles name globals with STACK_GLOBAL, which torch's message omits.
        refused = [name for name in _globals_in(data) if name.startswith(_NVLABS)]
        if refused:
            found = re.match(r"(.+)", refused[0])
    if found is None:
        # torch's own advice (re-run with weights_only=False) must never reach a user.
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        marker = next((i for i, line in enumerate(lines) if _UNPICKLER in line), None)
        detail = None
        if marker is not None:  # the reason follows the marker, on its line or the next
            detail = (lines[marker].split(_UNPICKLER, 1)[1].strip()
                      or next(iter(lines[marker + 1:]), ""))
        if detail is None and lines:
            detail = lines[0]
        if detail and "weights_only" in detail.lower():
            detail = None
        reason = "truncated, or not a pickle" if isinstance(error, EOFError | KeyError) \
            else detail or type(error).__name__
        return WeightsError(f"{path}: not a readable PyTorch checkpoint ({reason})")
    name = found.group(1)
    if name.startswith(_NVLABS):
        return WeightsError(
            f"{path}: an NVlabs pickle ({name}), which stores Python code that would run on "
            "loading; convert it first (rosinality's convert_weight.py gives a .pt state "
            f"dict), then use {ACCEPTED_FORMATS}")
    return WeightsError(f"{path}: refused: the pickle asks for {name}, which is not plain data; "
                        f"gan-translate reads {ACCEPTED_FORMATS}")


def _is_torchscript(archive: zipfile.ZipFile) -> bool:
    names = archive.namelist()
    return any(n.endswith("/constants.pkl") or "/code/" in n for n in names)


def _is_torch_archive(archive: zipfile.ZipFile) -> bool:
    return any(n.endswith("/data.pkl") and n.count("/") == 1 for n in archive.namelist())


def _load_pickle(stream: Any, label: Path) -> Any:
    try:
        with torch.serialization.safe_globals(_safe_globals()), warnings.catch_warnings():
            # torch warns about old pickle protocols ("Detected pickle protocol 4"); the
            # refusal below says what matters in one line.
            warnings.filterwarnings("ignore", message=".*pickle protocol.*")
            return torch.load(stream, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, AttributeError, TypeError, ValueError,
            EOFError, KeyError, ImportError) as error:
        data = stream.getvalue() if isinstance(stream, io.BytesIO) else (
            _pickle_bytes(stream) if isinstance(stream, Path) else b"")
        raise _refusal(label, error, data) from None


def read_checkpoint(path: str | Path, *, member: str | None = None) -> Any:
    """What a checkpoint file holds, read without running code; tensors come on the CPU.

    Reads `.safetensors` (a dict of tensors), PyTorch files (zip or legacy pickles) and
    plain zip archives holding one checkpoint (or the one named by `member`), such as
    LaMa's `big-lama.zip`. TorchScript programs and pickles that call code are refused.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: no such file")
    if path.suffix == ".safetensors":
        return _read_safetensors(path)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            if _is_torchscript(archive):
                raise WeightsError(
                    f"{path}: a TorchScript program; loading it would run its code. Use "
                    f"{ACCEPTED_FORMATS}")
            if not _is_torch_archive(archive):
                inner = _archive_member(archive, path, member)
                label = path / inner
                data = archive.read(inner)
                if inner.endswith(".safetensors"):
                    return _read_safetensors_bytes(data, label)
                return _load_pickle(io.BytesIO(data), label)
    elif member is not None:
        raise WeightsError(f"{path}: not a zip archive, so it has no member {member!r}")
    return _load_pickle(path, path)


def _archive_member(archive: zipfile.ZipFile, path: Path, member: str | None) -> str:
    names = [n for n in archive.namelist() if not n.endswith("/")]
    if member is not None:
        matches = [n for n in names if n == member or n.endswith("/" + member)]
        if len(matches) != 1:
            raise WeightsError(f"{path}: no single member {member!r} in the archive")
        return matches[0]
    found = [n for n in names if n.lower().endswith(CHECKPOINT_SUFFIXES)]
    if len(found) != 1:
        listed = ", ".join(found[:4]) or "none"
        raise WeightsError(f"{path}: a zip archive with {len(found)} checkpoint files "
                           f"({listed}); name one")
    return found[0]


def _read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    import safetensors.torch

    try:
        return safetensors.torch.load_file(str(path))
    except Exception as error:
        raise WeightsError(f"{path}: unreadable safetensors ({_first_line(error)})") from None


def _read_safetensors_bytes(data: bytes, label: Path) -> dict[str, torch.Tensor]:
    import safetensors.torch

    try:
        return safetensors.torch.load(data)
    except Exception as error:
        raise WeightsError(f"{label}: unreadable safetensors ({_first_line(error)})") from None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


# ---- finding the tensors ------------------------------------------------------------------


def find_state_dict(
    loaded: Any,
    *,
    path: str | Path = "checkpoint",
    wrappers: tuple[str, ...] = STATE_DICT_WRAPPERS,
    keep: Callable[[str], bool] | None = None,
) -> dict[str, torch.Tensor]:
    """The state dict inside what a checkpoint holds: unwrapped, prefixes stripped.

    The first of `wrappers` that holds a mapping is descended into (repeatedly, so
    `{"state_dict": {"params_ema": ...}}` works too); `module.` and `_orig_mod.` are
    stripped from every key; non-tensor entries (step counters, versions) are dropped.
    `keep` selects keys, e.g. a Lightning checkpoint's `generator.` ones.
    """
    node = loaded
    while isinstance(node, Mapping):
        inner = next((node[key] for key in wrappers
                      if isinstance(node.get(key), Mapping) and node[key]), None)
        if inner is None:
            break
        node = inner
    if not isinstance(node, Mapping):
        raise WeightsError(f"{path}: expected a dict of tensors (a state dict), found "
                           f"{type(node).__name__}")
    state = {}
    for key, value in node.items():
        if not isinstance(value, torch.Tensor) or not isinstance(key, str):
            continue
        for prefix in KEY_PREFIXES:
            while key.startswith(prefix):
                key = key.removeprefix(prefix)
        if keep is None or keep(key):
            state[key] = value
    if not state:
        raise WeightsError(f"{path}: holds no tensors"
                           + (" that this reader selects" if keep is not None else ""))
    return state
