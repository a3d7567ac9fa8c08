"""The translator contract: what a plugin's GAN declares and the few methods it writes.

A translator is an `nn.Module` holding its generator(s). The class attributes
describe it well enough for the CLI and the demo to build their interfaces with
no plugin-specific code; the methods are the parts that are truly the plugin's
own (networks, losses, sampling, inference, evaluation). Training, checkpoints,
the Hub layout and weights resolution are shared and live elsewhere.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from abc import ABCMeta, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import torch
from torch import nn

from translate.config import TrainConfig, build_config
from translate.data.pipeline import ImageDataset
from translate.errors import PluginError
from translate.hub.pretrained import from_pretrained, save_pretrained

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    from PIL import Image

    from translate.data.sources import Source


class Task(str, enum.Enum):
    """What a translator does; the demo and the docs group translators by it."""

    UNCONDITIONAL = "unconditional generation"
    CLASS_CONDITIONAL = "class-conditional generation"
    PAIRED = "paired translation"
    UNPAIRED = "unpaired translation"
    SUPER_RESOLUTION = "super-resolution"
    INPAINTING = "inpainting"


ParamKind = Literal["image", "mask", "int", "float", "choice", "seed", "bool", "file"]


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

    @property
    def is_image(self) -> bool:
        """Read from a file and decoded as an image (a `file` param arrives as its path)."""
        return self.kind in ("image", "mask")


@dataclass(frozen=True)
class Networks(Mapping[str, nn.Module]):
    """Named networks handed to a plugin's loss functions: `nets.G`, `nets["D_A"]`."""

    modules: Mapping[str, nn.Module]

    def __getattr__(self, name: str) -> nn.Module:
        try:
            return self.modules[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> nn.Module:
        return self.modules[name]

    def __iter__(self):
        return iter(self.modules)

    def __len__(self) -> int:
        return len(self.modules)


Batch = dict[str, torch.Tensor]
Losses = dict[str, torch.Tensor]

_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


class Translator(nn.Module, metaclass=ABCMeta):
    """Base class of every GAN a plugin contributes.

    Subclasses set the class attributes below and implement the abstract methods.
    `self.generators` holds the inference networks; they are what the Hub folder
    stores. Discriminators exist only while training.
    """

    name: ClassVar[str]  # unique, lowercase: the CLI and demo name
    task: ClassVar[Task]
    description: ClassVar[str]  # one sentence, shown by `translate list` and the demo
    Config: ClassVar[type[TrainConfig]]  # a keyword-only dataclass extending TrainConfig
    presets: ClassVar[Mapping[str, Mapping[str, Any]]]  # at least "starter" (CPU) and "full" (GPU)
    datasets: ClassVar[tuple[str, ...]]  # --data sources it accepts; the first is the default
    hub_repo: ClassVar[str]  # default Hugging Face Hub repo id of its pretrained weights
    inputs: ClassVar[tuple[Param, ...]]  # what infer takes
    output: ClassVar[Literal["images", "image"]] = "images"  # a set of samples, or one per input
    image_mode: ClassVar[Literal["L", "RGB"]] = "RGB"  # the pixel format its networks see
    keeps_alpha: ClassVar[bool] = False  # image inputs reach infer as RGBA, transparency kept
    compare_in_demo: ClassVar[bool] = False  # the demo shows input and output on a slider
    grid_columns: ClassVar[int] = 8  # columns of the training sample grid
    starter_weights: ClassVar[Traversable | Path | None] = None  # Hub-layout folder in the package
    # Demo examples: a folder of images; for a translator with a mask input, X.mask.png
    # next to X.png is the hole painted over it (a transparent layer or white on black);
    # X.json, if present, sets other inputs for that example, e.g. {"direction": "BtoA"}.
    examples: ClassVar[Traversable | Path | None] = None

    @classmethod
    def inputs_for(cls, config: TrainConfig) -> tuple[Param, ...]:
        """The `inputs` that weights trained with `config` can use; the demo offers only these."""
        return cls.inputs

    def __init__(self, config: TrainConfig) -> None:
        super().__init__()
        self.config = config
        self.generators = nn.ModuleDict(self.build_generators())

    # ---- what a plugin writes: networks -------------------------------------------------

    @abstractmethod
    def build_generators(self) -> dict[str, nn.Module]:
        """The inference networks, freshly initialised from `self.config`."""

    @abstractmethod
    def build_discriminators(self) -> dict[str, nn.Module]:
        """The training-only critics, freshly initialised from `self.config`."""

    # ---- what a plugin writes: one adversarial step --------------------------------------

    @abstractmethod
    def generate(self, nets: Networks, batch: Batch) -> Batch:
        """Run the generator(s) on a training batch; the result feeds both losses."""

    @abstractmethod
    def discriminator_loss(self, nets: Networks, batch: Batch, generated: Batch) -> Losses:
        """Named D loss terms (summed by the engine); `generated` is already detached."""

    @abstractmethod
    def generator_loss(self, nets: Networks, batch: Batch, generated: Batch) -> Losses:
        """Named G loss terms (summed by the engine); D's weights are frozen meanwhile."""

    # ---- what a plugin writes: seeing, using and judging the model ----------------------

    @abstractmethod
    def sample_inputs(self, heldout: Batch, count: int) -> Batch:
        """Fixed inputs for training sample grids, built once from held-out data."""

    @abstractmethod
    def sample(self, generators: Networks, inputs: Batch) -> torch.Tensor:
        """Images (N, C, H, W) in [-1, 1] for the sample grid, from the fixed inputs."""

    @abstractmethod
    def infer(self, **params: Any) -> list[Image.Image]:
        """Run the model on the declared `inputs`; images arrive as PIL, in `image_mode`."""

    @abstractmethod
    def evaluate(self, heldout: Source, train: Source) -> dict[str, float]:
        """Quality figures on held-out data, each next to its baseline."""

    # ---- data: the shared pipeline, which a plugin may override -------------------------

    def augmentations(self) -> list:
        """Extra albumentations transforms for training images (none by default)."""
        return []

    def make_dataset(self, source: Source, *, train: bool) -> torch.utils.data.Dataset:
        """Turn a source's records into tensors; the default reads `config.image_size`."""
        return ImageDataset(
            source,
            size=self.config.image_size,
            mode=self.image_mode,
            augmentations=self.augmentations() if train else [],
        )

    # ---- shared behaviour -----------------------------------------------------------------

    @classmethod
    def make_config(
        cls, preset: str = "starter", overrides: Mapping[str, str] | None = None
    ) -> TrainConfig:
        """The named preset with `--set` style string overrides applied."""
        return build_config(cls.Config, presets=cls.presets, preset=preset, overrides=overrides)

    @property
    def device(self) -> torch.device:
        return next(self.generators.parameters()).device

    def save_pretrained(self, folder: str | Path, **options: Any) -> Path:
        """Write the Hub layout: config.json, model.safetensors and a model card."""
        return save_pretrained(self, folder, **options)

    @classmethod
    def from_pretrained(cls, source: str | Path, **kwargs: Any) -> Translator:
        """Load a Hub-layout folder or repo id written for this translator."""
        return from_pretrained(source, expected=cls, **kwargs)

    @classmethod
    def validate(cls) -> None:
        """Check the declared metadata; a plugin failing this is reported and skipped."""
        problems = []
        if cls.__abstractmethods__:
            problems.append(f"methods not written: {', '.join(sorted(cls.__abstractmethods__))}")
        if not isinstance(getattr(cls, "name", None), str) or not _NAME.match(cls.name):
            problems.append("name must be a lowercase identifier")
        if not isinstance(getattr(cls, "task", None), Task):
            problems.append("task must be a translate.Task")
        if not isinstance(getattr(cls, "description", None), str) or not cls.description:
            problems.append("description is missing")
        config_cls = getattr(cls, "Config", None)
        if not (isinstance(config_cls, type) and issubclass(config_cls, TrainConfig)
                and dataclasses.is_dataclass(config_cls)):
            problems.append("Config must be a dataclass extending TrainConfig")
        presets = getattr(cls, "presets", None)
        if not isinstance(presets, Mapping) or not {"starter", "full"} <= set(presets):
            problems.append("presets must include 'starter' and 'full'")
        if not getattr(cls, "datasets", None):
            problems.append("datasets must name at least one source")
        if not isinstance(getattr(cls, "hub_repo", None), str) or "/" not in cls.hub_repo:
            problems.append("hub_repo must be an 'owner/name' repo id")
        inputs = getattr(cls, "inputs", None)
        if not isinstance(inputs, tuple) or not all(isinstance(p, Param) for p in inputs):
            problems.append("inputs must be a tuple of Param")
        elif len({p.name for p in inputs}) != len(inputs):
            problems.append("inputs have duplicate names")
        if getattr(cls, "output", None) not in ("images", "image"):
            problems.append("output must be 'images' or 'image'")
        if cls.image_mode not in ("L", "RGB"):
            problems.append("image_mode must be 'L' or 'RGB'")
        if not problems and config_cls is not None:
            for preset in presets:
                try:
                    cls.make_config(preset)
                except Exception as error:
                    problems.append(f"preset {preset!r} is invalid: {error}")
        if problems:
            name = getattr(cls, "name", cls.__name__)
            raise PluginError(f"translator {name!r} ({cls.__module__}): {'; '.join(problems)}")
