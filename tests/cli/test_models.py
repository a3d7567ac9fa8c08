"""`translate models [NAME]`: every set of weights the app can use, from one shared catalog."""

from __future__ import annotations

import json
from pathlib import Path

import pluggy
import pytest

from support.translators import InvertTranslator
from translate.cli import main
from translate.hub import catalog
from translate.plugins import ENTRY_POINT_GROUP, Registry

CURATED = [
    {"name": "inverter-big", "translator": "invert", "arch": "conv1x1", "repo": "someone/inv",
     "file": "inv.pth", "revision": "a" * 40, "sha256": "b" * 64, "licence": "MIT",
     "description": "a bigger inverter", "source": "https://example.org/inv"},
    {"name": "inverter-drive", "translator": "invert", "arch": "conv1x1", "repo": None,
     "file": "inv_drive.pth", "licence": "CC-BY-4.0", "description": "off the Hub",
     "source": "https://example.org/drive"},
]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    monkeypatch.setenv("TRANSLATE_HOME", str(folder))
    return folder


@pytest.fixture
def registry(tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> Registry:
    config = InvertTranslator.make_config()
    starter = InvertTranslator(config).save_pretrained(tmp_path / "starter")
    listing = tmp_path / "curated.json"
    listing.write_text(json.dumps(CURATED))
    monkeypatch.setattr(InvertTranslator, "starter_weights", starter)
    monkeypatch.setattr(InvertTranslator, "curated", listing)
    InvertTranslator(config).save_pretrained(home / "runs" / "long-run" / "weights",
                                             provenance={"data": "photos", "steps": 7})
    InvertTranslator(config).save_pretrained(
        home / "models" / "someone--conv--x1",
        provenance={"source_repo": "someone/conv", "source_licence": "apache-2.0"})
    InvertTranslator(config).save_pretrained(home / "models" / "mine",
                                             provenance={"imported_from": "/data/mine.pth"})
    registry = Registry(pluggy.PluginManager(ENTRY_POINT_GROUP),
                        translators={"invert": InvertTranslator}, importers={}, sources={})
    registry.owner["translator:invert"] = "tests"
    return registry


def run(args: list[str], capsys: pytest.CaptureFixture, registry: Registry) -> tuple[int, str]:
    code = main(args, registry=registry)
    out, err = capsys.readouterr()
    return code, out + err


def online(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSLATE_OFFLINE", raising=False)


def test_the_index_lists_starter_runs_imported_pulled_and_curated(registry, monkeypatch) -> None:
    online(monkeypatch)
    listed = {item.entry.name: item for item in catalog.model_index(registry)}
    assert list(listed) == ["starter", "run:long-run", "imported:mine",
                            "pulled:someone--conv--x1", "hub:inverter-big", "hub:inverter-drive"]
    assert {item.plugin for item in listed.values()} == {"tests"}
    assert listed["starter"].source == "bundled starter"  # not by the starter preset
    assert listed["run:long-run"].source == "training run, trained on photos"
    assert listed["imported:mine"].source == "/data/mine.pth"
    pulled = listed["pulled:someone--conv--x1"]
    assert (pulled.source, pulled.licence, pulled.status) == ("someone/conv", "apache-2.0",
                                                              "ready")
    assert pulled.parameters == 3 * 3 + 3  # the 1x1 conv's weight and bias
    big = listed["hub:inverter-big"]
    assert (big.arch, big.source, big.licence, big.status) == (
        "conv1x1", "someone/inv:inv.pth", "MIT", catalog.NOT_DOWNLOADED)
    assert listed["hub:inverter-drive"].status == catalog.NOT_ON_HUB


def test_offline_a_curated_entry_says_it_cannot_be_downloaded(registry, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    (big,) = [item for item in catalog.model_index(registry)
              if item.entry.name == "hub:inverter-big"]
    assert big.status == catalog.OFFLINE == "cannot download offline"
    # The demo's picker offers it too, labelled, but never the one it cannot fetch at all.
    entries = {e.name: e for e in catalog.all_weights(InvertTranslator)}
    assert entries["hub:inverter-big"].description.startswith(
        "on the Hub, cannot be downloaded offline: a bigger inverter")
    assert "hub:inverter-drive" not in entries


def test_a_pulled_curated_entry_is_listed_once_as_pulled(registry, home, monkeypatch) -> None:
    online(monkeypatch)
    InvertTranslator(InvertTranslator.make_config()).save_pretrained(
        home / "models" / "inverter-big", provenance={"source_repo": "someone/inv",
                                                      "source_licence": "MIT"})
    names = [item.entry.name for item in catalog.model_index(registry)]
    assert "pulled:inverter-big" in names and "hub:inverter-big" not in names
    (item,) = catalog.find_models("inverter-big", registry)
    assert item.curated is not None and item.curated.sha256 == "b" * 64


def test_the_command_prints_one_row_per_entry_with_its_status(registry, capsys,
                                                              monkeypatch) -> None:
    online(monkeypatch)
    code, out = run(["models"], capsys, registry)
    assert code == 0, out
    assert out.startswith("invert [plugin tests]\n")
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")
            and line.split()[0].count(":") <= 1 and not line.startswith("   ")}
    assert rows["hub:inverter-big"].split()[1:4] == ["conv1x1", "-", "MIT"]
    assert rows["hub:inverter-big"].endswith("not downloaded")
    assert rows["starter"].endswith("ready")
    assert "someone/inv:inv.pth" in out
    assert "6 entries, 4 ready" in out
    code, same = run(["models", "invert"], capsys, registry)
    assert same == out


def test_a_name_shows_one_entry_in_detail(registry, capsys, monkeypatch) -> None:
    online(monkeypatch)
    code, out = run(["models", "inverter-big"], capsys, registry)
    assert code == 0, out
    details = dict(line.split(":", 1) for line in out.splitlines())
    assert {key: value.strip() for key, value in details.items()}.items() >= {
        "name": "hub:inverter-big", "translator": "invert", "plugin": "tests",
        "status": "not downloaded", "arch": "conv1x1", "licence": "MIT",
        "repo": "someone/inv", "revision": "a" * 40, "sha256": "b" * 64,
        "cited": "https://example.org/inv", "get it": "translate pull inverter-big"}.items()
    code, out = run(["models", "invert/starter"], capsys, registry)
    assert code == 0 and "small CPU starter" not in out  # not trained by the starter preset
    assert "parameters:        12 (12)" in out


def test_an_unknown_name_is_one_line_naming_some_that_exist(registry, capsys) -> None:
    code, out = run(["models", "nothing-like-it"], capsys, registry)
    assert code == 1
    assert out.strip().splitlines() == [
        "error: no weights named 'nothing-like-it'; `translate models` lists 6: "
        "invert/hub:inverter-big, invert/hub:inverter-drive, invert/imported:mine, "
        "invert/pulled:someone--conv--x1, invert/run:long-run, invert/starter"]
