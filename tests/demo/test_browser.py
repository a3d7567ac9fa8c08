"""The demo as a visitor meets it: every tab in headless Chromium, on the real starter weights.

One server serves the installed plugins, each on its bundled starter, with a finished
training run of digits (untrained weights, recorded as the latest run) in a temporary
TRANSLATE_HOME. Each tab is loaded, its first example run, and screenshots are written
before and after under the test's tmp path; the times to result are written to
times.json next to them. Everything stays on 127.0.0.1.
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
import torch
from PIL import Image

from translate.hub import catalog
from translate.hub.resolve import record_latest
from translate.plugins import load_plugins
from translate_demo import app
from translate_demo.testing import (
    controls_over,
    open_tab,
    run_and_wait,
    shown_images,
)

pytestmark = [pytest.mark.browser,
              pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")]

TABS = ["superres", "inpaint", "pix2pix", "cyclegan", "faces", "digits"]  # the page's order
UPLOAD = {"superres": "#superres-image input[type=file]", "inpaint": "#inpaint-photo",
          "pix2pix": "#pix2pix-image input[type=file]",
          "cyclegan": "#cyclegan-image input[type=file]"}
SHORT_SIDE = 256


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
    missing = set(TABS) - set(registry.translators)
    assert not missing, registry.problems
    return registry


@pytest.fixture(scope="module")
def times(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, float]]:
    figures: dict[str, float] = {}
    yield figures
    path = tmp_path_factory.getbasetemp() / "times.json"
    path.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"\ntime to result of each tab's first example (s): {figures} -> {path}")


def bomb(path: Path) -> str:
    """A 12000x12000 PNG of a few hundred KB: 144 MP once decoded."""
    Image.new("L", (12000, 12000)).save(path, optimize=True)
    return str(path)


# ---- the page ------------------------------------------------------------------------------


def test_the_page_introduces_itself_and_orders_tabs_most_useful_first(browser, url,
                                                                      tmp_path: Path) -> None:
    page = open_tab(browser, url, "superres")
    page.screenshot(path=tmp_path / "page.png", full_page=True)
    assert page.locator("#intro h1").inner_text() == "gan-translate"
    intro = page.locator("#intro").inner_text()
    assert "upscale a photo" in intro and "one tab per installed translator" not in intro
    assert "/" not in page.locator("#intro").inner_text()  # no server paths
    assert "images up to 50 MP" in page.locator("#limits").inner_text()
    tabs = [t.strip() for t in page.get_by_role("tab").all_inner_texts()]
    assert tabs == TABS
    assert not page.locator(".nav-holder").is_visible()


# ---- every tab -------------------------------------------------------------------------------


@pytest.mark.parametrize("tab", TABS)
def test_a_tab_runs_its_first_example_readably(browser, url, registry, tab: str,
                                               tmp_path: Path, times: dict[str, float]) -> None:
    page = open_tab(browser, url, tab)
    cls = registry.translators[tab]
    line = page.locator(f"#{tab}-weights-line").inner_text()
    assert line.startswith("Weights: starter")
    assert "small starter weights" in line  # said plainly
    assert page.locator(f"#{tab}-weights-line a", has_text="model card").count() == 1
    rows = page.locator(f"#{tab}-examples tbody tr")
    assert rows.count() >= 2
    assert page.locator(f"#{tab}-examples thead th").first.inner_text() == "example"
    assert rows.first.locator("td").first.inner_text().strip()  # a caption
    rows.first.click()
    if tab == "inpaint":  # the example's hole is drawn in the editor, over the photo
        page.locator("#inpaint-mask button.highlight[aria-label='Brush']").wait_for()
    page.screenshot(path=tmp_path / f"{tab}-before.png", full_page=True)

    times[tab] = round(run_and_wait(page, tab), 2)
    time.sleep(0.5)  # let the result settle before measuring it
    page.screenshot(path=tmp_path / f"{tab}-after.png", full_page=True)

    pictures = shown_images(page, f"#{tab}-output")
    assert pictures, "no result shown"
    for picture in pictures:
        assert min(picture["width"], picture["height"]) >= SHORT_SIDE, picture
        # The slider's own handle is the comparison itself; nothing else may cover it.
        assert controls_over(page, picture, output=f"#{tab}-output",
                             allowed=f"#{tab}-output [data-testid=slider]") == []
    message = page.locator(f"#{tab}-message").inner_text()
    assert re.match(r"Done in (under )?[\d.]+ s with the starter weights\.", message), message

    # The line says what ran: the starter's own name, size and figures, from its folder.
    info = catalog.describe(Path(str(cls.starter_weights)))
    line = page.locator(f"#{tab}-weights-line").inner_text()
    assert line.startswith("Weights: starter")
    assert f"{catalog.format_count(info.parameters)} parameters" in line
    assert f"trained for {info.steps} steps" in line
    download = page.locator(f"#{tab}-download")
    assert re.search(r"Download PNG \(\d+×\d+\)", download.inner_text())


def upload(page: Any, selector: str, path: str) -> None:
    """Choose `path` in a file input, or in the file chooser a button opens."""
    if "input" in selector:
        page.locator(selector).set_input_files(path)
        return
    with page.expect_file_chooser() as chooser:
        page.locator(selector).click()
    chooser.value.set_files(path)


@pytest.mark.parametrize("tab", list(UPLOAD))
def test_a_bad_upload_is_refused_at_once_and_the_message_stays(browser, url, tab: str,
                                                               tmp_path: Path) -> None:
    page = open_tab(browser, url, tab)
    huge = bomb(tmp_path / "huge.png")
    started = time.perf_counter()
    upload(page, UPLOAD[tab], huge)
    message = page.locator(f"#{tab}-message .error")
    message.wait_for(timeout=30_000)
    refused_after = time.perf_counter() - started
    text = message.inner_text()
    label = "photo" if tab == "inpaint" else "image"
    assert text.startswith(f"⚠ {label} 'huge.png': 12000x12000 = 144000000 pixels is over "
                           "the limit of 50000000 pixels (50 MP)"), text
    assert "environment" not in text and "max_pixels" not in text
    time.sleep(11)  # longer than a toast stays (gr.Error: 10 s)
    page.screenshot(path=tmp_path / f"{tab}-refused.png", full_page=True)
    assert message.is_visible() and message.inner_text() == text
    assert refused_after < 15, refused_after


def test_a_bad_setting_leaves_its_message_next_to_the_output(browser, url,
                                                             tmp_path: Path) -> None:
    page = open_tab(browser, url, "faces")
    page.locator("#faces-walk_steps input[type=number]").fill("1")
    page.locator("#faces-walk_steps input[type=number]").press("Enter")
    page.locator("#faces-run").click()
    message = page.locator("#faces-message .error")
    message.wait_for(timeout=30_000)
    time.sleep(11)  # longer than a toast stays (gr.Error: 10 s)
    page.screenshot(path=tmp_path / "faces-error.png", full_page=True)
    assert message.inner_text() == "⚠ walk_steps must be 0 (no walk) or at least 2, got 1"


# ---- what the tab says it runs is what it runs ---------------------------------------------


def test_a_training_run_is_used_only_when_the_visitor_picks_it(browser, url, registry,
                                                              isolated_home: Path,
                                                              tmp_path: Path) -> None:
    # A finished 20-step run, recorded as digits' latest: it must never replace the starter.
    torch.manual_seed(0)
    digits = registry.translators["digits"]
    weights = isolated_home / "runs" / "digits-20-steps" / "weights"
    digits(digits.make_config("starter", {"steps": "20"})).save_pretrained(
        weights, provenance={"command": "translate train digits --preset starter --set "
                                        "steps=20", "steps": 20, "data": "digits",
                             "device": "cpu"})
    record_latest("digits", weights)
    page = open_tab(browser, url, "digits")
    assert page.locator("#digits-weights input").input_value().startswith("starter")
    page.locator("#digits-weights input").click()
    page.get_by_role("option", name=re.compile(r"^run:digits-20-steps")).click()
    line = page.locator("#digits-weights-line")
    line.get_by_text("Weights: run:digits-20-steps").wait_for(timeout=30_000)
    assert "trained for 20 steps" in line.inner_text()
    run_and_wait(page, "digits")
    page.screenshot(path=tmp_path / "digits-run.png", full_page=True)
    assert "with the run:digits-20-steps weights" in page.locator("#digits-message").inner_text()
    # The picture is that run's: its untrained noise, not the starter's digits.
    source = page.locator("#digits-output img").first.get_attribute("src")
    shown = np.asarray(Image.open(_fetch(page, source, tmp_path)).convert("L"))
    run = digits.from_pretrained(weights)
    with torch.no_grad():
        expected = app.for_display(run.infer(label="all", count=16, seed=0))
    np.testing.assert_array_equal(shown, np.asarray(expected.convert("L")))


def test_the_model_card_link_opens_the_card(browser, url, tmp_path: Path) -> None:
    page = open_tab(browser, url, "pix2pix")
    with page.context.expect_page() as opened:
        page.locator("#pix2pix-weights-line a", has_text="model card").click(
            modifiers=["Control"])
    card = opened.value
    card.wait_for_load_state("networkidle")
    card.locator("#card h2").first.wait_for(timeout=30_000)
    card.screenshot(path=tmp_path / "card.png", full_page=True)
    text = card.locator("#card").inner_text()
    assert "How these weights were made" in text and "translate train pix2pix" in text
    assert "model-index" not in text  # the Hub's front matter is not shown


# ---- long runs ----------------------------------------------------------------------------------


def test_a_long_superres_run_shows_its_tiles(browser, url, tmp_path: Path) -> None:
    page = open_tab(browser, url, "superres")
    photo = np.random.default_rng(0).integers(0, 256, (192, 192, 3), np.uint8)
    Image.fromarray(photo).save(tmp_path / "photo.png")
    upload(page, UPLOAD["superres"], str(tmp_path / "photo.png"))
    page.locator("#superres-image img").wait_for()
    page.locator("#superres-advanced").click()
    page.locator("#superres-tile input[type=number]").fill("48")
    page.locator("#superres-tile input[type=number]").press("Enter")
    page.locator("#superres-run").click()
    progress = page.locator("#superres-output").get_by_text(re.compile(r"\d+ of 16 done"))
    progress.first.wait_for(timeout=60_000)
    page.screenshot(path=tmp_path / "superres-progress.png", full_page=True)
    page.locator("#superres-download").wait_for(state="visible", timeout=180_000)


def _fetch(page: Any, source: str, folder: Path) -> Path:
    path = folder / "shown.png"
    path.write_bytes(page.request.get(source).body())
    return path
