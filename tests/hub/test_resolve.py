"""Weights resolution: --weights, then the latest run, then bundled starter, then the Hub."""

from __future__ import annotations

import pytest
import torch

from translate.errors import WeightsError
from translate.hub.resolve import load_translator, record_latest, resolve_weights
from translate_digits.translator import DigitsTranslator


def weights_folder(path, width: int):
    torch.manual_seed(width)
    model = DigitsTranslator(DigitsTranslator.make_config("starter", {"width": str(width)}))
    return model.save_pretrained(path)


@pytest.fixture
def digits_with(tmp_path):
    """DigitsTranslator with bundled weights in tmp (or none), whatever is installed."""

    def make(bundled: bool):
        folder = weights_folder(tmp_path / "bundled", 8) if bundled else None
        return type("Digits", (DigitsTranslator,), {"starter_weights": folder})

    return make


def test_order_explicit_then_latest_then_bundled_then_hub(tmp_path, digits_with, monkeypatch):
    cls = digits_with(bundled=True)
    monkeypatch.delenv("HF_HUB_OFFLINE")
    assert resolve_weights(cls).origin == "bundled starter"
    latest = weights_folder(tmp_path / "run" / "weights", 16)
    record_latest("digits", latest)
    assert resolve_weights(cls).describe() == f"latest training run ({latest.resolve()})"
    assert resolve_weights(cls, "owner/repo").describe() == "--weights (owner/repo)"
    nothing = digits_with(bundled=False)
    (tmp_path / "run" / "weights" / "config.json").unlink()  # the run's weights are gone
    assert resolve_weights(nothing).describe() == "Hub (gan-translate/digits)"


def test_offline_with_no_weights_says_what_to_do(digits_with, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(WeightsError, match=r"no weights for digits: train some \(translate "
                                           r"train digits\), pass --weights, or go online"):
        resolve_weights(digits_with(bundled=False))


def test_load_translator_uses_what_was_resolved(tmp_path, digits_with):
    cls = digits_with(bundled=True)
    model, resolved = load_translator(cls)
    assert resolved.origin == "bundled starter" and model.config.width == 8
    explicit = weights_folder(tmp_path / "mine", 16)
    model, resolved = load_translator(cls, str(explicit))
    assert resolved.origin == "--weights" and model.config.width == 16
