"""Tampering: weights whose bytes changed after they were written are refused in one line.

config.json records each file's sha256 when a folder is written; every load checks it,
and `translate verify` checks it on demand. A pulled repo is checked against the hash the
Hub named each cached file by (sha256 for LFS files, git blob sha1 for small ones), since
huggingface_hub serves its cache without looking at the contents.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import sys
from pathlib import Path

import pytest
import torch

from support.reliability import TrainableInvert, one_line_error
from translate.errors import WeightsError
from translate.hub import layout

HUB_TESTS = Path(__file__).resolve().parents[1] / "hub"
if str(HUB_TESTS) not in sys.path:
    sys.path.insert(0, str(HUB_TESTS))

from hubservers import (  # noqa: E402
    REPO_ROOT,
    OlahServer,
    make_mirror_repo,
    populate_cache,
    read_files,
    run_hub_code,
)

REPO = "org/tampered"
FILES = ("config.json", "model.safetensors", "README.md")


def flip_bytes(path: Path, count: int = 4096, *, skip: int = 0) -> None:
    """Invert `count` bytes of path at random places after the first `skip` (size unchanged)."""
    data = bytearray(path.read_bytes())
    places = random.Random(0).sample(range(skip, len(data)), min(count, len(data) - skip))
    for place in places:
        data[place] ^= 0xFF
    path.write_bytes(bytes(data))


def big_weights(folder: Path) -> Path:
    """The test inverter's folder, with a generator large enough to flip 4096 of its bytes."""
    config = TrainableInvert.make_config("starter", {"channels": "48"})
    return TrainableInvert(config).save_pretrained(folder)


def tensor_bytes_start(path: Path) -> int:
    return 8 + int.from_bytes(path.read_bytes()[:8], "little")


def test_4096_flipped_bytes_are_refused_on_loading_by_infer_and_by_verify(cli, tmp_path):
    folder = big_weights(tmp_path / "weights")
    weights = folder / "model.safetensors"
    recorded = layout.read_meta(folder)["files"]["model.safetensors"]["sha256"]
    assert hashlib.sha256(weights.read_bytes()).hexdigest() == recorded
    flip_bytes(weights, skip=tensor_bytes_start(weights))  # the header still parses

    with pytest.raises(WeightsError) as caught:
        TrainableInvert.from_pretrained(folder)
    message = str(caught.value)
    assert message.startswith(f"{weights}: sha256 ") and "\n" not in message
    assert message.endswith("recorded in config.json; the file was changed or damaged "
                            "after it was written, so it is refused")
    image = tmp_path / "in.png"
    from PIL import Image

    Image.new("RGB", (4, 4)).save(image)
    for args in (("infer", "invert", str(image), "--weights", str(folder), "--out",
                  str(tmp_path / "out")), ("verify", str(folder))):
        code, _, err = cli(*args)
        assert code == 1 and one_line_error(err) == f"error: {message}", args


def test_a_changed_record_is_refused_too(tmp_path):
    folder = big_weights(tmp_path / "weights")
    meta = json.loads((folder / "config.json").read_text())
    meta["files"]["model.safetensors"]["sha256"] = "0" * 64
    (folder / "config.json").write_text(json.dumps(meta))
    with pytest.raises(WeightsError, match="does not match the 000000000000… recorded"):
        TrainableInvert.from_pretrained(folder)


def test_verify_says_what_it_checked_and_says_unverified_for_format_1(cli, tmp_path):
    folder = big_weights(tmp_path / "weights")
    code, out, err = cli("verify", str(folder))
    assert code == 0, err
    records = layout.read_meta(folder)["files"]
    assert out.splitlines() == [
        f"ok  {folder / name}  sha256 {record['sha256']}  {record['size']} bytes"
        for name, record in records.items()]

    meta = json.loads((folder / "config.json").read_text())
    old = {"format_version": 1, "translator": "invert", "config": {"channels": 48}}
    old.update({k: meta[k] for k in ("task", "description", "provenance")})
    (folder / "config.json").write_text(json.dumps(old))
    code, _, err = cli("verify", str(folder))
    assert code == 1
    assert one_line_error(err) == (f"error: {folder}: unverified: config.json (format 1) "
                                   "records no sha256 for its files")
    TrainableInvert.from_pretrained(folder)  # still loads: it just cannot be checked


def test_identical_tensors_give_identical_files(tmp_path):
    torch.manual_seed(0)
    translator = TrainableInvert(TrainableInvert.make_config("starter", {"channels": "48"}))
    first = translator.save_pretrained(tmp_path / "a")
    state = translator.generators.state_dict()
    reordered = {key: state[key].clone() for key in reversed(list(state))}
    second = translator.save_pretrained(tmp_path / "b", state_dict=reordered)
    for name in FILES:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


# ---- the Hub cache ---------------------------------------------------------------------------

# In one fresh interpreter (huggingface_hub reads HF_* once, at import): pull and load, change
# the cached blob of NAME in place, then pull and load again.
_PULL = """
import json
from pathlib import Path
from translate.errors import TranslateError
from translate.hub.pretrained import from_pretrained
from translate.hub.sync import pull
from support.reliability import TrainableInvert

def attempt(call):
    try:
        return str(call())
    except TranslateError as error:
        return "error: " + str(error)

def load():
    from_pretrained({repo!r}, expected=TrainableInvert)
    return "loaded"

results = [attempt(lambda: pull({repo!r})), attempt(load)]
blob = (Path(results[0]) / {name!r}).resolve()
data = bytearray(blob.read_bytes())
if {name!r} == "config.json":  # same size, still valid JSON, one value changed
    data = data.replace(b'"channels": 48', b'"channels": 47')
else:  # 4096 bytes of the tensors inverted; the header still parses
    start = 8 + int.from_bytes(data[:8], "little")
    for place in range(start, start + 4096):
        data[place] ^= 0xFF
blob.write_bytes(bytes(data))
results += [str(blob), attempt(lambda: pull({repo!r})), attempt(load)]
print(json.dumps(results))
"""


def pull_tamper_pull(env: dict[str, str], name: str) -> list[str]:
    env = {"PYTHONPATH": f"{REPO_ROOT}:{REPO_ROOT / 'tests'}", **env}
    # torch is slow to import on a busy machine
    proc = run_hub_code(_PULL.format(repo=REPO, name=name), env, timeout=300)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def refusal(name: str, blob: str, kind: str) -> str:
    return (f"error: {REPO}: the downloaded {name} ({blob}) does not match its {kind} "
            f"{Path(blob).name[:12]}…; it was changed or damaged after download, so it is "
            "refused (delete it and pull again)")


@pytest.mark.parametrize("name", ["model.safetensors", "config.json"])
def test_a_cached_blob_that_no_longer_matches_its_name_is_refused(tmp_path, name):
    folder = big_weights(tmp_path / "weights")
    cache = tmp_path / "cache"
    commit = populate_cache(cache, REPO, read_files(folder, FILES))  # blobs named by sha256
    env = {"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(cache), "HF_HOME": str(tmp_path / "hf")}
    snapshot = cache / f"models--{REPO.replace('/', '--')}" / "snapshots" / commit
    pulled, loaded, blob, pulled_again, loaded_again = pull_tamper_pull(env, name)
    assert (pulled, loaded) == (str(snapshot), "loaded")
    assert len(Path(blob).name) == 64
    assert pulled_again == loaded_again == refusal(name, blob, "sha256")


@pytest.fixture
def olah(tmp_path: Path):
    if not Path(sys.executable).with_name("olah-cli").exists() or shutil.which("git") is None:
        pytest.skip("needs olah-cli (pip install olah) and git")
    (tmp_path / "olah").mkdir()
    server = OlahServer(workdir=tmp_path / "olah", mirrors=tmp_path / "mirrors")
    server.mirrors.mkdir()
    yield server
    server.stop()


def test_a_blob_pulled_through_a_mirror_is_checked_against_its_git_sha1(tmp_path, olah):
    folder = big_weights(tmp_path / "weights")
    make_mirror_repo(olah.mirrors, REPO, read_files(folder, FILES))  # plain git: sha1 names
    olah.start()
    env = {"HF_ENDPOINT": olah.url, "HF_HUB_CACHE": str(tmp_path / "cache"),
           "HF_HOME": str(tmp_path / "hf")}
    _, loaded, blob, pulled_again, loaded_again = pull_tamper_pull(env, "model.safetensors")
    assert loaded == "loaded" and len(Path(blob).name) == 40
    assert pulled_again == loaded_again == refusal("model.safetensors", blob, "git blob sha1")
