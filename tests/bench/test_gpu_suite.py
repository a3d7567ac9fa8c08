"""bench/gpu_suite.py --dry-run: every row of the GPU suite runs on the CPU at tiny sizes.

Nothing here needs a GPU; the test proves the suite works before one is lent.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from translate.plugins import DISABLE_ENV

ROOT = Path(__file__).resolve().parents[2]
ROWS = [("pix2pix unet_256 b16", "bf16"), ("pix2pix unet_256 b16", "fp32"),
        ("cyclegan resnet_9blocks b4", "bf16"), ("cyclegan resnet_9blocks b4", "fp32"),
        ("faces full", "bf16"), ("faces full", "fp32"),
        ("rrdbnet x4 512", "bf16"), ("rrdbnet x4 512", "fp32"),
        ("superres tiled 2048", "auto=fp32")]  # auto is fp16 on CUDA
COLUMNS = ["row", "ran", "precision", "result", "unit", "peak MiB", "TFLOP/s", "MFU"]


def test_dry_run_prints_every_row() -> None:
    # The suite runs the installed plugins, which tests/conftest.py blocks for other tests.
    env = {key: value for key, value in os.environ.items() if key != DISABLE_ENV}
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "gpu_suite.py"), "--dry-run"], cwd=ROOT,
        capture_output=True, text=True, timeout=600, env=env | {"TRANSLATE_BACKEND": "eager"})
    assert result.returncode == 0, result.stdout + result.stderr[-4000:]
    lines = [[cell.strip() for cell in line.split("|")] for line in result.stdout.splitlines()
             if "|" in line]
    assert lines[0] == COLUMNS
    table = lines[1:]
    assert [(cells[0], cells[2]) for cells in table] == ROWS
    for cells in table:
        assert len(cells) == len(COLUMNS), cells
        assert float(cells[3]) > 0, cells  # the result
        assert float(cells[6]) > 0, cells  # FLOPs were counted
        assert cells[7] == "unknown", cells  # no peak is known for a CPU
