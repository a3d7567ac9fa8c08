"""Names that moved: one `__getattr__` for a module whose old names still work, warned.

    __getattr__ = moved(__name__, {
        "luma": "translate.metrics.fidelity.luma",  # moved as it was
        "psnr_y": (partial(psnr, y_channel=True),   # the old call, on the new function
                   "translate.metrics.fidelity.psnr(..., y_channel=True)"),
    })

Python calls a module's `__getattr__` only for names the module does not define (PEP 562),
so an old name costs nothing until it is used, and then warns, pointing at the line that
used it.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["REMOVED_IN", "moved"]

REMOVED_IN = "0.3"  # the gan-translate version that drops today's deprecated names


def moved(module: str, names: Mapping[str, str | tuple[Any, str]], *,
          removed_in: str = REMOVED_IN) -> Callable[[str], Any]:
    """A module-level `__getattr__` that serves the old `names` of `module` with a warning.

    Each old name maps to its new home, "package.module.name" (imported on first use), or
    to (stand-in, what to use instead) where the old call differs from the new one.
    """

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        target = names[name]
        if isinstance(target, str):
            home, _, attribute = target.rpartition(".")
            value, instead = getattr(importlib.import_module(home), attribute), target
        else:
            value, instead = target
        warnings.warn(f"{module}.{name} is deprecated; use {instead} (removed in "
                      f"gan-translate {removed_in})", DeprecationWarning, stacklevel=2)
        return value

    return __getattr__
