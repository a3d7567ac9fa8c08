"""PSNR, SSIM and L1 of translate.metrics.fidelity against direct computations."""

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from translate.metrics.fidelity import l1, psnr, ssim


def _pair(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    target = torch.rand(3, 3, 32, 40, generator=g) * 2 - 1
    return (target + 0.1 * torch.randn(3, 3, 32, 40, generator=g)).clamp(-1, 1), target


def test_figures_match_scikit_image_per_image_means():
    output, target = _pair()
    out, ref = ((t.permute(0, 2, 3, 1).numpy().astype(np.float64) + 1) / 2
                for t in (output, target))
    pairs = list(zip(out, ref, strict=True))
    assert psnr(output, target) == pytest.approx(np.mean(
        [peak_signal_noise_ratio(r, o, data_range=1.0) for o, r in pairs]), abs=1e-6)
    assert ssim(output, target) == pytest.approx(np.mean(
        [structural_similarity(o, r, data_range=1.0, channel_axis=-1) for o, r in pairs]),
        abs=1e-6)
    assert l1(output, target) == pytest.approx(np.abs(out - ref).mean(), abs=1e-7)


def test_identical_images_are_perfect_and_shapes_must_agree():
    _, target = _pair(1)
    assert psnr(target, target) == pytest.approx(100.0)
    assert ssim(target, target) == pytest.approx(1.0)
    assert l1(target, target) == 0.0
    with pytest.raises(ValueError, match="one shape"):
        psnr(target, target[:, :1])
