"""The web demo end to end: one real server, driven over HTTP with gradio_client.

One server is started for the whole file (start-up is the slow part). It serves the installed
plugins (digits) plus three test-only translators added to the registry, so the demo is
exercised through every widget kind that involves an upload:

* `invert`: one image in, one image out; a 1x1-conv generator set to minus identity, so the
  output is exactly 255 - input and every pixel of the upload path can be checked.
* `fill`: an image and a mask (one ImageEditor); paints the masked region white.
* `unweighted`: like invert, but no weights can be found, so every call fails.

Nothing leaves 127.0.0.1: TRANSLATE_HOME is a temporary folder, HF_HUB_OFFLINE=1 and Gradio's
analytics are off. Weights are written with `save_pretrained` (training is too slow for a test).
"""

from __future__ import annotations

import base64
import io
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pluggy
import pytest
import torch
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from support.pngs import PNG_SIGNATURE, png_header_only
from support.translators import FillTranslator, InvertTranslator, UnweightedTranslator
from translate.plugins import ENTRY_POINT_GROUP, Registry, load_plugins
from translate_demo import app, display, limits
from translate_digits.translator import DigitsTranslator

# Gradio's queue calls a deprecated pandas option on every event; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")


OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
}


# ---- the server ----------------------------------------------------------------------------


@dataclass
class Server:
    url: str
    demo: Any
    registry: Registry
    weights: dict[str, Path]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(demo: Any) -> str:
    """Launch demo on a free local port with the demo's own launch(); return its URL."""
    port = free_port()
    app.launch(demo, host="127.0.0.1", port=port, block=False)
    return f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    weights_dir = tmp_path_factory.mktemp("weights")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRANSLATE_HOME", str(tmp_path_factory.mktemp("home")))
        for name, value in OFFLINE_ENV.items():
            mp.setenv(name, value)
        torch.manual_seed(0)  # untrained digits weights, but always the same ones
        weights = {}
        for cls in (DigitsTranslator, InvertTranslator, FillTranslator):
            weights[cls.name] = cls(cls.make_config("starter")).save_pretrained(
                weights_dir / cls.name)
            # resolve.py step 3: the bundled starter folder (the committed one may not exist)
            mp.setattr(cls, "starter_weights", weights[cls.name])
        registry = load_plugins()
        assert "digits" in registry.translators, registry.problems
        for cls in (InvertTranslator, FillTranslator, UnweightedTranslator):
            cls.validate()
            registry.translators[cls.name] = cls
        demo = app.build_demo(registry, device="cpu", backend="eager")
        request.addfinalizer(demo.close)
        yield Server(serve(demo), demo, registry, weights)


@pytest.fixture(scope="module")
def client(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Client:
    return Client(server.url, download_files=str(tmp_path_factory.mktemp("downloads")),
                  verbose=False)


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TRANSLATE_HOME", str(tmp_path / "translate-home"))
    for name, value in OFFLINE_ENV.items():
        monkeypatch.setenv(name, value)


# ---- helpers ---------------------------------------------------------------------------------


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def write(folder: Path, name: str, data: bytes) -> str:
    path = folder / name
    path.write_bytes(data)
    return str(path)


def random_rgb(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def result(path: str) -> tuple[bytes, np.ndarray, str]:
    """The downloaded output: its bytes (checked to be a PNG), pixels and mode."""
    data = Path(path).read_bytes()
    assert data.startswith(PNG_SIGNATURE), f"{path} is not a PNG"
    with Image.open(io.BytesIO(data)) as image:
        return data, np.asarray(image), image.mode


def invert(client: Client, path: str) -> np.ndarray:
    _, pixels, mode = result(client.predict(handle_file(path), api_name="/invert"))
    assert mode == "RGB"
    return pixels


def app_error(client: Client, *args: Any, api_name: str) -> str:
    """The one-line message a failing call shows the user."""
    with pytest.raises(AppError) as caught:
        client.predict(*args, api_name=api_name)
    message = str(caught.value)
    assert message, "empty error message"
    assert "\n" not in message, f"not one line: {message!r}"
    assert "Traceback" not in message
    return message


def assert_still_serving(client: Client) -> None:
    _, pixels, _ = result(client.predict(label="3", count=1, seed=0, api_name="/digits"))
    assert pixels.shape[:2] == (256, 256)  # one 16x16 digit, enlarged 16x for display


# ---- 2. digits through the API -----------------------------------------------------------


def test_digits_grid_matches_the_translator(server: Server, client: Client) -> None:
    _, pixels, mode = result(
        client.predict(label="7", count=16, seed=3, api_name="/digits"))
    assert mode in ("RGB", "L")

    # The same 16 digits drawn here, wrapped 4 by 4 with 2 px gaps and enlarged 6x, pixel
    # for pixel: each 16x16 digit is shown at 96x96.
    local = DigitsTranslator.from_pretrained(server.weights["digits"])
    images = local.infer(label="7", count=16, seed=3)
    assert len(images) == 16
    assert pixels.shape[:2] == ((4 * 18 + 2) * 6,) * 2
    got = np.asarray(Image.fromarray(pixels).convert("L"))
    grid = np.asarray(display.grid(images))
    np.testing.assert_array_equal(got[::6, ::6], grid)
    np.testing.assert_array_equal(got[2 * 6:18 * 6:6, 2 * 6:18 * 6:6], np.asarray(images[0]))


@pytest.mark.parametrize(("sizes", "shown"), [
    ([(16, 16)], (256, 256)),  # one digit: enlarged until its short side is 256
    ([(32, 32)] * 16, (414, 414)),  # 16 faces wrap 4 by 4, each shown at 96 px
    ([(274, 36)], (1096, 144)),  # a walk of 8 faces: one strip, no wider than 1100 px
    ([(16, 16)] * 256, (870, 870)),  # 16 by 16 digits, still within 1100 px
])
def test_small_results_are_enlarged_pixel_exact_and_sets_wrap(sizes, shown) -> None:
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 256, (h, w), np.uint8)) for w, h in sizes]
    picture = display.for_display(images)
    assert picture.size == shown
    factor = shown[0] // (images[0].width if len(images) == 1 else display.grid(images).width)
    small = np.asarray(picture)[::factor, ::factor]
    expected = images[0] if len(images) == 1 else display.grid(images)
    np.testing.assert_array_equal(small, np.asarray(expected))  # every pixel repeated, none new


def test_the_comparison_baseline_is_bicubic() -> None:
    small = Image.fromarray(np.random.default_rng(0).integers(0, 256, (8, 8, 3), np.uint8))
    big = small.resize((32, 32), Image.NEAREST)
    before, after = display.before_after(small, big)
    assert after is big
    np.testing.assert_array_equal(np.asarray(before), np.asarray(small.resize((32, 32),
                                                                              Image.BICUBIC)))


def test_digits_same_seed_same_bytes_other_seed_other_image(client: Client) -> None:
    first, pixels, _ = result(client.predict(label="7", count=16, seed=3, api_name="/digits"))
    again, _, _ = result(client.predict(label="7", count=16, seed=3, api_name="/digits"))
    assert first == again
    _, other, _ = result(client.predict(label="7", count=16, seed=4, api_name="/digits"))
    assert other.shape == pixels.shape
    assert not np.array_equal(other, pixels)


def test_api_has_one_endpoint_per_translator_named_after_its_params(
        server: Server, client: Client) -> None:
    api = client.view_api(return_format="dict", print_info=False)
    endpoints = api["named_endpoints"]
    assert set(endpoints) == {f"/{name}" for name in server.registry.translators}
    assert {"/digits", "/invert"} <= set(endpoints)

    def names(endpoint: str) -> list[str]:
        return [p["parameter_name"] for p in endpoints[endpoint]["parameters"]]

    assert names("/digits") == ["label", "count", "seed", "weights"]
    assert names("/invert") == ["image", "weights"]
    assert names("/fill") == ["mask", "weights"]  # the image is the mask editor's background
    label = endpoints["/digits"]["parameters"][0]
    assert all(f"'{d}'" in label["python_type"]["type"] for d in ("all", "0", "9"))


# ---- 3. the upload path ----------------------------------------------------------------------


def test_rgb_upload_is_inverted_exactly(client: Client, tmp_path: Path) -> None:
    pixels = random_rgb(256, 320)  # shortest side 256: shown 1:1, not enlarged
    out = invert(client, write(tmp_path, "photo.png", png(Image.fromarray(pixels))))
    np.testing.assert_array_equal(out, 255 - pixels)


def test_16_bit_upload_is_scaled_not_clipped(client: Client, tmp_path: Path) -> None:
    wide = np.linspace(0, 65535, 256 * 300).round().astype(np.uint16).reshape(256, 300)
    source = Image.fromarray(wide)
    assert source.mode == "I;16"
    out = invert(client, write(tmp_path, "deep.png", png(source)))
    grey = ((wide.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    np.testing.assert_array_equal(out, np.repeat(255 - grey[..., None], 3, axis=2))
    assert out.min() == 0 and out.max() == 255  # the whole range survives, nothing clipped


def test_rgba_upload_is_composited_on_white(client: Client, tmp_path: Path) -> None:
    colour = random_rgb(256, 300, seed=1)
    alpha = np.zeros((256, 300), np.uint8)
    alpha[:, 100:200], alpha[:, 200:] = 128, 255  # transparent | half | opaque
    rgba = Image.fromarray(np.dstack([colour, alpha]), "RGBA")
    out = invert(client, write(tmp_path, "cutout.png", png(rgba)))
    over_white = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
    np.testing.assert_array_equal(out, 255 - np.asarray(over_white.convert("RGB")))
    assert (out[:, :100] == 0).all()  # transparent was white, not black
    np.testing.assert_array_equal(out[:, 200:], 255 - colour[:, 200:])


def test_mask_editor_fills_the_painted_region(client: Client, tmp_path: Path) -> None:
    pixels = random_rgb(256, 256, seed=2)
    background = write(tmp_path, "background.png", png(Image.fromarray(pixels)))
    stroke = np.zeros((256, 256, 4), np.uint8)
    stroke[64:128, 32:96] = 255  # an opaque white brush stroke on a transparent layer
    layer = write(tmp_path, "layer.png", png(Image.fromarray(stroke, "RGBA")))
    editor = {"background": handle_file(background), "layers": [handle_file(layer)],
              "composite": handle_file(background)}
    _, out, _ = result(client.predict(editor, api_name="/fill"))
    expected = pixels.copy()
    expected[64:128, 32:96] = 255
    np.testing.assert_array_equal(out, expected)


def test_mask_editor_scales_a_16_bit_background(client: Client, tmp_path: Path) -> None:
    wide = np.linspace(0, 65535, 256 * 256).round().astype(np.uint16).reshape(256, 256)
    background = write(tmp_path, "deep.png", png(Image.fromarray(wide)))
    stroke = np.zeros((256, 256, 4), np.uint8)
    stroke[:8, :8] = 255
    layer = write(tmp_path, "layer.png", png(Image.fromarray(stroke, "RGBA")))
    editor = {"background": handle_file(background), "layers": [handle_file(layer)],
              "composite": handle_file(background)}
    _, out, _ = result(client.predict(editor, api_name="/fill"))
    grey = ((wide.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    expected = np.repeat(grey[..., None], 3, axis=2)
    expected[:8, :8] = 255
    np.testing.assert_array_equal(out, expected)


def test_a_layer_of_another_size_is_fitted_to_the_photo(client: Client, tmp_path: Path) -> None:
    pixels = random_rgb(256, 256, seed=5)
    background = write(tmp_path, "photo.png", png(Image.fromarray(pixels)))
    stroke = np.zeros((64, 64, 4), np.uint8)
    stroke[:16, :16] = 255  # the top-left quarter's quarter: 64x64 of the photo
    layer = write(tmp_path, "small.png", png(Image.fromarray(stroke, "RGBA")))
    editor = {"background": handle_file(background), "layers": [handle_file(layer)],
              "composite": handle_file(background)}
    _, out, _ = result(client.predict(editor, api_name="/fill"))
    expected = pixels.copy()
    expected[:64, :64] = 255
    np.testing.assert_array_equal(out, expected)


def test_nothing_painted_is_a_clear_message(client: Client, tmp_path: Path) -> None:
    background = write(tmp_path, "photo.png", _good_png())
    editor = {"background": handle_file(background), "layers": [],
              "composite": handle_file(background)}
    message = app_error(client, editor, api_name="/fill")
    assert message == ("mask layer: nothing is painted yet; paint over what to remove with "
                       "the brush, then press Run")
    assert_still_serving(client)


def test_a_data_url_payload_gets_the_same_policy_as_a_file(client: Client) -> None:
    pixels = random_rgb(256, 256, seed=4)
    url = "data:image/png;base64," + base64.b64encode(png(Image.fromarray(pixels))).decode()
    out = client.predict({"url": url, "meta": {"_type": "gradio.FileData"}}, api_name="/invert")
    np.testing.assert_array_equal(result(out)[1], 255 - pixels)


# ---- 4. failures: one short line, and the server keeps serving ---------------------------------


def _good_png() -> bytes:
    return png(Image.fromarray(random_rgb(256, 256, seed=3)))


def test_truncated_png_is_named_in_one_line(client: Client, tmp_path: Path) -> None:
    data = _good_png()
    path = write(tmp_path, "cut.png", data[: len(data) // 2])
    message = app_error(client, handle_file(path), api_name="/invert")
    assert message.startswith("image 'cut.png': truncated or corrupt image data"), message
    assert_still_serving(client)


def test_damaged_png_data_is_named_in_one_line(client: Client, tmp_path: Path) -> None:
    data = bytearray(_good_png())
    start = data.index(b"IDAT") + 8
    data[start:start + 64] = bytes(64)  # zero the start of the compressed stream
    message = app_error(client, handle_file(write(tmp_path, "damaged.png", bytes(data))),
                        api_name="/invert")
    assert message.startswith("image 'damaged.png': truncated or corrupt image data"), message
    assert_still_serving(client)


def test_not_an_image_is_named_in_one_line(client: Client, tmp_path: Path) -> None:
    path = write(tmp_path, "notes.png", b"these are not the pixels you are looking for\n" * 8)
    try:
        message = app_error(client, handle_file(path), api_name="/invert")
        assert message == "image 'notes.png': not an image format Pillow can read", message
    finally:
        assert_still_serving(client)


def test_the_pixel_cap_is_the_readmes_50_mp_and_follows_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert limits.pixel_cap() == 50_000_000
    monkeypatch.setenv("TRANSLATE_MAX_PIXELS", "4_000_000")
    assert limits.pixel_cap() == 4_000_000


def test_too_many_pixels_is_refused_from_the_header(client: Client, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRANSLATE_MAX_PIXELS", "20000000")  # as `translate demo --max-pixels`
    black = png(Image.new("L", (5000, 5000)))
    assert len(black) < 100_000  # tiny on disk, 25 megapixels once decoded
    message = app_error(client, handle_file(write(tmp_path, "black.png", black)),
                        api_name="/invert")
    assert message == ("image 'black.png': 5000x5000 = 25000000 pixels is over the limit of "
                       "20000000 pixels (20 MP) for one image here; use a smaller image"), message
    assert_still_serving(client)


def test_a_bomb_header_names_the_demo_pixel_limit(client: Client, tmp_path: Path) -> None:
    bomb = write(tmp_path, "bomb.png", png_header_only(20000, 20000))  # 400 megapixels
    try:
        message = app_error(client, handle_file(bomb), api_name="/invert")
        assert message.startswith("image 'bomb.png': "), message
        assert "over the limit of 50000000 pixels (50 MP)" in message, message
        assert "environment" not in message  # advice for the operator, not the visitor
    finally:
        assert_still_serving(client)


def test_a_bomb_in_the_mask_editor_names_the_photo(client: Client, tmp_path: Path) -> None:
    bomb = handle_file(write(tmp_path, "bomb.png", png_header_only(20000, 20000)))
    try:
        message = app_error(client, {"background": bomb, "layers": [], "composite": bomb},
                            api_name="/fill")
        assert message.startswith("photo 'bomb.png': ") and "over the limit of 50000000 pixels" \
            in message, message
    finally:
        assert_still_serving(client)


def test_a_bomb_as_a_mask_layer_names_the_layer(client: Client, tmp_path: Path) -> None:
    photo = handle_file(write(tmp_path, "photo.png", _good_png()))
    bomb = handle_file(write(tmp_path, "bomb.png", png_header_only(20000, 20000)))
    message = app_error(client, {"background": photo, "layers": [bomb], "composite": photo},
                        api_name="/fill")
    assert message.startswith("mask layer: "), message
    assert_still_serving(client)


def test_a_file_over_the_byte_cap_is_refused_at_upload(
        server: Server, client: Client, tmp_path: Path) -> None:
    assert server.demo.max_file_size == app.MAX_UPLOAD_BYTES
    assert server.demo.config["max_file_size"] == app.MAX_UPLOAD_BYTES
    good = _good_png()
    big = write(tmp_path, "big.png", good + bytes(app.MAX_UPLOAD_BYTES + 1 - len(good)))
    assert Path(big).stat().st_size == app.MAX_UPLOAD_BYTES + 1

    upload = f"{server.url}gradio_api/upload"
    with httpx.Client(trust_env=False, timeout=30) as http:
        with open(big, "rb") as handle:
            refused = http.post(upload, files={"files": ("big.png", handle, "image/png")})
        assert refused.status_code == 413, refused.text
        accepted = http.post(upload, files={"files": ("good.png", good, "image/png")})
        assert accepted.status_code == 200, accepted.text

    # gradio_client reads the cap from the app's config and refuses before sending.
    with pytest.raises(ValueError, match="maximum file size"):
        client.predict(handle_file(big), api_name="/invert")
    assert_still_serving(client)


def test_missing_weights_is_a_one_line_error(server: Server, client: Client,
                                             tmp_path: Path) -> None:
    path = write(tmp_path, "photo.png", _good_png())
    message = app_error(client, handle_file(path), api_name="/unweighted")
    assert message.startswith("no weights for unweighted: train some"), message
    assert_still_serving(client)


def test_missing_upload_is_a_one_line_error(client: Client) -> None:
    message = app_error(client, None, api_name="/invert")
    assert message == "upload an image for 'image'"
    assert_still_serving(client)


# ---- 5. queue and analytics ------------------------------------------------------------------


def test_requests_queue_and_analytics_are_off(server: Server) -> None:
    demo = server.demo
    assert demo._queue.max_size == app.QUEUE_SIZE > 0
    assert demo.config["enable_queue"] is True
    assert demo.analytics_enabled is False
    assert demo.config["analytics_enabled"] is False
    assert demo.config["show_error"] is True  # handlers' gr.Error messages reach the user


# ---- 6. nothing installed ----------------------------------------------------------------------


def test_a_registry_without_translators_still_launches(request: pytest.FixtureRequest) -> None:
    empty = Registry(pluggy.PluginManager(ENTRY_POINT_GROUP))
    demo = app.build_demo(empty, device="cpu")
    request.addfinalizer(demo.close)
    notes = [c["props"]["value"] for c in demo.config["components"] if c["type"] == "markdown"]
    assert any(note.startswith("No translators are installed") for note in notes), notes
    assert not [c for c in demo.config["components"] if c["type"] == "tabitem"]

    url = serve(demo)
    with httpx.Client(trust_env=False, timeout=30) as http:
        page = http.get(url)
        assert page.status_code == 200
        config = http.get(f"{url}config").json()
    assert any("No translators are installed" in str(c["props"].get("value"))
               for c in config["components"])
    assert config["dependencies"] == []


# ---- 7. tabs come from the declarations, not from per-plugin code -----------------------------


def test_one_tab_per_translator_with_a_widget_per_param(server: Server) -> None:
    components = server.demo.config["components"]
    tabs = [c["props"] for c in components if c["type"] == "tabitem"]
    assert sorted(t["label"] for t in tabs) == sorted(server.registry.translators)
    assert sorted(t["id"] for t in tabs) == sorted(server.registry.translators)

    by_id = {c["props"].get("elem_id"): c for c in components if c["props"].get("elem_id")}
    expected_widgets = {"digits-label": "dropdown", "digits-count": "slider",
                        "digits-seed": "number", "invert-image": "image",
                        "fill-mask": "imageeditor", "unweighted-image": "image"}
    for elem_id, kind in expected_widgets.items():
        assert by_id[elem_id]["type"] == kind, elem_id
    assert "fill-image" not in by_id  # the mask editor's background is the image
    assert by_id["digits-label"]["props"]["choices"][0][0] == "all"
    for name, cls in server.registry.translators.items():
        assert by_id[f"{name}-run"]["type"] == "button"
        output = "imageslider" if cls.compare_in_demo else "image"  # before | after
        assert by_id[f"{name}-output"]["type"] == output

    assert by_id["digits-weights"]["type"] == "dropdown"
    assert by_id["digits-weights"]["props"]["value"] == "starter"  # not the latest run
    notes = [c["props"]["value"] for c in components if c["type"] == "markdown"]
    assert any("Weights:** no weights for unweighted" in n for n in notes)
    assert not any(str(server.weights["digits"]) in n for n in notes)  # no server paths


def test_a_file_param_is_an_upload_handed_over_as_its_path() -> None:
    import gradio as gr

    from translate import Param

    widget = app._widget(InvertTranslator, Param(name="reverse", kind="file",
                                                 help="a second file"))
    assert isinstance(widget, gr.File) and widget.type == "filepath"


# ---- 8. the weights line -------------------------------------------------------------------


@pytest.mark.parametrize(("plugin", "headline"), [
    ("digits", "class accuracy 98.3% (untrained baseline 9.8%, real train digits 98.4%)"),
    ("superres", "psnr y 27.53 dB (bicubic baseline 26.95 dB, gain 0.58 dB)"),
    ("inpaint", "hole 10 20 psnr 27.54 dB (telea 26.26 dB, coarse stage 27.52 dB)"),
    ("cyclegan", "target domain share AtoB 100.0% (identity baseline 8.3%)"),
])
def test_the_headline_figure_comes_from_the_card_with_its_baselines(plugin, headline) -> None:
    from importlib.resources import files

    from translate.hub.catalog import describe
    from translate_demo.weights import headline_figure

    # The package's own starter (this module's server stands untrained weights in for it).
    starter = Path(str(files(f"translate_{plugin}") / "starter"))
    assert headline_figure(describe(starter).metrics) == headline
