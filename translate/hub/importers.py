"""Converting checkpoints of reference implementations into our Hub layout.

People already own weights trained with the papers' own code (`latest_net_G.pth`,
`RRDB_ESRGAN_x4.pth`, …). A plugin that can read such files registers an Importer;
`translate import NAME FILE --out DIR` then runs it. Files are read with
`torch.load(weights_only=True)`, which refuses to run code hidden in a pickle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from translate.hub.reading import find_state_dict, read_checkpoint

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
    """Tensors of a checkpoint file, unwrapped from the first present wrapper key.

    Read by `translate.hub.reading.read_checkpoint`: safetensors, or pickles holding only
    tensors, plain data and allow-listed inert objects, never code.
    """
    return find_state_dict(read_checkpoint(path), path=path, wrappers=wrappers)
