"""What a translator does around its network when it runs on an uploaded picture.

Two choices every image-to-image translator meets at inference, whatever its network:

* the arithmetic precision (`inference_dtype`): an `autocast` dtype for `run_any_size`'s
  `dtype=`, from a user's "auto" / "fp32" / "fp16" / "bf16";
* transparency (`split_alpha`, `restore_alpha`): a translator with `keeps_alpha` receives
  RGBA pictures, runs its network on the colour and puts the alpha channel back, resized
  to the output, so a transparent logo stays transparent after upscaling or denoising.
"""

from __future__ import annotations

import torch
from PIL import Image

from translate.errors import ConfigError

__all__ = ["PRECISIONS", "inference_dtype", "restore_alpha", "split_alpha"]

PRECISIONS: dict[str, torch.dtype | None] = {"fp32": None, "fp16": torch.float16,
                                             "bf16": torch.bfloat16}


def inference_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for `precision` on `device` (None: full fp32).

    "auto" is fp16 on CUDA (tensor cores) and fp32 elsewhere; fp16 is refused off CUDA,
    where autocast would silently run something else.
    """
    if precision == "auto":
        precision = "fp16" if device.type == "cuda" else "fp32"
    if precision not in PRECISIONS:
        raise ConfigError(f"unknown precision {precision!r}; known: auto, "
                          f"{', '.join(PRECISIONS)}")
    if precision == "fp16" and device.type != "cuda":
        raise ConfigError("precision fp16 needs CUDA; use fp32 or bf16 on the CPU")
    return PRECISIONS[precision]


def split_alpha(image: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    """(the picture in RGB, its alpha channel); alpha None when there is none or it is opaque
    (the host's readers keep an alpha channel for `keeps_alpha` translators either way)."""
    alpha = image.getchannel("A") if image.mode in ("RGBA", "LA") else None
    if alpha is not None and alpha.getextrema()[0] == 255:
        alpha = None
    return image.convert("RGB"), alpha


def restore_alpha(result: Image.Image, alpha: Image.Image | None) -> Image.Image:
    """`result` with `alpha` (bicubic-resized to its size) as its alpha channel; as it is
    for None. Changes `result` in place and returns it."""
    if alpha is not None:
        result.putalpha(alpha.resize(result.size, Image.BICUBIC))
    return result
