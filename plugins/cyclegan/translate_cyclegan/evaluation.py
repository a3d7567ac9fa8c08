"""How well a CycleGAN translates, measured on held-out images of both domains.

Three figures per direction, each with the identity mapping (output = input) as baseline:

- **cycle error**: mean absolute pixel difference, in [0, 1] units, between an image and
  its round trip (A -> B -> A, B -> A -> B). Low means the translation keeps the content.
  Its baseline is the same networks untrained (the identity mapping would score 0).
- **target-domain share**: the share of translations that an independent A-vs-B classifier
  assigns to the target domain. The classifier is trained only on REAL held-out images and
  is cross-fitted: the held-out images of each domain are dealt alternately into two
  halves, a classifier trained on one half judges the translations of the other, and the
  two results are pooled. It therefore never judges an
  image it was trained on, and the identity baseline is simply its error rate on unseen
  real images. Its accuracy on those real images is reported too, as a sanity check.
- **Fréchet distance** between translations and real images of the target domain, in
  the offline feature space `translate.metrics.frechet` documents (named in the key).

The classifier sees the same seeded random-conv features (`RandomConvFeatures`: means and
standard deviations of five random conv stages), which capture colour and texture
statistics rather than content, then a standardised logistic regression.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from translate.errors import DataError
from translate.evaluation import in_chunks
from translate.metrics.frechet import RandomConvFeatures, frechet_distance

if TYPE_CHECKING:
    from translate_cyclegan.translator import CycleGANTranslator

CHUNK = 16  # images translated at once; bounds memory at 256 px and above


@torch.no_grad()
def evaluate_translation(translator: CycleGANTranslator, real_a: torch.Tensor,
                         real_b: torch.Tensor) -> dict[str, float]:
    """All figures for held-out (N, 3, S, S) batches of A and B images in [-1, 1]."""
    if min(len(real_a), len(real_b)) < 4:
        raise DataError("evaluation needs at least 4 held-out images of each domain, "
                        f"got {len(real_a)} A and {len(real_b)} B")
    fake_b, fake_a = _run(translator, real_a, "AtoB"), _run(translator, real_b, "BtoA")
    rec_a, rec_b = _run(translator, fake_b, "BtoA"), _run(translator, fake_a, "AtoB")
    untrained = translator.untrained()
    metrics = {
        "cycle_error_AtoBtoA": _l1(rec_a, real_a),
        "cycle_error_BtoAtoB": _l1(rec_b, real_b),
        "cycle_error_AtoBtoA_untrained_baseline": _l1(
            _run(untrained, _run(untrained, real_a, "AtoB"), "BtoA"), real_a),
        "cycle_error_BtoAtoB_untrained_baseline": _l1(
            _run(untrained, _run(untrained, real_b, "BtoA"), "AtoB"), real_b),
    }
    metrics.update(domain_shares(real_a, real_b, fake_b, fake_a))
    for direction, fake, target, source in (("AtoB", fake_b, real_b, real_a),
                                            ("BtoA", fake_a, real_a, real_b)):
        translated = frechet_distance(target, fake)
        baseline = frechet_distance(target, source)
        metrics[f"frechet_{translated.features}_{direction}"] = translated.value
        metrics[f"frechet_{baseline.features}_{direction}_identity_baseline"] = baseline.value
    return metrics


def domain_shares(real_a: torch.Tensor, real_b: torch.Tensor, fake_b: torch.Tensor,
                  fake_a: torch.Tensor) -> dict[str, float]:
    """Cross-fitted target-domain shares of translations and of the identity mapping."""
    features = RandomConvFeatures()

    def embed(images: torch.Tensor) -> np.ndarray:
        return torch.cat([features(chunk.float().cpu()) for chunk in images.split(64)]).numpy()

    real = {"A": embed(real_a), "B": embed(real_b)}
    fake = {"B": embed(fake_b), "A": embed(fake_a)}  # keyed by the domain they should be in
    # Alternate records: both halves then span every source (every held-out photo).
    folds = {d: (np.arange(0, len(real[d]), 2), np.arange(1, len(real[d]), 2)) for d in "AB"}
    hits = {key: [] for key in ("AtoB", "BtoA", "AtoB_identity", "BtoA_identity", "real")}
    for judge, judged in ((0, 1), (1, 0)):
        train = {d: real[d][folds[d][judge]] for d in "AB"}
        classifier = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=5000))
        classifier.fit(np.concatenate([train["A"], train["B"]]),
                       np.array([0] * len(train["A"]) + [1] * len(train["B"])))
        seen = {d: folds[d][judged] for d in "AB"}
        # a translation A -> B should be called B (1); B -> A should be called A (0)
        hits["AtoB"] += list(classifier.predict(fake["B"][seen["A"]]) == 1)
        hits["BtoA"] += list(classifier.predict(fake["A"][seen["B"]]) == 0)
        hits["AtoB_identity"] += list(classifier.predict(real["A"][seen["A"]]) == 1)
        hits["BtoA_identity"] += list(classifier.predict(real["B"][seen["B"]]) == 0)
        hits["real"] += list(classifier.predict(real["A"][seen["A"]]) == 0)
        hits["real"] += list(classifier.predict(real["B"][seen["B"]]) == 1)
    return {
        "target_domain_share_AtoB": float(np.mean(hits["AtoB"])),
        "target_domain_share_BtoA": float(np.mean(hits["BtoA"])),
        "target_domain_share_AtoB_identity_baseline": float(np.mean(hits["AtoB_identity"])),
        "target_domain_share_BtoA_identity_baseline": float(np.mean(hits["BtoA_identity"])),
        "domain_classifier_accuracy_on_unseen_real": float(np.mean(hits["real"])),
    }


def _run(translator: CycleGANTranslator, images: torch.Tensor, direction: str) -> torch.Tensor:
    return in_chunks(lambda chunk: translator.translate(chunk, direction), images, size=CHUNK)


def _l1(a: torch.Tensor, b: torch.Tensor) -> float:
    # In float32, as the published figures were computed (metrics.fidelity.l1 averages in
    # float64: the same to 1e-7, not to the bit).
    return float((a.float() - b.float()).abs().mean() / 2)  # [-1, 1] differences -> [0, 1] units
