"""The engine's training watch, fed by a real digits run: on stderr and in the model card."""

from __future__ import annotations

import json

from translate.data.sources import digits_source
from translate.engine.trainer import train
from translate_digits.translator import DigitsTranslator


def test_the_trainer_feeds_the_watch_and_the_card_summarises_it(tmp_path, capsys):
    source = digits_source()
    config = DigitsTranslator.make_config("starter", {
        "width": "8", "d_width": "8", "batch_size": "8", "steps": "4", "log_every": "1",
        "sample_every": "2", "checkpoint_every": "4", "evaluate_at_end": "false"})
    weights = train(DigitsTranslator, config, train_source=source.split("train"),
                    heldout_source=source.split("heldout"), out_dir=tmp_path / "run",
                    device="cpu", progress=False, command="test")
    watch = json.loads((weights / "config.json").read_text())["provenance"]["watch"]
    assert watch["checked"] == ["sample diversity (mode collapse)", "D accuracy (D wins)",
                                "D loss oscillation (no convergence)"]
    assert watch["real_diversity"] > 0 and "final_sample_diversity" in watch
    card = (weights / "README.md").read_text()
    assert "## Training watch" in card and "Checked during training: sample diversity" in card
    # An untrained G's samples are alike: the one warning is on stderr and in the card.
    assert watch["warnings"] == [line.removeprefix("translate: warning: ")
                                 for line in capsys.readouterr().err.splitlines()
                                 if line.startswith("translate: warning: ")]
    for line in watch["warnings"]:
        assert f"- {line}" in card
