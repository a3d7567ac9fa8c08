import pytest
import torch

from translate.nn import PatchDiscriminator, crop_to, norm_layer, pad_to_multiple


@pytest.mark.parametrize(("layers", "logits"), [(3, 30), (1, 126)])
def test_patchgan_sees_70x70_patches_with_three_layers(layers, logits):
    discriminator = PatchDiscriminator(in_channels=6, width=8, layers=layers)
    assert discriminator(torch.zeros(2, 6, 256, 256)).shape == (2, 1, logits, logits)


def test_patchgan_keeps_the_reference_module_names():
    keys = set(PatchDiscriminator(in_channels=3, width=8, norm="batch").state_dict())
    assert {"model.0.weight", "model.0.bias", "model.2.weight", "model.3.running_mean",
            "model.11.weight", "model.11.bias"} <= keys
    assert "model.2.bias" not in keys  # batch norm makes the conv bias redundant
    instance = set(PatchDiscriminator(in_channels=3, width=8, norm="instance").state_dict())
    assert "model.2.bias" in instance and not any("running" in key for key in instance)


def test_unknown_norm_is_named():
    with pytest.raises(ValueError, match="unknown norm 'group'"):
        norm_layer("group")


@pytest.mark.parametrize("size", [(37, 50), (64, 64), (3, 70)])
def test_padding_round_trips_any_size(size):
    images = torch.rand(2, 3, *size)
    padded, original = pad_to_multiple(images, 16)
    assert padded.shape[-2] % 16 == 0 and padded.shape[-1] % 16 == 0
    assert torch.equal(crop_to(padded, original), images)
