"""How well a CycleGAN translates, measured on held-out images of both domains.

Three figures per direction, each with the identity mapping (output = input) as baseline:

- **cycle error**: mean absolute pixel difference, in [0, 1] units, between an image and
  its round trip (A -> B -> A, B -> A -> B). Low means the translation keeps the content.
  Its baseline is the same networks untrained (the identity mapping would score 0).
- **target-domain share**: the share of translations that an independent A-vs-B classifier,
  trained on real held-out images only and cross-fitted, assigns to the target domain
  (`translate.metrics.domains.domain_shares`); the identity baseline is its error rate on
  unseen real images.
- **Fréchet distance** between translations and real images of the target domain, in
  the offline feature space `translate.metrics.frechet` documents (named in the key).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from translate.errors import DataError
from translate.evaluation import in_chunks
from translate.metrics.domains import domain_shares
from translate.metrics.frechet import frechet_distance

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


def _run(translator: CycleGANTranslator, images: torch.Tensor, direction: str) -> torch.Tensor:
    return in_chunks(lambda chunk: translator.translate(chunk, direction), images, size=CHUNK)


def _l1(a: torch.Tensor, b: torch.Tensor) -> float:
    # In float32, as the published figures were computed (metrics.fidelity.l1 averages in
    # float64: the same to 1e-7, not to the bit).
    return float((a.float() - b.float()).abs().mean() / 2)  # [-1, 1] differences -> [0, 1] units
