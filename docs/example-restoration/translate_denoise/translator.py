"""denoise: a paired restoration GAN that removes Gaussian noise from photos.

The input is a noisy photo, the target the clean one. The pairs are made on the fly from
single images: a random crop at native resolution, and fresh noise for every crop. A small
residual CNN (DnCNN-style: it predicts the noise, which is subtracted) is trained with an
L1 term and a PatchGAN, as pix2pix is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated

import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from translate import (
    Architecture,
    Batch,
    Losses,
    Networks,
    Param,
    PatchDiscriminator,
    Range,
    Source,
    Task,
    TrainConfig,
    Translator,
    discriminator_loss,
    generator_loss,
    in_chunks,
    pil_to_tensor,
    psnr,
    run_any_size,
    ssim,
    stack_items,
    tensor_to_pil,
    to_tensor,
)
from translate.data.crops import SquareCrops


# DnCNN, Zhang et al. 2017, https://arxiv.org/abs/1608.03981 (residual learning of the
# noise), here without batch norm so that a tile at inference sees what training saw.
class ResidualDenoiser(nn.Module):
    def __init__(self, *, width: int = 32, depth: int = 5) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, width, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU(inplace=True)]
        layers.append(nn.Conv2d(width, 3, 3, padding=1))
        self.body = nn.Sequential(*layers)

    def forward(self, noisy: torch.Tensor) -> torch.Tensor:
        # (N, 3, H, W) in [-1, 1] -> (N, 3, H, W): the noisy image less its predicted noise
        return noisy - self.body(noisy)


@dataclass(kw_only=True)
class DenoiseConfig(TrainConfig):
    width: Annotated[int, Range(1)] = 32  # channels of every hidden convolution
    image_size: Annotated[int, Range(8)] = 64  # side of the training crops, at native resolution
    noise_sigma: Annotated[float, Range(0, 255)] = 25.0  # std of the added noise, in 0-255 levels
    l1_weight: Annotated[float, Range(0)] = 100.0  # weight of the L1 term against the GAN term
    d_width: Annotated[int, Range(1)] = 32  # D channels in its first layer
    d_layers: Annotated[int, Range(1)] = 2  # PatchGAN depth


class NoisyCrops(SquareCrops):
    """Single images -> {"input": noisy crop, "image": clean crop}, both (3, S, S) in [-1, 1].

    The noise is drawn from the crop's own random state, so each pair is a pure function of
    (record, seed): resumed runs see the same pairs, and held-out item k always has the same
    noise.
    """

    def __init__(self, source: Source, *, side: int, train: bool, sigma: float) -> None:
        super().__init__(source, side=side, train=train)
        self.sigma = sigma

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, torch.Tensor]:
        clean, (rng, _) = self.crop(key if isinstance(key, tuple) else (key, key))
        noise = rng.normal(0.0, self.sigma, clean.shape)
        noisy = (clean + noise).clip(0, 255).round().astype("uint8")  # a real 8-bit photo
        return {"input": to_tensor(noisy), "image": to_tensor(clean)}


class Denoiser(Translator):
    name = "denoise"
    task = Task.PAIRED
    description = "Removes Gaussian noise from photos with a small residual CNN (an example)."
    Config = DenoiseConfig
    architectures = {
        "dncnn_s": Architecture(ResidualDenoiser, fixed={"depth": 5},
                                description="5 convolutions: trains on a CPU in minutes"),
        "dncnn": Architecture(ResidualDenoiser, fixed={"depth": 17},
                              description="the paper's 17 convolutions"),
    }
    # starter: 32-pixel crops and 16 channels, a few minutes on a laptop CPU.
    presets = {"starter": {"width": 16, "d_width": 16, "image_size": 32, "batch_size": 8,
                           "steps": 600, "sample_every": 200, "checkpoint_every": 200},
               "full": {"arch": "dncnn", "width": 64, "steps": 20000, "batch_size": 32}}
    datasets = ("photos", "folder", "hf")
    hub_repo = "gan-translate/denoise"
    output = "image"
    compare_in_demo = True
    grid_columns = 3  # noisy | denoised | clean
    inputs = (
        Param(name="image", kind="image", help="A noisy photo, any size."),
        Param(name="tile", kind="int", default=0, low=0, high=4096,
              help="Denoise in tiles of this side to save memory (0: the whole image)."),
    )

    config: DenoiseConfig

    # ---- networks and the adversarial step ----------------------------------------------

    def build_generators(self) -> dict[str, nn.Module]:
        return {"G": self.build_network()}

    def build_discriminators(self) -> dict[str, nn.Module]:
        c = self.config
        return {"D": PatchDiscriminator(in_channels=3, width=c.d_width, layers=c.d_layers,
                                        norm="instance")}

    def make_dataset(self, source: Source, *, train: bool) -> torch.utils.data.Dataset:
        return NoisyCrops(source, side=self.config.image_size, train=train,
                          sigma=self.config.noise_sigma)

    def generate(self, nets: Networks, batch: Batch) -> Batch:
        return {"image": nets.G(batch["input"])}

    def discriminator_loss(self, nets: Networks, batch: Batch, generated: Batch) -> Losses:
        real, fake = discriminator_loss("lsgan", nets.D(batch["image"]),
                                        nets.D(generated["image"]))
        return {"real": real, "fake": fake}

    def generator_loss(self, nets: Networks, batch: Batch, generated: Batch) -> Losses:
        return {"adversarial": generator_loss("lsgan", nets.D(generated["image"])),
                "l1": self.config.l1_weight * F.l1_loss(generated["image"], batch["image"])}

    # ---- seeing, using and judging it -----------------------------------------------------

    def sample_inputs(self, heldout: Batch, count: int) -> Batch:
        rows = count // self.grid_columns
        return {"input": heldout["input"][:rows], "target": heldout["image"][:rows]}

    def sample(self, generators: Networks, inputs: Batch) -> torch.Tensor:
        shown = [inputs["input"], generators.G(inputs["input"]), inputs["target"]]
        return torch.stack(shown, 1).flatten(0, 1)  # one row per crop

    def denoise(self, noisy: torch.Tensor, *, tile: int = 0) -> torch.Tensor:
        """(N, 3, H, W) in [-1, 1], any H and W -> the same, denoised, on the CPU."""
        return run_any_size(self.runner("G", channels=3), noisy, clamp=(-1, 1), tile=tile,
                            overlap=16, device=self.device).clamp(-1, 1)

    @torch.no_grad()
    def infer(self, *, image: Image.Image, tile: int = 0) -> list[Image.Image]:
        return tensor_to_pil(self.denoise(pil_to_tensor(image), tile=tile))

    @torch.no_grad()
    def evaluate(self, heldout: Source, train: Source) -> dict[str, float]:
        """PSNR and SSIM on held-out crops, next to the noisy input's (doing nothing)."""
        pairs = stack_items(self.make_dataset(heldout, train=False))
        noisy, clean = pairs["input"], pairs["image"]
        denoised = in_chunks(self.denoise, noisy, size=16)
        return {"psnr": psnr(denoised, clean), "psnr_baseline_noisy": psnr(noisy, clean),
                "ssim": ssim(denoised, clean), "ssim_baseline_noisy": ssim(noisy, clean),
                "heldout_crops": float(len(noisy))}

    def card_notes(self, metrics: Mapping[str, float]) -> str:
        text = f"Trained to remove Gaussian noise of sigma {self.config.noise_sigma:g} (0-255)."
        if "psnr" in metrics:
            text += (f" On held-out crops: PSNR {metrics['psnr']:.2f} dB against "
                     f"{metrics['psnr_baseline_noisy']:.2f} dB for the noisy input.")
        return text
