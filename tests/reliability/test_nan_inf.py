"""NaN and inf: nothing non-finite reaches a checkpoint, an export or the "latest" pointer.

The loss and the gradients can be finite while the update is not: Adam with a huge step
overflows the weights, and BatchNorm's running variance reaches inf in the forward pass.
The engine checks every parameter and buffer (EMA included) after each step, and only
calls a checkpoint intact once it has read it back and found it finite.
"""

from __future__ import annotations

import re

import pytest
import torch

from support.reliability import TRAIN, one_line_error
from translate.data.sources import digits_source
from translate.engine.checkpoint import CHECKPOINT_NAME, save_checkpoint, verify_checkpoint
from translate.engine.trainer import Trainer
from translate.errors import TrainingError
from translate.hub import layout
from translate_digits.translator import DigitsTranslator


@pytest.mark.parametrize("evaluate", ["true", "false"])
def test_an_update_that_overflows_the_weights_writes_nothing(cli, images, tmp_path,
                                                             isolated_home, evaluate):
    run = tmp_path / "run"
    code, _, err = cli(*TRAIN, "--data", f"folder:{images}", "--out", str(run), "--steps", "3",
                       "--set", "lr_g=1e39", "--set", "checkpoint_every=1",
                       "--set", f"evaluate_at_end={evaluate}")
    assert code == 1
    line = one_line_error(err)
    assert line.startswith("error: step 1: the update made G.weight, G.bias"), line
    assert "non-finite; stopped without writing weights" in line
    assert line.endswith(f"no checkpoint has been written in {run}")
    assert not (run / CHECKPOINT_NAME).exists()
    assert not (run / "weights").exists()
    assert not (isolated_home / "latest" / "invert").exists()


def test_a_buffer_gone_inf_stops_the_run_and_the_checkpoint_is_checked(tmp_path, isolated_home):
    """The issue's case: digits with lr 1e6 trained on with G.out_norm.running_var all inf."""
    source = digits_source()
    config = DigitsTranslator.make_config("starter", {
        "width": "8", "batch_size": "8", "steps": "20", "lr_g": "1e6", "lr_d": "1e6",
        "checkpoint_every": "1", "sample_every": "1000", "evaluate_at_end": "true"})
    trainer = Trainer(DigitsTranslator, config, train_source=source.split("train"),
                      heldout_source=source.split("heldout"), out_dir=tmp_path / "run",
                      device="cpu", progress=False, command="test")
    with pytest.raises(TrainingError) as caught:
        trainer.fit()
    message = str(caught.value)
    found = re.match(r"step (\d+): the update made (.*) non-finite; stopped without writing "
                     r"weights; the checkpoint of step (\d+) in (.*) was read back, is finite "
                     r"and intact \(continue from it with --resume\)$", message)
    assert found, message
    step, names, saved, folder = found.groups()
    assert int(saved) == int(step) - 1 and folder == str(tmp_path / "run")
    assert "G.out_norm.running_var" in names
    assert verify_checkpoint(tmp_path / "run" / CHECKPOINT_NAME) == int(saved)
    assert not (tmp_path / "run" / "weights").exists()
    assert not (isolated_home / "latest" / "digits").exists()


def test_a_state_holding_nan_or_inf_is_never_written_as_a_checkpoint(tmp_path):
    path = tmp_path / CHECKPOINT_NAME
    for bad in (float("nan"), float("inf")):
        state = {"step": 3, "networks": {"G": {"w": torch.tensor([1.0, bad])}}}
        with pytest.raises(TrainingError, match=r"non-finite values in networks\.G\.w"):
            save_checkpoint(path, state)
        assert not path.exists() and not list(tmp_path.iterdir())


@pytest.mark.parametrize("assignment", ["lr_g=inf", "lr_g=nan", "lr_d=-inf", "ema_decay=nan"])
def test_non_finite_config_values_are_refused_before_training(cli, images, tmp_path,
                                                              assignment):
    code, _, err = cli(*TRAIN, "--data", f"folder:{images}", "--out", str(tmp_path / "run"),
                       "--set", assignment)
    key, value = assignment.split("=")
    assert code == 1
    assert one_line_error(err) == f"error: {key} must be a finite number, got {value}"
    assert not (tmp_path / "run").exists()


def test_verify_refuses_weights_that_match_their_hash_but_hold_nan(cli, tmp_path):
    folder = layout.write_folder(
        tmp_path / "poisoned", tensors={"G.weight": torch.tensor([[1.0, float("nan")]])},
        meta={"format_version": 2, "translator": "invert", "model": {"arch": ""}})
    code, _, err = cli("verify", str(folder))
    assert code == 1
    assert one_line_error(err) == (f"error: {folder}/model.safetensors: matches its sha256 "
                                   "but holds NaN or inf in G.weight")
