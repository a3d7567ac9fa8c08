"""Weights from a local folder or a Hub repo id, loaded into a translator.

The folder format lives in `translate.hub.layout`, and a translator loads a local folder
itself (`Translator.from_pretrained`); this service adds the Hub: a repo id is pulled
through `translate.hub.sync.pull` (cache, offline mode, pinned revisions) first.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from translate.deprecation import moved
from translate.errors import WeightsError
from translate.hub.layout import CONFIG_NAME, WEIGHTS_NAME

if TYPE_CHECKING:
    import torch

    from translate.translator import Translator

__all__ = ["CONFIG_NAME", "WEIGHTS_NAME", "from_pretrained", "is_repo_id", "save_pretrained"]


def is_repo_id(source: str | Path) -> bool:
    """Whether source names a Hub repo (owner/name) rather than a local path."""
    text = str(source)
    return (not Path(text).expanduser().exists() and text.count("/") == 1
            and not text.startswith((".", "/", "~")))


def from_pretrained(
    source: str | Path,
    *,
    expected: type[Translator],
    revision: str | None = None,
    device: str | torch.device = "cpu",
) -> Translator:
    """Load `expected` from a weights folder or a Hub repo id, strictly."""
    folder = Path(source).expanduser()
    if not folder.is_dir():
        if not is_repo_id(source):
            raise WeightsError(f"{source}: neither a weights folder nor a Hub repo id (owner/name)")
        from translate.hub.sync import pull

        folder = pull(str(source), revision=revision)
    return expected.from_pretrained(folder, device=device)


def save_pretrained(translator: Translator, folder: str | Path, **options: Any) -> Path:
    """Write translator's weights folder (the same as `translator.save_pretrained`)."""
    return translator.save_pretrained(folder, **options)


# Plugins imported these from here before the folder format moved to hub.layout.
__getattr__ = moved(__name__, {name: f"translate.hub.layout.{name}" for name in
                               ("read_meta", "load_state_dict_strict", "FORMAT_VERSION")})
