"""The GAN every introduction describes: a DCGAN for 28x28 digits, optionally conditional.

    z (100) -> dense 6272 -> 128 x 7 x 7 -> transposed convs -> 28 x 28 -> tanh

Radford et al. 2016 (DCGAN, https://arxiv.org/abs/1511.06434) fixed the recipe: project and
reshape the latent, upsample with fractionally-strided convolutions, judge with strided
convolutions, LeakyReLU, tanh out. The MNIST tutorials that nearly every course copies
shrink it to the sizes above (J. Brownlee's "How to Develop a GAN for Generating MNIST
Handwritten Digits", machinelearningmastery.com, 2019). The conditional variant follows
Mirza & Osindero 2014 (https://arxiv.org/abs/1411.1784): the class label is fed to both G
and D. Nothing here is a modern improvement; the `sngan` architecture has those.
"""

from __future__ import annotations

import torch
from torch import nn

# Slope 0.2 for every LeakyReLU: Radford et al. 2016 (D); the tutorials use it in G as well.
LEAKY_SLOPE = 0.2
# A label becomes 50 learned numbers before it joins G's latent: the tutorials' embedding.
LABEL_FEATURES = 50
# Dropout 0.4 after each of D's convolutions: the tutorials' guard against D memorising
# (Goodfellow et al. 2014 trained D with dropout too).
D_DROPOUT = 0.4


def dcgan_init(module: nn.Module) -> None:
    """Weights from N(0, 0.02), biases zero: Radford et al. 2016, section 4."""
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d | nn.Linear | nn.Embedding):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if getattr(module, "bias", None) is not None:
            nn.init.zeros_(module.bias)


class TextbookGenerator(nn.Module):
    """z ~ N(0, I) (and a class label when `num_classes` > 0) -> an image in [-1, 1]."""

    def __init__(self, *, latent_dim: int, num_classes: int, width: int, image_size: int,
                 channels: int = 1) -> None:
        super().__init__()
        if image_size % 4:
            raise ValueError(f"image_size must be a multiple of 4 (two x2 upsamplings), "
                             f"got {image_size}")
        self.latent_dim, self.width, self.start = latent_dim, width, image_size // 4
        # Mirza & Osindero 2014: the label joins z at G's input (here as a learned embedding).
        self.label_embedding = (nn.Embedding(num_classes, LABEL_FEATURES) if num_classes
                                else None)
        inputs = latent_dim + (LABEL_FEATURES if num_classes else 0)
        # Radford et al. 2016: one dense "project and reshape" layer (100 -> 128 x 7 x 7 = 6272).
        self.project = nn.Linear(inputs, width * self.start * self.start)
        # Radford et al. 2016: fractionally-strided convs upsample; no pooling, no unpooling.
        self.upsample = nn.Sequential(
            nn.ConvTranspose2d(width, width, 4, stride=2, padding=1),  # 7 -> 14
            nn.LeakyReLU(LEAKY_SLOPE),
            nn.ConvTranspose2d(width, width, 4, stride=2, padding=1),  # 14 -> 28
            nn.LeakyReLU(LEAKY_SLOPE),
        )
        # Radford et al. 2016: tanh on the output, images scaled to [-1, 1].
        self.to_image = nn.Conv2d(width, channels, 7, padding=3)
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        # z: (B, latent_dim), labels: (B,) or None -> (B, channels, image_size, image_size)
        if self.label_embedding is not None:
            z = torch.cat([z, self.label_embedding(labels)], dim=1)
        h = nn.functional.leaky_relu(self.project(z), LEAKY_SLOPE)
        h = h.view(-1, self.width, self.start, self.start)
        return torch.tanh(self.to_image(self.upsample(h)))


class TextbookDiscriminator(nn.Module):
    """An image (and its claimed label when `num_classes` > 0) -> one realness logit."""

    def __init__(self, *, num_classes: int, width: int, image_size: int,
                 channels: int = 1) -> None:
        super().__init__()
        self.image_size = image_size
        # Mirza & Osindero 2014: D sees the label too; here as one extra input channel, a
        # learned image_size x image_size map per class.
        self.label_embedding = (nn.Embedding(num_classes, image_size * image_size)
                                if num_classes else None)
        inputs = channels + (1 if num_classes else 0)
        # Radford et al. 2016: strided convolutions downsample; LeakyReLU(0.2) in D.
        self.features = nn.Sequential(
            nn.Conv2d(inputs, width, 3, stride=2, padding=1),  # 28 -> 14
            nn.LeakyReLU(LEAKY_SLOPE),
            nn.Dropout(D_DROPOUT),
            nn.Conv2d(width, width, 3, stride=2, padding=1),  # 14 -> 7
            nn.LeakyReLU(LEAKY_SLOPE),
            nn.Dropout(D_DROPOUT),
            nn.Flatten(),
        )
        # One logit: the sigmoid lives in the loss (BCE with logits), which is stabler.
        self.realness = nn.Linear(width * (image_size // 4) ** 2, 1)
        self.apply(dcgan_init)

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        # images: (B, C, H, W), labels: (B,) or None -> logits (B,)
        if self.label_embedding is not None:
            plane = self.label_embedding(labels).view(-1, 1, self.image_size, self.image_size)
            images = torch.cat([images, plane], dim=1)
        return self.realness(self.features(images)).squeeze(1)
