"""Weights resolution: --weights, then the latest run, then bundled starter, then the Hub."""

from __future__ import annotations

import pytest
import torch

from support.drawing import DrawTranslator, draw_config
from translate.errors import WeightsError
from translate.hub.resolve import load_translator, record_latest, resolve_weights


def weights_folder(path, width: int):
    torch.manual_seed(width)
    model = DrawTranslator(draw_config(width=width))
    return model.save_pretrained(path)


@pytest.fixture
def draw_with(tmp_path):
    """The test translator with bundled weights in tmp (or none)."""

    def make(bundled: bool):
        folder = weights_folder(tmp_path / "bundled", 8) if bundled else None
        return type("Draw", (DrawTranslator,), {"starter_weights": folder})

    return make


def test_order_explicit_then_latest_then_bundled_then_hub(tmp_path, draw_with, monkeypatch):
    cls = draw_with(bundled=True)
    monkeypatch.delenv("HF_HUB_OFFLINE")
    assert resolve_weights(cls).origin == "bundled starter"
    latest = weights_folder(tmp_path / "run" / "weights", 16)
    record_latest("draw", latest)
    assert resolve_weights(cls).describe() == f"latest training run ({latest.resolve()})"
    assert resolve_weights(cls, "owner/repo").describe() == "--weights (owner/repo)"
    nothing = draw_with(bundled=False)
    (tmp_path / "run" / "weights" / "config.json").unlink()  # the run's weights are gone
    assert resolve_weights(nothing).describe() == "Hub (test-only/draw)"


def test_offline_with_no_weights_says_what_to_do(draw_with, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(WeightsError, match=r"no weights for draw: train some \(translate "
                                           r"train draw\), pass --weights, or go online"):
        resolve_weights(draw_with(bundled=False))


def test_load_translator_uses_what_was_resolved(tmp_path, draw_with):
    cls = draw_with(bundled=True)
    model, resolved = load_translator(cls)
    assert resolved.origin == "bundled starter" and model.config.width == 8
    explicit = weights_folder(tmp_path / "mine", 16)
    model, resolved = load_translator(cls, str(explicit))
    assert resolved.origin == "--weights" and model.config.width == 16
