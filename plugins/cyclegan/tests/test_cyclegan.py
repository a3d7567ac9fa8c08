"""cyclegan: the data it accepts, its training mechanics, inference at any size, the starter.

(The shared TranslatorTests checks run on cyclegan from tests/test_translators.py.)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from translate.cli import main
from translate.engine.trainer import Trainer
from translate.errors import DataError
from translate.hub.pretrained import from_pretrained
from translate.plugins import open_source
from translate_cyclegan.data import (
    TILE,
    UnpairedDataset,
    checkerboard_tiles,
    paint,
    photo2painting_source,
)
from translate_cyclegan.model import HistoryBuffer
from translate_cyclegan.translator import CycleGANTranslator

STARTER = Path(str(CycleGANTranslator.starter_weights))
TINY = {"blocks": "1", "width": "4", "d_width": "4", "image_size": "32", "load_size": "36",
        "history": "3", "batch_size": "2", "evaluate_at_end": "false", "workers": "0"}


def tiny(**overrides: str) -> CycleGANTranslator:
    torch.manual_seed(0)
    return CycleGANTranslator(CycleGANTranslator.make_config("starter", {**TINY, **overrides}))


def write_images(folder: Path, count: int, colour: tuple[int, int, int]) -> None:
    folder.mkdir(parents=True)
    for index in range(count):
        Image.new("RGB", (20 + index, 18), colour).save(folder / f"{index}.png")


# ---- data -----------------------------------------------------------------------------------


def test_bundled_task_has_disjoint_domains_and_heldout_images_of_both():
    source = photo2painting_source()
    assert source.classes == ("photo", "painting")
    for part in ("train", "heldout"):
        labels = source.split(part).labels()
        assert labels.count(0) >= 20 and labels.count(1) >= 20
    train, heldout = source.split("train"), source.split("heldout")
    assert not set(train.indices) & set(heldout.indices)


def test_no_photo_tile_has_its_painted_counterpart():
    photo = Image.fromarray(np.random.default_rng(0).integers(0, 256, (256, 320, 3), np.uint8))
    photos, paintings = checkerboard_tiles(photo)
    assert len(photos) == len(paintings) == 10
    pixels = np.asarray(photo)
    painted = paint(pixels)
    # Tile k of A sits on a white square, every B tile on a black one: no shared pixels.
    assert np.array_equal(np.asarray(photos[0]), pixels[:TILE, :TILE])
    assert np.array_equal(np.asarray(paintings[0]), painted[:TILE, TILE:2 * TILE])
    for tile in paintings:
        assert not any(np.array_equal(np.asarray(tile), paint(np.asarray(p))) for p in photos)


def test_reference_layout_holds_out_the_test_folders(tmp_path):
    for name, count, colour in (("trainA", 5, (255, 0, 0)), ("trainB", 3, (0, 0, 255)),
                                ("testA", 2, (200, 0, 0)), ("testB", 2, (0, 0, 200))):
        write_images(tmp_path / "h2z" / name, count, colour)
    source = open_source(f"unpaired:{tmp_path / 'h2z'}")
    assert source.split("train").labels() == [0] * 5 + [1] * 3
    heldout = source.split("heldout")
    assert heldout.labels() == [0, 0, 1, 1]
    assert heldout[0]["image"].getpixel((0, 0))[:3] == (200, 0, 0)


def test_two_sources_make_one_unpaired_set_each_split_on_its_own(tmp_path):
    write_images(tmp_path / "horses", 10, (255, 0, 0))
    write_images(tmp_path / "zebras", 5, (0, 0, 255))
    source = open_source(f"unpaired:{tmp_path / 'horses'},{tmp_path / 'zebras'}")
    assert source.split("train").labels() == [0] * 8 + [1] * 4
    assert source.split("heldout").labels() == [0] * 2 + [1] * 1


def test_one_hf_dataset_with_a_domain_column(tmp_path):
    datasets = pytest.importorskip("datasets")
    images = [Image.new("RGB", (16, 16), (255 * (i % 2), 0, 0)) for i in range(20)]
    features = datasets.Features({"image": datasets.Image(),
                                  "domain": datasets.ClassLabel(names=["day", "night"])})
    datasets.Dataset.from_dict({"image": images, "domain": [i % 2 for i in range(20)]},
                               features=features).save_to_disk(str(tmp_path / "ds"))
    source = open_source(f"hf:{tmp_path / 'ds'}?label=domain")
    data = CycleGANTranslator(CycleGANTranslator.make_config("starter", TINY)).make_dataset(
        source.split("train"), train=False)
    assert data.classes == ("day", "night")
    assert data.domain(0)[:, 0].mean() < 0 < data.domain(1)[:, 0].mean()


def test_data_that_is_not_two_domains_is_refused_in_one_line(tmp_path):
    for name in ("trainA", "trainB", "testA", "testB"):
        write_images(tmp_path / "h2z" / name, 3, (0, 0, 0))
    with pytest.raises(DataError, match="unpaired:PATH") as error:
        tiny().make_dataset(open_source(str(tmp_path / "h2z")).split("train"), train=True)
    assert "\n" not in str(error.value)
    with pytest.raises(DataError, match="found no domain labels"):
        tiny().make_dataset(open_source("photos").split("train"), train=True)


def test_b_is_drawn_independently_of_a_and_reproducibly():
    data = UnpairedDataset(photo2painting_source().split("train"), size=16, load_size=20,
                           mode="RGB", train=True)
    items = [data[(3, seed)] for seed in range(12)]
    assert torch.equal(data[(3, 5)]["B"], items[5]["B"])
    distinct_b = {item["B"].sum().item() for item in items}
    assert len(distinct_b) >= 8  # the same A index meets many different B images
    assert all(item["A"].shape == (3, 16, 16) for item in items)


# ---- training mechanics ----------------------------------------------------------------------


def test_history_buffer_fills_then_mixes_old_and_new_fakes():
    torch.manual_seed(0)
    history = HistoryBuffer(capacity=4, channels=1, size=2)
    first = torch.arange(4.0).view(4, 1, 1, 1).expand(4, 1, 2, 2)
    assert torch.equal(history.query(first), first)  # filling: D sees the new fakes
    new = -torch.arange(1.0, 65.0).view(64, 1, 1, 1).expand(64, 1, 2, 2)
    shown = history.query(new)
    swapped = (shown != new)[:, 0, 0, 0]
    assert 16 <= swapped.sum().item() <= 48  # about half are swapped for remembered fakes
    assert (shown[swapped] > new[swapped]).all()  # and what D sees instead is an older fake
    assert int(history.count) == 4 and "images" in history.state_dict()


def test_training_resumes_with_the_history_buffer(tmp_path):
    source = photo2painting_source()
    cls = CycleGANTranslator

    def run(steps: int, resume: bool) -> Trainer:
        config = cls.make_config("starter", {**TINY, "steps": str(steps),
                                             "checkpoint_every": "1", "sample_every": "50"})
        trainer = Trainer(cls, config, train_source=source.split("train"),
                          heldout_source=source.split("heldout"), out_dir=tmp_path / "run",
                          device="cpu", progress=False, command="test", resume=resume)
        trainer.fit()
        return trainer

    first = run(2, resume=False)
    assert int(first.raw["D_A"].history.count) == 3  # capacity 3, two batches of 2
    again = run(3, resume=True)
    assert again.step == 3 and int(again.raw["D_B"].history.count) == 3
    grid = Image.open(sorted((tmp_path / "run" / "samples").glob("*.png"))[-1])
    assert grid.width >= 6 * 16


# ---- inference ----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(37, 53), (5, 3), (64, 64), (1, 9)])
@pytest.mark.parametrize("direction", ["AtoB", "BtoA"])
def test_any_image_size_comes_back_the_same_size(size, direction):
    image = Image.new("RGB", size, (10, 200, 30))
    (result,) = tiny().eval().infer(image=image, direction=direction)
    assert result.size == size and result.mode == "RGB"


def test_infer_cli_writes_both_directions(tmp_path):
    weights = tiny().save_pretrained(tmp_path / "weights")
    Image.new("RGB", (30, 22), (0, 128, 255)).save(tmp_path / "in.png")
    for direction in ("AtoB", "BtoA"):
        out = tmp_path / direction
        assert main(["infer", "cyclegan", str(tmp_path / "in.png"), "--direction", direction,
                     "--weights", str(weights), "--out", str(out)]) == 0
        assert Image.open(out / "in.png").size == (30, 22)


def test_the_model_card_says_when_the_networks_are_smaller_than_the_papers(tmp_path):
    card = (tiny().save_pretrained(tmp_path / "w") / "README.md").read_text()
    assert "smaller than the paper's resnet_9blocks" in card


# ---- the starter model ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def starter() -> CycleGANTranslator:
    return from_pretrained(STARTER, expected=CycleGANTranslator)


def test_starter_weights_ship_in_the_package_made_by_the_train_command():
    assert sorted(p.name for p in STARTER.iterdir()) == [
        "README.md", "config.json", "model.safetensors"]
    assert (STARTER / "model.safetensors").stat().st_size <= 15 * 2**20
    meta = json.loads((STARTER / "config.json").read_text())
    assert meta["provenance"]["command"] == "translate train cyclegan --preset starter"
    assert meta["provenance"]["steps"] == CycleGANTranslator.make_config("starter").steps


def test_starter_translates_to_the_target_domain_both_ways(starter):
    """The held-out figures `translate eval cyclegan` reports, recomputed here."""
    source = photo2painting_source()
    with torch.no_grad():
        metrics = starter.evaluate(source.split("heldout"), source.split("train"))
    assert metrics["domain_classifier_accuracy_on_unseen_real"] >= 0.9
    # The target: >= 80% both ways (the shipped starter: 100% and 83%).
    assert metrics["target_domain_share_AtoB"] >= 0.8
    assert metrics["target_domain_share_BtoA"] >= 0.8
    for direction in ("AtoB", "BtoA"):
        assert metrics[f"target_domain_share_{direction}_identity_baseline"] <= 0.2
        assert (metrics[f"frechet_random-conv_{direction}"]
                < metrics[f"frechet_random-conv_{direction}_identity_baseline"])
    for cycle in ("AtoBtoA", "BtoAtoB"):
        assert (metrics[f"cycle_error_{cycle}"]
                < metrics[f"cycle_error_{cycle}_untrained_baseline"])
