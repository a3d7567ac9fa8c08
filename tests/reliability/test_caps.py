"""Caps: an image is measured from its header and refused before any pixel is decoded.

A few dozen bytes can declare 900 megapixels; decoding them would need gigabytes. The
CLI's cap is TRANSLATE_MAX_PIXELS (default 50 MP), the demo's its own, lower one, and the
demo also refuses uploads over its byte cap. More in tests/data/test_images.py (the policy)
and tests/demo/test_demo.py (uploads through a browser client, HTTP 413 at the cap).
"""

from __future__ import annotations

import resource
import time

import pytest

from support.pngs import png_header_only
from support.reliability import data_url, demo_call, one_line_error


def peak_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


@pytest.mark.parametrize(("side", "pixels"), [(30000, 900_000_000), (10000, 100_000_000)])
def test_a_bomb_given_to_infer_is_refused_fast_and_small(cli, weights, tmp_path, side, pixels):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header_only(side, side))
    assert bomb.stat().st_size < 100
    before, started = peak_kib(), time.perf_counter()
    code, _, err = cli("infer", "invert", str(bomb), "--weights", str(weights),
                       "--out", str(tmp_path / "out"))
    assert time.perf_counter() - started < 30  # most of it loading the CLI and weights
    assert peak_kib() - before < 200_000  # decoding would take 110 MB to 2.7 GB
    assert code == 1
    line = one_line_error(err)
    assert line.startswith(f"error: {bomb}: "), line
    assert f"{pixels} pixels is over the limit of 50000000 pixels; " in line
    assert "TRANSLATE_MAX_PIXELS" in line


def test_the_cap_follows_translate_max_pixels(cli, weights, tmp_path, monkeypatch):
    from PIL import Image

    picture = tmp_path / "picture.png"
    Image.new("RGB", (40, 40)).save(picture)
    monkeypatch.setenv("TRANSLATE_MAX_PIXELS", "1000")
    code, _, err = cli("infer", "invert", str(picture), "--weights", str(weights),
                       "--out", str(tmp_path / "out"))
    assert code == 1 and "1600 pixels is over the limit of 1000 pixels" in one_line_error(err)
    monkeypatch.setenv("TRANSLATE_MAX_PIXELS", "2000")
    assert cli("infer", "invert", str(picture), "--weights", str(weights),
               "--out", str(tmp_path / "out"))[0] == 0


@pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")
def test_the_demo_refuses_bombs_and_oversized_payloads_and_keeps_serving(demo_url):
    from translate_demo import app, limits

    started = time.perf_counter()
    event, message = demo_call(demo_url, data_url(png_header_only(30000, 30000)))
    assert time.perf_counter() - started < 10
    assert event == "error" and f"over the limit of {limits.pixel_cap()} pixels" in message
    assert "\n" not in message

    oversized = bytes(app.MAX_UPLOAD_BYTES + 1024)
    event, message = demo_call(demo_url, data_url(oversized))
    assert event == "error"
    assert f"only base64 data URLs up to {app.MAX_UPLOAD_BYTES} bytes" in message

    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "PNG")
    assert demo_call(demo_url, data_url(buffer.getvalue()))[0] == "complete"
