"""The guide's example plugins (docs/example-plugin, docs/example-restoration), installed by
pip like any other plugin, and their own tests run against the shared mixins."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from PIL import Image

DOCS = Path(__file__).parents[2] / "docs"
EXAMPLE = DOCS / "example-plugin"
RESTORATION = DOCS / "example-restoration"


def translate(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "translate", *args], env=env,
                          capture_output=True, text=True, timeout=600, check=False)


def pip_install(package: Path, site: Path, home: Path) -> dict[str, str]:
    """Install `package` into `site` as pip would for a user; the environment that sees it."""
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "--target", str(site), str(package)],
        capture_output=True, text=True, timeout=300, check=False)
    assert install.returncode == 0, install.stderr
    # pip builds in place; leave the docs folder as it was.
    shutil.rmtree(package / "build", ignore_errors=True)
    for info in package.glob("*.egg-info"):
        shutil.rmtree(info, ignore_errors=True)
    return {**os.environ, "TRANSLATE_HOME": str(home),
            "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}


@pytest.mark.slow  # pip and five `translate` processes: about 22 s; .ci/run's slow pass runs it
def test_installed_example_is_discovered_trains_infers_and_uninstalls(tmp_path, isolated_home):
    site = tmp_path / "site"
    env = pip_install(EXAMPLE, site, isolated_home)

    listed = translate("list", env=env)
    assert "doodles      unconditional generation  [plugin example]" in listed.stdout

    trained = translate("train", "doodles", "--steps", "3", "--quiet", "--out",
                        str(tmp_path / "run"), "--set", "arch=mlp_deep", env=env)
    assert trained.returncode == 0, trained.stderr
    model = json.loads((tmp_path / "run" / "weights" / "config.json").read_text())["model"]
    assert model == {"arch": "mlp_deep", "image_size": 8, "latent_dim": 16, "hidden": 128}
    inferred = translate("infer", "doodles", "--count", "4", "--out", str(tmp_path / "out"),
                         env=env)
    assert inferred.returncode == 0, inferred.stderr
    assert f"weights: latest training run ({tmp_path / 'run' / 'weights'})" in inferred.stderr
    assert len(list((tmp_path / "out").glob("doodles-*.png"))) == 4

    shutil.rmtree(site)  # what `pip uninstall` does to a --target install
    assert "doodles" not in translate("list", env=env).stdout


@pytest.mark.slow
def test_installed_restoration_example_trains_denoises_any_size_and_evaluates(
        tmp_path, isolated_home):
    env = pip_install(RESTORATION, tmp_path / "site", isolated_home)
    assert "denoise      paired translation" in translate("list", env=env).stdout

    trained = translate("train", "denoise", "--steps", "2", "--quiet", "--out",
                        str(tmp_path / "run"), "--set", "width=4", "--set", "d_width=4",
                        "--set", "image_size=16", "--set", "batch_size=2", env=env)
    assert trained.returncode == 0, trained.stderr
    card = (tmp_path / "run" / "weights" / "README.md").read_text()
    assert "Trained to remove Gaussian noise of sigma 25" in card

    odd = np.random.default_rng(0).integers(0, 256, (23, 37, 3), dtype=np.uint8)
    Image.fromarray(odd).save(tmp_path / "noisy.png")
    for tile in ("0", "16"):
        inferred = translate("infer", "denoise", str(tmp_path / "noisy.png"), "--tile", tile,
                             "--out", str(tmp_path / f"out{tile}"), env=env)
        assert inferred.returncode == 0, inferred.stderr
        assert Image.open(tmp_path / f"out{tile}" / "noisy.png").size == (37, 23)

    evaluated = translate("eval", "denoise", "--weights", str(tmp_path / "run" / "weights"),
                          env=env)
    assert evaluated.returncode == 0, evaluated.stderr
    figures = json.loads(evaluated.stdout)
    assert {"psnr", "psnr_baseline_noisy", "ssim", "ssim_baseline_noisy"} <= set(figures)


# ---- the examples' own tests: the shared mixins, with no conftest of their own ---------------


def example_tests(package: Path, name: str) -> ModuleType:
    """The example's tests/NAME.py, its package importable as an installed one would be."""
    sys.path.insert(0, str(package))
    spec = importlib.util.spec_from_file_location(f"example_{name}", package / "tests" /
                                                  f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TestDoodles = example_tests(EXAMPLE, "test_doodles").TestDoodles
# Seconds each on a quiet machine, but every check opens the bundled photos.
TestDenoiser = pytest.mark.slow(example_tests(RESTORATION, "test_denoise").TestDenoiser)


# ---- the guides quote their examples --------------------------------------------------------


def stripped(text: str) -> str:
    return "\n".join(line.strip() for line in text.strip().splitlines())


@pytest.mark.parametrize(("guide", "package", "least"), [
    ("writing-a-plugin.md", EXAMPLE, 10),
    ("writing-a-restoration-plugin.md", RESTORATION, 12),
])
def test_every_python_block_of_the_guides_quotes_its_example(guide: str, package: Path,
                                                             least: int) -> None:
    """`python` blocks are quotes of the example's source; other snippets are `py` blocks."""
    source = "\n\n".join(stripped(path.read_text()) for path in sorted(package.rglob("*.py")))
    blocks = re.findall(r"```python\n(.*?)```", (DOCS / guide).read_text(), flags=re.S)
    assert len(blocks) >= least
    for block in blocks:
        assert stripped(block) in source, block[:80]


def test_the_guide_documents_every_task_and_every_translator_attribute() -> None:
    from translate.translator import Translator
    from translate.types import Task

    guide = (DOCS / "writing-a-plugin.md").read_text()
    for task in Task:
        assert f"Task.{task.name}" in guide, task
    attributes = [name for name in Translator.__annotations__ if not name.startswith("_")]
    missing = [name for name in attributes if f"`{name}" not in guide]
    assert not missing, f"docs/writing-a-plugin.md does not mention {missing}"


# ---- the demo endpoint, called as writing-a-plugin.md section 9 says -------------------------


@pytest.mark.slow
def test_the_demo_endpoints_take_the_inputs_in_order_and_return_what_the_guide_says(tmp_path):
    pytest.importorskip("translate_demo")
    from gradio_client import handle_file

    from translate_demo.testing import demo_client, untrained_weights

    doodles, denoiser = TestDoodles.translator, TestDenoiser.translator
    weights = {cls.name: untrained_weights(cls, tests.tiny, tmp_path / "weights")
               for cls, tests in ((doodles, TestDoodles), (denoiser, TestDenoiser))}
    Image.fromarray(np.full((20, 30, 3), 128, np.uint8)).save(tmp_path / "noisy.png")
    with demo_client({"doodles": doodles, "denoise": denoiser}, weights=weights,
                     downloads=tmp_path / "downloads") as client:
        api = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
        assert [p["parameter_name"] for p in api["/doodles"]["parameters"]] == [
            "count", "seed", "weights"]
        assert [p["parameter_name"] for p in api["/denoise"]["parameters"]] == [
            "image", "tile", "weights"]
        grid = Image.open(client.predict(16, 3, "", api_name="/doodles"))
        assert grid.width == grid.height  # 16 doodles in an about-square grid: 4 by 4
        before, after = client.predict(handle_file(tmp_path / "noisy.png"), 0, "",
                                       api_name="/denoise")
        assert Image.open(before).size == Image.open(after).size
