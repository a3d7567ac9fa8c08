"""PyTorch-GAN's pix2pix U-Net, as the HugGAN Hub repos hold it (huggan/pix2pix-maps, ...).

Those repos were pushed by huggingface/community-events' huggan/pytorch/pix2pix/train.py:
`GeneratorUNet.push_to_hub` with the huggingface_hub mixin of the time, whose
`_save_pretrained` is `torch.save(model.state_dict(), "pytorch_model.bin")`, and no
config.json (no config was passed). The files here are built the same way with random
weights. Tests that compare with the reference modules read them from
TRANSLATE_REFERENCES (eriklindernoren+PyTorch-GAN, huggingface+community-events).
"""

from __future__ import annotations

import json
import sys
import types
from importlib.resources import files
from pathlib import Path

import pytest
import safetensors.torch
import torch
from pix2pix_reference_layout import reference_state_dict

from support.references import load_reference_module, max_difference, reference_checkout
from translate.errors import WeightsError
from translate.hub.reading import find_state_dict, read_checkpoint
from translate.nn import crop_to, pad_to_multiple
from translate_pix2pix import model as junyanz
from translate_pix2pix.model import UNetGenerator
from translate_pix2pix.pytorch_gan import ARCH, GeneratorUNet, detect, filter_state

TOLERANCE = 1e-5
CURATED_KEYS = ("name", "translator", "arch", "repo", "file", "revision", "sha256", "licence",
                "description", "source", "dataset", "direction")
# What the HugGAN model cards' front matter holds (huggan/pix2pix-maps at 29b247f).
MODEL_CARD = "---\ntags:\n- huggan\n- gan\ndatasets:\n- huggan/maps\nlicense: mit\n---\n"


# ---- the reference modules ----------------------------------------------------------------


def stub_huggan_mixin(monkeypatch: pytest.MonkeyPatch) -> None:
    """huggan.pytorch.huggan_mixin imports huggingface_hub names that are gone (Repository,
    HfFolder); the modeling file needs only a base class from it."""
    mixin = types.ModuleType("huggan.pytorch.huggan_mixin")
    mixin.HugGANModelHubMixin = type("HugGANModelHubMixin", (), {})
    for name in ("huggan", "huggan.pytorch"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "huggan.pytorch.huggan_mixin", mixin)


@pytest.fixture(scope="module", params=["PyTorch-GAN", "HugGAN"])
def reference(request) -> types.ModuleType:
    """The module defining the reference GeneratorUNet: PyTorch-GAN's, or the HugGAN copy
    that actually produced the Hub files."""
    if request.param == "PyTorch-GAN":
        root = reference_checkout("eriklindernoren/PyTorch-GAN")
        return load_reference_module(root / "implementations/pix2pix/models.py",
                                     "reference_pytorch_gan_pix2pix")
    root = reference_checkout("huggingface/community-events")
    with pytest.MonkeyPatch.context() as monkeypatch:
        stub_huggan_mixin(monkeypatch)
        return load_reference_module(root / "huggan/pytorch/pix2pix/modeling_pix2pix.py",
                                     "reference_huggan_pix2pix")


def reference_generator(module: types.ModuleType, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    generator = module.GeneratorUNet()
    generator.apply(module.weights_init_normal)  # what train.py does before training
    return generator.eval()


@pytest.fixture(scope="module")
def published(reference, tmp_path_factory) -> tuple[torch.nn.Module, Path]:
    """A reference generator and the repo snapshot holding it (both files: 2 x 218 MB,
    written once per reference)."""
    generator = reference_generator(reference, seed=1)
    folder = write_huggan_repo(tmp_path_factory.mktemp("huggan") / "pix2pix-maps",
                               generator.state_dict(), safetensors_copy=True)
    return generator, folder


# ---- files as the Hub repos hold them -------------------------------------------------------


def write_huggan_repo(folder: Path, state: dict[str, torch.Tensor], *,
                      safetensors_copy: bool = False) -> Path:
    """A snapshot of a HugGAN pix2pix repo: model card, pytorch_model.bin, no config.json;
    `safetensors_copy` adds the model.safetensors that the Hub's conversion bot writes."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "README.md").write_text(MODEL_CARD)
    (folder / ".gitattributes").write_text("*.bin filter=lfs diff=lfs merge=lfs -text\n")
    torch.save(state, folder / "pytorch_model.bin")
    if safetensors_copy:
        tensors = {key: value.contiguous() for key, value in state.items()}
        safetensors.torch.save_file(tensors, folder / "model.safetensors",
                                    metadata={"format": "pt"})
    return folder


def load_repo(folder: Path, file: str) -> GeneratorUNet:
    """What the host does with such a repo: read, detect, filter, build, load strictly."""
    path = folder / file
    state = find_state_dict(read_checkpoint(path), path=path)
    found = detect(state)
    assert found is not None and found.pop("arch") == ARCH
    generator = GeneratorUNet(**found)
    generator.load_state_dict(filter_state(state), strict=True)
    return generator.eval()


# ---- against the reference ------------------------------------------------------------------


def test_keys_shapes_and_order_equal_the_reference(published):
    theirs = published[0].state_dict()
    ours = GeneratorUNet().state_dict()
    assert [(k, tuple(v.shape)) for k, v in ours.items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.items()]


@pytest.mark.parametrize("file", ["pytorch_model.bin", "model.safetensors"])
def test_a_hub_repo_loads_strictly_and_matches_the_reference_at_256(published, file):
    theirs, folder = published
    assert not (folder / "config.json").exists()
    ours = load_repo(folder, file)
    images = torch.rand(1, 3, 256, 256, generator=torch.Generator().manual_seed(2)) * 2 - 1
    with torch.no_grad():
        expected, found = theirs(images), ours(images)
    assert expected.abs().mean() > 0.05  # a real output, not a saturated or blank one
    assert max_difference(found, expected) < TOLERANCE


def test_any_size_through_pad_and_crop_matches_the_reference(published):
    theirs, folder = published
    ours = load_repo(folder, "pytorch_model.bin")
    images = torch.rand(1, 3, 300, 200, generator=torch.Generator().manual_seed(4)) * 2 - 1
    padded, size = pad_to_multiple(images, GeneratorUNet.stride)
    assert padded.shape[-2:] == (512, 256)
    with torch.no_grad():
        expected = crop_to(theirs(padded), size)
        found = crop_to(ours(padded), size)
    assert found.shape == images.shape
    assert max_difference(found, expected) < TOLERANCE


def test_dropout_sits_where_the_reference_has_it(published):
    """In train mode (the paper's test-time noise) both draw the same masks in the same
    order, so the same seed gives the same output: same layers, same p, same places."""
    theirs = published[0]
    ours = GeneratorUNet().train()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    images = torch.rand(1, 3, 256, 256, generator=torch.Generator().manual_seed(6)) * 2 - 1
    theirs.train()
    try:
        with torch.no_grad():
            torch.manual_seed(7)
            expected = theirs(images)
    finally:
        theirs.eval()
    with torch.no_grad():
        torch.manual_seed(7)
        found = ours(images)
        torch.manual_seed(8)
        other = ours(images)
    assert max_difference(found, expected) < TOLERANCE
    assert (other - expected).abs().max() > 0.01  # dropout is really on (not a comparison)


# ---- detect and filter (no reference needed) ------------------------------------------------


def test_the_published_layout_and_size():
    """Keys as PyTorch-GAN names them; 54.4M fp32 parameters are the 218 MB on the Hub."""
    state = GeneratorUNet().state_dict()
    assert list(state) == [f"down{i}.model.0.weight" for i in range(1, 9)] + \
        [f"up{i}.model.0.weight" for i in range(1, 8)] + ["final.2.weight", "final.2.bias"]
    count = sum(t.numel() for t in state.values())
    assert count == 54_404_099
    assert round(count * 4 / 1e6) == 218


@pytest.mark.parametrize(("in_channels", "out_channels", "width"), [(3, 3, 64), (1, 3, 8),
                                                                   (3, 1, 4)])
def test_detect_reads_the_constructor_arguments(in_channels, out_channels, width):
    arguments = {"in_channels": in_channels, "out_channels": out_channels, "width": width}
    assert detect(GeneratorUNet(**arguments).state_dict()) == {"arch": ARCH, **arguments}


def test_a_saved_repo_round_trips_without_references(tmp_path):
    torch.manual_seed(9)
    source = GeneratorUNet(width=8).eval()
    ours = load_repo(write_huggan_repo(tmp_path / "repo", source.state_dict(),
                                       safetensors_copy=True), "model.safetensors")
    images = torch.rand(2, 3, 256, 256) * 2 - 1
    with torch.no_grad():
        assert torch.equal(ours(images), source(images))


@pytest.mark.parametrize(("depth", "norm"), [(8, "batch"), (8, "instance"), (7, "batch")])
def test_junyanz_files_are_not_taken_for_this_layout_nor_this_for_theirs(depth, norm):
    theirs = reference_state_dict(depth=depth, width=4, norm=norm)
    assert detect(theirs) is None
    assert detect(UNetGenerator(depth=depth, width=4, norm=norm).state_dict()) is None
    assert junyanz.detect(GeneratorUNet(width=4).state_dict()) is None


def test_filter_drops_stale_instance_norm_statistics_only():
    state = GeneratorUNet(width=4).state_dict()
    stale = dict(state)
    for key in ("down2.model.1", "down7.model.1", "up1.model.1", "up7.model.1"):
        stale[key + ".running_mean"] = torch.zeros(1)
        stale[key + ".running_var"] = torch.ones(1)
    assert list(filter_state(stale)) == list(state)
    assert detect(stale) == {"arch": ARCH, "in_channels": 3, "out_channels": 3, "width": 4}
    stray = {**state, "down1.model.1.running_mean": torch.zeros(4)}  # down1 has no norm
    with pytest.raises(WeightsError, match=r"unexpected key down1\.model\.1\.running_mean"):
        detect(stray)


@pytest.mark.parametrize(("change", "message"), [
    (lambda s: s.pop("up3.model.0.weight"), r"missing key up3\.model\.0\.weight"),
    (lambda s: s.update({"up5.model.0.weight": torch.zeros(64, 8, 4, 4)}),
     r"up5\.model\.0\.weight has shape \(64, 8, 4, 4\), expected \(64, 16, 4, 4\)"),
    (lambda s: s.update({"down9.model.0.weight": torch.zeros(1)}), r"unexpected key down9"),
])
def test_a_broken_file_names_the_key_in_one_line(change, message):
    state = GeneratorUNet(width=4).state_dict()
    change(state)
    with pytest.raises(WeightsError, match=message) as raised:
        detect(state)
    assert "\n" not in str(raised.value)


def test_sides_must_be_multiples_of_the_stride():
    assert GeneratorUNet.stride == 256
    with pytest.raises(ValueError, match="multiples of 256"):
        GeneratorUNet(width=2)(torch.zeros(1, 3, 256, 128))


def test_curated_entries_name_this_architecture_and_their_sources():
    entries = json.loads((files("translate_pix2pix") / "curated.json").read_text())
    assert entries and len({entry["name"] for entry in entries}) == len(entries)
    for entry in entries:
        assert set(CURATED_KEYS) <= set(entry), entry["name"]
        assert (entry["translator"], entry["arch"]) == ("pix2pix", ARCH)
        assert entry["file"] == "pytorch_model.bin" and entry["source"]
        for key, length in (("revision", 40), ("sha256", 64)):
            value = entry[key]
            assert value is None or (len(value) == length and int(value, 16) >= 0), entry
