"""doodles: an unconditional GAN with two small MLPs, trained on the bundled digits.

The smallest complete gan-translate translator. docs/writing-a-plugin.md walks through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import numpy as np
import torch
from PIL import Image
from torch import nn

from translate import (
    Architecture,
    Batch,
    Losses,
    Networks,
    Param,
    Range,
    Source,
    Task,
    TrainConfig,
    Translator,
    discriminator_loss,
    generator_loss,
    mean_pairwise_distance,
    stack_items,
    tensor_to_pil,
    unit,
)


class DoodleGenerator(nn.Module):
    """Gaussian noise -> a (1, image_size, image_size) doodle, through `layers` hidden layers."""

    def __init__(self, *, latent_dim: int = 16, hidden: int = 128, image_size: int = 8,
                 layers: int = 1) -> None:
        super().__init__()
        blocks: list[nn.Module] = [nn.Linear(latent_dim, hidden), nn.ReLU()]
        for _ in range(layers - 1):
            blocks += [nn.Linear(hidden, hidden), nn.ReLU()]
        self.model = nn.Sequential(*blocks, nn.Linear(hidden, image_size**2), nn.Tanh(),
                                   nn.Unflatten(1, (1, image_size, image_size)))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        # (N, latent_dim) -> (N, 1, image_size, image_size) in [-1, 1]
        return self.model(z)


@dataclass(kw_only=True)
class DoodlesConfig(TrainConfig):
    image_size: Annotated[int, Range(4)] = 8  # side of the doodles; the digits are 8x8
    latent_dim: Annotated[int, Range(1)] = 16  # size of the Gaussian noise vector
    hidden: Annotated[int, Range(1)] = 128  # width of both MLPs


class Doodles(Translator):
    name = "doodles"
    task = Task.UNCONDITIONAL
    description = "Draws digit-like doodles with two tiny MLPs (the example plugin)."
    Config = DoodlesConfig
    architectures = {
        "mlp": Architecture(DoodleGenerator, fixed={"layers": 1},
                            description="one hidden layer"),
        "mlp_deep": Architecture(DoodleGenerator, fixed={"layers": 3},
                                 description="three hidden layers"),
    }
    presets = {"starter": {"steps": 500}, "full": {"steps": 5000, "hidden": 512}}
    datasets = ("digits", "folder")
    hub_repo = "gan-translate/doodles"
    image_mode = "L"
    inputs = (
        Param(name="count", kind="int", default=8, low=1, high=64, help="How many doodles."),
        Param(name="seed", kind="seed", default=0, help="Same seed, same doodles."),
    )

    config: DoodlesConfig

    def build_generators(self) -> dict[str, nn.Module]:
        return {"G": self.build_network()}

    def build_discriminators(self) -> dict[str, nn.Module]:
        c = self.config
        return {"D": nn.Sequential(
            nn.Flatten(), nn.Linear(c.image_size**2, c.hidden), nn.LeakyReLU(0.2),
            nn.Linear(c.hidden, 1))}

    def generate(self, nets: Networks, batch: Batch) -> Batch:
        z = torch.randn(len(batch["image"]), self.config.latent_dim, device=batch["image"].device)
        return {"image": nets.G(z)}

    def discriminator_loss(self, nets: Networks, batch: Batch, generated: Batch) -> Losses:
        real, fake = discriminator_loss("nonsaturating", nets.D(batch["image"]),
                                        nets.D(generated["image"]))
        return {"real": real, "fake": fake}

    def generator_loss(self, nets: Networks, batch: Batch, generated: Batch) -> Losses:
        return {"adversarial": generator_loss("nonsaturating", nets.D(generated["image"]))}

    def sample_inputs(self, heldout: Batch, count: int) -> Batch:
        return {"z": torch.randn(count, self.config.latent_dim)}

    def sample(self, generators: Networks, inputs: Batch) -> torch.Tensor:
        return generators.G(inputs["z"])

    @torch.no_grad()
    def infer(self, *, count: int = 8, seed: int = 0) -> list[Image.Image]:
        noise = torch.Generator().manual_seed(seed)  # on the CPU, so seeds give the same doodles
        z = torch.randn(count, self.config.latent_dim, generator=noise)
        return tensor_to_pil(self.generators.G(z.to(self.device)))

    @torch.no_grad()
    def evaluate(self, heldout: Source, train: Source) -> dict[str, float]:
        real = stack_items(self.make_dataset(heldout, train=False))["image"]
        fake = self.generators.G(torch.randn(len(real), self.config.latent_dim,
                                             device=self.device))
        return {"diversity": mean_pairwise_distance(features(fake)),
                "diversity_baseline_real": mean_pairwise_distance(features(real))}


def features(images: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] -> (N, C*H*W) float64 pixels in [0, 1], for distances."""
    return unit(images).clamp(0, 1).flatten(1).double().cpu().numpy()
