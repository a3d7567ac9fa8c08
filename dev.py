#!/usr/bin/env python3
"""Developer tasks that need nothing but Python >= 3.10 and pip.

    python dev.py demo             set up .venv if needed, then launch the web demo
    python dev.py test [ARGS...]   set up .venv if needed, then run the test suite
    python dev.py starter NAME     retrain a built-in plugin's bundled starter weights

The virtualenv is (re)built whenever a pyproject.toml changes. It installs the host,
the demo and every plugin under plugins/, each through its own entry point, exactly
as a user's `pip install` would.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("TRANSLATE_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


def packages() -> list[Path]:
    """The host (with test extras), the demo and each built-in plugin."""
    plugins = sorted(p.parent for p in (ROOT / "plugins").glob("*/pyproject.toml"))
    return [ROOT, ROOT / "demo", *plugins]


def ensure_venv() -> None:
    manifests = [p / "pyproject.toml" for p in packages()]
    fingerprint = hashlib.sha256(b"".join(m.read_bytes() for m in manifests)).hexdigest()
    marker = VENV / ".installed"
    if marker.exists() and marker.read_text() == fingerprint:
        return
    if not (BIN / "python").exists():
        print(f"creating {VENV}", flush=True)
        venv.create(VENV, with_pip=True)
    targets = [f"{ROOT}[test]", *(str(p) for p in packages()[1:])]
    editable = [arg for target in targets for arg in ("-e", target)]
    run([str(BIN / "python"), "-m", "pip", "install", "--disable-pip-version-check", *editable])
    marker.write_text(fingerprint)


def run(command: list[str], **kwargs) -> None:
    result = subprocess.run(command, check=False, **kwargs)
    if result.returncode:
        sys.exit(result.returncode)


def demo(args: list[str]) -> None:
    ensure_venv()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_DISABLE_TELEMETRY": "1"}
    run([str(BIN / "translate"), "demo", *args], env=env)


def test(args: list[str]) -> None:
    ensure_venv()
    run([str(BIN / "python"), "-m", "pytest", *args], cwd=ROOT)


def starter(args: list[str]) -> None:
    """Train NAME's starter preset in a clean home and copy the weights into its package."""
    if len(args) != 1:
        sys.exit("usage: python dev.py starter NAME")
    name = args[0]
    ensure_venv()
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "TRANSLATE_HOME": home}
        # The model card records this command exactly; keep it the plain, reproducible one.
        run([str(BIN / "translate"), "train", name, "--preset", "starter"], env=env)
        weights = Path(home) / "runs" / name / "weights"
        package = next((ROOT / "plugins" / name).glob("translate_*/"))
        target = package / "starter"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(weights, target)
        last_grid = sorted((Path(home) / "runs" / name / "samples").glob("*.png"))[-1]
        (ROOT / "docs" / "samples").mkdir(exist_ok=True)
        shutil.copyfile(last_grid, ROOT / "docs" / "samples" / f"{name}-starter.png")
    print(f"starter weights for {name} written to {target.relative_to(ROOT)}")


TASKS = {"demo": demo, "test": test, "starter": starter}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in TASKS:
        sys.exit(__doc__)
    TASKS[sys.argv[1]](sys.argv[2:])
