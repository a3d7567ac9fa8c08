"""What the reliability tests share: a translator small enough to train in a second, its
data, its weights, and the CLI run in-process with that translator installed.

The fixtures are offered to tests/reliability by its conftest.py."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import pytest
from PIL import Image

from support.translators import InvertTranslator, TinyConfig
from translate.cli import main
from translate.config import Range
from translate.plugins import Registry, load_plugins


@dataclass(kw_only=True)
class TrainableConfig(TinyConfig):
    image_size: Annotated[int, Range(4)] = 8  # side of the training images


class TrainableInvert(InvertTranslator):
    """The test inverter with the one field the shared image pipeline reads to train."""

    Config = TrainableConfig
    presets = {"starter": {"steps": 4, "batch_size": 4, "log_every": 1, "sample_every": 1000,
                           "checkpoint_every": 2, "evaluate_at_end": False},
               "full": {"steps": 4}}


TRAIN = ["train", "invert", "--quiet", "--device", "cpu"]


@pytest.fixture
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for index in range(24):
        pixels = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{index:02d}.png")
    return folder


@pytest.fixture
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A weights folder of the test inverter (untrained: it starts at its answer)."""
    cls = TrainableInvert
    return cls(cls.make_config()).save_pretrained(tmp_path_factory.mktemp("w") / "invert")


@pytest.fixture
def registry() -> Registry:
    registry = load_plugins()
    registry.translators["invert"] = TrainableInvert
    registry.owner["translator:invert"] = "tests"
    return registry


@pytest.fixture
def cli(registry: Registry, capsys: pytest.CaptureFixture):
    """Run `translate ARGS` in this process; return (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(list(args), registry=registry)
        out, err = capsys.readouterr()
        return code, out, without_plugin_warnings(err)

    return run


def without_plugin_warnings(err: str) -> str:
    """stderr minus the warnings about installed plugins, which are not under test here."""
    return "".join(line for line in err.splitlines(keepends=True)
                   if not line.startswith("warning: plugin "))


def one_line_error(err: str) -> str:
    """The single `error: ...` line a failing command must end with, and nothing like a trace."""
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("error: "), err
    return lines[-1]


def non_finite_count(folder: Path) -> int:
    import safetensors.torch
    import torch

    tensors = safetensors.torch.load_file(str(folder / "model.safetensors"))
    return sum(int((~torch.isfinite(t)).sum()) for t in tensors.values() if t.is_floating_point())


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


# ---- the demo, over plain HTTP -------------------------------------------------------------


@pytest.fixture
def demo_url(weights: Path):
    """A demo server with the test inverter's tab; its URL."""
    from translate_demo.testing import serve

    with serve({"invert": TrainableInvert}, weights={"invert": weights}) as url:
        yield url


def data_url(data: bytes) -> dict:
    """A payload carrying the file itself, as the browser sends a pasted image."""
    import base64

    return {"url": "data:image/png;base64," + base64.b64encode(data).decode()}


def demo_call(url: str, payload: dict, api: str = "invert") -> tuple[str, str]:
    """POST one payload to a tab; return (event, message) of its final server message.

    The event is "complete", "error", or "http NNN" when the request was refused outright.
    """
    import httpx

    with httpx.Client(trust_env=False, timeout=60) as http:
        # The tab's arguments: the image, then the weights ("" = the tab's default).
        posted = http.post(f"{url}gradio_api/call/{api}", json={"data": [payload, ""]})
        if posted.status_code != 200:  # turned away before queueing (a full queue)
            return f"http {posted.status_code}", posted.text
        event_id, event = posted.json()["event_id"], ""
        with http.stream("GET", f"{url}gradio_api/call/{api}/{event_id}") as stream:
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    event = line.removeprefix("event:").strip()
                elif line.startswith("data:") and event in ("complete", "error"):
                    data = line.removeprefix("data:").strip()
                    return event, str(json.loads(data)) if data.startswith('"') else data
    return "none", ""
