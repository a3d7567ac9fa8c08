"""LaMa's published checkpoints as inpaint weights: `translate import inpaint big-lama.zip`.

The host reads the file without running code (the zip's one checkpoint, a PyTorch
Lightning 1.2 file, or a safetensors copy), unwraps its `state_dict`, builds the
translator from what `detect` reads off the keys and shapes, and loads `filter`'s
tensors strictly. Only the `generator.` keys are kept: the discriminator's, the losses'
(ResNetPL's segmentation encoder) and the evaluator's are not part of an inference folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from translate.errors import WeightsError
from translate.hub.importers import Importer
from translate_inpaint import lama
from translate_inpaint.translator import InpaintTranslator

FIXED = InpaintTranslator.architectures["lama"].fixed  # what the plugin feeds and expects


def detect(state: Mapping[str, torch.Tensor], **_: Any) -> dict[str, Any] | None:
    """{"arch": "lama", ...the generator's config values}, or None for another layout."""
    found = lama.detect(state)
    if found is None:
        return None
    for key in ("in_channels", "out_channels"):
        if found[key] != FIXED[key]:
            raise WeightsError(f"a LaMa generator with {key}={found[key]}; the inpaint plugin "
                               f"runs {key}={FIXED[key]} (RGB image + mask in, RGB out)")
    return {"arch": "lama", **{k: v for k, v in found.items() if k not in FIXED}}


def filter_lama(state: Mapping[str, torch.Tensor], config: Any,
                role: str) -> dict[str, torch.Tensor]:
    """The generator's tensors under the translator's names (`G.model.N...`)."""
    return {f"G.{key}": value for key, value in lama.filter_state(state).items()}


# The starter preset completes the detected values: its 64x64 held-out crops are the
# starter's own, so `translate eval inpaint` figures of an import compare with the card's.
IMPORTER = Importer(
    translator="inpaint",
    description="LaMa checkpoints: big-lama.zip (big-lama/models/best.ckpt, a Lightning "
                "checkpoint), a .ckpt, or a .safetensors copy of its generator",
    detect=detect,
    filter=filter_lama,
    preset="starter",
)
