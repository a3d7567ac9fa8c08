"""The faces tab of the web demo, driven over HTTP with gradio_client like a user's browser.

The tab is built by the generic demo shell from the translator's `inputs`: seed, count and
truncation give a grid; walk steps >= 2 turn the answer into the walk between two seeds.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from translate_faces.translator import FacesTranslator

gradio_client = pytest.importorskip("gradio_client")
app = pytest.importorskip("translate_demo.app")
demo_client = pytest.importorskip("translate_demo.testing").demo_client

pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")

STARTER = Path(str(FacesTranslator.starter_weights))


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[gradio_client.Client]:
    with demo_client({"faces": FacesTranslator},
                     downloads=tmp_path_factory.mktemp("downloads")) as client:
        yield client


def answer(client, **params) -> np.ndarray:
    path = client.predict(**params, api_name="/faces")
    with Image.open(io.BytesIO(Path(path).read_bytes())) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("L"))


def expected(**params) -> np.ndarray:
    local = FacesTranslator.from_pretrained(STARTER)
    return np.asarray(app.for_display(local.infer(**params)).convert("L"))


def test_faces_tab_has_the_declared_controls(client):
    api = client.view_api(return_format="dict", print_info=False)
    names = [p["parameter_name"] for p in api["named_endpoints"]["/faces"]["parameters"]]
    assert names == ["count", "seed", "truncation", "walk_to", "walk_steps", "weights"]


def test_seed_count_and_truncation_give_the_translators_grid(client):
    params = {"count": 8, "seed": 4, "truncation": 0.7, "walk_to": 1, "walk_steps": 0}
    grid = answer(client, **params)
    np.testing.assert_array_equal(grid, expected(**params))
    assert not np.array_equal(grid, answer(client, **{**params, "seed": 5}))


def test_walk_between_two_seeds_is_one_strip(client):
    params = {"count": 8, "seed": 2, "truncation": 1.0, "walk_to": 9, "walk_steps": 6}
    strip = answer(client, **params)
    np.testing.assert_array_equal(strip, expected(**params))
    assert strip.shape[1] > 5 * strip.shape[0]  # one row of six faces


def test_a_bad_walk_is_a_one_line_message(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as caught:
        client.predict(count=4, seed=0, truncation=1.0, walk_to=1, walk_steps=1,
                       api_name="/faces")
    assert str(caught.value) == "walk_steps must be 0 (no walk) or at least 2, got 1"
