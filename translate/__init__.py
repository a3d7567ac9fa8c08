"""gan-translate: image-to-image translation with GAN plugins.

What a plugin author needs is importable from here. Names are imported on first use
(PEP 562), so `import translate` (and so `translate --help`) does not import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from translate.version import __version__

# name -> the module that defines it
_PUBLIC = {
    "Architecture": "translate.types",
    "Batch": "translate.types",
    "Losses": "translate.types",
    "Networks": "translate.types",
    "Param": "translate.types",
    "RunInfo": "translate.types",
    "Task": "translate.types",
    "Range": "translate.config",
    "TrainConfig": "translate.config",
    "Translator": "translate.translator",
    "hookimpl": "translate.hookspecs",
}

__all__ = [
    "Architecture", "Batch", "Losses", "Networks", "Param", "Range", "RunInfo", "Task",
    "TrainConfig", "Translator", "__version__", "hookimpl",
]

if TYPE_CHECKING:
    from translate.config import Range, TrainConfig
    from translate.hookspecs import hookimpl
    from translate.translator import Translator
    from translate.types import Architecture, Batch, Losses, Networks, Param, RunInfo, Task


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'translate' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])
