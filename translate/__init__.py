"""gan-translate: image-to-image translation with GAN plugins.

What a plugin author needs is importable from here. Names are imported on first use
(PEP 562), so `import translate` (and so `translate --help`) does not import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from translate.version import __version__

# Every public name of the host, -> the module that defines it. This is the one list:
# docs/reference.md is generated from it (tools/host_reference.py) and tested against it.
_PUBLIC = {
    # the contract
    "Translator": "translate.translator",
    "Architecture": "translate.types",
    "Task": "translate.types",
    "Param": "translate.types",
    "Batch": "translate.types",
    "Losses": "translate.types",
    "Networks": "translate.types",
    "RunInfo": "translate.types",
    "TrainConfig": "translate.config",
    "Range": "translate.config",
    "hookimpl": "translate.hookspecs",
    # errors
    "TranslateError": "translate.errors",
    "ConfigError": "translate.errors",
    "DataError": "translate.errors",
    "ImageError": "translate.errors",
    "WeightsError": "translate.errors",
    # images and tensors
    "open_image": "translate.data.images",
    "save_image": "translate.data.images",
    "to_mode": "translate.data.images",
    "check_pixels": "translate.data.images",
    "hole_array": "translate.data.masks",
    "hole_mask": "translate.data.masks",
    "to_tensor": "translate.data.tensors",
    "to_unit_tensor": "translate.data.tensors",
    "pil_to_tensor": "translate.data.tensors",
    "tensor_to_pil": "translate.data.tensors",
    "tensor_to_uint8": "translate.data.tensors",
    "unit": "translate.data.tensors",
    "signed": "translate.data.tensors",
    # data
    "Source": "translate.data.source",
    "Subset": "translate.data.source",
    "InMemorySource": "translate.data.source",
    "ImageDataset": "translate.data.pipeline",
    "grid_image": "translate.engine.samples",
    # networks and losses
    "PatchDiscriminator": "translate.nn",
    "norm_layer": "translate.nn",
    "reference_init": "translate.nn",
    "pad_to_multiple": "translate.nn",
    "crop_to": "translate.nn",
    "discriminator_loss": "translate.losses",
    "generator_loss": "translate.losses",
    "VGGPerceptualLoss": "translate.losses.perceptual",
    # running and judging
    "run_any_size": "translate.inference.anysize",
    "stack_items": "translate.evaluation",
    "in_chunks": "translate.evaluation",
    "psnr": "translate.metrics.fidelity",
    "ssim": "translate.metrics.fidelity",
    "l1": "translate.metrics.fidelity",
    "pixel_classifier": "translate.metrics",
    "mean_pairwise_distance": "translate.metrics",
    "nearest_distances": "translate.metrics",
    "frechet_distance": "translate.metrics.frechet",
    # weights
    "Importer": "translate.hub.importers",
    "load_state_dict_strict": "translate.hub.layout",
    "read_checkpoint": "translate.hub.reading",
    "find_state_dict": "translate.hub.reading",
}

__all__ = [
    "Architecture", "Batch", "ConfigError", "DataError", "ImageDataset", "ImageError",
    "Importer", "InMemorySource", "Losses", "Networks", "Param", "PatchDiscriminator", "Range",
    "RunInfo", "Source", "Subset", "Task", "TrainConfig", "TranslateError", "Translator",
    "VGGPerceptualLoss", "WeightsError", "__version__", "check_pixels", "crop_to",
    "discriminator_loss", "find_state_dict", "frechet_distance", "generator_loss",
    "grid_image", "hole_array", "hole_mask", "hookimpl", "in_chunks", "l1",
    "load_state_dict_strict", "mean_pairwise_distance", "nearest_distances", "norm_layer",
    "open_image", "pad_to_multiple", "pil_to_tensor", "pixel_classifier", "psnr",
    "read_checkpoint", "reference_init", "run_any_size", "save_image", "signed", "ssim",
    "stack_items", "tensor_to_pil", "tensor_to_uint8", "to_mode", "to_tensor",
    "to_unit_tensor", "unit",
]

if TYPE_CHECKING:  # for type checkers and IDEs; at run time names load on first use
    from translate.config import Range, TrainConfig
    from translate.data.images import check_pixels, open_image, save_image, to_mode
    from translate.data.masks import hole_array, hole_mask
    from translate.data.pipeline import ImageDataset
    from translate.data.source import InMemorySource, Source, Subset
    from translate.data.tensors import (
        pil_to_tensor,
        signed,
        tensor_to_pil,
        tensor_to_uint8,
        to_tensor,
        to_unit_tensor,
        unit,
    )
    from translate.engine.samples import grid_image
    from translate.errors import ConfigError, DataError, ImageError, TranslateError, WeightsError
    from translate.evaluation import in_chunks, stack_items
    from translate.hookspecs import hookimpl
    from translate.hub.importers import Importer
    from translate.hub.layout import load_state_dict_strict
    from translate.hub.reading import find_state_dict, read_checkpoint
    from translate.inference.anysize import run_any_size
    from translate.losses import discriminator_loss, generator_loss
    from translate.losses.perceptual import VGGPerceptualLoss
    from translate.metrics import mean_pairwise_distance, nearest_distances, pixel_classifier
    from translate.metrics.fidelity import l1, psnr, ssim
    from translate.metrics.frechet import frechet_distance
    from translate.nn import (
        PatchDiscriminator,
        crop_to,
        norm_layer,
        pad_to_multiple,
        reference_init,
    )
    from translate.translator import Translator
    from translate.types import Architecture, Batch, Losses, Networks, Param, RunInfo, Task


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'translate' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])
