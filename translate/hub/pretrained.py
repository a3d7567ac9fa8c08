"""The Hub layout: config.json + model.safetensors + README.md, and its strict loader."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import safetensors
import safetensors.torch
import torch
from torch import nn

from translate.config import config_from_dict, config_to_dict
from translate.errors import ConfigError, WeightsError
from translate.files import atomic_write_bytes
from translate.hub.card import write_model_card

if TYPE_CHECKING:
    from translate.translator import Translator

FORMAT_VERSION = 1
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


def save_pretrained(
    translator: Translator,
    folder: str | Path,
    *,
    state_dict: Mapping[str, torch.Tensor] | None = None,
    provenance: Mapping[str, Any] | None = None,
    metrics: Mapping[str, float] | None = None,
    repo_id: str | None = None,
) -> Path:
    """Write the translator's generators (or the given state, e.g. EMA) in Hub layout.

    The weights go first and config.json last: a folder is only valid once its
    config is there, so a crash in between never leaves a loadable half-update.
    """
    folder = Path(folder)
    state = state_dict if state_dict is not None else translator.generators.state_dict()
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in state.items()}
    atomic_write_bytes(folder / WEIGHTS_NAME, safetensors.torch.save(
        tensors, metadata={"format": "pt", "translator": translator.name}))
    from translate import __version__

    meta = {
        "format_version": FORMAT_VERSION,
        "translator": translator.name,
        "task": translator.task.value,
        "description": translator.description,
        "config": config_to_dict(translator.config),
        "provenance": {"library_version": __version__, **(provenance or {})},
        "metrics": dict(metrics or {}),
    }
    atomic_write_bytes(folder / CONFIG_NAME, (json.dumps(meta, indent=2) + "\n").encode())
    write_model_card(folder, repo_id=repo_id)
    return folder


def read_meta(folder: str | Path) -> dict[str, Any]:
    """config.json of a weights folder, checked for the fields every loader relies on."""
    path = Path(folder) / CONFIG_NAME
    if not path.is_file():
        raise WeightsError(f"{folder}: no {CONFIG_NAME}; not a gan-translate weights folder")
    try:
        meta = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise WeightsError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(meta, dict) or not {"format_version", "translator", "config"} <= set(meta):
        raise WeightsError(f"{path}: needs format_version, translator and config")
    if meta["format_version"] > FORMAT_VERSION:
        raise WeightsError(f"{path}: format {meta['format_version']} is newer than this "
                           f"gan-translate understands ({FORMAT_VERSION}); upgrade gan-translate")
    return meta


def from_pretrained(
    source: str | Path,
    *,
    expected: type[Translator] | None = None,
    revision: str | None = None,
    device: str | torch.device = "cpu",
) -> Translator:
    """Build the translator named in config.json and load its weights strictly.

    `source` is a local folder or a Hub repo id (fetched through `translate.hub.sync.pull`).
    """
    folder = Path(source).expanduser()
    if not folder.is_dir():
        text = str(source)
        if folder.exists() or text.count("/") != 1 or text.startswith((".", "/", "~")):
            raise WeightsError(f"{source}: neither a weights folder nor a Hub repo id (owner/name)")
        from translate.hub.sync import pull

        folder = pull(str(source), revision=revision)
    meta = read_meta(folder)
    if expected is None:
        from translate.plugins import get_registry

        expected = get_registry().translator(meta["translator"])
    elif meta["translator"] != expected.name:
        raise WeightsError(f"{folder}: these weights are for {meta['translator']!r}, "
                           f"not {expected.name!r}")
    try:
        config = config_from_dict(expected.Config, meta["config"])
    except ConfigError as error:
        raise WeightsError(f"{folder / CONFIG_NAME}: {error}") from None
    translator = expected(config)
    weights = folder / WEIGHTS_NAME
    if not weights.is_file():
        raise WeightsError(f"{folder}: no {WEIGHTS_NAME}")
    try:
        state = safetensors.torch.load_file(str(weights))
    except (OSError, safetensors.SafetensorError) as error:
        raise WeightsError(f"{weights}: unreadable safetensors ({error})") from None
    load_state_dict_strict(translator.generators, state, source=str(weights))
    return translator.to(device).eval()


def load_state_dict_strict(module: nn.Module, state: Mapping[str, torch.Tensor], *,
                           source: str) -> None:
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

