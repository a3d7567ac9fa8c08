"""Pulled models in the demo, in headless Chromium: chosen in a tab's weights dropdown, run,
and named by the 'Weights' line.

Each tab's model is a real published layout (tests/support/foreign_files.py: Real-ESRGAN's
RealESRGAN_x4plus.pth, HugGAN's PyTorch-GAN pix2pix and CycleGAN files, LaMa's big-lama.zip,
rosinality's converted StyleGAN2 .pt) holding tiny random weights, converted by
translate.hub.foreign into a temporary TRANSLATE_HOME as `translate pull NAME` stores it.
Screenshots go under each test's tmp path; page-load and result times to times-pulled.json.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from support.foreign_files import PUBLISHED, STYLEGAN2, place
from translate.hub import catalog
from translate.plugins import load_plugins
from translate_demo.display import GAP, TILE_SIDE, for_display
from translate_demo.testing import open_tab, shown_images

pytestmark = [pytest.mark.browser,
              pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")]

ARCH = {"superres": "rrdbnet", "pix2pix": "pytorch_gan_unet", "cyclegan": "pytorch_gan_resnet",
        "inpaint": "lama", "faces": "stylegan2"}
SHORT_SIDE = 256
FACES = 2  # faces drawn from the pulled StyleGAN2: a set, each face at the model's full size


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRANSLATE_HOME", str(folder))
        mp.setenv("HF_HUB_OFFLINE", "1")
        yield folder


@pytest.fixture(scope="module")
def registry(home: Path) -> Any:
    registry = load_plugins()
    assert set(PUBLISHED) <= set(registry.translators), registry.problems
    return registry


@pytest.fixture
def pulled(registry: Any, isolated_home: Path, tmp_path: Path) -> Path:
    """Every tab's model pulled into this test's TRANSLATE_HOME, which the server reads."""
    for published in PUBLISHED.values():
        place(published, registry, tmp_path / "published")
    return isolated_home


@pytest.fixture(scope="module")
def times(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict[str, float]]]:
    figures: dict[str, dict[str, float]] = {}
    yield figures
    path = tmp_path_factory.getbasetemp() / "times-pulled.json"
    path.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"\npage load / choose / result of each tab's pulled model (s): {figures} -> {path}")


def choose(page: Any, tab: str, entry: str) -> None:
    """Type the entry's name into the dropdown (it filters the list), then pick it."""
    field = page.locator(f"#{tab}-weights input")
    field.click()
    field.fill(entry)
    option = page.get_by_role("option", name=re.compile(rf"^{re.escape(entry)}"))
    try:
        option.first.click(timeout=15_000)
    except Exception:
        offered = page.get_by_role("option").all_inner_texts()
        raise AssertionError(f"{entry} is not offered; the dropdown offers {offered}") from None


def run_until_told(page: Any, tab: str, *, timeout: float = 180) -> float:
    """Press Run; the seconds until the message under the output says how it went."""
    started = time.perf_counter()
    page.locator(f"#{tab}-run").click()
    page.wait_for_function(
        "id => (document.querySelector(id)?.innerText || '').trim().length > 0",
        arg=f"#{tab}-message", timeout=timeout * 1000)
    took = time.perf_counter() - started
    time.sleep(0.5)  # let the result settle before measuring it
    return took


@pytest.mark.parametrize("tab", list(PUBLISHED))
def test_a_pulled_model_is_chosen_run_and_named(browser, url, pulled: Path, tab: str,
                                                tmp_path: Path, times: dict) -> None:
    published = PUBLISHED[tab]
    entry = f"pulled:{published.name}"
    started = time.perf_counter()
    page = open_tab(browser, url, tab)
    loaded_after = time.perf_counter() - started
    line = page.locator(f"#{tab}-weights-line")
    assert line.inner_text().startswith("Weights: starter")  # never replaced by itself

    started = time.perf_counter()
    choose(page, tab, entry)
    line.get_by_text(f"Weights: {entry}").wait_for(timeout=60_000)
    chosen_after = time.perf_counter() - started
    text = line.inner_text()
    info = catalog.describe(pulled / "models" / published.name)
    assert ARCH[tab] in text
    assert f"{catalog.format_count(info.parameters)} parameters" in text
    assert f"from {published.repo} ({published.licence})" in text
    assert "small starter weights" not in text and "trained for" not in text

    rows = page.locator(f"#{tab}-examples tbody tr")
    if tab == "faces":  # fewer than the examples' sixteen, so each face is seen whole
        count = page.locator("#faces-count input[type=number]")
        count.fill(str(FACES))
        count.press("Enter")
    elif tab == "cyclegan":  # one imported generator, AtoB: its examples are the photos
        assert page.locator("#cyclegan-direction input").input_value() == "AtoB"
        rows.filter(has_text="Photo to painting").first.click()
    else:
        rows.first.click()
    if tab == "inpaint":  # the example's hole is drawn in the editor, over the photo
        page.locator("#inpaint-mask button.highlight[aria-label='Brush']").wait_for()
    page.screenshot(path=tmp_path / f"{tab}-before.png", full_page=True)
    took = run_until_told(page, tab)
    page.screenshot(path=tmp_path / f"{tab}-after.png", full_page=True)
    message = page.locator(f"#{tab}-message").inner_text()
    shown = shown_images(page, f"#{tab}-output")
    assert shown, f"no result shown: {message}"
    assert re.match(rf"Done in (under )?[\d.]+ s with the {re.escape(entry)} weights\.",
                    message), message
    assert line.inner_text().startswith(f"Weights: {entry}")  # the model that ran
    if tab == "faces":
        assert_full_size_faces(page, shown[0], pulled / "models" / published.name, tmp_path)
    times[tab] = {"page": round(loaded_after, 2), "choose": round(chosen_after, 2),
                  "result": round(took, 2)}


def assert_full_size_faces(page: Any, shown: dict[str, Any], weights: Path,
                           folder: Path) -> None:
    """The picture is the pulled StyleGAN2's FACES faces of seed 0, each at the model's own
    size, side by side, enlarged pixel-exact: not a strip of thumbnails."""
    from translate_faces.translator import FacesTranslator

    assert min(shown["natural"]) >= SHORT_SIDE, shown
    faces = FacesTranslator.from_pretrained(weights).infer(count=FACES, seed=0)
    side = STYLEGAN2["image_size"]
    assert [face.size for face in faces] == [(side, side)] * FACES
    expected = for_display(faces)
    source = page.locator("#faces-output img").first.get_attribute("src")
    path = folder / "faces-shown.png"
    path.write_bytes(page.request.get(source).body())
    picture = np.asarray(Image.open(path).convert("RGB"))
    assert picture.shape == (expected.height, expected.width, 3)
    np.testing.assert_array_equal(picture, np.asarray(expected.convert("RGB")))
    # One row of FACES faces, each enlarged by the same whole factor, each at least a tile.
    factor = expected.height // (side + 2 * GAP)
    assert expected.size == ((FACES * (side + GAP) + GAP) * factor, (side + 2 * GAP) * factor)
    assert side * factor >= TILE_SIDE
    assert shown["width"] / shown["height"] == pytest.approx(expected.width / expected.height,
                                                             rel=0.02)


def test_a_curated_entry_offline_says_it_cannot_be_downloaded(browser, url,
                                                             tmp_path: Path) -> None:
    page = open_tab(browser, url, "superres")
    choose(page, "superres", "hub:RealESRNet_x4plus")
    line = page.locator("#superres-weights-line")
    line.get_by_text("cannot download it").wait_for(timeout=30_000)
    page.screenshot(path=tmp_path / "superres-offline.png", full_page=True)
    assert line.inner_text() == ("Weights: ⚠ weights: RealESRNet_x4plus is not downloaded, and "
                                 "this server is offline, so it cannot download it; pick other "
                                 "weights")
