"""Does a translation land in its target domain? A cross-fitted domain classifier says.

For unpaired translators (two domains, A and B, no pairs): an independent A-vs-B
classifier is trained on REAL held-out images only and is cross-fitted. The held-out
images of each domain are dealt alternately into two halves; a classifier trained on one
half judges the translations of the other, and the two results are pooled. It therefore
never judges an image it was trained on, and the identity baseline (output = input) is
simply its error rate on unseen real images. Its accuracy on those real images is reported
too, as a sanity check.

The classifier sees seeded random-conv features (`translate.metrics.frechet.
RandomConvFeatures`: means and standard deviations of five random conv stages), which
capture colour and texture statistics rather than content, then a standardised logistic
regression.
"""

from __future__ import annotations

import numpy as np
import torch

from translate.metrics.frechet import RandomConvFeatures

__all__ = ["domain_shares"]


def domain_shares(real_a: torch.Tensor, real_b: torch.Tensor, fake_b: torch.Tensor,
                  fake_a: torch.Tensor) -> dict[str, float]:
    """Cross-fitted target-domain shares of translations and of the identity mapping.

    Images are (N, C, H, W) in [-1, 1]: real held-out A and B, and the translations of
    those same images, fake_b = A -> B and fake_a = B -> A (record i translates record i).
    """
    # scikit-learn is slow to import and only evaluation needs it.
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

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
