"""Every published layout pulled from a Hub under its real repo and file name, offline.

An olah server holds each repo as its authors publish it (tests/support/foreign_files.py:
Real-ESRGAN's `params_ema` .pth, HugGAN's PyTorch-GAN `pytorch_model.bin` for pix2pix and
CycleGAN, LaMa's big-lama.zip with its Lightning checkpoint, rosinality's StyleGAN2 .pt),
with small random weights. `translate pull REPO:FILE` must detect the plugin and the
architecture, convert, record where the file came from, and give the very networks that
converting the same file locally gives. That local conversion equals each reference
implementation's own module (the plugins' reference tests), so the chain holds end to end.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest
import torch

from support.foreign_files import PUBLISHED, place
from translate.hub.layout import read_meta
from translate.plugins import load_plugins

HERE = Path(__file__).resolve().parent
if str(HERE.parent / "hub") not in sys.path:  # importlib mode: the Hub helpers' folder
    sys.path.insert(0, str(HERE.parent / "hub"))

from hubservers import OlahServer, make_mirror_repo, run_hub_code  # noqa: E402

# A real olah server and a child process pulling five full-size files: about 26 s, so it
# runs in .ci/run's slow pass rather than in the default suite.
pytestmark = pytest.mark.slow

_PULL = """
import json, sys
sys.path[:0] = {paths!r}
from translate.hub.foreign import pull_any
from translate.plugins import load_plugins

registry = load_plugins()
print(json.dumps([str(pull_any(spec, registry)) for spec in {specs!r}]))
"""


@pytest.fixture(scope="module")
def pulled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str, bytes]]:
    """translator -> (the pulled folder, the repo's commit, the file's bytes)."""
    root = tmp_path_factory.mktemp("published")
    server = OlahServer(workdir=root / "olah", mirrors=root / "mirrors")
    server.workdir.mkdir()
    server.mirrors.mkdir()
    files = {name: published.build() for name, published in PUBLISHED.items()}
    commits = {name: make_mirror_repo(server.mirrors, published.repo,
                                      {published.file: files[name]})
               for name, published in PUBLISHED.items()}
    server.start()
    try:
        env = {"HF_ENDPOINT": server.url, "HF_HUB_CACHE": str(root / "cache"),
               "HF_HOME": str(root / "hf"), "TRANSLATE_HOME": str(root / "home")}
        specs = [f"{p.repo}:{p.file}" for p in PUBLISHED.values()]
        paths = [str(HERE.parent)]
        proc = run_hub_code(_PULL.format(paths=paths, specs=specs), env, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        folders = json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        server.stop()
    return {name: (Path(folder), commits[name], files[name])
            for name, folder in zip(PUBLISHED, folders, strict=True)}


@pytest.mark.parametrize("translator", sorted(PUBLISHED))
def test_a_pulled_file_is_detected_recorded_and_equals_a_local_conversion(
        pulled: dict[str, tuple[Path, str, bytes]], translator: str, tmp_path: Path) -> None:
    folder, commit, data = pulled[translator]
    published = PUBLISHED[translator]
    meta = read_meta(folder)
    assert meta["translator"] == translator
    provenance = meta["provenance"]
    assert provenance["source_repo"] == published.repo
    assert provenance["source_file"] == published.file
    assert provenance["source_commit"] == commit
    assert provenance["source_sha256"] == hashlib.sha256(data).hexdigest()

    registry = load_plugins()
    cls = registry.translators[translator]
    ours = cls.from_pretrained(folder).generators.state_dict()
    local = cls.from_pretrained(place(published, registry, tmp_path)).generators.state_dict()
    assert read_meta(folder)["model"] == read_meta(
        place(published, registry, tmp_path / "again"))["model"]
    assert ours.keys() == local.keys()
    assert all(torch.equal(ours[key], local[key]) for key in ours), translator
