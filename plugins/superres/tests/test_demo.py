"""The superres demo tab end to end, over HTTP with gradio_client (as tests/demo does)."""

from __future__ import annotations

import time
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
    # before: the upload enlarged by bicubic, the baseline; after: what the translator makes
    bicubic = Image.fromarray(pixels).resize((45 * factor, 30 * factor), Image.BICUBIC)
    np.testing.assert_array_equal(before, np.asarray(bicubic))
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


def test_a_request_over_the_cost_cap_names_the_cap(client: Client, tmp_path: Path) -> None:
    # 1000x1000 is within the upload cap, but x4 makes 16 MP: minutes on a CPU.
    Image.new("RGB", (1000, 1000)).save(tmp_path / "big.png")
    with pytest.raises(AppError) as caught:
        client.predict(handle_file(str(tmp_path / "big.png")), "4", 64, 16, "auto",
                       api_name="/superres")
    assert str(caught.value) == (
        "superres: 1000x1000 would make 16000000 pixels (16 MP), over the 4194304 pixels "
        "(4.19 MP) one superres request may make here; use a smaller image")
    # x2 of the same photo is 4 MP: within the cap.
    assert SuperResTranslator.output_pixels({"image": (1000, 1000)}, {"scale": "2"}) \
        == 4_000_000 <= SuperResTranslator.max_output_pixels


def test_a_request_past_the_time_limit_stops_at_a_tile(weights: Path, tmp_path: Path) -> None:
    Image.new("RGB", (256, 256)).save(tmp_path / "photo.png")
    with demo_client({"superres": SuperResTranslator}, weights={"superres": weights},
                     downloads=tmp_path / "downloads", time_limit=0.2) as client:
        started = time.perf_counter()
        with pytest.raises(AppError) as caught:  # 1024 tiles of 8 px: far beyond 0.2 s
            client.predict(handle_file(str(tmp_path / "photo.png")), "4", 8, 0, "auto",
                           api_name="/superres")
        assert str(caught.value) == "took longer than 0.2 s, the limit for one request here"
        assert time.perf_counter() - started < 30
        Image.new("RGB", (8, 8)).save(tmp_path / "small.png")  # and the next one is served
        _, after = client.predict(handle_file(str(tmp_path / "small.png")),
                                  api_name="/superres")
        assert Image.open(after).size == (32, 32)
