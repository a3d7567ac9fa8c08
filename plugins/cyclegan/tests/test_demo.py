"""The cyclegan demo tab, driven over HTTP with gradio_client like tests/demo/test_demo.py.

One local server for the module, serving only cyclegan on its shipped starter weights.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from translate_cyclegan.translator import CycleGANTranslator
from translate_demo.testing import demo_client

gradio_client = pytest.importorskip("gradio_client")
pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")

EXAMPLES = Path(str(CycleGANTranslator.examples))
STARTER = Path(str(CycleGANTranslator.starter_weights))


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[gradio_client.Client]:
    with demo_client({"cyclegan": CycleGANTranslator},
                     downloads=tmp_path_factory.mktemp("downloads")) as client:
        yield client


@pytest.mark.parametrize(("example", "direction"), [("photo-cat.png", "AtoB"),
                                                     ("painting-temple.png", "BtoA")])
def test_demo_translates_a_bundled_example_like_the_model_does(client, example, direction):
    path = EXAMPLES / example
    result = client.predict(gradio_client.handle_file(str(path)), direction,
                            api_name="/cyclegan")
    served = np.asarray(Image.open(result).convert("RGB"))
    local = CycleGANTranslator.from_pretrained(STARTER)
    (expected,) = local.infer(image=Image.open(path).convert("RGB"), direction=direction)
    assert served.shape[:2] == (expected.height, expected.width)
    np.testing.assert_array_equal(served, np.asarray(expected))


def test_the_two_directions_differ_and_a_missing_upload_is_one_line(client):
    path = gradio_client.handle_file(str(EXAMPLES / "photo-cat.png"))
    there = np.asarray(Image.open(client.predict(path, "AtoB", api_name="/cyclegan")))
    back = np.asarray(Image.open(client.predict(path, "BtoA", api_name="/cyclegan")))
    assert np.abs(there.astype(int) - back.astype(int)).mean() > 5
    with pytest.raises(Exception, match="upload an image") as error:
        client.predict(None, "AtoB", api_name="/cyclegan")
    assert "\n" not in str(error.value)


def test_bundled_examples_cover_both_domains_each_with_its_direction():
    from translate_demo.app import example_rows

    names, rows, captions = example_rows(CycleGANTranslator, {"image": None, "direction": None})
    assert names == ["image", "direction"]
    directions = {Path(image).name: direction for image, direction in rows}
    assert directions == {"photo-cat.png": "AtoB", "photo-temple.png": "AtoB",
                          "painting-cat.png": "BtoA", "painting-temple.png": "BtoA"}
    assert captions == ["Painting to photo: a cat", "Painting to photo: a temple",
                        "Photo to painting: a cat", "Photo to painting: a temple"]
