"""One request cannot hold the demo: a cost cap per translator, a time limit per request,
progress while it runs and the queue position while it waits; the server keeps serving."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
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
    """Two requests through Gradio's own queue protocol, as a browser sends them."""
    url = client.src
    config = httpx.get(f"{url}config", timeout=30, trust_env=False).json()
    slow = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "slow")
    session = "test-queue-position"
    messages: list[dict] = []
    with httpx.Client(timeout=60, trust_env=False) as http:
        events = [http.post(f"{url}gradio_api/queue/join", json={
            "data": [steps, None], "fn_index": slow, "session_hash": session,
            "event_data": None, "trigger_id": None}).json()["event_id"] for steps in (40, 1)]
        with http.stream("GET", f"{url}gradio_api/queue/data",
                         params={"session_hash": session}) as stream:
            lines = list(_until_done(stream, events, messages))
    assert lines
    first, second = events
    ticks = [m["progress_data"][0] for m in messages
             if m.get("msg") == "progress" and m["event_id"] == first and m.get("progress_data")]
    assert ticks and all(tick["length"] == 40 for tick in ticks)
    assert any(tick["desc"] == f"slow: {tick['index']} of 40 done" for tick in ticks)
    waiting = [(m["rank"], m["queue_size"]) for m in messages
               if m.get("msg") == "estimation" and m["event_id"] == second]
    assert (0, 1) in waiting, waiting  # next in line while the first request ran
    assert all(m["success"] for m in messages if m.get("msg") == "process_completed")


def _until_done(stream: httpx.Response, events: list[str],
                messages: list[dict]) -> Iterator[str]:
    """The stream's lines until every event has completed; messages collected on the way."""
    done: set[str] = set()
    for line in stream.iter_lines():
        yield line
        if line.startswith("data:"):
            message = json.loads(line.removeprefix("data:"))
            messages.append(message)
            if message.get("msg") == "process_completed":
                done.add(message["event_id"])
            if done == set(events):
                return


def test_a_grid_of_one_is_enlarged_pixel_exact(client: Client) -> None:
    pixels = np.asarray(Image.open(client.predict(steps=1, api_name="/slow")))
    assert pixels.shape[:2] == (256, 256) and (pixels == 255).all()
