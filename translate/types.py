"""The vocabulary every layer shares: what a translator does, takes and hands around.

Nothing here imports the rest of the package, so any module may use these names.
"""

from __future__ import annotations

import enum
import inspect
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import torch
    from torch import nn

    from translate.config import TrainConfig

__all__ = ["Architecture", "Batch", "DemoPlacement", "Losses", "Networks", "Param", "ParamKind",
           "RunInfo", "Task"]


class Task(str, enum.Enum):
    """What a translator does; the demo and the docs group translators by it."""

    UNCONDITIONAL = "unconditional generation"
    CLASS_CONDITIONAL = "class-conditional generation"
    PAIRED = "paired translation"
    UNPAIRED = "unpaired translation"
    SUPER_RESOLUTION = "super-resolution"
    INPAINTING = "inpainting"


ParamKind = Literal["image", "mask", "int", "float", "choice", "seed", "bool", "file"]
# Where the demo shows a param: with the main controls, folded under "Advanced" (expert
# settings with sensible defaults), or not at all (the default is used; for settings the
# demo takes care of itself, such as fitting a painted mask to its photo).
DemoPlacement = Literal["main", "advanced", "hidden"]


@dataclass(frozen=True, kw_only=True)
class Param:
    """One input of `infer`: the CLI turns it into an argument, the demo into a widget.

    The first `image` param is the CLI's positional INPUT...; every other param is
    an option named `--<name>` (underscores become dashes).
    """

    name: str
    kind: ParamKind
    help: str
    default: Any = None
    choices: tuple[str, ...] = ()  # for kind="choice"
    low: float | None = None  # inclusive bounds for int/float
    high: float | None = None
    demo: DemoPlacement = "main"

    @property
    def is_image(self) -> bool:
        """Read from a file and decoded as an image (a `file` param arrives as its path)."""
        return self.kind in ("image", "mask")


@dataclass(frozen=True)
class Networks(Mapping[str, "nn.Module"]):
    """Named networks handed to a plugin's loss functions: `nets.G`, `nets["D_A"]`."""

    modules: Mapping[str, nn.Module]

    def __getattr__(self, name: str) -> nn.Module:
        try:
            return self.modules[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> nn.Module:
        return self.modules[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.modules)

    def __len__(self) -> int:
        return len(self.modules)


# A training batch and a loss dict: named tensors.
Batch = dict[str, "torch.Tensor"]
Losses = dict[str, "torch.Tensor"]


@dataclass(frozen=True)
class RunInfo:
    """What observers are told about a training run."""

    translator: str
    out_dir: Path
    config: TrainConfig
    data: str
    command: str
    device: str
    precision: str
    world_size: int
    start_step: int



@dataclass(frozen=True)
class Architecture:
    """A named generator architecture: a network class and the arguments its name fixes.

    As in timm, a name is a dict of constructor arguments: `unet_256` is
    `Architecture(UNetGenerator, {"depth": 8})`. The network's other keyword arguments come
    from the translator's config fields of the same names, and are what a weights folder's
    `model` block stores.
    """

    network: type[nn.Module]
    fixed: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""

    def arguments(self) -> tuple[str, ...]:
        """The constructor's keyword arguments that the config provides (not fixed ones)."""
        parameters = inspect.signature(self.network).parameters.values()
        return tuple(p.name for p in parameters if p.name not in self.fixed
                     and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD))

    def build(self, **arguments: Any) -> nn.Module:
        return self.network(**self.fixed, **arguments)
