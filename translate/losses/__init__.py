"""Losses shared by every plugin: adversarial terms here, VGG features in `perceptual`."""

from translate.losses.adversarial import AdversarialLoss, discriminator_loss, generator_loss

__all__ = ["AdversarialLoss", "discriminator_loss", "generator_loss"]
