"""The inpaint plugin: masks, the inference contract (known pixels exact, mask policy), CLI."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from translate.cli import main
from translate.config import config_to_dict
from translate.data.holes import draw_mask
from translate.data.masks import hole_array
from translate.errors import ConfigError, ImageError
from translate.metrics.fidelity import psnr
from translate_inpaint.evaluation import compare_with_telea, telea
from translate_inpaint.losses import hole_psnr_loss
from translate_inpaint.model import Generator, harmonic_fill, local_contrast, pyramid_fill
from translate_inpaint.translator import InpaintTranslator

# A few thousand parameters: the contract does not depend on the network's size.
TINY = {"width": "8", "blocks": "1", "rates": "1,2", "d_width": "8", "d_layers": "3",
        "image_size": "32", "eval_count": "4"}


# LaMa's generator and discriminator at a few thousand parameters, in [0, 1] throughout.
TINY_LAMA = {"arch": "lama", "width": "8", "downsamples": "2", "blocks": "1", "d_width": "8",
             "d_layers": "2", "image_size": "32", "eval_count": "4"}


@pytest.fixture(scope="module")
def model() -> InpaintTranslator:
    torch.manual_seed(0)
    return InpaintTranslator(InpaintTranslator.make_config("starter", TINY)).eval()


def photo(height: int, width: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


def stroke_mask(height: int, width: int, box: tuple[int, int, int, int]) -> Image.Image:
    mask = np.zeros((height, width), np.uint8)
    top, left, bottom, right = box
    mask[top:bottom, left:right] = 255
    return Image.fromarray(mask)


def fill(model: InpaintTranslator, image: Image.Image, mask: Image.Image, **kw) -> np.ndarray:
    with torch.no_grad():
        (result,) = model.infer(image=image, mask=mask, **kw)
    assert result.size == image.size and result.mode == "RGB"
    return np.asarray(result)


def test_mask_kind_files_needs_a_folder() -> None:
    with pytest.raises(ConfigError, match="mask_dir"):
        InpaintTranslator.make_config("starter", {"mask_kind": "files"})
    with pytest.raises(ConfigError, match="hole_area"):
        InpaintTranslator.make_config("starter", {"hole_area": "0.5,0.2"})


def test_mask_modes_follow_one_rule() -> None:
    painted = np.zeros((8, 8, 4), np.uint8)
    painted[2:4, 2:6] = (255, 0, 0, 255)  # a red stroke on a transparent layer
    assert hole_array(Image.fromarray(painted, "RGBA")).sum() == 8
    opaque = np.zeros((8, 8, 4), np.uint8)
    opaque[..., 3] = 255
    opaque[0, :3, :3] = 255  # white on opaque black: read by value
    assert hole_array(Image.fromarray(opaque, "RGBA")).sum() == 3
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[5, 5, 1] = 1  # any non-zero channel
    assert hole_array(Image.fromarray(rgb)).sum() == 1
    assert hole_array(stroke_mask(8, 8, (0, 0, 2, 2)).convert("1")).sum() == 4


# ---- the inference contract ------------------------------------------------------------------


@pytest.mark.parametrize("size", [(37, 53), (64, 64), (300, 210), (7, 5)])
def test_known_pixels_come_back_exactly(model: InpaintTranslator, size: tuple[int, int]) -> None:
    height, width = size
    image = photo(height, width)
    top, left = height // 3, width // 4
    box = (top, left, top + max(1, height // 4), left + max(1, width // 3))
    result = fill(model, image, stroke_mask(height, width, box))
    hole = np.zeros((height, width), bool)
    hole[box[0]:box[2], box[1]:box[3]] = True
    np.testing.assert_array_equal(result[~hole], np.asarray(image)[~hole])
    assert not np.array_equal(result[hole], np.asarray(image)[hole])


@pytest.fixture(scope="module")
def lama_model() -> InpaintTranslator:
    torch.manual_seed(0)  # big-lama's 3 downsamplings: inputs below 9 pixels must be grown
    config = InpaintTranslator.make_config("starter", {**TINY_LAMA, "downsamples": "3"})
    return InpaintTranslator(config).eval()


@pytest.mark.parametrize("size", [(37, 53), (300, 210), (7, 5), (1, 1)])
def test_lama_keeps_known_pixels_exactly_too(lama_model: InpaintTranslator,
                                             size: tuple[int, int]) -> None:
    height, width = size
    image = photo(height, width)
    box = (height // 3, width // 4, height // 3 + max(1, height // 4),
           width // 4 + max(1, width // 3))
    result = fill(lama_model, image, stroke_mask(height, width, box))
    hole = np.zeros((height, width), bool)
    hole[box[0]:box[2], box[1]:box[3]] = True
    np.testing.assert_array_equal(result[~hole], np.asarray(image)[~hole])
    assert not np.array_equal(result[hole], np.asarray(image)[hole])


def test_lama_fills_as_lamas_own_prediction(lama_model: InpaintTranslator) -> None:
    """The hole's region, in [0, 1], through inpaint (symmetric padding to 8), composited."""
    from translate_inpaint.lama import composite, inpaint

    image, hole = photo(40, 56), np.zeros((40, 56), bool)
    hole[10:20, 20:30] = True
    result = fill(lama_model, image, Image.fromarray(np.uint8(hole) * 255))
    top, left, bottom, right = lama_model._region(hole)  # the hole and its surroundings
    assert (bottom - top, right - left) == (36, 42)
    region = np.asarray(image)[top:bottom, left:right].copy()
    pixels = torch.from_numpy(region).permute(2, 0, 1)[None].float() / 255
    mask = torch.from_numpy(hole[top:bottom, left:right]).float()[None, None]
    with torch.no_grad():
        expected = composite(pixels, inpaint(lama_model.generators.G, pixels, mask), mask)
    expected = expected[0].permute(1, 2, 0).mul(255).round().byte().numpy()
    difference = np.abs(result[top:bottom, left:right].astype(int) - expected)
    assert difference.max() <= 1  # the [-1, 1] round trip may move a level


def test_a_lama_folder_keeps_its_whole_config(lama_model: InpaintTranslator,
                                              tmp_path: Path) -> None:
    folder = lama_model.save_pretrained(tmp_path / "lama")
    meta = json.loads((folder / "config.json").read_text())
    assert set(meta["model"]) == {"arch", "width", "blocks", "downsamples", "global_ratio",
                                  "max_width"}
    loaded = InpaintTranslator.from_pretrained(folder)
    assert loaded.config == lama_model.config  # training values too: each one still fits
    assert (loaded.config.fm_weight, loaded.config.r1_weight) == (100.0, 0.001)


def test_arch_lama_starts_from_big_lamas_shapes_and_lamas_recipe() -> None:
    config = InpaintTranslator.make_config("starter", {"arch": "lama"})
    assert InpaintTranslator(config).model_config() == {
        "arch": "lama", "width": 64, "blocks": 18, "downsamples": 3, "global_ratio": 0.75,
        "max_width": 1024}  # big-lama, whatever the preset says of AOT's sizes
    assert (config.d_width, config.d_layers, config.loss) == (64, 4, "nonsaturating")
    assert (config.image_size, config.steps) == (64, 2000)  # the preset's own values stay
    with pytest.raises(ConfigError, match="fm_weight needs arch=lama"):
        InpaintTranslator.make_config("starter", {"fm_weight": "1"})


def test_both_architectures_are_judged_on_the_same_crops_and_masks(
        model: InpaintTranslator, lama_model: InpaintTranslator) -> None:
    from translate.plugins import open_source

    source = open_source("photos")
    aot = model.evaluate(source.split("heldout"), source.split("train"))
    lama = lama_model.evaluate(source.split("heldout"), source.split("train"))
    assert {k for k in aot if "coarse_stage" not in k} == set(lama)
    for key in lama:  # the baseline's figures only depend on the crops and the masks
        if key.endswith(("_telea", "hole_area", "heldout_crops")):
            assert lama[key] == aot[key], key


def test_a_big_hole_in_a_big_image_is_filled_at_reduced_scale(model: InpaintTranslator) -> None:
    image = photo(700, 900, seed=1)
    mask = Image.fromarray((draw_mask(np.random.default_rng(0), 700, kind="freeform",
                                      area=(0.3, 0.4)) * 255).astype(np.uint8)).crop((0, 0, 900,
                                                                                        700))
    hole = hole_array(mask)
    calls = []
    original = model.fill
    model.fill = lambda image, mask: calls.append(image.shape) or original(image, mask)
    try:
        result = fill(model, image, mask)
    finally:
        del model.fill
    assert max(calls[0][-2:]) <= model.config.infer_max_side
    np.testing.assert_array_equal(result[~hole], np.asarray(image)[~hole])


def test_an_empty_mask_returns_the_input(model: InpaintTranslator) -> None:
    image = photo(40, 30)
    result = fill(model, image, Image.new("L", image.size, 0))
    np.testing.assert_array_equal(result, np.asarray(image))


def test_a_full_mask_gives_a_guess_and_a_one_line_message(
        model: InpaintTranslator, caplog: pytest.LogCaptureFixture) -> None:
    image = photo(40, 30)
    with caplog.at_level(logging.WARNING, logger="translate_inpaint"):
        result = fill(model, image, Image.new("L", image.size, 255))
    assert [r.getMessage() for r in caplog.records] == [
        "the mask covers the whole image: the result is the model's guess with nothing known"]
    # Nothing was known, so nothing of the input may survive: the result depends only on size.
    other = fill(model, photo(40, 30, seed=9), Image.new("L", image.size, 255))
    np.testing.assert_array_equal(result, other)


def test_a_mask_of_another_size_is_refused_unless_resized(model: InpaintTranslator) -> None:
    image = photo(64, 48)
    small = stroke_mask(32, 24, (8, 8, 16, 16))
    with pytest.raises(ImageError, match=r"mask: 24x32 but the image is 48x64; pass --resize-mask"):
        model.infer(image=image, mask=small)
    result = fill(model, image, small, resize_mask=True)
    hole = np.zeros((64, 48), bool)
    hole[16:32, 16:32] = True
    np.testing.assert_array_equal(result[~hole], np.asarray(image)[~hole])


@pytest.mark.parametrize(("refine", "contrast_window"), [(True, 0), (True, 9), (False, 0)])
def test_generator_shapes_and_the_hole_never_leaks_in(refine: bool, contrast_window: int) -> None:
    torch.manual_seed(0)
    generator = Generator(width=8, blocks=1, downsamples=2, refine=refine,
                          contrast_window=contrast_window)
    torch.nn.init.normal_(generator.decoder[-1].weight)  # a non-zero correction
    image, mask = torch.rand(2, 3, 64, 48) * 2 - 1, torch.zeros(2, 1, 64, 48)
    mask[:, :, 10:30, 5:40] = 1
    out = generator(image, mask)
    assert out.shape == image.shape and out.abs().max() <= 1
    changed = image.clone()
    changed[mask.expand_as(image) > 0] = 0.5  # whatever lies under the hole is never seen
    torch.testing.assert_close(generator(changed, mask), out)
    with pytest.raises(ValueError, match="rates"):
        Generator(width=6, blocks=1, downsamples=0)


def test_pyramid_fill_keeps_known_pixels_and_continues_smooth_data() -> None:
    ramp = torch.linspace(-1, 1, 64).view(1, 1, 1, 64).expand(1, 3, 64, 64)
    known = torch.ones(1, 1, 64, 64)
    known[..., 20:40, 20:40] = 0
    filled = pyramid_fill(ramp * known, known)
    torch.testing.assert_close(filled * known, ramp * known)
    assert (filled - ramp).abs()[..., 20:40, 20:40].mean() < 0.05
    constant = torch.full((1, 3, 9, 7), 0.25)
    known = torch.zeros(1, 1, 9, 7)
    known[..., 4, 3] = 1  # one known pixel is enough
    torch.testing.assert_close(pyramid_fill(constant * known, known), constant)


def test_harmonic_fill_solves_laplace_in_the_hole() -> None:
    ramp = torch.linspace(-1, 1, 32).view(1, 1, 1, 32).expand(1, 3, 32, 32)
    known = torch.ones(1, 1, 32, 32)
    known[..., 8:24, 8:24] = 0
    rough = pyramid_fill(ramp * known, known)
    smooth = harmonic_fill(ramp * known, known, 300)
    torch.testing.assert_close(smooth * known, ramp * known)
    # A linear ramp is harmonic: the sweeps recover it, better than the pyramid alone.
    error = (smooth - ramp).abs().max()
    assert error < 0.01 < (rough - ramp).abs().max()


def test_local_contrast_is_nil_on_flat_ground_and_follows_texture_into_the_hole() -> None:
    known = torch.ones(1, 1, 32, 32)
    known[..., 8:24, 8:24] = 0
    flat = torch.full((1, 3, 32, 32), 0.3)
    assert local_contrast(flat * known, known, 9).abs().max() < 1e-3
    index = torch.arange(32)
    checks = ((index.view(32, 1) + index) % 2 * 2 - 1).float().expand(1, 3, 32, 32)
    spread = local_contrast(checks * known, known, 9)  # a +-1 checkerboard: a spread of 1
    assert spread.shape == (1, 1, 32, 32)
    torch.testing.assert_close(spread, torch.ones_like(spread), atol=0.15, rtol=0)
    with pytest.raises(ConfigError, match="contrast_window"):
        InpaintTranslator.make_config("starter", {"contrast_window": "8"})


def test_the_psnr_term_is_minus_each_images_hole_psnr() -> None:
    image, mask = torch.zeros(2, 3, 8, 8), torch.zeros(2, 1, 8, 8)
    mask[..., :4, :] = 1
    output = image.clone()
    output[0] += 0.2  # 0.1 off everywhere on a [0, 1] scale: 20 dB in the hole
    output[1, :, 4:] = 1  # wrong only outside the hole: perfect, up to the 50 dB ceiling
    torch.testing.assert_close(hole_psnr_loss(output, image, mask),
                               torch.tensor([-20.0, -50.0]), atol=0.01, rtol=0)


# ---- evaluation ------------------------------------------------------------------------------


def test_the_figures_only_look_inside_the_hole() -> None:
    images = torch.from_numpy(np.stack([np.asarray(photo(32, 32, seed=s)) for s in range(3)]))
    images = images.permute(0, 3, 1, 2).float() / 127.5 - 1
    # A model that returns the original: perfect in the hole, whatever it does elsewhere.
    perfect = compare_with_telea(lambda x, m: x * m - (1 - m), images)
    for name in ("hole_10_20", "hole_30_40"):
        assert (perfect[f"{name}/l1"], perfect[f"{name}/psnr"]) == (0.0, 100.0)
        assert perfect[f"{name}/ssim"] > perfect[f"{name}/ssim_telea"]
        assert f"{name}/psnr_coarse_stage" not in perfect
    inverted = compare_with_telea(lambda x, m: -x, images)
    assert inverted["hole_30_40/l1"] > 0.2


def test_telea_continues_a_smooth_image() -> None:
    ramp = np.tile(np.linspace(0, 255, 64, dtype=np.float64), (64, 1))
    truth = np.repeat(ramp.round().astype(np.uint8)[..., None], 3, axis=2)
    hole = draw_mask(np.random.default_rng(0), 64, kind="freeform", area=(0.1, 0.2)) > 0
    grey = truth.copy()
    grey[hole] = 128
    assert psnr(telea(truth, hole), truth, mask=hole) > psnr(grey, truth, mask=hole) + 10


def test_evaluate_reports_both_ranges_next_to_telea(model: InpaintTranslator) -> None:
    from translate.plugins import open_source

    source = open_source("photos")
    metrics = model.evaluate(source.split("heldout"), source.split("train"))
    assert metrics["heldout_crops"] == 4
    for name, (low, high) in {"hole_10_20": (0.1, 0.2), "hole_30_40": (0.3, 0.4)}.items():
        assert low <= metrics[f"{name}/hole_area"] <= high
        for figure in ("l1", "psnr", "ssim"):
            assert np.isfinite(metrics[f"{name}/{figure}"])
            assert np.isfinite(metrics[f"{name}/{figure}_telea"])
    # Untrained, the correction is zero: the model is exactly its weight-free coarse stage.
    for figure in ("l1", "psnr", "ssim"):
        assert metrics[f"hole_30_40/{figure}"] == metrics[f"hole_30_40/{figure}_coarse_stage"]
    assert metrics["hole_30_40/psnr_telea"] != metrics["hole_30_40/psnr"]


# ---- the command line ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def weights(model: InpaintTranslator, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return model.save_pretrained(tmp_path_factory.mktemp("weights") / "inpaint")


def test_cli_fills_the_hole_and_keeps_the_rest(weights: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    image = photo(90, 120)
    image.save(tmp_path / "photo.png")
    layer = np.zeros((90, 120, 4), np.uint8)
    layer[30:60, 40:80] = (255, 0, 0, 255)  # a painted layer: transparency marks known pixels
    Image.fromarray(layer, "RGBA").save(tmp_path / "mask.png")
    code = main(["infer", "inpaint", str(tmp_path / "photo.png"), "--mask",
                 str(tmp_path / "mask.png"), "--weights", str(weights), "--out",
                 str(tmp_path / "out"), "--device", "cpu"])
    assert code == 0, capsys.readouterr().err
    result = np.asarray(Image.open(tmp_path / "out" / "photo.png"))
    hole = layer[..., 3] > 0
    assert result.shape == (90, 120, 3)
    np.testing.assert_array_equal(result[~hole], np.asarray(image)[~hole])
    assert not np.array_equal(result[hole], np.asarray(image)[hole])


@pytest.mark.slow  # a fresh process imports torch and every plugin
def test_cli_tells_a_full_mask_in_one_line(weights: Path, tmp_path: Path) -> None:
    """In a real process: no logging configured, so Python prints the message alone."""
    import subprocess
    import sys

    photo(30, 40).save(tmp_path / "photo.png")
    Image.new("L", (40, 30), 255).save(tmp_path / "mask.png")
    done = subprocess.run(
        [sys.executable, "-m", "translate", "infer", "inpaint", str(tmp_path / "photo.png"),
         "--mask", str(tmp_path / "mask.png"), "--weights", str(weights), "--out",
         str(tmp_path / "out"), "--device", "cpu"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    said = done.stderr.strip().splitlines()
    assert "the mask covers the whole image: the result is the model's guess with nothing " \
           "known" in said
    assert not any("Warning" in line or ".py:" in line for line in said), said


def test_cli_refuses_a_mask_of_another_size_in_one_line(weights: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture) -> None:
    photo(90, 120).save(tmp_path / "photo.png")
    stroke_mask(45, 60, (10, 10, 20, 20)).save(tmp_path / "mask.png")
    args = ["infer", "inpaint", str(tmp_path / "photo.png"), "--mask", str(tmp_path / "mask.png"),
            "--weights", str(weights), "--out", str(tmp_path / "out"), "--device", "cpu"]
    assert main(args) == 1
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error == "error: mask: 60x45 but the image is 120x90; pass --resize-mask to stretch " \
                    "it to the image"
    assert not (tmp_path / "out").exists()
    assert main([*args, "--resize-mask"]) == 0
    assert Image.open(tmp_path / "out" / "photo.png").size == (120, 90)


def test_training_notes_say_whether_the_perceptual_term_ran(
        model: InpaintTranslator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # no VGG16 weights there
    folder = model.save_pretrained(tmp_path / "w", provenance={"steps": 1})
    notes = json.loads((folder / "config.json").read_text())["provenance"]["notes"]
    assert "perceptual term OFF: no VGG16 weights" in notes
    assert "perceptual term OFF" in (folder / "README.md").read_text()
    assert model.perceptual_loss() is None


def test_the_perceptual_term_runs_when_vgg16_weights_are_on_disk(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from torchvision.models.vgg import cfgs, make_layers

    from translate.losses.perceptual import VGG_FILES, vgg_layer_indices
    from translate.translator import Networks

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    # torchvision's layout, truncated after relu3_3 (the deepest layer the plugin uses).
    features = make_layers(cfgs["D"])[: vgg_layer_indices(16)["relu3_3"] + 1]
    path = tmp_path / "hub" / "checkpoints" / VGG_FILES[16]
    path.parent.mkdir(parents=True)
    torch.save({f"features.{k}": v for k, v in features.state_dict().items()}, path)
    torch.manual_seed(0)
    model = InpaintTranslator(InpaintTranslator.make_config("starter", TINY))
    nets = Networks({"G": model.generators["G"], **model.build_discriminators()})
    image = torch.rand(2, 3, 32, 32) * 2 - 1
    mask = torch.zeros(2, 1, 32, 32)
    mask[:, :, 8:20, 8:20] = 1
    batch = {"image": image, "mask": mask}
    losses = model.generator_loss(nets, batch, model.generate(nets, batch))
    assert losses["perceptual"] > 0
    assert "perceptual term on" in model.card_notes({})


# ---- data and the shipped weights ------------------------------------------------------------


def test_training_crops_are_a_function_of_the_key_and_heldout_crops_are_fixed() -> None:
    from translate.plugins import open_source

    source = open_source("photos")
    model = InpaintTranslator(InpaintTranslator.make_config("starter", TINY))
    train = model.make_dataset(source.split("train"), train=True)
    a, b, other = train[(3, 11)], train[(3, 11)], train[(3, 12)]
    assert torch.equal(a["image"], b["image"]) and torch.equal(a["mask"], b["mask"])
    assert not torch.equal(a["mask"], other["mask"])
    assert a["image"].shape == (3, 32, 32) and a["mask"].shape == (1, 32, 32)
    heldout = model.make_dataset(source.split("heldout"), train=False)
    assert len(heldout) == 4
    assert torch.equal(heldout[2]["image"], heldout[2]["image"])


def test_the_starter_weights_ship_and_load() -> None:
    folder = Path(str(InpaintTranslator.starter_weights))
    size = sum(f.stat().st_size for f in folder.iterdir())
    assert size <= 15 * 1024 * 1024
    meta = json.loads((folder / "config.json").read_text())
    assert meta["provenance"]["command"] == "translate train inpaint --preset starter"
    # A format-1 folder: its config, under today's names, is the starter preset's.
    assert meta["format_version"] == 1
    upgraded = InpaintTranslator.config_from_meta(meta)
    assert config_to_dict(upgraded) == config_to_dict(InpaintTranslator.make_config("starter"))
    metrics = meta["metrics"]
    for name in ("hole_10_20", "hole_30_40"):  # the card's own figures: better than Telea
        assert metrics[f"{name}/psnr"] > metrics[f"{name}/psnr_telea"]
        # ... and than the weight-free coarse stage alone: the learned part adds to it.
        assert metrics[f"{name}/psnr"] > metrics[f"{name}/psnr_coarse_stage"]
        assert metrics[f"{name}/l1"] < metrics[f"{name}/l1_coarse_stage"]
        assert metrics[f"{name}/ssim"] >= metrics[f"{name}/ssim_coarse_stage"]
    model = InpaintTranslator.from_pretrained(folder)
    image = photo(80, 80)
    hole = np.zeros((80, 80), bool)
    hole[30:50, 20:60] = True
    result = fill(model.eval(), image, Image.fromarray(np.uint8(hole) * 255))
    np.testing.assert_array_equal(result[~hole], np.asarray(image)[~hole])
