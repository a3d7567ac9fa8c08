"""Queue flood: more requests than the demo queues are turned away at once, politely, and
the server goes on serving everyone it accepted and everyone after.

One request runs at a time and at most QUEUE_SIZE wait; the rest are told the queue is
full instead of piling up memory and waiting forever.
"""

from __future__ import annotations

import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image

from support.reliability import TrainableInvert, data_url, demo_call

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")]


class SlowInvert(TrainableInvert):
    """Takes a quarter of a second per image, so that a flood fills the queue."""

    def infer(self, **params):
        time.sleep(0.25)
        return super().infer(**params)


def test_a_flood_is_turned_away_and_the_server_keeps_serving(weights):
    from translate_demo.app import QUEUE_SIZE
    from translate_demo.testing import serve

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (9, 9, 9)).save(buffer, "PNG")
    payload = data_url(buffer.getvalue())
    flood = 3 * QUEUE_SIZE
    start = threading.Barrier(flood)

    with serve({"invert": SlowInvert}, weights={"invert": weights}) as url:
        def one(_: int) -> tuple[str, str]:
            start.wait()
            return demo_call(url, payload)

        started = time.perf_counter()
        with ThreadPoolExecutor(flood) as pool:
            results = list(pool.map(one, range(flood)))
        elapsed = time.perf_counter() - started
        served = [m for e, m in results if e == "complete"]
        turned_away = [m for e, m in results if e != "complete"]
        assert len(served) + len(turned_away) == flood, results
        assert turned_away and all("Queue is full" in m for m in turned_away), turned_away
        assert len(served) >= QUEUE_SIZE  # the ones it queued were all served
        assert elapsed < 0.25 * flood + 30, "the excess was kept waiting"
        assert demo_call(url, payload)[0] == "complete"  # and the next visitor too
