#!/usr/bin/env python3
"""Ours against the reference implementations: the largest difference each test saw.

    TRANSLATE_REFERENCES=/path/to/checkouts python bench/reference_differences.py [--slow]

Runs the tests that compare an imported or pulled network with the reference code's own
module (same weights, same input, fp32), with `TRANSLATE_REFERENCE_LOG` set, so every
comparison they assert on (`support.references.max_difference`) is written down; then
prints, per test, how many comparisons it made and the largest |ours - theirs|. `--slow`
adds the full-size files (RRDBNet 23 blocks, StyleGAN2 at 1024, big-lama) and the olah
pulls. The tests still assert their tolerance (1e-5); this only shows how far inside it
each one is.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = [
    "plugins/superres/tests/test_zoo.py",
    "plugins/pix2pix/tests/test_pix2pix.py",
    "plugins/pix2pix/tests/test_pytorch_gan.py",
    "plugins/cyclegan/tests/test_importer.py",
    "plugins/cyclegan/tests/test_pytorch_gan.py",
    "plugins/faces/tests/test_stylegan2.py",
    "plugins/faces/tests/test_faces_pull.py",
    "plugins/inpaint/tests/test_lama.py",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--slow", action="store_true", help="include the slow tests")
    args = parser.parse_args()
    if not os.environ.get("TRANSLATE_REFERENCES"):
        sys.exit("set TRANSLATE_REFERENCES to the folder of reference checkouts")
    with tempfile.TemporaryDirectory() as scratch:
        log = Path(scratch) / "differences.jsonl"
        marks = "not browser and not gpu" if args.slow else "not slow and not browser and not gpu"
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", marks,
                   *TESTS]
        result = subprocess.run(command, cwd=ROOT, env={**os.environ,
                                                        "TRANSLATE_REFERENCE_LOG": str(log)})
        seen: dict[str, list[float]] = defaultdict(list)
        for line in log.read_text().splitlines() if log.exists() else []:
            record = json.loads(line)
            seen[record["test"]].append(record["difference"])
    width = max((len(test) for test in seen), default=10)
    print(f"\n{'test':<{width}}  comparisons  max |ours - reference|")
    for test, differences in sorted(seen.items()):
        print(f"{test:<{width}}  {len(differences):>11}  {max(differences):.3g}")
    if seen:
        print(f"\nlargest of all: {max(max(d) for d in seen.values()):.3g} "
              f"over {sum(map(len, seen.values()))} comparisons in {len(seen)} tests")
    sys.exit(result.returncode)


if __name__ == "__main__":
    main()
