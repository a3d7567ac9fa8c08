"""LaMa's generator: equal to advimman/lama's own, and reading big-lama as it is published.

The published files are built here at test time with small random weights: `big-lama.zip`
holding `big-lama/config.yaml` and `big-lama/models/best.ckpt` (a Lightning 1.2.9 checkpoint
with an omegaconf config, optimizer states and the discriminator's and losses' weights next to
the generator's), a safetensors copy of the generator alone, a TorchScript export and a pickle
with a payload.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
import types
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import safetensors.torch
import torch
from torch import nn

from support.references import reference_checkout
from translate.errors import ImageError, WeightsError
from translate.hub.reading import StandIn, find_state_dict, read_checkpoint
from translate_inpaint.lama import (
    BIG_LAMA,
    LamaGenerator,
    composite,
    detect,
    filter_state,
    inpaint,
    pad_symmetric,
)

omegaconf = pytest.importorskip("omegaconf")

SMALL = {"in_channels": 4, "out_channels": 3, "width": 8, "downsamples": 2, "blocks": 2,
         "global_ratio": 0.75, "max_width": 1024, "out_activation": "sigmoid"}
BIG_LAMA_PARAMETERS = 50_975_875  # LaMa's paper rounds it to 51M
MARKER = "translate-payload-ran"


def randomize(model: nn.Module, seed: int) -> nn.Module:
    """Random BatchNorm affines and running statistics, so that eval mode uses all of them."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                shape = module.weight.shape
                module.weight.copy_(torch.rand(shape, generator=generator) + 0.5)
                module.bias.copy_(torch.randn(shape, generator=generator) * 0.1)
                module.running_mean.copy_(torch.randn(shape, generator=generator) * 0.1)
                module.running_var.copy_(torch.rand(shape, generator=generator) + 0.5)
    return model


def small_generator(seed: int = 0) -> LamaGenerator:
    torch.manual_seed(seed)
    return randomize(LamaGenerator(**SMALL), seed).eval()


# ---- equality with advimman/lama's FFCResNetGenerator -----------------------------------------


@pytest.fixture(scope="module")
def reference_lama() -> Iterator[Any]:
    """Imports advimman/lama's modules from the checkout, with two imports stubbed.

    ffc.py imports kornia (for the spatial-transform wrapper, which big-lama does not use) and,
    through saicinpainting.utils, pytorch_lightning (for seed_everything); neither is installed
    here, and neither is reached by the generator's code.
    """
    checkout = reference_checkout("advimman/lama")

    def unused(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("stubbed out for the equality test")

    stubs = {"kornia": {}, "kornia.geometry": {}, "kornia.geometry.transform": {"rotate": unused},
             "pytorch_lightning": {"seed_everything": unused}}
    missing = {name for name in stubs if importlib.util.find_spec(name.partition(".")[0]) is None}
    with pytest.MonkeyPatch.context() as patch:
        for name, attributes in stubs.items():
            if name in missing:
                module = types.ModuleType(name)
                module.__dict__.update(attributes)
                patch.setitem(sys.modules, name, module)
        patch.syspath_prepend(str(checkout))
        yield importlib.import_module
        for name in [n for n in sys.modules if n.split(".")[0] == "saicinpainting"]:
            del sys.modules[name]


@pytest.fixture(scope="module")
def reference_class(reference_lama: Any) -> type:
    """advimman/lama's FFCResNetGenerator."""
    return reference_lama("saicinpainting.training.modules.ffc").FFCResNetGenerator


def reference_generator(cls: type, config: dict[str, Any]) -> nn.Module:
    """LaMa's generator as its training config builds it (configs/training/big-lama.yaml)."""
    activation = {"sigmoid": "sigmoid", "tanh": "tanh", None: False}[config["out_activation"]]
    plain = {"ratio_gin": 0, "ratio_gout": 0, "enable_lfu": False}
    ratio = config["global_ratio"]
    return cls(config["in_channels"], config["out_channels"], ngf=config["width"],
               n_downsampling=config["downsamples"], n_blocks=config["blocks"],
               add_out_act=activation, max_features=config["max_width"],
               init_conv_kwargs=plain, downsample_conv_kwargs=plain,
               resnet_conv_kwargs={"ratio_gin": ratio, "ratio_gout": ratio, "enable_lfu": False})


@pytest.mark.parametrize("config", [
    SMALL,
    {**SMALL, "global_ratio": 0.5, "out_activation": "tanh", "blocks": 1},
    pytest.param(BIG_LAMA, id="big-lama", marks=pytest.mark.slow),
], ids=["small", "half-global-tanh", "big-lama"])
def test_same_as_lamas_own_generator(reference_class: type, config: dict[str, Any]) -> None:
    torch.manual_seed(0)
    theirs = randomize(reference_generator(reference_class, config), 1)
    ours = LamaGenerator(**config)
    ours.load_state_dict(theirs.state_dict(), strict=True)  # the same names and shapes
    detected = detect({f"generator.{k}": v for k, v in theirs.state_dict().items()})
    assert detected == {**config, "out_activation": "sigmoid"}  # the activation has no weights
    inputs = torch.rand(2, 4, 64, 48)
    with torch.no_grad():
        for mode in ("eval", "train"):  # train: batch statistics, as fine-tuning would see
            theirs.train(mode == "train")
            ours.train(mode == "train")
            expected, got = theirs(inputs.clone()), ours(inputs.clone())
            assert got.shape == (2, 3, 64, 48)
            assert (got - expected).abs().max().item() < 1e-5, mode
            assert expected.std().item() > 1e-3  # not a saturated, trivially equal output
    if config is BIG_LAMA:
        assert sum(p.numel() for p in ours.parameters()) == BIG_LAMA_PARAMETERS


# ---- the published files, built at test time --------------------------------------------------


class Payload:
    """Unpickled without weights_only, this creates a marker folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.makedirs, (str(self.folder / MARKER),))


class TrainingModule(nn.Module):
    """The modules of LaMa's DefaultInpaintingTrainingModule whose weights a checkpoint holds."""

    def __init__(self) -> None:
        super().__init__()
        self.generator = small_generator()
        # pix2pixhd_nlayer (configs/training/discriminator), two layers instead of five
        self.discriminator = nn.Module()
        self.discriminator.model0 = nn.Sequential(nn.Conv2d(3, 4, 4, 2, 2), nn.LeakyReLU(0.2))
        self.discriminator.model1 = nn.Sequential(nn.Conv2d(4, 1, 4, 1, 2))
        # ResNetPL's frozen segmentation encoder, and an evaluator's network
        self.loss_resnet_pl = nn.Module()
        self.loss_resnet_pl.impl = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
        self.val_evaluator = nn.Module()
        self.val_evaluator.scores = nn.ModuleDict({"fid": nn.Conv2d(3, 2, 1)})


def lama_config(generator: dict[str, Any]) -> Any:
    """The run's config as Hydra composes it from big-lama.yaml (abridged), interpolations kept."""
    return omegaconf.OmegaConf.create({
        "run_title": "",
        "training_model": {"kind": "default", "visualize_each_iters": 1000, "concat_mask": True,
                           "store_discr_outputs_for_vis": True},
        "losses": {"l1": {"weight_missing": 0, "weight_known": 10},
                   "adversarial": {"kind": "r1", "weight": 10, "gp_coef": 0.001},
                   "feature_matching": {"weight": 100},
                   "resnet_pl": {"weight": 30, "weights_path": "${env:TORCH_HOME}"}},
        "generator": {
            "kind": "ffc_resnet", "input_nc": generator["in_channels"],
            "output_nc": generator["out_channels"], "ngf": generator["width"],
            "n_downsampling": generator["downsamples"], "n_blocks": generator["blocks"],
            "add_out_act": "sigmoid",
            "init_conv_kwargs": {"ratio_gin": 0, "ratio_gout": 0, "enable_lfu": False},
            "downsample_conv_kwargs": {
                "ratio_gin": "${generator.init_conv_kwargs.ratio_gout}",
                "ratio_gout": "${generator.downsample_conv_kwargs.ratio_gin}",
                "enable_lfu": False},
            "resnet_conv_kwargs": {"ratio_gin": generator["global_ratio"],
                                   "ratio_gout": "${generator.resnet_conv_kwargs.ratio_gin}",
                                   "enable_lfu": False}},
        "discriminator": {"kind": "pix2pixhd_nlayer", "input_nc": 3, "ndf": 64, "n_layers": 4},
        "optimizers": {"generator": {"kind": "adam", "lr": 0.001},
                       "discriminator": {"kind": "adam", "lr": 0.0001}},
        "trainer": {"kwargs": {"gpus": -1, "accelerator": "ddp", "max_epochs": 40},
                    "checkpoint_kwargs": {"save_top_k": 5, "monitor":
                                          "val_ssim_fid100_f1_total_mean", "mode": "max"}},
    })


def lightning_checkpoint(module: nn.Module, config: Any) -> dict[str, Any]:
    """What PyTorch Lightning 1.2.9's dump_checkpoint writes, as LaMa's training saved it."""
    optimizers = [torch.optim.Adam(module.generator.parameters(), lr=0.001),
                  torch.optim.Adam(module.discriminator.parameters(), lr=0.0001)]
    for optimizer in optimizers:  # one step, so that the states hold tensors
        for group in optimizer.param_groups:
            for parameter in group["params"]:
                parameter.grad = torch.zeros_like(parameter)
        optimizer.step()
    return {"epoch": 40, "global_step": 1_000_000, "pytorch-lightning_version": "1.2.9",
            "optimizer_states": [optimizer.state_dict() for optimizer in optimizers],
            "lr_schedulers": [], "state_dict": module.state_dict(),
            "hparams_name": "config", "hyper_parameters": config,
            "hparams_type": type(config)}


def write_zip(path: Path, checkpoint: Any, config_yaml: str) -> Path:
    """LaMa's big-lama.zip layout: a big-lama/ folder holding config.yaml and models/best.ckpt."""
    best = path.with_name(f"{path.stem}-best.ckpt")
    torch.save(checkpoint, best)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for folder in ("big-lama/", "big-lama/models/"):
            archive.writestr(zipfile.ZipInfo(folder), "")
        archive.writestr("big-lama/config.yaml", config_yaml)
        archive.write(best, "big-lama/models/best.ckpt")
    best.unlink()
    return path


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("big-lama")
    module = TrainingModule()
    config = lama_config(SMALL)
    archive = write_zip(folder / "big-lama.zip", lightning_checkpoint(module, config),
                        omegaconf.OmegaConf.to_yaml(config))
    copy = folder / "big-lama.safetensors"
    safetensors.torch.save_file(module.generator.state_dict(), str(copy))
    return {"zip": archive, "safetensors": copy, "generator": module.generator}


def loaded_generator(path: Path, **read: Any) -> LamaGenerator:
    """What the host's importer will do: read, unwrap, detect, filter, build, load strictly."""
    state = find_state_dict(read_checkpoint(path, **read), path=path)
    config = detect(state)
    assert config == SMALL
    generator = LamaGenerator(**config)
    generator.load_state_dict(filter_state(state), strict=True)
    return generator.eval()


def assert_same_predictions(a: nn.Module, b: nn.Module) -> None:
    image, mask = torch.rand(1, 3, 40, 40), (torch.rand(1, 1, 40, 40) > 0.7).float()
    with torch.no_grad():
        assert torch.equal(inpaint(a, image, mask), inpaint(b, image, mask))


def test_the_published_zip_loads_its_generator_and_nothing_else(published: dict) -> None:
    loaded = read_checkpoint(published["zip"])
    assert loaded["pytorch-lightning_version"] == "1.2.9" and loaded["epoch"] == 40
    assert isinstance(loaded["hyper_parameters"], StandIn)  # the omegaconf config, inert
    keys = find_state_dict(loaded).keys()
    assert any(k.startswith("discriminator.") for k in keys)
    assert any(k.startswith("loss_resnet_pl.") for k in keys)
    kept = filter_state(find_state_dict(loaded))
    assert kept.keys() == published["generator"].state_dict().keys()
    for read in ({}, {"member": "models/best.ckpt"}):
        assert_same_predictions(loaded_generator(published["zip"], **read), published["generator"])


def test_the_safetensors_copy_loads(published: dict) -> None:
    assert_same_predictions(loaded_generator(published["safetensors"]), published["generator"])


def test_a_lightning_1_2_callbacks_entry_is_read(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # Lightning 1.2's dump_checkpoint keys its `callbacks` dict by the callback classes
    # (LaMa's train.py uses ModelCheckpoint); the host reads the class as an inert stand-in.
    names = ("pytorch_lightning", "pytorch_lightning.callbacks",
             "pytorch_lightning.callbacks.model_checkpoint")
    callbacks = types.ModuleType(names[-1])
    callbacks.ModelCheckpoint = type("ModelCheckpoint", (), {"__module__": names[-1],
                                                             "__qualname__": "ModelCheckpoint"})
    module = TrainingModule()
    checkpoint = lightning_checkpoint(module, lama_config(SMALL))
    checkpoint["callbacks"] = {callbacks.ModelCheckpoint: {
        "monitor": "val_ssim_fid100_f1_total_mean", "best_model_score": torch.tensor(0.9),
        "best_model_path": "/experiments/big-lama/models/epoch=39.ckpt",
        "current_score": torch.tensor(0.9), "dirpath": "/experiments/big-lama/models"}}
    with monkeypatch.context() as patch:  # the class exists only while the file is written
        for name in names:
            patch.setitem(sys.modules, name, callbacks)
        archive = write_zip(tmp_path / "big-lama.zip", checkpoint, "")
    assert_same_predictions(loaded_generator(archive), module.generator)


class JITWrapper(nn.Module):
    """lama-cleaner's big-lama.pt: LaMa's bin/to_jit.py traces (image, mask) -> inpainted."""

    def __init__(self) -> None:
        super().__init__()
        self.generator = small_generator()

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        predicted = self.generator(torch.cat([image * (1 - mask), mask], dim=1))
        return mask * predicted + (1 - mask) * image


def write_torchscript(path: Path) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's deprecation notices for TorchScript
        example = (torch.rand(1, 3, 32, 32), torch.zeros(1, 1, 32, 32))
        torch.jit.save(torch.jit.trace(JITWrapper(), example), str(path))
    return path


def test_torchscript_is_refused_naming_the_accepted_formats(tmp_path: Path) -> None:
    path = write_torchscript(tmp_path / "big-lama.pt")
    with pytest.raises(WeightsError, match=r"TorchScript program.*\.safetensors") as caught:
        read_checkpoint(path)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("force", [False, True], ids=["default", "TORCH_FORCE_NO_WEIGHTS_ONLY"])
def test_a_payload_in_the_zip_never_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         force: bool) -> None:
    if force:  # turns arbitrary unpickling back on for any torch.load not passing weights_only
        monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    state = {f"generator.{k}": v for k, v in small_generator().state_dict().items()}
    checkpoint = {"state_dict": state, "pytorch-lightning_version": "1.2.9",
                  "hyper_parameters": Payload(tmp_path)}
    bare = tmp_path / "best.ckpt"
    torch.save(checkpoint, bare)
    for path in (bare, write_zip(tmp_path / "big-lama.zip", checkpoint, "")):
        with pytest.raises(WeightsError, match=r"refused: the pickle asks for.*makedirs"):
            read_checkpoint(path)
        assert not (tmp_path / MARKER).exists()


# ---- the full big-lama configuration ----------------------------------------------------------


def test_the_full_big_lama_shapes_are_detected_and_load_strictly() -> None:
    torch.manual_seed(0)
    big = LamaGenerator(**BIG_LAMA)
    assert sum(p.numel() for p in big.parameters()) == BIG_LAMA_PARAMETERS
    state = {f"generator.{k}": v for k, v in big.state_dict().items()}
    state["discriminator.model0.0.weight"] = torch.zeros(64, 3, 4, 4)
    state["loss_resnet_pl.impl.conv1.weight"] = torch.zeros(64, 3, 3, 3)
    assert detect(state) == BIG_LAMA
    with torch.device("meta"):
        loaded = LamaGenerator(**detect(state))
    loaded.load_state_dict(filter_state(state), strict=True, assign=True)
    # What the published keys look like (advimman/lama issue 369 quotes the last two).
    names = set(filter_state(state))
    assert {"model.1.ffc.convl2l.weight", "model.4.ffc.convl2g.weight",
            "model.5.conv1.ffc.convg2g.fu.conv_layer.weight", "model.22.conv2.bn_g.running_var",
            "model.30.weight", "model.34.weight"} <= names
    assert tuple(state["generator.model.30.weight"].shape) == (128, 64, 3, 3)
    assert tuple(state["generator.model.34.weight"].shape) == (3, 64, 7, 7)


# ---- checkpoint functions ---------------------------------------------------------------------


def test_filter_state_takes_each_known_layout() -> None:
    ours = small_generator().state_dict()
    for prefix in ("", "generator.", "model.generator."):
        state = {f"{prefix}{k}": v for k, v in ours.items()}
        state.update({"discriminator.model0.0.weight": torch.ones(1),
                      "loss_resnet_pl.impl.conv1.weight": torch.ones(1), "epoch": 3})
        assert filter_state(state).keys() == ours.keys(), prefix
        assert detect(state) == SMALL
    without_counters = {k: v for k, v in ours.items() if not k.endswith("num_batches_tracked")}
    restored = filter_state(without_counters)
    assert restored.keys() == ours.keys()
    assert int(restored["model.1.bn_l.num_batches_tracked"]) == 0


def test_detect_refuses_what_is_not_a_lama_generator() -> None:
    from translate_inpaint.model import Generator

    assert detect({}) is None
    assert detect(Generator(width=8, blocks=1, rates=(1, 2)).state_dict()) is None
    state = small_generator().state_dict()
    assert detect({k: v for k, v in state.items() if "convg2g" not in k}) is None
    state["model.4.conv1.ffc.convg2g.fu.conv_layer.weight"] = torch.zeros(12, 12, 1, 1)
    assert detect(state) is None


def test_detect_reads_other_sizes() -> None:
    for config in ({**SMALL, "width": 16, "downsamples": 1, "blocks": 3, "global_ratio": 0.5},
                   {**SMALL, "global_ratio": 0.0}, {**SMALL, "width": 8, "max_width": 16},
                   {**SMALL, "in_channels": 5, "out_channels": 1}):
        assert detect(LamaGenerator(**config).state_dict()) == config


# ---- inference: padding, cropping, compositing ------------------------------------------------


@pytest.mark.parametrize("size", [(1, 1), (2, 3), (7, 9), (37, 29), (40, 48)])
def test_pad_symmetric_is_numpys_symmetric_pad(size: tuple[int, int]) -> None:
    x = torch.rand(2, 3, *size)
    padded = pad_symmetric(x, 8)
    expected = np.pad(x.numpy(), ((0, 0), (0, 0), (0, -size[0] % 8), (0, -size[1] % 8)),
                      mode="symmetric")
    assert padded.shape[-2] % 8 == 0 and padded.shape[-1] % 8 == 0
    assert np.array_equal(padded.numpy(), expected)


def test_inpaint_pads_to_8_and_crops_back_at_odd_sizes() -> None:
    generator = small_generator()
    image = torch.rand(2, 3, 37, 29)
    mask = (torch.rand(2, 1, 37, 29) > 0.6).float()
    with torch.no_grad():
        prediction = inpaint(generator, image, mask)
        inputs = torch.from_numpy(np.pad(torch.cat([image * (1 - mask), mask], 1).numpy(),
                                         ((0, 0), (0, 0), (0, 3), (0, 3)), mode="symmetric"))
        expected = generator(inputs)[..., :37, :29]
        # the hole's content never reaches the network; a soft mask counts as a hole
        scribbled = torch.where(mask > 0, torch.rand_like(image), image)
        again = inpaint(generator, scribbled, mask * 0.5)
    assert prediction.shape == image.shape
    assert torch.equal(prediction, expected)
    assert torch.equal(again, prediction)


def test_composite_keeps_every_known_pixel_bit_for_bit() -> None:
    generator = small_generator()
    image = torch.randint(0, 256, (1, 3, 35, 33)).float() / 255
    mask = torch.zeros(1, 1, 35, 33)
    mask[..., 10:25, 5:20] = 1
    with torch.no_grad():
        prediction = inpaint(generator, image, mask)
    result = composite(image, prediction, mask)
    known = (mask == 0).expand_as(image)
    assert torch.equal(result[known], image[known])
    assert torch.equal(result[~known], prediction[~known])
    assert not torch.equal(result[~known], image[~known])


def test_too_small_an_image_is_refused_in_one_line() -> None:
    generator = LamaGenerator(width=4, downsamples=3, blocks=1).eval()  # big-lama's depths
    with pytest.raises(ImageError, match=r"larger than 8x8 pixels, got 12x8$"):
        inpaint(generator, torch.rand(1, 3, 8, 12), torch.zeros(1, 1, 8, 12))
    with torch.no_grad():  # 9 pixels pad to 16, which the blocks can reflect at 2x2
        assert inpaint(generator, torch.rand(1, 3, 9, 9), torch.ones(1, 1, 9, 9)).shape[-1] == 9


def test_the_curated_entry_is_complete() -> None:
    import json

    import translate_inpaint

    path = Path(translate_inpaint.__file__).with_name("curated.json")
    keys = {"name", "translator", "arch", "repo", "file", "member", "revision", "sha256",
            "licence", "description", "source"}
    for entry in json.loads(path.read_text()):
        assert entry.keys() == keys
        assert (entry["translator"], entry["arch"]) == ("inpaint", "lama")
        assert len(entry["revision"]) == 40 and len(entry["sha256"]) == 64
        assert int(entry["revision"], 16) >= 0 and int(entry["sha256"], 16) >= 0


# ---- LaMa's discriminator and losses, for fine-tuning -----------------------------------------


def test_the_discriminator_and_losses_are_lamas_own(reference_lama: Any) -> None:
    from translate.losses import generator_loss
    from translate_inpaint.lama import NLayerDiscriminator
    from translate_inpaint.losses import feature_matching_loss, masked_fake_loss, r1_penalty

    pix2pixhd = reference_lama("saicinpainting.training.modules.pix2pixhd")
    adversarial = reference_lama("saicinpainting.training.losses.adversarial")
    matching = reference_lama("saicinpainting.training.losses.feature_matching")
    torch.manual_seed(0)
    theirs = randomize(pix2pixhd.NLayerDiscriminator(3, ndf=8, n_layers=3), 2)
    ours = NLayerDiscriminator(width=8, layers=3)
    ours.load_state_dict(theirs.state_dict(), strict=True)  # LaMa's `discriminator.` names
    real, fake = torch.rand(2, 3, 64, 48), torch.rand(2, 3, 64, 48)
    mask = (torch.rand(2, 1, 64, 48) > 0.6).float()
    with torch.no_grad():
        for mode in (False, True):
            theirs.train(mode)
            ours.train(mode)
            (expected, expected_features), (got, got_features) = theirs(real), ours(real)
            assert (got - expected).abs().max() < 1e-5
            assert len(got_features) == len(expected_features) == 4
            for a, b in zip(got_features, expected_features, strict=True):
                assert (a - b).abs().max() < 1e-5
    theirs.eval()
    # big-lama.yaml's adversarial loss: r1, weight 10, gp_coef 0.001, mask_as_fake_target
    loss = adversarial.NonSaturatingWithR1(gp_coef=0.001, weight=10, mask_as_fake_target=True,
                                           allow_scale_mask=True)
    real = real.requires_grad_(True)
    real_logits, real_features = theirs(real)
    fake_logits, fake_features = theirs(fake)
    ours_d = (torch.nn.functional.softplus(-real_logits).mean()
              + masked_fake_loss(fake_logits, mask) + 0.001 * r1_penalty(real_logits, real))
    theirs_d, _ = loss.discriminator_loss(real_batch=real, fake_batch=fake,
                                          discr_real_pred=real_logits,
                                          discr_fake_pred=fake_logits, mask=mask)
    theirs_g, _ = loss.generator_loss(real_batch=real, fake_batch=fake,
                                      discr_real_pred=real_logits, discr_fake_pred=fake_logits,
                                      mask=mask)
    assert abs(ours_d.item() - theirs_d.item()) < 1e-5
    assert abs(10 * generator_loss("nonsaturating", fake_logits).item() - theirs_g.item()) < 1e-5
    assert abs(feature_matching_loss(fake_features, real_features).item()
               - matching.feature_matching_loss(fake_features, real_features).item()) < 1e-6


# ---- translate import / infer / train: LaMa's files through the plugin ------------------------


def run_cli(*args: str) -> tuple[int, str]:
    """The CLI's exit code and its last line on stderr."""
    import contextlib
    import io

    from translate.cli import main

    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        code = main([*args])
    lines = stderr.getvalue().strip().splitlines()
    return code, lines[-1] if lines else ""


@pytest.fixture(scope="module")
def imported(published: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("imported") / "big-lama"
    code, said = run_cli("import", "inpaint", str(published["zip"]), "--out", str(out))
    assert code == 0, said
    return out


def test_translate_import_turns_big_lama_zip_into_a_lama_folder(imported: Path,
                                                                published: dict) -> None:
    import json

    from translate_inpaint.translator import InpaintTranslator

    meta = json.loads((imported / "config.json").read_text())
    assert meta["model"] == {"arch": "lama", **{k: SMALL[k] for k in (
        "width", "blocks", "downsamples", "global_ratio", "max_width")}}
    assert meta["provenance"]["imported_from"] == "big-lama.zip"
    assert meta["training"]["image_size"] == 64  # the starter's crops: comparable figures
    loaded = InpaintTranslator.from_pretrained(imported).generators.G.state_dict()
    expected = published["generator"].state_dict()
    assert loaded.keys() == expected.keys()
    assert all(torch.equal(loaded[k], expected[k]) for k in expected)


def test_the_safetensors_copy_imports_to_the_same_weights(published: dict, imported: Path,
                                                          tmp_path: Path) -> None:
    code, said = run_cli("import", "inpaint", str(published["safetensors"]), "--out",
                         str(tmp_path / "copy"))
    assert code == 0, said
    assert (tmp_path / "copy" / "model.safetensors").read_bytes() == \
        (imported / "model.safetensors").read_bytes()


def test_translate_infer_with_imported_weights_keeps_known_pixels(imported: Path,
                                                                  tmp_path: Path) -> None:
    from PIL import Image

    pixels = np.random.default_rng(0).integers(0, 256, (70, 90, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "photo.png")
    hole = np.zeros((70, 90), bool)
    hole[20:45, 30:70] = True
    Image.fromarray(np.uint8(hole) * 255).save(tmp_path / "mask.png")
    code, said = run_cli("infer", "inpaint", str(tmp_path / "photo.png"), "--mask",
                         str(tmp_path / "mask.png"), "--weights", str(imported), "--out",
                         str(tmp_path / "out"), "--device", "cpu")
    assert code == 0, said
    result = np.asarray(Image.open(tmp_path / "out" / "photo.png"))
    np.testing.assert_array_equal(result[~hole], pixels[~hole])
    assert not np.array_equal(result[hole], pixels[hole])


def test_files_that_are_not_an_inpaint_generator_are_refused_in_one_line(tmp_path: Path) -> None:
    from translate_inpaint.model import Generator

    cases = {
        write_torchscript(tmp_path / "big-lama.pt"): r"TorchScript program.*\.safetensors",
        tmp_path / "aot.safetensors": "not a checkpoint the inpaint importer reads",
        tmp_path / "noise.safetensors": r"in_channels=5; the inpaint plugin runs in_channels=4",
    }
    safetensors.torch.save_file(Generator(width=8, blocks=1, rates=(1, 2)).state_dict(),
                                str(tmp_path / "aot.safetensors"))
    # LaMa's generators trained with noise channels take more than image + mask.
    safetensors.torch.save_file(LamaGenerator(**{**SMALL, "in_channels": 5}).state_dict(),
                                str(tmp_path / "noise.safetensors"))
    for path, message in cases.items():
        code, said = run_cli("import", "inpaint", str(path), "--out", str(tmp_path / "out"))
        assert code == 1 and said.startswith("error: ")
        assert re.search(message, said), said
        assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("data", ["folder", pytest.param("photos", marks=pytest.mark.slow)])
def test_fine_tuning_imported_weights_runs_two_steps_on_the_cpu(
        imported: Path, tmp_path: Path, data: str) -> None:
    from PIL import Image

    from translate_inpaint.translator import InpaintTranslator

    spec = "photos"
    if data == "folder":
        rng = np.random.default_rng(0)
        for index in range(4):
            Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(
                tmp_path / f"{index}.png")
        spec = f"folder:{tmp_path}"
    shape = [f"--set={k}={SMALL[k]}" for k in ("width", "downsamples", "blocks")]
    code, said = run_cli("train", "inpaint", "--data", spec, "--set", "arch=lama", "--set",
                         f"init_from={imported}", *shape, "--set=d_width=8", "--set=d_layers=2",
                         "--set=image_size=32", "--set=batch_size=2", "--set=eval_count=2",
                         "--steps", "2", "--out", str(tmp_path / "run"), "--quiet",
                         "--device", "cpu")
    assert code == 0, said
    tuned = InpaintTranslator.from_pretrained(tmp_path / "run" / "weights")
    start = InpaintTranslator.from_pretrained(imported)
    assert tuned.model_config() == start.model_config()
    before, after = start.generators.state_dict(), tuned.generators.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    assert tuned.config.fm_weight == 100 and tuned.config.loss == "nonsaturating"
