"""faces: rosinality's files pulled from a Hub mirror, then drawn by `translate infer`, as his
own Generator draws them.

The Hub is olah (a real mirror, offline) serving git repos built here: his two layouts under
their real names, with random weights, and an NVlabs pickle. The CLI runs in a subprocess
because huggingface_hub reads HF_* once, at import; the reference runs in this process.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from translate.data.tensors import tensor_to_uint8
from translate.hub.layout import read_meta
from translate_faces.translator import FacesTranslator

# Tests import as modules of their own (importlib mode): the helpers' folders go on the path.
HERE = Path(__file__).resolve().parent
for _path in (HERE, HERE.parents[2] / "tests" / "hub"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from hubservers import OlahServer, make_mirror_repo, run_hub_code  # noqa: E402
from test_faces_stylegan2 import NVLABS_OPENING  # noqa: E402
from test_stylegan2 import (  # noqa: E402, F401 (reference is a fixture)
    TOLERANCE,
    max_difference,
    reference,
    reference_generator,
    reference_images,
)

CONFIG = {"image_size": 32, "latent_dim": 32, "mapping_layers": 2, "channel_multiplier": 2}
RELEASE = ("aaronb/StyleGAN2", "stylegan2-ffhq-config-f.pt")  # convert_weight.py's output
TRAINED = ("someone/stylegan2-256", "checkpoint/550000.pt")  # train.py's checkpoint
NVLABS = ("someone/stylegan2-nvlabs", "stylegan2-ffhq-config-f.pkl")
PSI = 0.7

# Each call: argv for translate's main, then its exit status and last stderr line.
_CLI = """
import contextlib, io, json, sys
from translate.cli import main
results = []
for argv in json.loads({calls!r}):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        status = main(argv)
    lines = err.getvalue().strip().splitlines()
    results.append([status, lines[-1] if lines else ""])
print(json.dumps(results))
"""


def saved(checkpoint: dict) -> bytes:
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    return buffer.getvalue()


def pngs(folder: Path) -> np.ndarray:
    return np.stack([np.asarray(Image.open(p), np.int16) for p in sorted(folder.glob("*.png"))])


def as_png(images: torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) in [-1, 1] -> (N, H, W, 3) as the CLI writes it."""
    return tensor_to_uint8(images).astype(np.int16)


def z_of(seed: int, count: int = 1) -> torch.Tensor:
    return torch.randn(count, CONFIG["latent_dim"], generator=torch.Generator().manual_seed(seed))


@torch.no_grad()
def reference_walk(generator, mean: torch.Tensor, steps: int) -> torch.Tensor:
    """His Generator along the straight line in W between seed 0's and seed 5's truncated w."""
    ends = generator.get_latent(torch.cat([z_of(0), z_of(5)]))
    ends = mean + PSI * (ends - mean)
    t = torch.linspace(0.0, 1.0, steps)[:, None]
    path = torch.lerp(ends[0][None], ends[1][None], t)
    return reference_images(generator, path, psi=1.0, mean=mean, latent_is_w=True)


@pytest.mark.slow
def test_pulled_files_infer_as_his_generator_does(tmp_path, reference):  # noqa: F811
    release = reference_generator(reference, CONFIG, seed=0)
    latent_avg = torch.randn(CONFIG["latent_dim"])
    trained = reference_generator(reference, CONFIG, seed=1)
    olah = OlahServer(workdir=tmp_path / "olah", mirrors=tmp_path / "mirrors")
    olah.workdir.mkdir()
    make_mirror_repo(olah.mirrors, RELEASE[0], {RELEASE[1]: saved(
        {"g_ema": release.state_dict(), "latent_avg": latent_avg})})
    make_mirror_repo(olah.mirrors, TRAINED[0], {TRAINED[1]: saved({
        "g": trained.state_dict(), "d": {"convs.0.0.weight": torch.randn(64, 3, 1, 1)},
        "g_ema": trained.state_dict(), "g_optim": {"state": {}, "param_groups": []},
        "args": argparse.Namespace(size=32, latent=32, n_mlp=2, channel_multiplier=2)})})
    make_mirror_repo(olah.mirrors, NVLABS[0], {NVLABS[1]: NVLABS_OPENING * 8})
    home, out = tmp_path / "home", tmp_path / "out"
    release_folder = home / "models" / "aaronb--StyleGAN2--stylegan2-ffhq-config-f"
    trained_folder = home / "models" / "someone--stylegan2-256--550000"
    calls = [
        ["pull", ":".join(RELEASE)],
        ["pull", ":".join(TRAINED)],
        ["pull", ":".join(NVLABS)],
        ["infer", "faces", "--weights", str(release_folder), "--count", "2", "--seed", "3",
         "--truncation", str(PSI), "--out", str(out / "release")],
        ["infer", "faces", "--weights", str(release_folder), "--seed", "0", "--walk-to", "5",
         "--walk-steps", "4", "--truncation", str(PSI), "--out", str(out / "walk")],
        ["infer", "faces", "--weights", str(trained_folder), "--count", "1", "--seed", "3",
         "--out", str(out / "trained")],
    ]
    env = {"HF_HUB_CACHE": str(tmp_path / "cache"), "HF_HOME": str(tmp_path / "hf"),
           "TRANSLATE_HOME": str(home), "TRANSLATE_BACKEND": "eager",
           "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    try:
        olah.start()
        proc = run_hub_code(_CLI.format(calls=json.dumps(calls)),
                            {**env, "HF_ENDPOINT": olah.url}, timeout=300)
    finally:
        olah.stop()
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    assert [status for status, _ in results] == [0, 0, 1, 0, 0, 0], results

    nvlabs_error = results[2][1]
    assert nvlabs_error.startswith("error: ") and "NVlabs pickle" in nvlabs_error
    assert "convert_weight.py" in nvlabs_error and ".pt" in nvlabs_error
    assert read_meta(release_folder)["model"] == {"arch": "stylegan2", **CONFIG,
                                                  "mapping_lr_mul": 0.01}

    # Pulled weights, in this process: within TOLERANCE of his module, truncation included.
    ours = FacesTranslator.from_pretrained(release_folder).generators.G
    assert torch.equal(ours.latent_avg, latent_avg)
    z = z_of(3, count=2)
    expected = reference_images(release, z, psi=PSI, mean=latent_avg)
    with torch.no_grad():
        assert max_difference(ours(z, truncation=PSI), expected) < TOLERANCE
    # The CLI's PNGs: one full-size face each, his images to within 8-bit rounding.
    faces = pngs(out / "release")
    assert faces.shape == (2, 32, 32, 3)
    assert np.abs(faces - as_png(expected)).max() <= 1
    walk = pngs(out / "walk")
    assert walk.shape == (4, 32, 32, 3)  # frames, not a strip
    assert np.abs(walk - as_png(reference_walk(release, latent_avg, 4))).max() <= 1

    # train.py's checkpoint: its g_ema, with the mean of w estimated from 4096 seeded z.
    mean = trained.get_latent(z_of(0, count=4096)).mean(0).detach()
    trained_faces = pngs(out / "trained")
    assert trained_faces.shape == (1, 32, 32, 3)
    assert np.abs(trained_faces - as_png(reference_images(trained, z_of(3), psi=1.0,
                                                          mean=mean))).max() <= 1
