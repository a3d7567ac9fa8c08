"""The checks every translator passes, as pytest mixins split by concern (diffusers-style).

A plugin's test file subclasses the mixins it wants (or `TranslatorTests`, all of them)
and declares its translator and a tiny test config: `--set` values that make the model
small enough for a CPU test in seconds::

    from translate.testing import TranslatorTests
    from my_plugin import MyTranslator

    class TestMyTranslator(TranslatorTests):
        translator = MyTranslator
        tiny = {"width": "8", "image_size": "16"}

Every check builds from the `starter` preset plus `tiny`, seeded, on the CPU. The
`translate` pytest plugin (installed with gan-translate) gives each test its own
TRANSLATE_HOME and keeps it offline, so a training step in a test never becomes a user's
"latest" weights and nothing reaches the network.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import torch
from PIL import Image

from translate.config import config_fields, field_docs
from translate.data.images import to_mode
from translate.data.source import Source, Subset
from translate.engine.trainer import train
from translate.hub.layout import CONFIG_NAME, read_meta
from translate.plugins import get_registry
from translate.translator import Translator

__all__ = [
    "ContractTests",
    "EvaluationTests",
    "InferenceTests",
    "SerialisationTests",
    "StarterWeightsTests",
    "TrainingTests",
    "TranslatorTests",
]

# One quick step on the tiny config: small batch, everything written at step 1.
ONE_STEP = {"steps": "1", "batch_size": "2", "checkpoint_every": "1", "sample_every": "1",
            "log_every": "1", "evaluate_at_end": "false", "workers": "0"}


class _TranslatorCase:
    """What every mixin shares: the translator under test and its tiny config."""

    translator: ClassVar[type[Translator]]
    tiny: ClassVar[dict[str, str]]  # `--set` values that make the model tiny (required)
    overrides: ClassVar[dict[str, str]] = {}  # the name `tiny` had before 0.2

    @classmethod
    def tiny_overrides(cls) -> dict[str, str]:
        return dict(getattr(cls, "tiny", None) or cls.overrides)

    def make(self, **overrides: str) -> Translator:
        """A seeded, untrained translator of the tiny config, in eval mode."""
        torch.manual_seed(0)
        config = self.translator.make_config("starter", {**self.tiny_overrides(), **overrides})
        return self.translator(config).eval()

    def source(self) -> Source:
        return get_registry().open_source(self.translator.datasets[0])

    def example_inputs(self) -> dict[str, Any]:
        """Every declared input at its default; images from held-out data, masks a square."""
        cls = self.translator
        image = to_mode(self.source().split("heldout")[0]["image"],
                        "RGBA" if cls.keeps_alpha else cls.image_mode)
        mask = Image.new("L", image.size, 0)
        mask.paste(255, (image.width // 4, image.height // 4, image.width // 2, image.height // 2))
        by_kind = {"image": image, "mask": mask}
        return {p.name: by_kind.get(p.kind, p.default) for p in cls.inputs}

    def infer(self, model: Translator, inputs: dict[str, Any]) -> list[Image.Image]:
        with torch.no_grad():
            return model.infer(**inputs)


class ContractTests(_TranslatorCase):
    """The declarations the CLI and the demo build from are valid and documented."""

    def test_declares_a_tiny_test_config(self) -> None:
        assert self.tiny_overrides(), (f"{type(self).__name__} must declare `tiny`: the --set "
                                       "values that make its translator small for tests")
        self.make()

    def test_metadata_is_valid(self) -> None:
        cls = self.translator
        cls.validate()
        for preset in cls.presets:
            cls.make_config(preset)
        for param in cls.inputs:
            assert param.help, f"input {param.name!r} has no help text"
            if param.kind == "choice":
                assert param.default in param.choices

    def test_every_config_field_is_documented(self) -> None:
        docs = field_docs(self.translator.Config)
        undocumented = [f.name for f in config_fields(self.translator.Config)
                        if not docs.get(f.name)]
        assert not undocumented, f"config fields without a # comment: {undocumented}"

    def test_every_architecture_builds_from_its_model_block(self) -> None:
        cls = self.translator
        for arch in cls.architectures or [""]:
            model = self.make(**({"arch": arch} if arch else {}))
            block = model.model_config()
            assert block["arch"] == arch
            assert set(block) - {"arch"} <= {f.name for f in config_fields(cls.Config)}


class SerialisationTests(_TranslatorCase):
    """Weights folders round-trip, survive config changes, and refuse tampering."""

    def test_save_then_load_gives_same_output(self, tmp_path: Path) -> None:
        model = self.make()
        inputs = self.example_inputs()
        before = self.infer(model, inputs)
        folder = model.save_pretrained(tmp_path / "weights")
        meta = read_meta(folder)
        assert meta["translator"] == self.translator.name and "arch" in meta["model"]
        assert (folder / "README.md").read_text().startswith("---")
        after = self.infer(self.translator.from_pretrained(folder), inputs)
        assert len(before) == len(after)
        for a, b in zip(before, after, strict=True):
            assert np.array_equal(np.asarray(a), np.asarray(b))

    def test_same_weights_give_the_same_bytes(self, tmp_path: Path) -> None:
        model = self.make()
        first = model.save_pretrained(tmp_path / "a") / "model.safetensors"
        second = model.save_pretrained(tmp_path / "b") / "model.safetensors"
        assert first.read_bytes() == second.read_bytes()

    def test_an_extra_or_missing_training_key_still_loads(self, tmp_path: Path) -> None:
        folder = self.make().save_pretrained(tmp_path / "weights")
        meta = json.loads((folder / CONFIG_NAME).read_text())
        meta["training"]["a_knob_from_a_later_version"] = 1
        meta["training"].pop(next(iter(meta["training"])))
        (folder / CONFIG_NAME).write_text(json.dumps(meta))
        with pytest.warns(UserWarning, match="a_knob_from_a_later_version"):
            self.translator.from_pretrained(folder)


class TrainingTests(_TranslatorCase):
    """One real training step on the CPU, through the shared engine."""

    def test_one_training_step_on_cpu(self, tmp_path: Path) -> None:
        """In fp32, and in bf16 autocast, which on the CPU also runs the networks NHWC."""
        cls = self.translator
        source = self.source()
        for precision in ("no", "bf16"):
            config = cls.make_config("starter", {**self.tiny_overrides(), **ONE_STEP,
                                                 "mixed_precision": precision})
            torch.manual_seed(0)
            initial = cls(config).generators.state_dict()
            out = tmp_path / precision
            weights = train(cls, config, train_source=source.split("train"),
                            heldout_source=source.split("heldout"), out_dir=out,
                            device="cpu", progress=False, command="test")
            assert (out / "checkpoint.safetensors").is_file()
            assert list((out / "samples").glob("*.png"))
            trained = cls.from_pretrained(weights).generators.state_dict()
            changed = [k for k in initial if not torch.equal(initial[k], trained[k])]
            assert changed, f"one {precision} training step changed no generator weight"


class InferenceTests(_TranslatorCase):
    """infer returns what the translator's declarations promise."""

    def test_infer_writes_what_it_promises(self) -> None:
        cls = self.translator
        model = self.make()
        inputs = self.example_inputs()
        images = self.infer(model, inputs)
        assert images and all(isinstance(i, Image.Image) for i in images)
        if cls.output == "image":
            assert len(images) == 1
        count = inputs.get("count")
        if cls.output == "images" and isinstance(count, int):
            assert len(images) == count
        if any(p.kind == "seed" for p in cls.inputs):
            again = self.infer(model, inputs)
            assert all(np.array_equal(np.asarray(a), np.asarray(b))
                       for a, b in zip(images, again, strict=True)), "same seed, other images"


class EvaluationTests(_TranslatorCase):
    """evaluate, checked generically: finite figures, and a figure for every baseline.

    Baselines follow one naming rule: a key holding "baseline" starts with the name of the
    figure it is the baseline of (`psnr_baseline_input`, `class_accuracy_untrained_baseline`,
    `faceness_blurred_noise_baseline`), so a reader, the model card and this check can pair
    them. `evaluation_options` are extra keyword arguments for `evaluate` (fewer samples).
    """

    evaluation_options: ClassVar[dict[str, Any]] = {}
    # Records of each split evaluate sees, evenly spread over it (None = all of them).
    evaluation_records: ClassVar[int | None] = 16

    def evaluation_sources(self) -> tuple[Source, Source]:
        source = self.source()
        return tuple(self._spread(source.split(part), part) for part in ("heldout", "train"))

    def _spread(self, part: Source, name: str) -> Source:
        count = self.evaluation_records
        if count is None or len(part) <= count:
            return part
        return Subset(part, [i * len(part) // count for i in range(count)], name)

    def test_evaluate_gives_finite_figures_and_every_baseline_its_figure(self) -> None:
        heldout, trained = self.evaluation_sources()
        with torch.no_grad():
            metrics = self.make().evaluate(heldout, trained, **self.evaluation_options)
        assert metrics, "evaluate returned no figures"
        bad = {k: v for k, v in metrics.items() if not math.isfinite(float(v))}
        assert not bad, f"non-finite figures: {bad}"
        figures = [key for key in metrics if "baseline" not in key]
        orphans = [key for key in metrics if "baseline" in key
                   and not any(key.startswith(figure + "_") for figure in figures)]
        assert not orphans, f"baselines without their figure: {orphans}"


class StarterWeightsTests(_TranslatorCase):
    """The bundled starter ships, is small, loads, and was made by the train command."""

    max_starter_bytes: ClassVar[int] = 16 * 2**20

    def test_starter_ships_loads_and_was_made_by_the_train_command(self) -> None:
        cls = self.translator
        if cls.starter_weights is None:
            pytest.skip(f"{cls.name} ships no starter weights")
        folder = Path(str(cls.starter_weights))
        assert (folder / "model.safetensors").stat().st_size <= self.max_starter_bytes
        meta = read_meta(folder)
        assert meta["provenance"]["command"] == f"translate train {cls.name} --preset starter"
        images = self.infer(cls.from_pretrained(folder), self.example_inputs())
        assert images and all(isinstance(i, Image.Image) for i in images)


class TranslatorTests(ContractTests, SerialisationTests, TrainingTests, InferenceTests,
                      EvaluationTests, StarterWeightsTests):
    """Every shared check."""
