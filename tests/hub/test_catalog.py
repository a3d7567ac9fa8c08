"""translate.hub.catalog: every weights folder on disk for a translator, described without
loading a tensor, from config.json format 1 or 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from translate.errors import WeightsError
from translate.hub import catalog
from translate.hub.resolve import record_latest
from translate_digits.translator import DigitsTranslator
from translate_faces.translator import FacesTranslator


def weights(folder: Path, cls=DigitsTranslator, **provenance) -> Path:
    torch.manual_seed(0)
    return cls(cls.make_config("starter", {"steps": "20"})).save_pretrained(
        folder, provenance=provenance or None)


@pytest.fixture
def digits(tmp_path: Path):
    starter = weights(tmp_path / "package" / "starter",
                      command="translate train digits --preset starter", steps=2000,
                      data="digits", device="cpu", train_seconds=167.7)
    return type("Digits", (DigitsTranslator,), {"starter_weights": starter})


def test_the_starter_alone(digits) -> None:
    (entry,) = catalog.local_weights(digits)
    assert (entry.name, entry.kind, entry.translator) == ("starter", "starter", "digits")
    assert entry.description.startswith("bundled starter (")
    assert "2000 steps on digits" in entry.description


def test_runs_latest_first_then_stored_models(digits, isolated_home: Path,
                                             tmp_path: Path) -> None:
    home = isolated_home
    weights(home / "runs" / "digits-old" / "weights", steps=20)
    latest = weights(tmp_path / "elsewhere" / "my-run" / "weights", steps=30)  # --out DIR
    record_latest("digits", latest)
    weights(home / "models" / "horse2digit", imported_from="latest_net_G.pth")
    weights(home / "models" / "me" / "digits", repo_id="me/digits")
    weights(home / "models" / "faces", cls=FacesTranslator)  # another translator's
    broken = home / "runs" / "broken" / "weights"
    broken.mkdir(parents=True)
    (broken / "config.json").write_text("{not json")
    entries = catalog.local_weights(digits)
    assert [(e.name, e.kind) for e in entries] == [
        ("starter", "starter"), ("run:my-run", "run"), ("run:digits-old", "run"),
        ("imported:horse2digit", "imported"), ("pulled:me/digits", "pulled")]
    assert entries[1].description.startswith("training run (latest run, ")
    assert "latest_net_G.pth" in entries[3].description
    assert entries[4].location == str(home / "models" / "me" / "digits")
    assert catalog.all_weights(digits) == entries  # no curated entries yet


def test_the_latest_pointer_is_not_listed_twice(digits, isolated_home: Path) -> None:
    run = weights(isolated_home / "runs" / "digits" / "weights", steps=20)
    record_latest("digits", run)
    assert [e.name for e in catalog.local_weights(digits)] == ["starter", "run:digits"]


def test_describe_reads_format_2_and_the_header(tmp_path: Path) -> None:
    folder = weights(tmp_path / "run", command="translate train digits --preset starter "
                                              "--set steps=20", steps=20, data="digits")
    meta = json.loads((folder / "config.json").read_text())
    assert meta["format_version"] == 2 and "model" in meta
    info = catalog.describe(folder)
    model = DigitsTranslator.from_pretrained(folder)
    expected = sum(p.numel() for p in model.generators.parameters())
    assert info.parameters == expected
    assert (info.translator, info.data, info.steps, info.is_starter) == ("digits", "digits",
                                                                          20, True)
    assert info.card == folder / "README.md"
    assert info.arch == (meta["model"].get("arch") or None)


def test_describe_reads_format_1(tmp_path: Path) -> None:
    folder = tmp_path / "v1"
    shutil.copytree(Path(str(FacesTranslator.starter_weights)), folder)
    meta = json.loads((folder / "config.json").read_text())
    assert meta["format_version"] == 1
    info = catalog.describe(folder)
    assert (info.translator, info.data, info.steps, info.is_starter) == ("faces", "lfw", 3000,
                                                                          True)
    assert info.metrics["faceness"] == pytest.approx(0.91)
    assert info.parameters == 295_873


def test_describe_names_a_folder_that_is_not_weights(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match=r"no config\.json"):
        catalog.describe(tmp_path)


def test_a_truncated_header_counts_nothing(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(b"\x10\x00")
    assert catalog.parameter_count(tmp_path / "model.safetensors") is None


def test_curated_entries_are_offered_until_pulled_offline_saying_so(digits, isolated_home: Path,
                                                          tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    listing = tmp_path / "curated.json"
    listing.write_text(json.dumps([{
        "name": "mnist-big", "translator": "digits", "arch": "", "repo": "someone/digits",
        "file": "model.safetensors", "licence": "MIT", "description": "a bigger digits GAN",
        "source": "https://example.org"}]))
    monkeypatch.setattr(digits, "curated", listing)
    offline = catalog.all_weights(digits)
    assert [(e.name, e.status) for e in offline] == [("starter", "ready"),
                                                     ("hub:mnist-big", catalog.OFFLINE)]
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSLATE_OFFLINE", raising=False)
    entries = catalog.all_weights(digits)
    assert [(e.name, e.kind, e.location) for e in entries] == [
        ("starter", "starter", entries[0].location), ("hub:mnist-big", "hub", "mnist-big")]
    assert entries[1].description == ("on the Hub, downloaded when chosen: a bigger digits GAN "
                                      "(MIT)")
    weights(isolated_home / "models" / "mnist-big", source_repo="someone/digits",
            source_licence="MIT")  # as `translate pull mnist-big` stores it
    entries = catalog.all_weights(digits)
    assert [(e.name, e.kind) for e in entries] == [("starter", "starter"),
                                                    ("pulled:mnist-big", "pulled")]
    info = catalog.describe(entries[1].location)
    assert (info.repo_id, info.licence) == ("someone/digits", "MIT")
