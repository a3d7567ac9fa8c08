"""One request cannot hold the demo: a cost cap per translator, a time limit per request,
progress while it runs and the queue position while it waits; the server keeps serving."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from gradio_client.utils import Status
from PIL import Image

from support.translators import CappedTranslator, SlowTranslator
from translate_demo.testing import demo_client

pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    weights = {}
    for cls in (SlowTranslator, CappedTranslator):
        torch.manual_seed(0)
        weights[cls.name] = cls(cls.make_config("starter")).save_pretrained(
            tmp_path_factory.mktemp("weights") / cls.name)
    with demo_client({"slow": SlowTranslator, "capped": CappedTranslator}, weights=weights,
                     downloads=tmp_path_factory.mktemp("downloads"), time_limit=3) as client:
        yield client


def test_a_request_over_the_cost_cap_is_refused_naming_the_cap(client: Client,
                                                                 tmp_path: Path) -> None:
    Image.new("RGB", (300, 300)).save(tmp_path / "big.png")
    with pytest.raises(AppError) as caught:
        client.predict(handle_file(str(tmp_path / "big.png")), api_name="/capped")
    assert str(caught.value) == ("capped: 300x300 would make 90000 pixels (0.09 MP), over the "
                                 "65536 pixels (0.0655 MP) one capped request may make here; "
                                 "use a smaller image")
    Image.new("RGB", (256, 256)).save(tmp_path / "fits.png")
    out = client.predict(handle_file(str(tmp_path / "fits.png")), api_name="/capped")
    assert Image.open(out).size == (256, 256)


def test_a_request_past_the_time_limit_stops_and_the_next_is_served(client: Client) -> None:
    started = time.perf_counter()
    with pytest.raises(AppError) as caught:
        client.predict(steps=200, api_name="/slow")  # 10 s of work, 3 s allowed
    assert str(caught.value) == "took longer than 3 s, the limit for one request here"
    assert time.perf_counter() - started < 8  # stopped at a step, not run to its end
    assert Image.open(client.predict(steps=1, api_name="/slow")).size == (256, 256)


def test_progress_counts_the_steps_and_a_waiting_request_sees_its_place(client: Client) -> None:
    first = client.submit(steps=40, api_name="/slow")
    second = client.submit(steps=1, api_name="/slow")
    progress, queued = [], []
    while not first.done():
        status = first.status()
        if status.progress_data:
            progress.append((status.progress_data[0].index, status.progress_data[0].length,
                             status.progress_data[0].desc))
        other = second.status()
        if other.code == Status.IN_QUEUE and other.rank is not None:
            queued.append((other.rank, other.queue_size))
        time.sleep(0.05)
    first.result(), second.result()
    assert progress, "no progress was reported"
    assert all(length == 40 for _, length, _ in progress)
    assert any(desc == f"slow: {index} of 40 done" for index, _, desc in progress)
    assert (0, 1) in queued, queued  # first in line, while the first request ran


def test_a_grid_of_one_is_enlarged_pixel_exact(client: Client) -> None:
    pixels = np.asarray(Image.open(client.predict(steps=1, api_name="/slow")))
    assert pixels.shape[:2] == (256, 256) and (pixels == 255).all()
