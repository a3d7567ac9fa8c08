#!/usr/bin/env python3
"""How fast the `translate` command answers, next to `import torch` on the same machine.

    python bench/cli_startup.py [--runs 5]

Each command runs in a fresh process, `--runs` times; the median wall time is printed.
Targets (host v2): `translate --help` under 1 s; `translate list` at most `import torch`
plus 1 s. The machine may be busy: the ratios to `import torch` are the figures to read.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def seconds(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    translate = str(BIN / "translate")
    rows = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "import torch": [sys.executable, "-c", "import torch"],
        "translate --help": [translate, "--help"],
        "translate --version": [translate, "--version"],
        "translate list": [translate, "list"],
    }
    measured = {name: seconds(command, args.runs) for name, command in rows.items()}
    torch_time = measured["import torch"]
    print(f"{'command':<22} {'median s':>9} {'vs import torch':>16}   (runs: {args.runs})")
    for name, value in measured.items():
        print(f"{name:<22} {value:>9.2f} {value / torch_time:>15.2f}x")
    print(f"\ntranslate --help under 1 s: {measured['translate --help'] < 1.0}; "
          f"translate list within import torch + 1 s: "
          f"{measured['translate list'] <= torch_time + 1.0} "
          f"(margin {torch_time + 1.0 - measured['translate list']:+.2f} s)")


if __name__ == "__main__":
    main()
