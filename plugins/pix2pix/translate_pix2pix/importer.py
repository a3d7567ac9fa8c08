"""Reading pix2pix generators trained elsewhere: one importer, two layouts.

- junyanz/pytorch-CycleGAN-and-pix2pix's `latest_net_G.pth` (`UnetGenerator`, nested
  keys `model.model.1.model.3.…`): `unet_256` or `unet_128`, see `model.detect`;
- eriklindernoren/PyTorch-GAN's `GeneratorUNet` as the HugGAN Hub repos hold it
  (`pytorch_model.bin` or `model.safetensors`, keys `down1.model.0.weight` …):
  `pytorch_gan_unet`, see `pytorch_gan.detect`.

Which one a file is, is read off its keys. Our networks use the files' module names, so
filtering is prefixing them with the generator's name; the host reads the file, builds
the translator from what `detect` found and loads strictly.
"""

from __future__ import annotations

from typing import Any

import torch

from translate import Param
from translate.errors import WeightsError
from translate.hub.importers import Importer
from translate_pix2pix import model, pytorch_gan
from translate_pix2pix.translator import STRIDES


def detect(state: dict[str, torch.Tensor], *, norm: str | None = None,
           dropout: bool = True) -> dict[str, Any] | None:
    """Config values for either layout, or None; `norm` only confirms the file's norm."""
    found = pytorch_gan.detect(state, norm=norm) or model.detect(state, norm=norm)
    if found is None:
        return None
    channels = (found["in_channels"], found["out_channels"])
    if channels != (1, 2) and not set(channels) <= {1, 3}:
        raise WeightsError(f"{channels[0]} input and {channels[1]} output channels; pix2pix "
                           "reads 1 or 3 each, or 1 -> 2 (L* -> a*b* colourisation)")
    size = STRIDES[found["arch"]]
    # 1 -> 2 channels is the reference's colorization model: L* in, a*b* out. Training
    # crops default to the stride, the reference's own load size scaled alike. PyTorch-GAN's
    # G is instance-normalised, so a D trained next to it is too.
    return {"norm": "instance", **found, "dropout": dropout, "image_size": size,
            "load_size": size * 286 // 256, "colour_space": "lab" if channels == (1, 2) else "rgb"}


def filter_state(state: dict[str, torch.Tensor], config: Any, role: str) -> dict[str, Any]:
    """The file's tensors under the translator's keys (`G.` + the file's own)."""
    if config.arch == pytorch_gan.ARCH:
        state = pytorch_gan.filter_state(state)
    return {"G." + key: value for key, value in state.items()}


IMPORTER = Importer(
    translator="pix2pix",
    description="latest_net_G.pth generators of junyanz/pytorch-CycleGAN-and-pix2pix "
                "(unet_256 / unet_128, e.g. the published facades_label2photo, edges2shoes, "
                "sat2map, map2sat, day2night) and PyTorch-GAN's GeneratorUNet as the HugGAN "
                "Hub repos hold it (pytorch_model.bin or model.safetensors); the layout and "
                "variant are read from the file.",
    detect=detect,
    filter=filter_state,
    options=(
        Param(name="norm", kind="choice", choices=("batch", "instance"), default=None,
              help="Normalisation the file was trained with (default: read from the file)."),
        Param(name="dropout", kind="bool", default=True,
              help="Whether the network has dropout (--no-dropout for --no_dropout models)."),
    ),
)
