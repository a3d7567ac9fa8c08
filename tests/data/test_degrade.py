"""translate.data.degrade: degraded pairs are pure functions of (record, seed); the benchmark."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from translate.data.degrade import (
    DEGRADATIONS,
    DegradedPairs,
    bicubic,
    degradation,
    downscale,
    restoration_benchmark,
)
from translate.data.source import InMemorySource
from translate.data.tensors import to_tensor
from translate.metrics.fidelity import psnr, ssim


def images(count: int = 3, size: tuple[int, int] = (37, 30)) -> InMemorySource:
    rng = np.random.default_rng(0)
    return InMemorySource("noise", [Image.fromarray(rng.integers(0, 256, (*size[::-1], 3),
                                                                 np.uint8))
                                    for _ in range(count)], heldout=[])


@pytest.mark.parametrize("kind", DEGRADATIONS)
@pytest.mark.parametrize("scale", [1, 2])
def test_pairs_have_the_sizes_and_key_asked_for_and_repeat(kind: str, scale: int) -> None:
    data = DegradedPairs(images(), scale=scale, patch=8, train=True, kind=kind, key="noisy")
    item = data[(1, 99)]
    assert item.keys() == {"image", "noisy"}
    assert item["image"].shape == (3, 8 * scale, 8 * scale) and item["noisy"].shape == (3, 8, 8)
    assert item["noisy"].min() >= -1 and item["noisy"].max() <= 1
    again = data[(1, 99)]
    assert torch.equal(item["image"], again["image"]) and torch.equal(item["noisy"], again["noisy"])


def test_held_out_pairs_are_plain_bicubic() -> None:
    data = DegradedPairs(images(), scale=2, patch=8, train=False, kind="real-esrgan")
    item = data[0]
    clean = ((item["image"].permute(1, 2, 0) + 1) * 127.5).round().byte().numpy()
    assert torch.equal(item["degraded"], to_tensor(bicubic(clean, (8, 8))))


def test_an_unknown_degradation_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown degradation 'jpeg'; known: bicubic"):
        degradation("jpeg", 8)  # type: ignore[arg-type]


def upscale(image: Image.Image) -> Image.Image:
    return image.resize((image.width * 2, image.height * 2), Image.BICUBIC)


def test_the_benchmark_is_the_super_resolution_convention() -> None:
    source = images()  # 37x30: cropped to 36x30 for scale 2
    scores = restoration_benchmark(upscale, source, scale=2)
    assert scores.keys() == {"psnr", "ssim", "baseline_psnr", "baseline_ssim"}
    # upscale is the bicubic baseline itself, so both score the same
    assert scores["psnr"] == scores["baseline_psnr"] and scores["ssim"] == scores["baseline_ssim"]
    by_hand: dict[str, list[float]] = {"psnr": [], "ssim": []}
    for index in range(len(source)):
        clean = np.asarray(source[index]["image"])[:30, :36]
        restored = np.asarray(upscale(Image.fromarray(downscale(clean, 2))))
        by_hand["psnr"].append(psnr(restored, clean, border=2, y_channel=True))
        by_hand["ssim"].append(ssim(restored, clean, border=2, y_channel=True))
    assert scores["psnr"] == float(np.mean(by_hand["psnr"]))
    assert scores["ssim"] == float(np.mean(by_hand["ssim"]))


def test_the_benchmark_takes_any_degradation_and_border() -> None:
    noisy = lambda pixels, scale: np.clip(pixels.astype(int) + 20, 0, 255).astype(np.uint8)  # noqa: E731
    identity = lambda image: image  # noqa: E731
    scores = restoration_benchmark(identity, images(), degrade=noisy,
                                   baseline=lambda pixels, size: pixels, border=0,
                                   y_channel=False)
    assert scores["psnr"] == scores["baseline_psnr"] < 30
