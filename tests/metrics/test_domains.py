"""translate.metrics.domains: the cross-fitted target-domain shares."""

import torch

from translate.metrics.domains import domain_shares


def _domain(count: int, *, level: float, seed: int) -> torch.Tensor:
    noise = torch.Generator().manual_seed(seed)
    return (level + 0.2 * torch.randn(count, 3, 16, 16, generator=noise)).clamp(-1, 1)


def test_a_perfect_translation_lands_in_its_target_domain_and_the_identity_does_not():
    real_a, real_b = _domain(12, level=-0.6, seed=0), _domain(12, level=0.6, seed=1)
    # translations that look like fresh images of the other domain
    fake_b, fake_a = _domain(12, level=0.6, seed=2), _domain(12, level=-0.6, seed=3)
    shares = domain_shares(real_a, real_b, fake_b, fake_a)
    assert shares["target_domain_share_AtoB"] == shares["target_domain_share_BtoA"] == 1.0
    assert shares["target_domain_share_AtoB_identity_baseline"] == 0.0
    assert shares["target_domain_share_BtoA_identity_baseline"] == 0.0
    assert shares["domain_classifier_accuracy_on_unseen_real"] == 1.0


def test_no_translation_scores_the_identity_baseline():
    real_a, real_b = _domain(10, level=-0.6, seed=0), _domain(10, level=0.6, seed=1)
    shares = domain_shares(real_a, real_b, real_a, real_b)  # outputs = inputs
    for direction in ("AtoB", "BtoA"):
        share = f"target_domain_share_{direction}"
        assert shares[share] == shares[f"{share}_identity_baseline"]
