"""Interrupts: the first Ctrl-C finishes the step and saves; a second one stops at once.

Either way the exit status is 130 and nothing prints a traceback. Python runs signal
handlers only between bytecodes; the CLI also watches the signals themselves, so a second
Ctrl-C ends the process at once even in the middle of a long C++ call or of shutting down.
The first Ctrl-C's checkpoint and resume: tests/engine/test_processes.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from translate.engine.checkpoint import CHECKPOINT_NAME, verify_checkpoint

TRAIN = ["train", "digits", "--quiet", "--device", "cpu", "--set", "width=32",
         "--set", "batch_size=64", "--set", "checkpoint_every=100000",
         "--set", "sample_every=100000", "--set", "log_every=100000",
         "--set", "evaluate_at_end=false", "--steps", "100000"]


def interrupt(out: Path, env: dict[str, str], signals: list[tuple[float, int]]
              ) -> tuple[int, str, float]:
    """Start a long training run, send each (delay, signal) once it trains; return
    (exit status, stderr, seconds from the last signal to the exit)."""
    process = subprocess.Popen([sys.executable, "-m", "translate", *TRAIN, "--out", str(out)],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True)
    err: list[str] = []
    reader = threading.Thread(target=lambda: err.extend(process.stderr), daemon=True)
    reader.start()
    deadline = time.monotonic() + 300
    while not (out / "tensorboard").exists():  # the loop has started
        assert process.poll() is None and time.monotonic() < deadline, "".join(err)
        time.sleep(0.05)
    time.sleep(0.5)
    for delay, number in signals:
        time.sleep(delay)
        if process.poll() is None:
            process.send_signal(number)
    sent = time.monotonic()
    process.wait(timeout=300)
    reader.join(timeout=10)
    return process.returncode, "".join(err), time.monotonic() - sent


@pytest.fixture
def env(isolated_home: Path) -> dict[str, str]:
    return {**os.environ, "TRANSLATE_HOME": str(isolated_home), "HF_HUB_OFFLINE": "1"}


def assert_clean_stop(code: int, err: str, seconds: float, out: Path) -> None:
    assert code == 130, err
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert seconds < 5, f"{seconds:.1f} s after the last Ctrl-C"
    if (out / CHECKPOINT_NAME).exists():  # a save the second Ctrl-C cut short left it whole
        verify_checkpoint(out / CHECKPOINT_NAME)


def test_a_second_ctrl_c_stops_at_once_with_130(tmp_path, env):
    out = tmp_path / "run"
    code, err, seconds = interrupt(out, env, [(0, signal.SIGINT), (0.3, signal.SIGINT)])
    assert_clean_stop(code, err, seconds, out)
    assert "translate: stopping after this step (again to abort)" in err


@pytest.mark.slow
@pytest.mark.parametrize(("gaps", "second"), [
    ((0.0,), signal.SIGINT), ((0.05,), signal.SIGINT), ((1.0,), signal.SIGINT),
    ((0.01, 0.01, 0.01), signal.SIGINT), ((0.2, 0.2), signal.SIGINT),
    ((0.3,), signal.SIGTERM),
])
def test_ctrl_c_again_at_any_moment_stops_at_once_with_130(tmp_path, env, gaps, second):
    out = tmp_path / "run"
    signals = [(0, signal.SIGINT), *((gap, second) for gap in gaps)]
    assert_clean_stop(*interrupt(out, env, signals), out)


@pytest.mark.slow
def test_one_sigterm_saves_the_step_and_exits_130(tmp_path, env):
    out = tmp_path / "run"
    code, err, _ = interrupt(out, env, [(0, signal.SIGTERM)])
    assert code == 130 and "Traceback" not in err, err
    assert "checkpoint saved" in err and verify_checkpoint(out / CHECKPOINT_NAME) > 0
