"""Choosing where tensors live: `--device auto|cpu|cuda`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from translate.errors import ConfigError

if TYPE_CHECKING:
    import torch

DEVICES = ("auto", "cpu", "cuda")


def pick_device(requested: str = "auto") -> torch.device:
    """CUDA when asked for or, under auto, when present; the CPU otherwise."""
    import torch  # here, not at import: the CLI names DEVICES before it needs a device

    if requested not in DEVICES:
        raise ConfigError(f"device must be one of {', '.join(DEVICES)}, not {requested!r}")
    if requested == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for, but no CUDA device is available")
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)
