"""cyclegan: unpaired image-to-image translation in both directions (Zhu et al. 2017)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from typing import Annotated, Any, Literal

import torch
import torch.nn.functional as F
from PIL import Image

from translate import Architecture, Batch, Losses, Networks, Param, Task, TrainConfig, Translator
from translate.config import AT_LEAST_1, NOT_NEGATIVE, Range
from translate.data.source import Source
from translate.data.tensors import pil_to_tensor, tensor_to_pil
from translate.data.unpaired import UnpairedDataset
from translate.errors import ConfigError, WeightsError
from translate.inference.anysize import run_any_size
from translate.inference.export import image_inputs
from translate.losses import discriminator_loss, generator_loss
from translate.nn import reference_init
from translate_cyclegan.evaluation import evaluate_translation
from translate_cyclegan.model import HistoryPatchDiscriminator, ResnetGenerator
from translate_cyclegan.pytorch_gan import GeneratorResNet

Direction = Literal["AtoB", "BtoA"]
# Which generator runs each direction: G_A maps A to B, G_B maps B to A (the reference's names).
GENERATOR = {"AtoB": "G_A", "BtoA": "G_B"}
# The bottleneck's 3x3 reflection pads need at least 2 pixels at 1/4 resolution.
MIN_SIDE = 8


@dataclass(kw_only=True)
class CycleGANConfig(TrainConfig):
    image_size: Annotated[int, Range(16)] = 256  # side of the random training crop, a multiple of 4
    load_size: Annotated[int, AT_LEAST_1] = 286  # images' shorter side before the random crop
    blocks: Annotated[int, NOT_NEGATIVE] = 9  # residual blocks per generator (paper: 9 at 256 px)
    width: Annotated[int, AT_LEAST_1] = 64  # generator channels at full size (ngf), 4x in blocks
    dropout: bool = False  # dropout in the residual blocks (the reference's CycleGAN has none)
    d_width: Annotated[int, AT_LEAST_1] = 64  # channels of the PatchGAN's first layer (ndf)
    d_layers: Annotated[int, AT_LEAST_1] = 3  # PatchGAN depth; 3 makes each output judge 70x70 px
    norm: Literal["instance", "batch"] = "instance"  # instance norm, as in the paper
    cycle_weight: Annotated[float, NOT_NEGATIVE] = 10.0  # times each cycle L1 term (lambda_A/B)
    # The identity term weighs cycle_weight * identity_weight (0 turns it off): identity_weight
    # is a share of the cycle weight, as the reference's lambda_identity is of lambda_A/B.
    identity_weight: Annotated[float, NOT_NEGATIVE] = 0.5  # x cycle_weight = the identity L1 weight
    history: Annotated[int, NOT_NEGATIVE] = 50  # fakes each D keeps, shown half the time (0 = none)
    direction: Literal["both", "AtoB", "BtoA"] = "both"  # ways the weights translate (imports: one)
    batch_size: int = 1  # the paper trains with single images
    lr_decay_fraction: float = 0.5  # 100 epochs constant then 100 decaying, as in the paper
    ema_decay: float = 0.0  # the reference keeps no weight average

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.image_size % ResnetGenerator.stride:
            raise ConfigError(f"image_size must be a multiple of 4, got {self.image_size}")
        if self.arch == "pytorch_gan_resnet" and (self.dropout or self.norm != "instance"):
            raise ConfigError("pytorch_gan_resnet has instance norm and no dropout: leave "
                              "norm=instance and dropout=false")


PRESETS: dict[str, dict[str, Any]] = {
    # The bundled photo2painting task on a CPU in about 10 minutes of one core: 64 px tiles,
    # generators smaller than the paper's (6 blocks, 16 channels) so the weights stay small,
    # batch 4 (more images per second than batch 1 on a CPU) and an EMA of the generators,
    # which steadies what a short run exports.
    "starter": {"image_size": 64, "load_size": 72, "blocks": 6, "width": 16, "d_width": 32,
                "batch_size": 4, "steps": 2700, "lr_decay_fraction": 0.5, "ema_decay": 0.999,
                "sample_every": 300, "checkpoint_every": 600, "log_every": 50},
    # The reference configuration on a GPU (resnet_9blocks, 256 px, batch 1): 200 epochs of
    # horse2zebra's 1334 images; pass --data unpaired:PATH/TO/horse2zebra.
    "full": {"steps": 266800, "lr_decay_fraction": 0.5, "workers": 4,
             "sample_every": 5000, "checkpoint_every": 5000, "log_every": 100},
}


class CycleGANTranslator(Translator):
    name = "cyclegan"
    task = Task.UNPAIRED
    description = ("Translates an image between two domains learned from unpaired examples "
                   "(bundled: photo <-> painting), in either direction.")
    Config = CycleGANConfig
    presets = PRESETS
    datasets = ("photo2painting", "unpaired", "hf", "folder")
    hub_repo = "gan-translate/cyclegan"
    image_mode = "RGB"
    grid_columns = 6  # per row: A, G_A(A), G_B(G_A(A)), B, G_B(B), G_A(G_B(B))
    inputs = (
        Param(name="image", kind="image", help="Image to translate (any size)."),
        Param(name="direction", kind="choice", choices=("AtoB", "BtoA"), default="AtoB",
              help="AtoB maps domain A to B (bundled: photo to painting); BtoA the reverse."),
    )
    output = "image"
    starter_weights = files("translate_cyclegan") / "starter"
    examples = files("translate_cyclegan") / "examples"
    architectures = {
        # The paper's resnet_9blocks is blocks=9, resnet_6blocks blocks=6 (the reference's names).
        "resnet": Architecture(ResnetGenerator, description=(
            "the reference ResnetGenerator (junyanz/pytorch-CycleGAN-and-pix2pix): transposed-"
            "conv decoder, instance or batch norm; reads latest_net_G_A.pth, horse2zebra.pth")),
        "pytorch_gan_resnet": Architecture(GeneratorResNet, description=(
            "PyTorch-GAN's GeneratorResNet, the HugGAN Hub repos' layout: nearest-upsampling "
            "decoder, instance norm, no dropout; reads their pytorch_model.bin")),
    }
    # v1 folders (the bundled starter, imports and pushes before host v2) used these names.
    renamed_fields = {"directions": "direction", "disc_width": "d_width",
                      "disc_layers": "d_layers", "lambda_cycle": "cycle_weight",
                      "lambda_identity": "identity_weight"}

    config: CycleGANConfig

    # ---- networks -----------------------------------------------------------------------------

    def build_generators(self) -> dict[str, torch.nn.Module]:
        return {name: reference_init(self.build_network()) for name in ("G_A", "G_B")}

    def build_discriminators(self) -> dict[str, torch.nn.Module]:
        # D_A judges domain B (G_A's output) and D_B judges domain A, as in the reference.
        c = self.config
        return {name: reference_init(HistoryPatchDiscriminator(
                    in_channels=3, width=c.d_width, layers=c.d_layers, norm=c.norm,
                    history=c.history, image_size=c.image_size))
                for name in ("D_A", "D_B")}

    def make_dataset(self, source: Source, *, train: bool) -> UnpairedDataset:
        c = self.config
        return UnpairedDataset(source, size=c.image_size, load_size=c.load_size,
                               mode=self.image_mode, train=train)

    # ---- one adversarial step ------------------------------------------------------------------

    def generate(self, nets: Networks, batch: Batch) -> Batch:
        return {"fake_B": nets.G_A(batch["A"]), "fake_A": nets.G_B(batch["B"])}

    def discriminator_loss(self, nets: Networks, batch: Batch, generated: Batch) -> Losses:
        losses = {}
        for critic, real, fake in (("D_A", batch["B"], generated["fake_B"]),
                                   ("D_B", batch["A"], generated["fake_A"])):
            shown = _unwrap(nets[critic]).history.query(fake)
            real_logits, fake_logits = self._batched(nets[critic], real, shown)
            losses[f"{critic}_real"], losses[f"{critic}_fake"] = discriminator_loss(
                "lsgan", real_logits, fake_logits)
        return losses

    def generator_loss(self, nets: Networks, batch: Batch, generated: Batch) -> Losses:
        c = self.config
        real_a, real_b = batch["A"], batch["B"]
        fake_b, fake_a = generated["fake_B"], generated["fake_A"]
        identity = c.identity_weight > 0
        # Each generator runs once on its cycle input and, for the identity term, on a real
        # image of its output domain (fed an image already in its target domain, a generator
        # should leave it alone: this keeps colours from drifting, Zhu et al. 2017, 5.2).
        rec_b, *idt_a = self._batched(nets.G_A, fake_a, *([real_b] if identity else []))
        rec_a, *idt_b = self._batched(nets.G_B, fake_b, *([real_a] if identity else []))
        losses = {
            "G_A": generator_loss("lsgan", nets.D_A(fake_b)),
            "G_B": generator_loss("lsgan", nets.D_B(fake_a)),
            "cycle_A": c.cycle_weight * F.l1_loss(rec_a, real_a),
            "cycle_B": c.cycle_weight * F.l1_loss(rec_b, real_b),
        }
        if identity:
            weight = c.cycle_weight * c.identity_weight
            losses["identity_A"] = weight * F.l1_loss(idt_a[0], real_b)
            losses["identity_B"] = weight * F.l1_loss(idt_b[0], real_a)
        return losses

    def _batched(self, network: torch.nn.Module, *inputs: torch.Tensor) -> list[torch.Tensor]:
        """network(x) for each input; in one call under instance norm, which normalises each
        image on its own, so the result is the same and fewer, larger calls run faster."""
        if self.config.norm != "instance" or len(inputs) == 1:
            return [network(x) for x in inputs]
        return list(network(torch.cat(inputs)).split([len(x) for x in inputs]))

    # ---- seeing, using and judging ----------------------------------------------------------

    def sample_inputs(self, heldout: Batch, count: int) -> Batch:
        rows = max(1, count // self.grid_columns)
        return {"A": heldout["A"][:rows], "B": heldout["B"][:rows]}

    def sample(self, generators: Networks, inputs: Batch) -> torch.Tensor:
        real_a, real_b = inputs["A"], inputs["B"]
        fake_b, fake_a = generators.G_A(real_a), generators.G_B(real_b)
        columns = [real_a, fake_b, generators.G_B(fake_b), real_b, fake_a, generators.G_A(fake_a)]
        return torch.stack(columns, 1).flatten(0, 1)

    @torch.no_grad()
    def translate(self, images: torch.Tensor, direction: Direction) -> torch.Tensor:
        """(N, 3, H, W) in [-1, 1], any H and W -> the other domain, same size (on the CPU)."""
        if self.config.direction not in ("both", direction):
            raise WeightsError(f"these weights translate {self.config.direction} only (one "
                               f"generator was imported); {direction} needs the other one")
        stride = self.architecture.network.stride
        net = self.runner(GENERATOR[direction], channels=images.shape[1], multiple=stride)
        return run_any_size(net, images, min_size=MIN_SIDE, multiple=stride, device=self.device)

    def export_inputs(self, name: str) -> list[tuple[torch.Tensor, ...]]:
        return image_inputs(3, self.architecture.network.stride)

    def infer(self, *, image: Image.Image, direction: Direction = "AtoB") -> list[Image.Image]:
        pixels = pil_to_tensor(image.convert(self.image_mode))
        return tensor_to_pil(self.translate(pixels, direction))

    @torch.no_grad()
    def evaluate(self, heldout: Source, train: Source) -> dict[str, float]:
        """Cycle error, target-domain share by an independent classifier, Fréchet distance.

        See `translate_cyclegan.evaluation`; every figure comes with its baseline.
        """
        data = self.make_dataset(heldout, train=False)
        return evaluate_translation(self, data.domain(0), data.domain(1))

    def card_notes(self, metrics: Mapping[str, float]) -> str:
        """A sentence for the model card when the generators are smaller than the paper's."""
        c = self.config
        if (c.blocks, c.width) == (9, 64) or c.direction != "both":
            return ""
        return (f"The generators are smaller than the paper's resnet_9blocks (9 residual "
                f"blocks, 64 channels): {c.blocks} blocks of width {c.width}, trained on "
                f"{c.image_size} px crops, so that training fits a laptop CPU.")


def _unwrap(module: torch.nn.Module) -> torch.nn.Module:
    """The module itself, under a DistributedDataParallel wrapper if there is one."""
    return getattr(module, "module", module)
