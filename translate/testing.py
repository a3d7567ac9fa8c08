"""A pytest mixin that checks any translator the same way.

Subclass it in your plugin's tests and name the class::

    from translate.testing import TranslatorTests
    from my_plugin import MyTranslator

    class TestMyTranslator(TranslatorTests):
        translator = MyTranslator

gan-translate's own suite applies it to every installed translator, so a new plugin
is held to the same checks from its first day.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from PIL import Image

from translate.config import config_fields, field_docs
from translate.data.images import to_mode
from translate.engine.trainer import train
from translate.hub.layout import read_meta
from translate.hub.pretrained import from_pretrained
from translate.plugins import get_registry
from translate.translator import Translator

# One quick step on the starter preset: small batch, everything written at step 1.
ONE_STEP = {"steps": "1", "batch_size": "4", "checkpoint_every": "1", "sample_every": "1",
            "log_every": "1", "evaluate_at_end": "false", "workers": "0"}


class TranslatorTests:
    """Save/load round trip, one CPU training step, valid metadata, infer as promised."""

    translator: ClassVar[type[Translator]]
    overrides: ClassVar[dict[str, str]] = {}  # extra `--set` values to make the test model small

    # ---- helpers --------------------------------------------------------------------------

    def make(self, **overrides: str) -> Translator:
        torch.manual_seed(0)
        config = self.translator.make_config("starter", {**self.overrides, **overrides})
        return self.translator(config).eval()

    def example_inputs(self) -> dict[str, Any]:
        """Every declared input at its default; images from held-out data, masks a square."""
        cls = self.translator
        heldout = get_registry().open_source(cls.datasets[0]).split("heldout")
        image = to_mode(heldout[0]["image"], cls.image_mode)
        mask = Image.new("L", image.size, 0)
        mask.paste(255, (image.width // 4, image.height // 4, image.width // 2, image.height // 2))
        by_kind = {"image": image, "mask": mask}
        return {p.name: by_kind.get(p.kind, p.default) for p in cls.inputs}

    # ---- the checks -----------------------------------------------------------------------

    def test_metadata_is_valid(self) -> None:
        cls = self.translator
        cls.validate()
        docs = field_docs(cls.Config)
        undocumented = [f.name for f in config_fields(cls.Config) if not docs.get(f.name)]
        assert not undocumented, f"config fields without a # comment: {undocumented}"
        for preset in cls.presets:
            cls.make_config(preset)
        for param in cls.inputs:
            assert param.help, f"input {param.name!r} has no help text"
            if param.kind == "choice":
                assert param.default in param.choices

    def test_save_then_load_gives_same_output(self, tmp_path: Path) -> None:
        model = self.make()
        inputs = self.example_inputs()
        with torch.no_grad():
            before = model.infer(**inputs)
        model.save_pretrained(tmp_path / "weights")
        meta = read_meta(tmp_path / "weights")
        assert meta["translator"] == self.translator.name
        assert (tmp_path / "weights" / "README.md").read_text().startswith("---")
        loaded = from_pretrained(tmp_path / "weights", expected=self.translator)
        with torch.no_grad():
            after = loaded.infer(**inputs)
        assert len(before) == len(after)
        for a, b in zip(before, after, strict=True):
            assert np.array_equal(np.asarray(a), np.asarray(b))

    def test_one_training_step_on_cpu(self, tmp_path: Path) -> None:
        cls = self.translator
        config = cls.make_config("starter", {**self.overrides, **ONE_STEP})
        source = get_registry().open_source(cls.datasets[0])
        torch.manual_seed(0)
        initial = cls(config).generators.state_dict()
        weights = train(cls, config, train_source=source.split("train"),
                        heldout_source=source.split("heldout"), out_dir=tmp_path / "run",
                        device="cpu", progress=False, command="test")
        assert (tmp_path / "run" / "checkpoint.safetensors").is_file()
        assert list((tmp_path / "run" / "samples").glob("*.png"))
        trained = from_pretrained(weights, expected=cls).generators.state_dict()
        changed = [k for k in initial if not torch.equal(initial[k], trained[k])]
        assert changed, "one training step changed no generator weight"

    def test_infer_writes_what_it_promises(self) -> None:
        cls = self.translator
        model = self.make()
        inputs = self.example_inputs()
        with torch.no_grad():
            images = model.infer(**inputs)
        assert images and all(isinstance(i, Image.Image) for i in images)
        if cls.output == "image":
            assert len(images) == 1
        count = inputs.get("count")
        if cls.output == "images" and isinstance(count, int):
            assert len(images) == count
        seeds = [p.name for p in cls.inputs if p.kind == "seed"]
        if seeds:
            with torch.no_grad():
                again = model.infer(**inputs)
            assert all(np.array_equal(np.asarray(a), np.asarray(b))
                       for a, b in zip(images, again, strict=True)), "same seed, different images"

