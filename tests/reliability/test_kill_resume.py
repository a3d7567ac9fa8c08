"""Kill during a checkpoint, then resume: a run killed at any moment continues exactly.

Checkpoints are written through a temp file, fsynced and renamed, so a SIGKILL at any
point leaves the previous checkpoint whole; the temp file a killed write leaves behind is
removed when the run starts again. See also tests/engine/test_processes.py.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest
import safetensors.torch
import torch

from support.reliability import TRAIN
from translate.engine.checkpoint import CHECKPOINT_NAME, load_checkpoint, verify_checkpoint

STALE = (".checkpoint.safetensors.0a1b2c3d.tmp", "weights/.model.safetensors.deadbeef.tmp",
         "weights/.config.json.00000000.tmp", "samples/.step_0000002.png.ffffffff.tmp")
NOT_OURS = ("notes.tmp", ".notes.tmp", ".checkpoint.safetensors.tmp", "weights/keep.me",
            ".checkpoint.safetensors.0A1B2C3D.tmp")


def test_temp_files_left_by_killed_writes_are_removed_on_resume(cli, images, tmp_path):
    run = tmp_path / "run"
    args = [*TRAIN, "--data", f"folder:{images}", "--out", str(run)]
    assert cli(*args, "--steps", "2")[0] == 0
    for name in (*STALE, *NOT_OURS):
        (run / name).parent.mkdir(parents=True, exist_ok=True)
        (run / name).write_bytes(b"half a file")
    code, _, err = cli(*args, "--steps", "4", "--resume")
    assert code == 0, err
    assert [name for name in STALE if (run / name).exists()] == []
    assert [name for name in NOT_OURS if not (run / name).exists()] == []
    assert verify_checkpoint(run / CHECKPOINT_NAME) == 4


def test_resume_without_a_checkpoint_says_it_starts_fresh(cli, images, tmp_path):
    run = tmp_path / "empty-run"
    code, _, err = cli(*TRAIN, "--data", f"folder:{images}", "--out", str(run), "--steps", "2",
                       "--resume")
    assert code == 0, err
    assert f"translate: --resume: no checkpoint in {run}, so this run starts fresh\n" in err
    assert verify_checkpoint(run / CHECKPOINT_NAME) == 2


# ---- real processes, really killed --------------------------------------------------------

DIGITS = ["train", "digits", "--quiet", "--device", "cpu", "--set", "width=8",
          "--set", "batch_size=16", "--set", "checkpoint_every=2", "--set", "sample_every=1000",
          "--set", "log_every=1000", "--set", "evaluate_at_end=false",
          "--set", "lr_decay_fraction=0"]


def translate(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "translate", *args], env=env,
                          capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.slow
def test_twenty_kills_at_random_moments_then_resume_give_the_same_weights(tmp_path,
                                                                           isolated_home):
    env = {**os.environ, "TRANSLATE_HOME": str(isolated_home)}
    # Each kill waits for a new checkpoint (2 steps) plus up to 0.1 s, so 20 kills use
    # about 60 steps; 1000 steps with a checkpoint every 2 ran past 600 s on a busy 2-core
    # machine.
    steps = 200
    straight = translate([*DIGITS, "--steps", str(steps), "--out", str(tmp_path / "a")], env)
    assert straight.returncode == 0, straight.stderr
    expected = safetensors.torch.load_file(str(tmp_path / "a" / "weights" / "model.safetensors"))

    seed = random.randrange(2**16)
    chooser = random.Random(seed)
    run = tmp_path / "b"
    args = [*DIGITS, "--steps", str(steps), "--out", str(run)]
    kills, last = 0, 0
    while kills < 20:
        resume = ["--resume"] if (run / CHECKPOINT_NAME).exists() else []
        process = subprocess.Popen([sys.executable, "-m", "translate", *args, *resume], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 300
        # Wait for a checkpoint newer than the last one, then kill at a random moment.
        while process.poll() is None and time.monotonic() < deadline:
            path = run / CHECKPOINT_NAME
            if path.exists() and path.stat().st_mtime_ns != last:
                break
            time.sleep(0.01)
        time.sleep(chooser.uniform(0.0, 0.1))
        assert process.poll() is None, f"finished before kill {kills + 1}: {process.stderr.read()}"
        process.send_signal(signal.SIGKILL)
        process.wait()
        kills += 1
        last = (run / CHECKPOINT_NAME).stat().st_mtime_ns
        state = load_checkpoint(run / CHECKPOINT_NAME)  # whole, at a save boundary
        assert state["step"] % 2 == 0, (seed, state["step"])
    finished = translate([*args, "--resume"], env)
    assert finished.returncode == 0, finished.stderr
    assert not list(run.rglob("*.tmp")), "a killed write's temp file was left"
    got = safetensors.torch.load_file(str(run / "weights" / "model.safetensors"))
    for key, tensor in expected.items():
        assert torch.equal(tensor, got[key]), f"kill seed {seed}: {key} differs"
