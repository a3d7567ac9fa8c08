"""Running a fully convolutional network on an image of any size, tile by tile if asked.

A generator with a stride (a U-Net halving 8 times, a ResNet twice, a pixel-unshuffling
RRDBNet) needs input sides that are multiples of it; some also need a minimum size (their
reflection pads must be smaller than the feature map). `run_any_size` grows tiny inputs
by replication, reflect-pads the rest to the multiple (or resizes, `fit="resize"`), runs,
and crops back, so the caller never sees the network's constraints.

With `tile`, the image stays on the CPU and each tile is cut out together with `overlap`
pixels of context on every side, moved to the device, run, and only its core (without the
context) is kept, so peak device memory depends on the tile size alone. With enough
context every output pixel sees (nearly) the neighbourhood it would see untiled, which is
why seams vanish: Real-ESRGAN's `tile`/`tile_pad` scheme, without blending.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from translate.nn.padding import crop_to, pad_to_multiple

__all__ = ["run_any_size"]

Network = Callable[..., torch.Tensor]
# Called with (tiles done, tiles in all) after each tile, e.g. to show progress or stop.
Progress = Callable[[int, int], None]


@torch.no_grad()
def run_any_size(
    net: Network,
    images: torch.Tensor,
    *extra: torch.Tensor,
    multiple: int = 1,
    min_size: int = 1,
    scale: int = 1,
    fit: Literal["pad", "resize"] = "pad",
    clamp: tuple[float, float] | None = None,
    tile: int = 0,
    overlap: int = 0,
    device: torch.device | str = "cpu",
    dtype: torch.dtype | None = None,
    postprocess: Callable[[torch.Tensor], np.ndarray] | None = None,
    progress: Progress | None = None,
) -> torch.Tensor | np.ndarray:
    """net(images, *extra) for (N, C, H, W) images of any H, W -> (N, C', H*scale, W*scale).

    `extra` inputs (a hole mask) are cut, grown and padded alongside, by replication.
    `fit="resize"` resizes to the nearest multiple instead of padding, and back (bicubic,
    `clamp`ed to the value range). `tile` is the core side in input pixels (0 = the whole
    image at once), `overlap` the context on each side; `dtype` an autocast precision (None
    = fp32). `postprocess` turns each output piece into an array (e.g. uint8 pixels) as it
    arrives, so a large output never exists as floats; without it a CPU tensor is returned.
    """
    if images.ndim != 4:
        raise ValueError(f"expected images as (N, C, H, W), got {tuple(images.shape)}")
    device = torch.device(device)
    height, width = images.shape[-2:]
    autocast = (torch.autocast(device.type, dtype=dtype) if dtype is not None
                else contextlib.nullcontext())

    def run(*pieces: torch.Tensor) -> torch.Tensor:
        with autocast:
            return net(*(p.to(device) for p in pieces))

    if fit == "resize":
        fitted = tuple(max(multiple, round(s / multiple) * multiple) for s in (height, width))
        resized = _resize(images, fitted, clamp)
        out = _resize(run(resized, *(_resize(e, fitted, None) for e in extra)).float(),
                      (height * scale, width * scale), clamp)
        return postprocess(out) if postprocess is not None else out.cpu()

    grown = [_grow(x, min_size) for x in (images, *extra)]
    # Padding the whole image once (not each tile) keeps every tile's pixels what the
    # untiled pass sees.
    padded = [pad_to_multiple(grown[0], multiple)[0],
              *(pad_to_multiple(e, multiple, mode="replicate")[0] for e in grown[1:])]
    full_h, full_w = padded[0].shape[-2:]
    if tile <= 0 or (height <= tile and width <= tile):
        out = crop_to(run(*padded), (height * scale, width * scale))
        if progress is not None:
            progress(1, 1)
        return postprocess(out) if postprocess is not None else out.float().cpu()

    # Tiles and context in whole multiples keep strides (pixel-unshuffle) aligned.
    tile, overlap = -(-tile // multiple) * multiple, -(-overlap // multiple) * multiple
    tops, lefts = range(0, height, tile), range(0, width, tile)
    total, done, output = len(tops) * len(lefts), 0, None
    for top in tops:
        for left in lefts:
            bottom, right = min(top + tile, full_h), min(left + tile, full_w)
            # Context on each side, clipped at the image border (where untiled has none either).
            y0, x0 = max(top - overlap, 0), max(left - overlap, 0)
            y1, x1 = min(bottom + overlap, full_h), min(right + overlap, full_w)
            out = run(*(p[..., y0:y1, x0:x1] for p in padded))
            # The core, less any of the image-wide padding it holds.
            keep_h, keep_w = min(bottom, height) - top, min(right, width) - left
            core = out[..., (top - y0) * scale:(top - y0 + keep_h) * scale,
                       (left - x0) * scale:(left - x0 + keep_w) * scale]
            piece = postprocess(core) if postprocess is not None else core.float().cpu()
            if output is None:
                output = _empty_like(piece, height * scale, width * scale)
            rows = slice(top * scale, (top + keep_h) * scale)
            cols = slice(left * scale, (left + keep_w) * scale)
            if isinstance(output, np.ndarray):  # (N, H, W, C) pixels
                output[:, rows, cols] = piece
            else:
                output[..., rows, cols] = piece
            done += 1
            if progress is not None:
                progress(done, total)
    return output


def _grow(images: torch.Tensor, least: int) -> torch.Tensor:
    """Stretch an input smaller than `least` on a side by replicating its last rows/columns."""
    height, width = images.shape[-2:]
    grow = (0, max(0, least - width), 0, max(0, least - height))
    return F.pad(images, grow, mode="replicate") if any(grow) else images


def _resize(images: torch.Tensor, size: tuple[int, int],
            clamp: tuple[float, float] | None) -> torch.Tensor:
    resized = F.interpolate(images, size=size, mode="bicubic", antialias=True,
                            align_corners=False)
    return resized.clamp(*clamp) if clamp is not None else resized


def _empty_like(piece: torch.Tensor | np.ndarray, height: int,
                width: int) -> torch.Tensor | np.ndarray:
    if isinstance(piece, np.ndarray):
        return np.empty((piece.shape[0], height, width, *piece.shape[3:]), piece.dtype)
    return torch.empty((*piece.shape[:2], height, width), dtype=piece.dtype)
