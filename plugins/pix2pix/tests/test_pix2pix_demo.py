"""The pix2pix tab of the web demo, driven over HTTP with gradio_client.

One server serves only pix2pix, with small untrained weights trained for both directions
(the tab's contract, any size in and the same size out, a direction choice and one-line
errors, does not depend on training). Everything stays on 127.0.0.1.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from translate_demo.testing import demo_client, untrained_weights
from translate_pix2pix.translator import Pix2PixTranslator

pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")

TINY = {"width": "4", "d_width": "4", "direction": "both"}


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return untrained_weights(Pix2PixTranslator, TINY, tmp_path_factory.mktemp("weights"))


@pytest.fixture(scope="module")
def client(weights: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    with demo_client({"pix2pix": Pix2PixTranslator}, weights={"pix2pix": weights},
                     downloads=tmp_path_factory.mktemp("downloads")) as client:
        yield client


def upload(pixels: np.ndarray, path: Path) -> str:
    Image.fromarray(pixels).save(path)
    return str(path)


def result(path: str) -> np.ndarray:
    data = Path(path).read_bytes()
    assert data.startswith(b"\x89PNG"), "the demo returns PNG"
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image)


def test_the_tab_takes_an_image_a_direction_and_the_options(client: Client) -> None:
    api = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/pix2pix"]
    assert [p["parameter_name"] for p in api["parameters"]] == [
        "image", "direction", "fit", "keep_dropout", "seed", "weights"]


def test_an_upload_of_any_size_is_translated_at_its_size(client: Client, weights: Path,
                                                          tmp_path: Path) -> None:
    pixels = np.random.default_rng(0).integers(0, 256, (300, 301, 3), dtype=np.uint8)
    path = upload(pixels, tmp_path / "photo.png")
    got = result(client.predict(handle_file(path), "forward", "pad", False, 0,
                                api_name="/pix2pix"))
    local = Pix2PixTranslator.from_pretrained(weights)
    with torch.no_grad():
        (expected,) = local.infer(image=Image.fromarray(pixels))
    assert got.shape[:2] == (300, 301)
    np.testing.assert_array_equal(got if got.ndim == 2 else got[..., 0], np.asarray(expected))


def test_both_directions_are_offered_when_the_weights_have_them(client: Client,
                                                               tmp_path: Path) -> None:
    sketch = np.full((260, 300), 255, np.uint8)
    sketch[20:40, 10:270] = 0
    path = upload(sketch, tmp_path / "sketch.png")
    got = result(client.predict(handle_file(path), "reverse", "resize", False, 0,
                                api_name="/pix2pix"))
    assert got.shape == (260, 300, 3)  # sketch -> photo: colour out


def test_one_way_weights_get_no_direction_choice(tmp_path: Path) -> None:
    folder = untrained_weights(Pix2PixTranslator, {**TINY, "direction": "AtoB"}, tmp_path)
    photo = upload(np.zeros((64, 64, 3), np.uint8), tmp_path / "photo.png")
    with demo_client({"pix2pix": Pix2PixTranslator}, weights={"pix2pix": folder},
                     downloads=tmp_path / "downloads") as client:
        # The tab keeps one widget per input whatever the weights; these hide "direction".
        config = client.config
        widget = next(c for c in config["components"]
                      if c["props"].get("elem_id") == "pix2pix-direction")
        assert widget["props"]["visible"] is False
        assert result(client.predict(handle_file(photo), api_name="/pix2pix")).shape[:2] \
            == (64, 64)
        with pytest.raises(AppError, match="translate AtoB only"):
            client.predict(handle_file(photo), "reverse", api_name="/pix2pix")


def test_a_broken_upload_gives_one_line(client: Client, tmp_path: Path) -> None:
    path = tmp_path / "broken.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(AppError) as caught:
        client.predict(handle_file(str(path)), "forward", "pad", False, 0, api_name="/pix2pix")
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    assert message.startswith("image 'broken.png': ")  # names the widget and the file
