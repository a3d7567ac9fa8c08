"""faces: the bundled starter model draws faces, and the plugin does what its docs say.

(The shared TranslatorTests checks, including save -> load -> same output and one CPU
training step, run on faces from tests/test_translators.py.)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from translate import hookimpl
from translate.cli import main
from translate.data.sources import lfw_source
from translate.engine.trainer import train
from translate.errors import ConfigError
from translate.hub.pretrained import from_pretrained
from translate.plugins import load_plugins, open_source
from translate.testing import ONE_STEP
from translate_faces.model import Discriminator, Generator, diff_augment, slerp
from translate_faces.translator import (
    FacesTranslator,
    blurred_noise,
    copying_z,
    face_classifier,
    non_faces,
)

STARTER = Path(str(FacesTranslator.starter_weights))
COMMAND = "translate train faces --preset starter"


@pytest.fixture(scope="module")
def starter() -> FacesTranslator:
    return from_pretrained(STARTER, expected=FacesTranslator)


@pytest.fixture(scope="module")
def starter_metrics(starter) -> dict[str, float]:
    source = lfw_source()
    return starter.evaluate(source.split("heldout"), source.split("train"))


def tiny(**overrides: str) -> FacesTranslator:
    torch.manual_seed(0)
    values = {"width": "4", "latent_dim": "8", **overrides}
    return FacesTranslator(FacesTranslator.make_config("starter", values)).eval()


# ---- the shipped starter model ------------------------------------------------------------


def test_starter_weights_ship_in_the_package_and_are_small():
    assert sorted(p.name for p in STARTER.iterdir()) == [
        "README.md", "config.json", "model.safetensors"]
    assert (STARTER / "model.safetensors").stat().st_size <= 10 * 2**20


def test_starter_weights_were_made_by_the_train_command():
    meta = json.loads((STARTER / "config.json").read_text())
    assert meta["provenance"]["command"] == COMMAND
    assert meta["provenance"]["data"] == "lfw"
    assert meta["provenance"]["steps"] == FacesTranslator.make_config("starter").steps
    assert COMMAND in (STARTER / "README.md").read_text()


def test_starter_draws_faces(starter_metrics):
    # The classifier never saw a training face nor a sample; blurred noise scores low.
    assert starter_metrics["faceness"] >= 0.80
    assert starter_metrics["faceness_blurred_noise_baseline"] <= 0.25
    assert starter_metrics["faceness_real_train_faces"] >= 0.80


def test_starter_is_varied_and_copies_no_training_face(starter_metrics):
    assert 0.5 <= starter_metrics["diversity_ratio"] <= 1.5
    # Samples are as far from the training faces as unseen real faces are (z near 0), and
    # fewer fall below the closest held-out face than would for samples of real faces (~5%).
    assert starter_metrics["nearest_train_distance_z"] > -2.0
    assert starter_metrics["share_closer_than_any_heldout_real"] <= 0.01
    assert (starter_metrics["nearest_train_distance_generated_median"]
            >= 0.9 * starter_metrics["nearest_train_distance_heldout_real_median"])


def test_copying_z_flags_a_generator_that_copies():
    rng = np.random.default_rng(0)
    heldout = rng.uniform(3, 6, 20)
    assert abs(copying_z(rng.uniform(3, 6, 500), heldout)) < 2.5
    assert copying_z(rng.uniform(0, 1, 500), heldout) < -5


def test_starter_frechet_distance_beats_blurred_noise(starter_metrics):
    space = next(k for k in starter_metrics if k.startswith("frechet_")
                 and not k.endswith(("_baseline", "_faces")))
    assert space in ("frechet_inception", "frechet_random_conv")
    assert starter_metrics[space] < starter_metrics[f"{space}_blurred_noise_baseline"]


# ---- inference ------------------------------------------------------------------------------


def test_same_seed_same_faces_other_seed_other_faces(starter):
    first = starter.infer(count=4, seed=0)
    again = starter.infer(count=4, seed=0)
    other = starter.infer(count=4, seed=1)
    assert all(i.size == (32, 32) and i.mode == "L" for i in first)
    assert all(np.array_equal(np.asarray(a), np.asarray(b))
               for a, b in zip(first, again, strict=True))
    assert not np.array_equal(np.asarray(first[0]), np.asarray(other[0]))


def test_truncation_trades_variety_for_the_average_face(starter):
    def spread(truncation: float) -> float:
        images = starter.infer(count=16, seed=0, truncation=truncation)
        return float(np.stack([np.asarray(i, np.float32) for i in images]).std(0).mean())

    assert spread(0.0) == 0.0  # every latent scaled to the mean: one face
    assert spread(0.5) < spread(1.0)
    with pytest.raises(ConfigError, match="truncation"):
        starter.infer(count=1, truncation=1.5)


def test_walk_is_one_strip_from_seed_to_walk_to(starter):
    (strip,) = starter.infer(seed=3, walk_to=7, walk_steps=6)
    assert strip.size == (6 * 34 + 2, 36)  # 32x32 faces, 2-pixel gaps
    pixels = np.asarray(strip)
    first, last = starter.infer(count=1, seed=3)[0], starter.infer(count=1, seed=7)[0]
    assert np.array_equal(pixels[2:34, 2:34], np.asarray(first))
    assert np.array_equal(pixels[2:34, 5 * 34 + 2:6 * 34], np.asarray(last))
    with pytest.raises(ConfigError, match="walk_steps"):
        starter.infer(walk_steps=1)


def test_slerp_keeps_gaussian_norms_and_ends_at_both_latents():
    a, b = torch.randn(512, generator=torch.Generator().manual_seed(0)), torch.randn(512)
    path = slerp(a, b, 5)
    assert torch.allclose(path[0], a, atol=1e-5) and torch.allclose(path[-1], b, atol=1e-5)
    assert (path.norm(dim=1) > 0.9 * min(a.norm(), b.norm())).all()  # lerp dips to ~0.7


def test_cli_writes_16_pngs_and_the_same_seed_gives_the_same_files(tmp_path, capsys):
    for name in ("a", "b"):
        code = main(["infer", "faces", "--weights", str(STARTER), "--count", "16", "--seed",
                     "0", "--out", str(tmp_path / name)])
        assert code == 0
    written = sorted((tmp_path / "a").glob("*.png"))
    assert len(written) == 16
    assert all(p.read_bytes() == (tmp_path / "b" / p.name).read_bytes() for p in written)
    code = main(["infer", "faces", "--weights", str(STARTER), "--walk-steps", "8", "--walk-to",
                 "5", "--out", str(tmp_path / "walk")])
    assert code == 0
    (strip,) = (tmp_path / "walk").glob("*.png")
    assert Image.open(strip).size == (8 * 34 + 2, 36)
    assert "wrote 1 image(s)" in capsys.readouterr().out


def test_walk_steps_of_one_is_a_one_line_error(capsys):
    code = main(["infer", "faces", "--weights", str(STARTER), "--walk-steps", "1"])
    assert code == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        "error: walk_steps must be 0 (no walk) or at least 2, got 1")


# ---- networks, augmentation, config ---------------------------------------------------------


@pytest.mark.parametrize("size", [32, 64, 128])
def test_networks_follow_the_configured_resolution(size):
    generator = Generator(latent_dim=8, width=4, image_size=size, channels=3)
    discriminator = Discriminator(width=4, image_size=size, channels=3)
    images = generator(torch.randn(2, 8))
    assert images.shape == (2, 3, size, size) and images.abs().max() <= 1
    assert discriminator(images).shape == (2,)


def test_bad_config_values_are_refused_in_one_line(capsys):
    for key, value, message in [("image_size", "48", "image_size must be one of 32, 64, 128"),
                                ("channels", "2", "channels must be 1"),
                                ("diffaugment", "color,zoom", "diffaugment: unknown zoom")]:
        code = main(["train", "faces", "--set", f"{key}={value}"])
        # Other installed plugins may warn first; what faces says is one line.
        err = [line for line in capsys.readouterr().err.strip().splitlines()
               if not line.startswith("warning: plugin ")]
        assert code == 1 and len(err) == 1 and message in err[0]


def test_diffaugment_is_random_differentiable_and_keeps_shapes():
    torch.manual_seed(0)
    images = torch.rand(8, 3, 32, 32, requires_grad=True)
    out = diff_augment(images, ("color", "translation", "cutout"))
    assert out.shape == images.shape
    out.sum().backward()
    assert images.grad is not None and images.grad.abs().sum() > 0
    assert not torch.equal(diff_augment(images, ("color",)), diff_augment(images, ("color",)))
    assert torch.equal(diff_augment(images, ()), images)


def test_cutout_blanks_a_quarter_and_translation_moves_content():
    torch.manual_seed(0)
    ones = torch.ones(64, 1, 32, 32)
    blanked = (diff_augment(ones, ("cutout",)) == 0).flatten(1).sum(1)
    assert blanked.max() == 16 * 16 and blanked.min() >= 8 * 8  # a 16x16 square, maybe clipped
    dot = torch.zeros(64, 1, 32, 32)
    dot[:, :, 16, 16] = 1
    moved = diff_augment(dot, ("translation",))
    where = moved.flatten(1).argmax(1)
    rows, cols = where // 32, where % 32
    assert ((rows - 16).abs() <= 4).all() and ((cols - 16).abs() <= 4).all()
    assert ((rows != 16) | (cols != 16)).any()
    assert torch.equal(moved.flatten(1).sum(1), dot.flatten(1).sum(1))


def test_one_step_with_r1_and_nonsaturating_loss_logs_the_penalty(tmp_path):
    seen = {}

    class Spy:
        @hookimpl
        def on_train_log(self, run, step, metrics):
            seen.update(metrics)

    registry = load_plugins()
    registry.pm.register(Spy(), name="spy")
    config = FacesTranslator.make_config("starter", {**ONE_STEP, "width": "4", "latent_dim": "8",
                                                     "r1_gamma": "1", "loss": "nonsaturating"})
    source = lfw_source()
    train(FacesTranslator, config, train_source=source.split("train"),
          heldout_source=source.split("heldout"), out_dir=tmp_path / "run", device="cpu",
          progress=False, command="test", observer=registry.notify)
    assert seen["D/r1"] > 0 and {"D/real", "D/fake", "G/adversarial"} <= set(seen)


# ---- data ---------------------------------------------------------------------------------


def test_non_square_faces_are_centre_cropped(tmp_path):
    # 40x80 (w x h): a white 40x40 centre between black bands; the crop keeps only the centre.
    picture = np.zeros((80, 40), np.uint8)
    picture[20:60] = 255
    Image.fromarray(picture).save(tmp_path / "tall.png")
    model = tiny()
    (item,) = [model.make_dataset(open_source(str(tmp_path)), train=False)[0]]
    assert item["image"].shape == (1, 32, 32)
    assert item["image"].min() > 0.9  # all white: the black bands were cropped away


def test_rgb_folder_and_hf_dataset_train_one_step(tmp_path):
    datasets = pytest.importorskip("datasets")
    rng = np.random.default_rng(0)
    pictures = [Image.fromarray(rng.integers(0, 256, (48, 40, 3), np.uint8)) for _ in range(6)]
    for index, picture in enumerate(pictures):
        picture.save(tmp_path / f"{index}.png")
    hf = datasets.Dataset.from_dict({"image": pictures}).cast_column("image", datasets.Image())
    hf.save_to_disk(str(tmp_path / "hf"))
    for index, spec in enumerate((str(tmp_path), f"hf:{tmp_path / 'hf'}")):
        source = open_source(spec)
        config = FacesTranslator.make_config("full", {**ONE_STEP, "width": "4", "latent_dim": "8",
                                                      "image_size": "32"})
        weights = train(FacesTranslator, config, train_source=source.split("train"),
                        heldout_source=source.split("heldout"), out_dir=tmp_path / f"run{index}",
                        device="cpu", progress=False, command="test")
        model = from_pretrained(weights, expected=FacesTranslator)
        assert model.infer(count=2)[0].mode == "RGB"


# ---- the judges ---------------------------------------------------------------------------


def test_face_classifier_knows_faces_from_blurred_noise():
    model = tiny()
    source = lfw_source()
    heldout = model.images(source.split("heldout"), limit=100)
    train_faces = model.images(source.split("train"), limit=100)
    is_face = face_classifier(heldout, model.images(non_faces(), limit=100))
    assert is_face(train_faces) >= 0.8  # faces it never saw
    assert is_face(blurred_noise(200, like=heldout, seed=0)) <= 0.25
    assert is_face(train_faces.flatten(1)[:, torch.randperm(1024)].view_as(train_faces)) <= 0.1
