"""The superres demo tab end to end, over HTTP with gradio_client (as tests/demo does)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from translate_demo.testing import demo_client, untrained_weights
from translate_superres.translator import SuperResTranslator

pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")
TINY = {"features": "8", "blocks": "1", "growth": "8", "patch": "8"}


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return untrained_weights(SuperResTranslator, TINY, tmp_path_factory.mktemp("weights"))


@pytest.fixture(scope="module")
def client(weights: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    with demo_client({"superres": SuperResTranslator}, weights={"superres": weights},
                     downloads=tmp_path_factory.mktemp("downloads")) as client:
        yield client


def upscale(client: Client, path: Path, scale: str) -> tuple[np.ndarray, np.ndarray]:
    before, after = client.predict(handle_file(str(path)), scale, 64, 16, "auto",
                                   api_name="/superres")
    with Image.open(before) as b, Image.open(after) as a:
        return np.asarray(b), np.asarray(a)


@pytest.mark.parametrize("scale", ["4", "2"])
def test_before_and_after_side_by_side(client: Client, weights: Path, tmp_path: Path,
                                       scale: str) -> None:
    pixels = np.random.default_rng(1).integers(0, 256, (30, 45, 3), np.uint8)
    Image.fromarray(pixels).save(tmp_path / "small.png")
    before, after = upscale(client, tmp_path / "small.png", scale)
    factor = int(scale)
    assert before.shape == after.shape == (30 * factor, 45 * factor, 3)
    # before: the upload itself, each pixel enlarged; after: what the translator makes
    np.testing.assert_array_equal(before[::factor, ::factor], pixels)
    local = SuperResTranslator.from_pretrained(weights)
    with torch.no_grad():
        (expected,) = local.infer(image=Image.fromarray(pixels), scale=scale, tile=64, overlap=16)
    np.testing.assert_array_equal(after, np.asarray(expected))


def test_bundled_examples_run(client: Client) -> None:
    folder = Path(str(SuperResTranslator.examples))
    examples = sorted(folder.glob("*.png"))
    assert len(examples) >= 2
    before, after = upscale(client, examples[0], "4")
    assert after.shape == (384, 384, 3) and before.shape == after.shape


def test_too_many_pixels_is_one_line(client: Client, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # 1000x1000 is within the upload cap, but x4 makes 16 MP, over TRANSLATE_MAX_PIXELS here.
    monkeypatch.setenv("TRANSLATE_MAX_PIXELS", "4000000")
    Image.new("RGB", (1000, 1000)).save(tmp_path / "big.png")
    with pytest.raises(AppError) as caught:
        client.predict(handle_file(str(tmp_path / "big.png")), "4", 64, 16, "auto",
                       api_name="/superres")
    message = str(caught.value)
    assert "4000x4000 = 16000000 pixels is over the limit" in message and "\n" not in message
