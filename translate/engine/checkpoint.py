"""Training checkpoints: one safetensors file, written atomically, no pickles.

A checkpoint is a nested structure (networks, EMA, optimizers, schedulers, scaler,
RNG states, step). Its tensors go into the safetensors body and the rest of the
structure into the header's metadata as JSON, so loading never executes code and a
run killed mid-write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import numpy as np
import safetensors
import safetensors.torch
import torch

from translate.errors import TrainingError
from translate.files import atomic_write_bytes

CHECKPOINT_NAME = "checkpoint.safetensors"
_STRUCTURE_KEY = "translate.structure"


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Atomically write state (dicts, lists, tuples, tensors, arrays, JSON scalars) to path.

    A state holding any non-finite number (a NaN or inf parameter, buffer or optimiser
    moment) is refused: resuming from it could only go on poisoning the run.
    """
    bad = non_finite(state)
    if bad:
        raise TrainingError(f"refused to write {path}: non-finite values in {_names(bad)}")
    tensors: dict[str, torch.Tensor] = {}
    structure = _flatten(state, tensors)
    data = safetensors.torch.save(tensors, metadata={_STRUCTURE_KEY: json.dumps(structure)})
    return atomic_write_bytes(path, data)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by save_checkpoint, on the CPU."""
    try:
        with safetensors.safe_open(str(path), framework="pt") as handle:
            structure = json.loads(handle.metadata()[_STRUCTURE_KEY])
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    except (OSError, KeyError, ValueError, safetensors.SafetensorError) as error:
        raise TrainingError(f"{path}: not a readable gan-translate checkpoint ({error})") from None
    return _unflatten(structure, tensors)


def verify_checkpoint(path: str | Path) -> int:
    """The step of the checkpoint at path, once it has been read whole and found finite."""
    state = load_checkpoint(path)
    bad = non_finite(state)
    if bad:
        raise TrainingError(f"{path}: non-finite values in {_names(bad)}")
    return int(state["step"])


def non_finite(value: Any, where: str = "") -> list[str]:
    """The dotted paths of every tensor or float in a nested state that is NaN or inf."""
    if isinstance(value, torch.Tensor):
        if value.is_floating_point() and value.numel() and not bool(torch.isfinite(value).all()):
            return [where]
        return []
    if isinstance(value, float):
        return [] if math.isfinite(value) else [where]
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return []
    return [path for key, item in items
            for path in non_finite(item, f"{where}.{key}" if where else str(key))]


def _names(paths: list[str]) -> str:
    return ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


def capture_rng() -> dict[str, Any]:
    """Every RNG a training step draws from."""
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# ---- nested structure <-> (JSON skeleton, flat tensors) -------------------------------------


def _flatten(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(value, torch.Tensor):
        key = f"t{len(tensors)}"
        # clone: safetensors refuses tensors that share storage (tied or viewed weights)
        tensors[key] = value.detach().to("cpu").contiguous().clone()
        return {"__tensor__": key}
    if isinstance(value, np.ndarray):
        return {"__ndarray__": _flatten(torch.from_numpy(value.astype(np.int64)), tensors),
                "dtype": str(value.dtype)}
    if isinstance(value, dict):
        # Keys keep their type (optimizer state is keyed by int), so store pairs.
        return {"__dict__": [[key, _flatten(item, tensors)] for key, item in value.items()]}
    if isinstance(value, tuple):
        return {"__tuple__": [_flatten(item, tensors) for item in value]}
    if isinstance(value, list):
        return [_flatten(item, tensors) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot store {type(value).__name__} in a checkpoint")


def _unflatten(node: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(node, list):
        return [_unflatten(item, tensors) for item in node]
    if not isinstance(node, dict):
        return node
    if "__tensor__" in node:
        return tensors[node["__tensor__"]]
    if "__ndarray__" in node:
        return _unflatten(node["__ndarray__"], tensors).numpy().astype(node["dtype"])
    if "__dict__" in node:
        return {key: _unflatten(item, tensors) for key, item in node["__dict__"]}
    if "__tuple__" in node:
        return tuple(_unflatten(item, tensors) for item in node["__tuple__"])
    raise ValueError(f"unknown checkpoint node {sorted(node)}")
