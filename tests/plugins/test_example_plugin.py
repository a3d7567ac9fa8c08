"""The example plugin from docs/writing-a-plugin.md, installed by pip like any other."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).parents[2] / "docs" / "example-plugin"


def translate(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "translate", *args], env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def test_installed_example_is_discovered_trains_infers_and_uninstalls(tmp_path, isolated_home):
    site = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "--target", str(site), str(EXAMPLE)],
        capture_output=True, text=True, timeout=300, check=False)
    assert install.returncode == 0, install.stderr
    env = {**os.environ, "TRANSLATE_HOME": str(isolated_home),
           "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}

    listed = translate("list", env=env)
    assert "doodles      unconditional generation  [plugin example]" in listed.stdout

    trained = translate("train", "doodles", "--steps", "3", "--quiet", "--out",
                        str(tmp_path / "run"), env=env)
    assert trained.returncode == 0, trained.stderr
    inferred = translate("infer", "doodles", "--count", "4", "--out", str(tmp_path / "out"),
                         env=env)
    assert inferred.returncode == 0, inferred.stderr
    assert f"weights: latest training run ({tmp_path / 'run' / 'weights'})" in inferred.stderr
    assert len(list((tmp_path / "out").glob("doodles-*.png"))) == 4

    shutil.rmtree(site)  # what `pip uninstall` does to a --target install
    assert "doodles" not in translate("list", env=env).stdout


def test_the_guide_shows_the_example_as_it_is():
    """Every Python block of the guide that quotes the example matches its source."""
    import re

    def lines(text: str) -> str:
        return "\n".join(line.strip() for line in text.strip().splitlines())

    guide = (Path(__file__).parents[2] / "docs" / "writing-a-plugin.md").read_text()
    source = lines((EXAMPLE / "translate_example" / "__init__.py").read_text())
    blocks = re.findall(r"```python\n(.*?)```", guide, flags=re.S)
    quoted = [b for b in blocks if "TranslatorTests" not in b and "starter_weights" not in b]
    assert len(quoted) >= 7
    for block in quoted:
        assert lines(block) in source, block[:80]
