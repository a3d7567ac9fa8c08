"""pix2pix: the U-Net matches the reference layout, imports reference checkpoints, reads
the three paired formats, translates any size, and the starter model beats its baselines.

(The shared TranslatorTests checks run on pix2pix from tests/test_translators.py.)
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from pix2pix_reference_layout import reference_forward, reference_state_dict

from translate.cli import main
from translate.data.sources import PHOTOS_HELDOUT
from translate.errors import ConfigError, DataError, WeightsError
from translate.hub.pretrained import from_pretrained
from translate_pix2pix.data import (
    AlignedSource,
    FolderPairSource,
    HFPairSource,
    PairedDataset,
    grey_to_colour,
    pencil_sketch,
    photo_to_sketch,
)
from translate_pix2pix.importer import convert
from translate_pix2pix.model import UNetGenerator
from translate_pix2pix.translator import Pix2PixTranslator

STARTER = Path(str(Pix2PixTranslator.starter_weights))
TINY = {"width": "4", "disc_width": "4"}


def tiny(**overrides: str) -> Pix2PixTranslator:
    torch.manual_seed(0)
    return Pix2PixTranslator(Pix2PixTranslator.make_config("starter", {**TINY, **overrides}))


# ---- the reference layout -------------------------------------------------------------------


@pytest.mark.parametrize(("depth", "norm"), [(8, "batch"), (7, "instance"), (7, "batch")])
def test_our_unet_has_the_reference_keys_and_shapes(depth, norm):
    ours = UNetGenerator(depth=depth, width=4, norm=norm).state_dict()
    reference = reference_state_dict(depth=depth, width=4, norm=norm)
    assert list(ours) == list(reference) or sorted(ours) == sorted(reference)
    assert {k: tuple(v.shape) for k, v in ours.items()} == \
        {k: tuple(v.shape) for k, v in reference.items()}


@pytest.mark.parametrize(("depth", "norm", "size"),
                         [(8, "batch", 256), (7, "instance", 128), (7, "batch", 256)])
def test_imported_checkpoint_gives_the_reference_outputs(tmp_path, depth, norm, size):
    state = reference_state_dict(depth=depth, width=4, norm=norm, seed=depth)
    torch.save(state, tmp_path / "latest_net_G.pth")
    translator = convert(tmp_path / "latest_net_G.pth")
    assert translator.config.generator == f"unet_{2 ** depth}"
    assert translator.config.norm == norm and translator.config.width == 4
    x = torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(1)) * 2 - 1
    with torch.no_grad():
        ours = translator.generators.G(x)
        expected = reference_forward(state, x, depth=depth, norm=norm)
    assert (ours - expected).abs().max() < 1e-5


def test_legacy_files_load(tmp_path):
    # PyTorch < 0.4: instance norm saved running stats, batch norm had no counter, and
    # DataParallel-trained files prefix every key with "module.".
    state = reference_state_dict(depth=7, width=4, norm="instance", legacy_instance_stats=True)
    torch.save({"module." + k: v for k, v in state.items()}, tmp_path / "a.pth")
    assert convert(tmp_path / "a.pth").config.norm == "instance"
    state = reference_state_dict(depth=7, width=4, norm="batch")
    torch.save({k: v for k, v in state.items() if "num_batches" not in k}, tmp_path / "b.pth")
    assert convert(tmp_path / "b.pth", norm="batch").config.norm == "batch"


def test_channels_and_dropout_come_from_the_file_and_the_options(tmp_path):
    state = reference_state_dict(depth=8, width=4, norm="batch", in_channels=1, out_channels=2)
    torch.save(state, tmp_path / "g.pth")
    translator = convert(tmp_path / "g.pth", dropout=False)
    c = translator.config
    # One channel in, two out: the reference's colorization model (L* -> a*b*).
    assert (c.in_channels, c.out_channels, c.colour_space, c.dropout) == (1, 2, "lab", False)


@pytest.mark.parametrize(("edit", "message"), [
    (lambda s: s.pop("model.model.1.model.3.model.2.weight"),
     "missing key model.model.1.model.3.model.2.weight"),
    (lambda s: s.__setitem__("model.model.1.model.5.weight", torch.zeros(8, 4, 3, 3)),
     r"model.model.1.model.5.weight has shape \(8, 4, 3, 3\), expected \(16, 4, 4, 4\)"),
    (lambda s: s.__setitem__("model.model.1.model.9.weight", torch.zeros(1)),
     "unexpected key model.model.1.model.9.weight"),
])
def test_a_mismatch_names_the_first_bad_key_in_one_line(tmp_path, edit, message):
    state = reference_state_dict(depth=7, width=4, norm="batch")
    edit(state)
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(WeightsError, match=message) as error:
        convert(tmp_path / "bad.pth")
    assert "\n" not in str(error.value)


def test_a_wrong_norm_option_or_file_is_refused(tmp_path):
    torch.save(reference_state_dict(depth=7, width=4, norm="batch"), tmp_path / "g.pth")
    with pytest.raises(WeightsError, match=re.escape("--norm instance given, but the file has "
                                                     "model.model.1.model.2.weight")):
        convert(tmp_path / "g.pth", norm="instance")
    torch.save({"model.0.weight": torch.zeros(64, 6, 4, 4)}, tmp_path / "d.pth")
    with pytest.raises(WeightsError, match="not a reference U-Net generator"):
        convert(tmp_path / "d.pth")
    torch.save(reference_state_dict(depth=6, width=4, norm="batch"), tmp_path / "six.pth")
    with pytest.raises(WeightsError, match="6 levels"):
        convert(tmp_path / "six.pth")


def test_import_command_writes_a_loadable_folder(tmp_path, capsys):
    state = reference_state_dict(depth=7, width=4, norm="instance")
    torch.save(state, tmp_path / "latest_net_G.pth")
    code = main(["import", "pix2pix", str(tmp_path / "latest_net_G.pth"), "--out",
                 str(tmp_path / "weights"), "--no-dropout"])
    assert code == 0, capsys.readouterr().err
    loaded = from_pretrained(tmp_path / "weights", expected=Pix2PixTranslator)
    assert loaded.config.dropout is False and loaded.config.norm == "instance"
    x = torch.rand(1, 3, 128, 128) * 2 - 1
    with torch.no_grad():
        assert (loaded.generators.G(x) - reference_forward(state, x, depth=7, norm="instance")
                ).abs().max() < 1e-5
    meta = json.loads((tmp_path / "weights" / "config.json").read_text())
    assert meta["provenance"]["imported_from"] == "latest_net_G.pth"


# ---- data -----------------------------------------------------------------------------------


def _pair(seed: int, size: tuple[int, int] = (40, 32)) -> tuple[Image.Image, Image.Image]:
    a = np.random.default_rng(seed).integers(0, 256, (*size[::-1], 3), dtype=np.uint8)
    return Image.fromarray(a), Image.fromarray(255 - a)  # B is A's negative, pixel for pixel


def _check_aligned(dataset: PairedDataset, negative: bool = True) -> None:
    for key in [(0, 1), (1, 2), (0, 3)]:
        item = dataset[key]
        assert item["input"].shape == item["image"].shape == (3, 32, 32)
        if negative:  # same crop and flip on both sides
            assert torch.allclose(item["input"], -item["image"], atol=1e-5)


def test_aligned_format_splits_and_flips_direction(tmp_path):
    for folder, count in (("train", 3), ("val", 2)):
        (tmp_path / folder).mkdir()
        for index in range(count):
            a, b = _pair(index)
            both = Image.new("RGB", (80, 32))
            both.paste(a, (0, 0))
            both.paste(b, (40, 0))
            both.save(tmp_path / folder / f"{index}.png")
    source = AlignedSource(tmp_path)
    assert len(source.split("train")) == 3 and len(source.split("heldout")) == 2
    common = {"size": 32, "load_size": 32, "in_channels": 3, "out_channels": 3, "train": True}
    forward = PairedDataset(source.split("train"), direction="AtoB", **common)
    backward = PairedDataset(source.split("train"), direction="BtoA", **common)
    _check_aligned(forward)
    assert torch.equal(forward[(0, 5)]["input"], backward[(0, 5)]["image"])
    with pytest.raises(DataError, match=re.escape("no val/ or test/")):
        (tmp_path / "val").rename(tmp_path / "elsewhere")
        AlignedSource(tmp_path)


def test_folder_pairs_match_by_name_and_report_mismatches(tmp_path):
    for side in "AB":
        (tmp_path / side).mkdir()
    for index in range(4):
        a, b = _pair(index)
        a.save(tmp_path / "A" / f"{index}.png")
        b.save(tmp_path / "B" / f"{index}.jpg" if index == 0 else tmp_path / "B" / f"{index}.png")
    source = FolderPairSource(tmp_path)
    assert len(source) == 4
    dataset = PairedDataset(source, size=32, load_size=32, direction="AtoB", in_channels=3,
                            out_channels=3, train=True)
    item = dataset[(2, 7)]
    assert torch.allclose(item["input"], -item["image"], atol=1e-5)
    (tmp_path / "A" / "extra.png").write_bytes((tmp_path / "A" / "1.png").read_bytes())
    with pytest.raises(DataError, match=re.escape("1 in A/ only (first: extra)")):
        FolderPairSource(tmp_path)


def test_hf_dataset_with_two_named_columns(tmp_path):
    datasets = pytest.importorskip("datasets")
    pairs = [_pair(i) for i in range(5)]
    table = datasets.Dataset.from_dict(
        {"sketch": [a for a, _ in pairs], "photo": [b for _, b in pairs]},
        features=datasets.Features({"sketch": datasets.Image(), "photo": datasets.Image()}))
    table.save_to_disk(str(tmp_path / "ds"))
    source = HFPairSource(f"{tmp_path / 'ds'}?a=sketch&b=photo")
    assert len(source) == 5
    record = source[3]
    assert np.array_equal(np.asarray(record["A"]), 255 - np.asarray(record["B"]))
    with pytest.raises(DataError, match="name both image columns"):
        HFPairSource(str(tmp_path / "ds"))
    with pytest.raises(DataError, match="no column 'colour'"):
        HFPairSource(f"{tmp_path / 'ds'}?a=sketch&b=colour")


def test_single_images_are_refused_in_one_line(tmp_path, capsys):
    for index in range(3):
        Image.new("RGB", (16, 16), (index * 80, 0, 0)).save(tmp_path / f"{index}.png")
    code = main(["train", "pix2pix", "--data", str(tmp_path), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "pix2pix needs paired images" in err


def test_bundled_task_holds_whole_photos_out():
    source = photo_to_sketch()
    heldout, train = source.split("heldout"), source.split("train")
    assert len(heldout) == len(PHOTOS_HELDOUT) == 2 and len(train) == len(source) - 2
    record = heldout[0]
    assert record["A"].mode == "RGB" and record["B"].mode == "L" and min(record["B"].size) == 256
    train_pixels = {np.asarray(train[i]["A"]).tobytes()[:4096] for i in range(len(train))}
    assert all(np.asarray(heldout[i]["A"]).tobytes()[:4096] not in train_pixels
               for i in range(len(heldout)))
    grey, colour = grey_to_colour().split("heldout")[0]["A"], heldout[0]["A"]
    assert grey.mode == "L" and grey.size == colour.size


def test_pencil_sketch_whitens_flat_areas_and_draws_edges():
    step = np.full((64, 64, 3), 200, np.uint8)
    step[:, 32:] = 40
    sketch = np.asarray(pencil_sketch(Image.fromarray(step)))
    assert sketch[:, :20].min() == 255 and sketch[:, 44:].min() >= 250  # flat: white paper
    assert sketch[:, 30:34].min() < 100  # the edge: a dark stroke


# ---- inference ------------------------------------------------------------------------------


@pytest.mark.parametrize("fit", ["pad", "resize"])
def test_any_size_in_same_size_out(fit):
    model = tiny().eval()
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (37, 201, 3), np.uint8))
    (out,) = model.infer(image=image, fit=fit)
    assert out.size == image.size and out.mode == "L"  # the starter draws greyscale sketches


def test_lab_colourisation_keeps_lightness_and_dropout_is_an_option():
    model = tiny(colour_space="lab", in_channels="1", out_channels="2").eval()
    image = Image.fromarray(np.random.default_rng(1).integers(0, 256, (64, 64, 3), np.uint8))
    plain = np.asarray(model.infer(image=image)[0], dtype=np.float64)
    grey = np.asarray(image.convert("L"), dtype=np.float64)
    # lab colourisation: only colour changes; Pillow's luma and L* differ a little.
    assert np.abs(plain.mean(2) - grey).mean() < 25
    lightness = torch.rand(1, 1, 128, 128) * 2 - 1
    noisy = [model.translate(lightness, keep_dropout=True, seed=s) for s in (0, 0, 1)]
    assert torch.equal(noisy[0], noisy[1]) and not torch.equal(noisy[0], noisy[2])
    assert model.generators.G.training is False
    source = grey_to_colour()
    figures = model.evaluate(source.split("heldout"), source.split("train"))
    assert figures["heldout_pairs"] == 12 and figures["ssim_baseline_input"] > 0.5


def test_both_directions_train_and_the_reverse_is_asked_for_by_name(tmp_path):
    from translate.engine.trainer import train

    overrides = {**TINY, "direction": "both", "steps": "1", "batch_size": "2",
                 "evaluate_at_end": "false"}
    config = Pix2PixTranslator.make_config("starter", overrides)
    source = photo_to_sketch()
    weights = train(Pix2PixTranslator, config, train_source=source.split("train"),
                    heldout_source=source.split("heldout"), out_dir=tmp_path / "run",
                    device="cpu", progress=False, command="test")
    model = from_pretrained(weights, expected=Pix2PixTranslator)
    assert set(model.generators) == {"G", "G_reverse"}
    colour = Image.new("RGB", (50, 30), (10, 200, 30))
    (sketch,) = model.infer(image=colour, direction="forward")
    assert sketch.size == (50, 30) and sketch.mode == "L"
    (photo,) = model.infer(image=sketch, direction="reverse")  # sketch -> photo
    assert photo.size == (50, 30) and photo.mode == "RGB"
    figures = model.evaluate(source.split("heldout"), source.split("train"))
    assert {"psnr", "reverse_psnr", "reverse_ssim_baseline_input"} <= set(figures)
    with pytest.raises(ConfigError, match="these weights translate AtoB only"):
        tiny().infer(image=colour, direction="reverse")


def test_eval_command_prints_figures_next_to_baselines(tmp_path, capsys):
    model = tiny()
    model.save_pretrained(tmp_path / "w")
    code = main(["eval", "pix2pix", "--weights", str(tmp_path / "w"), "--device", "cpu"])
    figures = json.loads(capsys.readouterr().out)
    assert code == 0
    for name in ("psnr", "ssim", "l1"):
        assert {name, f"{name}_baseline_input", f"{name}_baseline_train_mean"} <= set(figures)
    assert figures["heldout_pairs"] == 12


# ---- the shipped starter model --------------------------------------------------------------


@pytest.fixture(scope="module")
def starter() -> Pix2PixTranslator:
    return from_pretrained(STARTER, expected=Pix2PixTranslator)


@pytest.fixture(scope="module")
def starter_metrics(starter) -> dict[str, float]:
    source = photo_to_sketch()
    with torch.no_grad():
        return starter.evaluate(source.split("heldout"), source.split("train"))


def test_starter_weights_ship_in_the_package_and_are_small():
    assert sorted(p.name for p in STARTER.iterdir()) == [
        "README.md", "config.json", "model.safetensors"]
    assert (STARTER / "model.safetensors").stat().st_size <= 15 * 2**20


def test_starter_weights_were_made_by_the_train_command():
    meta = json.loads((STARTER / "config.json").read_text())
    assert meta["provenance"]["command"] == "translate train pix2pix --preset starter"
    assert meta["provenance"]["steps"] == Pix2PixTranslator.make_config("starter").steps
    card = (STARTER / "README.md").read_text()
    assert "translate train pix2pix --preset starter" in card and "narrower U-Net" in card


def test_starter_beats_both_baselines_on_held_out_photos(starter_metrics):
    # Sketches of the two photos training never saw (12 tiles), against the photo itself
    # (as grey) and the mean training sketch. Margins are set well inside what the shipped
    # model reaches (see its model card), so a retrain that still learns passes.
    m = starter_metrics
    assert m["heldout_pairs"] == 12
    assert m["psnr"] >= max(m["psnr_baseline_input"], m["psnr_baseline_train_mean"]) + 4.0
    assert m["ssim"] >= max(m["ssim_baseline_input"], m["ssim_baseline_train_mean"]) + 0.05
    assert m["l1"] <= 0.6 * min(m["l1_baseline_input"], m["l1_baseline_train_mean"])


def test_starter_draws_a_sketch_of_a_held_out_photo(starter):
    photo = Image.open(Path(str(Pix2PixTranslator.examples)) / "chelsea.jpg")
    (sketch,) = starter.infer(image=photo)
    assert sketch.size == photo.size and sketch.mode == "L"
    expected = np.asarray(pencil_sketch(photo), dtype=np.float64)
    error = np.abs(np.asarray(sketch, dtype=np.float64) - expected).mean() / 255
    assert error < 0.6 * np.abs(expected.mean() - expected).mean() / 255


# ---- against the reference code itself (needs a checkout; never vendored) -------------------


@pytest.mark.slow
@pytest.mark.parametrize(("depth", "norm"), [(8, "batch"), (7, "instance")])
def test_outputs_match_the_reference_networks(tmp_path, depth, norm):
    """REFERENCE_PIX2PIX=/path/to/pytorch-CycleGAN-and-pix2pix pytest -m slow ..."""
    import os
    import sys

    root = os.environ.get("REFERENCE_PIX2PIX")
    if not root:
        pytest.skip("set REFERENCE_PIX2PIX to a checkout of the reference implementation")
    sys.path.insert(0, root)
    try:
        from models import networks
    finally:
        sys.path.remove(root)
    torch.manual_seed(depth)
    reference = networks.UnetGenerator(3, 3, depth, 64, norm_layer=networks.get_norm_layer(norm),
                                       use_dropout=True)
    for module in reference.modules():  # trained-looking statistics, not the identity
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.normal_(0, 0.1)
            module.running_var.uniform_(0.5, 1.5)
            module.weight.data.normal_(1, 0.1)
            module.bias.data.normal_(0, 0.1)
    torch.save(reference.state_dict(), tmp_path / "latest_net_G.pth")
    ours = convert(tmp_path / "latest_net_G.pth")
    x = torch.rand(2, 3, 2 ** depth, 2 ** depth) * 2 - 1
    with torch.no_grad():
        difference = (ours.generators.G(x) - reference.eval()(x)).abs().max().item()
    assert difference <= 1e-5
