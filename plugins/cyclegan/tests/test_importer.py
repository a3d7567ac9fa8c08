"""Reference checkpoints: key layout detection, stray statistics, exact outputs, clear errors.

(PyTorch-GAN/HugGAN files, the importer's other layout: test_pytorch_gan.py.)

State dicts are built from the public key layout of the reference `ResnetGenerator`
(junyanz/pytorch-CycleGAN-and-pix2pix, models/networks.py), and the expected outputs come
from `reference_forward` below: the reference network's computation written out with
torch.nn.functional on those keys, independently of our modules.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from support.references import load_reference_module, reference_checkout
from translate.cli import main
from translate.errors import WeightsError
from translate.hub.importers import import_checkpoint
from translate.hub.layout import read_meta
from translate.hub.pretrained import from_pretrained
from translate_cyclegan.importer import IMPORTER
from translate_cyclegan.model import detect
from translate_cyclegan.pytorch_gan import GeneratorResNet
from translate_cyclegan.translator import CycleGANTranslator


def convert(path: Path, **options) -> CycleGANTranslator:
    """What `translate import cyclegan PATH [--direction D] [--reverse FILE]` builds."""
    return import_checkpoint(IMPORTER, CycleGANTranslator, path, **options)


def reference_keys(*, width: int, blocks: int, norm: str = "instance",
                   dropout: bool = False) -> dict[str, tuple[int, ...]]:
    """Key -> shape of a reference ResnetGenerator(3, 3, ngf=width, n_blocks=blocks)."""
    bias = norm == "instance"  # the reference drops conv biases before batch norm
    keys: dict[str, tuple[int, ...]] = {}

    def conv(index: str, out: int, inp: int, k: int, with_bias: bool = bias,
             transposed: bool = False) -> None:
        keys[f"{index}.weight"] = (inp, out, k, k) if transposed else (out, inp, k, k)
        if with_bias:
            keys[f"{index}.bias"] = (out,)

    def norm_layer(index: str, channels: int) -> None:
        if norm == "batch":
            for name in ("weight", "bias", "running_mean", "running_var"):
                keys[f"{index}.{name}"] = (channels,)
            keys[f"{index}.num_batches_tracked"] = ()

    conv("model.1", width, 3, 7)
    norm_layer("model.2", width)
    conv("model.4", width * 2, width, 3)
    norm_layer("model.5", width * 2)
    conv("model.7", width * 4, width * 2, 3)
    norm_layer("model.8", width * 4)
    second = 6 if dropout else 5
    for block in range(10, 10 + blocks):
        conv(f"model.{block}.conv_block.1", width * 4, width * 4, 3)
        norm_layer(f"model.{block}.conv_block.2", width * 4)
        conv(f"model.{block}.conv_block.{second}", width * 4, width * 4, 3)
        norm_layer(f"model.{block}.conv_block.{second + 1}", width * 4)
    up = 10 + blocks
    conv(f"model.{up}", width * 2, width * 4, 3, transposed=True)
    norm_layer(f"model.{up + 1}", width * 2)
    conv(f"model.{up + 3}", width, width * 2, 3, transposed=True)
    norm_layer(f"model.{up + 4}", width)
    conv(f"model.{up + 7}", 3, width, 7, with_bias=True)
    return keys


def reference_state(*, seed: int = 0, **layout) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in reference_keys(**layout).items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(7)
        elif key.endswith("running_var"):
            state[key] = torch.rand(shape, generator=generator) + 0.5
        else:
            state[key] = torch.randn(shape, generator=generator) * 0.1
    return state


def reference_forward(state: dict[str, torch.Tensor], images: torch.Tensor, *, blocks: int,
                      norm: str = "instance", dropout: bool = False) -> torch.Tensor:
    """The reference ResnetGenerator in eval mode, written out on its state dict."""

    def conv(x, index, stride=1, padding=0):
        return F.conv2d(x, state[f"{index}.weight"], state.get(f"{index}.bias"), stride, padding)

    def up(x, index):
        return F.conv_transpose2d(x, state[f"{index}.weight"], state.get(f"{index}.bias"),
                                  stride=2, padding=1, output_padding=1)

    def normalise(x, index):
        if norm == "instance":
            return F.instance_norm(x, eps=1e-5)
        return F.batch_norm(x, state[f"{index}.running_mean"], state[f"{index}.running_var"],
                            state[f"{index}.weight"], state[f"{index}.bias"], eps=1e-5)

    x = F.relu(normalise(conv(F.pad(images, (3,) * 4, mode="reflect"), "model.1"), "model.2"))
    x = F.relu(normalise(conv(x, "model.4", 2, 1), "model.5"))
    x = F.relu(normalise(conv(x, "model.7", 2, 1), "model.8"))
    second = 6 if dropout else 5
    for block in range(10, 10 + blocks):
        prefix = f"model.{block}.conv_block"
        y = F.relu(normalise(conv(F.pad(x, (1,) * 4, mode="reflect"), f"{prefix}.1"),
                             f"{prefix}.2"))
        y = normalise(conv(F.pad(y, (1,) * 4, mode="reflect"), f"{prefix}.{second}"),
                      f"{prefix}.{second + 1}")
        x = x + y
    first_up = 10 + blocks
    x = F.relu(normalise(up(x, f"model.{first_up}"), f"model.{first_up + 1}"))
    x = F.relu(normalise(up(x, f"model.{first_up + 3}"), f"model.{first_up + 4}"))
    return torch.tanh(conv(F.pad(x, (3,) * 4, mode="reflect"), f"model.{first_up + 7}"))


def save(state: dict[str, torch.Tensor], path: Path) -> Path:
    torch.save(state, path)
    return path


@pytest.mark.parametrize("blocks", [6, 9])
def test_imported_generator_matches_the_reference_computation(tmp_path, blocks):
    state = reference_state(width=8, blocks=blocks)
    translator = convert(save(state, tmp_path / "latest_net_G_A.pth"))
    assert translator.config.blocks == blocks and translator.config.width == 8
    images = torch.rand(2, 3, 36, 44, generator=torch.Generator().manual_seed(1)) * 2 - 1
    with torch.no_grad():
        ours = translator.generators.G_A(images)
        expected = reference_forward(state, images, blocks=blocks)
    assert (ours - expected).abs().max() < 1e-5


def test_stray_instance_norm_statistics_of_old_files_are_ignored(tmp_path):
    state = reference_state(width=4, blocks=6)
    # PyTorch < 0.4 saved running statistics for every InstanceNorm layer.
    for index in ("model.2", "model.5", "model.12.conv_block.2", "model.20"):
        channels = 4 if index in ("model.2", "model.20") else 8 if index == "model.5" else 16
        state[f"{index}.running_mean"] = torch.zeros(channels)
        state[f"{index}.running_var"] = torch.ones(channels)
        state[f"{index}.num_batches_tracked"] = torch.tensor(0)
    translator = convert(save(state, tmp_path / "horse2zebra.pth"))
    images = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert (translator.generators.G_A(images)
                - reference_forward(state, images, blocks=6)).abs().max() < 1e-5


def test_batch_norm_and_dropout_variants_are_detected(tmp_path):
    state = reference_state(width=4, blocks=6, norm="batch", dropout=True)
    translator = convert(save(state, tmp_path / "g.pth"))
    assert translator.config.norm == "batch" and translator.config.dropout
    images = torch.rand(1, 3, 24, 28) * 2 - 1
    with torch.no_grad():
        ours = translator.generators.G_A(images)
    assert (ours - reference_forward(state, images, blocks=6, norm="batch",
                                     dropout=True)).abs().max() < 1e-5


def test_data_parallel_and_wrapped_files_load(tmp_path):
    state = reference_state(width=4, blocks=6)
    wrapped = {"state_dict": {f"module.{k}": v for k, v in state.items()}}
    translator = convert(save(wrapped, tmp_path / "g.pth"), direction="BtoA")
    assert translator.config.direction == "BtoA"
    assert torch.equal(translator.generators.G_B.state_dict()["model.1.weight"],
                       state["model.1.weight"])


@pytest.mark.parametrize(("change", "message"), [
    (lambda s: s.pop("model.13.conv_block.5.weight"), "missing key 'model.13.conv_block.5.weight'"),
    (lambda s: s.update({"model.1.weights": torch.zeros(1)}), "unexpected key 'model.1.weights'"),
    (lambda s: s.update({"model.4.bias": torch.zeros(3)}), "'model.4.bias' has shape (3,)"),
    (lambda s: s.pop("model.1.weight"), "not a checkpoint the cyclegan importer reads"),
])
def test_a_bad_file_gives_one_line_naming_the_key(tmp_path, change, message):
    state = reference_state(width=4, blocks=6)
    change(state)
    with pytest.raises(WeightsError) as error:
        convert(save(state, tmp_path / "bad.pth"))
    assert message in str(error.value) and "\n" not in str(error.value)


class Payload:
    """Anything torch.load would have to unpickle by running code."""

    def __reduce__(self):
        return (print, ("this must never run",))


def test_files_that_need_unpickling_code_are_refused(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"model.1.weight": torch.zeros(1), "extra": Payload()}, path)
    with pytest.raises(WeightsError, match="refused: the pickle asks for"):
        convert(path)


def test_translate_import_then_infer_in_the_imported_direction(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TRANSLATE_HOME", str(tmp_path / "home"))
    state = reference_state(width=4, blocks=9)
    source = save(state, tmp_path / "latest_net_G_B.pth")
    assert main(["import", "cyclegan", str(source), "--direction", "BtoA",
                 "--out", str(tmp_path / "imported")]) == 0
    loaded = from_pretrained(tmp_path / "imported", expected=CycleGANTranslator)
    assert loaded.config.blocks == 9
    pixels = np.random.default_rng(0).integers(0, 256, (30, 41, 3), np.uint8)
    Image.fromarray(pixels).save(tmp_path / "in.png")
    common = ["--weights", str(tmp_path / "imported"), "--out", str(tmp_path / "out")]
    assert main(["infer", "cyclegan", str(tmp_path / "in.png"), "--direction", "BtoA",
                 *common]) == 0
    result = np.asarray(Image.open(tmp_path / "out" / "in.png")).astype(int)
    # infer reflects the bottom/right edges up to 32x44 (multiples of 4), then crops back
    images = torch.from_numpy(pixels).permute(2, 0, 1)[None].float() / 127.5 - 1
    with torch.no_grad():
        output = reference_forward(state, F.pad(images, (0, 3, 0, 2), mode="reflect"), blocks=9)
    expected = output[0, :, :30, :41].add(1).mul(127.5).round().permute(1, 2, 0).numpy()
    assert result.shape == pixels.shape and np.abs(result - expected).max() <= 1
    capsys.readouterr()
    assert main(["infer", "cyclegan", str(tmp_path / "in.png"), "--direction", "AtoB",
                 *common]) == 1
    assert "translate BtoA only" in capsys.readouterr().err


def test_a_second_file_fills_the_other_direction(tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSLATE_HOME", str(tmp_path / "home"))
    forward, backward = (reference_state(width=4, blocks=6, seed=seed) for seed in (1, 2))
    assert main(["import", "cyclegan", str(save(forward, tmp_path / "horse2zebra.pth")),
                 "--reverse", str(save(backward, tmp_path / "zebra2horse.pth")),
                 "--out", str(tmp_path / "both")]) == 0
    loaded = from_pretrained(tmp_path / "both", expected=CycleGANTranslator)
    assert loaded.config.direction == "both"
    assert read_meta(tmp_path / "both")["provenance"]["imported_from"] == \
        "horse2zebra.pth, zebra2horse.pth"
    images = torch.rand(1, 3, 24, 28) * 2 - 1
    with torch.no_grad():
        for generator, state in ((loaded.generators.G_A, forward), (loaded.generators.G_B,
                                                                     backward)):
            expected = reference_forward(state, images, blocks=6)
            assert (generator(images) - expected).abs().max() < 1e-5
    # --direction names the first file's way; the second file takes the other one.
    swapped = convert(tmp_path / "horse2zebra.pth", direction="BtoA",
                      reverse=tmp_path / "zebra2horse.pth")
    assert torch.equal(swapped.generators.G_B.state_dict()["model.1.weight"],
                       forward["model.1.weight"])


def test_two_files_of_different_architectures_are_refused_in_one_line(tmp_path):
    six = save(reference_state(width=4, blocks=6), tmp_path / "six.pth")
    nine = save(reference_state(width=4, blocks=9), tmp_path / "nine.pth")
    with pytest.raises(WeightsError) as error:
        convert(six, reverse=nine)
    assert "nine.pth: blocks 9" in str(error.value) and "one architecture" in str(error.value)
    assert "\n" not in str(error.value)


def test_the_architecture_is_read_off_the_keys():
    assert detect(reference_state(width=4, blocks=6)) == {
        "blocks": 6, "width": 4, "norm": "instance", "dropout": False}
    assert detect(reference_state(width=8, blocks=9, norm="batch", dropout=True)) == {
        "blocks": 9, "width": 8, "norm": "batch", "dropout": True}


def test_a_pytorch_gan_file_is_not_taken_for_a_resnet_generator_without_blocks():
    """PyTorch-GAN's generator also starts with a 7x7 model.1.weight; its blocks are named
    `block`, so this layout found no `conv_block` and used to read it as 0 blocks."""
    assert detect(GeneratorResNet(blocks=2, width=4).state_dict()) is None
    without_blocks = {k: v for k, v in reference_state(width=4, blocks=6).items()
                      if ".conv_block." not in k}
    assert detect(without_blocks) is None


def test_one_importer_tells_the_two_layouts_apart(tmp_path):
    torch.manual_seed(0)
    huggan = GeneratorResNet(blocks=2, width=4).eval()
    torch.save(huggan.state_dict(), tmp_path / "pytorch_model.bin")
    torch.save(reference_state(width=4, blocks=2), tmp_path / "latest_net_G_A.pth")
    theirs, ours = convert(tmp_path / "pytorch_model.bin"), convert(tmp_path / "latest_net_G_A.pth")
    assert theirs.model_config() == {"arch": "pytorch_gan_resnet", "blocks": 2, "width": 4}
    assert ours.model_config() == {"arch": "resnet", "blocks": 2, "width": 4, "dropout": False,
                                   "norm": "instance"}
    images = torch.rand(1, 3, 20, 28) * 2 - 1
    with torch.no_grad():
        assert torch.equal(theirs.translate(images, "AtoB"), huggan(images))


def test_a_one_way_import_holds_an_untrained_reverse_generator_the_same_every_time(tmp_path):
    path = save(reference_state(width=4, blocks=6), tmp_path / "horse2zebra.pth")
    first, second = convert(path), convert(path)
    reverse = first.generators.G_B.state_dict()
    assert all(torch.equal(reverse[k], v) for k, v in second.generators.G_B.state_dict().items())
    assert reverse["model.1.weight"].std() > 0.01  # initialised, not zeros


@pytest.mark.parametrize(("norm", "dropout"), [("instance", False), ("batch", True)])
def test_an_imported_file_computes_what_the_reference_module_does(tmp_path, norm, dropout):
    """junyanz's own ResnetGenerator (models/networks.py), read from TRANSLATE_REFERENCES."""
    root = reference_checkout("junyanz/pytorch-CycleGAN-and-pix2pix")
    networks = load_reference_module(root / "models/networks.py", "reference_junyanz_networks")
    torch.manual_seed(4)
    theirs = networks.ResnetGenerator(3, 3, ngf=8, norm_layer=networks.get_norm_layer(norm),
                                      use_dropout=dropout, n_blocks=6)
    for layer in theirs.modules():  # non-trivial statistics and biases
        if isinstance(layer, torch.nn.BatchNorm2d):
            layer.running_mean.uniform_(-0.2, 0.2)
            layer.running_var.uniform_(0.5, 1.5)
        if getattr(layer, "bias", None) is not None:
            torch.nn.init.normal_(layer.bias, 0.0, 0.05)
    theirs.eval()
    ours = convert(save(theirs.state_dict(), tmp_path / "latest_net_G_A.pth"))
    assert (ours.config.norm, ours.config.dropout) == (norm, dropout)
    images = torch.rand(2, 3, 40, 52, generator=torch.Generator().manual_seed(5)) * 2 - 1
    with torch.no_grad():
        assert (ours.generators.G_A(images) - theirs(images)).abs().max() < 1e-5
