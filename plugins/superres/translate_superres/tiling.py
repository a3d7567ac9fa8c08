"""Upscaling images of any size tile by tile, with no seams.

The image stays on the CPU. Each tile is cut out together with `overlap` pixels of
context on every side, moved to the device, upscaled, and only its core (without the
context) is written into the uint8 output, so peak device memory depends on the tile
size alone and host memory on the output size. With enough context every output pixel
sees (nearly) the neighbourhood it would see untiled, which is why the seams vanish:
this is the scheme of Real-ESRGAN's `tile`/`tile_pad` options, without blending.

Each finished tile is reported to `translate.progress` (the demo's progress bar); a request
past its time limit stops there, at a tile boundary.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import numpy as np
import torch

from translate.nn import crop_to, pad_to_multiple
from translate.progress import report

Upscaler = Callable[[torch.Tensor], torch.Tensor]


def _to_uint8(images: torch.Tensor) -> np.ndarray:
    # (1, C, h, w) in [0, 1] -> (h, w, C) uint8
    return images[0].float().clamp(0, 1).mul(255).round().to(torch.uint8).permute(1, 2, 0).cpu() \
        .numpy()


@torch.no_grad()
def upscale_tiled(net: Upscaler, image: torch.Tensor, *, scale: int, tile: int, overlap: int,
                  multiple: int = 1, device: torch.device | str = "cpu",
                  dtype: torch.dtype | None = None) -> np.ndarray:
    """Upscale (1, C, H, W) in [0, 1] on the CPU to an (H*scale, W*scale, C) uint8 array.

    `tile` is the core size in input pixels (0 = the whole image at once), `overlap` the
    context added on each side, `multiple` what the network needs its input sides to be
    divisible by, and `dtype` an autocast precision for CUDA (None = fp32).
    """
    if image.ndim != 4 or image.shape[0] != 1:
        raise ValueError(f"expected one image as (1, C, H, W), got {tuple(image.shape)}")
    height, width = image.shape[-2:]
    channels = image.shape[1]
    device = torch.device(device)
    autocast = (torch.autocast(device.type, dtype=dtype) if dtype is not None
                else contextlib.nullcontext())

    def run(piece: torch.Tensor) -> torch.Tensor:
        with autocast:
            return net(piece.to(device))

    # Padding the whole image once (not each tile) keeps every tile's pixels what the
    # untiled pass sees; tiles and context in whole multiples keep pixel-unshuffle aligned.
    padded, _ = pad_to_multiple(image, multiple)
    if tile <= 0 or (height <= tile and width <= tile):
        report(0, 1)
        whole = _to_uint8(crop_to(run(padded), (height * scale, width * scale)))
        report(1, 1)
        return whole
    tile, overlap = -(-tile // multiple) * multiple, -(-overlap // multiple) * multiple
    full_h, full_w = padded.shape[-2:]
    output = np.empty((height * scale, width * scale, channels), np.uint8)
    corners = [(top, left) for top in range(0, height, tile) for left in range(0, width, tile)]
    for done, (top, left) in enumerate(corners):
        report(done, len(corners))
        bottom, right = min(top + tile, full_h), min(left + tile, full_w)
        # Context on each side, clipped at the image border (where untiled has none either).
        y0, x0 = max(top - overlap, 0), max(left - overlap, 0)
        y1, x1 = min(bottom + overlap, full_h), min(right + overlap, full_w)
        out = run(padded[..., y0:y1, x0:x1])
        # The core, less any of the image-wide padding it holds.
        keep_h, keep_w = min(bottom, height) - top, min(right, width) - left
        core = out[..., (top - y0) * scale:(top - y0 + keep_h) * scale,
                   (left - x0) * scale:(left - x0 + keep_w) * scale]
        output[top * scale:(top + keep_h) * scale,
               left * scale:(left + keep_w) * scale] = _to_uint8(core)
    report(len(corners), len(corners))
    return output
