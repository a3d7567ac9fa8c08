"""The demo's weights picker: curated entries, offline, names with or without their kind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.translators import InvertTranslator
from translate.errors import WeightsError
from translate.hub import catalog
from translate_demo.weights import Choices, ModelCache, weights_line

CURATED = [{"name": "inverter-big", "translator": "invert", "arch": "conv1x1",
            "repo": "someone/inv", "file": "inv.pth", "licence": "MIT",
            "description": "a bigger inverter", "source": "https://example.org/inv"}]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    monkeypatch.setenv("TRANSLATE_HOME", str(folder))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    starter = InvertTranslator(InvertTranslator.make_config()).save_pretrained(
        tmp_path / "starter")
    listing = tmp_path / "curated.json"
    listing.write_text(json.dumps(CURATED))
    monkeypatch.setattr(InvertTranslator, "starter_weights", starter)
    monkeypatch.setattr(InvertTranslator, "curated", listing)
    return folder


def pulled(home: Path) -> Path:
    """As `translate pull inverter-big` stores it."""
    return InvertTranslator(InvertTranslator.make_config()).save_pretrained(
        home / "models" / "inverter-big",
        provenance={"source_repo": "someone/inv", "source_licence": "MIT",
                    "command": "translate pull inverter-big"})


def test_offline_a_curated_entry_is_offered_and_refused_in_one_line(home: Path) -> None:
    choices = Choices(InvertTranslator)
    entry = choices.find("hub:inverter-big")
    assert entry.status == catalog.OFFLINE
    with pytest.raises(WeightsError) as refused:
        ModelCache().get(InvertTranslator, entry)
    assert str(refused.value) == ("weights: inverter-big is not downloaded, and this server "
                                  "is offline, so it cannot download it; pick other weights")


def test_a_bare_name_preselects_the_curated_entry_and_later_its_pulled_folder(home) -> None:
    choices = Choices(InvertTranslator, "inverter-big")
    assert choices.default(choices.entries()).name == "hub:inverter-big"
    folder = pulled(home)
    entries = choices.entries()
    assert choices.default(entries).name == "pulled:inverter-big"
    # A page built before the pull still sends "hub:inverter-big": the pulled folder runs.
    entry = choices.find("hub:inverter-big")
    assert (entry.kind, entry.location) == ("pulled", str(folder))
    loaded = ModelCache().get(InvertTranslator, entry)
    line = weights_line(InvertTranslator, loaded.entry, loaded.info, loaded.translator)
    assert line.startswith("**Weights: pulled:inverter-big** · ")
    assert "from someone/inv (MIT)" in line
    assert "small starter weights" not in line


def test_the_starter_stays_the_default_next_to_pulled_models(home: Path) -> None:
    pulled(home)
    choices = Choices(InvertTranslator)
    assert choices.default(choices.entries()).name == "starter"
    assert choices.find("").name == "starter"


def test_online_a_curated_entry_is_pulled_on_first_choice_pinned(home: Path,
                                                                 monkeypatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSLATE_OFFLINE", raising=False)
    calls = []

    def pull_curated(entry, registry):  # what translate.hub.index does, without a Hub
        calls.append((entry.name, entry.repo, entry.file))
        return pulled(home)

    monkeypatch.setattr("translate.hub.index.pull_curated", pull_curated)
    entry = Choices(InvertTranslator).find("hub:inverter-big")
    assert entry.status == catalog.NOT_DOWNLOADED
    cache = ModelCache()
    loaded = cache.get(InvertTranslator, entry)
    assert calls == [("inverter-big", "someone/inv", "inv.pth")]
    assert loaded.info.repo_id == "someone/inv"
    assert cache.get(InvertTranslator, entry) is loaded and len(calls) == 1  # once


def test_one_direction_cyclegan_weights_offer_only_their_direction() -> None:
    from translate_cyclegan.translator import CycleGANTranslator

    both = CycleGANTranslator.inputs_for(CycleGANTranslator.make_config("starter"))
    one = CycleGANTranslator.inputs_for(CycleGANTranslator.make_config("starter",
                                                                       {"direction": "AtoB"}))
    choices = {p.name: p.choices for p in both} | {f"one:{p.name}": (p.choices, p.default)
                                                   for p in one}
    assert choices["direction"] == ("AtoB", "BtoA")
    assert choices["one:direction"] == (("AtoB",), "AtoB")
