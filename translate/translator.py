"""The translator contract: what a plugin's GAN declares and the few methods it writes.

A translator is an `nn.Module` holding its generator(s). The class attributes
describe it well enough for the CLI and the demo to build their interfaces with
no plugin-specific code; the methods are the parts that are truly the plugin's
own (networks, losses, sampling, inference, evaluation). Training, checkpoints,
the Hub layout and weights resolution are shared and live elsewhere.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from abc import ABCMeta, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import torch
from torch import nn

from translate.config import (
    TrainConfig,
    build_config,
    config_fields,
    config_from_dict,
    config_to_dict,
)
from translate.errors import ConfigError, PluginError, WeightsError
from translate.hub import layout
from translate.hub.card import render_model_card
from translate.types import Architecture, Batch, Losses, Networks, Param, Task
from translate.types import ParamKind as ParamKind  # re-exported: it was defined here
from translate.version import __version__

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    from PIL import Image

    from translate.data.source import Source
    from translate.inference.backends import EngineBuilder, PendingBuild

__all__ = ["Architecture", "Batch", "Losses", "Networks", "Param", "Task", "Translator"]


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
    # X.json, if present, sets other inputs for that example, e.g. {"direction": "BtoA"},
    # and its "caption" names the example. A translator without image inputs has one
    # example per X.json.
    examples: ClassVar[Traversable | Path | None] = None
    # Published checkpoints this plugin reads, by name (translate.hub.index): a JSON list.
    curated: ClassVar[Traversable | Path | None] = None
    # Named generator architectures, the first being the default (`--set arch=NAME`). The
    # network's keyword arguments are config fields of the same names; they and `arch`
    # form the `model` block of config.json, from which loading builds the networks.
    architectures: ClassVar[Mapping[str, Architecture]] = {}
    # Config fields outside the constructor that still decide what the weights compute
    # (pix2pix's colour space): stored in the `model` block too.
    model_fields: ClassVar[tuple[str, ...]] = ()
    # Config keys renamed since format-1 folders were written: old name -> new name.
    renamed_fields: ClassVar[Mapping[str, str]] = {}
    # The most output pixels one demo request may make (None: only the image pixel cap);
    # the demo checks `output_pixels` against it before running and names it when refusing.
    max_output_pixels: ClassVar[int | None] = None

    @classmethod
    def inputs_for(cls, config: TrainConfig) -> tuple[Param, ...]:
        """The `inputs` that weights trained with `config` can use; the demo offers only these."""
        return cls.inputs

    @classmethod
    def output_pixels(cls, sizes: Mapping[str, tuple[int, int]], params: Mapping[str, Any]) -> int:
        """How many pixels `infer` would make, worked out before running it.

        `sizes` holds the (width, height) of each `image` input, by name, and `params` the
        other inputs. The default is one output the size of each image input.
        """
        return sum(width * height for width, height in sizes.values())

    def __init__(self, config: TrainConfig) -> None:
        super().__init__()
        if self.architectures and not config.arch:
            config = dataclasses.replace(config, arch=next(iter(self.architectures)))
        self.config = config
        self.generators = nn.ModuleDict(self.build_generators())

    # ---- the architecture ---------------------------------------------------------------

    @property
    def architecture(self) -> Architecture:
        """The named architecture this config chose."""
        return self.architectures[self.config.arch]

    def build_network(self, **changes: Any) -> nn.Module:
        """A fresh generator of the chosen architecture, its arguments read from the config.

        `changes` override arguments, e.g. a reverse generator with the channels swapped.
        """
        values = {name: getattr(self.config, name) for name in self.architecture.arguments()
                  if hasattr(self.config, name)}
        return self.architecture.build(**{**values, **changes})

    @classmethod
    def model_keys(cls, arch: str = "") -> tuple[str, ...]:
        """The config fields that decide what the weights of `arch` compute: the `model` block."""
        fields = [f.name for f in config_fields(cls.Config)]
        if not cls.architectures:
            # Without declared architectures, everything a plugin added to the shared
            # training knobs is taken to describe the model.
            shared = {f.name for f in config_fields(TrainConfig)}
            return tuple(name for name in fields if name not in shared)
        chosen = cls.architectures.get(arch) or next(iter(cls.architectures.values()))
        arguments = set(chosen.arguments()) | set(cls.model_fields)
        return tuple(name for name in fields if name in arguments)

    def model_config(self) -> dict[str, Any]:
        """The `model` block: the architecture's name and exactly its arguments."""
        values = config_to_dict(self.config)
        # "" for a translator that declares no architectures: its one network is implied.
        return {"arch": self.config.arch} | {key: values[key]
                                              for key in self.model_keys(self.config.arch)}

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
        from translate.data.pipeline import ImageDataset  # albumentations is slow to import

        return ImageDataset(
            source,
            size=self.config.image_size,
            mode=self.image_mode,
            augmentations=self.augmentations() if train else [],
        )

    # ---- shared behaviour -----------------------------------------------------------------

    @classmethod
    def make_config(
        cls, preset: str = "starter", overrides: Mapping[str, str] | None = None, *,
        values: Mapping[str, Any] | None = None,
    ) -> TrainConfig:
        """The named preset, then typed `values`, then `--set` style string overrides."""
        config = build_config(cls.Config, presets=cls.presets, preset=preset,
                              overrides=overrides, values=values)
        return cls._with_arch(config)

    @classmethod
    def _with_arch(cls, config: TrainConfig) -> TrainConfig:
        if not cls.architectures:
            if config.arch:
                raise ConfigError(f"{cls.name} has one architecture; arch={config.arch!r} "
                                  "is not needed")
            return config
        if not config.arch:
            return dataclasses.replace(config, arch=next(iter(cls.architectures)))
        if config.arch not in cls.architectures:
            raise ConfigError(f"arch must be one of {', '.join(cls.architectures)}; "
                              f"got {config.arch!r}")
        return config

    @property
    def device(self) -> torch.device:
        return next(self.generators.parameters()).device

    # ---- fast inference: one switch, used by infer, eval and the demo --------------------

    def use_backend(self, backend: str = "auto", *, cache_dir: str | Path | None = None,
                    build_elsewhere: EngineBuilder | None = None) -> None:
        """Run generators through a fast engine from now on (translate.inference.backends).

        `auto` picks the fastest engine that reproduces eager fp32 within 1e-4 on this
        device. Engines are built in the calling thread on first use: torch.export patches
        `nn.Module.__call__` for the whole process while it traces, so a build in a
        background thread would capture whatever inference the foreground runs meanwhile.

        A server passes `build_elsewhere` instead: an engine not yet on disk is then asked
        of it, `build_elsewhere(name, channels, multiple)` (another process runs
        `use_backend(backend, cache_dir=...)` and `runner(name, ...)` on the same weights),
        and until that build is done the network itself answers.
        """
        import threading

        from translate.inference.backends import BACKENDS
        from translate.paths import translate_home

        if backend not in BACKENDS:
            raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
        self._backend = (backend, Path(cache_dir) if cache_dir else
                         translate_home() / "cache" / "inference", build_elsewhere)
        self._runners: dict[str, Any] = {}
        self._builds: dict[str, PendingBuild] = {}
        self._runners_lock = threading.Lock()

    def runner(self, name: str, *, channels: int, multiple: int = 1) -> Any:
        """Generator `name` as inference should call it: `images -> output`, any size.

        The network itself, unless `use_backend` chose an engine; that engine is built on
        first use (or asked of `build_elsewhere`) and checked against eager on a small
        input of `channels` channels whose sides are a multiple of `multiple`.
        """
        network = self.generators[name]
        setting = getattr(self, "_backend", None)
        if setting is None or setting[0] == "eager":
            return network
        with self._runners_lock:
            if name in self._runners:
                return self._runners[name]
            from translate.inference.backends import NotBuilt, compile_for_inference

            backend, cache_dir, build_elsewhere = setting
            pending = self._builds.get(name)
            if pending is not None and not pending.done():
                return network
            side = -(-32 // multiple) * multiple
            example = torch.rand(1, channels, side, side,
                                 generator=torch.Generator().manual_seed(0)).to(self.device)
            options = {"device": self.device, "example": example, "cache_dir": cache_dir}
            try:
                runner = compile_for_inference(network, backend=backend,
                                               build=build_elsewhere is None, **options)
            except NotBuilt as missing:
                if pending is None:
                    self._builds[name] = build_elsewhere(name, channels, multiple)
                    return network
                # The build elsewhere ended without the engine (it failed, or found it
                # inexact): eager from now on, rather than asking again on every request.
                runner = dataclasses.replace(
                    compile_for_inference(network, backend="eager", **options),
                    reason=f"{backend} was built elsewhere and is still missing ({missing})")
            self._runners[name] = runner
            return runner

    def engines(self) -> dict[str, str]:
        """{generator: "engine (how it was chosen)"} for each engine `runner` has built."""
        if not hasattr(self, "_runners"):  # use_backend was never called
            return {}
        with self._runners_lock:  # a server's requests may be adding one meanwhile
            return {name: f"{runner.name} ({runner.reason})"
                    for name, runner in self._runners.items()}

    def export_inputs(self, name: str) -> list[tuple[torch.Tensor, ...]]:
        """Three input tuples for generator `name`: the first exports it to ONNX, all three
        check the file against PyTorch (`translate export`). Default: not exportable."""
        from translate.inference.export import ExportError

        raise ExportError(f"{self.name} declares no export inputs for {name!r}, so its "
                          "generator cannot be exported")

    def untrained(self, *, seed: int = 0) -> Translator:
        """The same architecture freshly initialised: the "no training at all" baseline."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return type(self)(self.config).to(self.device).eval()

    def card_notes(self, metrics: Mapping[str, float]) -> str:
        """Text for the model card's "how these weights were made" section (default none)."""
        return ""

    def save_pretrained(self, folder: str | Path, *,
                        state_dict: Mapping[str, torch.Tensor] | None = None,
                        provenance: Mapping[str, Any] | None = None,
                        metrics: Mapping[str, float] | None = None,
                        repo_id: str | None = None) -> Path:
        """Write the Hub layout: config.json, model.safetensors and a model card.

        `state_dict` replaces the generators' own (e.g. EMA weights); the card's notes come
        from `card_notes` unless `provenance` already has some.
        """
        state = state_dict if state_dict is not None else self.generators.state_dict()
        provenance = {"library_version": __version__, **(provenance or {})}
        notes = self.card_notes(metrics or {})
        if notes and "notes" not in provenance:
            provenance["notes"] = notes
        model = self.model_config()
        meta = {
            "format_version": layout.FORMAT_VERSION,
            "translator": self.name,
            "task": self.task.value,
            "description": self.description,
            "model": model,
            "training": {k: v for k, v in config_to_dict(self.config).items()
                         if k not in model},
            "provenance": provenance,
            "metrics": dict(metrics or {}),
        }
        return layout.write_folder(folder, tensors=state, meta=meta,
                                   metadata={"format": "pt", "translator": self.name},
                                   card=render_model_card(meta, repo_id=repo_id))

    @classmethod
    def from_pretrained(cls, folder: str | Path, *, device: str | torch.device = "cpu",
                        **_: Any) -> Translator:
        """Load a local weights folder written for this translator, strictly.

        The networks are built from the `model` block alone; training keys that this
        version does not know, or no longer has, are set aside (see `config_from_meta`).
        Hub repo ids are resolved by `translate.hub.pretrained.from_pretrained`.
        """
        folder = Path(str(folder)).expanduser()
        if not folder.is_dir():
            raise WeightsError(f"{folder}: no such weights folder")
        meta = layout.read_meta(folder)
        if meta["translator"] != cls.name:
            raise WeightsError(f"{folder}: these weights are for {meta['translator']!r}, "
                               f"not {cls.name!r}")
        try:
            config = cls.config_from_meta(meta)
        except ConfigError as error:
            raise WeightsError(f"{folder / layout.CONFIG_NAME}: {error}") from None
        translator = cls(config)
        layout.load_state_dict_strict(translator.generators, layout.read_state(folder, meta),
                                      source=str(folder / layout.WEIGHTS_NAME))
        return translator.to(device).eval()

    @classmethod
    def config_from_meta(cls, meta: Mapping[str, Any]) -> TrainConfig:
        """The config that a config.json describes, format 1 or 2.

        The `model` block must fit (a wrong type there is an error); training keys are
        provenance: unknown ones are set aside with a warning, and if the known ones no
        longer validate, the defaults stand in for them.
        """
        if meta["format_version"] == 1:
            flat = {cls.renamed_fields.get(k, k): v for k, v in meta["config"].items()}
            flat = cls.upgrade_v1(flat)
            arch = flat.pop("arch", "") or next(iter(cls.architectures), "")
            keys = set(cls.model_keys(arch))
            model = {"arch": arch, **{k: v for k, v in flat.items() if k in keys}}
            training = {k: v for k, v in flat.items() if k not in keys}
        else:
            model, training = dict(meta["model"]), dict(meta.get("training") or {})
        known = {f.name for f in config_fields(cls.Config)}
        ignored = sorted(k for k in {**model, **training} if k not in known)
        if ignored:
            warnings.warn(f"{cls.name} weights: config keys this version does not know were "
                          f"set aside: {', '.join(ignored)}", UserWarning, stacklevel=3)
        model_values = {k: v for k, v in model.items() if k in known}
        kept = {}
        for key, value in training.items():
            if key in known and key not in model_values:
                try:  # one training value of the wrong type must not cost the whole folder
                    config_from_dict(cls.Config, {**model_values, key: value})
                except ConfigError:
                    continue
                kept[key] = value
        try:
            config = config_from_dict(cls.Config, {**kept, **model_values})
        except ConfigError:
            config = config_from_dict(cls.Config, model_values)
        return cls._with_arch(config)

    @classmethod
    def upgrade_v1(cls, values: dict[str, Any]) -> dict[str, Any]:
        """Rewrite a format-1 flat config into today's names and values (default: as is)."""
        return values

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
        elif any(p.demo not in ("main", "advanced", "hidden") for p in inputs):
            problems.append("an input's demo placement must be main, advanced or hidden")
        if getattr(cls, "output", None) not in ("images", "image"):
            problems.append("output must be 'images' or 'image'")
        if cls.image_mode not in ("L", "RGB"):
            problems.append("image_mode must be 'L' or 'RGB'")
        architectures = getattr(cls, "architectures", None)
        if not isinstance(architectures, Mapping) or not all(
                isinstance(a, Architecture) for a in architectures.values()):
            problems.append("architectures must map names to translate.Architecture")
        if not problems and config_cls is not None:
            for preset in presets:
                try:
                    cls.make_config(preset)
                except Exception as error:
                    problems.append(f"preset {preset!r} is invalid: {error}")
        if problems:
            name = getattr(cls, "name", cls.__name__)
            raise PluginError(f"translator {name!r} ({cls.__module__}): {'; '.join(problems)}")
