"""The shared losses: adversarial terms, and the VGG perceptual loss from local weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torchvision.models.vgg import cfgs, make_layers

from translate.losses import discriminator_loss, generator_loss
from translate.losses.perceptual import (
    VGG_CONFIGS,
    VGGPerceptualLoss,
    vgg_available,
    vgg_layer_indices,
    vgg_weights_path,
)


@pytest.mark.parametrize("kind", ["hinge", "nonsaturating", "lsgan"])
def test_adversarial_losses_reward_the_right_side(kind: str) -> None:
    # D's output 1 means "real" and 0 "fake" under every kind (LSGAN's targets exactly).
    says_real, says_fake = torch.ones(4, 1), torch.zeros(4, 1)
    real_term, fake_term = discriminator_loss(kind, real=says_real, fake=says_fake)
    fooled_real, fooled_fake = discriminator_loss(kind, real=says_fake, fake=says_real)
    assert real_term < fooled_real and fake_term < fooled_fake
    assert generator_loss(kind, says_real) < generator_loss(kind, says_fake)


def test_an_unknown_adversarial_loss_is_refused() -> None:
    with pytest.raises(ValueError, match="wasserstein"):
        generator_loss("wasserstein", torch.zeros(1))  # type: ignore[arg-type]


def test_layer_names_follow_the_papers() -> None:
    vgg16, vgg19 = vgg_layer_indices(16), vgg_layer_indices(19)
    # torchvision's vgg16().features: relu1_2, relu2_2, relu3_3 sit at 3, 8, 15.
    assert [vgg16[n] for n in ("relu1_2", "relu2_2", "relu3_3", "conv5_3")] == [3, 8, 15, 28]
    # ESRGAN's VGG19 taps (before activation).
    assert [vgg19[n] for n in ("conv1_2", "conv2_2", "conv3_4", "conv4_4", "conv5_4")] == \
        [2, 7, 16, 25, 34]


def truncated_vgg(path: Path, depth: int, last: int) -> Path:
    """A torchvision-layout VGG file holding only layers 0..last, random values."""
    torch.manual_seed(0)
    features = make_layers(cfgs[VGG_CONFIGS[depth]])[: last + 1]
    torch.save({f"features.{k}": v for k, v in features.state_dict().items()}, path)
    return path


@pytest.fixture
def loss(tmp_path: Path) -> VGGPerceptualLoss:
    weights = truncated_vgg(tmp_path / "vgg19.pth", 19, vgg_layer_indices(19)["conv2_2"])
    return VGGPerceptualLoss(depth=19, layers={"conv1_2": 0.1, "conv2_2": 1.0}, weights=weights)


def test_the_loss_is_zero_for_equal_images_and_grows_with_difference(
        loss: VGGPerceptualLoss) -> None:
    image = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    assert loss(image, image) == 0
    slightly = loss((image + 0.05).clamp(0, 1), image)
    very = loss(torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(2)), image)
    assert 0 < slightly < very


def test_gradients_reach_the_result_only_and_vgg_stays_frozen(
        loss: VGGPerceptualLoss) -> None:
    fake = torch.rand(1, 3, 16, 16, requires_grad=True)
    real = torch.rand(1, 3, 16, 16, requires_grad=True)
    loss.train()
    loss(fake, real).backward()
    assert fake.grad is not None and fake.grad.abs().sum() > 0
    assert real.grad is None
    assert not loss.features.training
    assert all(not p.requires_grad for p in loss.parameters())


def test_a_conv_tap_is_taken_before_its_relu(tmp_path: Path) -> None:
    # With an in-place ReLU after conv1_2, its stored features would all be >= 0 and a
    # result differing only where conv1_2 is negative would score zero.
    weights = truncated_vgg(tmp_path / "vgg16.pth", 16, vgg_layer_indices(16)["relu1_2"])
    before = VGGPerceptualLoss(depth=16, layers={"conv1_2": 1.0}, weights=weights)
    after = VGGPerceptualLoss(depth=16, layers={"relu1_2": 1.0}, weights=weights)
    a, b = torch.rand(2, 1, 3, 24, 24, generator=torch.Generator().manual_seed(3))
    assert before(a, b) > after(a, b) > 0


def test_unknown_layers_and_missing_files_are_named(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="relu9_9"):
        VGGPerceptualLoss(depth=16, layers={"relu9_9": 1.0}, weights=tmp_path / "x.pth")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert not vgg_available(19)
    assert vgg_weights_path(19) == tmp_path / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth"
