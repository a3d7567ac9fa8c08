"""Test-only translators: tiny but complete, for driving image inputs and masks.

The generator is a 1x1 convolution that starts exactly at its answer (minus identity for
`invert`, identity for `fill`), so every pixel of an input path can be checked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from translate import Batch, Losses, Networks, Param, Task, TrainConfig, Translator
from translate.data.pipeline import to_tensor
from translate.engine.samples import tensor_to_pil
from translate.losses import discriminator_loss, generator_loss
from translate.metrics import stack
from translate.progress import report


@dataclass(kw_only=True)
class TinyConfig(TrainConfig):
    channels: int = 3  # image channels the 1x1 generator maps


class _Tiny(Translator):
    """A translator whose generator is a 1x1 convolution learning to map x to -x (inversion).

    Every abstract method is implemented for real (a tiny paired GAN with an L1 term), so the
    class passes `validate()` and behaves like a plugin's translator, only much smaller.
    """

    task = Task.PAIRED
    Config = TinyConfig
    presets = {"starter": {"steps": 10}, "full": {"steps": 100}}
    datasets = ("folder",)
    image_mode = "RGB"
    output = "image"

    config: TinyConfig

    def build_generators(self) -> dict[str, nn.Module]:
        g = nn.Conv2d(self.config.channels, self.config.channels, 1)
        with torch.no_grad():  # start exactly at the answer: minus identity, no bias
            g.weight.copy_(-torch.eye(self.config.channels)[:, :, None, None])
            g.bias.zero_()
        return {"G": g}

    def build_discriminators(self) -> dict[str, nn.Module]:
        return {"D": nn.Sequential(nn.Conv2d(self.config.channels, 8, 3, padding=1),
                                   nn.LeakyReLU(0.2), nn.Conv2d(8, 1, 1))}

    def generate(self, nets: Networks, batch: Batch) -> Batch:
        return {"image": nets.G(batch["image"])}

    def discriminator_loss(self, nets: Networks, batch: Batch, generated: Batch) -> Losses:
        real, fake = discriminator_loss("hinge", nets.D(-batch["image"]),
                                        nets.D(generated["image"]))
        return {"real": real, "fake": fake}

    def generator_loss(self, nets: Networks, batch: Batch, generated: Batch) -> Losses:
        return {"adversarial": generator_loss("hinge", nets.D(generated["image"])),
                "l1": F.l1_loss(generated["image"], -batch["image"])}

    def sample_inputs(self, heldout: Batch, count: int) -> Batch:
        return {"image": heldout["image"][:count]}

    def sample(self, generators: Networks, inputs: Batch) -> torch.Tensor:
        return generators.G(inputs["image"]).clamp(-1, 1)

    @torch.no_grad()
    def evaluate(self, heldout: Any, train: Any) -> dict[str, float]:
        images, _ = stack(self.make_dataset(heldout, train=False))
        inverted = self.generators.G(images.to(self.device)).cpu()
        return {"l1": float((inverted - -images).abs().mean()),
                "l1_identity_baseline": float((images - -images).abs().mean())}

    @torch.no_grad()
    def run_generator(self, image: Image.Image) -> Image.Image:
        x = to_tensor(np.asarray(image))[None].to(self.device)
        return tensor_to_pil(self.runner("G", channels=self.config.channels)(x))[0]


class InvertTranslator(_Tiny):
    name = "invert"
    description = "Inverts the colours of an image (test-only)."
    hub_repo = "test-only/invert"
    inputs = (Param(name="image", kind="image", help="Picture to invert."),)

    def infer(self, *, image: Image.Image) -> list[Image.Image]:
        return [self.run_generator(image)]


class FillTranslator(_Tiny):
    name = "fill"
    task = Task.INPAINTING
    description = "Paints the masked region white (test-only)."
    hub_repo = "test-only/fill"
    inputs = (Param(name="image", kind="image", help="Picture to fill."),
              Param(name="mask", kind="mask", help="White where to fill."))

    def build_generators(self) -> dict[str, nn.Module]:
        g = nn.Conv2d(self.config.channels, self.config.channels, 1)
        with torch.no_grad():  # identity: the unmasked pixels come back as they went in
            g.weight.copy_(torch.eye(self.config.channels)[:, :, None, None])
            g.bias.zero_()
        return {"G": g}

    def infer(self, *, image: Image.Image, mask: Image.Image) -> list[Image.Image]:
        kept = self.run_generator(image)
        return [Image.composite(Image.new("RGB", kept.size, "white"), kept, mask)]


class UnweightedTranslator(InvertTranslator):
    name = "unweighted"
    description = "Has no weights anywhere (test-only)."
    hub_repo = "test-only/unweighted"
    starter_weights = None


# ---- a test-only "foreign" checkpoint layout, for pull/detect/import tests ------------------
# Files of it hold one 1x1 convolution under another project's names: conv.weight, conv.bias.

FOREIGN_KEYS = ("conv.weight", "conv.bias")


def _foreign_detect(state: dict[str, torch.Tensor], **_: Any) -> dict[str, Any] | None:
    if set(state) != set(FOREIGN_KEYS) or state["conv.weight"].ndim != 4:
        return None
    return {"channels": int(state["conv.weight"].shape[0])}


def _foreign_filter(state: dict[str, torch.Tensor], config: Any, role: str
                    ) -> dict[str, torch.Tensor]:
    return {"G.weight": state["conv.weight"], "G.bias": state["conv.bias"]}


def _foreign_closest(state: dict[str, torch.Tensor]) -> tuple[float, str]:
    missing = [key for key in FOREIGN_KEYS if key not in state]
    share = 1 - len(missing) / len(FOREIGN_KEYS)
    return share, (f"invert's 1x1-conv layout, which has {missing[0]!r}" if missing
                   else "invert's 1x1-conv layout, with other shapes")


def foreign_importer():
    """An Importer for the test-only layout, detect + filter like a plugin's."""
    from translate.hub.importers import Importer

    return Importer(translator="invert", description="test-only conv.weight/conv.bias files",
                    detect=_foreign_detect, filter=_foreign_filter, closest=_foreign_closest,
                    preset="starter")


def foreign_state(channels: int = 3, seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return {"conv.weight": torch.randn(channels, channels, 1, 1, generator=generator),
            "conv.bias": torch.randn(channels, generator=generator)}


class SlowTranslator(_Tiny):
    """Takes `steps` x 50 ms, reporting each step to `translate.progress` (test-only)."""

    name = "slow"
    task = Task.UNCONDITIONAL
    description = "Draws a white square, slowly (test-only)."
    hub_repo = "test-only/slow"
    output = "images"
    inputs = (Param(name="steps", kind="int", default=5, low=1, high=1000,
                    help="How many 50 ms steps to take."),)

    def infer(self, *, steps: int = 5) -> list[Image.Image]:
        for done in range(steps):
            report(done, steps)
            time.sleep(0.05)
        report(steps, steps)
        return [Image.new("L", (16, 16), 255)]


class CappedTranslator(InvertTranslator):
    """Invert, refusing demo requests that would make more than 256x256 pixels (test-only)."""

    name = "capped"
    description = "Inverts images of up to 256x256 pixels (test-only)."
    hub_repo = "test-only/capped"
    max_output_pixels = 256 * 256


def _invert_export_inputs(self: Any, name: str) -> list[tuple[torch.Tensor, ...]]:
    from translate.inference.export import image_inputs

    return image_inputs(self.config.channels)


InvertTranslator.export_inputs = _invert_export_inputs  # the 1x1 conv exports as it is
