"""Watching a GAN train for the failures every textbook names, and saying so in one line.

Three failures, each judged from figures the trainer already has:

* mode collapse: the fixed-noise samples of the training grids grow alike. Their mean
  pairwise pixel distance (`translate.metrics.mean_pairwise_distance`, as evaluations
  measure diversity) falls below a fraction of its best so far, or stays below that
  fraction of the real held-out images' once a share of the run is over. Judged only
  where a grid is all generated samples (unconditional and class-conditional generation);
* D wins: D calls nearly every real image real and every fake fake, log after log, its
  loss far below where it started; G then learns little from it. Needs D's accuracy,
  which a translator reports among its D loss terms with `discriminator_accuracy`
  (optional: without it, this check is skipped);
* no convergence: D's loss swings widely, log after log, and gets nowhere. (G's loss is
  not judged: under the hinge loss it is a raw logit, noisy in healthy runs.)

A warning is one line naming the step and the figure; training always goes on. The
detectors are pure functions of the series; `TrainingWatch` feeds them and remembers
what it has said.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

__all__ = [
    "ACCURACY_PREFIX", "TrainingWatch", "d_wins", "discriminator_accuracy", "loss_terms",
    "oscillation", "too_alike",
]

# A translator's D loss dict may carry D's accuracies under these names; they are shown
# and watched, never optimised.
ACCURACY_PREFIX = "accuracy/"
REAL_ACCURACY, FAKE_ACCURACY = f"{ACCURACY_PREFIX}real", f"{ACCURACY_PREFIX}fake"


def discriminator_accuracy(real: torch.Tensor, fake: torch.Tensor, *,
                           threshold: float = 0.0) -> dict[str, torch.Tensor]:
    """D's share of right calls on a batch, to return among its loss terms.

    `real`/`fake` are D's outputs on real and generated images; an output above `threshold`
    means "real" (0 for logits, as with BCE or hinge; 0.5 for least squares).
    """
    return {REAL_ACCURACY: (real.detach() > threshold).float().mean(),
            FAKE_ACCURACY: (fake.detach() <= threshold).float().mean()}


def loss_terms(losses: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The terms to optimise: a loss dict without the reported accuracies."""
    return {k: v for k, v in losses.items() if not k.startswith(ACCURACY_PREFIX)}


# ---- the detectors: pure functions of what was measured ----------------------------------


def too_alike(diversity: float, reference: float, *, fraction: float) -> bool:
    """Mode collapse: the samples' diversity is below `fraction` of the reference's."""
    return reference > 0 and diversity < fraction * reference


def d_wins(real: Sequence[float], fake: Sequence[float], losses: Sequence[float], *,
           window: int, level: float, loss_share: float, floor: float = 0.9) -> bool:
    """D wins: right about `level` of real and of fake images over the last `window` logs
    (on average, and never below `floor`), its loss below `loss_share` of its first logged
    value all the while.

    Averaged, because one image in a small batch is a big share: at batch 32 a single
    fooling fake is 3%. Accuracy alone is not enough: early on, D tells an untrained G's
    blobs from digits with logits near zero, and G still learns; a D that wins is also sure
    of itself.
    """
    if min(len(real), len(fake), len(losses)) < window:
        return False
    recent = (real[-window:], fake[-window:])
    return (all(sum(side) / window >= level and min(side) >= floor for side in recent)
            and max(losses[-window:]) <= loss_share * losses[0])


def oscillation(values: Sequence[float], *, window: int) -> float | None:
    """How widely the last `window` values swing without a trend, or None if not measurable.

    The swing is the standard deviation around the window's least-squares line, relative to
    the window's mean absolute value (plus one, so losses near zero do not inflate it). A
    trend, a line explaining most of the variance, is progress or drift, not oscillation.
    """
    if len(values) < window:
        return None
    y = [float(v) for v in values[-window:]]
    if not all(math.isfinite(v) for v in y):
        return None
    n = len(y)
    x_mean, y_mean = (n - 1) / 2, sum(y) / n
    sxx = sum((i - x_mean) ** 2 for i in range(n))
    slope = sum((i - x_mean) * (v - y_mean) for i, v in enumerate(y)) / sxx
    residual = [v - y_mean - slope * (i - x_mean) for i, v in enumerate(y)]
    total = sum((v - y_mean) ** 2 for v in y)
    explained = 1 - sum(r * r for r in residual) / total if total > 0 else 0.0
    if explained > 0.5:
        return None
    spread = math.sqrt(sum(r * r for r in residual) / n)
    return spread / (sum(abs(v) for v in y) / n + 1.0)


# ---- the watch: series in, one-line warnings out ------------------------------------------


@dataclass
class TrainingWatch:
    """Feeds the detectors from the trainer's log metrics and sample grids.

    `real_diversity` is the held-out images' diversity, given when a grid is all generated
    samples; without it, diversity is recorded but not judged.
    """

    steps: int
    real_diversity: float | None = None
    collapse_fraction: float = 0.5  # of the best diversity so far, or of the real images'
    meaningful: float = 0.25  # a best below this share of the real images' is not yet one
    warmup: float = 0.25  # share of the steps before low diversity or swings are judged
    d_window: int = 8  # logs running
    d_level: float = 0.98  # D's accuracy on real and on fake images
    d_loss_share: float = 0.25  # of D's first logged loss
    oscillation_window: int = 16  # logs
    oscillation_level: float = 0.2  # swing of D's loss, relative to its size (+ 1)
    diversity: list[tuple[int, float]] = field(default_factory=list)
    real_accuracy: list[float] = field(default_factory=list)
    fake_accuracy: list[float] = field(default_factory=list)
    d_losses: list[float] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    _active: set[str] = field(default_factory=set)

    @property
    def checks(self) -> list[str]:
        watched = ["sample diversity (mode collapse)"] if self.real_diversity else []
        if self.real_accuracy:
            watched.append("D accuracy (D wins)")
        return [*watched, "D loss oscillation (no convergence)"]

    def observe_samples(self, step: int, diversity: float) -> list[str]:
        """A sample grid's diversity; returns new warning lines."""
        best = max((d for _, d in self.diversity), default=0.0)
        self.diversity.append((step, diversity))
        real = self.real_diversity
        if not real:
            return []
        fell = best >= self.meaningful * real and too_alike(
            diversity, best, fraction=self.collapse_fraction)
        low = step >= self.warmup * self.steps and too_alike(
            diversity, real, fraction=self.collapse_fraction)
        best_step = max(self.diversity[:-1], key=lambda item: item[1], default=(0, 0))[0]
        how = (f"fell to {diversity / best:.0%} of its best (step {best_step}); it is "
               if fell else "")
        # Said again only once diversity has recovered to three quarters of the real images'.
        recovered = diversity >= 1.5 * self.collapse_fraction * real
        return self._flag("collapse", fell or low, recovered,
                          f"step {step}: possible mode collapse: the fixed-noise samples' "
                          f"diversity {how}{diversity / real:.0%} of the real images' "
                          f"({diversity:.3g} vs {real:.3g})")

    def observe_log(self, step: int, metrics: Mapping[str, float]) -> list[str]:
        """One log's metrics (`D/...`, `G/...`); returns new warning lines."""
        lines: list[str] = []
        terms = [v for k, v in metrics.items()
                 if k.startswith("D/") and not k.startswith(f"D/{ACCURACY_PREFIX}")]
        if terms:
            self.d_losses.append(sum(terms))
        real, fake = metrics.get(f"D/{REAL_ACCURACY}"), metrics.get(f"D/{FAKE_ACCURACY}")
        if real is not None and fake is not None and terms:
            self.real_accuracy.append(real)
            self.fake_accuracy.append(fake)
            series = (self.real_accuracy, self.fake_accuracy, self.d_losses)
            winning = d_wins(*series, window=self.d_window, level=self.d_level,
                             loss_share=self.d_loss_share)
            # One spell, however it flickers: over only once D is clearly beatable again.
            over = not d_wins(*series, window=1, level=0.9, loss_share=2 * self.d_loss_share)
            lines += self._flag("d_wins", winning, over,
                f"step {step}: D wins: right about {real:.0%} of real and {fake:.0%} of fake "
                f"images, >= {self.d_level:.0%} over {self.d_window} logs, its loss down to "
                f"{self.d_losses[-1]:.3g} from {self.d_losses[0]:.3g}; G learns little from it")
        # The first logs hold D's climb from chance: a transient, not an oscillation.
        swing = (oscillation(self.d_losses, window=self.oscillation_window)
                 if step >= self.warmup * self.steps else None)
        calm = swing is not None and swing < self.oscillation_level / 2
        lines += self._flag("oscillation", swing is not None and swing > self.oscillation_level,
                            calm,
                            f"step {step}: no convergence: D's loss swings by {swing or 0:.2f} "
                            f"of its size over {self.oscillation_window} logs, without a trend")
        return lines

    def figures(self) -> dict[str, float]:
        """The latest watched figures, for TensorBoard."""
        out: dict[str, float] = {}
        if self.diversity:
            value = self.diversity[-1][1]
            out["watch/sample_diversity"] = value
            if self.real_diversity:
                out["watch/sample_diversity_ratio"] = value / self.real_diversity
        swing = oscillation(self.d_losses, window=self.oscillation_window)
        if swing is not None:
            out["watch/D_loss_swing"] = swing
        out["watch/warnings"] = float(len(self.warnings))
        return out

    def postfix(self, metrics: Mapping[str, float]) -> dict[str, str]:
        """The progress bar's figures: the loss terms, D's accuracy and the sample diversity."""
        shown = {k: f"{v:.3g}" for k, v in metrics.items()
                 if k.startswith(("D/", "G/")) and ACCURACY_PREFIX not in k}
        if self.real_accuracy:
            shown["D acc"] = f"{self.real_accuracy[-1]:.0%}/{self.fake_accuracy[-1]:.0%}"
        if self.diversity:
            value = self.diversity[-1][1]
            shown["diversity"] = (f"{value / self.real_diversity:.0%}" if self.real_diversity
                                  else f"{value:.3g}")
        if self.warnings:
            shown["warnings"] = str(len(self.warnings))
        return shown

    def summary(self) -> dict[str, Any]:
        """What the model card says: what was watched and every warning given."""
        summary: dict[str, Any] = {"checked": self.checks, "warnings": list(self.warnings)}
        if self.diversity:
            summary["final_sample_diversity"] = round(self.diversity[-1][1], 4)
        if self.real_diversity:
            summary["real_diversity"] = round(self.real_diversity, 4)
        return summary

    def _flag(self, kind: str, firing: bool, cleared: bool, line: str) -> list[str]:
        """Warn when a condition starts; only once it has `cleared` may it warn again."""
        if kind in self._active:
            if cleared and not firing:
                self._active.discard(kind)
            return []
        if not firing:
            return []
        self._active.add(kind)
        self.warnings.append(line)
        return [line]
