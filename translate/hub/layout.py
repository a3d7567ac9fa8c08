"""The weights folder on disk: config.json + model.safetensors + README.md.

This module knows the files, not the translators: it writes a folder atomically and
byte-reproducibly, records each weights file's sha256 in config.json, checks the
structure of a config.json it reads, and refuses weights whose bytes no longer match
their recorded hash. What a config *means* (which networks to build) is the
translator's business (`translate.translator`).

config.json, format 2::

    {"format_version": 2, "translator": "superres", "task": ..., "description": ...,
     "model": {"arch": "rrdbnet", ...the generator's constructor arguments},
     "training": {...every other config value: provenance only},
     "provenance": {...}, "metrics": {...},
     "files": {"model.safetensors": {"sha256": "...", "size": 123}}}

Format 1 folders hold one flat "config" instead of "model" and "training", and no
"files"; they still load.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from translate.errors import WeightsError
from translate.files import atomic_write_files

__all__ = [
    "CONFIG_NAME",
    "FORMAT_VERSION",
    "WEIGHTS_NAME",
    "load_state_dict_strict",
    "read_meta",
    "read_state",
    "safetensors_bytes",
    "sha256_of",
    "verify_folder",
    "write_folder",
]

FORMAT_VERSION = 2
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "README.md"

# safetensors' dtype names, for the header we write ourselves.
_DTYPES = {
    "float64": "F64", "float32": "F32", "float16": "F16", "bfloat16": "BF16",
    "int64": "I64", "int32": "I32", "int16": "I16", "int8": "I8", "uint8": "U8", "bool": "BOOL",
}


# ---- writing ------------------------------------------------------------------------------


def safetensors_bytes(tensors: Mapping[str, Any], metadata: Mapping[str, str] | None = None
                      ) -> bytes:
    """A safetensors file whose bytes depend only on the tensors and metadata given.

    The reference writer stores metadata keys in hash-map order, so identical tensors
    gave files with different sha256s. Here tensors are laid out in name order and the
    header is JSON with sorted keys, padded to 8 bytes as the format requires.
    """
    import torch

    header: dict[str, Any] = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in sorted(metadata.items())}
    chunks, offset = [], 0
    for name in sorted(tensors):
        tensor = tensors[name].detach().to("cpu").contiguous()
        dtype = _DTYPES.get(str(tensor.dtype).removeprefix("torch."))
        if dtype is None:
            raise WeightsError(f"cannot store {name!r}: dtype {tensor.dtype} has no safetensors "
                               "name")
        data = tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b""
        header[name] = {"dtype": dtype, "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    encoded = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    return struct.pack("<Q", len(encoded)) + encoded + b"".join(chunks)


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_folder(folder: str | Path, *, tensors: Mapping[str, Any], meta: Mapping[str, Any],
                 card: str | None = None, metadata: Mapping[str, str] | None = None) -> Path:
    """Write a weights folder: the tensors, config.json (with their sha256) and the card.

    The files are written together (`atomic_write_files`): a full disk or any other write
    failure leaves the folder exactly as it was, and a crash between the renames leaves
    weights that no longer match the recorded hash, which loading refuses.
    """
    folder = Path(folder)
    data = safetensors_bytes(tensors, metadata)
    meta = {**meta, "files": {WEIGHTS_NAME: {"sha256": sha256_of(data), "size": len(data)}}}
    files = {folder / WEIGHTS_NAME: data,
             folder / CONFIG_NAME: (json.dumps(meta, indent=2) + "\n").encode()}
    if card is not None:
        files[folder / CARD_NAME] = card.encode()
    atomic_write_files(files)
    return folder


# ---- reading ------------------------------------------------------------------------------


def read_meta(folder: str | Path) -> dict[str, Any]:
    """config.json of a weights folder, checked for the fields and types loaders rely on."""
    path = Path(folder) / CONFIG_NAME
    if not path.is_file():
        raise WeightsError(f"{folder}: no {CONFIG_NAME}; not a gan-translate weights folder")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise WeightsError(f"{path}: not valid JSON ({_first_line(error)})") from None
    if not isinstance(meta, dict):
        raise WeightsError(f"{path}: expected a JSON object, found {type(meta).__name__}")
    version = meta.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise WeightsError(f"{path}: format_version must be a whole number, not {version!r}")
    if version > FORMAT_VERSION:
        raise WeightsError(f"{path}: format {version} is newer than this gan-translate "
                           f"understands ({FORMAT_VERSION}); upgrade gan-translate")
    if version < 1:
        raise WeightsError(f"{path}: format_version {version} does not exist")
    if not isinstance(meta.get("translator"), str) or not meta["translator"]:
        raise WeightsError(f"{path}: 'translator' must name a translator")
    blocks = ("config",) if version == 1 else ("model",)
    for block in blocks:
        if not isinstance(meta.get(block), dict):
            raise WeightsError(f"{path}: {block!r} must be a JSON object, not "
                               f"{_json_type(meta.get(block))}")
    for block in ("training", "provenance", "metrics", "files"):
        if block in meta and not isinstance(meta[block], dict):
            raise WeightsError(f"{path}: {block!r} must be a JSON object, not "
                               f"{_json_type(meta[block])}")
    if version >= 2 and not isinstance(meta["model"].get("arch"), str):
        raise WeightsError(f"{path}: 'model' must name its architecture in 'arch'")
    return meta


def read_state(folder: str | Path, meta: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The tensors of a folder's model.safetensors, refused if their sha256 is not recorded's."""
    import safetensors.torch

    folder = Path(folder)
    meta = read_meta(folder) if meta is None else meta
    path = folder / WEIGHTS_NAME
    if not path.is_file():
        raise WeightsError(f"{folder}: no {WEIGHTS_NAME}")
    data = path.read_bytes()
    _check_hash(path, data, meta)
    try:
        return safetensors.torch.load(data)
    except Exception as error:
        raise WeightsError(f"{path}: unreadable safetensors ({_first_line(error)})") from None


def verify_folder(folder: str | Path) -> dict[str, Any]:
    """Check every file config.json records against its sha256, and the weights for NaN/inf.

    Returns the records checked. A format-1 folder records no hashes: it still loads,
    but is refused here as unverified.
    """
    import torch

    folder = Path(folder)
    meta = read_meta(folder)
    files = meta.get("files") or {}
    if not files:
        raise WeightsError(f"{folder}: unverified: {CONFIG_NAME} (format "
                           f"{meta['format_version']}) records no sha256 for its files")
    if WEIGHTS_NAME not in files:
        raise WeightsError(f"{folder}: unverified: {CONFIG_NAME} records no sha256 for "
                           f"{WEIGHTS_NAME}")
    for name in files:
        path = folder / name
        if not path.is_file():
            raise WeightsError(f"{folder}: {name} is recorded in {CONFIG_NAME} but missing")
        if name != WEIGHTS_NAME:
            _check_hash(path, path.read_bytes(), meta)
    state = read_state(folder, meta)  # checks the hash on the bytes it loads
    bad = [key for key, tensor in state.items()
           if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())]
    if bad:
        raise WeightsError(f"{folder / WEIGHTS_NAME}: matches its sha256 but holds NaN or inf "
                           f"in {', '.join(bad[:3])}" + _more(bad))
    return {name: files[name] for name in files}


def _check_hash(path: Path, data: bytes, meta: Mapping[str, Any]) -> None:
    recorded = (meta.get("files") or {}).get(path.name)
    if not isinstance(recorded, dict) or not recorded.get("sha256"):
        return  # format 1 folders and hand-made ones carry no hash to check against
    actual = sha256_of(data)
    if actual != recorded["sha256"]:
        raise WeightsError(f"{path}: sha256 {actual[:12]}… does not match the "
                           f"{recorded['sha256'][:12]}… recorded in {CONFIG_NAME}; the file was "
                           "changed or damaged after it was written, so it is refused")


def load_state_dict_strict(module: Any, state: Mapping[str, Any], *, source: str) -> None:
    """Load state into module, or name the first missing, unexpected or misshapen key."""
    expected = module.state_dict()
    missing = [key for key in expected if key not in state]
    unexpected = [key for key in state if key not in expected]
    misshapen = [key for key in expected
                 if key in state and tuple(state[key].shape) != tuple(expected[key].shape)]
    if missing:
        raise WeightsError(f"{source}: missing key {missing[0]!r}" + _more(missing))
    if unexpected:
        raise WeightsError(f"{source}: unexpected key {unexpected[0]!r}" + _more(unexpected))
    if misshapen:
        key = misshapen[0]
        raise WeightsError(f"{source}: {key!r} has shape {tuple(state[key].shape)}, the model "
                           f"expects {tuple(expected[key].shape)}" + _more(misshapen))
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise WeightsError(f"{source}: {str(error).splitlines()[0]}") from None


def _more(keys: list[str]) -> str:
    return f" (and {len(keys) - 1} more)" if len(keys) > 1 else ""


def _json_type(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", type(None): "null",
            bool: "a boolean"}.get(type(value), "a number")


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
