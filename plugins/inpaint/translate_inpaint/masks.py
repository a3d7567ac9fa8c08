"""Moved: hole drawing is the host's `translate.data.holes` (any inpainting translator uses it)."""

import warnings
from typing import Any


def __getattr__(name: str) -> Any:
    from translate.data import holes

    if name in holes.__all__:
        warnings.warn(f"translate_inpaint.masks.{name} moved to translate.data.holes.{name}; "
                      "the old name will be removed in gan-translate 0.3", DeprecationWarning,
                      stacklevel=2)
        return getattr(holes, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
