"""File routes and payload paths: a demo request can only reach files uploaded through the demo.

Gradio checks a payload's path against its cache only when the payload carries `meta`; the
handlers run with `preprocess=False`, so a path without `meta` used to reach `open_image`
and any file the server could read came back (superres returned a server PNG pixel-exact).
Each payload below is sent over plain HTTP, exactly as an attacker would send it.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import torch
from PIL import Image

from support.translators import FillTranslator, InvertTranslator
from translate_demo.testing import serve
from translate_demo.uploads import upload_folder

pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    weights = tmp_path_factory.mktemp("weights")
    folders = {}
    for cls in (InvertTranslator, FillTranslator):
        torch.manual_seed(0)
        folders[cls.name] = cls(cls.make_config("starter")).save_pretrained(weights / cls.name)
    with serve({"invert": InvertTranslator, "fill": FillTranslator}, weights=folders) as address:
        yield address


def call(url: str, api: str, data: list[Any], timeout: float = 20) -> tuple[str, str]:
    """POST a raw payload to /gradio_api/call/API; return (event, data) of its final message."""
    with httpx.Client(trust_env=False, timeout=timeout) as http:
        # The last value is the weights choice; None is the tab's default.
        posted = http.post(f"{url}gradio_api/call/{api}", json={"data": [*data, None]})
        if posted.status_code != 200:
            return "http", f"{posted.status_code} {posted.text}"
        event_id = posted.json()["event_id"]
        event = ""
        with http.stream("GET", f"{url}gradio_api/call/{api}/{event_id}") as stream:
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    event = line.removeprefix("event:").strip()
                elif line.startswith("data:") and event in ("complete", "error"):
                    return event, line.removeprefix("data:").strip()
    return "none", ""


def secret_png(folder: Path) -> Path:
    """A PNG outside the upload cache that the server process can read."""
    path = folder / "server-secret.png"
    Image.fromarray(np.full((32, 32, 3), 7, np.uint8)).save(path)
    return path


def refused(event: str, data: str) -> str:
    assert event == "error", (event, data)
    message = json.loads(data) if data.startswith('"') else data
    return str(message)


def targets(tmp_path: Path) -> dict[str, str]:
    """Paths of every kind, outside the cache, that must all be refused the same way."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    return {
        "secret png": str(secret_png(tmp_path)),
        "passwd": "/etc/passwd",
        "missing": str(tmp_path / "no-such-file.png"),
        "directory": str(tmp_path),
        "empty": str(empty),
        "fifo": str(fifo),
        "dev zero": "/dev/zero",
        "traversal": f"{upload_folder()}/../../etc/passwd",
    }


def test_a_path_without_meta_is_refused_whatever_it_names(url: str, tmp_path: Path) -> None:
    messages = {}
    for name, path in targets(tmp_path).items():
        started = time.perf_counter()
        messages[name] = refused(*call(url, "invert", [{"path": path}]))
        assert time.perf_counter() - started < 10, f"{name} held the queue"
    # One message for all: a reply must not say whether a path exists or what it is.
    assert len(set(messages.values())) == 1, messages
    assert "not uploaded through this page" in messages["passwd"]


def test_a_path_with_meta_is_refused_without_telling_what_it_names(url: str,
                                                                    tmp_path: Path) -> None:
    messages = {}
    for name, path in targets(tmp_path).items():
        payload = {"path": path, "meta": {"_type": "gradio.FileData"}}
        message = refused(*call(url, "invert", [payload]))
        # Gradio's own check answers these; it names the (normalised) path it was sent.
        messages[name] = message.replace(path, "PATH").replace(os.path.normpath(path), "PATH")
    assert len(set(messages.values())) == 1, messages


def test_the_mask_editor_refuses_foreign_paths_alike(url: str, tmp_path: Path) -> None:
    # The editor's payload is validated by Gradio before the handler, with or without meta.
    secret, missing = str(secret_png(tmp_path)), str(tmp_path / "no-such-file.png")
    for meta in ({}, {"meta": {"_type": "gradio.FileData"}}):
        messages = set()
        for path in (secret, missing, "/dev/zero"):
            editor = {"background": {"path": path, **meta}, "layers": [{"path": path, **meta}],
                      "composite": None}
            message = refused(*call(url, "fill", [editor])).replace(path, "PATH")
            # pydantic echoes the payload, cut at a fixed width: drop the echo
            messages.add(re.sub(r"input_value=.*?input_type", "input_type", message))
        assert len(messages) == 1, messages


def test_a_symlink_in_the_cache_to_a_server_file_is_refused(url: str, tmp_path: Path) -> None:
    cache = Path(upload_folder())
    cache.mkdir(parents=True, exist_ok=True)
    link = cache / f"link-{os.getpid()}.png"
    fifo = cache / f"fifo-{os.getpid()}"
    try:
        link.symlink_to(secret_png(tmp_path))
        os.mkfifo(fifo)
        for path in (link, fifo):
            started = time.perf_counter()
            assert "not uploaded through this page" in refused(
                *call(url, "invert", [{"path": str(path)}]))
            assert time.perf_counter() - started < 10
    finally:
        link.unlink(missing_ok=True)
        fifo.unlink(missing_ok=True)


def test_a_file_in_the_cache_still_works(url: str) -> None:
    cache = Path(upload_folder())
    cache.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    path = cache / f"upload-{os.getpid()}.png"
    Image.fromarray(pixels).save(path)
    try:
        event, data = call(url, "invert", [{"path": str(path)}])
        assert event == "complete", data
    finally:
        path.unlink(missing_ok=True)


def test_refusals_are_logged(url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="translate_demo"):
        refused(*call(url, "invert", [{"path": "/etc/passwd"}]))
    assert any("/etc/passwd" in record.getMessage() for record in caplog.records)
