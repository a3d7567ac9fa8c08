"""Reading generators trained with the reference pix2pix code (`latest_net_G.pth`).

junyanz/pytorch-CycleGAN-and-pix2pix saves `UnetGenerator.state_dict()`; our U-Net uses
the same module names, so conversion is a check, not a renaming. The file says enough to
rebuild the network: depth (how many levels nest), width and channels (the outermost
convolution shapes) and the norm (batch-norm layers carry weights; instance-norm layers
carry nothing, or stale running statistics in files from PyTorch < 0.4).
"""

from __future__ import annotations

from pathlib import Path

import torch

from translate import Param
from translate.errors import WeightsError
from translate.hub.importers import Importer, read_reference_state_dict
from translate_pix2pix.model import DEPTHS
from translate_pix2pix.translator import Pix2PixTranslator

OUTER = "model.model."  # the outermost level's Sequential
RUNNING_STATS = ("running_mean", "running_var", "num_batches_tracked")


def level_prefix(level: int) -> str:
    """Key prefix of level `level`'s Sequential (0 = full resolution); index 1, then 3s."""
    return OUTER if level == 0 else OUTER + "1.model." + "3.model." * (level - 1)


def detect(state: dict[str, torch.Tensor], path: Path) -> dict[str, object]:
    """Depth, width, channels and norm, read from the keys and shapes of a reference file."""
    first = OUTER + "0.weight"
    if first not in state or state[first].ndim != 4:
        bad = first if first not in state else f"{first} (shape {tuple(state[first].shape)})"
        raise WeightsError(f"{path}: not a reference U-Net generator: no {bad}; "
                           f"first key is {next(iter(state), 'none')}")
    depth = 1
    while level_prefix(depth) + "1.weight" in state:
        depth += 1
    names = {d: n for n, d in DEPTHS.items()}
    if depth not in names:
        raise WeightsError(f"{path}: a U-Net with {depth} levels; pix2pix reads unet_128 (7) "
                           f"and unet_256 (8) (deepest key: {level_prefix(depth - 1)}1.weight)")
    last = OUTER + "3.weight"
    if last not in state:
        raise WeightsError(f"{path}: missing key {last} (the outermost up-convolution)")
    norm_key = level_prefix(1) + "2.weight"
    return {"generator": names[depth], "width": state[first].shape[0],
            "in_channels": state[first].shape[1], "out_channels": state[last].shape[1],
            "norm": "batch" if norm_key in state else "instance"}


def convert(path: Path, norm: str | None = None, dropout: bool = True) -> Pix2PixTranslator:
    """Build a pix2pix translator holding the file's generator, checked key by key."""
    state = read_reference_state_dict(path)
    found = detect(state, path)
    if norm is not None and norm != found["norm"]:
        key = level_prefix(1) + "2.weight"
        what = "has" if found["norm"] == "batch" else "lacks"
        raise WeightsError(f"{path}: --norm {norm} given, but the file {what} {key} "
                           f"(a {found['norm']}-norm checkpoint)")
    size = 2 ** DEPTHS[str(found["generator"])]
    channels = (found["in_channels"], found["out_channels"])
    if 2 in channels and channels != (1, 2):
        raise WeightsError(f"{path}: {channels[0]} input and {channels[1]} output channels; "
                           "pix2pix reads 1 or 3 each, or 1 -> 2 (L* -> a*b* colourisation)")
    # 1 -> 2 channels is the reference's colorization model: L* in, a*b* out.
    space = "lab" if channels == (1, 2) else "rgb"
    overrides = {**{k: str(v) for k, v in found.items()}, "colour_space": space,
                 "dropout": str(dropout).lower(),
                 "image_size": str(size), "load_size": str(size * 286 // 256)}
    translator = Pix2PixTranslator(Pix2PixTranslator.make_config("full", overrides))
    generator = translator.generators.G
    expected = generator.state_dict()
    for key, tensor in state.items():
        if key not in expected:
            # Instance norm in PyTorch < 0.4 saved running statistics; the reference's own
            # loader drops them too, since instance norm does not use them.
            if found["norm"] == "instance" and key.endswith(RUNNING_STATS):
                continue
            raise WeightsError(f"{path}: unexpected key {key} for a {found['generator']} with "
                               f"{found['norm']} norm")
        if tensor.shape != expected[key].shape:
            raise WeightsError(f"{path}: {key} has shape {tuple(tensor.shape)}, expected "
                               f"{tuple(expected[key].shape)}")
    loaded = {}
    for key, tensor in expected.items():
        if key in state:
            loaded[key] = state[key].to(tensor.dtype)
        elif key.endswith("num_batches_tracked"):
            loaded[key] = tensor  # files from PyTorch < 0.4 lack this counter; eval ignores it
        else:
            raise WeightsError(f"{path}: missing key {key} for a {found['generator']} with "
                               f"{found['norm']} norm")
    generator.load_state_dict(loaded, strict=True)
    return translator.eval()


IMPORTER = Importer(
    translator="pix2pix",
    description="latest_net_G.pth generators of junyanz/pytorch-CycleGAN-and-pix2pix "
                "(unet_256 / unet_128, e.g. the published facades_label2photo, edges2shoes, "
                "sat2map, map2sat, day2night); the variant is read from the file.",
    convert=convert,
    options=(
        Param(name="norm", kind="choice", choices=("batch", "instance"), default=None,
              help="Normalisation the file was trained with (default: read from the file)."),
        Param(name="dropout", kind="bool", default=True,
              help="Whether the network has dropout (--no-dropout for --no_dropout models)."),
    ),
)
