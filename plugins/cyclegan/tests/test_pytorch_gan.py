"""PyTorch-GAN's CycleGAN generator, as the HugGAN Hub repos hold it (huggan/sim2real_cyclegan).

Those repos were pushed by huggingface/community-events' huggan/pytorch/cyclegan/train.py:
`G_AB.push_to_hub` (one direction only) with the huggingface_hub mixin of the time, whose
`_save_pretrained` is `torch.save(model.state_dict(), "pytorch_model.bin")`, and no
config.json; the Hub's conversion bot later offered a `model.safetensors` copy
(refs/pr/2 of huggan/sim2real_cyclegan). The files here are built the same way with
random weights. Tests that compare with the reference modules read them from
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

from support.references import load_reference_module, max_difference, reference_checkout
from translate.errors import WeightsError
from translate.hub.reading import find_state_dict, read_checkpoint
from translate.nn import crop_to, pad_to_multiple
from translate_cyclegan.model import ResnetGenerator
from translate_cyclegan.pytorch_gan import ARCH, GeneratorResNet, detect, filter_state

TOLERANCE = 1e-5
CURATED_KEYS = ("name", "translator", "arch", "repo", "file", "revision", "sha256", "licence",
                "description", "source", "dataset", "direction")
PUBLISHED_BLOCKS = 9  # train.py's --n_residual_blocks default; sim2real uses it too
# What huggan/sim2real_cyclegan's model card front matter holds (at 7c39c6e).
MODEL_CARD = ("---\ntags:\n- conditional-image-generation\n- image-to-image\n- gan\n"
              "- cyclegan\nlicense: mit\n---\n")


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
    """The module defining the reference GeneratorResNet: PyTorch-GAN's, or the HugGAN copy
    that actually produced the Hub files."""
    if request.param == "PyTorch-GAN":
        root = reference_checkout("eriklindernoren/PyTorch-GAN")
        return load_reference_module(root / "implementations/cyclegan/models.py",
                                     "reference_pytorch_gan_cyclegan")
    root = reference_checkout("huggingface/community-events")
    with pytest.MonkeyPatch.context() as monkeypatch:
        stub_huggan_mixin(monkeypatch)
        return load_reference_module(root / "huggan/pytorch/cyclegan/modeling_cyclegan.py",
                                     "reference_huggan_cyclegan")


def reference_generator(module: types.ModuleType, *, blocks: int, seed: int) -> torch.nn.Module:
    """The reference generator with train.py's initialisation, N(0, 0.02) conv weights,
    plus small random biases so that a misplaced bias could not hide behind zeros."""
    torch.manual_seed(seed)
    generator = module.GeneratorResNet((3, 256, 256), blocks)
    for layer in generator.modules():
        if isinstance(layer, torch.nn.Conv2d):
            torch.nn.init.normal_(layer.weight, 0.0, 0.02)
            torch.nn.init.normal_(layer.bias, 0.0, 0.02)
    return generator.eval()


@pytest.fixture(scope="module")
def published(reference, tmp_path_factory) -> tuple[torch.nn.Module, Path]:
    """A 9-block reference generator and the repo snapshot holding it (written once)."""
    generator = reference_generator(reference, blocks=PUBLISHED_BLOCKS, seed=1)
    folder = write_huggan_repo(tmp_path_factory.mktemp("huggan") / "sim2real_cyclegan",
                               generator.state_dict(), safetensors_copy=True)
    return generator, folder


# ---- files as the Hub repos hold them -------------------------------------------------------


def write_huggan_repo(folder: Path, state: dict[str, torch.Tensor], *,
                      safetensors_copy: bool = False) -> Path:
    """A snapshot of a HugGAN CycleGAN repo: model card, pytorch_model.bin, no config.json;
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


def load_repo(folder: Path, file: str) -> GeneratorResNet:
    """What the host does with such a repo: read, detect, filter, build, load strictly."""
    path = folder / file
    state = find_state_dict(read_checkpoint(path), path=path)
    arguments = detect(state)
    assert arguments is not None
    generator = GeneratorResNet(**arguments)
    generator.load_state_dict(filter_state(state), strict=True)
    return generator.eval()


def images(height: int, width: int, seed: int) -> torch.Tensor:
    return torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(seed)) * 2 - 1


# ---- against the reference ------------------------------------------------------------------


def test_keys_shapes_and_order_equal_the_reference(published):
    theirs = published[0].state_dict()
    ours = GeneratorResNet(blocks=PUBLISHED_BLOCKS).state_dict()
    assert [(k, tuple(v.shape)) for k, v in ours.items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.items()]


def test_a_hub_repo_loads_strictly_and_matches_the_reference_at_256(published):
    theirs, folder = published
    assert not (folder / "config.json").exists()
    ours = load_repo(folder, "pytorch_model.bin")
    converted = load_repo(folder, "model.safetensors")
    assert all(torch.equal(a, b) for a, b in zip(ours.state_dict().values(),
                                                 converted.state_dict().values(), strict=True))
    inputs = images(256, 256, seed=2)
    with torch.no_grad():
        expected, found = theirs(inputs), ours(inputs)
    assert expected.abs().mean() > 0.05  # a real output, not a saturated or blank one
    assert max_difference(found, expected) < TOLERANCE


def test_any_size_through_pad_and_crop_matches_the_reference(published):
    theirs, folder = published
    ours = load_repo(folder, "pytorch_model.bin")
    inputs = images(150, 98, seed=3)
    padded, size = pad_to_multiple(inputs, GeneratorResNet.stride)
    assert padded.shape[-2:] == (152, 100)
    with torch.no_grad():
        expected = crop_to(theirs(padded), size)
        found = crop_to(ours(padded), size)
    assert found.shape == inputs.shape
    assert max_difference(found, expected) < TOLERANCE


@pytest.mark.parametrize("blocks", [1, 6])
def test_other_block_counts_match_the_reference(tmp_path, reference, blocks):
    theirs = reference_generator(reference, blocks=blocks, seed=blocks)
    ours = load_repo(write_huggan_repo(tmp_path / "repo", theirs.state_dict()),
                     "pytorch_model.bin")
    assert detect(theirs.state_dict()) == {"channels": 3, "blocks": blocks, "width": 64}
    inputs = images(64, 96, seed=4)
    with torch.no_grad():
        assert max_difference(ours(inputs), theirs(inputs)) < TOLERANCE


# ---- detect and filter (no reference needed) ------------------------------------------------


def test_the_published_layout_and_size():
    """Keys as PyTorch-GAN numbers them; 11.4M fp32 parameters are the 45.5 MB on the Hub."""
    state = GeneratorResNet(blocks=PUBLISHED_BLOCKS).state_dict()
    blocks = [f"model.{i}.block.{j}.{p}" for i in range(10, 19) for j in (1, 5)
              for p in ("weight", "bias")]
    convs = [f"model.{i}.{p}" for i in (1, 4, 7) for p in ("weight", "bias")]
    decoder = [f"model.{i}.{p}" for i in (20, 24, 28) for p in ("weight", "bias")]
    assert list(state) == convs + blocks + decoder
    count = sum(t.numel() for t in state.values())
    assert count == 11_378_179
    assert round(count * 4 / 1e6, 1) == 45.5


@pytest.mark.parametrize(("blocks", "width"), [(9, 64), (6, 32), (1, 4)])
def test_detect_reads_the_constructor_arguments(blocks, width):
    state = GeneratorResNet(blocks=blocks, width=width).state_dict()
    assert detect(state) == {"channels": 3, "blocks": blocks, "width": width}


def test_a_saved_repo_round_trips_without_references(tmp_path):
    torch.manual_seed(5)
    source = GeneratorResNet(blocks=2, width=8).eval()
    ours = load_repo(write_huggan_repo(tmp_path / "repo", source.state_dict(),
                                       safetensors_copy=True), "model.safetensors")
    inputs = images(36, 20, seed=6)
    with torch.no_grad():
        assert torch.equal(ours(inputs), source(inputs))


@pytest.mark.parametrize(("blocks", "norm", "dropout"),
                         [(9, "instance", False), (6, "instance", True), (6, "batch", False)])
def test_junyanz_files_are_not_taken_for_this_layout(blocks, norm, dropout):
    """The reference ResnetGenerator (our ResnetGenerator has its keys) also starts with a
    7x7 model.1.weight and has blocks from model.10, but names them conv_block."""
    theirs = ResnetGenerator(width=8, blocks=blocks, norm=norm, dropout=dropout).state_dict()
    assert detect(theirs) is None
    stray = {**theirs, "model.10.block.1.weight": torch.zeros(1)}
    assert detect(stray) is None


def test_filter_drops_stale_instance_norm_statistics_only():
    state = GeneratorResNet(blocks=2, width=4).state_dict()
    stale = dict(state)
    # The norms: model.2, 5, 8, inside each block at 2 and 6, and model.14, 18 for 2 blocks.
    for prefix in ("model.2", "model.8", "model.10.block.2", "model.11.block.6", "model.14",
                   "model.18"):
        stale[prefix + ".running_mean"] = torch.zeros(1)
        stale[prefix + ".running_var"] = torch.ones(1)
        stale[prefix + ".num_batches_tracked"] = torch.tensor(0)
    assert list(filter_state(stale)) == list(state)
    assert detect(stale) == {"channels": 3, "blocks": 2, "width": 4}
    stray = {**state, "model.13.running_mean": torch.zeros(1)}  # model.13 is a conv
    with pytest.raises(WeightsError, match=r"unexpected key model\.13\.running_mean"):
        detect(stray)


@pytest.mark.parametrize(("change", "message"), [
    (lambda s: s.pop("model.17.bias"), r"missing key model\.17\.bias"),
    (lambda s: s.update({"model.7.weight": torch.zeros(16, 4, 3, 3)}),
     r"model\.7\.weight has shape \(16, 4, 3, 3\), expected \(16, 8, 3, 3\)"),
    (lambda s: s.update({"model.13.block.1.weight": torch.zeros(1)}),
     r"residual blocks at model\.10\.\.model\.13"),
    (lambda s: s.update({"model.1.weight": torch.zeros(4, 1, 7, 7)}), r"with 1 channels"),
])
def test_a_broken_file_names_the_problem_in_one_line(change, message):
    state = GeneratorResNet(blocks=2, width=4).state_dict()
    change(state)
    with pytest.raises(WeightsError, match=message) as raised:
        detect(state)
    assert "\n" not in str(raised.value)


def test_pix2pix_and_other_files_are_not_taken_for_this_layout():
    from translate_pix2pix.pytorch_gan import GeneratorUNet

    assert detect(GeneratorUNet(width=2).state_dict()) is None
    assert detect({"model.1.weight": torch.zeros(8, 3, 3, 3)}) is None  # not a 7x7 stem


def test_curated_entries_name_this_architecture_and_their_sources():
    entries = json.loads((files("translate_cyclegan") / "curated.json").read_text())
    assert entries and len({entry["name"] for entry in entries}) == len(entries)
    for entry in entries:
        assert set(CURATED_KEYS) <= set(entry), entry["name"]
        assert (entry["translator"], entry["arch"]) == ("cyclegan", ARCH)
        assert entry["file"] == "pytorch_model.bin" and entry["source"]
        for key, length in (("revision", 40), ("sha256", 64)):
            value = entry[key]
            assert value is None or (len(value) == length and int(value, 16) >= 0), entry
