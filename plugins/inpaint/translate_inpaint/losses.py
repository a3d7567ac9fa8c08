"""The inpainting losses that `translate.losses` does not have.

The hole-PSNR term is the AOT starter's own; the other three are LaMa's training recipe
(saicinpainting/training/losses in advimman/lama): its discriminator loss treats the known
pixels of a fake as real, R1 keeps that discriminator smooth on real images, and feature
matching compares the discriminator's activations of a result and of its original.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

PSNR_CEILING = 1e-5  # added to each MSE: caps the term at 50 dB, a fill's last fraction of a level


def hole_psnr_loss(output: torch.Tensor, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B,) minus the PSNR in dB over each image's hole, on a [0, 1] scale; inputs in [-1, 1].

    L1 averaged over a batch barely notices two grey levels of noise in a flat hole (sky),
    yet that takes a near-perfect fill from 48 to 38 dB. A per-image log of the error
    weighs every hole by how well it is already filled, which is what mean PSNR measures.
    """
    squared = ((output - image) / 2) ** 2 * mask  # [-1, 1] -> [0, 1] scale
    count = (mask.sum((1, 2, 3)) * image.shape[1]).clamp_min(1)
    return 10 * torch.log10(squared.sum((1, 2, 3)) / count + PSNR_CEILING)


# LaMa's NonSaturatingWithR1 with mask_as_fake_target (configs/training/big-lama.yaml):
# the generator's output is judged whole, and only its hole is a fake; its known pixels,
# which the L1 term pins to the original, count as real.
def masked_fake_loss(fake_logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The discriminator's non-saturating loss on a fake: fake in the hole, real elsewhere.

    The mask is brought to the logits' size by nearest-neighbour sampling, as LaMa does.
    """
    hole = F.interpolate(mask, size=fake_logits.shape[-2:], mode="nearest")
    return (hole * F.softplus(fake_logits) + (1 - hole) * F.softplus(-fake_logits)).mean()


# R1: Mescheder et al. 2018, "Which Training Methods for GANs do actually Converge?",
# https://arxiv.org/abs/1801.04406 (section 4.1): the squared gradient norm of D on reals.
def r1_penalty(real_logits: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of |d sum(D(real)) / d real|^2; `real` must require gradients."""
    (gradient,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
    return gradient.flatten(1).square().sum(1).mean()


# Feature matching: Wang et al. 2018 (pix2pixHD), https://arxiv.org/abs/1711.11585
# (section 3.2), in LaMa's form: the mean squared difference of each discriminator block's
# activations, averaged over blocks, over the whole image.
def feature_matching_loss(fake_features: list[torch.Tensor],
                          real_features: list[torch.Tensor]) -> torch.Tensor:
    """Mean over blocks of the MSE between D's activations of the fakes and of the reals."""
    return torch.stack([F.mse_loss(fake, real.detach())
                        for fake, real in zip(fake_features, real_features, strict=True)]).mean()
