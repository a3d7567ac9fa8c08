"""Pulling checkpoints in their authors' own formats: detect, convert, record where they came from.

The layout is a test-only one (tests/support/translators.py: a 1x1 conv saved as conv.weight /
conv.bias, read by the `invert` translator's importer); each plugin's tests cover its real
layouts. Hub round trips go through olah, a real Hub mirror, offline, in a subprocess
(huggingface_hub reads HF_* once, at import).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import pluggy
import pytest
import torch

HERE = Path(__file__).resolve().parent
for _path in (HERE, HERE.parent):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from hubservers import OlahServer, make_mirror_repo, run_hub_code  # noqa: E402

from support.translators import InvertTranslator, foreign_importer, foreign_state  # noqa: E402
from translate.errors import WeightsError  # noqa: E402
from translate.hub.foreign import Downloaded, convert, detect, split_spec  # noqa: E402
from translate.hub.layout import read_meta  # noqa: E402
from translate.plugins import ENTRY_POINT_GROUP, Registry  # noqa: E402

REPO = "someone/conv-models"
FILE = "weights/conv_x1.pth"


def registry() -> Registry:
    importer = foreign_importer()
    return Registry(pluggy.PluginManager(ENTRY_POINT_GROUP), translators={
        "invert": InvertTranslator}, importers={"invert": importer}, sources={})


def pth(state: dict[str, Any]) -> bytes:
    import io

    buffer = io.BytesIO()
    torch.save(state, buffer)
    data = buffer.getvalue()
    assert not 120 < len(data) < 150  # olah 0.5.4 misreads binary files of that size
    return data


# ---- detection, without a Hub -----------------------------------------------------------


def test_the_one_importer_that_recognises_a_file_is_chosen() -> None:
    importer, values = detect(foreign_state(), registry().importers)
    assert importer.translator == "invert" and values == {"channels": 3}


def test_an_unrecognised_file_names_the_closest_layout_and_the_first_differing_key() -> None:
    with pytest.raises(WeightsError) as caught:
        detect({"conv.weight": torch.zeros(3, 3, 1, 1), "extra.w": torch.zeros(1)},
               registry().importers, source="x.pth")
    message = str(caught.value)
    assert message.startswith("x.pth: no installed plugin reads this file; closest:")
    assert "'conv.bias'" in message and "\n" not in message


def test_a_file_nobody_comes_close_to_names_its_first_key() -> None:
    with pytest.raises(WeightsError, match=r"tried invert.*first key is 'body\.0\.weight'"):
        detect({"body.0.weight": torch.zeros(1)}, registry().importers)


def test_specs_are_repo_and_optional_file() -> None:
    assert split_spec("a/b") == ("a/b", None)
    assert split_spec("a/b:dir/x.pth") == ("a/b", "dir/x.pth")
    with pytest.raises(WeightsError, match="not a Hub repo id"):
        split_spec("no-slash")


def test_convert_writes_our_layout_with_provenance_and_reuses_it(tmp_path: Path) -> None:
    state = foreign_state(seed=1)
    path = tmp_path / "conv_x1.pth"
    torch.save(state, path)
    downloaded = Downloaded(path=path, repo=REPO, file=FILE, commit="a" * 40, sha256="f" * 64,
                            size=path.stat().st_size, licence="mit")
    folder = convert(downloaded, registry())
    assert folder.parent.name == "models" and folder.name == "someone--conv-models--conv_x1"
    provenance = read_meta(folder)["provenance"]
    assert provenance["source_repo"] == REPO and provenance["source_file"] == FILE
    assert provenance["source_licence"] == "mit" and provenance["source_commit"] == "a" * 40
    assert "## Source" in (folder / "README.md").read_text()
    loaded = InvertTranslator.from_pretrained(folder)
    assert torch.equal(loaded.generators.G.weight, state["conv.weight"])
    mtime = (folder / "config.json").stat().st_mtime_ns
    assert convert(downloaded, registry()) == folder  # same bytes: reused, not rewritten
    assert (folder / "config.json").stat().st_mtime_ns == mtime


# ---- through a Hub (olah), offline ---------------------------------------------------------

_PULL = """
import json, sys
sys.path[:0] = {paths!r}
import pluggy
from translate.errors import TranslateError
from translate.hub.foreign import pull_any
from translate.plugins import ENTRY_POINT_GROUP, Registry
from support.translators import InvertTranslator, foreign_importer

registry = Registry(pluggy.PluginManager(ENTRY_POINT_GROUP), translators={{
    "invert": InvertTranslator}}, importers={{"invert": foreign_importer()}}, sources={{}})
results = []
for spec, kwargs in json.loads({calls!r}):
    try:
        results.append({{"ok": str(pull_any(spec, registry, **kwargs))}})
    except TranslateError as error:
        results.append({{"error": str(error)}})
print(json.dumps(results))
"""


def pulls(env: dict[str, str], *calls: tuple[str, dict]) -> list[dict[str, str]]:
    paths = [str(HERE.parent), str(HERE.parents[1])]
    proc = run_hub_code(_PULL.format(paths=paths, calls=json.dumps(calls)), env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture
def olah(tmp_path: Path):
    server = OlahServer(workdir=tmp_path / "olah", mirrors=tmp_path / "mirrors")
    server.workdir.mkdir()
    server.mirrors.mkdir()
    yield server
    server.stop()


class Payload:
    def __reduce__(self):
        return (os.makedirs, ("/tmp/translate-foreign-payload-ran",))


def test_pull_detects_converts_and_records_then_works_offline(tmp_path: Path,
                                                              olah: OlahServer) -> None:
    state = foreign_state(seed=2)
    card = b"---\nlicense: apache-2.0\n---\n# conv models\n"
    commit = make_mirror_repo(olah.mirrors, REPO, {
        FILE: pth({"params_ema": state, "args": argparse.Namespace(scale=1)}),
        "README.md": card})
    make_mirror_repo(olah.mirrors, "someone/two-files", {"a.pth": pth(state), "b.pth": pth(state)})
    make_mirror_repo(olah.mirrors, "someone/pinned", {"x.pth": pth(state)})
    make_mirror_repo(olah.mirrors, "someone/evil", {"evil.pth": pth({"x": Payload()})})
    make_mirror_repo(olah.mirrors, "someone/other", {"other.pth": pth({"body.0.w": torch.ones(9)})})
    olah.start()
    home = tmp_path / "home"
    env = {"HF_ENDPOINT": olah.url, "HF_HUB_CACHE": str(tmp_path / "cache"),
           "HF_HOME": str(tmp_path / "hf"), "TRANSLATE_HOME": str(home)}
    only, named, pinned, bad_hash, two, evil, other = pulls(
        env,
        (REPO, {}),  # the repo's only checkpoint
        (f"{REPO}:{FILE}", {}),
        (f"{REPO}:{FILE}", {"revision": commit}),
        ("someone/pinned:x.pth", {"sha256": "0" * 64}),
        ("someone/two-files", {}),
        ("someone/evil", {}),
        ("someone/other", {}),
    )
    assert "ok" in only, [only, named, pinned, bad_hash, two, evil, other]
    folder = Path(only["ok"])
    assert folder == Path(named["ok"]) == Path(pinned["ok"]) == home / "models" / \
        "someone--conv-models--conv_x1"
    provenance = read_meta(folder)["provenance"]
    assert provenance["source_commit"] == commit and provenance["source_licence"] == "apache-2.0"
    assert torch.equal(InvertTranslator.from_pretrained(folder).generators.G.bias,
                       state["conv.bias"])
    assert "is not the pinned 000000000000…; refused and removed from the cache" in \
        bad_hash["error"]
    cached = tmp_path / "cache" / "models--someone--pinned"
    assert not [p for p in cached.rglob("x.pth") if p.exists()]
    assert not (home / "models" / "someone--pinned--x").exists()
    assert "2 checkpoint files (a.pth, b.pth); name one" in two["error"]
    assert "refused: the pickle asks for" in evil["error"]
    assert not Path("/tmp/translate-foreign-payload-ran").exists()
    assert "no installed plugin reads this file" in other["error"]

    olah.stop()  # the cache serves the same pull offline
    (again,) = pulls({**env, "HF_HUB_OFFLINE": "1"}, (f"{REPO}:{FILE}", {}))
    assert Path(again.get("ok", "")) == folder, again
