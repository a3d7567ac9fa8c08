"""Real processes: a run killed with SIGKILL resumes exactly; Accelerate with 2 processes.

They train the test-only `draw` translator (tests/support/drawing.py), which the
`test_translators` fixture installs as a plugin that the subprocesses discover.
"""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import safetensors.torch
import torch

from translate.engine.checkpoint import CHECKPOINT_NAME, load_checkpoint

RUN = ["train", "draw", "--steps", "24", "--quiet", "--device", "cpu",
       "--set", "width=8", "--set", "batch_size=16", "--set", "checkpoint_every=4",
       "--set", "sample_every=1000", "--set", "log_every=1000", "--set", "evaluate_at_end=false"]


def translate(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "translate", *args], env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def weights(folder: Path) -> dict[str, torch.Tensor]:
    return safetensors.torch.load_file(str(folder / "weights" / "model.safetensors"))


@pytest.mark.slow  # ~50 s; .ci/run's slow pass runs this file
def test_killed_run_resumes_to_the_same_weights(tmp_path, isolated_home, test_translators):
    env = {**test_translators, "TRANSLATE_HOME": str(isolated_home)}
    reference = translate(*RUN, "--out", str(tmp_path / "straight"), env=env)
    assert reference.returncode == 0, reference.stderr
    expected = weights(tmp_path / "straight")

    seed = random.randrange(2**16)
    chooser = random.Random(seed)
    for attempt in range(2):
        out = tmp_path / f"killed{attempt}"
        process = subprocess.Popen([sys.executable, "-m", "translate", *RUN, "--out", str(out)],
                                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while not (out / CHECKPOINT_NAME).exists() and process.poll() is None:
            assert time.monotonic() < deadline, "no checkpoint appeared"
            time.sleep(0.02)
        time.sleep(chooser.uniform(0.0, 1.0))  # somewhere in the middle of training or a write
        process.send_signal(signal.SIGKILL)
        process.wait()
        # Whatever the moment, the checkpoint on disk is whole and at a save boundary.
        state = load_checkpoint(out / CHECKPOINT_NAME)
        assert state["step"] % 4 == 0 and 4 <= state["step"] <= 24, (seed, state["step"])
        assert not [p for p in out.iterdir() if p.name.endswith(".tmp")], "temp file left"
        resumed = translate(*RUN, "--out", str(out), "--resume", env=env)
        assert resumed.returncode == 0, resumed.stderr
        got = weights(out)
        for key, tensor in expected.items():
            assert torch.equal(tensor, got[key]), f"kill seed {seed}: {key} differs"


@pytest.mark.slow  # two real runs, ~16 s; .ci/run's slow pass runs this file
def test_sigint_checkpoints_the_current_step_and_resume_finishes(tmp_path, isolated_home,
                                                                 test_translators):
    env = {**test_translators, "TRANSLATE_HOME": str(isolated_home)}
    out = tmp_path / "run"
    args = [a if a != "checkpoint_every=4" else "checkpoint_every=1000" for a in RUN]
    process = subprocess.Popen([sys.executable, "-m", "translate", *args, "--steps", "100000",
                                "--out", str(out)], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / "tensorboard").exists():
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "checkpoint saved" in stderr and "--resume" in stderr
    step = load_checkpoint(out / CHECKPOINT_NAME)["step"]
    assert 0 < step < 100000
    finished = translate(*args, "--steps", str(step + 3), "--out", str(out), "--resume", env=env)
    assert finished.returncode == 0, finished.stderr
    assert load_checkpoint(out / CHECKPOINT_NAME)["step"] == step + 3


@pytest.mark.skipif(shutil.which("accelerate", path=str(Path(sys.executable).parent)) is None,
                    reason="accelerate launcher not installed")
def test_two_processes_under_accelerate_launch(tmp_path, isolated_home, test_translators):
    """The same command on 2 CPU processes (gloo): gradients sync, replicas end identical."""
    env = {**test_translators, "TRANSLATE_HOME": str(isolated_home),
           "ACCELERATE_USE_CPU": "true"}
    launcher = str(Path(sys.executable).parent / "accelerate")
    out = tmp_path / "run"
    result = subprocess.run(
        [launcher, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
         "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "translate",
         *[a if a != "24" else "8" for a in RUN], "--out", str(out)],
        env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    # The trainer compares parameter checksums across processes before exporting.
    provenance = json.loads((out / "weights" / "config.json").read_text())["provenance"]
    assert provenance["processes"] == 2
    assert result.stdout.count("weights written to") == 1, "only the main process reports"
    state = load_checkpoint(out / CHECKPOINT_NAME)
    assert len(state["rng"]) == 2, "each process's RNG state is kept"
