"""digits: draw a handwritten digit of the class you ask for."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from typing import Annotated, Any

import numpy as np
import torch
from PIL import Image

from translate import Batch, Losses, Networks, Param, Task, TrainConfig, Translator
from translate.config import Range
from translate.data.sources import Source
from translate.engine.samples import tensor_to_pil
from translate.errors import ConfigError, DataError
from translate.losses import AdversarialLoss, discriminator_loss, generator_loss
from translate.metrics import (
    mean_pairwise_distance,
    nearest_distances,
    pixel_classifier,
    pixels,
    stack,
)
from translate_digits.model import Discriminator, Generator

DIGITS = tuple(str(d) for d in range(10))
Size = Annotated[int, Range(1)]  # a count of channels or units: at least one


@dataclass(kw_only=True)
class DigitsConfig(TrainConfig):
    image_size: Annotated[int, Range(8)] = 16  # sklearn's 8x8 digits upsampled; 32 suits MNIST
    num_classes: int = 10  # labels 0..num_classes-1; the data must agree
    latent_dim: Size = 64  # size of the Gaussian noise vector
    width: Size = 64  # channels at full resolution; each coarser level doubles them (D caps at 4x)
    loss: AdversarialLoss = "hinge"  # hinge is the SNGAN/BigGAN default for projection D
    betas: tuple[float, float] = (0.0, 0.9)  # beta1=0 as in SNGAN: momentum destabilises D

    def __post_init__(self) -> None:
        super().__post_init__()
        levels = self.image_size // 4  # G doubles a 4x4 start once per level
        if self.image_size % 4 or levels & (levels - 1):
            raise ConfigError(f"image_size must be 4 times a power of two (8, 16, 32, ...), "
                              f"got {self.image_size}")


PRESETS: dict[str, dict[str, Any]] = {
    # Bundled sklearn digits on a 2-core CPU in under 5 minutes.
    "starter": {"steps": 2000, "lr_decay_fraction": 0.3, "width": 32, "sample_every": 500,
                "checkpoint_every": 500},
    # MNIST at 32x32 on a GPU: --data torchvision:mnist --preset full
    "full": {"image_size": 32, "width": 64, "steps": 40000, "lr_decay_fraction": 0.25,
             "batch_size": 128, "workers": 4, "sample_every": 2000, "checkpoint_every": 2000},
}


class DigitsTranslator(Translator):
    name = "digits"
    task = Task.CLASS_CONDITIONAL
    description = "Draws a handwritten digit of the requested class (0-9)."
    Config = DigitsConfig
    presets = PRESETS
    datasets = ("digits", "torchvision:mnist", "folder", "hf")
    hub_repo = "gan-translate/digits"
    image_mode = "L"
    grid_columns = 10
    inputs = (
        Param(name="label", kind="choice", choices=("all", *DIGITS), default="all",
              help="Digit to draw; 'all' cycles through 0-9."),
        Param(name="count", kind="int", default=16, low=1, high=256, help="How many images."),
        Param(name="seed", kind="seed", default=0, help="Same seed, same images."),
    )
    output = "images"
    starter_weights = files("translate_digits") / "starter"

    config: DigitsConfig

    def build_generators(self) -> dict[str, torch.nn.Module]:
        c = self.config
        return {"G": Generator(latent_dim=c.latent_dim, num_classes=c.num_classes, width=c.width,
                               image_size=c.image_size)}

    def build_discriminators(self) -> dict[str, torch.nn.Module]:
        c = self.config
        return {"D": Discriminator(num_classes=c.num_classes, width=c.width,
                                   image_size=c.image_size)}

    def make_dataset(self, source: Source, *, train: bool) -> torch.utils.data.Dataset:
        found = len(source.classes) if source.classes else 0
        if found != self.config.num_classes:
            raise DataError(f"{source.name}: digits needs labelled images of "
                            f"{self.config.num_classes} classes (class sub-folders or a labelled "
                            f"dataset); found {found or 'no labels'}")
        return super().make_dataset(source, train=train)

    # ---- training ---------------------------------------------------------------------------

    def generate(self, nets: Networks, batch: Batch) -> Batch:
        # Fakes are drawn for the same labels as the real batch: class balance comes for free.
        z = torch.randn(len(batch["label"]), self.config.latent_dim, device=batch["label"].device)
        return {"image": nets.G(z, batch["label"])}

    def discriminator_loss(self, nets: Networks, batch: Batch, generated: Batch) -> Losses:
        real = nets.D(batch["image"], batch["label"])
        fake = nets.D(generated["image"], batch["label"])
        real_term, fake_term = discriminator_loss(self.config.loss, real, fake)
        return {"real": real_term, "fake": fake_term}

    def generator_loss(self, nets: Networks, batch: Batch, generated: Batch) -> Losses:
        fake = nets.D(generated["image"], batch["label"])
        return {"adversarial": generator_loss(self.config.loss, fake)}

    def sample_inputs(self, heldout: Batch, count: int) -> Batch:
        rows = max(1, count // self.grid_columns)
        labels = torch.arange(self.grid_columns).repeat(rows) % self.config.num_classes
        return {"z": torch.randn(len(labels), self.config.latent_dim), "label": labels}

    def sample(self, generators: Networks, inputs: Batch) -> torch.Tensor:
        return generators.G(inputs["z"], inputs["label"])

    # ---- use ----------------------------------------------------------------------------------

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

    # ---- judging ------------------------------------------------------------------------------

    @torch.no_grad()
    def evaluate(self, heldout: Source, train: Source, *, per_class: int = 100) -> dict[str, float]:
        """Class accuracy by an independent classifier, diversity and memorisation.

        The classifier (an RBF-SVM on pixels) is trained on the held-out real digits only,
        never on training data or on anything the GAN saw. The baseline is the same
        architecture untrained: what the classifier says about a generator that learned nothing.
        """
        real, real_labels = stack(self.make_dataset(heldout, train=False))
        train_images, train_labels = stack(self.make_dataset(train, train=False))
        classifier = pixel_classifier(pixels(real), real_labels.numpy())
        labels = torch.arange(self.config.num_classes).repeat_interleave(per_class)
        fake = pixels(self.draw(labels, seed=12345))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            untrained = type(self)(self.config).to(self.device).eval()
        baseline = pixels(untrained.draw(labels, seed=12345))

        def accuracy(features: np.ndarray, wanted: torch.Tensor = labels) -> float:
            return float((classifier.predict(features) == wanted.numpy()).mean())

        real_pixels, train_pixels = pixels(real), pixels(train_images)
        diversity_ratio = [
            mean_pairwise_distance(fake[labels.numpy() == c])
            / mean_pairwise_distance(real_pixels[real_labels.numpy() == c])
            for c in range(self.config.num_classes)
        ]
        return {
            "class_accuracy": accuracy(fake),
            "class_accuracy_untrained_baseline": accuracy(baseline),
            # The classifier never saw the training digits: its accuracy on them is the ceiling.
            "class_accuracy_real_train_digits": accuracy(pixels(train_images), train_labels),
            "diversity_ratio_mean": float(np.mean(diversity_ratio)),
            "diversity_ratio_min_class": float(np.min(diversity_ratio)),
            "nearest_train_distance_generated": float(np.median(
                nearest_distances(fake, train_pixels))),
            "nearest_train_distance_heldout_real": float(np.median(
                nearest_distances(real_pixels, train_pixels))),
        }
