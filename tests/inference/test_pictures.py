"""translate.inference.pictures: precision choices and transparency kept around a network."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from translate.errors import ConfigError
from translate.inference.pictures import inference_dtype, restore_alpha, split_alpha

CPU, CUDA = torch.device("cpu"), torch.device("cuda")


def test_auto_is_fp16_on_cuda_and_full_precision_elsewhere() -> None:
    assert inference_dtype("auto", CUDA) is torch.float16
    assert inference_dtype("auto", CPU) is None
    assert inference_dtype("bf16", CPU) is torch.bfloat16
    assert inference_dtype("fp32", CUDA) is None


@pytest.mark.parametrize(("precision", "message"), [
    ("fp16", "precision fp16 needs CUDA; use fp32 or bf16 on the CPU"),
    ("int8", "unknown precision 'int8'; known: auto, fp32, fp16, bf16"),
])
def test_what_cannot_run_is_refused_in_one_line(precision: str, message: str) -> None:
    with pytest.raises(ConfigError, match=f"^{message}$"):
        inference_dtype(precision, CPU)


def test_transparency_is_split_off_and_put_back_at_the_output_size() -> None:
    rgba = np.zeros((6, 8, 4), np.uint8)
    rgba[..., :3], rgba[..., 3] = 200, 255
    rgba[2:4, 2:6, 3] = 0
    rgb, alpha = split_alpha(Image.fromarray(rgba))
    assert rgb.mode == "RGB" and alpha is not None and alpha.size == (8, 6)
    result = restore_alpha(rgb.resize((16, 12)), alpha)
    assert result.mode == "RGBA" and result.size == (16, 12)
    assert np.array_equal(np.asarray(result.getchannel("A")),
                          np.asarray(alpha.resize((16, 12), Image.BICUBIC)))


@pytest.mark.parametrize(("mode", "colour"), [("RGB", (1, 2, 3)), ("RGBA", (1, 2, 3, 255)),
                                               ("LA", (9, 255)), ("L", 9)])
def test_an_opaque_or_plain_picture_has_no_alpha_to_keep(mode: str, colour) -> None:
    rgb, alpha = split_alpha(Image.new(mode, (5, 4), colour))
    assert alpha is None and rgb.mode == "RGB"
    assert restore_alpha(rgb, None).mode == "RGB"
