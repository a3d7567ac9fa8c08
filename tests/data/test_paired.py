"""Paired data, the host's: aligned:, paired: and hf-paired: sources, derived pairs, the
paired tensors and the paired figures. Everything is built here from random pixels."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from translate.data.paired import (
    AlignedSource,
    DerivedPairs,
    FolderPairSource,
    HFPairSource,
    PairedDataset,
    describe_fidelity,
    fidelity_with_baselines,
    match_channels,
    needs_pairs,
)
from translate.data.sources import InMemorySource
from translate.errors import DataError
from translate.plugins import load_plugins


@pytest.fixture(scope="module")
def registry():
    return load_plugins()


def pair(seed: int, size: tuple[int, int] = (40, 32)) -> tuple[Image.Image, Image.Image]:
    a = np.random.default_rng(seed).integers(0, 256, (*size[::-1], 3), dtype=np.uint8)
    return Image.fromarray(a), Image.fromarray(255 - a)  # B is A's negative, pixel for pixel


def write_aligned(root: Path, counts: dict[str, int]) -> Path:
    for folder, count in counts.items():
        (root / folder).mkdir(parents=True)
        for index in range(count):
            a, b = pair(index)
            both = Image.new("RGB", (80, 32))
            both.paste(a, (0, 0))
            both.paste(b, (40, 0))
            both.save(root / folder / f"{index}.png")
    return root


def negative(image: Image.Image) -> tuple[Image.Image, Image.Image]:
    return image, Image.eval(image, lambda v: 255 - v)


def dataset(source, **options) -> PairedDataset:
    settings = {"size": 32, "load_size": 32, "direction": "AtoB", "in_channels": 3,
                "out_channels": 3, "train": True} | options
    return PairedDataset(source, **settings)


def assert_aligned(data: PairedDataset) -> None:
    for key in [(0, 1), (1, 2), (0, 3)]:
        item = data[key]
        assert item["input"].shape == item["image"].shape == (3, 32, 32)
        # The same crop and flip on both sides: B stays A's negative.
        assert torch.allclose(item["input"], -item["image"], atol=1e-5)


# ---- sources ------------------------------------------------------------------------------


def test_aligned_format_splits_by_folder_and_flips_direction(tmp_path):
    source = AlignedSource(write_aligned(tmp_path, {"train": 3, "val": 2}))
    assert len(source.split("train")) == 3 and len(source.split("heldout")) == 2
    record = source[0]
    assert set(record) == {"A", "B", "image"} and record["image"] is record["A"]
    assert record["A"].size == record["B"].size == (40, 32)
    forward = dataset(source.split("train"))
    backward = dataset(source.split("train"), direction="BtoA")
    assert_aligned(forward)
    assert torch.equal(forward[(0, 5)]["input"], backward[(0, 5)]["image"])
    (tmp_path / "val").rename(tmp_path / "test")  # test/ is held out when there is no val/
    assert len(AlignedSource(tmp_path).split("heldout")) == 2
    (tmp_path / "test").rename(tmp_path / "elsewhere")
    with pytest.raises(DataError, match=re.escape("no val/ or test/")):
        AlignedSource(tmp_path)
    with pytest.raises(DataError, match=re.escape("no train/ folder")):
        AlignedSource(tmp_path / "elsewhere")


def test_folder_pairs_match_by_name_and_report_mismatches(tmp_path):
    for side in "AB":
        (tmp_path / side).mkdir()
    for index in range(4):
        a, b = pair(index)
        a.save(tmp_path / "A" / f"{index}.png")
        b.save(tmp_path / "B" / (f"{index}.jpg" if index == 0 else f"{index}.png"))
    source = FolderPairSource(tmp_path)
    assert len(source) == 4
    item = dataset(source)[(2, 7)]
    assert torch.allclose(item["input"], -item["image"], atol=1e-5)
    (tmp_path / "A" / "extra.png").write_bytes((tmp_path / "A" / "1.png").read_bytes())
    with pytest.raises(DataError, match=re.escape("1 in A/ only (first: extra)")):
        FolderPairSource(tmp_path)
    (tmp_path / "B").rename(tmp_path / "photos")
    with pytest.raises(DataError, match=re.escape("no B/ folder (paired data needs A/ and B/")):
        FolderPairSource(tmp_path)


def test_hf_dataset_with_two_named_columns(tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True)
    pairs = [pair(i) for i in range(5)]
    table = datasets.Dataset.from_dict(
        {"sketch": [a for a, _ in pairs], "photo": [b for _, b in pairs]},
        features=datasets.Features({"sketch": datasets.Image(), "photo": datasets.Image()}))
    table.save_to_disk(str(tmp_path / "ds"))
    source = HFPairSource(f"{tmp_path / 'ds'}?a=sketch&b=photo")
    assert len(source) == 5 and source.name == f"hf-paired:{tmp_path / 'ds'}?a=sketch&b=photo"
    record = source[3]
    assert np.array_equal(np.asarray(record["A"]), 255 - np.asarray(record["B"]))
    with pytest.raises(DataError, match="name both image columns"):
        HFPairSource(str(tmp_path / "ds"))
    with pytest.raises(DataError, match="no column 'colour'"):
        HFPairSource(f"{tmp_path / 'ds'}?a=sketch&b=colour")


def test_the_formats_are_host_sources(tmp_path, registry):
    root = write_aligned(tmp_path / "facades", {"train": 2, "test": 1})
    for name in ("aligned", "paired", "hf-paired"):
        assert registry.sources[name].plugin == "builtin-sources"
    source = registry.open_source(f"aligned:{root}")
    assert isinstance(source, AlignedSource) and source.name == f"aligned:{root}"
    for spec, what in (("aligned", "aligned:PATH"), ("paired:", "paired:PATH"),
                       ("hf-paired", "hf-paired:NAME?a=COL&b=COL")):
        with pytest.raises(DataError, match=re.escape(f"needs {what}")):
            registry.open_source(spec)


def test_derived_pairs_keep_the_sources_held_out_images_and_scale_them():
    images = [Image.new("L", (40 + 10 * i, 20), 30 * i) for i in range(5)]
    source = InMemorySource("greys", images, heldout=[1, 3])
    derived = DerivedPairs("negatives", source, negative, scale=10)
    assert derived.name == "negatives" and len(derived) == 5
    assert list(derived.split("heldout").indices) == [1, 3]
    record = derived[2]
    assert set(record) == {"A", "B", "image"} and record["A"].mode == "RGB"
    assert record["A"].size == (30, 10)  # shorter side 20 -> 10, the other scaled alike
    assert np.array_equal(np.asarray(record["B"]), 255 - np.asarray(record["A"]))
    unscaled = DerivedPairs("same", source, lambda im: (im, im))
    assert unscaled[4]["A"].size == (80, 20)


def test_single_images_are_refused_in_one_line():
    singles = InMemorySource("singles", [Image.new("RGB", (8, 8))] * 3)
    with pytest.raises(DataError) as error:
        needs_pairs(singles.split("train"), needed_by="sketcher", also=("bundled-pairs",))
    message = str(error.value)
    assert message.startswith("singles: sketcher needs paired images (aligned:PATH, ")
    assert "bundled-pairs" in message and "\n" not in message
    with pytest.raises(DataError, match="this translator needs paired images"):
        dataset(singles)


# ---- tensors ------------------------------------------------------------------------------


def test_held_out_images_are_tiled_whole_and_unaugmented():
    small, large = pair(0)[0], pair(1, (96, 64))[0]
    source = DerivedPairs("two", InMemorySource("x", [small, large], heldout=[0]), negative)
    data = dataset(source, load_size=64, train=False)
    # Shorter sides to 64: 40x32 -> 80x64 (2x2 tiles of 32), 96x64 stays (2x3 tiles).
    assert data.tiles == [*[(0, r, c) for r in (0, 32) for c in (0, 32)],
                          *[(1, r, c) for r in (0, 32) for c in (0, 32, 64)]]
    item = data[len(data) - 1]  # the large image's bottom-right tile
    assert torch.equal(item["input"], data[len(data) - 1]["input"])
    pixels = ((item["input"].permute(1, 2, 0) + 1) * 127.5).round().to(torch.uint8).numpy()
    assert np.array_equal(pixels, np.asarray(large)[32:64, 64:96])
    assert torch.allclose(item["input"], -item["image"], atol=1e-5)


def test_channels_follow_the_modes_and_pairs_of_other_sizes_are_aligned():
    a = Image.fromarray(np.random.default_rng(2).integers(0, 256, (32, 48, 3), np.uint8))
    b = a.resize((24, 16))  # half the size: brought to A's
    source = DerivedPairs("odd", InMemorySource("x", [a, a], heldout=[1]), lambda im: (im, b))
    item = dataset(source, in_channels=1, out_channels=3, train=False)[0]
    assert item["input"].shape == (1, 32, 32) and item["image"].shape == (3, 32, 32)
    with pytest.raises(DataError, match="1 or 3 channels, not 2"):
        dataset(source, out_channels=2)


def test_a_subclass_changes_what_is_read_and_returned():
    class Grey(PairedDataset):
        def tensors(self, inputs, target):
            return {**super().tensors(inputs, target), "grey": torch.zeros(1)}

    source = DerivedPairs("p", InMemorySource("x", [pair(0)[0]] * 2, heldout=[1]),
                          lambda im: (im, im))
    assert set(Grey(source, size=32, load_size=32, direction="AtoB", in_channels=3,
                    out_channels=3, train=True)[(0, 1)]) == {"input", "image", "grey"}


# ---- figures ------------------------------------------------------------------------------


def test_fidelity_next_to_the_two_baselines():
    generator = torch.Generator().manual_seed(0)
    targets = torch.rand(3, 1, 16, 16, generator=generator) * 2 - 1
    inputs = torch.rand(3, 3, 16, 16, generator=generator) * 2 - 1
    train_targets = torch.rand(5, 1, 16, 16, generator=generator) * 2 - 1
    figures = fidelity_with_baselines(targets, targets, inputs=inputs,
                                      train_targets=train_targets, prefix="reverse_")
    assert list(figures) == [f"reverse_{m}{b}" for m in ("psnr", "ssim", "l1")
                             for b in ("", "_baseline_input", "_baseline_train_mean")]
    assert figures["reverse_psnr"] == 100.0 and figures["reverse_l1"] == 0.0
    assert figures["reverse_ssim"] == pytest.approx(1.0)
    from translate.metrics.fidelity import l1

    assert figures["reverse_l1_baseline_input"] == l1(match_channels(inputs, 1), targets)
    constant = train_targets.mean(0, keepdim=True).expand(3, -1, -1, -1)
    assert figures["reverse_l1_baseline_train_mean"] == l1(constant, targets)
    sentence = describe_fidelity({k.removeprefix("reverse_"): v for k, v in figures.items()},
                                 pairs=3)
    assert sentence.startswith("On 3 held-out pairs: PSNR 100.00 dB against ")
    assert "\n" not in sentence


def test_match_channels_repeats_grey_and_takes_luma_of_colour():
    grey = torch.full((1, 1, 2, 2), 0.5)
    assert match_channels(grey, 3).shape == (1, 3, 2, 2)
    assert match_channels(grey, 1) is grey
    colour = torch.tensor([1.0, -1.0, 0.0]).view(1, 3, 1, 1)
    assert match_channels(colour, 1).item() == pytest.approx(0.299 - 0.587)
