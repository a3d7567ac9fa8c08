"""The `translate` command line: help, list, train, infer, eval, errors."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from support.drawing import DrawTranslator, draw_config
from support.translators import InvertTranslator
from translate.cli import main
from translate.plugins import load_plugins


def run(args: list[str], capsys, registry=None) -> tuple[int, str, str]:
    code = main(args, registry=registry)
    out, err = capsys.readouterr()
    return code, out, err


class GreyInvert(InvertTranslator):
    """The shared test inverter, on one channel: the CLI's image paths in mode L."""

    image_mode = "L"
    presets = {"starter": {"channels": 1}, "full": {"channels": 1}}


@pytest.fixture
def registry(tmp_path, monkeypatch):
    """The installed plugins plus the test-only `invert` (greyscale) and `draw` translators,
    each with bundled starter weights in tmp."""
    registry = load_plugins()
    folder = GreyInvert(GreyInvert.make_config()).save_pretrained(tmp_path / "invert-weights")
    monkeypatch.setattr(GreyInvert, "starter_weights", folder)
    torch.manual_seed(0)
    folder = DrawTranslator(draw_config()).save_pretrained(tmp_path / "draw-weights")
    monkeypatch.setattr(DrawTranslator, "starter_weights", folder)
    for name, cls in {"invert": GreyInvert, "draw": DrawTranslator}.items():
        registry.translators[name] = cls
        registry.owner[f"translator:{name}"] = "tests"
    return registry


# ---- help -------------------------------------------------------------------------------


def test_top_level_help_lists_every_command(capsys, registry):
    # `demo` comes from the demo's plugin, blocked here like every installed plugin
    # (tests/conftest.py); tests/demo checks it, tests/plugins the hook that adds it.
    code, out, _ = run(["--help"], capsys, registry)
    assert code == 0
    for command in ("list", "train", "infer", "eval", "push", "pull", "import", "models"):
        assert f"  {command} " in out


def test_train_help_documents_every_config_key_and_preset(capsys, registry):
    code, out, _ = run(["train", "draw", "--help"], capsys, registry)
    assert code == 0
    assert "steps (int) = 20: optimisation steps" in out
    assert "width (int) = 8: channels of G's and D's hidden layer" in out
    assert "preset starter:" in out and "preset full:" in out
    assert "--resume" in out and "--data SRC" in out


def test_infer_help_shows_the_translators_own_options(capsys, registry):
    code, out, _ = run(["infer", "draw", "--help"], capsys, registry)
    assert code == 0
    assert "--label [all|0|1|2|3|4|5|6|7|8|9]" in out
    assert "--count" in out and "--seed" in out and "--weights" in out


def test_unknown_translator_is_a_usage_error(capsys, registry):
    code, _, err = run(["infer", "nope"], capsys, registry)
    assert code == 2 and "no translator 'nope' here (available: " in err and "draw" in err


# ---- list, infer, eval ------------------------------------------------------------------


def test_list_shows_translators_tasks_plugins_and_weights(capsys, registry):
    code, out, _ = run(["list"], capsys, registry)
    assert code == 0
    assert "draw         class-conditional generation  [plugin tests]" in out
    assert "weights: bundled starter (" in out.split("invert")[1]
    assert "folder       folder:PATH" in out


def test_infer_writes_count_pngs_and_the_seed_decides(tmp_path, capsys, registry):
    code, _, err = run(["infer", "draw", "--label", "7", "--count", "16", "--seed", "0",
                        "--out", str(tmp_path / "a")], capsys, registry)
    assert code == 0, err
    assert "weights: " in err
    files = sorted((tmp_path / "a").glob("*.png"))
    assert len(files) == 16 and files[0].name == "draw-000.png"
    run(["infer", "draw", "--label", "7", "--count", "16", "--seed", "0",
         "--out", str(tmp_path / "b")], capsys, registry)
    run(["infer", "draw", "--label", "7", "--count", "16", "--seed", "1",
         "--out", str(tmp_path / "c")], capsys, registry)
    same = [(tmp_path / "b" / f.name).read_bytes() == f.read_bytes() for f in files]
    other = [(tmp_path / "c" / f.name).read_bytes() == f.read_bytes() for f in files]
    assert all(same) and not any(other)


def test_infer_on_images_names_outputs_after_inputs(tmp_path, capsys, registry):
    picture = np.tile(np.arange(64, dtype=np.uint8) * 4, (32, 1))
    Image.fromarray(picture).save(tmp_path / "ramp.png")
    code, _, err = run(["infer", "invert", str(tmp_path / "ramp.png"), "--out",
                        str(tmp_path / "out")], capsys, registry)
    assert code == 0, err
    assert "weights: bundled starter" in err
    result = np.asarray(Image.open(tmp_path / "out" / "ramp.png"))
    assert np.abs(result.astype(int) - (255 - picture.astype(int))).max() <= 1


@pytest.mark.parametrize(("content", "problem"), [
    (b"", "empty file"),
    (b"not an image at all", "not an image format Pillow can read"),
    ("truncated", "truncated or corrupt image data"),
])
def test_bad_images_give_one_line_errors(tmp_path, capsys, registry, content, problem):
    bad = tmp_path / "bad.png"
    if content == "truncated":
        Image.new("L", (64, 64), 128).save(bad)
        bad.write_bytes(bad.read_bytes()[:60])
    else:
        bad.write_bytes(content)
    code, _, err = run(["infer", "invert", str(bad), "--out", str(tmp_path / "out")], capsys,
                       registry)
    assert code == 1
    assert err.splitlines()[-1].startswith("error: ") and problem in err
    assert err.count("\n") == 2  # "weights: ..." then the one-line error
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_huge_images_are_refused_before_decoding(tmp_path, capsys, registry, monkeypatch):
    monkeypatch.setenv("TRANSLATE_MAX_PIXELS", "1000")
    Image.new("L", (40, 40)).save(tmp_path / "big.png")
    code, _, err = run(["infer", "invert", str(tmp_path / "big.png")], capsys, registry)
    assert code == 1 and "1600 pixels is over the limit of 1000 pixels" in err


def test_eval_prints_json_metrics(capsys, registry):
    code, out, err = run(["eval", "draw"], capsys, registry)
    assert code == 0, err
    metrics = json.loads(out)
    assert set(metrics) == {"class_accuracy", "class_accuracy_untrained_baseline"}


def test_init_from_starts_training_from_existing_weights(capsys, tmp_path, registry):
    code, _, err = run(["train", "draw", "--init-from", "starter", "--steps", "1", "--set",
                        "evaluate_at_end=false", "--out", str(tmp_path / "run"), "-q"], capsys,
                       registry)
    assert code == 0, err
    training = json.loads((tmp_path / "run" / "weights" / "config.json").read_text())["training"]
    assert training["init_from"] == "starter"


def test_bad_config_is_one_line(capsys, tmp_path, registry):
    code, _, err = run(["train", "draw", "--set", "widht=3", "--out", str(tmp_path)], capsys,
                       registry)
    assert code == 1
    assert err == "error: unknown config key 'widht' (did you mean 'width'?)\n"


def test_pull_offline_without_cache_is_one_line(capsys, tmp_path, monkeypatch, registry):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    code, _, err = run(["pull", "nobody/nothing"], capsys, registry)
    assert code == 1 and err.startswith("error: ") and err.count("\n") == 1


def test_console_script_is_installed_and_runs():
    result = subprocess.run([sys.executable, "-m", "translate", "--version"],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0 and "translate, version 0.1.0" in result.stdout
