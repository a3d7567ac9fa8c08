"""A test-only generative translator: tiny, but a real class-conditional GAN.

`DrawTranslator` ("draw") learns to draw the host's bundled digits (`--data digits`) at 8x8
from a label and Gaussian noise. It has what the engine, hub and CLI tests exercise in a
plugin's GAN, at a size that trains a step in milliseconds: a generator with batch-norm
buffers (EMA and checkpoints carry them), a spectrally normalised projection
discriminator (power-iteration buffers that an exact resume must restore), noise drawn
from the global RNG every step (RNG state that a resume must restore), a hinge loss, a
seeded `draw`, an `infer` with label/count/seed inputs, and an `evaluate` that reports
figures next to baselines, as the built-in digits plugin does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from translate import Architecture, Batch, Losses, Networks, Param, Task, TrainConfig, Translator
from translate.config import Range
from translate.data.source import Source
from translate.data.tensors import tensor_to_pil
from translate.losses import AdversarialLoss, discriminator_loss, generator_loss
from translate.metrics import pixel_classifier, pixels, stack

LABELS = tuple(str(d) for d in range(10))


class TinyGenerator(nn.Module):
    """z and a class label -> a (1, size, size) image in [-1, 1]."""

    def __init__(self, *, latent_dim: int = 8, num_classes: int = 10, width: int = 8,
                 image_size: int = 8) -> None:
        super().__init__()
        self.start = image_size // 2
        self.embed = nn.Embedding(num_classes, latent_dim)
        self.project = nn.Linear(latent_dim, width * self.start * self.start)
        self.norm = nn.BatchNorm2d(width)
        self.to_image = nn.Conv2d(width, 1, 3, padding=1)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        # (N, latent_dim), (N,) -> (N, 1, size, size)
        h = self.project(z * self.embed(labels)).view(len(z), -1, self.start, self.start)
        h = F.interpolate(F.relu(self.norm(h)), scale_factor=2, mode="nearest")
        return torch.tanh(self.to_image(h))


class TinyDiscriminator(nn.Module):
    """Image and label -> one realness score per image (a projection discriminator)."""

    def __init__(self, *, num_classes: int = 10, width: int = 8) -> None:
        super().__init__()
        self.features = nn.Sequential(
            spectral_norm(nn.Conv2d(1, width, 4, stride=2, padding=1)), nn.LeakyReLU(0.2))
        self.score = spectral_norm(nn.Linear(width, 1))
        self.embed = spectral_norm(nn.Embedding(num_classes, width))

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        # (N, 1, H, W), (N,) -> (N,)
        h = self.features(images).sum(dim=(2, 3))
        return self.score(h).squeeze(1) + (self.embed(labels) * h).sum(dim=1)


@dataclass(kw_only=True)
class DrawConfig(TrainConfig):
    image_size: Annotated[int, Range(2)] = 8  # side of the square images (even)
    num_classes: Annotated[int, Range(1)] = 10  # labels 0..num_classes-1; the data must agree
    latent_dim: Annotated[int, Range(1)] = 8  # size of the Gaussian noise vector
    width: Annotated[int, Range(1)] = 8  # channels of G's and D's hidden layer
    loss: AdversarialLoss = "hinge"  # as the projection discriminator's papers use
    betas: tuple[float, float] = (0.0, 0.9)  # beta1=0 as in SNGAN


class DrawTranslator(Translator):
    name = "draw"
    task = Task.CLASS_CONDITIONAL
    description = "Draws a small digit of the requested class (test-only)."
    Config = DrawConfig
    architectures = {"tiny": Architecture(TinyGenerator, description="a one-layer generator")}
    presets = {"starter": {"steps": 20, "batch_size": 16, "sample_every": 10,
                           "checkpoint_every": 10},
               "full": {"steps": 200, "width": 16}}
    datasets = ("digits", "folder")
    hub_repo = "test-only/draw"
    image_mode = "L"
    grid_columns = 10
    inputs = (
        Param(name="label", kind="choice", choices=("all", *LABELS), default="all",
              help="Digit to draw; 'all' cycles through 0-9."),
        Param(name="count", kind="int", default=16, low=1, high=256, help="How many images."),
        Param(name="seed", kind="seed", default=0, help="Same seed, same images."),
    )
    output = "images"

    config: DrawConfig

    def build_generators(self) -> dict[str, nn.Module]:
        return {"G": self.build_network()}

    def build_discriminators(self) -> dict[str, nn.Module]:
        return {"D": TinyDiscriminator(num_classes=self.config.num_classes,
                                       width=self.config.width)}

    def generate(self, nets: Networks, batch: Batch) -> Batch:
        z = torch.randn(len(batch["label"]), self.config.latent_dim, device=batch["label"].device)
        return {"image": nets.G(z, batch["label"])}

    def discriminator_loss(self, nets: Networks, batch: Batch, generated: Batch) -> Losses:
        real, fake = discriminator_loss(self.config.loss, nets.D(batch["image"], batch["label"]),
                                        nets.D(generated["image"], batch["label"]))
        return {"real": real, "fake": fake}

    def generator_loss(self, nets: Networks, batch: Batch, generated: Batch) -> Losses:
        return {"adversarial": generator_loss(self.config.loss,
                                              nets.D(generated["image"], batch["label"]))}

    def sample_inputs(self, heldout: Batch, count: int) -> Batch:
        labels = torch.arange(max(count, 1)) % self.config.num_classes
        return {"z": torch.randn(len(labels), self.config.latent_dim), "label": labels}

    def sample(self, generators: Networks, inputs: Batch) -> torch.Tensor:
        return generators.G(inputs["z"], inputs["label"])

    @torch.no_grad()
    def draw(self, labels: torch.Tensor, seed: int) -> torch.Tensor:
        """Images (N, 1, H, W) in [-1, 1]; the noise is drawn on the CPU so seeds are portable."""
        noise = torch.randn(len(labels), self.config.latent_dim,
                            generator=torch.Generator().manual_seed(seed))
        return self.generators.G(noise.to(self.device), labels.to(self.device))

    def infer(self, *, label: str = "all", count: int = 16, seed: int = 0) -> list[Image.Image]:
        labels = (torch.arange(count) % self.config.num_classes if label == "all"
                  else torch.full((count,), int(label)))
        return tensor_to_pil(self.draw(labels, seed))

    @torch.no_grad()
    def evaluate(self, heldout: Source, train: Source, *, per_class: int = 10
                 ) -> dict[str, float]:
        """Class accuracy by a classifier trained on held-out real images, next to untrained."""
        real, real_labels = stack(self.make_dataset(heldout, train=False))
        classifier = pixel_classifier(pixels(real), real_labels.numpy())
        labels = torch.arange(self.config.num_classes).repeat_interleave(per_class)

        def accuracy(model: DrawTranslator) -> float:
            predicted = classifier.predict(pixels(model.draw(labels, seed=12345)))
            return float(np.mean(predicted == labels.numpy()))

        return {"class_accuracy": accuracy(self),
                "class_accuracy_untrained_baseline": accuracy(self.untrained())}


def draw_config(**overrides: Any) -> DrawConfig:
    """The starter config with `--set`-style string overrides."""
    return DrawTranslator.make_config("starter", {k: str(v) for k, v in overrides.items()})
