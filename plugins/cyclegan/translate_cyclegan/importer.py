"""Other projects' CycleGAN generators in our Hub layout: detect the layout, then filter.

Two layouts are read, each told apart by its residual blocks' key names:

- the reference `ResnetGenerator` of junyanz/pytorch-CycleGAN-and-pix2pix
  (`latest_net_G_A.pth`, `horse2zebra.pth`, ...; `model.<i>.conv_block.<j>`): architecture
  `resnet`, detected by `translate_cyclegan.model.detect`;
- PyTorch-GAN's `GeneratorResNet`, as the HugGAN Hub repos hold it (`pytorch_model.bin`, or
  the `model.safetensors` copy; `model.<i>.block.<j>`): architecture `pytorch_gan_resnet`,
  detected by `translate_cyclegan.pytorch_gan.detect`.

Our modules have those files' key names, so filtering only places each file's tensors under
the generator of its direction. A file holds one generator: the folder translates that
`--direction` only, unless `--reverse` brings the other direction's (the HugGAN repos hold
only G_AB, so they import one way).
"""

from __future__ import annotations

from typing import Any

import torch

from translate import Param
from translate.hub.importers import Importer
from translate_cyclegan import model, pytorch_gan
from translate_cyclegan.translator import GENERATOR, CycleGANConfig, CycleGANTranslator

OTHER = {"AtoB": "BtoA", "BtoA": "AtoB"}
# Each layout's module reads its files: detect(state) -> constructor arguments or None, and
# filter_state(state) -> the state as that network loads it.
LAYOUTS = {"pytorch_gan_resnet": pytorch_gan, "resnet": model}


def detect(state: dict[str, torch.Tensor], *, direction: str = "AtoB",
           reverse: str | None = None) -> dict[str, Any] | None:
    """Config values for a file of either layout, or None if it is neither."""
    for arch, layout in LAYOUTS.items():
        if (found := layout.detect(state)) is not None:
            found.pop("channels", None)  # PyTorch-GAN's: 3, which its detect checks
            return {"arch": arch, **found, "direction": "both" if reverse else direction}
    return None


def filter_state(state: dict[str, torch.Tensor], config: CycleGANConfig, role: str, *,
                 direction: str = "AtoB", reverse: str | None = None) -> dict[str, torch.Tensor]:
    """The file's tensors under its generator; the other one untrained if there is one file.

    `direction` is the main file's way; the `reverse` file takes the other one.
    """
    way = direction if role == "file" else OTHER[direction]
    state = LAYOUTS[config.arch].filter_state(state)
    tensors = {f"{GENERATOR[way]}.{key}": value for key, value in state.items()}
    if role == "file" and not reverse:
        # The folder holds both generators; the other one stays untrained (the same every
        # time) and refuses to translate (`direction`).
        other = GENERATOR[OTHER[way]]
        untrained = CycleGANTranslator(config).untrained(seed=config.seed).generators[other]
        tensors.update({f"{other}.{key}": value for key, value in untrained.state_dict().items()})
    return tensors


IMPORTER = Importer(
    translator="cyclegan",
    description="reference ResnetGenerator .pth files (horse2zebra.pth, latest_net_G_A.pth, "
                "...; 6 or 9 blocks) and PyTorch-GAN/HugGAN GeneratorResNet files "
                "(pytorch_model.bin, model.safetensors); the layout is read from the keys",
    detect=detect,
    filter=filter_state,
    options=(Param(name="direction", kind="choice", choices=("AtoB", "BtoA"), default="AtoB",
                   help="Which way the file translates: G_A files map A to B (AtoB), "
                        "G_B files B to A (BtoA); HugGAN files hold G_AB (AtoB)."),
             Param(name="reverse", kind="file",
                   help="A second file, for the other direction (latest_net_G_B.pth with "
                        "latest_net_G_A.pth, zebra2horse.pth with horse2zebra.pth), so the "
                        "folder translates both ways.")),
)
