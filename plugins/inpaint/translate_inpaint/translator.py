"""inpaint: fill the holes of a photo with an AOT-GAN, keeping every known pixel as it was."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from translate import Batch, Losses, Networks, Param, Task, TrainConfig, Translator
from translate.data.masks import hole_array
from translate.data.sources import Source
from translate.errors import ConfigError, ImageError
from translate.losses import AdversarialLoss, discriminator_loss, generator_loss
from translate.losses.perceptual import VGGPerceptualLoss, vgg_available, vgg_weights_path
from translate.nn import crop_to, pad_to_multiple
from translate_inpaint.data import GridCrops, MaskFn, RandomCrops
from translate_inpaint.evaluation import compare_with_telea
from translate_inpaint.masks import MaskFiles, MaskKind, area_bounds, draw_mask
from translate_inpaint.model import Generator, SNPatchDiscriminator


@dataclass(kw_only=True)
class InpaintConfig(TrainConfig):
    image_size: int = 64  # side of the square training crops
    width: int = 32  # generator channels at full resolution, doubled at each downsampling
    blocks: int = 6  # AOT blocks at the lowest resolution (the paper uses 8)
    rates: tuple[int, ...] = (1, 2, 4, 8)  # dilation rates of each AOT block's branches
    downsamples: int = 2  # stride-2 encoder steps; inputs are padded to 2**downsamples
    refine: bool = True  # learn a correction to a weight-free harmonic fill (off: AOT-GAN as is)
    smoothing: int = 100  # Jacobi sweeps of the harmonic coarse fill (0: the pyramid fill alone)
    contrast_window: int = 0  # scale the correction by the known pixels' contrast in this window
    d_width: int = 32  # discriminator channels of its first layer (capped at 4x deeper)
    d_layers: int = 4  # stride-2 layers of the SN-PatchGAN (6 at 256x256 as in DeepFill v2)
    loss: AdversarialLoss = "hinge"  # SN-PatchGAN is trained with the hinge loss
    adversarial: float = 0.01  # weight of the GAN term; AOT-GAN's value, small next to L1
    l1_hole: float = 6.0  # weight of L1 inside the hole (Liu et al. 2018 weight the hole 6x)
    l1_valid: float = 1.0  # weight of L1 on known pixels (keeps the output's colours anchored)
    psnr_hole: float = 0.0  # weight of minus each image's hole PSNR (dB): flat holes count too
    perceptual: float = 0.1  # VGG16 feature loss weight; off when the weights are not on disk
    mask_kind: MaskKind = "mixed"  # freeform strokes, rectangles, mixed, or files (mask_dir)
    hole_area: tuple[float, float] = (0.05, 0.5)  # share of the image in the hole, drawn uniformly
    rectangle_share: float = 0.3  # with mask_kind=mixed, the chance of rectangles over strokes
    mask_dir: str = ""  # folder of mask images (non-zero = hole), for mask_kind=files
    eval_count: int = 64  # held-out crops measured by evaluate(), spread over held-out images
    infer_max_side: int = 256  # longer side of the region around a hole the network sees
    betas: tuple[float, float] = (0.5, 0.999)  # AOT-GAN's Adam betas

    def __post_init__(self) -> None:
        super().__post_init__()
        multiple = 2**self.downsamples
        if self.image_size % multiple or self.image_size < 4 * multiple:
            raise ConfigError(f"image_size must be a multiple of {multiple} and at least "
                              f"{4 * multiple}, got {self.image_size}")
        if self.image_size // multiple <= max(self.rates):
            raise ConfigError(f"image_size / 2**downsamples must exceed the largest rate "
                              f"{max(self.rates)}, got {self.image_size // multiple}")
        if self.width * multiple % len(self.rates):
            raise ConfigError(f"width * 2**downsamples must divide into {len(self.rates)} rates")
        try:
            area_bounds(self.hole_area)
        except ValueError as error:
            raise ConfigError(f"hole_area: {error}") from None
        if self.contrast_window < 0 or (self.contrast_window and self.contrast_window % 2 == 0):
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
                "lr_g": 2e-4, "lr_d": 1e-4, "lr_decay_fraction": 0.5, "psnr_hole": 0.05,
                "contrast_window": 9, "sample_every": 250, "checkpoint_every": 250},
    # 256x256 on a GPU, AOT-GAN's size: --data FOLDER_OR_hf:NAME --preset full
    "full": {"image_size": 256, "width": 64, "blocks": 8, "d_width": 64, "d_layers": 6,
             "steps": 200000, "batch_size": 8, "lr_g": 1e-4, "lr_d": 1e-4,
             "lr_decay_fraction": 0.1, "infer_max_side": 1024, "eval_count": 256,
             "workers": 4, "sample_every": 2000, "checkpoint_every": 2000},
}


PSNR_CEILING = 1e-5  # added to each MSE: caps the term at 50 dB, a fill's last fraction of a level


def negative_psnr(output: torch.Tensor, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B,) minus the PSNR in dB over each image's hole, on a [0, 1] scale.

    L1 averaged over a batch barely notices two grey levels of noise in a flat hole (sky),
    yet that takes a near-perfect fill from 48 to 38 dB. A per-image log of the error
    weighs every hole by how well it is already filled, which is what mean PSNR measures.
    """
    squared = ((output - image) / 2) ** 2 * mask  # [-1, 1] -> [0, 1] scale
    count = (mask.sum((1, 2, 3)) * image.shape[1]).clamp_min(1)
    return 10 * torch.log10(squared.sum((1, 2, 3)) / count + PSNR_CEILING)


class InpaintTranslator(Translator):
    name = "inpaint"
    task = Task.INPAINTING
    description = "Fills the painted hole of a photo; every pixel outside it is kept exactly."
    Config = InpaintConfig
    presets = PRESETS
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
              help="Stretch a mask of another size to the image instead of refusing it.",
              demo="hidden"),  # the demo fits what was painted to the photo itself
    )
    output = "image"
    starter_weights = files("translate_inpaint") / "starter"
    examples = files("translate_inpaint") / "examples"

    config: InpaintConfig

    def build_generators(self) -> dict[str, torch.nn.Module]:
        c = self.config
        return {"G": Generator(width=c.width, blocks=c.blocks, rates=c.rates,
                               downsamples=c.downsamples, refine=c.refine,
                               smoothing=c.smoothing, contrast_window=c.contrast_window)}

    def build_discriminators(self) -> dict[str, torch.nn.Module]:
        c = self.config
        return {"D": SNPatchDiscriminator(width=c.d_width, layers=c.d_layers)}

    # ---- data -------------------------------------------------------------------------------

    def mask_source(self) -> MaskFn:
        c = self.config
        if c.mask_kind == "files":
            return MaskFiles(c.mask_dir)
        area = area_bounds(c.hole_area)
        return lambda rng, size: draw_mask(rng, size, kind=c.mask_kind, area=area,
                                           rectangle_share=c.rectangle_share)

    def make_dataset(self, source: Source, *, train: bool) -> torch.utils.data.Dataset:
        c = self.config
        if train:
            return RandomCrops(source, size=c.image_size, masks=self.mask_source())
        return GridCrops(source, size=c.image_size, masks=self.mask_source(), count=c.eval_count)

    # ---- training ---------------------------------------------------------------------------

    def generate(self, nets: Networks, batch: Batch) -> Batch:
        image, mask = batch["image"], batch["mask"]
        output = nets.G(image, mask)
        return {"output": output, "composite": output * mask + image * (1 - mask)}

    def discriminator_loss(self, nets: Networks, batch: Batch, generated: Batch) -> Losses:
        real = nets.D(batch["image"], batch["mask"])
        fake = nets.D(generated["composite"], batch["mask"])
        real_term, fake_term = discriminator_loss(self.config.loss, real, fake)
        return {"real": real_term, "fake": fake_term}

    def generator_loss(self, nets: Networks, batch: Batch, generated: Batch) -> Losses:
        c = self.config
        image, mask, output = batch["image"], batch["mask"], generated["output"]
        error = (output - image).abs()
        # Means over all pixels (Liu et al. 2018): a bigger hole weighs more, as it should.
        losses = {
            "l1_hole": c.l1_hole * (error * mask).mean(),
            "l1_valid": c.l1_valid * (error * (1 - mask)).mean(),
            "adversarial": c.adversarial * generator_loss(
                c.loss, nets.D(generated["composite"], mask)),
        }
        if c.psnr_hole > 0:
            losses["psnr_hole"] = c.psnr_hole * negative_psnr(output, image, mask).mean()
        perceptual = self.perceptual_loss()
        if perceptual is not None:
            # The loss takes [0, 1] images; ours are in [-1, 1].
            losses["perceptual"] = c.perceptual * perceptual.to(image.device)(
                generated["composite"].add(1).div(2), image.add(1).div(2))
        return losses

    def perceptual_loss(self) -> VGGPerceptualLoss | None:
        """The VGG16 loss when asked for and its weights are on disk, else None."""
        if self.config.perceptual <= 0 or not vgg_available(16):
            return None
        if "_perceptual" not in self.__dict__:  # kept out of the module tree: never saved
            self.__dict__["_perceptual"] = VGGPerceptualLoss(depth=16, layers=PERCEPTUAL_LAYERS)
        return self.__dict__["_perceptual"]

    def save_pretrained(self, folder: str | Path, **options: Any) -> Path:
        provenance = dict(options.pop("provenance", None) or {})
        if "steps" in provenance:  # a training run: the card says which losses it really used
            provenance["notes"] = self.training_notes()
        return super().save_pretrained(folder, provenance=provenance, **options)

    def training_notes(self) -> str:
        c = self.config
        if c.perceptual <= 0:
            perceptual = "off (perceptual=0)"
        elif vgg_available(16):
            perceptual = f"on, x{c.perceptual} (VGG16 weights from the torch hub cache)"
        else:
            perceptual = (f"OFF: no VGG16 weights at {vgg_weights_path(16)} (never downloaded "
                          "by training)")
        psnr = f", minus the per-image hole PSNR x{c.psnr_hole}" if c.psnr_hole > 0 else ""
        contrast = (f" Correction scaled by local contrast ({c.contrast_window}x{c.contrast_window}"
                    " window)." if c.refine and c.contrast_window else "")
        return (f"Losses: L1 x{c.l1_hole} in the hole and x{c.l1_valid} on known pixels{psnr}, "
                f"hinge GAN x{c.adversarial} (SN-PatchGAN); perceptual term {perceptual}. Masks: "
                f"{c.mask_kind}, hole area {c.hole_area[0]:.0%}-{c.hole_area[1]:.0%}.{contrast}")

    def sample_inputs(self, heldout: Batch, count: int) -> Batch:
        # Three rows per group: the input with its hole in white, the result, the original.
        keep = min(count // 3 // self.grid_columns, 3) * self.grid_columns or self.grid_columns
        # Spread over all the held-out crops, which come image by image.
        index = torch.linspace(0, len(heldout["image"]) - 1, keep).round().long()
        return {"image": heldout["image"][index], "mask": heldout["mask"][index]}

    def sample(self, generators: Networks, inputs: Batch) -> torch.Tensor:
        image, mask = inputs["image"], inputs["mask"]
        composite = generators.G(image, mask) * mask + image * (1 - mask)
        rows = []
        for start in range(0, len(image), self.grid_columns):
            part = slice(start, start + self.grid_columns)
            rows += [image[part] * (1 - mask[part]) + mask[part], composite[part], image[part]]
        return torch.cat(rows)

    # ---- use ----------------------------------------------------------------------------------

    @torch.no_grad()
    def fill(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [-1, 1] and (B, 1, H, W) holes -> the prediction, any H and W."""
        generator = self.generators.G
        size = tuple(image.shape[-2:])
        # Each AOT block reflects by its largest rate, which needs more pixels than that at
        # the lowest resolution: tiny inputs are first stretched by replication.
        least = (max(self.config.rates) + 1) * generator.multiple
        grow = (0, max(0, least - size[1]), 0, max(0, least - size[0]))
        if any(grow):
            image, mask = F.pad(image, grow, mode="replicate"), F.pad(mask, grow, mode="replicate")
        padded, _ = pad_to_multiple(image, generator.multiple)
        padded_mask, _ = pad_to_multiple(mask, generator.multiple, mode="replicate")
        return crop_to(generator(padded, padded_mask), size)

    def infer(self, *, image: Image.Image, mask: Image.Image,
              resize_mask: bool = False) -> list[Image.Image]:
        hole = self._hole(image, mask, resize_mask)
        original = np.asarray(image.convert("RGB"))
        if not hole.any():
            return [Image.fromarray(original.copy())]
        if hole.all():
            warnings.warn("the mask covers the whole image: the result is the model's "
                          "unconditional guess", UserWarning, stacklevel=2)
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
            hole = Image.fromarray(np.uint8(hole_array(mask)) * 255)
            return np.asarray(hole.resize(image.size, Image.NEAREST)) > 0
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
        image = torch.from_numpy(pixels.astype(np.float32) / 127.5 - 1).permute(2, 0, 1)[None]
        mask = torch.from_numpy(holes.astype(np.float32))[None, None]
        predicted = self.fill(image.to(self.device), mask.to(self.device))
        out = predicted[0].float().clamp(-1, 1).add(1).mul(127.5).round().byte()
        out = out.permute(1, 2, 0).cpu().numpy()
        if scale < 1:
            out = cv2.resize(out, (width, height), interpolation=cv2.INTER_CUBIC)
        return out

    # ---- judging ------------------------------------------------------------------------------

    @torch.no_grad()
    def evaluate(self, heldout: Source, train: Source) -> dict[str, float]:
        """L1, PSNR and SSIM inside fixed free-form holes, next to OpenCV's Telea inpainting."""
        dataset = GridCrops(heldout, size=self.config.image_size, masks=self.mask_source(),
                            count=self.config.eval_count)
        images = torch.stack([dataset[i]["image"] for i in range(len(dataset))])
        coarse = self.generators.G.coarse
        return compare_with_telea(self.fill, images, device=self.device, coarse=coarse)
