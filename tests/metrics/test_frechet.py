import pickle

import numpy as np
import pytest
import torch

from translate.data.pipeline import to_tensor
from translate.metrics import frechet
from translate.metrics.frechet import frechet_distance
from translate.plugins import open_source


def faces(part: str) -> torch.Tensor:
    source = open_source("lfw").split(part)
    return torch.stack([to_tensor(np.asarray(source[i]["image"])) for i in range(len(source))])


@pytest.fixture
def no_inception(monkeypatch, tmp_path):
    monkeypatch.setenv("TRANSLATE_INCEPTION_WEIGHTS", str(tmp_path / "absent.pth"))


def test_identical_sets_are_at_distance_zero(no_inception):
    images = torch.rand(12, 3, 25, 25) * 2 - 1
    result = frechet_distance(images, images)
    assert result.features == "random-conv"
    assert result.value == pytest.approx(0.0, abs=1e-6)


def test_real_faces_are_closer_to_faces_than_blurred_noise_is(no_inception):
    train, heldout = faces("train"), faces("heldout")
    noise = torch.nn.functional.avg_pool2d(torch.rand_like(train) * 2 - 1, 5, 1, 2)
    assert frechet_distance(heldout, train).value < frechet_distance(heldout, noise).value / 2


def test_random_features_ignore_the_global_seed(no_inception):
    images = torch.rand(8, 1, 16, 16) * 2 - 1
    other = images.flip(-1)
    torch.manual_seed(1)
    first = frechet_distance(images, other).value
    torch.manual_seed(2)
    assert frechet_distance(images, other).value == first


def test_too_few_images_is_a_clear_error():
    with pytest.raises(ValueError, match="at least 2"):
        frechet_distance(torch.zeros(1, 3, 8, 8), torch.zeros(4, 3, 8, 8))


@pytest.fixture
def random_inception_weights(tmp_path, monkeypatch):
    """The Inception FID weights layout with random values (the real file is a download)."""
    module = pytest.importorskip("torch_fidelity.feature_extractor_inceptionv3")
    with monkeypatch.context() as patch:
        patch.setattr(module, "load_state_dict_from_url", lambda *args, **kwargs: None)
        patch.setattr(module.FeatureExtractorInceptionV3, "load_state_dict", lambda *args: None)
        network = module.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    path = tmp_path / frechet.INCEPTION_FILE
    torch.save(network.state_dict(), path)
    monkeypatch.setenv("TRANSLATE_INCEPTION_WEIGHTS", str(path))
    return path


@pytest.mark.slow  # a full InceptionV3 at 299x299 on the CPU
def test_inception_is_used_when_its_weights_are_on_disk(random_inception_weights):
    images = torch.rand(3, 3, 32, 32) * 2 - 1
    result = frechet_distance(images, images)
    assert result.features == "inception"
    assert result.value == pytest.approx(0.0, abs=1e-3)


class Payload:
    def __reduce__(self):
        return (print, ("executed",))


def test_inception_weights_are_never_unpickled(random_inception_weights, monkeypatch):
    random_inception_weights.write_bytes(pickle.dumps(Payload()))
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    with pytest.raises(pickle.UnpicklingError):
        frechet_distance(torch.zeros(2, 3, 8, 8), torch.zeros(2, 3, 8, 8), features="inception")
