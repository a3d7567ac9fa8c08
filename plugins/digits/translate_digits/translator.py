"""digits: draw a handwritten digit of the class you ask for, with a modern or a textbook GAN."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from typing import Annotated, Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from translate import Architecture, Batch, Losses, Networks, Param, Task, TrainConfig, Translator
from translate.config import AT_LEAST_1, NOT_NEGATIVE, Range
from translate.data.source import Source
from translate.data.tensors import tensor_to_pil
from translate.engine.watch import discriminator_accuracy
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
from translate_digits.textbook import TextbookDiscriminator, TextbookGenerator

DIGITS = tuple(str(d) for d in range(10))
Size = Annotated[int, Range(1)]  # a count of channels or units: at least one


@dataclass(kw_only=True)
class DigitsConfig(TrainConfig):
    image_size: Annotated[int, Range(8)] = 16  # sklearn's 8x8 digits resized; MNIST is 28
    num_classes: Annotated[int, NOT_NEGATIVE] = 10  # labels 0..num_classes-1; 0 = unconditional
    latent_dim: Annotated[int, AT_LEAST_1] = 64  # size of the Gaussian noise vector
    width: Annotated[int, AT_LEAST_1] = 64  # G channels (sngan: at full size, doubling per level)
    d_width: Annotated[int, AT_LEAST_1] = 64  # D channels (sngan: first level, doubling, cap 4x)
    loss: AdversarialLoss = "hinge"  # hinge for sngan; nonsaturating = BCE, the textbook's
    betas: tuple[float, float] = (0.0, 0.9)  # beta1=0 as in SNGAN: momentum destabilises D

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.arch in ("", "sngan"):
            if self.num_classes < 1:
                raise ConfigError("arch=sngan is class-conditional: num_classes must be at "
                                  "least 1 (num_classes=0 needs arch=textbook)")
            levels, rest = divmod(self.image_size, 4)
            if rest or levels < 2 or levels & (levels - 1):
                raise ConfigError(f"arch=sngan needs image_size 4 times a power of two "
                                  f"(8, 16, 32, ...), got {self.image_size}")
        elif self.image_size % 4:
            raise ConfigError(f"arch=textbook needs image_size a multiple of 4, got "
                              f"{self.image_size}")


# The textbook recipe (Radford et al. 2016): batch 128, Adam lr 2e-4 with beta1 = 0.5, BCE,
# no EMA, no LR decay; 28x28 as in MNIST, so the bundled 8x8 digits are resized to 28x28.
TEXTBOOK = {"arch": "textbook", "image_size": 28, "latent_dim": 100, "width": 128,
            "d_width": 64, "loss": "nonsaturating", "batch_size": 128, "lr_g": 2e-4,
            "lr_d": 2e-4, "betas": (0.5, 0.999), "ema_decay": 0.0, "lr_decay_fraction": 0.0,
            "steps": 2000, "sample_every": 100, "checkpoint_every": 500}

PRESETS: dict[str, dict[str, Any]] = {
    # Bundled sklearn digits on a 2-core CPU in under 5 minutes.
    "starter": {"steps": 2000, "lr_decay_fraction": 0.3, "width": 32, "d_width": 32,
                "sample_every": 500, "checkpoint_every": 500},
    # MNIST at 32x32 on a GPU: --data torchvision:mnist --preset full
    "full": {"image_size": 32, "width": 64, "d_width": 64, "steps": 40000,
             "lr_decay_fraction": 0.25, "batch_size": 128, "workers": 4, "sample_every": 2000,
             "checkpoint_every": 2000},
    # The DCGAN of every GAN tutorial, unconditional (any digit; --label has no say).
    "textbook": {**TEXTBOOK, "num_classes": 0},
    # The same with the label fed to G and D (Mirza & Osindero 2014).
    "textbook-conditional": {**TEXTBOOK, "num_classes": 10},
}


def bce_loss(logits: torch.Tensor, label: float) -> torch.Tensor:
    """Binary cross-entropy of D's logits against one label for the whole batch (1 = real)."""
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, label))


class DigitsTranslator(Translator):
    name = "digits"
    task = Task.CLASS_CONDITIONAL
    description = "Draws a handwritten digit of the requested class (0-9)."
    Config = DigitsConfig
    presets = PRESETS
    architectures = {
        "sngan": Architecture(Generator, fixed={"channels": 1}, description=(
            "residual G with conditional batch norm, spectrally normalised projection D, "
            "hinge loss (Miyato et al. 2018); the starter")),
        "textbook": Architecture(TextbookGenerator, fixed={"channels": 1}, description=(
            "the tutorials' DCGAN: dense 6272 -> 128x7x7 -> transposed convs -> 28x28, BCE "
            "(Radford et al. 2016); num_classes=0 unconditional, else Mirza & Osindero 2014")),
    }
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
    examples = files("translate_digits") / "examples"  # settings only: digits takes no image

    config: DigitsConfig

    @classmethod
    def inputs_for(cls, config: TrainConfig) -> tuple[Param, ...]:
        # An unconditional model cannot be asked for a class: the demo offers no label.
        return tuple(p for p in cls.inputs if p.name != "label" or config.num_classes)

    @classmethod
    def upgrade_v1(cls, values: dict[str, Any]) -> dict[str, Any]:
        # Before d_width, D took G's width.
        return {"d_width": values.get("width", 64), **values}

    @property
    def conditional(self) -> bool:
        return self.config.num_classes > 0

    def build_generators(self) -> dict[str, torch.nn.Module]:
        return {"G": self.build_network()}

    def build_discriminators(self) -> dict[str, torch.nn.Module]:
        c = self.config
        critic = TextbookDiscriminator if c.arch == "textbook" else Discriminator
        return {"D": critic(num_classes=c.num_classes, width=c.d_width, image_size=c.image_size)}

    def make_dataset(self, source: Source, *, train: bool) -> torch.utils.data.Dataset:
        found = len(source.classes) if source.classes else 0
        if self.conditional and found != self.config.num_classes:
            raise DataError(f"{source.name}: digits needs labelled images of "
                            f"{self.config.num_classes} classes (class sub-folders or a labelled "
                            f"dataset); found {found or 'no labels'}")
        return super().make_dataset(source, train=train)

    # ---- training ---------------------------------------------------------------------------

    def generate(self, nets: Networks, batch: Batch) -> Batch:
        # Fakes are drawn for the same labels as the real batch: class balance comes for free.
        z = torch.randn(len(batch["image"]), self.config.latent_dim, device=batch["image"].device)
        return {"image": nets.G(z, batch.get("label"))}

    def discriminator_loss(self, nets: Networks, batch: Batch, generated: Batch) -> Losses:
        # The engine hands over G's images detached: D's step leaves G's weights alone.
        labels = batch.get("label")
        real = nets.D(batch["image"], labels)
        fake = nets.D(generated["image"], labels)
        if self.config.loss == "nonsaturating":
            # Goodfellow et al. 2014: D is a binary classifier, real images 1, fakes 0.
            real_term, fake_term = bce_loss(real, 1.0), bce_loss(fake, 0.0)
        else:
            real_term, fake_term = discriminator_loss(self.config.loss, real, fake)
        return {"real": real_term, "fake": fake_term, **discriminator_accuracy(real, fake)}

    def generator_loss(self, nets: Networks, batch: Batch, generated: Batch) -> Losses:
        fake = nets.D(generated["image"], batch.get("label"))
        if self.config.loss == "nonsaturating":
            # Goodfellow et al. 2014's non-saturating G loss: the labels flipped, fakes = 1.
            return {"adversarial": bce_loss(fake, 1.0)}
        return {"adversarial": generator_loss(self.config.loss, fake)}

    def sample_inputs(self, heldout: Batch, count: int) -> Batch:
        rows = max(1, count // self.grid_columns)
        labels = torch.arange(self.grid_columns).repeat(rows) % max(1, self.config.num_classes)
        return {"z": torch.randn(len(labels), self.config.latent_dim), "label": labels}

    def sample(self, generators: Networks, inputs: Batch) -> torch.Tensor:
        return generators.G(inputs["z"], inputs["label"])

    # ---- use ----------------------------------------------------------------------------------

    @torch.no_grad()
    def draw(self, labels: torch.Tensor, seed: int) -> torch.Tensor:
        """Images (N, 1, H, W) in [-1, 1]; the noise is drawn on the CPU so seeds are portable.

        An unconditional model ignores the labels and draws len(labels) digits of its choice.
        """
        noise = torch.randn(len(labels), self.config.latent_dim,
                            generator=torch.Generator().manual_seed(seed))
        return self.generators.G(noise.to(self.device), labels.to(self.device))

    def infer(self, *, label: str = "all", count: int = 16, seed: int = 0) -> list[Image.Image]:
        if label != "all" and not self.conditional:
            raise ConfigError(f"these weights are unconditional (num_classes=0): they draw "
                              f"digits of their own choosing and cannot be asked for a {label}; "
                              "leave the label at 'all'")
        labels = (torch.arange(count) % max(1, self.config.num_classes) if label == "all"
                  else torch.full((count,), int(label)))
        return tensor_to_pil(self.draw(labels, seed))

    # ---- judging ------------------------------------------------------------------------------

    @torch.no_grad()
    def evaluate(self, heldout: Source, train: Source, *, per_class: int = 100) -> dict[str, float]:
        """Class accuracy by an independent classifier, diversity and memorisation.

        The classifier (an RBF-SVM on pixels) is trained on the held-out real digits only,
        never on training data or on anything the GAN saw. The baseline is the same
        architecture untrained: what the classifier says about a generator that learned nothing.

        An unconditional model is asked for no class, so each generated digit's class is the
        one the classifier names, and it counts as right when a second judge, its nearest
        held-out real digit, names the same class (real digits score about what the SVM
        scores on them: 0.98 on the bundled ones). Diversity is then measured within each
        named class; a class the model never draws has none.
        """
        real, real_labels = stack(self.make_dataset(heldout, train=False))
        train_images, train_labels = stack(self.make_dataset(train, train=False))
        if real_labels is None or train_labels is None:
            raise DataError(f"{heldout.name}: evaluating digits needs labelled digits")
        classes = int(real_labels.max()) + 1
        classifier = pixel_classifier(pixels(real), real_labels.numpy())
        labels = torch.arange(max(classes, self.config.num_classes)).repeat_interleave(per_class)
        fake = pixels(self.draw(labels, seed=12345))
        baseline = pixels(self.untrained(seed=0).draw(labels, seed=12345))
        real_pixels, train_pixels = pixels(real), pixels(train_images)
        if self.conditional:
            def judged(features: np.ndarray, wanted: torch.Tensor = labels) -> np.ndarray:
                return classifier.predict(features) == wanted.numpy()

            fake_classes = labels.numpy()
        else:
            from sklearn.neighbors import KNeighborsClassifier  # importing stays light

            second = KNeighborsClassifier(n_neighbors=1).fit(real_pixels, real_labels.numpy())

            def judged(features: np.ndarray, wanted: torch.Tensor | None = None) -> np.ndarray:
                return classifier.predict(features) == second.predict(features)

            fake_classes = classifier.predict(fake)

        diversity_ratio = [
            mean_pairwise_distance(fake[fake_classes == c])
            / mean_pairwise_distance(real_pixels[real_labels.numpy() == c])
            for c in range(classes)
        ]
        return {
            "class_accuracy": float(judged(fake).mean()),
            "class_accuracy_untrained_baseline": float(judged(baseline).mean()),
            # The classifier never saw the training digits: its accuracy on them is the ceiling.
            "class_accuracy_real_train_digits": float(judged(train_pixels, train_labels).mean()),
            "diversity_ratio_mean": float(np.mean(diversity_ratio)),
            "diversity_ratio_min_class": float(np.min(diversity_ratio)),
            "nearest_train_distance_generated": float(np.median(
                nearest_distances(fake, train_pixels))),
            "nearest_train_distance_heldout_real": float(np.median(
                nearest_distances(real_pixels, train_pixels))),
        }

