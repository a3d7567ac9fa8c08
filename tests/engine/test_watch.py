"""The training watch: its detectors on made-up and recorded series (the trainer feeding it
is tested with digits, in plugins/digits/tests/test_training_watch.py)."""

from __future__ import annotations

import math
import random

import pytest
import torch

from translate.engine.watch import (
    TrainingWatch,
    d_wins,
    discriminator_accuracy,
    loss_terms,
    oscillation,
    too_alike,
)


def noisy(level: float, spread: float, count: int, seed: int = 0) -> list[float]:
    rng = random.Random(seed)
    return [level + rng.gauss(0, spread) for _ in range(count)]


# ---- the detectors -----------------------------------------------------------------------


def test_too_alike_compares_with_a_fraction_of_the_reference():
    assert too_alike(0.4, 1.0, fraction=0.5)
    assert not too_alike(0.6, 1.0, fraction=0.5)
    assert not too_alike(0.0, 0.0, fraction=0.5)  # nothing to compare with


def test_d_wins_needs_the_window_on_both_sides_and_a_sure_d():
    # The first log, at chance, is where D's loss started.
    high, low_loss = [0.5] + [0.99] * 8, [1.4] + [0.1] * 8

    def wins(real, fake, losses=low_loss):
        return d_wins(real, fake, losses, window=8, level=0.98, loss_share=0.25)

    assert wins(high, high)
    assert not d_wins([0.99] * 7, [0.99] * 7, [0.1] * 7, window=8, level=0.98,
                      loss_share=0.25)  # too few logs yet
    assert not wins(high, [*high[:-1], 0.85])  # fooled clearly once
    assert not wins(high, [*high[:-3], 0.95, 0.95, 0.95])  # fooled now and then
    # One fake in a batch of 32 getting through, twice, is still a D that wins.
    assert wins([0.5] + [1.0] * 8, [0.5] + [1.0] * 6 + [0.969] * 2)
    assert not wins([0.5] * 9, high)  # only fakes spotted
    # Right about everything, but with logits near zero (loss near chance): G still learns.
    assert not wins(high, high, [1.4, 1.39, 1.38, 1.37, 1.36, 1.36, 1.35, 1.35, 1.34])
    assert wins([0.3] * 20 + high, [0.3] * 20 + high, [1.4] * 21 + [0.1] * 8)  # the last 8


def test_oscillation_is_a_wide_swing_without_a_trend():
    window = 16
    # A healthy GAN's losses: a level with batch noise.
    calm = oscillation(noisy(1.3, 0.05, 40), window=window)
    assert calm is not None and calm < 0.1
    # Swinging between extremes, log after log.
    swinging = [1.5 + 1.4 * math.sin(i * 1.3) for i in range(40)]
    assert oscillation(swinging, window=window) > 0.35
    # A steady climb is a trend, not oscillation, however large.
    assert oscillation([0.5 + 0.2 * i for i in range(40)], window=window) is None
    assert oscillation([1.0] * (window - 1), window=window) is None  # too few logs
    assert oscillation([1.0] * 15 + [math.nan], window=window) is None


def test_discriminator_accuracy_counts_right_calls_and_carries_no_gradient():
    real = torch.tensor([2.0, 1.0, -1.0, 3.0], requires_grad=True)
    fake = torch.tensor([-2.0, 0.5, -1.0, -3.0], requires_grad=True)
    accuracy = discriminator_accuracy(real, fake)
    assert accuracy == {"accuracy/real": 0.75, "accuracy/fake": 0.75}
    assert not any(v.requires_grad for v in accuracy.values())
    assert discriminator_accuracy(real, fake, threshold=1.5)["accuracy/real"] == 0.5
    losses = {"real": torch.tensor(1.0), "fake": torch.tensor(2.0), **accuracy}
    assert list(loss_terms(losses)) == ["real", "fake"]


# ---- the watch ------------------------------------------------------------------------------


def test_collapse_is_a_fall_from_the_best_or_staying_far_below_the_real_images():
    watch = TrainingWatch(steps=1000, real_diversity=8.0)
    assert watch.observe_samples(100, 0.5) == []  # early samples are blurry and alike
    assert watch.observe_samples(200, 6.0) == []
    assert watch.observe_samples(240, 2.5) == [  # fell before the warm-up is over
        "step 240: possible mode collapse: the fixed-noise samples' diversity fell to 42% of "
        "its best (step 200); it is 31% of the real images' (2.5 vs 8)"]
    assert watch.observe_samples(300, 1.0) == []  # still collapsed: said already
    assert watch.observe_samples(400, 4.5) == []  # not yet recovered (3/4 of real)
    assert watch.observe_samples(500, 3.0) == []
    assert watch.observe_samples(600, 7.0) == []  # recovered
    assert watch.observe_samples(700, 3.0) == [
        "step 700: possible mode collapse: the fixed-noise samples' diversity fell to 43% of "
        "its best (step 600); it is 38% of the real images' (3 vs 8)"]
    late = TrainingWatch(steps=1000, real_diversity=8.0)
    assert late.observe_samples(100, 0.5) == [] and late.observe_samples(200, 1.0) == []
    assert late.observe_samples(300, 1.0) == [  # never diverse, and the warm-up is over
        "step 300: possible mode collapse: the fixed-noise samples' diversity 12% of the real "
        "images' (1 vs 8)"]


def test_without_real_images_diversity_is_recorded_not_judged():
    watch = TrainingWatch(steps=100)
    assert watch.observe_samples(50, 0.0) == []
    assert watch.figures()["watch/sample_diversity"] == 0.0
    assert "sample diversity (mode collapse)" not in watch.checks


def log(watch: TrainingWatch, step: int, *, d: float, real: float = 0.5,
        fake: float = 0.5) -> list[str]:
    return watch.observe_log(step, {"D/real": d / 2, "D/fake": d / 2, "G/adversarial": 3.0,
                                    "D/accuracy/real": real, "D/accuracy/fake": fake})


def test_d_wins_is_said_once_per_spell():
    watch = TrainingWatch(steps=1000, d_window=3)
    said = log(watch, 25, d=1.4, real=0.7)
    for step, accuracy in zip(range(50, 250, 25), [1.0, 1.0, 1.0, 0.95, 1.0, 0.6, 1.0, 1.0],
                              strict=True):
        said += log(watch, step, d=0.05, real=accuracy, fake=1.0)
    said += log(watch, 250, d=0.05, real=1.0, fake=1.0)
    assert said == [
        "step 100: D wins: right about 100% of real and 100% of fake images, >= 98% over 3 "
        "logs, its loss down to 0.05 from 1.4; G learns little from it",
        "step 250: D wins: right about 100% of real and 100% of fake images, >= 98% over 3 "
        "logs, its loss down to 0.05 from 1.4; G learns little from it"]
    assert "D accuracy (D wins)" in watch.checks


def test_oscillating_d_loss_is_said_once_after_the_warmup():
    watch = TrainingWatch(steps=1000)
    said = []
    for i in range(60):
        said += log(watch, 25 * (i + 1), d=1.5 + 1.4 * math.sin(i * 1.3))
    assert said == ["step 400: no convergence: D's loss swings by 0.38 of its size over 16 "
                    "logs, without a trend"]
    assert watch.d_losses[0] == pytest.approx(1.5)  # real + fake, no accuracies, no G


def test_a_quiet_run_says_nothing():
    watch = TrainingWatch(steps=2000, real_diversity=8.0)
    for i, d in enumerate(noisy(1.4, 0.08, 80)):
        assert log(watch, 25 * (i + 1), d=d, real=0.8, fake=0.7) == []
        if (i + 1) % 20 == 0:
            assert watch.observe_samples(25 * (i + 1), 7.5) == []
    assert watch.summary()["warnings"] == []
    assert watch.postfix({"D/real": 0.7, "D/accuracy/real": 0.8, "G/adversarial": 0.5}) == {
        "D/real": "0.7", "G/adversarial": "0.5", "D acc": "80%/70%", "diversity": "94%"}


# A built-to-fail run, recorded: `translate train digits --preset textbook --steps 150
# --set batch_size=32 --set lr_g=0.02 --set log_every=5` (G's learning rate x100), D's
# logged terms at steps 5, 10, ..., 150. D soon calls everything right and its loss sinks.
G_LR_X100 = {
    "D/real": [0.682, 0.677, 0.667, 0.672, 0.617, 0.517, 0.398, 0.259, 0.143, 0.13, 0.124,
               0.124, 0.126, 0.272, 0.135, 0.215, 0.209, 0.123, 0.081, 0.066, 0.035, 0.052,
               0.034, 0.055, 0.04, 0.029, 0.019, 0.022, 0.009, 0.006],
    "D/fake": [0.684, 0.649, 0.592, 0.471, 0.917, 0.67, 0.542, 0.337, 0.237, 0.206, 0.307,
               0.224, 1.008, 0.209, 0.359, 0.401, 0.137, 0.127, 0.058, 0.049, 0.057, 0.088,
               0.103, 0.073, 0.058, 0.0, 0.0, 0.0, 0.0, 0.0],
    "D/accuracy/real": [0.875, 0.938, 0.938, 0.719, 0.875] + [1.0] * 8 + [0.969] + [1.0] * 16,
    "D/accuracy/fake": [0.75, 1.0, 1.0, 1.0, 0.0, 0.719, 0.906, 1.0, 0.969, 1.0, 0.938, 0.969,
                        0.219, 1.0, 0.969, 0.812, 1.0, 1.0, 1.0, 1.0, 1.0, 0.969, 0.969, 1.0,
                        1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
}


def test_the_recorded_g_lr_x100_run_is_flagged_d_wins():
    watch = TrainingWatch(steps=150)
    said = [line for i in range(30) for line in watch.observe_log(
        5 * (i + 1), {key: values[i] for key, values in G_LR_X100.items()})]
    assert len(said) == 1 and said[0].startswith("step 125: D wins: right about 100% of real")
