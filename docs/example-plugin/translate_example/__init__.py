"""doodles: an unconditional GAN with two small MLPs, trained on the bundled digits.

The smallest complete gan-translate plugin. docs/writing-a-plugin.md walks through it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from translate import Networks, Param, Task, TrainConfig, Translator, hookimpl
from translate.engine.samples import tensor_to_pil
from translate.losses import discriminator_loss, generator_loss
from translate.metrics import mean_pairwise_distance, pixels, stack


@dataclass(kw_only=True)
class DoodlesConfig(TrainConfig):
    image_size: int = 8  # the bundled digits are 8x8; the shared pipeline resizes to this
    latent_dim: int = 16  # size of the Gaussian noise vector
    hidden: int = 128  # width of both MLPs


class Doodles(Translator):
    name = "doodles"
    task = Task.UNCONDITIONAL
    description = "Draws digit-like doodles with two tiny MLPs (the example plugin)."
    Config = DoodlesConfig
    presets = {"starter": {"steps": 500}, "full": {"steps": 5000, "hidden": 512}}
    datasets = ("digits", "folder")
    hub_repo = "gan-translate/doodles"
    image_mode = "L"
    inputs = (
        Param(name="count", kind="int", default=8, low=1, high=64, help="How many doodles."),
        Param(name="seed", kind="seed", default=0, help="Same seed, same doodles."),
    )

    def build_generators(self):
        c = self.config
        return {"G": nn.Sequential(
            nn.Linear(c.latent_dim, c.hidden), nn.ReLU(),
            nn.Linear(c.hidden, c.image_size**2), nn.Tanh(),
            nn.Unflatten(1, (1, c.image_size, c.image_size)))}

    def build_discriminators(self):
        c = self.config
        return {"D": nn.Sequential(
            nn.Flatten(), nn.Linear(c.image_size**2, c.hidden), nn.LeakyReLU(0.2),
            nn.Linear(c.hidden, 1))}

    def generate(self, nets: Networks, batch):
        z = torch.randn(len(batch["image"]), self.config.latent_dim, device=batch["image"].device)
        return {"image": nets.G(z)}

    def discriminator_loss(self, nets: Networks, batch, generated):
        real, fake = discriminator_loss("nonsaturating", nets.D(batch["image"]),
                                        nets.D(generated["image"]))
        return {"real": real, "fake": fake}

    def generator_loss(self, nets: Networks, batch, generated):
        return {"adversarial": generator_loss("nonsaturating", nets.D(generated["image"]))}

    def sample_inputs(self, heldout, count):
        return {"z": torch.randn(count, self.config.latent_dim)}

    def sample(self, generators: Networks, inputs):
        return generators.G(inputs["z"])

    def infer(self, *, count: int = 8, seed: int = 0):
        noise = torch.Generator().manual_seed(seed)  # on the CPU, so seeds give the same doodles
        z = torch.randn(count, self.config.latent_dim, generator=noise)
        return tensor_to_pil(self.generators.G(z.to(self.device)))

    def evaluate(self, heldout, train):
        real, _ = stack(self.make_dataset(heldout, train=False))
        fake = pixels(self.generators.G(torch.randn(len(real), self.config.latent_dim,
                                                    device=self.device)))
        return {"diversity": mean_pairwise_distance(fake),
                "diversity_real": mean_pairwise_distance(pixels(real))}


@hookimpl
def register_translators(register):
    register(Doodles)
