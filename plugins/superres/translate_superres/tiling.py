"""Deprecated: tiled upscaling moved to `translate.inference.anysize.run_any_size`.

`upscale_tiled` still works, with a DeprecationWarning, until gan-translate 0.3.
"""

from functools import partial

from translate.data.tensors import tensor_to_uint8
from translate.deprecation import moved
from translate.inference.anysize import run_any_size


def _upscale_tiled(net, image, *, scale, tile, overlap, **options):
    """(1, C, H, W) in [0, 1] -> (H*scale, W*scale, C) uint8; `multiple`, `device` and
    `dtype` are run_any_size's."""
    if image.ndim != 4 or image.shape[0] != 1:
        raise ValueError(f"expected one image as (1, C, H, W), got {tuple(image.shape)}")
    return run_any_size(net, image, scale=scale, tile=tile, overlap=overlap,
                        postprocess=partial(tensor_to_uint8, unit=True), **options)[0]


__getattr__ = moved(__name__, {"upscale_tiled": (
    _upscale_tiled, "translate.inference.anysize.run_any_size(..., postprocess=partial("
    "tensor_to_uint8, unit=True))")})
