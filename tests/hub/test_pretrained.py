"""The Hub layout: round trip, strict loading, metadata and the model card."""

from __future__ import annotations

import json

import pytest
import safetensors.torch
import torch
from huggingface_hub import ModelCard

from support.drawing import DrawTranslator, draw_config
from translate.errors import WeightsError
from translate.hub.layout import read_meta
from translate.hub.pretrained import from_pretrained


def small_model() -> DrawTranslator:
    torch.manual_seed(0)
    return DrawTranslator(draw_config(width=6)).eval()


@pytest.fixture
def saved(tmp_path):
    model = small_model()
    folder = model.save_pretrained(
        tmp_path / "w", provenance={"command": "translate train draw --preset starter",
                                    "data": "digits", "steps": 2000},
        metrics={"class_accuracy": 0.97, "class_accuracy_untrained_baseline": 0.1})
    return model, folder


def forget_hashes(folder):
    meta = json.loads((folder / "config.json").read_text())
    meta.pop("files")
    (folder / "config.json").write_text(json.dumps(meta))


def test_layout_is_config_safetensors_and_card(saved):
    _, folder = saved
    assert sorted(p.name for p in folder.iterdir()) == [
        "README.md", "config.json", "model.safetensors"]
    meta = read_meta(folder)
    assert meta["format_version"] == 2 and meta["translator"] == "draw"
    assert meta["model"] == {"arch": "tiny", "image_size": 8, "num_classes": 10,
                             "latent_dim": 8, "width": 6} and "steps" in meta["training"]
    assert len(meta["files"]["model.safetensors"]["sha256"]) == 64
    assert meta["task"] == "class-conditional generation"


def test_round_trip_gives_identical_weights_and_output(saved):
    model, folder = saved
    loaded = DrawTranslator.from_pretrained(folder)
    for key, value in model.generators.state_dict().items():
        assert torch.equal(value, loaded.generators.state_dict()[key])
    labels = torch.arange(10)
    assert torch.equal(model.draw(labels, seed=1), loaded.draw(labels, seed=1))
    assert not loaded.training


def test_weights_are_inference_only_safetensors(saved):
    _, folder = saved
    keys = safetensors.torch.load_file(str(folder / "model.safetensors")).keys()
    assert all(key.startswith("G.") for key in keys), "discriminator or optimizer state leaked"


def test_model_card_has_hub_metadata_and_the_command(saved):
    _, folder = saved
    card = ModelCard.load(folder / "README.md")
    data = card.data.to_dict()
    assert data["library_name"] == "gan-translate"
    assert {"gan", "gan-translate", "gan-translate-draw"} <= set(data["tags"])
    assert data["datasets"] == ["digits"]
    assert data["pipeline_tag"] == "unconditional-image-generation"
    results = data["model-index"][0]["results"]
    assert {m["type"] for r in results for m in r["metrics"]} == {
        "class_accuracy", "class_accuracy_untrained_baseline"}
    assert "translate train draw --preset starter" in card.text


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda s: s.pop("G.project.bias"), r"missing key 'G.project.bias'"),
    (lambda s: s.update({"G.extra": torch.zeros(1)}), r"unexpected key 'G.extra'"),
    (lambda s: s.update({"G.project.bias": torch.zeros(3)}),
     r"'G.project.bias' has shape \(3,\), the model expects \(96,\)"),
])
def test_mismatched_weights_give_one_line_naming_the_first_bad_key(saved, mutate, message):
    _, folder = saved
    state = safetensors.torch.load_file(str(folder / "model.safetensors"))
    mutate(state)
    safetensors.torch.save_file(state, str(folder / "model.safetensors"))
    forget_hashes(folder)  # a hand-made folder: the strict key check is what refuses it
    with pytest.raises(WeightsError, match=message) as error:
        from_pretrained(folder, expected=DrawTranslator)
    assert "\n" not in str(error.value)


def test_weights_for_another_translator_are_refused(saved):
    _, folder = saved
    meta = json.loads((folder / "config.json").read_text())
    meta["translator"] = "invert"
    (folder / "config.json").write_text(json.dumps(meta))
    with pytest.raises(WeightsError, match="are for 'invert', not 'draw'"):
        from_pretrained(folder, expected=DrawTranslator)


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "not valid JSON"),
    ('{"format_version": 1}', "'translator' must name a translator"),
    ('{"format_version": "1", "translator": "draw", "config": {}}',
     "format_version must be a whole number"),
    ('{"format_version": null, "translator": "draw", "config": {}}',
     "format_version must be a whole number"),
    ('{"format_version": 1, "translator": "draw", "config": null}',
     "'config' must be a JSON object, not null"),
    ('{"format_version": 1, "translator": "draw", "config": []}',
     "'config' must be a JSON object, not a list"),
    ('{"format_version": 2, "translator": "draw", "model": {"width": 8}}',
     "'model' must name its architecture"),
    ('{"format_version": 9, "translator": "draw", "config": {}}', "upgrade gan-translate"),
    ('{"format_version": 1, "translator": "draw", "config": {"width": "wide"}}',
     "width"),
])
def test_bad_configs_are_one_line_errors(saved, content, message):
    _, folder = saved
    (folder / "config.json").write_text(content)
    with pytest.raises(WeightsError, match=message) as error:
        from_pretrained(folder, expected=DrawTranslator)
    assert "\n" not in str(error.value)


def test_unknown_config_keys_are_set_aside_with_a_warning(saved):
    model, folder = saved
    meta = json.loads((folder / "config.json").read_text())
    meta["training"]["workers_per_gpu"] = 3  # a knob a newer version added
    meta["training"].pop("log_every")  # one an older version did not have
    meta["model"]["widht"] = 8  # a typo
    (folder / "config.json").write_text(json.dumps(meta))
    with pytest.warns(UserWarning, match="set aside: widht, workers_per_gpu"):
        loaded = from_pretrained(folder, expected=DrawTranslator)
    assert loaded.config.width == model.config.width


def test_corrupt_safetensors_is_a_clear_error(saved):
    _, folder = saved
    (folder / "model.safetensors").write_bytes(b"\x00" * 20)
    forget_hashes(folder)
    with pytest.raises(WeightsError, match="unreadable safetensors"):
        from_pretrained(folder, expected=DrawTranslator)


def test_a_path_that_is_neither_folder_nor_repo_id(tmp_path):
    with pytest.raises(WeightsError, match="neither a weights folder nor a Hub repo id"):
        from_pretrained(tmp_path / "missing" / "weights", expected=DrawTranslator)
