"""Adversarial losses: what D and G minimise, given D's logits.

Each takes discriminator logits; `real`/`fake` name what D was shown. D losses
return one scalar for the real and one for the fake term, so both can be logged.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

AdversarialLoss = Literal["hinge", "nonsaturating", "lsgan"]


def discriminator_loss(kind: AdversarialLoss, real: torch.Tensor,
                       fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(real term, fake term) of the discriminator's loss."""
    if kind == "hinge":
        # Lim & Ye 2017, https://arxiv.org/abs/1705.02894
        return F.relu(1.0 - real).mean(), F.relu(1.0 + fake).mean()
    if kind == "nonsaturating":
        # Goodfellow et al. 2014, https://arxiv.org/abs/1406.2661 (BCE with logits)
        return F.softplus(-real).mean(), F.softplus(fake).mean()
    if kind == "lsgan":
        # Mao et al. 2017, https://arxiv.org/abs/1611.04076; halved as in the CycleGAN code
        return 0.5 * (real - 1.0).pow(2).mean(), 0.5 * fake.pow(2).mean()
    raise ValueError(f"unknown adversarial loss {kind!r}")


def generator_loss(kind: AdversarialLoss, fake: torch.Tensor) -> torch.Tensor:
    """The generator's adversarial loss on D's logits for its fakes."""
    if kind == "hinge":
        return -fake.mean()
    if kind == "nonsaturating":
        return F.softplus(-fake).mean()
    if kind == "lsgan":
        return (fake - 1.0).pow(2).mean()
    raise ValueError(f"unknown adversarial loss {kind!r}")
