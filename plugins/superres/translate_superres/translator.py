"""superres: ESRGAN-family super-resolution (RRDBNet), trained in two stages.

Stage `psnr` trains the generator alone with L1 (ESRGAN's PSNR-oriented model, Real-ESRGAN's
"RealESRNet"); stage `gan` starts from such a model (`init_weights`) and adds the
perceptual and adversarial terms against a U-Net discriminator. Inference is tiled, so
any image size fits in a bounded amount of device memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from translate import Architecture, Batch, Losses, Networks, Param, Task, TrainConfig, Translator
from translate.data.images import check_pixels, to_mode
from translate.data.sources import Source
from translate.errors import ConfigError, WeightsError
from translate.losses import discriminator_loss, generator_loss
from translate.losses.perceptual import VGGPerceptualLoss, vgg_available, vgg_weights_path
from translate_superres.degrade import Degradation, PairDataset, bicubic
from translate_superres.metrics import psnr_y, ssim_y
from translate_superres.model import SCALES, RRDBNet, UNetDiscriminator
from translate_superres.srvgg import ACTIVATIONS, SRVGGNetCompact
from translate_superres.tiling import upscale_tiled

STARTER = files("translate_superres") / "starter"
# ESRGAN compares VGG19 features before their activation (https://arxiv.org/abs/1809.00219,
# section 3.3); these are Real-ESRGAN's layer weights.
PERCEPTUAL_LAYERS = {"conv1_2": 0.1, "conv2_2": 0.1, "conv3_4": 1.0, "conv4_4": 1.0,
                     "conv5_4": 1.0}
PRECISIONS = {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}
# Generator settings that change its outputs without changing its weights' shapes.
WEIGHTLESS_FIELDS = ("bicubic_skip", "residual_scale", "activation")


@dataclass(kw_only=True)
class SuperResConfig(TrainConfig):
    arch: Literal["rrdbnet", "srvgg"] = "rrdbnet"  # generator: RRDBNet or SRVGGNetCompact
    scale: int = 4  # upscaling factor of the network: 8, 4, 2 or 1 (2 and 1 pixel-unshuffle)
    features: int = 64  # RRDBNet feature width (ESRGAN: 64)
    blocks: int = 23  # RRDB blocks in the trunk (ESRGAN: 23)
    growth: int = 32  # growth channels inside each dense block (ESRGAN: 32)
    bicubic_skip: bool = False  # add bicubic(input) to G's output (VDSR); off = ESRGAN, exact
    residual_scale: float = 0.2  # scaling of every residual branch (ESRGAN: 0.2, for 23 blocks)
    convs: int = 16  # srvgg: convs between its first and last (general-x4v3: 32, animevideov3: 16)
    activation: str = "prelu"  # srvgg: prelu (every published model), relu or leakyrelu
    patch: int = 64  # side of the low-resolution training crop; the HR crop is patch*scale
    degradation: Degradation = "bicubic"  # how LR inputs are made: bicubic, real-esrgan(-2)
    stage: Literal["psnr", "gan"] = "psnr"  # psnr: L1 only; gan: L1 + perceptual + adversarial
    init_weights: str = ""  # weights folder (or "starter") that G starts from: a PSNR model
    pixel_weight: float = 1.0  # weight of the L1 pixel loss
    perceptual_weight: float = 1.0  # weight of the VGG19 loss (gan stage; needs local weights)
    gan_weight: float = 0.1  # weight of the adversarial loss (gan stage)
    d_features: int = 64  # base width of the U-Net discriminator (gan stage)
    betas: tuple[float, float] = (0.9, 0.99)  # Adam betas of ESRGAN/Real-ESRGAN
    lr_g: float = 2e-4  # generator Adam step size (Real-ESRNet: 2e-4; GAN stage: 1e-4)
    lr_d: float = 1e-4  # discriminator Adam step size (Real-ESRGAN: 1e-4)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.scale not in SCALES:
            raise ConfigError(f"scale must be 1, 2, 4 or 8, got {self.scale}")
        if self.activation not in ACTIVATIONS:
            raise ConfigError(f"activation must be one of {', '.join(ACTIVATIONS)}, "
                              f"got {self.activation!r}")
        if self.arch == "srvgg" and self.bicubic_skip:
            raise ConfigError("bicubic_skip is RRDBNet's; srvgg always adds the nearest "
                              "upscaled input")
        if min(self.features, self.blocks, self.growth, self.d_features) < 1:
            raise ConfigError("features, blocks, growth and d_features must be at least 1")
        if self.convs < 0:
            raise ConfigError(f"convs must be at least 0, got {self.convs}")
        if self.residual_scale <= 0:
            raise ConfigError(f"residual_scale must be positive, got {self.residual_scale}")
        if self.patch < 8 or (self.patch * self.scale) % 8:
            raise ConfigError(f"patch must be at least 8 and patch*scale a multiple of 8 (the "
                              f"U-Net discriminator halves it 3 times); got patch={self.patch}")


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
    # GAN stage on top of the bundled starter (run `starter` first, or point init_weights).
    "starter-gan": {**STARTER_NET, "patch": 24, "batch_size": 8, "steps": 200, "stage": "gan",
                    "init_weights": "starter", "lr_g": 1e-4, "lr_d": 1e-4, "d_features": 16,
                    "sample_every": 100, "checkpoint_every": 100, "log_every": 10},
    # ESRGAN/Real-ESRNet on a GPU: --data FOLDER_OF_HR_IMAGES --preset full
    "full": {"features": 64, "blocks": 23, "growth": 32, "patch": 64, "batch_size": 16,
             "steps": 400_000, "lr_g": 2e-4, "lr_decay_fraction": 0.5,
             "degradation": "real-esrgan-2", "workers": 8, "sample_every": 5000,
             "checkpoint_every": 5000, "log_every": 100},
    # Real-ESRGAN's GAN stage: --preset full-gan --set init_weights=RUN/weights
    "full-gan": {"features": 64, "blocks": 23, "growth": 32, "patch": 64, "batch_size": 16,
                 "steps": 400_000, "stage": "gan", "lr_g": 1e-4, "lr_d": 1e-4,
                 "degradation": "real-esrgan-2", "workers": 8, "sample_every": 5000,
                 "checkpoint_every": 5000, "log_every": 100},
}


def _to01(images: torch.Tensor) -> torch.Tensor:
    return images.add(1).div(2)


def _pil_to01(image: Image.Image) -> torch.Tensor:
    # PIL RGB -> (1, 3, H, W) float in [0, 1], on the CPU
    return torch.from_numpy(np.array(image, dtype=np.float32)).div_(255).permute(2, 0, 1)[None]


class SuperResTranslator(Translator):
    name = "superres"
    task = Task.SUPER_RESOLUTION
    description = "Upscales photos x4 or x2 with an ESRGAN-family RRDBNet (tiled, any size)."
    Config = SuperResConfig
    presets = PRESETS
    datasets = ("photos", "folder", "hf")
    hub_repo = "gan-translate/superres"
    image_mode = "RGB"
    keeps_alpha = True
    compare_in_demo = True
    grid_columns = 3  # LR (nearest) | SR | HR
    output = "image"
    inputs = (
        Param(name="image", kind="image", help="The low-resolution image to upscale."),
        Param(name="scale", kind="choice", choices=("4", "2"), default="4",
              help="Output size over input size; a x4 model gives x2 by resizing its output."),
        Param(name="tile", kind="int", default=192, low=0, high=4096,
              help="Tile side in input pixels (0 = whole image at once); bounds device memory.",
              demo="advanced"),
        Param(name="overlap", kind="int", default=24, low=0, high=512,
              help="Context pixels around each tile; enough of it makes tiles seamless.",
              demo="advanced"),
        Param(name="precision", kind="choice", choices=("auto", "fp32", "fp16", "bf16"),
              default="auto", help="auto: fp16 on CUDA, fp32 on the CPU.", demo="advanced"),
    )
    # Declared so that host v2 accepts the config's `arch` switch (build_generators reads it).
    architectures = {"rrdbnet": Architecture(RRDBNet),
                     "srvgg": Architecture(SRVGGNetCompact, {"channels": 3})}
    starter_weights = STARTER
    examples = files("translate_superres") / "examples"  # held-out chelsea, public-domain astronaut
    # 2048x2048 out (a 512x512 photo at x4): about a minute on 2 CPU cores (15 s a megapixel).
    max_output_pixels = 4_194_304

    config: SuperResConfig

    @classmethod
    def output_pixels(cls, sizes: Mapping[str, tuple[int, int]], params: Mapping[str, Any]) -> int:
        return sum(w * h for w, h in sizes.values()) * int(params.get("scale", "4")) ** 2

    # ---- networks -------------------------------------------------------------------------

    def build_generators(self) -> dict[str, torch.nn.Module]:
        c = self.config
        if c.arch == "srvgg":
            generator = SRVGGNetCompact(features=c.features, convs=c.convs, scale=c.scale,
                                        activation=c.activation)
        else:
            generator = RRDBNet(scale=c.scale, features=c.features, blocks=c.blocks,
                                growth=c.growth, bicubic_skip=c.bicubic_skip,
                                residual_scale=c.residual_scale)
        self._init_problem = self._load_init(generator)
        # channels_last: oneDNN runs this net's convolutions faster in that layout (on 2 CPU
        # cores, inference 0.65x the time, a training step 0.89x: bench/superres_speed.py),
        # as do tensor cores on a GPU. State dicts are saved contiguous, so files are unchanged.
        return {"G": generator.to(memory_format=torch.channels_last)}

    def _load_init(self, generator: torch.nn.Module) -> str | None:
        """Load `init_weights` into G if they fit; else say why (`make_dataset` refuses then).

        Loading published weights whose config names a folder of another machine must still
        work (they are overwritten anyway), so a missing folder only matters for training.
        """
        if not self.config.init_weights:
            return None
        folder = (Path(str(STARTER)) if self.config.init_weights == "starter"
                  else Path(self.config.init_weights).expanduser())
        if not (folder / "model.safetensors").is_file():
            return (f"init_weights {self.config.init_weights!r}: no weights folder there "
                    "(train the psnr stage first, e.g. --preset starter)")
        from translate.hub.pretrained import from_pretrained, load_state_dict_strict

        source = from_pretrained(folder, expected=type(self))
        for field in WEIGHTLESS_FIELDS:
            # No weights tell these apart, so a strict load would pass and silently change
            # every output.
            there, here = getattr(source.config, field), getattr(self.config, field)
            if there != here:
                return (f"init_weights {folder}: {field}={there} there, {here} here "
                        f"(--set {field}=...)")
        load_state_dict_strict(generator, source.generators["G"].state_dict(),
                               source=f"init_weights {folder}")
        return None

    def build_discriminators(self) -> dict[str, torch.nn.Module]:
        if self.config.stage == "psnr":
            return {}  # the engine then runs G updates only
        return {"D": UNetDiscriminator(features=self.config.d_features)}

    def make_dataset(self, source: Source, *, train: bool) -> torch.utils.data.Dataset:
        if train and self._init_problem:
            raise WeightsError(self._init_problem)
        c = self.config
        return PairDataset(source, scale=c.scale, patch=c.patch, train=train,
                           kind=c.degradation)

    # ---- one step -------------------------------------------------------------------------

    def generate(self, nets: Networks, batch: Batch) -> Batch:
        return {"sr": nets.G(_to01(batch["lr"]))}

    def discriminator_loss(self, nets: Networks, batch: Batch, generated: Batch) -> Losses:
        real, fake = discriminator_loss("nonsaturating", nets.D(_to01(batch["image"])),
                                        nets.D(generated["sr"]))
        return {"real": real, "fake": fake}

    def generator_loss(self, nets: Networks, batch: Batch, generated: Batch) -> Losses:
        c, sr, hr = self.config, generated["sr"], _to01(batch["image"])
        losses = {"l1": c.pixel_weight * F.l1_loss(sr, hr)}
        if c.stage == "gan":
            vgg = self._perceptual(sr.device)
            if vgg is not None:
                losses["perceptual"] = c.perceptual_weight * vgg(sr, hr)
            losses["adversarial"] = c.gan_weight * generator_loss("nonsaturating", nets.D(sr))
        return losses

    def _perceptual(self, device: torch.device) -> VGGPerceptualLoss | None:
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
        sr = generators.G(_to01(lr)).clamp(0, 1).mul(2).sub(1)
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
        generator = self.generators["G"]
        pixels = upscale_tiled(generator, _pil_to01(image), scale=self.config.scale, tile=tile,
                               overlap=overlap, multiple=generator.multiple, device=device,
                               dtype=PRECISIONS[precision])
        return Image.fromarray(pixels)

    def infer(self, *, image: Image.Image, scale: str = "4", tile: int = 192, overlap: int = 24,
              precision: str = "auto") -> list[Image.Image]:
        outscale = int(scale)
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
                scores[f"{prefix}psnr"].append(psnr_y(result, hr, border=s))
                scores[f"{prefix}ssim"].append(ssim_y(result, hr, border=s))
        means = {k: float(np.mean(v)) for k, v in scores.items()}
        return {"psnr_y": means["psnr"], "psnr_y_bicubic_baseline": means["bicubic_psnr"],
                "psnr_y_gain_db": means["psnr"] - means["bicubic_psnr"],
                "ssim_y": means["ssim"], "ssim_y_bicubic_baseline": means["bicubic_ssim"]}

    # ---- provenance -----------------------------------------------------------------------

    def save_pretrained(self, folder: str | Path, **options: Any) -> Path:
        provenance = dict(options.pop("provenance", None) or {})
        if "steps" in provenance:  # a training run: say which losses it really used
            provenance["notes"] = self.training_notes()
        return super().save_pretrained(folder, provenance=provenance, **options)

    def training_notes(self) -> str:
        c = self.config
        if c.stage == "psnr":
            notes = f"Stage psnr: L1 loss only, LR inputs by {c.degradation} degradation."
        else:
            vgg = ("on (VGG19 weights from the torch hub cache)" if vgg_available(19)
                   and c.perceptual_weight > 0 else
                   f"OFF (no VGG19 weights at {vgg_weights_path(19)})"
                   if c.perceptual_weight > 0 else "off (perceptual_weight=0)")
            notes = (f"Stage gan: L1 x{c.pixel_weight} + adversarial x{c.gan_weight} "
                     f"(U-Net discriminator, spectral norm) + perceptual x{c.perceptual_weight}, "
                     f"perceptual term {vgg}; LR inputs by {c.degradation} degradation.")
        if c.init_weights:
            notes += f" Generator initialised from {c.init_weights!r}."
        return notes
