"""Bad images, CLI and demo: 72 damaged files, each refused in one line that names it.

12 kinds of damage to each of 6 formats (PNG, JPEG, GIF, WebP, TIFF, BMP): emptied, cut
short at several points, garbage after a valid signature, zeroed, or another kind of file
under an image's name. The image policy itself is tested in tests/data/test_images.py.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from support.reliability import data_url, demo_call, one_line_error

FORMATS = {"png": "PNG", "jpg": "JPEG", "gif": "GIF", "webp": "WEBP", "tiff": "TIFF",
           "bmp": "BMP"}


def _good(fmt: str) -> bytes:
    pixels = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, fmt)
    return buffer.getvalue()


def _damaged(data: bytes) -> dict[str, bytes]:
    noise = random.Random(0)
    size = len(data)
    return {
        "empty": b"",
        "signature-only": data[:8],
        "header-only": data[:32],
        "cut-at-10pc": data[: size // 10],
        "cut-at-half": data[: size // 2],
        "cut-at-90pc": data[: size * 9 // 10],
        "garbage-after-signature": data[:4] + bytes(noise.randrange(256) for _ in range(200)),
        "random-bytes": bytes(noise.randrange(256) for _ in range(500)),
        "text": b"this is not an image\n" * 10,
        "zeroed-body": data[:16] + b"\0" * (size - 16),
        "html": b"<html><body>404 Not Found</body></html>",
        "zip": b"PK\x03\x04" + b"\0" * 100,
    }


def bad_images(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext, fmt in FORMATS.items():
        for kind, data in _damaged(_good(fmt)).items():
            path = folder / f"{kind}.{ext}"
            path.write_bytes(data)
            paths.append(path)
    return paths


def test_there_are_72(tmp_path: Path) -> None:
    assert len(bad_images(tmp_path)) == 72


def test_the_cli_refuses_every_bad_image_in_one_line_each(cli, images, weights, tmp_path):
    bad = bad_images(tmp_path / "bad")
    out = tmp_path / "out"
    code, _, err = cli("infer", "invert", *map(str, bad), "--weights", str(weights),
                       "--out", str(out))
    assert code == 1
    last = one_line_error(err)
    assert last == f"error: 72 of 72 inputs failed (each told above); wrote 0 image(s) to {out}"
    errors = [line for line in err.splitlines() if line.startswith("error: ")][:-1]
    assert len(errors) == 72
    for path, line in zip(bad, errors, strict=True):
        assert line.startswith(f"error: {path}: "), line
    assert not out.exists() or not list(out.iterdir())


def test_multi_file_infer_processes_the_rest_and_fails_at_the_end(cli, weights, tmp_path):
    good = []
    for index in range(2):
        path = tmp_path / f"good{index}.png"
        Image.new("RGB", (8, 8), (10 * index, 20, 30)).save(path)
        good.append(str(path))
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n")
    out = tmp_path / "out"
    code, _, err = cli("infer", "invert", good[0], str(broken), good[1], "--weights",
                       str(weights), "--out", str(out))
    assert code == 1
    assert f"error: {broken}: " in err
    assert one_line_error(err) == ("error: 1 of 3 inputs failed (each told above); "
                                   f"wrote 2 image(s) to {out}")
    assert sorted(p.name for p in out.iterdir()) == ["good0.png", "good1.png"]


def test_one_bad_input_alone_is_one_line(cli, weights, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"")
    code, _, err = cli("infer", "invert", str(broken), "--weights", str(weights),
                       "--out", str(tmp_path / "out"))
    assert code == 1 and one_line_error(err).startswith(f"error: {broken}: ")
    assert err.count("error: ") == 1


# ---- the demo ------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")
def test_the_demo_refuses_every_bad_image_in_one_line_and_keeps_serving(demo_url, tmp_path):
    for path in bad_images(tmp_path / "bad"):
        event, message = demo_call(demo_url, data_url(path.read_bytes()))
        assert event == "error", (path.name, event, message)
        assert message and "\n" not in message and "Traceback" not in message, \
            (path.name, message)
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(buffer, "PNG")
    assert demo_call(demo_url, data_url(buffer.getvalue()))[0] == "complete"


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")
def test_the_demo_refuses_every_bad_upload_through_a_client(demo_url, tmp_path):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    client = Client(demo_url, verbose=False, download_files=str(tmp_path / "downloads"))
    for path in bad_images(tmp_path / "bad"):
        with pytest.raises(AppError) as caught:
            client.predict(handle_file(str(path)), api_name="/invert")
        message = str(caught.value)
        assert message and "\n" not in message and "Traceback" not in message, path.name
    good = tmp_path / "good.png"
    Image.new("RGB", (8, 8), (1, 2, 3)).save(good)
    assert Path(client.predict(handle_file(str(good)), api_name="/invert")).is_file()
