"""faces: the StyleGAN2 generator equals rosinality's, and reads his files.

The reference is rosinality's own `model.Generator` (stylegan2-pytorch, found through
TRANSLATE_REFERENCES), running its pure-PyTorch CPU paths. His files are built here with
random weights, under their real names and in their real layouts.
"""

from __future__ import annotations

import argparse
import importlib
import json
import struct
import sys
from importlib.resources import files
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from support.references import isolated_imports, reference_checkout
from support.references import max_difference as recorded_difference
from translate.errors import WeightsError
from translate.hub.reading import read_checkpoint
from translate_faces.model import Generator as DCGANGenerator
from translate_faces.stylegan2 import StyleGAN2Generator, upfirdn2d
from translate_faces.stylegan2_checkpoints import (
    convert,
    detect,
    expected_shapes,
    flat_state,
    load_generator,
    split_checkpoint,
)

REFERENCE = "rosinality/stylegan2-pytorch"
# Configurations under our names (image_size, latent_dim, mapping_layers = his size,
# style_dim, n_mlp). NVIDIA's FFHQ config F, as rosinality's convert_weight.py and
# generate.py build it:
FULL = {"image_size": 1024, "latent_dim": 512, "mapping_layers": 8, "channel_multiplier": 2}
# train.py's defaults: --size 256 --channel_multiplier 2, with latent 512 and n_mlp 8 fixed.
TRAINED = {"image_size": 256, "latent_dim": 512, "mapping_layers": 8, "channel_multiplier": 2}
SMALL = {"image_size": 64, "latent_dim": 32, "mapping_layers": 2, "channel_multiplier": 1}
TINY = {"image_size": 8, "latent_dim": 16, "mapping_layers": 2, "channel_multiplier": 2}
TOLERANCE = 1e-5


# ---- the reference --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference() -> SimpleNamespace:
    """rosinality's model.py and op.upfirdn2d, imported without compiling anything."""
    checkout = reference_checkout(REFERENCE)
    import torch.utils.cpp_extension

    with isolated_imports(), pytest.MonkeyPatch.context() as patch:
        # op/ compiles its CUDA extensions at import. A dummy build leaves the reference's
        # own CPU branches to run: upfirdn2d_native and fused_leaky_relu's CPU path.
        patch.setattr(torch.utils.cpp_extension, "load", lambda *args, **kwargs: SimpleNamespace())
        for name in ("model", "op"):  # generic names another test may have imported
            sys.modules.pop(name, None)
        patch.syspath_prepend(str(checkout))
        model = importlib.import_module("model")
        upfirdn2d_module = importlib.import_module("op.upfirdn2d")
    return SimpleNamespace(Generator=model.Generator, Discriminator=model.Discriminator,
                           upfirdn2d_native=upfirdn2d_module.upfirdn2d_native)


def reference_generator(reference: SimpleNamespace, config: dict, *, seed: int = 0):
    torch.manual_seed(seed)
    generator = reference.Generator(config["image_size"], config["latent_dim"],
                                    config["mapping_layers"],
                                    channel_multiplier=config["channel_multiplier"]).eval()
    # Biases and noise strengths start at 0 (modulation biases at 1): random ones make every
    # term of the forward pass count.
    with torch.no_grad():
        for name, parameter in generator.named_parameters():
            if name.endswith("modulation.bias"):
                parameter.normal_(1.0, 0.1)
            elif name.endswith(("bias", "noise.weight")):
                parameter.normal_(0.0, 0.1)
    return generator


@torch.no_grad()
def reference_images(generator, z: torch.Tensor, *, psi: float, mean: torch.Tensor,
                     latent_is_w: bool = False) -> torch.Tensor:
    images, _ = generator([z], truncation=psi, truncation_latent=mean, randomize_noise=False,
                          input_is_latent=latent_is_w)
    return images


def ours_from(generator, latent_avg: torch.Tensor | None = None) -> StyleGAN2Generator:
    checkpoint = {"g_ema": generator.state_dict()}
    if latent_avg is not None:
        checkpoint["latent_avg"] = latent_avg
    config, state = convert(checkpoint)
    model = StyleGAN2Generator(**config)
    model.load_state_dict(state, strict=True)
    return model.eval()


def max_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    assert a.shape == b.shape
    return recorded_difference(a, b)


# ---- equality with the reference ------------------------------------------------------------


def test_upfirdn2d_equals_the_reference_native_filter(reference):
    torch.manual_seed(0)
    x, kernel = torch.randn(2, 3, 7, 9), torch.randn(4, 4)
    for up, down, pad in [(2, 1, (2, 1)), (1, 1, (1, 1)), (1, 2, (2, 1)), (2, 2, (1, 2))]:
        ours = upfirdn2d(x, kernel, up=up, down=down, pad=pad)
        theirs = reference.upfirdn2d_native(x, kernel, up, up, down, down, *pad, *pad)
        assert max_difference(ours, theirs) < TOLERANCE, (up, down, pad)


def test_a_small_generator_equals_the_reference(reference):
    theirs = reference_generator(reference, SMALL)
    mean = torch.randn(SMALL["latent_dim"])  # any mean: both pull towards the same one
    ours = ours_from(theirs, mean)
    assert detect(theirs.state_dict()) == SMALL
    z = torch.randn(2, SMALL["latent_dim"], generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        for psi in (1.0, 0.5):
            difference = max_difference(ours(z, truncation=psi),
                                        reference_images(theirs, z, psi=psi, mean=mean))
            assert difference < TOLERANCE, psi


def test_one_w_per_layer_equals_the_reference(reference):
    # Style mixing's input: a different w for every layer (rosinality's input_is_latent).
    theirs = reference_generator(reference, TINY, seed=3)
    ours = ours_from(theirs)
    w = torch.randn(2, ours.n_latent, TINY["latent_dim"])
    with torch.no_grad():
        difference = max_difference(ours.synthesis(w),
                                    reference_images(theirs, w, psi=1.0, mean=ours.latent_avg,
                                                     latent_is_w=True))
    assert difference < TOLERANCE


def test_the_256_configuration_train_py_trains_equals_the_reference(reference):
    theirs = reference_generator(reference, TRAINED)
    ours = ours_from(theirs)  # no latent_avg: estimated, as for his training checkpoints
    z = ours.latents(1, seed=7)
    with torch.no_grad():
        difference = max_difference(ours(z, truncation=0.7),
                                    reference_images(theirs, z, psi=0.7, mean=ours.latent_avg))
    assert difference < TOLERANCE


# ---- his files ------------------------------------------------------------------------------


def test_a_converted_release_file_loads_strictly_with_its_latent_avg(reference, tmp_path):
    # convert_weight.py's output for NVIDIA's stylegan2-ffhq-config-f.pkl: g_ema and the
    # official network's tracked mean of W, (512,).
    theirs = reference_generator(reference, FULL)
    latent_avg = torch.randn(FULL["latent_dim"])
    path = tmp_path / "stylegan2-ffhq-config-f.pt"
    torch.save({"g_ema": theirs.state_dict(), "latent_avg": latent_avg}, path)

    checkpoint = read_checkpoint(path)
    state, found_avg = split_checkpoint(checkpoint)
    assert detect(state) == FULL
    assert torch.equal(found_avg, latent_avg)
    flat = flat_state(checkpoint)  # what a reader that passes one dict along keeps
    assert detect(flat) == FULL and torch.equal(convert(flat)[1]["latent_avg"], latent_avg)
    model = load_generator(path)
    assert torch.equal(model.latent_avg, latent_avg)
    for key, value in theirs.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key
    parameters = sum(p.numel() for p in model.parameters())
    assert parameters == sum(p.numel() for p in theirs.parameters())
    assert 30e6 < parameters < 31e6
    # The mapping network and truncation, cheap at any size, agree too.
    z = model.latents(4, seed=0)
    with torch.no_grad():
        theirs_w = latent_avg + 0.5 * (theirs.style(z) - latent_avg)
        assert max_difference(model.truncate(model.mapping(z), 0.5), theirs_w) < TOLERANCE


def train_py_args(size: int) -> argparse.Namespace:
    """The Namespace train.py pickles: its parser's defaults plus what it sets afterwards."""
    return argparse.Namespace(
        path="lmdb", arch="stylegan2", iter=800000, batch=16, n_sample=64, size=size, r1=10,
        path_regularize=2, path_batch_shrink=2, d_reg_every=16, g_reg_every=4, mixing=0.9,
        ckpt=None, lr=0.002, channel_multiplier=2, wandb=False, local_rank=0, augment=False,
        augment_p=0, ada_target=0.6, ada_length=500000, ada_every=256, distributed=False,
        latent=512, n_mlp=8, start_iter=0)


def adam_after_one_step(module: torch.nn.Module, ratio: float) -> torch.optim.Adam:
    optimiser = torch.optim.Adam(module.parameters(), lr=0.002 * ratio,
                                 betas=(0**ratio, 0.99**ratio))
    for parameter in module.parameters():
        parameter.grad = torch.zeros_like(parameter)
    optimiser.step()
    return optimiser


def test_a_training_checkpoint_gives_its_g_ema_and_an_estimated_mean(reference, tmp_path):
    # train.py's checkpoint/NNNNNN.pt (his released 256px model is one: 550000.pt). Size 8
    # keeps the file small; everything else is train.py's: latent 512, n_mlp 8.
    config = {"image_size": 8, "latent_dim": 512, "mapping_layers": 8, "channel_multiplier": 2}
    g = reference_generator(reference, config, seed=1)
    g_ema = reference_generator(reference, config, seed=2)
    d = reference.Discriminator(config["image_size"], channel_multiplier=2)
    path = tmp_path / "550000.pt"
    torch.save({"g": g.state_dict(), "d": d.state_dict(), "g_ema": g_ema.state_dict(),
                "g_optim": adam_after_one_step(g, 4 / 5).state_dict(),
                "d_optim": adam_after_one_step(d, 16 / 17).state_dict(),
                "args": train_py_args(config["image_size"]), "ada_aug_p": 0.0}, path)

    checkpoint = read_checkpoint(path)
    assert checkpoint["args"].size == config["image_size"]  # an inert stand-in, read as attributes
    state, latent_avg = split_checkpoint(checkpoint)
    assert latent_avg is None and detect(state) == config
    model = load_generator(path)
    # The estimate is rosinality's mean_latent over our seeded latents.
    z = model.latents(4096, seed=0)
    with torch.no_grad():
        assert max_difference(model.latent_avg, g_ema.style(z).mean(0)) < TOLERANCE
        z = model.latents(2, seed=5)
        difference = max_difference(model(z, truncation=0.7),
                                    reference_images(g_ema, z, psi=0.7, mean=model.latent_avg))
    assert difference < TOLERANCE


def test_the_full_1024_configuration_without_the_reference():
    shapes = expected_shapes(FULL)
    # Keys and shapes of the real stylegan2-ffhq-config-f.pt g_ema (rosinality's layout).
    assert shapes["style.8.weight"] == (512, 512)
    assert shapes["input.input"] == (1, 512, 4, 4)
    assert shapes["conv1.conv.weight"] == (1, 512, 512, 3, 3)
    assert shapes["convs.12.conv.weight"] == (1, 64, 128, 3, 3)
    assert shapes["convs.15.conv.weight"] == (1, 32, 32, 3, 3)
    assert shapes["convs.0.conv.blur.kernel"] == (4, 4)
    assert shapes["to_rgbs.7.conv.weight"] == (1, 3, 32, 1, 1)
    assert shapes["to_rgbs.7.upsample.kernel"] == (4, 4)
    assert shapes["noises.noise_16"] == (1, 1, 1024, 1024)
    assert "noises.noise_17" not in shapes and "convs.16.conv.weight" not in shapes
    with torch.device("meta"):
        model = StyleGAN2Generator(**FULL)
    assert detect(model.state_dict()) == FULL
    assert model.n_latent == 18
    assert 30e6 < sum(p.numel() for p in model.parameters()) < 31e6


@pytest.mark.slow
def test_a_1024_image_equals_the_reference(reference):
    theirs = reference_generator(reference, FULL)
    latent_avg = torch.randn(FULL["latent_dim"])
    ours = ours_from(theirs, latent_avg)
    z = ours.latents(1, seed=0)
    with torch.no_grad():
        difference = max_difference(ours(z, truncation=0.5),
                                    reference_images(theirs, z, psi=0.5, mean=latent_avg))
    assert difference < TOLERANCE


# ---- detect and filter on their own ---------------------------------------------------------


@pytest.fixture(scope="module")
def tiny() -> StyleGAN2Generator:
    """Our own generator at 8x8, random but with every term active, its mean estimated."""
    torch.manual_seed(0)
    model = StyleGAN2Generator(**TINY).eval()
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.endswith(("activate.bias", "noise.weight")):
                parameter.normal_(0.0, 0.1)
    model.estimate_mean_latent()
    return model


def test_detect_reads_back_every_configuration():
    for config in (TINY, {**TINY, "image_size": 16}, SMALL, TRAINED, FULL,
                   {**TRAINED, "channel_multiplier": 1}, {**FULL, "image_size": 512}):
        with torch.device("meta"):
            state = StyleGAN2Generator(**config).state_dict()
        assert detect(state) == config


def test_detect_refuses_what_is_not_this_generator(tiny):
    assert detect(DCGANGenerator(latent_dim=8, width=4, image_size=32, channels=3)
                  .state_dict()) is None
    state = tiny.state_dict()
    assert detect({k: v for k, v in state.items() if k != "noises.noise_2"}) is None
    # SWAGAN (rosinality's swagan.py) predicts 12 wavelet channels where ToRGB has 3.
    swagan_like = {**state, "to_rgb1.conv.weight": torch.zeros(1, 12, 512, 1, 1)}
    assert detect(swagan_like) is None
    assert detect({**state, "style.9.weight": torch.zeros(16, 16)}) is None
    assert detect({}) is None


def test_our_own_state_round_trips_with_its_mean(tiny):
    model = tiny
    state, latent_avg = split_checkpoint(model.state_dict())
    assert "latent_avg" not in state and torch.equal(latent_avg, model.latent_avg)
    config, full = convert(model.state_dict())
    assert config == TINY
    again = StyleGAN2Generator(**config)
    again.load_state_dict(full, strict=True)
    assert torch.equal(again.eval().sample(1, seed=3), model.sample(1, seed=3))


def test_something_else_is_refused_in_one_line():
    with pytest.raises(WeightsError, match=r"^x\.pt: not a StyleGAN2 generator[^\n]*$"):
        convert({"g_ema": {"net.0.weight": torch.zeros(3)}}, label="x.pt")


# ---- truncation, seeds and walks ------------------------------------------------------------


def test_psi_zero_gives_the_mean_image_for_any_seed(tiny):
    model = tiny
    mean_image = model.render(model.latent_avg[None])
    for seed in (0, 1, 12345):
        assert torch.equal(model.sample(1, seed, truncation=0.0), mean_image)
    assert not torch.equal(model.sample(1, 0), model.sample(1, 1))
    for psi in (-0.1, 1.5):
        with pytest.raises(ValueError, match=r"\[0, 1\]"):
            model.sample(1, 0, truncation=psi)


def test_a_seed_means_the_same_images_and_the_first_starts_every_set(tiny):
    model = tiny
    four = model.sample(4, seed=9, truncation=0.7)
    assert torch.equal(four, model.sample(4, seed=9, truncation=0.7))
    # Another batch size may round differently (grouped convolutions), never visibly.
    assert max_difference(four[:1], model.sample(1, seed=9, truncation=0.7)) < TOLERANCE


def test_a_walk_runs_straight_in_w_between_the_two_seeds_images(tiny):
    model = tiny
    walk = model.walk(3, 8, 5, truncation=0.6)
    assert walk.shape == (5, 3, TINY["image_size"], TINY["image_size"])
    assert max_difference(walk[0], model.sample(1, 3, truncation=0.6)[0]) < TOLERANCE
    assert max_difference(walk[-1], model.sample(1, 8, truncation=0.6)[0]) < TOLERANCE
    ends = model.w_of_seeds([3, 8], truncation=0.6)
    assert max_difference(walk[2], model.render(ends.mean(0, keepdim=True))[0]) < TOLERANCE
    with pytest.raises(ValueError, match="at least 2"):
        model.walk(3, 8, 1)


# ---- NVlabs pickles -------------------------------------------------------------------------


def _refusal_of(path: Path) -> str:
    with pytest.raises(WeightsError) as caught:
        read_checkpoint(path)
    message = str(caught.value)
    assert "\n" not in message and "weights_only" not in message
    assert "NVlabs pickle" in message and "convert_weight.py" in message
    assert ".safetensors" in message  # the formats that are read
    return message


# The openings of the files NVlabs' code writes, built opcode by opcode (nothing of theirs is
# imported). stylegan2-ada-pytorch (Python 3.7, pickle protocol 3) pickles a dict of networks
# that torch_utils.persistence rebuilds by running their stored source code.
ADA_OPENING = (b"\x80\x03}q\x00(X\x01\x00\x00\x00Gq\x01"
               b"ctorch_utils.persistence\n_reconstruct_persistent_obj\nq\x02}q\x03(")
# The TensorFlow StyleGAN2 networks (stylegan2-ffhq-config-f.pkl): a tuple of dnnlib Networks.
TF_OPENING = b"\x80\x03cdnnlib.tflib.network\nNetwork\nq\x00)\x81q\x01}q\x02("


def _protocol_4_opening() -> bytes:
    """What stylegan3 (Python >= 3.8, protocol 4) writes: the same global, by STACK_GLOBAL."""
    def text(value: str) -> bytes:
        return b"\x8c" + bytes([len(value)]) + value.encode() + b"\x94"

    body = (b"}\x94(" + text("G") + text("torch_utils.persistence")
            + text("_reconstruct_persistent_obj") + b"\x93\x94}\x94(")
    return b"\x80\x04\x95" + struct.pack("<Q", len(body)) + body


# torch warns that it did not write protocols 3 and 4 itself; the refusal is what counts here.
@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize("opening", [ADA_OPENING, TF_OPENING], ids=["stylegan2-ada", "tf"])
def test_an_nvlabs_pickle_is_refused_naming_the_converted_formats(tmp_path, opening):
    path = tmp_path / "stylegan2-ffhq-config-f.pkl"
    path.write_bytes(opening)
    message = _refusal_of(path)
    assert ("torch_utils.persistence" in message) or ("dnnlib" in message)


def test_a_protocol_4_nvlabs_pickle_is_refused_naming_the_converted_formats(tmp_path):
    path = tmp_path / "stylegan3-t-ffhqu-1024x1024.pkl"
    path.write_bytes(_protocol_4_opening())
    message = _refusal_of(path)
    assert "torch_utils.persistence" in message or "dnnlib" in message


# ---- the curated index ----------------------------------------------------------------------


def test_curated_entries_are_complete_and_checkable():
    entries = json.loads((files("translate_faces") / "curated.json").read_text())
    keys = {"name", "translator", "arch", "repo", "file", "revision", "sha256", "licence",
            "licence_note", "description", "source"}  # licence: short; licence_note: why
    assert entries and len({e["name"] for e in entries}) == len(entries)
    for entry in entries:
        assert set(entry) == keys, entry["name"]
        assert entry["translator"] == "faces" and entry["arch"] == "stylegan2"
        assert entry["file"] and entry["licence"] and entry["source"].startswith("https://")
        if entry["sha256"] is not None:
            assert len(entry["sha256"]) == 64 and int(entry["sha256"], 16) >= 0
        if entry["revision"] is not None:
            assert len(entry["revision"]) == 40 and int(entry["revision"], 16) >= 0
