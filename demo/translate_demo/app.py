"""The web demo: one tab per installed translator, built from what it declares.

No tab is written by hand. Each translator's `inputs` become widgets and its
`output` an image, so a newly installed plugin shows up with no demo code. Uploads
go through the project's image policy (pixel cap before decoding, 16-bit scaling,
EXIF), and any failure becomes a short message while the server keeps serving.
"""

from __future__ import annotations

import base64
import binascii
import inspect
import json
import logging
import os
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import gradio as gr
import numpy as np
import torch
from PIL import Image

from translate.data.images import open_image
from translate.data.pipeline import to_tensor
from translate.device import pick_device
from translate.engine.samples import grid_image
from translate.errors import TranslateError
from translate.hub.layout import CONFIG_NAME, read_meta
from translate.hub.resolve import ResolvedWeights, load_translator, resolve_weights
from translate.plugins import Registry, get_registry
from translate.translator import Param, Translator
from translate_demo.uploads import checked_upload_path, read_upload

MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # refused by the server before reaching a handler
MAX_UPLOAD_PIXELS = 16_000_000  # checked from the header, before any decoding
QUEUE_SIZE = 16  # waiting requests beyond this are told the queue is full
DISPLAY_MIN_SIDE = 256  # tiny outputs (16x16 digits) are enlarged, pixel-exact, for viewing


class ModelCache:
    """Loads each translator's weights on first use and keeps them."""

    def __init__(self, device: str = "auto") -> None:
        self.device = pick_device(device)
        self._models: dict[str, Translator] = {}
        self._lock = threading.Lock()

    def get(self, cls: type[Translator]) -> Translator:
        with self._lock:
            if cls.name not in self._models:
                self._models[cls.name], _ = load_translator(cls, device=self.device)
            return self._models[cls.name]


class _Notices(logging.Handler):
    """Warnings logged in this thread while it runs `infer` (a plugin's one-line notices)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.thread, self.messages = threading.get_ident(), []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:  # another visitor's request is not ours to tell
            self.messages.append(record.getMessage())


def _upload(payload: Any, what: str) -> bytes:
    """The uploaded file's bytes, exactly as sent: a file in Gradio's cache, or a data URL.

    Handlers run with preprocess=False, because Gradio's own preprocessing opens every
    image with Pillow first (no pixel cap, 16-bit clipped, data URLs re-encoded as lossy
    WebP). Gradio checks a path against its cache only when the payload carries `meta`,
    so `read_upload` checks every path itself before opening it.
    """
    if isinstance(payload, dict):
        url, path = payload.get("url") or "", payload.get("path")
        if url.startswith("data:"):
            header, _, body = url.partition(",")
            if not header.endswith(";base64") or len(body) * 3 // 4 > MAX_UPLOAD_BYTES:
                raise TranslateError(f"{what}: only base64 data URLs up to "
                                     f"{MAX_UPLOAD_BYTES} bytes are accepted")
            try:
                return base64.b64decode(body, validate=True)
            except binascii.Error:
                raise TranslateError(f"{what}: the data URL is not valid base64") from None
        if path:
            return read_upload(path, what=what, max_bytes=MAX_UPLOAD_BYTES)
    raise TranslateError(f"{what}: no file was received")


def _uploaded_name(payload: Any, field: str) -> str:
    """What a message calls an upload: the field, and the file's name as the browser sent it.

    Only the visitor's own `orig_name` is shown, never a server path.
    """
    name = payload.get("orig_name") if isinstance(payload, dict) else None
    if isinstance(name, str) and name.strip():
        shown = Path(name).name[:80].replace("\n", " ")
        return f"{field} {shown!r}"
    return field


def build_demo(registry: Registry | None = None, *, device: str = "auto") -> gr.Blocks:
    """The Blocks app for every translator in registry."""
    registry = registry or get_registry()
    models = ModelCache(device)
    with gr.Blocks(title="gan-translate", analytics_enabled=False) as demo:
        gr.Markdown("# gan-translate\nImage-to-image translation with GAN plugins: one tab "
                    "per installed translator.")
        if not registry.translators:
            gr.Markdown("No translators are installed. `translate list` says why.")
        with gr.Tabs():
            for name in sorted(registry.translators):
                with gr.Tab(name, id=name):
                    _build_tab(registry.translators[name], models)
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=1)
    return demo


def launch(demo: gr.Blocks, *, host: str = "127.0.0.1", port: int | None = None,
           block: bool = True) -> None:
    """Serve the demo with the upload cap; `block=False` returns at once (tests)."""
    demo.launch(server_name=host, server_port=port, max_file_size=MAX_UPLOAD_BYTES,
                prevent_thread_lock=not block, quiet=not block, show_error=True)


def _build_tab(cls: type[Translator], models: ModelCache) -> None:
    try:
        resolved: ResolvedWeights | None = resolve_weights(cls)
        weights = resolved.describe()
    except TranslateError as error:
        resolved, weights = None, str(error)
    gr.Markdown(f"**{cls.task.value}**: {cls.description}  \nWeights: {weights}")
    with gr.Row():
        with gr.Column():
            widgets = _widgets(cls, _offered_inputs(cls, resolved))
            run = gr.Button("Run", variant="primary", elem_id=f"{cls.name}-run")
        with gr.Column():
            if cls.compare_in_demo:  # before | after, the input enlarged to the output's size
                output = gr.ImageSlider(label="before | after", type="pil", format="png",
                                        interactive=False, elem_id=f"{cls.name}-output")
            else:
                output = gr.Image(label="result", type="pil", format="png", interactive=False,
                                  elem_id=f"{cls.name}-output")
    run.click(_handler(cls, models, list(widgets)), inputs=list(widgets.values()),
              outputs=output, api_name=cls.name, preprocess=False)
    rows = _example_rows(cls, widgets)
    if rows:
        gr.Examples(examples=rows, inputs=list(widgets.values()), label="examples",
                    elem_id=f"{cls.name}-examples")


def _offered_inputs(cls: type[Translator], resolved: ResolvedWeights | None) -> tuple[Param, ...]:
    """The inputs the tab's weights can use, read from their config.json when it is local.

    Weights still on the Hub are not fetched to build a page: their tab offers every input,
    and one their config cannot serve fails with the translator's own message.
    """
    folder = Path(resolved.location) if resolved is not None else None
    if folder is None or not (folder / CONFIG_NAME).is_file():
        return cls.inputs
    try:
        config = cls.config_from_meta(read_meta(folder))
    except TranslateError:
        return cls.inputs  # running the tab reports the broken weights
    return cls.inputs_for(config)


def _widgets(cls: type[Translator],
             inputs: tuple[Param, ...]) -> dict[str, gr.components.Component]:
    """One widget per offered input; an image with a mask is one editor to paint on."""
    has_mask = any(p.kind == "mask" for p in inputs)
    widgets: dict[str, gr.components.Component] = {}
    for param in inputs:
        if param.kind == "image" and has_mask:
            continue  # the mask editor's background is the image
        widgets[param.name] = _widget(cls.name, param)
    return widgets


def _example_rows(cls: type[Translator], widgets: dict[str, Any]) -> list[list[Any]]:
    """One row of widget values per image in the translator's `examples` folder.

    A mask editor gets the image as its background and X.mask.png, when there is one, as
    the painted layer; other widgets take their values from X.json when there is one
    (e.g. {"direction": "BtoA"}), else their defaults.
    """
    folder = cls.examples
    if folder is None or not folder.is_dir():
        return []
    images = sorted((p for p in folder.iterdir() if ".mask." not in p.name
                     and p.name.lower().endswith((".png", ".jpg", ".jpeg", ".webp"))),
                    key=lambda p: p.name)
    params = {p.name: p for p in cls.inputs}
    rows = []
    for image in images:
        settings = folder / f"{image.name.rsplit('.', 1)[0]}.json"
        values = json.loads(settings.read_text()) if settings.is_file() else {}
        row: list[Any] = []
        for name in widgets:
            param = params[name]
            if param.kind == "image":
                row.append(str(image))
            elif param.kind == "mask":
                layer = folder / f"{image.name.rsplit('.', 1)[0]}.mask.png"
                row.append({"background": str(image), "composite": str(image),
                            "layers": [str(layer)] if layer.is_file() else []})
            else:
                row.append(values.get(name, param.default))
        rows.append(row)
    return rows


def _widget(translator: str, param: Param) -> gr.components.Component:
    label, elem_id = param.name.replace("_", " "), f"{translator}-{param.name}"
    common: dict[str, Any] = {"label": label, "info": param.help, "elem_id": elem_id}
    if param.kind == "image":
        common.pop("info")
        # The upload reaches the handler undecoded, so our own policy (pixel cap first,
        # 16-bit scaling, EXIF, one-line errors) is the only one applied.
        return gr.Image(type="filepath", image_mode=None, sources=["upload", "clipboard"],
                        **common)
    if param.kind == "mask":
        common.pop("info")
        return gr.ImageEditor(type="filepath", image_mode="RGBA", sources=["upload"],
                              brush=gr.Brush(colors=["#ffffff"], color_mode="fixed"),
                              eraser=gr.Eraser(), **common)
    if param.kind == "file":
        common.pop("info")  # gr.File has no info line
        return gr.File(type="filepath", **common)  # the handler gets the path, or None
    if param.kind == "choice":
        return gr.Dropdown(choices=list(param.choices), value=param.default, **common)
    if param.kind == "bool":
        return gr.Checkbox(value=bool(param.default), **common)
    if param.kind == "float" and param.low is not None and param.high is not None:
        return gr.Slider(param.low, param.high, value=param.default, **common)
    if param.kind in ("int", "seed") and param.low is not None and param.high is not None \
            and param.high - param.low <= 256:
        return gr.Slider(param.low, param.high, value=param.default, step=1, **common)
    return gr.Number(value=param.default, precision=0 if param.kind in ("int", "seed") else None,
                     minimum=param.low, maximum=param.high, **common)


def _handler(cls: type[Translator], models: ModelCache,
             names: list[str]) -> Callable[..., Image.Image | tuple[Image.Image, Image.Image]]:
    def run(*values: Any) -> Image.Image | tuple[Image.Image, Image.Image]:
        try:
            params = _to_params(cls, dict(zip(names, values, strict=True)))
            translator = models.get(cls)
            notices = _Notices()
            logging.getLogger().addHandler(notices)
            try:
                with torch.no_grad():
                    images = translator.infer(**params)
            finally:
                logging.getLogger().removeHandler(notices)
            for message in notices.messages:  # shown next to the result
                gr.Warning(message)
            if cls.compare_in_demo:
                return _before_after(next(params[p.name] for p in cls.inputs
                                          if p.kind == "image"), images[0])
            return _for_display(images)
        except TranslateError as error:
            raise gr.Error(str(error), print_exception=False) from None
        except Exception as error:
            traceback.print_exc()
            raise gr.Error(f"{cls.name} failed: {type(error).__name__}: {error}",
                           print_exception=False) from None

    run.__name__ = f"run_{cls.name}"
    # Gradio names API parameters after the signature: give clients `label=`, `seed=`, ...
    run.__signature__ = inspect.Signature(
        [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for name in names])
    return run


def _to_params(cls: type[Translator], values: dict[str, Any]) -> dict[str, Any]:
    """Widget values -> infer keyword arguments, images decoded by the project's policy."""
    params: dict[str, Any] = {}
    for param in cls.inputs:
        if param.name not in values:
            continue  # an image painted over in the mask editor; filled in below
        value = values[param.name]
        if param.kind == "image":
            if not value:
                raise TranslateError(f"upload an image for {param.name!r}")
            what = _uploaded_name(value, param.name)
            value = open_image(_upload(value, what),
                               mode="RGBA" if cls.keeps_alpha else cls.image_mode,
                               max_pixels=MAX_UPLOAD_PIXELS, name=what)
        elif param.kind == "mask":
            image, value = _image_and_mask(value, cls.image_mode)
            for other in cls.inputs:
                if other.kind == "image":
                    params[other.name] = image
        elif param.kind == "file" and value:
            path = value.get("path") if isinstance(value, dict) else value
            value = checked_upload_path(path, what=param.name, max_bytes=MAX_UPLOAD_BYTES)
        elif param.kind in ("int", "seed"):
            value = int(value if value is not None else param.default)
        elif param.kind == "float":
            value = float(value if value is not None else param.default)
        params[param.name] = value
    return params


def _image_and_mask(editor: dict[str, Any] | None, mode: str) -> tuple[Image.Image, Image.Image]:
    """The editor's background image, and a mask that is white wherever anything was painted."""
    if not editor or not editor.get("background"):
        raise TranslateError("upload an image, then paint over the region to fill")
    what = _uploaded_name(editor["background"], "image")
    image = open_image(_upload(editor["background"], what), mode=mode,
                       max_pixels=MAX_UPLOAD_PIXELS, name=what)
    mask = Image.new("L", image.size, 0)
    for layer in editor.get("layers") or []:
        painted = open_image(_upload(layer, "mask layer"), mode="RGBA",
                             max_pixels=MAX_UPLOAD_PIXELS, name="mask layer")
        if painted.size != image.size:
            painted = painted.resize(image.size, Image.NEAREST)
        mask.paste(255, mask=painted.getchannel("A").point(lambda a: 255 if a else 0))
    return image, mask


def _before_after(before: Image.Image, after: Image.Image) -> tuple[Image.Image, Image.Image]:
    """The input at the output's size (nearest neighbour: its own pixels), then the output."""
    if before.size != after.size:
        before = before.resize(after.size, Image.NEAREST)
    return before.convert(after.mode), after


def _for_display(images: list[Image.Image]) -> Image.Image:
    """One picture: the image itself, or a grid of several; tiny ones enlarged pixel-exactly."""
    if len(images) == 1:
        picture = images[0]
        scale = max(1, -(-DISPLAY_MIN_SIDE // min(picture.size)))
        return picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST) \
            if scale > 1 else picture
    mode = "RGB" if any(i.mode != "L" for i in images) else "L"
    tensors = torch.stack([to_tensor(np.asarray(image.convert(mode))) for image in images])
    return grid_image(tensors, columns=min(len(images), 8))
