"""superres: ESRGAN-family super-resolution (RRDBNet, SRVGGNetCompact), trained in two stages.

Stage `psnr` trains the generator alone with L1 (ESRGAN's PSNR-oriented model, Real-ESRGAN's
"RealESRNet"); stage `gan` starts from such a model (`init_from`) and adds the perceptual
and adversarial terms against a U-Net discriminator. Inference is tiled, so any image size
fits in a bounded amount of device memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import partial
from importlib.resources import files
from typing import Annotated, Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from translate import Architecture, Batch, Losses, Networks, Param, Task, TrainConfig, Translator
from translate.config import AT_LEAST_1, NOT_NEGATIVE, POSITIVE, Range
from translate.data.images import check_pixels, to_mode
from translate.data.source import Source
from translate.data.tensors import pil_to_tensor, signed, tensor_to_uint8, unit
from translate.errors import ConfigError
from translate.inference.anysize import run_any_size
from translate.inference.export import image_inputs
from translate.losses import discriminator_loss, generator_loss
from translate.losses.perceptual import VGGPerceptualLoss, vgg_available, vgg_weights_path
from translate.metrics.fidelity import psnr, ssim
from translate_superres.degrade import Degradation, PairDataset, bicubic
from translate_superres.model import RRDBNet, UNetDiscriminator
from translate_superres.srvgg import SRVGGNetCompact

STARTER = files("translate_superres") / "starter"
# ESRGAN compares VGG19 features before their activation (https://arxiv.org/abs/1809.00219,
# section 3.3); these are Real-ESRGAN's layer weights.
PERCEPTUAL_LAYERS = {"conv1_2": 0.1, "conv2_2": 0.1, "conv3_4": 1.0, "conv4_4": 1.0,
                     "conv5_4": 1.0}
PRECISIONS = {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}
# Output factors infer offers: the network's own, and smaller ones by resizing its output.
OUTPUT_SCALES = ("8", "4", "2")
ARCHITECTURES = {
    "rrdbnet": Architecture(RRDBNet, fixed={"channels": 3},
                            description="ESRGAN's RRDBNet (Real-ESRGAN x4plus/x2plus/anime_6B, "
                                        "ai-forever x2/x4/x8, ESRGAN, RealESRNet)"),
    "srvgg": Architecture(SRVGGNetCompact, fixed={"channels": 3},
                          description="Real-ESRGAN's compact VGG-style net (realesr-general-"
                                      "x4v3, realesr-animevideov3)"),
}
Weight = Annotated[float, NOT_NEGATIVE]


@dataclass(kw_only=True)
class SuperResConfig(TrainConfig):
    scale: Literal[1, 2, 4, 8] = 4  # upscaling factor of the network (2 and 1 pixel-unshuffle)
    features: Annotated[int, AT_LEAST_1] = 64  # feature width (ESRGAN: 64; srvgg: 64 too)
    blocks: Annotated[int, AT_LEAST_1] = 23  # rrdbnet: RRDB blocks in the trunk (ESRGAN: 23)
    growth: Annotated[int, AT_LEAST_1] = 32  # rrdbnet: growth channels of each dense block (32)
    bicubic_skip: bool = False  # rrdbnet: add bicubic(input) to G's output (VDSR); off = ESRGAN
    residual_scale: Annotated[float, POSITIVE] = 0.2  # rrdbnet: scaling of every residual branch
    convs: Annotated[int, NOT_NEGATIVE] = 16  # srvgg: convs between its first and last (32, 16)
    activation: Literal["prelu", "relu", "leakyrelu"] = "prelu"  # srvgg: prelu (every release)
    patch: Annotated[int, Range(8)] = 64  # side of the LR training crop; the HR crop is patch*scale
    degradation: Degradation = "bicubic"  # how LR inputs are made: bicubic, real-esrgan(-2)
    stage: Literal["psnr", "gan"] = "psnr"  # psnr: L1 only; gan: L1 + perceptual + adversarial
    pixel_weight: Weight = 1.0  # weight of the L1 pixel loss
    perceptual_weight: Weight = 1.0  # weight of the VGG19 loss (gan stage; needs local weights)
    adversarial_weight: Weight = 0.1  # weight of the adversarial loss (gan stage)
    d_width: Annotated[int, AT_LEAST_1] = 64  # base width of the U-Net discriminator (gan stage)
    betas: tuple[float, float] = (0.9, 0.99)  # Adam betas of ESRGAN/Real-ESRGAN
    lr_g: Annotated[float, POSITIVE] = 2e-4  # generator Adam step (Real-ESRNet 2e-4; GAN 1e-4)
    lr_d: Annotated[float, POSITIVE] = 1e-4  # discriminator Adam step size (Real-ESRGAN: 1e-4)

    def __post_init__(self) -> None:
        super().__post_init__()
        if (self.patch * self.scale) % 8:
            raise ConfigError(f"patch*scale must be a multiple of 8 (the U-Net discriminator "
                              f"halves it 3 times); got patch={self.patch}")


# The starter's network: small enough for a CPU, with the bicubic skip, which at this size
# and budget is worth more than width or depth, and without residual scaling, which three
# blocks do not need to train stably (see the README).
STARTER_NET = {"features": 32, "blocks": 3, "growth": 16, "bicubic_skip": True,
               "residual_scale": 1.0}

PRESETS: dict[str, dict[str, Any]] = {
    # PSNR stage, small RRDBNet x4 on the bundled photos, on a 2-core CPU.
    "starter": {**STARTER_NET, "patch": 24, "batch_size": 8, "steps": 6000, "lr_g": 1e-3,
                "lr_decay_fraction": 0.4, "sample_every": 1500, "checkpoint_every": 750,
                "log_every": 25},
    # GAN stage on top of the bundled starter (or --set init_from=A_PSNR_RUN/weights).
    "starter-gan": {**STARTER_NET, "patch": 24, "batch_size": 8, "steps": 200, "stage": "gan",
                    "init_from": "starter", "lr_g": 1e-4, "lr_d": 1e-4, "d_width": 16,
                    "sample_every": 100, "checkpoint_every": 100, "log_every": 10},
    # ESRGAN/Real-ESRNet on a GPU: --data FOLDER_OF_HR_IMAGES --preset full
    "full": {"features": 64, "blocks": 23, "growth": 32, "patch": 64, "batch_size": 16,
             "steps": 400_000, "lr_g": 2e-4, "lr_decay_fraction": 0.5,
             "degradation": "real-esrgan-2", "workers": 8, "sample_every": 5000,
             "checkpoint_every": 5000, "log_every": 100},
    # Real-ESRGAN's GAN stage: --preset full-gan --set init_from=RUN/weights
    "full-gan": {"features": 64, "blocks": 23, "growth": 32, "patch": 64, "batch_size": 16,
                 "steps": 400_000, "stage": "gan", "lr_g": 1e-4, "lr_d": 1e-4,
                 "degradation": "real-esrgan-2", "workers": 8, "sample_every": 5000,
                 "checkpoint_every": 5000, "log_every": 100},
}


class SuperResTranslator(Translator):
    name = "superres"
    task = Task.SUPER_RESOLUTION
    description = "Upscales photos x4 or x2 with an ESRGAN-family RRDBNet (tiled, any size)."
    Config = SuperResConfig
    presets = PRESETS
    architectures = ARCHITECTURES
    renamed_fields = {"init_weights": "init_from", "d_features": "d_width",
                      "gan_weight": "adversarial_weight"}
    datasets = ("photos", "folder", "hf")
    hub_repo = "gan-translate/superres"
    image_mode = "RGB"
    keeps_alpha = True
    compare_in_demo = True
    grid_columns = 3  # LR (nearest) | SR | HR
    output = "image"
    inputs = (
        Param(name="image", kind="image", help="The low-resolution image to upscale."),
        Param(name="scale", kind="choice", choices=("auto", *OUTPUT_SCALES, "1"), default="auto",
              help="Output size over input size: auto = the model's own factor; a smaller one "
                   "resizes its output (x2 from a x4 model)."),
        Param(name="tile", kind="int", default=192, low=0, high=4096,
              help="Tile side in input pixels (0 = whole image at once); bounds device memory."),
        Param(name="overlap", kind="int", default=24, low=0, high=512,
              help="Context pixels around each tile; enough of it makes tiles seamless."),
        Param(name="precision", kind="choice", choices=("auto", "fp32", "fp16", "bf16"),
              default="auto", help="auto: fp16 on CUDA, fp32 on the CPU."),
    )
    starter_weights = STARTER
    examples = files("translate_superres") / "examples"  # held-out chelsea, public-domain astronaut
    curated = files("translate_superres") / "curated.json"  # `translate pull RealESRGAN_x4plus`

    config: SuperResConfig

    @classmethod
    def inputs_for(cls, config: TrainConfig) -> tuple[Param, ...]:
        scales = output_scales(config.scale)
        return tuple(replace(p, choices=scales, default=scales[0]) if p.name == "scale" else p
                     for p in cls.inputs)

    # ---- networks -------------------------------------------------------------------------

    def build_generators(self) -> dict[str, torch.nn.Module]:
        # channels_last: oneDNN runs this net's convolutions faster in that layout (on 2 CPU
        # cores, inference 0.65x the time, a training step 0.89x: bench/superres_speed.py),
        # as do tensor cores on a GPU. State dicts are saved contiguous, so files are unchanged.
        return {"G": self.build_network().to(memory_format=torch.channels_last)}

    def build_discriminators(self) -> dict[str, torch.nn.Module]:
        if self.config.stage == "psnr":
            return {}  # the engine then runs G updates only
        return {"D": UNetDiscriminator(features=self.config.d_width)}

    def make_dataset(self, source: Source, *, train: bool) -> torch.utils.data.Dataset:
        c = self.config
        return PairDataset(source, scale=c.scale, patch=c.patch, train=train,
                           kind=c.degradation)

    # ---- one step -------------------------------------------------------------------------

    def generate(self, nets: Networks, batch: Batch) -> Batch:
        return {"sr": nets.G(unit(batch["lr"]))}

    def discriminator_loss(self, nets: Networks, batch: Batch, generated: Batch) -> Losses:
        real, fake = discriminator_loss("nonsaturating", nets.D(unit(batch["image"])),
                                        nets.D(generated["sr"]))
        return {"real": real, "fake": fake}

    def generator_loss(self, nets: Networks, batch: Batch, generated: Batch) -> Losses:
        c, sr, hr = self.config, generated["sr"], unit(batch["image"])
        losses = {"l1": c.pixel_weight * F.l1_loss(sr, hr)}
        if c.stage == "gan":
            vgg = self._perceptual_loss(sr.device)
            if vgg is not None:
                losses["perceptual"] = c.perceptual_weight * vgg(sr, hr)
            losses["adversarial"] = c.adversarial_weight * generator_loss("nonsaturating",
                                                                          nets.D(sr))
        return losses

    def _perceptual_loss(self, device: torch.device) -> VGGPerceptualLoss | None:
        if self.config.perceptual_weight <= 0 or not vgg_available(19):
            return None
        cache = self.__dict__.setdefault("_vgg", {})  # not a submodule: never saved
        if device not in cache:
            cache[device] = VGGPerceptualLoss(depth=19, layers=PERCEPTUAL_LAYERS).to(device)
        return cache[device]

    # ---- sample grids ---------------------------------------------------------------------

    def sample_inputs(self, heldout: Batch, count: int) -> Batch:
        rows = max(1, count // self.grid_columns)
        return {"lr": heldout["lr"][:rows], "hr": heldout["image"][:rows]}

    def sample(self, generators: Networks, inputs: Batch) -> torch.Tensor:
        lr, hr = inputs["lr"], inputs["hr"]
        sr = signed(generators.G(unit(lr)).clamp(0, 1))
        nearest = F.interpolate(lr, size=hr.shape[-2:], mode="nearest")
        return torch.stack([nearest, sr.to(hr.dtype), hr], 1).flatten(0, 1)

    # ---- use ------------------------------------------------------------------------------

    def upscale(self, image: Image.Image, *, tile: int = 192, overlap: int = 24,
                precision: str = "auto") -> Image.Image:
        """The network's own upscaling (x`config.scale`) of an RGB image, tiled."""
        device = self.device
        if precision == "auto":
            precision = "fp16" if device.type == "cuda" else "fp32"
        if precision == "fp16" and device.type != "cuda":
            raise ConfigError("precision fp16 needs CUDA; use fp32 or bf16 on the CPU")
        multiple = self.generators["G"].multiple
        net = self.runner("G", channels=3, multiple=multiple)
        pixels = run_any_size(net, pil_to_tensor(image, unit=True), scale=self.config.scale,
                              tile=tile, overlap=overlap, multiple=multiple,
                              device=device, dtype=PRECISIONS[precision],
                              postprocess=partial(tensor_to_uint8, unit=True))
        return Image.fromarray(pixels[0])

    def export_inputs(self, name: str) -> list[tuple[torch.Tensor, ...]]:
        return [(unit(x),) for (x,) in image_inputs(3, self.generators["G"].multiple)]

    def infer(self, *, image: Image.Image, scale: str = "auto", tile: int = 192,
              overlap: int = 24, precision: str = "auto") -> list[Image.Image]:
        offered = output_scales(self.config.scale)
        if scale != "auto" and str(scale) not in offered:
            raise ConfigError(f"scale {scale}: this x{self.config.scale} model offers "
                              f"{', '.join(offered)}")
        outscale = self.config.scale if scale == "auto" else int(scale)
        width, height = image.size
        check_pixels(width * outscale, height * outscale,
                     name=f"x{outscale} of the {width}x{height} input")
        alpha = image.getchannel("A") if image.mode in ("RGBA", "LA") else None
        if alpha is not None and alpha.getextrema()[0] == 255:
            alpha = None  # opaque: RGBA only because the reader keeps alpha for us
        result = self.upscale(image.convert("RGB"), tile=tile, overlap=overlap,
                              precision=precision)
        size = (width * outscale, height * outscale)
        if result.size != size:
            # Real-ESRGAN's --outscale: another factor than the network's is a resize of its
            # output (down for x2 from a x4 model: sharper than a x2 network would be).
            result = result.resize(size, Image.LANCZOS)
        if alpha is not None:
            # Transparency is a mask, not a photo: the network never saw one.
            result.putalpha(alpha.resize(size, Image.BICUBIC))
        return [result]

    # ---- judging --------------------------------------------------------------------------

    def evaluate(self, heldout: Source, train: Source) -> dict[str, float]:
        """PSNR/SSIM (Y, border = scale) on held-out images downscaled by bicubic.

        The baseline is bicubic upscaling of the same low-resolution input.
        """
        s = self.config.scale
        scores: dict[str, list[float]] = {k: [] for k in ("psnr", "ssim", "bicubic_psnr",
                                                           "bicubic_ssim")}
        for index in range(len(heldout)):
            hr_image = to_mode(heldout[index]["image"], "RGB")
            width, height = hr_image.size
            hr = np.asarray(hr_image)[: height - height % s, : width - width % s]
            lr = bicubic(hr, (hr.shape[1] // s, hr.shape[0] // s))
            sr = np.asarray(self.upscale(Image.fromarray(lr)))
            baseline = bicubic(lr, (hr.shape[1], hr.shape[0]))
            for prefix, result in (("", sr), ("bicubic_", baseline)):
                scores[f"{prefix}psnr"].append(psnr(result, hr, border=s, y_channel=True))
                scores[f"{prefix}ssim"].append(ssim(result, hr, border=s, y_channel=True))
        means = {k: float(np.mean(v)) for k, v in scores.items()}
        return {"psnr_y": means["psnr"], "psnr_y_bicubic_baseline": means["bicubic_psnr"],
                "psnr_y_gain_db": means["psnr"] - means["bicubic_psnr"],
                "ssim_y": means["ssim"], "ssim_y_bicubic_baseline": means["bicubic_ssim"]}

    def card_notes(self, metrics: Mapping[str, float]) -> str:
        """Which losses this config trains with: the perceptual term needs local VGG19 weights."""
        c = self.config
        if c.stage == "psnr":
            notes = f"Stage psnr: L1 loss only, LR inputs by {c.degradation} degradation."
        else:
            vgg = ("on (VGG19 weights from the torch hub cache)" if vgg_available(19)
                   and c.perceptual_weight > 0 else
                   f"OFF (no VGG19 weights at {vgg_weights_path(19)})"
                   if c.perceptual_weight > 0 else "off (perceptual_weight=0)")
            notes = (f"Stage gan: L1 x{c.pixel_weight} + adversarial x{c.adversarial_weight} "
                     f"(U-Net discriminator, spectral norm) + perceptual x{c.perceptual_weight}, "
                     f"perceptual term {vgg}; LR inputs by {c.degradation} degradation.")
        if c.init_from:
            notes += f" Generator initialised from {c.init_from!r}."
        return notes


def output_scales(scale: int) -> tuple[str, ...]:
    """The output factors a x`scale` network offers: its own, then smaller ones."""
    return (str(scale), *(s for s in OUTPUT_SCALES if int(s) < scale))
