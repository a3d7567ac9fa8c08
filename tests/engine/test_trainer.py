"""The shared training loop: updates, EMA, schedules, clipping, guards and devices."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from support.drawing import DrawTranslator
from translate.data.sources import digits_source
from translate.engine.checkpoint import CHECKPOINT_NAME, load_checkpoint
from translate.engine.ema import make_ema, update_ema
from translate.engine.schedule import constant_then_linear
from translate.engine.trainer import Trainer, train
from translate.errors import ConfigError, TrainingError
from translate.plugins import load_plugins

TINY = {"width": "8", "batch_size": "8", "steps": "4", "log_every": "1", "sample_every": "2",
        "checkpoint_every": "2", "evaluate_at_end": "false"}


def tiny_config(**overrides: str):
    return DrawTranslator.make_config("starter", {**TINY, **overrides})


def make_trainer(tmp_path, cls=DrawTranslator, **overrides: str) -> Trainer:
    source = digits_source()
    return Trainer(cls, tiny_config(**overrides), train_source=source.split("train"),
                   heldout_source=source.split("heldout"), out_dir=tmp_path / "run",
                   device="cpu", progress=False, command="test")


def test_schedule_is_constant_then_linear_to_zero():
    factor = constant_then_linear(total_steps=10, decay_steps=4)
    assert [factor(s) for s in range(11)] == pytest.approx(
        [1, 1, 1, 1, 1, 1, 0.8, 0.6, 0.4, 0.2, 0.0])
    assert constant_then_linear(10, 0)(9) == 1.0


def test_trainer_applies_the_lr_schedule(tmp_path):
    trainer = make_trainer(tmp_path, steps="4", lr_decay_fraction="0.5")
    batches = trainer._batches()
    lrs = []
    for _ in range(4):
        trainer._train_step(batches)
        trainer.step += 1
        lrs.append(trainer.optimizers["G"].param_groups[0]["lr"])
    base = trainer.config.lr_g  # the LR each step leaves for the next: steps 2 and 3 decay
    assert lrs == pytest.approx([base, base * 2 / 3, base / 3, 0.0])


def test_ema_moves_towards_the_model_and_copies_buffers():
    model = torch.nn.BatchNorm1d(3)
    ema = make_ema(model)
    with torch.no_grad():
        model.weight.fill_(2.0)
        model.running_mean.fill_(5.0)
    update_ema(ema, model, decay=0.9, step=10_000)
    assert torch.allclose(ema.weight, torch.full((3,), 1.1))  # 1 + 0.1 * (2 - 1)
    assert torch.equal(ema.running_mean, model.running_mean)
    assert not any(p.requires_grad for p in ema.parameters())


def test_ema_warms_up_with_a_smaller_decay():
    model = torch.nn.Linear(1, 1, bias=False)
    ema = make_ema(model)
    with torch.no_grad():
        start = ema.weight.clone()
        model.weight.add_(1.0)
    update_ema(ema, model, decay=0.999, step=0)  # effective decay (1+0)/(10+0) = 0.1
    assert torch.allclose(ema.weight, start + 0.9)


def test_one_step_updates_generator_discriminator_and_ema(tmp_path):
    trainer = make_trainer(tmp_path)
    before = {name: [p.detach().clone() for p in net.parameters()]
              for name, net in {**trainer.raw, "EMA": trainer.ema["G"]}.items()}
    trainer._train_step(trainer._batches())
    for name, net in {**trainer.raw, "EMA": trainer.ema["G"]}.items():
        assert any(not torch.equal(a, b) for a, b in zip(before[name], net.parameters(),
                                                          strict=True)), name
    assert all(p.requires_grad for p in trainer.raw["D"].parameters()), "D left frozen"


def test_d_steps_gives_d_that_many_updates_per_g_update(tmp_path):
    trainer = make_trainer(tmp_path, d_steps="3")
    batches = trainer._batches()
    for _ in range(2):
        trainer._train_step(batches)
    steps = {name: next(iter(opt.state.values()))["step"].item()
             for name, opt in trainer.optimizers.items()}
    assert steps == {"G": 2, "D": 6}


def test_gradients_are_clipped_to_grad_clip(tmp_path):
    trainer = make_trainer(tmp_path, grad_clip="0.01")
    trainer._train_step(trainer._batches())
    for name in ("G", "D"):
        norm = torch.linalg.vector_norm(torch.stack([
            torch.linalg.vector_norm(p.grad) for p in trainer.raw[name].parameters()
            if p.grad is not None]))
        assert norm <= 0.01 * 1.0001, name


class NaNAtStepThree(DrawTranslator):
    """The test translator, its generator loss turning NaN at the third step."""

    calls = 0

    def generator_loss(self, nets, batch, generated):
        NaNAtStepThree.calls += 1
        losses = super().generator_loss(nets, batch, generated)
        if NaNAtStepThree.calls == 3:
            losses["adversarial"] = losses["adversarial"] * float("nan")
        return losses


def test_non_finite_loss_stops_with_the_step_named_and_writes_no_weights(tmp_path):
    NaNAtStepThree.calls = 0
    trainer = make_trainer(tmp_path, cls=NaNAtStepThree, checkpoint_every="2")
    with pytest.raises(TrainingError, match=r"^step 3: non-finite G loss") as error:
        trainer.fit()
    assert "\n" not in str(error.value)
    assert not (tmp_path / "run" / "weights").exists()
    assert load_checkpoint(tmp_path / "run" / CHECKPOINT_NAME)["step"] == 2
    g = load_checkpoint(tmp_path / "run" / CHECKPOINT_NAME)["networks"]["G"]
    assert all(torch.isfinite(t).all() for t in g.values())


def test_fit_writes_samples_checkpoint_weights_and_latest_pointer(tmp_path, isolated_home):
    source = digits_source()
    weights = train(DrawTranslator, tiny_config(), train_source=source.split("train"),
                    heldout_source=source.split("heldout"), out_dir=tmp_path / "run",
                    device="cpu", progress=False, command="translate train draw",
                    observer=load_plugins().notify)
    run = tmp_path / "run"
    assert sorted(p.name for p in (run / "samples").iterdir()) == [
        "step_0000002.png", "step_0000004.png"]
    assert load_checkpoint(run / CHECKPOINT_NAME)["step"] == 4
    assert sorted(p.name for p in weights.iterdir()) == [
        "README.md", "config.json", "model.safetensors"]
    assert (isolated_home / "latest" / "draw").read_text() == str(weights.resolve())
    assert list((run / "tensorboard").iterdir()), "TensorBoard logger wrote nothing"


def test_existing_checkpoint_without_resume_is_refused(tmp_path):
    make_trainer(tmp_path).fit()
    with pytest.raises(ConfigError, match="--resume"):
        make_trainer(tmp_path)


def test_resume_continues_from_the_checkpoint_step(tmp_path):
    make_trainer(tmp_path, steps="2").fit()
    trainer = Trainer(DrawTranslator, tiny_config(steps="4"),
                      train_source=digits_source().split("train"),
                      heldout_source=digits_source().split("heldout"),
                      out_dir=tmp_path / "run", device="cpu", progress=False, resume=True)
    assert trainer.step == 2
    trainer.fit()
    assert load_checkpoint(tmp_path / "run" / CHECKPOINT_NAME)["step"] == 4


@pytest.mark.parametrize("precision", ["no", "bf16"])  # bf16 on the CPU also runs NHWC
def test_resumed_run_matches_an_uninterrupted_one_exactly(tmp_path, precision):
    # Constant LR, so a run told to stop at step 3 is the same as one killed there.
    options = {"lr_decay_fraction": "0", "mixed_precision": precision}
    straight = make_trainer(tmp_path / "a", steps="6", **options)
    straight.fit()
    make_trainer(tmp_path / "b", steps="3", **options).fit()
    Trainer(DrawTranslator, tiny_config(steps="6", **options),
            train_source=digits_source().split("train"),
            heldout_source=digits_source().split("heldout"),
            out_dir=tmp_path / "b" / "run", device="cpu", progress=False, resume=True).fit()
    a = load_checkpoint(tmp_path / "a" / "run" / CHECKPOINT_NAME)
    b = load_checkpoint(tmp_path / "b" / "run" / CHECKPOINT_NAME)
    for part in ("networks", "ema", "optimizers"):
        for name, state in a[part].items():
            assert_same(state, b[part][name], f"{part}.{name}")


def assert_same(a, b, where: str) -> None:
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list | tuple):
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{index}]")
    else:
        assert a == b, where


def test_bf16_autocast_runs_on_cpu_in_nhwc(tmp_path):
    trainer = make_trainer(tmp_path, mixed_precision="bf16", steps="1")
    assert trainer.precision == "bf16"
    convolution = trainer.raw["G"].to_image.weight
    assert convolution.is_contiguous(memory_format=torch.channels_last)
    trainer.fit()
    assert not make_trainer(tmp_path / "fp32").channels_last


def test_fp16_on_cpu_is_refused_in_one_line(tmp_path):
    with pytest.raises(ConfigError, match="fp16 needs CUDA"):
        make_trainer(tmp_path, mixed_precision="fp16")


def test_unknown_or_missing_device_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="device must be one of"):
        Trainer(DrawTranslator, tiny_config(), train_source=digits_source(),
                heldout_source=digits_source(), out_dir=tmp_path, device="tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA device"):
            Trainer(DrawTranslator, tiny_config(), train_source=digits_source(),
                    heldout_source=digits_source(), out_dir=tmp_path, device="cuda")


def test_sample_grid_uses_fixed_inputs(tmp_path):
    trainer = make_trainer(tmp_path)
    first = {k: v.clone() for k, v in trainer.sample_inputs.items()}
    again = make_trainer(tmp_path / "other")
    for key, value in first.items():
        assert torch.equal(value, again.sample_inputs[key])
    assert not math.isnan(float(np.mean(first["z"].numpy())))
