"""Reference CycleGAN generators (`*_net_G_A.pth`, horse2zebra.pth, ...) in our Hub layout.

The reference implementation (github.com/junyanz/pytorch-CycleGAN-and-pix2pix) saves each
`ResnetGenerator` state dict on its own. Our generator uses the same module names, so
import is: read the tensors safely, infer the architecture from the keys, drop the
InstanceNorm running statistics that files from PyTorch < 0.4 carry (the reference's own
loader deletes them too; instance norm ignores them), and load strictly.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
from torch import nn

from translate import Param
from translate.errors import WeightsError
from translate.hub.importers import Importer, read_reference_state_dict
from translate.hub.pretrained import load_state_dict_strict
from translate_cyclegan.translator import GENERATOR, CycleGANTranslator

NORM_STATISTICS = ("running_mean", "running_var", "num_batches_tracked")
_BLOCK = re.compile(r"^model\.(\d+)\.conv_block\.")
FIRST_BLOCK = 10  # model.0-9: stem conv and two downsampling convs, each with norm and ReLU
OTHER = {"AtoB": "BtoA", "BtoA": "AtoB"}


def convert(path: Path, direction: str = "AtoB",
            reverse: str | Path | None = None) -> CycleGANTranslator:
    """A translator whose `direction` generator holds the reference file's weights.

    `reverse` is a second file, for the other direction (`latest_net_G_B.pth` next to
    `latest_net_G_A.pth`, or `zebra2horse.pth` next to `horse2zebra.pth`); the translator
    then works both ways. Both files must have the same architecture: one config holds both.
    """
    files = {direction: Path(path)}
    if reverse:
        files[OTHER[direction]] = Path(reverse)
    states = {way: read_reference_state_dict(file) for way, file in files.items()}
    layouts = {way: architecture(state, files[way]) for way, state in states.items()}
    overrides = layouts[direction]
    for way, layout in layouts.items():
        if layout != overrides:
            raise WeightsError(f"{files[way]}: {_describe(layout)}, but {files[direction]}: "
                               f"{_describe(overrides)}; one folder holds one architecture")
    directions = "both" if reverse else direction
    config = CycleGANTranslator.make_config("full", {**overrides, "directions": directions})
    translator = CycleGANTranslator(config)
    for way, state in states.items():
        generator = translator.generators[GENERATOR[way]]
        load_state_dict_strict(generator, without_instance_norm_statistics(state, generator),
                               source=str(files[way]))
    return translator.eval()


def _describe(layout: dict[str, str]) -> str:
    return ", ".join(f"{key} {value}" for key, value in layout.items())


def architecture(state: dict[str, torch.Tensor], path: Path) -> dict[str, str]:
    """Config overrides (blocks, width, norm, dropout) read off a ResnetGenerator state dict."""
    stem = state.get("model.1.weight")
    if stem is None or stem.ndim != 4 or stem.shape[-2:] != (7, 7):
        first = next(iter(state), "(none)")
        raise WeightsError(f"{path}: not a reference ResnetGenerator (no 7x7 'model.1.weight'; "
                           f"first key {first!r})")
    if stem.shape[1] != 3:
        raise WeightsError(f"{path}: 'model.1.weight' takes {stem.shape[1]} input channels; "
                           "cyclegan translates RGB images (3)")
    blocks = sorted({int(m.group(1)) for key in state if (m := _BLOCK.match(key))})
    if blocks != list(range(FIRST_BLOCK, FIRST_BLOCK + len(blocks))):
        raise WeightsError(f"{path}: residual blocks at model.{blocks[0] if blocks else '?'}..., "
                           f"expected them to start at model.{FIRST_BLOCK} and be consecutive")
    return {
        "blocks": str(len(blocks)),
        "width": str(stem.shape[0]),
        # Batch norm carries affine weights; the reference's instance norm has none.
        "norm": "batch" if "model.2.weight" in state else "instance",
        # Dropout shifts the second conv of each block from index 5 to 6.
        "dropout": str(any(key.endswith(".conv_block.6.weight") for key in state)),
    }


def without_instance_norm_statistics(state: dict[str, torch.Tensor],
                                     module: nn.Module) -> dict[str, torch.Tensor]:
    """The state minus running statistics addressed to InstanceNorm layers."""
    instance_norms = {name for name, layer in module.named_modules()
                      if isinstance(layer, nn.InstanceNorm2d)}
    return {key: value for key, value in state.items()
            if not (key.rpartition(".")[2] in NORM_STATISTICS
                    and key.rpartition(".")[0] in instance_norms)}


IMPORTER = Importer(
    translator="cyclegan",
    description="reference ResnetGenerator .pth files (horse2zebra.pth, latest_net_G_A.pth, "
                "...); 6 or 9 blocks, read with weights_only=True",
    convert=convert,
    options=(Param(name="direction", kind="choice", choices=("AtoB", "BtoA"), default="AtoB",
                   help="Which way the file translates: G_A files map A to B (AtoB), "
                        "G_B files B to A (BtoA)."),
             Param(name="reverse", kind="file",
                   help="A second file, for the other direction (latest_net_G_B.pth with "
                        "latest_net_G_A.pth, zebra2horse.pth with horse2zebra.pth), so the "
                        "folder translates both ways.")),
)
