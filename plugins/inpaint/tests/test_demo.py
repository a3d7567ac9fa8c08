"""The inpaint tab of the web demo, driven over HTTP with gradio_client and in a real browser.

One server serves only the inpaint translator, with small untrained weights (the contract
being tested, known pixels kept exactly, does not depend on training). Everything stays
on 127.0.0.1; the browser test needs Debian's chromium and the playwright package.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from translate_demo import app
from translate_demo.testing import serve, untrained_weights
from translate_inpaint.translator import InpaintTranslator

pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")

TINY = {"width": "8", "blocks": "1", "rates": "1,2", "d_width": "8", "d_layers": "3",
        "image_size": "32"}
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    weights = untrained_weights(InpaintTranslator, TINY, tmp_path_factory.mktemp("weights"))
    with serve({"inpaint": InpaintTranslator}, weights={"inpaint": weights}) as url:
        yield url


@pytest.fixture(scope="module")
def client(server: str, tmp_path_factory: pytest.TempPathFactory) -> Client:
    return Client(server, download_files=str(tmp_path_factory.mktemp("downloads")),
                  verbose=False)


def write(image: Image.Image, path: Path) -> str:
    image.save(path)
    return str(path)


def photo(height: int, width: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)


def test_the_tab_takes_one_editor_and_no_resize_option(client: Client) -> None:
    api = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/inpaint"]
    # A painted layer is fitted to its photo by the demo: no checkbox for it.
    assert [p["parameter_name"] for p in api["parameters"]] == ["mask", "weights"]


def test_painting_a_hole_fills_it_and_keeps_every_other_pixel(client: Client,
                                                              tmp_path: Path) -> None:
    pixels = photo(256, 320)
    background = write(Image.fromarray(pixels), tmp_path / "photo.png")
    layer = np.zeros((256, 320, 4), np.uint8)
    layer[100:140, 60:200] = 255  # an opaque white brush stroke on a transparent layer
    editor = {"background": handle_file(background),
              "layers": [handle_file(write(Image.fromarray(layer, "RGBA"), tmp_path / "l.png"))],
              "composite": handle_file(background)}
    out = np.asarray(Image.open(client.predict(editor, api_name="/inpaint")))
    hole = layer[..., 3] > 0
    assert out.shape == pixels.shape
    np.testing.assert_array_equal(out[~hole], pixels[~hole])
    assert not np.array_equal(out[hole], pixels[hole])


def test_nothing_painted_is_a_clear_message(client: Client, tmp_path: Path) -> None:
    pixels = photo(256, 256)
    background = write(Image.fromarray(pixels), tmp_path / "photo.png")
    editor = {"background": handle_file(background), "layers": [],
              "composite": handle_file(background)}
    with pytest.raises(AppError) as caught:
        client.predict(editor, api_name="/inpaint")
    assert str(caught.value) == ("mask layer: nothing is painted yet; paint over what to "
                                 "remove with the brush, then press Run")


def data_url(image: Image.Image) -> dict[str, str]:
    import base64
    import io

    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return {"url": "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()}


def test_a_full_mask_is_told_to_the_visitor_in_one_line(tmp_path) -> None:
    from types import SimpleNamespace

    from translate_demo.testing import untrained_weights
    from translate_demo.weights import Choices, ModelCache

    folder = untrained_weights(InpaintTranslator, TINY, tmp_path)
    tab = app.TabHandlers(InpaintTranslator, ModelCache("cpu"),
                          Choices(InpaintTranslator, str(folder)), None)
    run = tab.handler(["mask", "weights"])
    background = data_url(Image.fromarray(photo(64, 64)))
    everything = data_url(Image.new("RGBA", (64, 64), (255, 255, 255, 255)))
    editor = {"background": background, "layers": [everything], "composite": background}
    # Outside a running server, gr.Warning falls back to warnings.warn: what a visitor sees.
    with pytest.warns(UserWarning) as told:
        out = run(editor, "", SimpleNamespace(session_hash="test"), lambda *a, **k: None)
    assert isinstance(out, Image.Image)  # the guess, at the photo's size
    assert [str(w.message) for w in told] == [
        "the mask covers the whole image: the result is the model's guess with nothing known"]


def test_no_upload_is_a_short_message(client: Client) -> None:
    with pytest.raises(AppError) as caught:
        client.predict(None, api_name="/inpaint")
    assert str(caught.value) == "photo: upload a photo, then paint over what to remove"


def test_the_bundled_examples_pair_each_photo_with_a_painted_layer() -> None:
    folder = InpaintTranslator.examples
    photos = sorted(p.name for p in folder.iterdir()
                    if ".mask." not in p.name and p.suffix == ".png")
    assert photos == ["chelsea.png", "china.png"]  # held-out photos: the model never saw them
    for name in photos:
        image = Image.open(folder / name)
        layer = Image.open(folder / name.replace(".png", ".mask.png"))
        assert layer.mode == "RGBA" and layer.size == image.size
        share = (np.asarray(layer)[..., 3] > 0).mean()
        assert 0.05 < share < 0.2


# ---- a real browser --------------------------------------------------------------------------


@pytest.mark.browser
def test_a_user_paints_a_hole_in_the_browser(server: str, tmp_path: Path) -> None:
    """Upload, wait for the brush, paint one stroke, run: the painted region changes only."""
    playwright = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM) and not shutil.which("chromium"):
        pytest.fail("the browser test needs Debian's chromium: apt-get install -y chromium")
    pixels = photo(256, 256)
    upload = write(Image.fromarray(pixels), tmp_path / "photo.png")
    with playwright.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"])
        try:
            page = context.new_page()
            # A cold first load (fresh profile, the server's first page) can take a while;
            # an upload before the editor has hydrated is silently dropped.
            page.goto(server, wait_until="networkidle", timeout=90_000)
            page.locator("#inpaint-mask").wait_for(timeout=60_000)
            # The photo goes to the server first (checked there), then into the editor.
            with page.expect_file_chooser() as chooser:
                page.locator("#inpaint-photo").click()
            chooser.value.set_files(upload)
            # The photo goes to the server and back into the editor; let that traffic end
            # before drawing. (Two CI runs saw no filled photo at all, never reproduced
            # alone; a stroke on the canvas before the photo arrives is the suspect.)
            page.wait_for_load_state("networkidle", timeout=60_000)
            # Drawing before the editor selects its brush loses the stroke.
            page.locator("#inpaint-mask button.highlight[aria-label='Brush']").wait_for(
                timeout=60_000)
            canvas = page.locator("#inpaint-mask canvas").first
            result = page.locator("#inpaint-output img")
            refused = page.locator("#inpaint-message .error")
            # CI once showed the editor dropping the stroke all the same ("nothing is
            # painted yet"): then, as a visitor would, draw it again and press Run again.
            for _ in range(3):
                box = canvas.bounding_box()
                y = box["y"] + box["height"] / 2
                page.mouse.move(box["x"] + box["width"] * 0.3, y)
                page.mouse.down()
                page.mouse.move(box["x"] + box["width"] * 0.7, y, steps=4)
                page.mouse.up()
                page.locator("#inpaint-run").click()
                # 25 s alone, but over 60 s once when the host stole a quarter of the CPU.
                with contextlib.suppress(playwright.Error):  # timed out: said below
                    result.or_(refused).first.wait_for(timeout=180_000)
                if result.is_visible() or "nothing is painted" not in refused.inner_text():
                    break
            if not result.is_visible():
                # Say what the visitor saw instead: the refusal under the output, a toast.
                page.screenshot(path=str(tmp_path / "page.png"))
                said = page.locator("#inpaint-message").inner_text()
                toasts = page.locator(".toast-body").all_inner_texts()
                pytest.fail(f"no filled photo; message {said!r}, toasts {toasts!r}; "
                            f"screenshot {tmp_path / 'page.png'}")
            source = result.get_attribute("src")
            data = page.request.get(source if source.startswith("http") else server + source)
            (tmp_path / "out.png").write_bytes(data.body())
        finally:
            context.close()
    out = np.asarray(Image.open(tmp_path / "out.png").convert("RGB"))
    assert out.shape == pixels.shape
    changed = (out != pixels).any(axis=-1)
    rows = np.flatnonzero(changed.any(1))
    # One horizontal stroke across the middle (the canvas may be wider than the picture):
    # a band of rows changed, every pixel above and below it came back exactly.
    assert 0 < changed.mean() < 0.3
    assert rows.min() > 64 and rows.max() < 192


def test_the_examples_load_into_the_editor_as_photo_and_painted_layer() -> None:
    names, rows, captions = app.example_rows(InpaintTranslator, {"mask": None})
    assert names == ["mask"]
    assert [Path(row[0]["background"]).name for row in rows] == ["chelsea.png", "china.png"]
    folder = Path(str(InpaintTranslator.examples))
    for row, name in zip(rows, ["chelsea", "china"], strict=True):
        # The hole of X.mask.png, in the brush's colour: it shows on any photo.
        layer = np.asarray(Image.open(row[0]["layers"][0]))
        hole = np.asarray(Image.open(folder / f"{name}.mask.png"))[..., 3] > 0
        np.testing.assert_array_equal(layer[..., 3] > 0, hole)
        assert (layer[hole][:, :3] == (255, 0, 102)).all()
    assert captions[0].startswith("Chelsea the cat")
