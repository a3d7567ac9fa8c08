"""Where gan-translate keeps things on disk, and whether it may use the network."""

from __future__ import annotations

import os
from pathlib import Path

_TRUE = ("1", "true", "yes", "on")


def translate_home() -> Path:
    """Runs, downloaded datasets and the latest-weights pointers live here ($TRANSLATE_HOME)."""
    return Path(os.environ.get("TRANSLATE_HOME", "~/.cache/gan-translate")).expanduser()


def offline_reason() -> str | None:
    """The setting that forbids network access, as the user would write it, or None."""
    for name in ("HF_HUB_OFFLINE", "TRANSLATE_OFFLINE"):
        if os.environ.get(name, "").strip().lower() in _TRUE:
            return f"{name}=1"
    return None


def is_offline() -> bool:
    """True when TRANSLATE_OFFLINE or HF_HUB_OFFLINE forbids network access."""
    return offline_reason() is not None


def torch_checkpoint(filename: str) -> Path:
    """Where torch.hub (and so torchvision, torch-fidelity) caches a weights file.

    Optional pretrained pieces (perceptual losses, FID) are used only when their file is
    already here: gan-translate never downloads them at run time.
    """
    import torch  # kept out of module import: the CLI's --help must stay fast

    return Path(torch.hub.get_dir()) / "checkpoints" / filename
