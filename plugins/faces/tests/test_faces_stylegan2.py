"""faces with arch=stylegan2: importing rosinality's files, drawing, walking, pulling, refusals.

His files are built here from our own generator, whose state dict has his `g_ema` key names
(test_stylegan2.py checks that against his code), with random weights, under their real
names and in their real layouts; 16x16 keeps them small.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from translate.cli import main
from translate.data.tensors import tensor_to_pil
from translate.errors import ConfigError
from translate.hub.foreign import Downloaded, convert
from translate.hub.importers import import_checkpoint
from translate.hub.index import find_curated
from translate.hub.layout import read_meta
from translate.plugins import load_plugins
from translate_faces.stylegan2 import StyleGAN2Generator
from translate_faces.stylegan2_checkpoints import IMPORTER
from translate_faces.translator import JUDGED_SIZE, FacesTranslator, shrunk

SMALL = {"image_size": 16, "latent_dim": 16, "mapping_layers": 2, "channel_multiplier": 2}
RELEASE = "stylegan2-ffhq-config-f.pt"
# stylegan2-ada-pytorch's pickle opening (protocol 3): test_stylegan2.py has the others.
NVLABS_OPENING = (b"\x80\x03}q\x00(X\x01\x00\x00\x00Gq\x01"
                  b"ctorch_utils.persistence\n_reconstruct_persistent_obj\nq\x02}q\x03(")


def random_g_ema(seed: int = 0) -> dict[str, torch.Tensor]:
    """A g_ema state with every term active: biases and noise strengths are not zero."""
    torch.manual_seed(seed)
    model = StyleGAN2Generator(**SMALL)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.endswith(("activate.bias", "noise.weight")):
                parameter.normal_(0.0, 0.1)
    return {k: v for k, v in model.state_dict().items() if k != "latent_avg"}


def release_file(folder: Path) -> tuple[Path, dict[str, torch.Tensor], torch.Tensor]:
    """convert_weight.py's output: {"g_ema": state, "latent_avg": (latent_dim,)}."""
    g_ema, latent_avg = random_g_ema(), torch.randn(SMALL["latent_dim"])
    path = folder / RELEASE
    torch.save({"g_ema": g_ema, "latent_avg": latent_avg}, path)
    return path, g_ema, latent_avg


def last_error_line(capsys: pytest.CaptureFixture) -> str:
    """The CLI's one error line (other plugins' warnings may come before it)."""
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1].startswith("error: ")
    assert not any(line.startswith("error: ") for line in lines[:-1])
    return lines[-1]


def pngs(folder: Path) -> list[np.ndarray]:
    return [np.asarray(Image.open(p)) for p in sorted(folder.glob("*.png"))]


# ---- translate import, then translate infer ---------------------------------------------------


def test_a_release_file_imports_and_draws_one_full_size_face_per_image(tmp_path, capsys):
    path, g_ema, latent_avg = release_file(tmp_path)
    weights = tmp_path / "weights"
    assert main(["import", "faces", str(path), "--out", str(weights)]) == 0
    meta = read_meta(weights)
    assert meta["model"] == {"arch": "stylegan2", **SMALL, "mapping_lr_mul": 0.01}
    assert f"Imported from {RELEASE}" in (weights / "README.md").read_text()
    model = FacesTranslator.from_pretrained(weights)
    state = model.generators.G.state_dict()
    assert torch.equal(state["latent_avg"], latent_avg)  # the file's, not an estimate
    assert all(torch.equal(state[key], value) for key, value in g_ema.items())

    out = tmp_path / "faces"
    assert main(["infer", "faces", "--weights", str(weights), "--count", "2", "--seed", "0",
                 "--truncation", "0.7", "--out", str(out)]) == 0
    faces = pngs(out)
    assert [face.shape for face in faces] == [(16, 16, 3)] * 2
    expected = tensor_to_pil(model.generators.G.sample(2, 0, truncation=0.7))
    assert all(np.array_equal(a, np.asarray(b)) for a, b in zip(faces, expected, strict=True))

    walk = tmp_path / "walk"
    assert main(["infer", "faces", "--weights", str(weights), "--walk-to", "5",
                 "--walk-steps", "8", "--out", str(walk)]) == 0
    frames = pngs(walk)
    assert [frame.shape for frame in frames] == [(16, 16, 3)] * 8  # frames, not a strip
    ends = [np.asarray(model.infer(count=1, seed=seed)[0], np.int16) for seed in (0, 5)]
    assert np.abs(frames[0] - ends[0]).max() <= 1 and np.abs(frames[-1] - ends[1]).max() <= 1
    assert "wrote 8 image(s)" in capsys.readouterr().out


def test_a_training_checkpoint_imports_its_g_ema_with_the_mean_latent_estimated(tmp_path):
    # train.py's checkpoint/NNNNNN.pt: g, d, g_ema, optimisers, an argparse Namespace, no mean.
    g, g_ema = random_g_ema(seed=1), random_g_ema(seed=2)
    path = tmp_path / "550000.pt"
    torch.save({"g": g, "d": {"convs.0.0.weight": torch.randn(512, 3, 1, 1)}, "g_ema": g_ema,
                "g_optim": {"state": {}, "param_groups": []}, "ada_aug_p": 0.0,
                "args": argparse.Namespace(size=16, latent=16, n_mlp=2, channel_multiplier=2)},
               path)
    model = import_checkpoint(IMPORTER, FacesTranslator, path)
    G = model.generators.G
    assert all(torch.equal(G.state_dict()[key], value) for key, value in g_ema.items())
    expected = StyleGAN2Generator(**SMALL)
    expected.load_state_dict({**g_ema, "latent_avg": torch.zeros(16)})
    assert torch.equal(G.latent_avg, expected.estimate_mean_latent())


def test_a_pulled_file_is_detected_and_a_curated_name_serves_as_weights(tmp_path):
    registry = load_plugins()
    entry = find_curated("stylegan2-ffhq-1024", registry.translators)
    assert (entry.translator, entry.arch, entry.file) == ("faces", "stylegan2", RELEASE)
    # What `translate pull` does once the file is in the Hub cache: detect among every
    # installed importer, convert, keep under $TRANSLATE_HOME/models/NAME.
    path, _, _ = release_file(tmp_path)
    downloaded = Downloaded(path=path, repo=entry.repo, file=entry.file,
                            commit=entry.revision, sha256="0" * 64,
                            size=path.stat().st_size, licence=None)
    folder = convert(downloaded, registry, name=entry.name)
    assert folder == entry.folder and entry.downloaded
    assert read_meta(folder)["provenance"]["source_repo"] == entry.repo
    out = tmp_path / "out"
    assert main(["infer", "faces", "--weights", entry.name, "--count", "1", "--out",
                 str(out)]) == 0
    assert [face.shape for face in pngs(out)] == [(16, 16, 3)]


# ---- what is refused, in one line ---------------------------------------------------------


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_an_nvlabs_pickle_is_refused_by_translate_import_in_one_line(tmp_path, capsys):
    path = tmp_path / "stylegan2-ffhq-config-f.pkl"
    path.write_bytes(NVLABS_OPENING)
    assert main(["import", "faces", str(path), "--out", str(tmp_path / "w")]) == 1
    err = last_error_line(capsys)
    assert "NVlabs pickle" in err and "convert_weight.py" in err
    assert not (tmp_path / "w").exists()


def test_training_stylegan2_is_refused_in_one_line(tmp_path, capsys):
    assert main(["train", "faces", "--set", "arch=stylegan2", "--set", "image_size=8",
                 "--out", str(tmp_path / "run")]) == 1
    assert "stylegan2 is pretrained only" in last_error_line(capsys)


def test_image_size_is_per_architecture():
    make = FacesTranslator.make_config
    assert make("full", {"arch": "stylegan2", "image_size": "1024"}).image_size == 1024
    assert make("full", {"arch": "stylegan2", "image_size": "8"}).image_size == 8
    for arch, size, message in [("dcgan", "1024", "one of 32, 64, 128 for dcgan"),
                                ("dcgan", "16", "one of 32, 64, 128 for dcgan"),
                                ("stylegan2", "384", "a power of two from 8 to 1024"),
                                ("stylegan2", "2048", "at most 1024")]:
        with pytest.raises(ConfigError, match=message):
            make("full", {"arch": arch, "image_size": size})


# ---- memory and the demo -------------------------------------------------------------------


def test_faces_are_drawn_a_few_at_a_time_at_1024():
    config = FacesTranslator.make_config("full", {"arch": "stylegan2", "image_size": "1024",
                                                  "latent_dim": "512"})
    with torch.device("meta"):  # the full-size network, without its 120 MB of weights
        model = FacesTranslator(config)
    assert model.chunk == 4 and 3e7 < sum(p.numel() for p in model.parameters()) < 3.1e7
    dcgan = FacesTranslator(FacesTranslator.make_config("starter"))
    assert dcgan.chunk == 256  # as before host v2: the same batches, the same figures


def test_the_demo_offers_stylegan2_one_face_at_first():
    config = FacesTranslator.make_config("full", {"arch": "stylegan2", "image_size": "256"})
    offered = {p.name: p for p in FacesTranslator.inputs_for(config)}
    assert (offered["count"].default, offered["count"].high) == (1, 16)
    assert list(offered) == [p.name for p in FacesTranslator.inputs]
    assert FacesTranslator.inputs_for(FacesTranslator.make_config("starter")) == \
        FacesTranslator.inputs


def test_large_faces_are_judged_shrunk_to_128_and_small_ones_as_they_are():
    assert JUDGED_SIZE == 128
    large = torch.rand(2, 3, 1024, 1024) * 2 - 1
    judged = shrunk(large)
    assert judged.shape == (2, 3, 128, 128)
    assert torch.allclose(judged[0, :, 0, 0], large[0, :, :8, :8].mean((1, 2)), atol=1e-6)
    small = torch.rand(2, 1, 32, 32)
    assert shrunk(small) is small  # the DCGAN's figures are computed as before
