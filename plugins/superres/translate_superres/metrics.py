"""Deprecated: PSNR-Y and SSIM-Y are `translate.metrics.fidelity.psnr/ssim(..., y_channel=True)`.

`psnr_y`, `ssim_y` and `luma` still work, with a DeprecationWarning, until gan-translate 0.3.
"""

from functools import partial

from translate.deprecation import moved
from translate.metrics.fidelity import psnr, ssim

__getattr__ = moved(__name__, {
    "luma": "translate.metrics.fidelity.luma",
    "psnr_y": (partial(psnr, y_channel=True),
               "translate.metrics.fidelity.psnr(..., border=, y_channel=True)"),
    "ssim_y": (partial(ssim, y_channel=True),
               "translate.metrics.fidelity.ssim(..., border=, y_channel=True)"),
})
