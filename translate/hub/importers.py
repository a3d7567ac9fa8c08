"""Converting checkpoints of reference implementations into our Hub layout.

People already own weights trained with the papers' own code (`latest_net_G.pth`,
`RRDB_ESRGAN_x4.pth`, …). A plugin that can read such files registers an Importer;
`translate import NAME FILE --out DIR` then runs it. Files are read with
`torch.load(weights_only=True)`, which refuses to run code hidden in a pickle.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from translate.errors import WeightsError

if TYPE_CHECKING:
    from translate.translator import Param, Translator


@dataclass(frozen=True, kw_only=True)
class Importer:
    """Turns a reference checkpoint into a ready translator of `translator`'s kind."""

    translator: str  # the translator name the weights are for
    description: str  # what files it reads, shown by `translate import --help`
    convert: Callable[..., Translator]  # convert(path: Path, **options) -> Translator
    options: tuple[Param, ...] = ()  # extra CLI options, e.g. --norm or --direction


def read_reference_state_dict(
    path: str | Path, wrappers: tuple[str, ...] = ("state_dict",)
) -> dict[str, torch.Tensor]:
    """Tensors of a .pth/.pt file, unwrapped from the first present wrapper key.

    Only tensors and plain containers are accepted: `weights_only=True` is passed
    explicitly so that TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD cannot turn unpickling back on.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: no such file")
    try:
        loaded: Any = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise WeightsError(f"{path}: not a plain-tensor checkpoint ({type(error).__name__}: "
                           f"{first[:160]})") from None
    for key in wrappers:
        if isinstance(loaded, Mapping) and isinstance(loaded.get(key), Mapping):
            loaded = loaded[key]
            break
    if not isinstance(loaded, Mapping) or not all(
            isinstance(v, torch.Tensor) for v in loaded.values()):
        raise WeightsError(f"{path}: expected a dict of tensors (a state_dict)")
    # DataParallel-trained files prefix every key with "module."
    return {k.removeprefix("module."): v for k, v in loaded.items()}
