"""pix2pix: translate an image into its paired counterpart (Isola et al. 2017).

https://arxiv.org/abs/1611.07004. A U-Net generator learns G(x) ≈ y from aligned pairs
with an L1 term (the low frequencies) and a conditional PatchGAN (the high frequencies:
D judges local patches of input and output side by side).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from importlib.resources import files
from typing import Annotated, Any, Literal

import torch
import torch.nn.functional as F
from PIL import Image

from translate import Architecture, Batch, Losses, Networks, Param, Task, Translator
from translate.config import Range, TrainConfig
from translate.data import paired
from translate.data.images import to_mode
from translate.data.sources import Source
from translate.data.tensors import pil_to_tensor, tensor_to_pil
from translate.errors import ConfigError, DataError
from translate.evaluation import in_chunks, stack_items
from translate.inference.anysize import run_any_size
from translate.inference.export import image_inputs
from translate.losses import discriminator_loss, generator_loss
from translate.nn import PatchDiscriminator, reference_init
from translate_pix2pix import pytorch_gan
from translate_pix2pix.colour import lab_to_rgb, rgb_to_lab
from translate_pix2pix.data import OWN_SOURCES, LabPairs
from translate_pix2pix.model import DEPTHS, UNetGenerator

EVAL_BATCH = 8  # held-out tiles per forward pass in evaluate()

ARCHITECTURES = {
    "unet_256": Architecture(UNetGenerator, fixed={"depth": DEPTHS["unet_256"]},
                             description="the paper's U-Net: 8 halvings, 256 px shrink to 1x1"),
    "unet_128": Architecture(UNetGenerator, fixed={"depth": DEPTHS["unet_128"]},
                             description="the reference's 7-level U-Net, for 128 px crops"),
    pytorch_gan.ARCH: Architecture(
        pytorch_gan.GeneratorUNet,
        description="eriklindernoren/PyTorch-GAN's flat U-Net (the HugGAN Hub models): "
                    "8 levels, instance norm (`norm` applies to D only)"),
}
# Image sides (and training crops) must be multiples of these.
STRIDES = {name: 2 ** depth for name, depth in DEPTHS.items()} | \
    {pytorch_gan.ARCH: pytorch_gan.GeneratorUNet.stride}


@dataclass(kw_only=True)
class Pix2PixConfig(TrainConfig):
    width: Annotated[int, Range(1)] = 64  # G channels at full size (ngf); doubled per level, to 8x
    norm: Literal["batch", "instance"] = "batch"  # normalisation in D, and in G for unet_*
    dropout: bool = True  # dropout 0.5 near the bottleneck: the paper's noise
    in_channels: int = 3  # input channels; 1 = greyscale, inputs are converted on the way in
    out_channels: int = 3  # output channels (2 with colour_space=lab: a*b*)
    colour_space: Literal["rgb", "lab"] = "rgb"  # lab: L* in, a*b* out (colourisation)
    direction: Literal["AtoB", "BtoA", "both"] = "AtoB"  # input side; both: a 2nd G learns B->A
    image_size: Annotated[int, Range(1)] = 256  # training crop side; a multiple of the stride
    load_size: Annotated[int, Range(1)] = 286  # shorter side resized to this before the random crop
    d_width: Annotated[int, Range(1)] = 64  # D channels in its first layer (ndf)
    d_layers: Annotated[int, Range(1)] = 3  # PatchGAN depth; 3: the paper's 70x70 receptive field
    loss: Literal["nonsaturating", "lsgan"] = "nonsaturating"  # nonsaturating = paper's BCE
    l1_weight: Annotated[float, Range(0)] = 100.0  # lambda: the L1 term's weight against the GAN's
    batch_size: int = 1  # the paper trains on single images
    ema_decay: float = 0.0  # pix2pix exports the trained G itself; >0 exports a weight EMA

    def __post_init__(self) -> None:
        super().__post_init__()
        arch = self.arch or next(iter(ARCHITECTURES))
        if arch in STRIDES and self.image_size % STRIDES[arch]:
            raise ConfigError(f"image_size must be a multiple of {STRIDES[arch]} for {arch}, "
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


PRESETS: dict[str, dict[str, Any]] = {
    # The bundled photo -> pencil sketch task on a 2-core CPU in minutes: 128x128 crops and
    # a U-Net a quarter as wide as the paper's (2.6M parameters, 10 MB).
    "starter": {"arch": "unet_128", "width": 16, "d_width": 16, "image_size": 128,
                "load_size": 256, "in_channels": 3, "out_channels": 1, "norm": "batch",
                "batch_size": 4, "steps": 4000, "lr_decay_fraction": 0.5, "sample_every": 500,
                "checkpoint_every": 500},
    # The paper's configuration (facades: 400 images x 200 epochs, the last 100 decaying),
    # for a GPU: --preset full --data aligned:PATH/facades
    "full": {"arch": "unet_256", "width": 64, "d_width": 64, "image_size": 256,
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
    architectures = ARCHITECTURES
    # What the weights compute also depends on these: L*a*b* or RGB pixels, and whether
    # there is a reverse generator (direction=both).
    model_fields = ("colour_space", "direction")
    # Format-1 folders (the bundled starter among them) used the old names.
    renamed_fields = {"generator": "arch", "disc_width": "d_width", "disc_layers": "d_layers"}
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
              help="How the image is brought to a multiple of the U-Net stride (128 or 256): "
                   "reflect-pad (and crop back) or resize (and resize back)."),
        Param(name="keep_dropout", kind="bool", default=False,
              help="Keep dropout on at test time, as the paper does: varied outputs."),
        Param(name="seed", kind="seed", default=0, help="Dropout noise seed (with keep_dropout)."),
    )
    starter_weights = files("translate_pix2pix") / "starter"
    examples = files("translate_pix2pix") / "examples"  # the two held-out photos
    curated = files("translate_pix2pix") / "curated.json"  # the HugGAN Hub checkpoints

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
        generators = {"G": reference_init(self.build_network())}
        if self.both:
            generators["G_reverse"] = reference_init(
                self.build_network(in_channels=c.out_channels, out_channels=c.in_channels))
        return generators

    def build_discriminators(self) -> dict[str, torch.nn.Module]:
        c = self.config

        def patchgan() -> torch.nn.Module:
            # Conditional: D sees the input and an output stacked along channels.
            net = PatchDiscriminator(in_channels=c.in_channels + c.out_channels,
                                     width=c.d_width, layers=c.d_layers, norm=c.norm)
            return reference_init(net)

        return {"D": patchgan(), **({"D_reverse": patchgan()} if self.both else {})}

    def make_dataset(self, source: Source, *, train: bool) -> torch.utils.data.Dataset:
        c = self.config
        paired.needs_pairs(source, needed_by="pix2pix", also=OWN_SOURCES)
        options = {"size": c.image_size, "load_size": c.load_size, "train": train,
                   "direction": "AtoB" if self.both else c.direction}
        if c.colour_space == "lab":
            return LabPairs(source, **options)
        return paired.PairedDataset(source, in_channels=c.in_channels,
                                    out_channels=c.out_channels, **options)

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
        return {"input": heldout["input"][:rows], "target": paired.match_channels(target[:rows], 3)}

    def sample(self, generators: Networks, inputs: Batch) -> torch.Tensor:
        output = self.to_image(inputs["input"], generators.G(inputs["input"]))
        # One row per example: input | output | target.
        shown = [paired.match_channels(self.to_image(inputs["input"]), 3),
                 paired.match_channels(output, 3), inputs["target"]]
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

    @torch.no_grad()
    def translate(self, images: torch.Tensor, *, fit: str = "pad", keep_dropout: bool = False,
                  seed: int = 0, reverse: bool = False) -> torch.Tensor:
        """(N, in_channels, H, W) in [-1, 1], any H and W -> (N, out_channels, H, W) on the CPU.

        `reverse` runs the B -> A generator of a direction=both model (channels swapped).
        """
        if reverse and not self.both:
            raise ConfigError(f"these weights translate {self.config.direction} only; a model "
                              "trained with --set direction=both has the reverse too")
        name = "G_reverse" if reverse else "G"
        generator = self.generators[name]
        # Dropout at test time is a training-mode network: only eager PyTorch runs that.
        net = generator if keep_dropout else self.runner(
            name, channels=images.shape[1], multiple=STRIDES[self.config.arch])
        was_training = generator.training
        generator.eval()
        for module in generator.modules():  # dropout on at test time only if asked
            if isinstance(module, torch.nn.Dropout):
                module.train(keep_dropout)
        # Seeded noise that leaves the caller's random state as it was.
        try:
            with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda"
                                       else []):
                torch.manual_seed(seed)
                return run_any_size(net, images, multiple=STRIDES[self.config.arch],
                                    fit=fit, clamp=(-1, 1), device=self.device)
        finally:
            generator.train(was_training)

    def export_inputs(self, name: str) -> list[tuple[torch.Tensor, ...]]:
        channels = self.config.in_channels if name == "G" else self.config.out_channels
        return image_inputs(channels, STRIDES[self.config.arch])

    def infer(self, *, image: Image.Image, direction: str = "forward", fit: str = "pad",
              keep_dropout: bool = False, seed: int = 0) -> list[Image.Image]:
        reverse = direction == "reverse"
        lab = self.config.colour_space == "lab"
        channels = self.config.out_channels if reverse else self.config.in_channels
        pixels = pil_to_tensor(to_mode(image, "L" if channels == 1 and not lab else "RGB"))
        if lab:
            pixels, _ = rgb_to_lab(pixels)  # the colour of a colour upload is replaced
        output = self.translate(pixels, fit=fit, keep_dropout=keep_dropout, seed=seed,
                                reverse=reverse)
        return tensor_to_pil(self.to_image(pixels, output))

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
        held = stack_items(dataset, keys=("input", picture))
        trained = stack_items(self.make_dataset(train, train=False), keys=("input", picture))
        inputs, targets = held["input"], held[picture]
        metrics = {"heldout_pairs": float(len(inputs))}
        directions = [("", inputs, targets, trained[picture])]
        if self.both:  # B -> A too, measured the same way, its figures prefixed reverse_
            directions.append(("reverse_", targets, inputs, trained["input"]))
        for prefix, sources, wanted, train_targets in directions:
            run = partial(self.translate, reverse=bool(prefix))
            outputs = self.to_image(sources, in_chunks(run, sources, size=EVAL_BATCH))
            metrics |= paired.fidelity_with_baselines(
                outputs, wanted, inputs=self.to_image(sources), train_targets=train_targets,
                prefix=prefix)
        return metrics

    def card_notes(self, metrics: Mapping[str, float]) -> str:
        """What is unusual about these weights, and the margins over the baselines."""
        c, m, notes = self.config, metrics, []
        if c.width < 64 or c.d_width < 64:
            params = sum(p.numel() for p in self.generators.parameters())
            notes.append(f"This is a narrower U-Net than the paper's: width {c.width} instead "
                         f"of 64 ({params / 1e6:.1f}M parameters), so that it trains on a CPU "
                         "in minutes.")
        if {"psnr", "psnr_baseline_input", "psnr_baseline_train_mean"} <= set(m):
            notes.append(paired.describe_fidelity(m, pairs=round(m.get("heldout_pairs", 0))))
        return " ".join(notes)

