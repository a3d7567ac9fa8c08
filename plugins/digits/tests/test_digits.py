"""digits: the bundled starter model learns, and the plugin does what its docs say.

(The shared TranslatorTests checks run on digits from tests/test_translators.py.)
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from translate.data.sources import digits_source
from translate.hub.pretrained import from_pretrained
from translate.metrics import pixel_classifier, pixels, stack
from translate_digits.model import Discriminator, Generator
from translate_digits.translator import DigitsTranslator

STARTER = Path(str(DigitsTranslator.starter_weights))


@pytest.fixture(scope="module")
def starter() -> DigitsTranslator:
    return from_pretrained(STARTER, expected=DigitsTranslator)


@pytest.fixture(scope="module")
def starter_metrics(starter) -> dict[str, float]:
    source = digits_source()
    with torch.no_grad():
        return starter.evaluate(source.split("heldout"), source.split("train"))


def test_starter_weights_ship_in_the_package_and_are_small():
    assert sorted(p.name for p in STARTER.iterdir()) == [
        "README.md", "config.json", "model.safetensors"]
    assert (STARTER / "model.safetensors").stat().st_size <= 5 * 2**20


def test_starter_weights_were_made_by_the_train_command():
    meta = json.loads((STARTER / "config.json").read_text())
    assert meta["provenance"]["command"] == "translate train digits --preset starter"
    assert meta["provenance"]["steps"] == DigitsTranslator.make_config("starter").steps
    assert "translate train digits --preset starter" in (STARTER / "README.md").read_text()


def test_starter_draws_the_requested_class(starter_metrics):
    # An SVM trained only on held-out real digits recognises >= 90% of generated digits as
    # the class asked for; the same network untrained scores chance.
    assert starter_metrics["class_accuracy"] >= 0.90
    assert starter_metrics["class_accuracy_untrained_baseline"] <= 0.2


def test_starter_has_not_collapsed_or_memorised(starter_metrics):
    assert starter_metrics["diversity_ratio_mean"] >= 0.7
    assert starter_metrics["diversity_ratio_min_class"] >= 0.5
    assert (starter_metrics["nearest_train_distance_generated"]
            >= 0.9 * starter_metrics["nearest_train_distance_heldout_real"])


def test_label_seven_gives_sevens(starter):
    source = digits_source()
    real, labels = stack(starter.make_dataset(source.split("heldout"), train=False))
    classifier = pixel_classifier(pixels(real), labels.numpy())
    images = starter.infer(label="7", count=16, seed=0)
    arrays = np.stack([np.asarray(i, dtype=np.float32) / 255.0 for i in images])
    predicted = classifier.predict(arrays.reshape(16, -1))
    assert (predicted == 7).sum() >= 15
    assert all(i.size == (16, 16) and i.mode == "L" for i in images)


def test_label_all_cycles_through_the_classes(starter):
    images = starter.infer(label="all", count=20, seed=0)
    assert len(images) == 20


def test_networks_shapes_follow_the_config():
    generator = Generator(latent_dim=8, num_classes=10, width=4, image_size=32)
    discriminator = Discriminator(num_classes=10, width=4, image_size=32)
    labels = torch.arange(3)
    images = generator(torch.randn(3, 8), labels)
    assert images.shape == (3, 1, 32, 32) and images.abs().max() <= 1
    assert discriminator(images, labels).shape == (3,)
    with pytest.raises(ValueError, match="4 times a power of two"):
        Generator(latent_dim=8, num_classes=10, width=4, image_size=24)


def test_unlabelled_data_is_refused_in_one_line(tmp_path, capsys):
    from PIL import Image

    from translate.cli import main

    for index in range(4):
        Image.new("L", (8, 8), index * 60).save(tmp_path / f"{index}.png")
    code = main(["train", "digits", "--data", str(tmp_path), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 1
    assert err == (f"error: {tmp_path}[train]: digits needs labelled images of 10 classes "
                   "(class sub-folders or a labelled dataset); found no labels\n")


def test_listing_digits_imports_no_heavy_library():
    # `translate list` imports every translator module; scikit-learn (the evaluation's
    # classifiers), SciPy and torchvision are imported only where they are used.
    code = ("import sys, translate_digits.translator; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'sklearn', 'scipy', 'torchvision', 'pandas', 'matplotlib'}))")
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout.strip()
    assert found == "[]"
