"""pix2pix: translate an image into its paired counterpart (Isola et al. 2017).

https://arxiv.org/abs/1611.07004. A U-Net generator learns G(x) ≈ y from aligned pairs
with an L1 term (the low frequencies) and a conditional PatchGAN (the high frequencies:
D judges local patches of input and output side by side).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from importlib.resources import files
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from translate import Batch, Losses, Networks, Param, Task, TrainConfig, Translator
from translate.data.images import to_mode
from translate.data.pipeline import to_tensor
from translate.data.sources import Source
from translate.engine.samples import tensor_to_pil
from translate.errors import ConfigError, DataError
from translate.losses import discriminator_loss, generator_loss
from translate.metrics.fidelity import l1, psnr, ssim
from translate.nn import PatchDiscriminator, crop_to, pad_to_multiple, reference_init
from translate.nn.norm import NormKind
from translate_pix2pix.colour import lab_to_rgb, rgb_to_lab
from translate_pix2pix.data import PairedDataset
from translate_pix2pix.model import DEPTHS, UNetGenerator

EVAL_BATCH = 8  # held-out tiles per forward pass in evaluate()


@dataclass(kw_only=True)
class Pix2PixConfig(TrainConfig):
    generator: Literal["unet_256", "unet_128"] = "unet_256"  # U-Net with 8 or 7 halvings
    width: int = 64  # G channels at full resolution (ngf); deeper levels double it, up to 8x
    norm: Literal["batch", "instance"] = "batch"  # normalisation in G and D (paper: batch)
    dropout: bool = True  # dropout 0.5 in the innermost decoder blocks: the paper's noise
    in_channels: int = 3  # input channels; 1 = greyscale, inputs are converted on the way in
    out_channels: int = 3  # output channels (2 with colour_space=lab: a*b*)
    colour_space: Literal["rgb", "lab"] = "rgb"  # lab: L* in, a*b* out (colourisation)
    direction: Literal["AtoB", "BtoA", "both"] = "AtoB"  # input side; both: a 2nd G learns B->A
    image_size: int = 256  # training crop side; a multiple of the U-Net stride (256 or 128)
    load_size: int = 286  # shorter side is resized to this before the random crop (jitter)
    disc_width: int = 64  # D channels in its first layer (ndf)
    disc_layers: int = 3  # PatchGAN depth; 3 gives the paper's 70x70 receptive field
    loss: Literal["nonsaturating", "lsgan"] = "nonsaturating"  # nonsaturating = paper's BCE
    l1_weight: float = 100.0  # lambda: weight of the L1 term against the adversarial one
    batch_size: int = 1  # the paper trains on single images
    ema_decay: float = 0.0  # pix2pix exports the trained G itself; >0 exports a weight EMA

    def __post_init__(self) -> None:
        super().__post_init__()
        stride = 2 ** DEPTHS[self.generator]
        if self.image_size % stride:
            raise ConfigError(f"image_size must be a multiple of {stride} for {self.generator}, "
                              f"got {self.image_size}")
        if self.colour_space == "lab":
            if self.direction == "both":
                raise ConfigError("colour_space=lab translates greyscale -> colour only; "
                                  "direction=both needs colour_space=rgb")
            if (self.in_channels, self.out_channels) != (1, 2):
                raise ConfigError("colour_space=lab needs in_channels=1 (L*) and "
                                  "out_channels=2 (a*b*)")
        else:
            for name in ("in_channels", "out_channels"):
                if getattr(self, name) not in (1, 3):
                    raise ConfigError(f"{name} must be 1 or 3, got {getattr(self, name)}")
        if self.width < 1 or self.disc_width < 1 or self.disc_layers < 1:
            raise ConfigError("width, disc_width and disc_layers must be at least 1")


PRESETS: dict[str, dict[str, Any]] = {
    # The bundled photo -> pencil sketch task on a 2-core CPU in minutes: 128x128 crops and
    # a U-Net a quarter as wide as the paper's (2.6M parameters, 10 MB).
    "starter": {"generator": "unet_128", "width": 16, "disc_width": 16, "image_size": 128,
                "load_size": 256, "in_channels": 3, "out_channels": 1, "norm": "batch",
                "batch_size": 4, "steps": 4000, "lr_decay_fraction": 0.5, "sample_every": 500,
                "checkpoint_every": 500},
    # The paper's configuration (facades: 400 images x 200 epochs, the last 100 decaying),
    # for a GPU: --preset full --data aligned:PATH/facades
    "full": {"generator": "unet_256", "width": 64, "disc_width": 64, "image_size": 256,
             "load_size": 286, "norm": "batch", "batch_size": 1, "steps": 80000,
             "lr_decay_fraction": 0.5, "workers": 4, "sample_every": 2000,
             "checkpoint_every": 2000},
}


class Pix2PixTranslator(Translator):
    name = "pix2pix"
    task = Task.PAIRED
    description = ("Translates an image into its paired counterpart with a U-Net and a "
                   "conditional PatchGAN; the bundled model draws pencil sketches of photos.")
    Config = Pix2PixConfig
    presets = PRESETS
    datasets = ("photo2sketch", "gray2color", "aligned", "paired", "hf-paired")
    hub_repo = "gan-translate/pix2pix"
    image_mode = "RGB"
    output = "image"
    grid_columns = 3  # input | output | target
    inputs = (
        Param(name="image", kind="image", help="The image to translate (any size)."),
        Param(name="direction", kind="choice", choices=("forward", "reverse"),
              default="forward",
              help="forward: the direction the model was trained in (A to B for "
                   "direction=both); reverse: B to A, for weights trained with direction=both."),
        Param(name="fit", kind="choice", choices=("pad", "resize"), default="pad",
              help="How the image is brought to a multiple of the U-Net stride: reflect-pad "
                   "(and crop back) or resize (and resize back)."),
        Param(name="keep_dropout", kind="bool", default=False,
              help="Keep dropout on at test time, as the paper does: varied outputs."),
        Param(name="seed", kind="seed", default=0, help="Dropout noise seed (with keep_dropout)."),
    )
    starter_weights = files("translate_pix2pix") / "starter"
    examples = files("translate_pix2pix") / "examples"  # the two held-out photos

    config: Pix2PixConfig

    @classmethod
    def inputs_for(cls, config: TrainConfig) -> tuple[Param, ...]:
        # One-way weights have no reverse generator: a direction choice would only fail.
        if config.direction == "both":
            return cls.inputs
        return tuple(param for param in cls.inputs if param.name != "direction")

    # ---- networks --------------------------------------------------------------------------

    @property
    def both(self) -> bool:
        """Whether a second pair of networks learns the reverse direction (B -> A)."""
        return self.config.direction == "both"

    def build_generators(self) -> dict[str, torch.nn.Module]:
        c = self.config

        def unet(inputs: int, outputs: int) -> torch.nn.Module:
            net = UNetGenerator(in_channels=inputs, out_channels=outputs,
                                depth=DEPTHS[c.generator], width=c.width, norm=_norm(c.norm),
                                dropout=c.dropout)
            return reference_init(net)

        generators = {"G": unet(c.in_channels, c.out_channels)}
        if self.both:
            generators["G_reverse"] = unet(c.out_channels, c.in_channels)
        return generators

    def build_discriminators(self) -> dict[str, torch.nn.Module]:
        c = self.config

        def patchgan() -> torch.nn.Module:
            # Conditional: D sees the input and an output stacked along channels.
            net = PatchDiscriminator(in_channels=c.in_channels + c.out_channels,
                                     width=c.disc_width, layers=c.disc_layers, norm=_norm(c.norm))
            return reference_init(net)

        return {"D": patchgan(), **({"D_reverse": patchgan()} if self.both else {})}

    def make_dataset(self, source: Source, *, train: bool) -> torch.utils.data.Dataset:
        c = self.config
        return PairedDataset(source, size=c.image_size, load_size=c.load_size,
                             direction="AtoB" if self.both else c.direction,
                             in_channels=c.in_channels,
                             out_channels=c.out_channels, train=train,
                             colour_space=c.colour_space)

    # ---- training ----------------------------------------------------------------------------

    def _directions(self, batch: Batch) -> list[tuple[str, str, torch.Tensor, torch.Tensor]]:
        """(network suffix, output key, input, target) for each direction trained."""
        directions = [("", "image", batch["input"], batch["image"])]
        if self.both:
            directions.append(("_reverse", "reverse", batch["image"], batch["input"]))
        return directions

    def generate(self, nets: Networks, batch: Batch) -> Batch:
        return {key: nets["G" + suffix](inputs)
                for suffix, key, inputs, _ in self._directions(batch)}

    def discriminator_loss(self, nets: Networks, batch: Batch, generated: Batch) -> Losses:
        losses = {}
        # The paper halves D's objective to slow D relative to G; the shared LSGAN terms
        # already carry that half.
        half = 0.5 if self.config.loss == "nonsaturating" else 1.0
        for suffix, key, inputs, target in self._directions(batch):
            discriminator = nets["D" + suffix]
            real = discriminator(torch.cat([inputs, target], 1))
            fake = discriminator(torch.cat([inputs, generated[key]], 1))
            real_term, fake_term = discriminator_loss(self.config.loss, real, fake)
            losses |= {"real" + suffix: half * real_term, "fake" + suffix: half * fake_term}
        return losses

    def generator_loss(self, nets: Networks, batch: Batch, generated: Batch) -> Losses:
        losses = {}
        for suffix, key, inputs, target in self._directions(batch):
            fake = nets["D" + suffix](torch.cat([inputs, generated[key]], 1))
            losses |= {"adversarial" + suffix: generator_loss(self.config.loss, fake),
                       "l1" + suffix: self.config.l1_weight * F.l1_loss(generated[key], target)}
        return losses

    def sample_inputs(self, heldout: Batch, count: int) -> Batch:
        rows = min(8, len(heldout["input"]))
        target = heldout["rgb" if self.config.colour_space == "lab" else "image"]
        return {"input": heldout["input"][:rows], "target": _channels(target[:rows], 3)}

    def sample(self, generators: Networks, inputs: Batch) -> torch.Tensor:
        output = self.to_image(inputs["input"], generators.G(inputs["input"]))
        # One row per example: input | output | target.
        shown = [_channels(self.to_image(inputs["input"]), 3), _channels(output, 3),
                 inputs["target"]]
        return torch.stack(shown, 1).flatten(0, 1)

    def to_image(self, inputs: torch.Tensor, outputs: torch.Tensor | None = None) -> torch.Tensor:
        """Network outputs as pictures: L* joined with a*b* in lab, unchanged in rgb.

        Without outputs, the input as a picture (in lab, L* with no colour).
        """
        if self.config.colour_space != "lab":
            return inputs if outputs is None else outputs
        if outputs is None:
            outputs = inputs.new_zeros(len(inputs), 2, *inputs.shape[2:])
        return lab_to_rgb(inputs, outputs.to(inputs.dtype))

    # ---- use ---------------------------------------------------------------------------------

    @property
    def stride(self) -> int:
        return 2 ** DEPTHS[self.config.generator]

    @torch.no_grad()
    def translate(self, images: torch.Tensor, *, fit: str = "pad", keep_dropout: bool = False,
                  seed: int = 0, reverse: bool = False) -> torch.Tensor:
        """(N, in_channels, H, W) in [-1, 1], any H and W -> (N, out_channels, H, W).

        `reverse` runs the B -> A generator of a direction=both model (channels swapped).
        """
        if reverse and not self.both:
            raise ConfigError(f"these weights translate {self.config.direction} only; a model "
                              "trained with --set direction=both has the reverse too")
        generator = self.generators["G_reverse" if reverse else "G"]
        was_training = generator.training
        generator.eval()
        if keep_dropout:
            for module in generator.modules():
                if isinstance(module, torch.nn.Dropout):
                    module.train()
        size = images.shape[-2:]
        if fit == "resize":
            fitted = tuple(max(self.stride, round(s / self.stride) * self.stride) for s in size)
            images = F.interpolate(images, size=fitted, mode="bicubic", antialias=True,
                                   align_corners=False).clamp(-1, 1)
        else:
            images, _ = pad_to_multiple(images, self.stride)
        devices = [self.device] if self.device.type == "cuda" else []
        try:
            with torch.random.fork_rng(devices=devices) if keep_dropout else \
                    contextlib.nullcontext():
                if keep_dropout:
                    torch.manual_seed(seed)
                output = generator(images.to(self.device))
        finally:
            generator.train(was_training)
        if fit == "resize":
            return F.interpolate(output, size=tuple(size), mode="bicubic", antialias=True,
                                 align_corners=False).clamp(-1, 1)
        return crop_to(output, tuple(size))

    def infer(self, *, image: Image.Image, direction: str = "forward", fit: str = "pad",
              keep_dropout: bool = False, seed: int = 0) -> list[Image.Image]:
        reverse = direction == "reverse"
        lab = self.config.colour_space == "lab"
        channels = self.config.out_channels if reverse else self.config.in_channels
        pixels = to_tensor(np.asarray(to_mode(image, "L" if channels == 1 and not lab
                                              else "RGB")))[None]
        if lab:
            pixels, _ = rgb_to_lab(pixels)  # the colour of a colour upload is replaced
        output = self.translate(pixels, fit=fit, keep_dropout=keep_dropout, seed=seed,
                                reverse=reverse)
        return tensor_to_pil(self.to_image(pixels, output.cpu()))

    # ---- judging ------------------------------------------------------------------------------

    @torch.no_grad()
    def evaluate(self, heldout: Source, train: Source) -> dict[str, float]:
        """PSNR, SSIM and L1 on held-out pairs, next to two trivial baselines.

        Baselines: the input itself (as many channels as the output: for greyscale ->
        colour, the grey photo), and the mean training target (the best constant image
        in L2). Both use the same held-out tiles as the model. In lab, every figure is
        on the RGB picture (L* joined with a*b*), not on a*b* alone.
        """
        dataset = self.make_dataset(heldout, train=False)
        if len(dataset) == 0:
            raise DataError(f"{heldout.name}: no held-out pairs to evaluate")
        picture = "rgb" if self.config.colour_space == "lab" else "image"
        items = [dataset[i] for i in range(len(dataset))]
        inputs = torch.stack([item["input"] for item in items])
        targets = torch.stack([item[picture] for item in items])
        train_set = self.make_dataset(train, train=False)
        train_items = [train_set[i] for i in range(len(train_set))]
        metrics = {"heldout_pairs": float(len(items))}
        directions = [("", inputs, targets, torch.stack([i[picture] for i in train_items]))]
        if self.both:  # B -> A too, measured the same way, its figures prefixed reverse_
            directions.append(("reverse_", targets, inputs,
                               torch.stack([i["input"] for i in train_items])))
        for prefix, sources, wanted, train_targets in directions:
            outputs = self.to_image(sources, torch.cat([
                self.translate(sources[i:i + EVAL_BATCH], reverse=bool(prefix)).cpu()
                for i in range(0, len(sources), EVAL_BATCH)]))
            baselines = {"input": _channels(self.to_image(sources), wanted.shape[1]),
                         "train_mean": train_targets.mean(0).expand_as(wanted)}
            for name, measure in (("psnr", psnr), ("ssim", ssim), ("l1", l1)):
                metrics[prefix + name] = measure(outputs, wanted)
                for baseline, images in baselines.items():
                    metrics[f"{prefix}{name}_baseline_{baseline}"] = measure(images, wanted)
        return metrics

    def save_pretrained(self, folder: Any, **options: Any) -> Any:
        """The Hub layout, with the model card's note saying what is unusual and the margins."""
        c, notes = self.config, []
        if c.width < 64 or c.disc_width < 64:
            params = sum(p.numel() for p in self.generators.parameters())
            notes.append(f"This is a narrower U-Net than the paper's: width {c.width} instead "
                         f"of 64 ({params / 1e6:.1f}M parameters), so that it trains on a CPU "
                         "in minutes.")
        m = options.get("metrics") or {}
        if {"psnr", "psnr_baseline_input", "psnr_baseline_train_mean"} <= set(m):
            notes.append(
                f"On {m.get('heldout_pairs', 0):.0f} held-out pairs: PSNR {m['psnr']:.2f} dB "
                f"against {m['psnr_baseline_input']:.2f} dB for the input itself "
                f"({m['psnr'] - m['psnr_baseline_input']:+.2f} dB) and "
                f"{m['psnr_baseline_train_mean']:.2f} dB for the mean training target "
                f"({m['psnr'] - m['psnr_baseline_train_mean']:+.2f} dB); SSIM {m['ssim']:.3f} "
                f"against {m['ssim_baseline_input']:.3f} and {m['ssim_baseline_train_mean']:.3f}"
                f"; L1 {m['l1']:.4f} against {m['l1_baseline_input']:.4f} and "
                f"{m['l1_baseline_train_mean']:.4f}.")
        if notes:
            provenance = dict(options.get("provenance") or {})
            provenance["notes"] = " ".join([provenance.get("notes", ""), *notes]).strip()
            options["provenance"] = provenance
        return super().save_pretrained(folder, **options)


def _norm(kind: str) -> NormKind:
    return "batch" if kind == "batch" else "instance"


def _channels(images: torch.Tensor, channels: int) -> torch.Tensor:
    """Show greyscale as colour or colour as greyscale (luma), for grids and baselines."""
    if images.shape[1] == channels:
        return images
    if channels == 3:
        return images.expand(-1, 3, -1, -1)
    weights = images.new_tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    return (images * weights).sum(1, keepdim=True)
