"""`translate demo`: its options reach the app (weights preselected, pixel cap, time limit,
a browser opened), and a preselection that names nothing is one line before serving."""

from __future__ import annotations

import os
from typing import Any

import pytest

from translate.cli import main
from translate_demo import app


@pytest.fixture
def launched(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    monkeypatch.setenv("TRANSLATE_MAX_PIXELS", "")  # restored after the test

    def build(registry: Any, **options: Any) -> str:
        seen["build"] = options
        seen["max_pixels"] = os.environ.get("TRANSLATE_MAX_PIXELS")
        return "the app"

    monkeypatch.setattr(app, "build_demo", build)
    monkeypatch.setattr(app, "launch", lambda demo, **options: seen.update(launch=options))
    return seen


def test_the_help_names_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--weights NAME=WEIGHTS", "--max-pixels N", "--time-limit SECONDS",
                   "--open", "--port", "--device"):
        assert option in out, option


def test_options_reach_the_app(launched: dict[str, Any],
                               capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo", "--weights", "digits=starter", "--max-pixels", "1000000",
                 "--time-limit", "30", "--open", "--port", "7999", "--backend", "onnxruntime"])
    assert code == 0, capsys.readouterr().err
    assert launched["build"] == {"device": "auto", "weights": {"digits": "starter"},
                                 "time_limit": 30.0, "backend": "onnxruntime"}
    assert launched["max_pixels"] == "1000000"  # the image policy and the demo share it
    assert launched["launch"] == {"host": "127.0.0.1", "port": 7999, "open_browser": True}
    assert "http://127.0.0.1:7999/" in capsys.readouterr().out


def test_unknown_weights_are_one_line(launched: dict[str, Any],
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--weights", "digits=run:nothing"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: weights: no weights named 'run:nothing' for digits; there "
                          "are starter"), err
    assert "build" not in launched


def test_a_malformed_weights_option_says_how_to_write_it(launched: dict[str, Any],
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    assert main(["demo", "--weights", "digits"]) == 2
    assert "write NAME=WEIGHTS" in capsys.readouterr().err
