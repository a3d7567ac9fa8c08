"""inpaint: fill the holes of a photo (AOT-GAN or LaMa), keeping every known pixel as it was."""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from typing import Annotated, Any

import cv2
import numpy as np
import torch
from PIL import Image

from translate import Architecture, Batch, Losses, Networks, Param, Task, TrainConfig, Translator
from translate.config import AT_LEAST_1, FRACTION, NOT_NEGATIVE
from translate.data.holes import MaskFiles, MaskKind, area_bounds, draw_mask
from translate.data.masks import hole_array, hole_mask
from translate.data.source import Source
from translate.data.tensors import signed, tensor_to_uint8, to_tensor, unit
from translate.errors import ConfigError, ImageError
from translate.evaluation import stack_items
from translate.inference.anysize import run_any_size
from translate.losses import AdversarialLoss, discriminator_loss, generator_loss
from translate.losses.perceptual import VGGPerceptualLoss, vgg_available, vgg_weights_path
from translate_inpaint.data import GridCrops, MaskFn, RandomCrops
from translate_inpaint.evaluation import compare_with_telea
from translate_inpaint.lama import (
    LamaGenerator,
    NLayerDiscriminator,
    inpaint,
    least_side,
)
from translate_inpaint.losses import (
    feature_matching_loss,
    hole_psnr_loss,
    masked_fake_loss,
    r1_penalty,
)
from translate_inpaint.model import Generator, SNPatchDiscriminator

log = logging.getLogger(__name__)


# Field types with their bounds (translate.config.Range).
Count = Annotated[int, AT_LEAST_1]
Size = Annotated[int, NOT_NEGATIVE]
Weight = Annotated[float, NOT_NEGATIVE]
Share = Annotated[float, FRACTION]


@dataclass(kw_only=True)
class InpaintConfig(TrainConfig):
    image_size: Count = 64  # side of the square training and held-out crops
    # The generator: aot and lama share width, blocks and downsamples.
    width: Count = 32  # generator channels at full resolution, doubled per downsampling
    blocks: Size = 6  # blocks at the lowest resolution (AOT-GAN: 8, big-lama: 18)
    downsamples: Size = 2  # stride-2 encoder steps; inputs are padded to 2**downsamples
    rates: tuple[int, ...] = (1, 2, 4, 8)  # aot: dilation rates of each AOT block's branches
    refine: bool = True  # aot: learn a correction to a weight-free harmonic fill (off: AOT-GAN)
    smoothing: Size = 100  # aot: Jacobi sweeps of the harmonic coarse fill (0: pyramid fill)
    contrast_window: Size = 0  # aot: scale the correction by local contrast in this odd window
    global_ratio: Share = 0.75  # lama: share of each FFC block's channels that is global
    max_width: Count = 1024  # lama: the cap on the doubling generator width
    # The discriminator: aot's SN-PatchGAN sees image + mask, lama's pix2pixHD D the image.
    d_width: Count = 32  # discriminator channels of its first layer
    d_layers: Count = 4  # discriminator depth: stride-2 layers (AOT-GAN full: 6, LaMa: 4)
    loss: AdversarialLoss = "hinge"  # GAN loss: aot hinge; lama nonsaturating, known pixels real
    adversarial_weight: Weight = 0.01  # weight of the GAN term (AOT-GAN 0.01, LaMa 10)
    l1_hole_weight: Weight = 6.0  # L1 inside the hole (Liu et al. 2018 weight the hole 6x)
    l1_valid_weight: Weight = 1.0  # L1 on known pixels (LaMa: 10, its only L1 term)
    psnr_hole_weight: Weight = 0.0  # minus each image's hole PSNR (dB): flat holes count too
    perceptual_weight: Weight = 0.1  # VGG16 feature loss; off when its weights are not on disk
    fm_weight: Weight = 0.0  # lama: feature matching on D's activations (LaMa: 100)
    r1_weight: Weight = 0.0  # R1 gradient penalty on real images (LaMa: 0.001)
    mask_kind: MaskKind = "mixed"  # freeform strokes, rectangles, mixed, or files (mask_dir)
    hole_area: tuple[float, float] = (0.05, 0.5)  # share of the image in the hole, drawn uniformly
    rectangle_share: Share = 0.3  # with mask_kind=mixed, the chance of rectangles over strokes
    mask_dir: str = ""  # folder of mask images (non-zero = hole), for mask_kind=files
    eval_count: Count = 64  # held-out crops measured by evaluate(), spread over held-out images
    infer_max_side: Count = 256  # longer side of the region around a hole the network sees

    def __post_init__(self) -> None:
        super().__post_init__()
        multiple = 2**self.downsamples
        if self.arch == "lama":
            if self.downsamples < 1 or self.image_size % multiple \
                    or self.image_size < least_side(self.downsamples):
                raise ConfigError(f"arch=lama needs downsamples >= 1 and image_size a multiple "
                                  f"of {multiple}, at least {least_side(self.downsamples)}")
        else:
            if self.image_size % multiple or self.image_size < 4 * multiple:
                raise ConfigError(f"image_size must be a multiple of {multiple} and at least "
                                  f"{4 * multiple}, got {self.image_size}")
            if self.image_size // multiple <= max(self.rates):
                raise ConfigError(f"image_size / 2**downsamples must exceed the largest rate "
                                  f"{max(self.rates)}, got {self.image_size // multiple}")
            if self.width * multiple % len(self.rates):
                raise ConfigError(f"width * 2**downsamples must divide into {len(self.rates)} "
                                  "rates")
            if self.fm_weight > 0:
                raise ConfigError("fm_weight needs arch=lama: the SN-PatchGAN gives no features")
        try:
            area_bounds(self.hole_area)
        except ValueError as error:
            raise ConfigError(f"hole_area: {error}") from None
        if self.contrast_window % 2 == 0 and self.contrast_window:
            raise ConfigError("contrast_window must be 0 (off) or an odd window side, got "
                              f"{self.contrast_window}")
        if self.mask_kind == "files" and not self.mask_dir:
            raise ConfigError("mask_kind=files needs mask_dir=FOLDER")
        if self.infer_max_side < self.image_size:
            raise ConfigError("infer_max_side must be at least image_size")


# Johnson et al. 2016's VGG16 feature maps (https://arxiv.org/abs/1603.08155), equally weighted.
PERCEPTUAL_LAYERS = {"relu1_2": 1 / 3, "relu2_2": 1 / 3, "relu3_3": 1 / 3}

PRESETS: dict[str, dict[str, Any]] = {
    # The bundled photos on one CPU thread in about 12 minutes, at 64x64. Flat holes (sky)
    # decide mean PSNR: the correction is scaled by local contrast and the per-image PSNR
    # term makes their last grey level count, which lets G learn at twice AOT-GAN's rate.
    "starter": {"steps": 2000, "batch_size": 8, "width": 24, "downsamples": 1, "blocks": 6,
                "lr_g": 2e-4, "lr_d": 1e-4, "lr_decay_fraction": 0.5, "psnr_hole_weight": 0.05,
                "contrast_window": 9, "sample_every": 250, "checkpoint_every": 250},
    # 256x256 on a GPU, AOT-GAN's size: --data FOLDER_OR_hf:NAME --preset full
    "full": {"image_size": 256, "width": 64, "blocks": 8, "d_width": 64, "d_layers": 6,
             "steps": 200000, "batch_size": 8, "lr_g": 1e-4, "lr_d": 1e-4,
             "lr_decay_fraction": 0.1, "infer_max_side": 1024, "eval_count": 256,
             "workers": 4, "sample_every": 2000, "checkpoint_every": 2000},
}

# What `arch=lama` means under any preset (a preset's generator keys are AOT's): big-lama's
# generator, and LaMa's discriminator and loss weights (configs/training/big-lama.yaml) less
# ResNetPL, whose segmentation network is not available here; L1 on the hole stays off as
# in LaMa, which leaves the hole to the adversarial and feature-matching terms (LaMa's own
# "no_segmpl" ablation). G's rate is a tenth of LaMa's 1e-3, for fine-tuning trained weights;
# LaMa's Adam betas; LaMa fills whole photos, so the region is shrunk only beyond 1024.
ARCH_DEFAULTS: dict[str, dict[str, Any]] = {
    "aot": {},
    "lama": {"width": 64, "downsamples": 3, "blocks": 18, "global_ratio": 0.75,
             "max_width": 1024, "d_width": 64, "d_layers": 4, "loss": "nonsaturating",
             "adversarial_weight": 10.0, "r1_weight": 0.001, "fm_weight": 100.0,
             "l1_valid_weight": 10.0, "l1_hole_weight": 0.0, "psnr_hole_weight": 0.0,
             "lr_g": 1e-4, "lr_d": 1e-4, "betas": (0.9, 0.999), "infer_max_side": 1024},
}


class InpaintTranslator(Translator):
    name = "inpaint"
    task = Task.INPAINTING
    description = "Fills the painted hole of a photo; every pixel outside it is kept exactly."
    Config = InpaintConfig
    presets = PRESETS
    architectures = {
        "aot": Architecture(Generator, fixed={"channels": 3}, description=(
            "AOT-GAN (Zeng et al. 2022) refining a weight-free harmonic fill; the starter")),
        "lama": Architecture(LamaGenerator, fixed={"in_channels": 4, "out_channels": 3,
                                                   "out_activation": "sigmoid"}, description=(
            "LaMa's FFC ResNet (Suvorov et al. 2022); big-lama by default, works in [0, 1]")),
    }
    renamed_fields = {"adversarial": "adversarial_weight", "l1_hole": "l1_hole_weight",
                      "l1_valid": "l1_valid_weight", "psnr_hole": "psnr_hole_weight",
                      "perceptual": "perceptual_weight"}
    datasets = ("photos", "lfw", "folder", "hf")
    hub_repo = "gan-translate/inpaint"
    image_mode = "RGB"
    grid_columns = 8
    inputs = (
        Param(name="image", kind="image", help="The photo to fill."),
        Param(name="mask", kind="mask",
              help="The hole: white/non-zero pixels, or the painted pixels of a transparent "
                   "layer. L, RGB or RGBA, the image's size."),
        Param(name="resize_mask", kind="bool", default=False,
              help="Stretch a mask of another size to the image instead of refusing it."),
    )
    output = "image"
    starter_weights = files("translate_inpaint") / "starter"
    examples = files("translate_inpaint") / "examples"

    config: InpaintConfig

    @classmethod
    def make_config(cls, preset: str = "starter", overrides: Mapping[str, str] | None = None, *,
                    values: Mapping[str, Any] | None = None) -> InpaintConfig:
        """As the host's, with the chosen architecture's defaults under `values`."""
        arch = (overrides or {}).get("arch") or (values or {}).get("arch") or ""
        return super().make_config(preset, overrides,
                                   values={**ARCH_DEFAULTS.get(arch, {}), **(values or {})})

    @property
    def lama(self) -> bool:
        """LaMa works in [0, 1] and takes (masked image, mask) as one tensor."""
        return self.config.arch == "lama"

    def build_generators(self) -> dict[str, torch.nn.Module]:
        return {"G": self.build_network()}

    def build_discriminators(self) -> dict[str, torch.nn.Module]:
        c = self.config
        if self.lama:
            return {"D": NLayerDiscriminator(width=c.d_width, layers=c.d_layers)}
        return {"D": SNPatchDiscriminator(width=c.d_width, layers=c.d_layers)}

    # ---- data -------------------------------------------------------------------------------

    def mask_source(self) -> MaskFn:
        c = self.config
        if c.mask_kind == "files":
            return MaskFiles(c.mask_dir)
        return lambda rng, size: draw_mask(rng, size, kind=c.mask_kind, area=c.hole_area,
                                           rectangle_share=c.rectangle_share)

    def make_dataset(self, source: Source, *, train: bool) -> torch.utils.data.Dataset:
        c = self.config
        if train:
            return RandomCrops(source, size=c.image_size, masks=self.mask_source())
        return GridCrops(source, size=c.image_size, masks=self.mask_source(), count=c.eval_count)

    # ---- training ---------------------------------------------------------------------------

    def generate(self, nets: Networks, batch: Batch) -> Batch:
        image, mask = batch["image"], batch["mask"]
        if self.lama:  # everything in [0, 1], as LaMa trains
            image = unit(image)
            output = inpaint(nets.G, image, mask)
        else:
            output = nets.G(image, mask)
        return {"target": image, "output": output, "composite": output * mask + image * (1 - mask)}

    def discriminator_loss(self, nets: Networks, batch: Batch, generated: Batch) -> Losses:
        c, mask = self.config, batch["mask"]
        if self.lama:  # LaMa judges the whole output; with its loss, known pixels are real
            real = generated["target"].requires_grad_(c.r1_weight > 0)
            real_logits, fake_logits = nets.D(real)[0], nets.D(generated["output"])[0]
            real_term, fake_term = discriminator_loss(c.loss, real_logits, fake_logits)
            if c.loss == "nonsaturating":
                fake_term = masked_fake_loss(fake_logits, mask)
            losses = {"real": real_term, "fake": fake_term}
        else:
            real = generated["target"].requires_grad_(c.r1_weight > 0)
            real_logits = nets.D(real, mask)
            real_term, fake_term = discriminator_loss(c.loss, real_logits,
                                                      nets.D(generated["composite"], mask))
            losses = {"real": real_term, "fake": fake_term}
        if c.r1_weight > 0:
            losses["r1"] = c.r1_weight * r1_penalty(real_logits, real)
        return losses

    def generator_loss(self, nets: Networks, batch: Batch, generated: Batch) -> Losses:
        c, mask, output = self.config, batch["mask"], generated["output"]
        image = generated["target"]
        if self.lama:  # LaMa judges the whole output
            judged = output
            fake_logits, fake_features = nets.D(output)
            with torch.no_grad():
                _, real_features = nets.D(image)
        else:
            judged = generated["composite"]
            fake_logits = nets.D(judged, mask)
        error = (output - image).abs()
        # Means over all pixels (Liu et al. 2018): a bigger hole weighs more, as it should.
        losses = {"l1_hole": c.l1_hole_weight * (error * mask).mean(),
                  "l1_valid": c.l1_valid_weight * (error * (1 - mask)).mean(),
                  "adversarial": c.adversarial_weight * generator_loss(c.loss, fake_logits)}
        if c.fm_weight > 0:
            losses["feature_matching"] = c.fm_weight * feature_matching_loss(fake_features,
                                                                             real_features)
        if c.psnr_hole_weight > 0:
            scale = signed if self.lama else (lambda x: x)
            losses["psnr_hole"] = c.psnr_hole_weight * hole_psnr_loss(
                scale(output), scale(image), mask).mean()
        perceptual = self.perceptual_loss()
        if perceptual is not None:  # the loss takes [0, 1] images
            scale = (lambda x: x) if self.lama else unit
            losses["perceptual"] = c.perceptual_weight * perceptual.to(image.device)(
                scale(judged), scale(image))
        return losses

    def perceptual_loss(self) -> VGGPerceptualLoss | None:
        """The VGG16 loss when asked for and its weights are on disk, else None."""
        if self.config.perceptual_weight <= 0 or not vgg_available(16):
            return None
        if "_perceptual" not in self.__dict__:  # kept out of the module tree: never saved
            self.__dict__["_perceptual"] = VGGPerceptualLoss(depth=16, layers=PERCEPTUAL_LAYERS)
        return self.__dict__["_perceptual"]

    def card_notes(self, metrics: Mapping[str, float]) -> str:
        c = self.config
        perceptual = ("off (perceptual_weight=0)" if c.perceptual_weight <= 0 else
                      f"on, x{c.perceptual_weight} (VGG16 weights from the torch hub cache)"
                      if vgg_available(16) else f"OFF: no VGG16 weights at "
                      f"{vgg_weights_path(16)} (never downloaded by training)")
        terms = {"L1 in the hole": c.l1_hole_weight, "L1 on known pixels": c.l1_valid_weight,
                 "minus the per-image hole PSNR": c.psnr_hole_weight,
                 "feature matching": c.fm_weight, "R1 on reals": c.r1_weight,
                 f"{c.loss} GAN": c.adversarial_weight}
        critic = "LaMa's pix2pixHD D" if self.lama else "SN-PatchGAN"
        contrast = (f" Correction scaled by local contrast ({c.contrast_window}x{c.contrast_window}"
                    " window)." if not self.lama and c.refine and c.contrast_window else "")
        return (f"Training losses of this config ({c.arch}, {critic}): "
                f"{', '.join(f'{k} x{v}' for k, v in terms.items() if v > 0)}; perceptual term "
                f"{perceptual}. Masks: {c.mask_kind}, hole area {c.hole_area[0]:.0%}-"
                f"{c.hole_area[1]:.0%}.{contrast}")

    def sample_inputs(self, heldout: Batch, count: int) -> Batch:
        # Three rows per group: the input with its hole in white, the result, the original.
        keep = min(count // 3 // self.grid_columns, 3) * self.grid_columns or self.grid_columns
        # Spread over all the held-out crops, which come image by image.
        index = torch.linspace(0, len(heldout["image"]) - 1, keep).round().long()
        return {"image": heldout["image"][index], "mask": heldout["mask"][index]}

    def sample(self, generators: Networks, inputs: Batch) -> torch.Tensor:
        image, mask = inputs["image"], inputs["mask"]
        filled = self.fill(image, mask, generators.G).to(image.device) * mask + image * (1 - mask)
        rows = []
        for start in range(0, len(image), self.grid_columns):
            part = slice(start, start + self.grid_columns)
            rows += [image[part] * (1 - mask[part]) + mask[part], filled[part], image[part]]
        return torch.cat(rows)

    # ---- use ----------------------------------------------------------------------------------

    @torch.no_grad()
    def fill(self, image: torch.Tensor, mask: torch.Tensor,
             generator: torch.nn.Module | None = None) -> torch.Tensor:
        """(B, 3, H, W) in [-1, 1] and (B, 1, H, W) holes -> the prediction, any H and W.

        By `generator` (default: the translator's own); returned on the CPU.
        """
        generator = generator or self.generators.G
        device = next(generator.parameters()).device
        if self.lama:  # in [0, 1]; inpaint pads symmetrically to 8, as LaMa's prediction does
            return signed(run_any_size(functools.partial(inpaint, generator), unit(image), mask,
                                       min_size=least_side(generator.downsamples), device=device))
        # Each AOT block reflects by its largest rate, which needs more pixels than that at
        # the lowest resolution: tiny inputs are first stretched by replication.
        return run_any_size(generator, image, mask, multiple=generator.multiple,
                            min_size=(max(self.config.rates) + 1) * generator.multiple,
                            device=device)

    def infer(self, *, image: Image.Image, mask: Image.Image,
              resize_mask: bool = False) -> list[Image.Image]:
        hole = self._hole(image, mask, resize_mask)
        original = np.asarray(image.convert("RGB"))
        if not hole.any():
            return [Image.fromarray(original.copy())]
        if hole.all():  # logged, so that the CLI prints one line and the demo shows it
            log.warning("the mask covers the whole image: the result is the model's guess "
                        "with nothing known")
        top, left, bottom, right = self._region(hole)
        region, region_hole = original[top:bottom, left:right], hole[top:bottom, left:right]
        prediction = self._predict(region, region_hole)
        result = original.copy()
        # Only hole pixels are written: known pixels come back bit for bit.
        result[top:bottom, left:right][region_hole] = prediction[region_hole]
        return [Image.fromarray(result)]

    def _hole(self, image: Image.Image, mask: Image.Image, resize_mask: bool) -> np.ndarray:
        if mask.size != image.size:
            if not resize_mask:
                raise ImageError(f"mask: {mask.width}x{mask.height} but the image is "
                                 f"{image.width}x{image.height}; pass --resize-mask to stretch "
                                 "it to the image")
            return np.asarray(hole_mask(mask).resize(image.size, Image.NEAREST)) > 0
        return hole_array(mask)

    def _region(self, hole: np.ndarray) -> tuple[int, int, int, int]:
        """The hole's bounding box grown by half its size (and at least a training crop)."""
        rows, cols = np.flatnonzero(hole.any(1)), np.flatnonzero(hole.any(0))
        top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        margin = max(bottom - top, right - left, self.config.image_size) // 2
        height, width = hole.shape
        return (max(0, top - margin), max(0, left - margin),
                min(height, bottom + margin), min(width, right + margin))

    def _predict(self, region: np.ndarray, hole: np.ndarray) -> np.ndarray:
        """uint8 (h, w, 3) with its hole filled; large regions are filled at reduced scale."""
        height, width = hole.shape
        scale = min(1.0, self.config.infer_max_side / max(height, width))
        small = (max(1, round(width * scale)), max(1, round(height * scale)))
        pixels, holes = region, hole.astype(np.uint8)
        if scale < 1:
            pixels = cv2.resize(region, small, interpolation=cv2.INTER_AREA)
            # Any hole pixel inside a shrunken pixel makes it a hole: nothing leaks through.
            holes = (cv2.resize(hole.astype(np.float32), small, interpolation=cv2.INTER_AREA)
                     > 0).astype(np.uint8)
        mask = torch.from_numpy(holes.astype(np.float32))[None, None]
        out = tensor_to_uint8(self.fill(to_tensor(pixels)[None], mask))[0]
        if scale < 1:
            out = cv2.resize(out, (width, height), interpolation=cv2.INTER_CUBIC)
        return out

    # ---- judging ------------------------------------------------------------------------------

    @torch.no_grad()
    def evaluate(self, heldout: Source, train: Source) -> dict[str, float]:
        """L1, PSNR and SSIM inside fixed free-form holes, next to OpenCV's Telea inpainting.

        The same held-out crops and masks for both architectures; for aot, its weight-free
        coarse stage too.
        """
        dataset = GridCrops(heldout, size=self.config.image_size, masks=self.mask_source(),
                            count=self.config.eval_count)
        images = stack_items(dataset, keys=("image",))["image"]
        coarse = None if self.lama else self.generators.G.coarse
        return compare_with_telea(self.fill, images, coarse=coarse)
