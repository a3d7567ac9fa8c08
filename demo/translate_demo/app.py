"""The web demo: one tab per installed translator, built from what it declares.

No tab is written by hand. Each translator's `inputs` become widgets (expert ones under
"Advanced"), its `output` an image, its `examples` folder captioned examples, and its
weights a picker. A newly installed plugin shows up with no demo code. Uploads go
through the project's image policy (pixel cap read from the header as soon as the file
arrives, 16-bit scaling, EXIF); a request that would cost too much is refused with the
limit it broke; a long one shows its progress and stops at the time limit; and any
failure becomes a message that stays next to the output while the server keeps serving.
"""

from __future__ import annotations

import base64
import binascii
import inspect
import json
import logging
import os
import tempfile
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import gradio as gr
import numpy as np
import torch
from PIL import Image

from translate import progress as progress_reports
from translate.data.images import open_image
from translate.data.masks import hole_array
from translate.device import pick_device
from translate.errors import TranslateError
from translate.plugins import Registry, get_registry
from translate.translator import Param, Task, Translator
from translate_demo import limits
from translate_demo.display import before_after, for_display
from translate_demo.uploads import checked_upload_path, read_upload
from translate_demo.weights import (
    Choices,
    Loaded,
    ModelCache,
    card_markdown,
    labelled,
    no_weights,
    offered_inputs,
    weights_line,
)

MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # refused by the server before reaching a handler
QUEUE_SIZE = 16  # waiting requests beyond this are told the queue is full
# Tabs in this order, most useful to a visitor first: what works on their own photo, then
# what draws something new. Tasks not listed come last; ties go alphabetically.
TASK_ORDER = (Task.SUPER_RESOLUTION, Task.INPAINTING, Task.PAIRED, Task.UNPAIRED,
              Task.UNCONDITIONAL, Task.CLASS_CONDITIONAL)
EDITOR_MAX_SIDE = 8192  # WebGL's usual texture limit: larger photos cannot be painted on
BRUSH = ("#ff0066", 0.6)  # the mask brush: a colour no photo is likely to hide, see-through
EXAMPLE_IMAGES = (".png", ".jpg", ".jpeg", ".webp")
NO_CHOICE = [("none found", "")]  # a tab with no weights still has a value to send
INTRO = """# gan-translate
Small image-to-image GANs at work: upscale a photo, paint out what should not be there, turn
a photo into a sketch or a painting, or draw faces and digits that never existed.
Pick a tab, click an example or upload an image, and press **Run**; everything runs on this
server."""
# Nothing is drawn over a result: Gradio's zoom-undo corner button is not needed there.
# The model-card page is reached by its links only: no navigation bar (gr.Navbar(visible=False)
# does not hide it in Gradio 6.31).
CSS = """
.result-image .top-panel { display: none !important; }
.nav-holder { display: none !important; }
.result-message { min-height: 1.5em; }
.result-message .error { color: var(--error-text-color); font-weight: 600; }
"""


def build_demo(registry: Registry | None = None, *, device: str = "auto",
               weights: Mapping[str, str] | None = None,
               time_limit: float | None = limits.DEFAULT_TIME_LIMIT,
               backend: str = "auto") -> gr.Blocks:
    """The Blocks app for every translator in registry.

    `weights` preselects a tab's weights by translator name: an entry name from the
    catalog ("starter", "run:NAME", ...) or a weights folder. `time_limit` is how many
    seconds one request may run (None: no limit). `backend` is the CPU inference engine
    (translate.inference.backends), built in the background (translate_demo.engines).
    """
    registry = registry or get_registry()
    weights = dict(weights or {})
    unknown = sorted(set(weights) - set(registry.translators))
    if unknown:
        raise TranslateError(f"--weights names {', '.join(unknown)}, which is not installed; "
                             f"installed: {', '.join(sorted(registry.translators)) or 'none'}")
    models = ModelCache(pick_device(device), backend=backend)
    tabs: list[TabHandlers] = []
    with gr.Blocks(title="gan-translate demo", analytics_enabled=False) as demo:
        gr.Markdown(INTRO, elem_id="intro")
        gr.Markdown(f"Limits here: images up to {limits.megapixels(limits.pixel_cap())}; one "
                    "request runs for at most "
                    + (f"{time_limit:g} s." if time_limit else "as long as it needs."),
                    elem_id="limits")
        if not registry.translators:
            gr.Markdown("No translators are installed. `translate list` says why.")
        with gr.Tabs():
            for name in ordered(registry.translators):
                cls = registry.translators[name]
                with gr.Tab(name, id=name):
                    tabs.append(TabHandlers(cls, models, Choices(cls, weights.get(name)),
                                            time_limit))
                    tabs[-1].build()
        for tab in tabs:
            tab.load_events(demo)
    if tabs:
        with demo.route("Model card", "card", show_in_navbar=False):
            gr.Markdown("[← back to the demo](./)")
            card = gr.Markdown("Loading the model card…", elem_id="card")
            demo.load(_show_card({tab.cls.name: tab for tab in tabs}), None, card,
                      api_visibility="private", queue=False)
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=1)
    return demo


def ordered(translators: Mapping[str, type[Translator]]) -> list[str]:
    """Translator names, most useful first (see TASK_ORDER)."""
    def rank(name: str) -> tuple[int, str]:
        task = translators[name].task
        return (TASK_ORDER.index(task) if task in TASK_ORDER else len(TASK_ORDER), name)

    return sorted(translators, key=rank)


def launch(demo: gr.Blocks, *, host: str = "127.0.0.1", port: int | None = None,
           block: bool = True, open_browser: bool = False) -> None:
    """Serve the demo with the upload cap; `block=False` returns at once (tests)."""
    demo.launch(server_name=host, server_port=port, max_file_size=MAX_UPLOAD_BYTES,
                prevent_thread_lock=not block, quiet=not block, show_error=True,
                inbrowser=open_browser, css=CSS, footer_links=[])


# ---- one tab ----------------------------------------------------------------------------------


class _Notices(logging.Handler):
    """Warnings logged in this thread while it runs `infer` (a plugin's one-line notices)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.thread, self.messages = threading.get_ident(), []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:  # another visitor's request is not ours to tell
            self.messages.append(record.getMessage())


@dataclass
class Outcome:
    """How the last request of one visitor on one tab ended, for the message under it."""

    error: str | None = None
    seconds: float = 0.0
    loaded: Loaded | None = None


class Outcomes:
    """Outcomes by (session, tab); a bounded store, as visitors come and go."""

    def __init__(self, size: int = 512) -> None:
        self._items: OrderedDict[tuple[str, str], Outcome] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def put(self, key: tuple[str, str], outcome: Outcome) -> None:
        with self._lock:
            self._items[key] = outcome
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def pop(self, key: tuple[str, str]) -> Outcome | None:
        with self._lock:
            return self._items.pop(key, None)


OUTCOMES = Outcomes()


@dataclass
class TabHandlers:
    """The widgets of one translator's tab and the functions behind them."""

    cls: type[Translator]
    models: ModelCache
    choices: Choices
    time_limit: float | None
    widgets: dict[str, gr.components.Component] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.cls.name

    # -- layout --

    def build(self) -> None:
        cls = self.cls
        entries = self.choices.entries()
        default = self.choices.default(entries)
        offered = {p.name for p in offered_inputs(cls, default)}
        gr.Markdown(f"**{cls.task.value.capitalize()}.** {cls.description}",
                    elem_id=f"{self.name}-about")
        with gr.Row(equal_height=False):
            # A drawn set (a walk of faces is one wide strip) gets the wider result column.
            drawn = cls.output == "images"
            with gr.Column(scale=1 if drawn else 2, min_width=340):
                self.weights = gr.Dropdown(choices=labelled(entries) or NO_CHOICE,
                                           value=default.name if default else "",
                                           label="Weights", elem_id=f"{self.name}-weights",
                                           info="The starter, your training runs and models "
                                                "you imported or pulled.")
                self.info = gr.Markdown(
                    "" if default else f"**Weights:** {no_weights(cls)}",
                    elem_id=f"{self.name}-weights-line")
                params = [p for p in cls.inputs if p.demo != "hidden"]
                has_mask = any(p.kind == "mask" for p in params)
                shown = [p for p in params if not (p.kind == "image" and has_mask)]
                for param in shown:
                    if param.demo == "main":
                        if param.kind == "mask":
                            # The photo goes to the server first, so its size is checked
                            # before the browser tries to paint on it (see `load_photo`).
                            self.photo = gr.UploadButton(
                                "Upload a photo", file_types=["image"], size="md",
                                elem_id=f"{self.name}-photo")
                        self.widgets[param.name] = _widget(cls, param, param.name in offered)
                self.run = gr.Button("Run", variant="primary", elem_id=f"{self.name}-run")
                if any(p.demo == "advanced" for p in shown):
                    with gr.Accordion("Advanced", open=False, elem_id=f"{self.name}-advanced"):
                        for param in shown:
                            if param.demo == "advanced":
                                self.widgets[param.name] = _widget(cls, param,
                                                                   param.name in offered)
                self.widgets = {p.name: self.widgets[p.name] for p in shown}  # API order
                self._examples()
            with gr.Column(scale=2 if drawn else 3, min_width=400):
                if cls.compare_in_demo:
                    gr.Markdown("Drag the handle to compare: on the left your image enlarged "
                                "by **bicubic** interpolation (the usual baseline), on the "
                                f"right **{self.name}**.", elem_id=f"{self.name}-compare-note")
                    self.output = gr.ImageSlider(
                        type="pil", format="png", interactive=False, show_label=False,
                        buttons=[], elem_id=f"{self.name}-output",
                        elem_classes=["result-image"])
                else:
                    self.output = gr.Image(
                        type="pil", format="png", interactive=False, show_label=False,
                        buttons=[], elem_id=f"{self.name}-output",
                        elem_classes=["result-image"])
                self.message = gr.Markdown("", elem_id=f"{self.name}-message",
                                           elem_classes=["result-message"])
                self.download = gr.DownloadButton("Download PNG", visible=False,
                                                  elem_id=f"{self.name}-download")
        self._events()

    def _examples(self) -> None:
        names, rows, captions = example_rows(self.cls, self.widgets)
        if rows:
            # The caption is one more column of the table, next to the pictures and settings.
            caption = gr.Textbox(label="example", visible=False)
            gr.Examples(examples=[[text, *row] for row, text in zip(rows, captions, strict=True)],
                        inputs=[caption, *(self.widgets[name] for name in names)],
                        label="Examples",
                        elem_id=f"{self.name}-examples")

    def _events(self) -> None:
        inputs = [*self.widgets.values(), self.weights]
        names = [*self.widgets, "weights"]
        event = self.run.click(self.handler(names), inputs=inputs, outputs=self.output,
                               api_name=self.name, preprocess=False)
        # Gradio 6.31 runs `.then` listeners after a success only: register both ways.
        for then in (event.success, event.failure):
            then(self.report, inputs=self.output,
                 outputs=[self.message, self.download, self.info], preprocess=False,
                 api_visibility="private", queue=False, show_progress="hidden")
        for name, widget in self.widgets.items():
            if isinstance(widget, gr.Image):
                widget.upload(self.upload_checker(names, name), inputs=inputs,
                              outputs=[self.message, widget], preprocess=False,
                              api_visibility="private", queue=False, show_progress="hidden")
            elif isinstance(widget, gr.ImageEditor):
                self.photo.upload(self.load_photo, inputs=self.photo,
                                  outputs=[self.message, widget], preprocess=False,
                                  api_visibility="private", show_progress="minimal")
        visible = [self.widgets[p.name] for p in self.cls.inputs if p.name in self.widgets]
        self.weights.change(self.select, inputs=self.weights,
                            outputs=[self.info, *visible], api_visibility="private",
                            show_progress="full")  # a curated entry's download shows its bar
        self._visible = visible

    def load_events(self, demo: gr.Blocks) -> None:
        demo.load(self.refresh, None, [self.weights, self.info, *self._visible],
                  api_visibility="private")

    # -- handlers --

    def handler(self, names: list[str]) -> Callable[..., Any]:
        cls = self.cls

        def run(*values: Any) -> Any:
            *values, request, progress = values
            key = (getattr(request, "session_hash", None) or "", cls.name)
            started = time.perf_counter()
            try:
                chosen = dict(zip(names, values, strict=True))
                loaded = self.models.get(cls, self.choices.find(chosen.pop("weights")))
                # Sizes from the headers: a request over a limit is refused before decoding.
                limits.check_cost(cls, _upload_sizes(cls, chosen), chosen)
                params = _to_params(cls, chosen, cls.inputs_for(loaded.translator.config))
                progress(0.0, desc=f"{cls.name}: working")

                def tiles(done: int, total: int) -> None:
                    progress((done, total), desc=f"{cls.name}: {done} of {total} done",
                             unit="steps")

                notices = _Notices()
                logging.getLogger().addHandler(notices)
                try:
                    with progress_reports.reporting(tiles, time_limit=self.time_limit), \
                            torch.no_grad():
                        images = loaded.translator.infer(**params)
                finally:
                    logging.getLogger().removeHandler(notices)
                for message in notices.messages:  # shown next to the result
                    gr.Warning(message)
                if cls.compare_in_demo:
                    result = before_after(next(params[p.name] for p in cls.inputs
                                               if p.kind == "image"), images[0])
                elif cls.output == "images":  # a set the model drew: readable at any size
                    result = for_display(images)
                else:  # a translation: exactly what the model made, at the upload's size
                    result = images[0]
                OUTCOMES.put(key, Outcome(seconds=time.perf_counter() - started, loaded=loaded))
                return result
            except TranslateError as error:
                message = limits.for_visitors(str(error))
            except Exception as error:  # a bug: logged in full, told in one line
                traceback.print_exc()
                message = f"{cls.name} failed: {type(error).__name__}: {error}"
            OUTCOMES.put(key, Outcome(error=message))
            raise gr.Error(message, print_exception=False)

        run.__name__ = f"run_{cls.name}"
        # Gradio names API parameters after the signature (`label=`, `seed=`, ...) and hands
        # the request and a progress tracker to the parameters so marked.
        run.__signature__ = inspect.Signature(
            [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for name in names]
            + [inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD),
               inspect.Parameter("progress", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                 default=gr.Progress(track_tqdm=True))])
        run.__annotations__ = {"request": gr.Request}
        return run

    def report(self, shown: Any, request: gr.Request) -> tuple[Any, Any, Any]:
        """After a run: the message under the output, the download, the weights line."""
        outcome = OUTCOMES.pop((request.session_hash or "", self.name))
        if outcome is None:
            return gr.update(), gr.update(), gr.update()
        if outcome.error is not None:
            return (f'<p class="error">⚠ {_escape(outcome.error)}</p>',
                    gr.update(visible=False, value=None), gr.update())
        loaded = outcome.loaded
        assert loaded is not None
        info = weights_line(self.cls, loaded.entry, loaded.info, loaded.translator)
        picture = shown[-1] if isinstance(shown, list | tuple) else shown
        path, url = (picture or {}).get("path"), (picture or {}).get("url")
        took = f"{outcome.seconds:.1f} s" if outcome.seconds >= 0.1 else "under 0.1 s"
        note = f"Done in {took} with the **{_escape(loaded.entry.name)}** weights."
        if not path:
            return note, gr.update(visible=False), info
        with Image.open(path) as image:
            width, height = image.size
        if url:
            note += f' <a href="{url}" target="_blank">Open at full size</a> ({width}×{height}).'
        return note, gr.update(value=path, visible=True,
                               label=f"Download PNG ({width}×{height})"), info

    def upload_checker(self, names: list[str], name: str) -> Callable[..., Any]:
        """As soon as an image arrives: refuse it (and clear it) if it breaks a limit."""
        cls = self.cls

        def check(*values: Any) -> tuple[Any, Any]:
            chosen = dict(zip(names, values, strict=True))
            try:
                sizes = _upload_sizes(cls, chosen)
                limits.check_cost(cls, sizes, chosen)
            except TranslateError as error:
                message = limits.for_visitors(str(error))
                return f'<p class="error">⚠ {_escape(message)}</p>', None
            return gr.update(), gr.update()

        check.__name__ = f"check_{cls.name}_{name}"
        return check

    def load_photo(self, upload: Any) -> tuple[Any, Any]:
        """A photo for the mask editor: refused at once if over a limit, else decoded by the
        image policy (EXIF, 16-bit, CMYK) so that the editor shows the pixels that will run."""
        try:
            what = _uploaded_name(upload, "photo")
            data = _upload(upload, what)
            size = limits.image_size(data, what)
            if size is not None and max(size) > EDITOR_MAX_SIDE:
                raise TranslateError(f"{what}: {size[0]}x{size[1]} is too large to paint on in "
                                     f"a browser (at most {EDITOR_MAX_SIDE} pixels a side "
                                     "here); use a smaller photo")
            image = open_image(data, mode=self.cls.image_mode, max_pixels=limits.pixel_cap(),
                               name=what)
        except TranslateError as error:
            message = limits.for_visitors(str(error))
            return f'<p class="error">⚠ {_escape(message)}</p>', gr.update()
        return "", {"background": image, "layers": [], "composite": image}

    def select(self, name: str, progress: gr.Progress = gr.Progress(track_tqdm=True)  # noqa: B008
               ) -> list[Any]:
        """The visitor picked weights: load them (a curated entry is downloaded first, its
        progress shown through huggingface_hub's tqdm bars), say what they are, offer their
        inputs."""
        try:
            entry = self.choices.find(name)
            if entry.kind == "hub":
                progress(0.0, desc=f"downloading {entry.location}")
            loaded = self.models.get(self.cls, entry)
        except TranslateError as error:
            return [f"**Weights:** ⚠ {_escape(str(error))}",
                    *[gr.update() for _ in self._visible]]
        return [weights_line(self.cls, loaded.entry, loaded.info, loaded.translator),
                *self._offer(self.cls.inputs_for(loaded.translator.config))]

    def refresh(self) -> list[Any]:
        """On each visit: the weights now on disk, and the default one loaded and described."""
        entries = self.choices.entries()
        default = self.choices.default(entries)
        if default is None:
            return [gr.update(choices=NO_CHOICE, value=""), f"**Weights:** {no_weights(self.cls)}",
                    *[gr.update() for _ in self._visible]]
        return [gr.update(choices=labelled(entries), value=default.name),
                *self.select(default.name)]

    def _offer(self, offered: tuple[Param, ...]) -> list[Any]:
        """Show the inputs these weights take; a choice follows the model (superres's
        scale offers a x2 model's factors, not a x4's)."""
        by_name = {p.name: p for p in offered}
        updates = []
        for param in self.cls.inputs:
            if param.name not in self.widgets:
                continue
            mine = by_name.get(param.name)
            if mine is None:
                updates.append(gr.update(visible=False))
            elif mine.kind == "choice" and mine.choices != param.choices:
                updates.append(gr.update(visible=True, choices=list(mine.choices),
                                         value=mine.default))
            else:
                updates.append(gr.update(visible=True))
        return updates


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _show_card(tabs: Mapping[str, TabHandlers]) -> Callable[[gr.Request], str]:
    def show(request: gr.Request) -> str:
        query = request.query_params
        tab = tabs.get(query.get("translator", ""))
        if tab is None:
            return "No such translator here."
        try:
            entry = tab.choices.find(query.get("weights"))
            from translate.hub.catalog import describe

            return card_markdown(describe(entry.location))
        except TranslateError as error:
            return f"No model card: {_escape(str(error))}"

    return show


# ---- uploads ------------------------------------------------------------------------------------


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


def _decode(payload: Any, what: str, mode: str) -> Image.Image:
    """An upload decoded by the project's policy, its size first checked from the header."""
    data = _upload(payload, what)
    limits.image_size(data, what)
    return open_image(data, mode=mode, max_pixels=limits.pixel_cap(), name=what)


def _uploaded_name(payload: Any, field: str) -> str:
    """What a message calls an upload: the field, and the file's name as the browser sent it.

    Only the visitor's own `orig_name` is shown, never a server path.
    """
    name = payload.get("orig_name") if isinstance(payload, dict) else None
    if isinstance(name, str) and name.strip():
        shown = Path(name).name[:80].replace("\n", " ")
        return f"{field} {shown!r}"
    return field


def _label(param: Param) -> str:
    return param.name.replace("_", " ")


def _upload_sizes(cls: type[Translator], values: Mapping[str, Any]) -> dict[str, tuple[int, int]]:
    """(width, height) of each image input uploaded so far, read from headers, capped."""
    sizes: dict[str, tuple[int, int]] = {}
    for param in cls.inputs:
        if param.kind == "image" and values.get(param.name):
            what = _uploaded_name(values[param.name], _label(param))
            size = limits.image_size(_upload(values[param.name], what), what)
            if size is not None:
                sizes[param.name] = size
        elif param.kind == "mask" and isinstance(values.get(param.name), dict):
            editor = values[param.name]
            if editor.get("background"):
                what = _uploaded_name(editor["background"], "photo")
                size = limits.image_size(_upload(editor["background"], what), what)
                image = next((p for p in cls.inputs if p.kind == "image"), None)
                if size is not None and image is not None:
                    sizes[image.name] = size
    return sizes


def _to_params(cls: type[Translator], values: dict[str, Any],
               offered: tuple[Param, ...]) -> dict[str, Any]:
    """Widget values -> infer keyword arguments, images decoded by the project's policy.

    Inputs these weights do not offer are left out unless set, so the defaults apply.
    """
    offered_names = {p.name for p in offered}
    params: dict[str, Any] = {}
    for param in cls.inputs:
        if param.name not in values:
            continue  # an image painted over in the mask editor: filled in below
        value = values[param.name]
        if param.name not in offered_names and value in (None, param.default):
            continue  # a hidden widget these weights cannot use; anything else is passed on,
            # so the translator says why it cannot be done
        if param.kind == "image":
            if not value:
                raise TranslateError(f"upload an image for {param.name!r}")
            value = _decode(value, _uploaded_name(value, _label(param)),
                            "RGBA" if cls.keeps_alpha else cls.image_mode)
        elif param.kind == "mask":
            image, value = _image_and_mask(value, cls.image_mode)
            for other in cls.inputs:
                if other.kind == "image":
                    params[other.name] = image
        elif param.kind == "file" and value:
            path = value.get("path") if isinstance(value, dict) else value
            value = checked_upload_path(path, what=_label(param), max_bytes=MAX_UPLOAD_BYTES)
        elif param.kind in ("int", "seed"):
            value = int(value if value is not None else param.default)
        elif param.kind == "float":
            value = float(value if value is not None else param.default)
        params[param.name] = value
    return params


def _image_and_mask(editor: dict[str, Any] | None, mode: str) -> tuple[Image.Image, Image.Image]:
    """The editor's photo, and a mask that is white wherever anything was painted on it.

    Layers of another size than the photo (a client's own, say) are stretched to it.
    """
    if not editor or not editor.get("background"):
        raise TranslateError("photo: upload a photo, then paint over what to remove")
    image = _decode(editor["background"], _uploaded_name(editor["background"], "photo"), mode)
    mask = Image.new("L", image.size, 0)
    for layer in editor.get("layers") or []:
        painted = _decode(layer, "mask layer", "RGBA")
        if painted.size != image.size:
            painted = painted.resize(image.size, Image.NEAREST)
        mask.paste(255, mask=painted.getchannel("A").point(lambda a: 255 if a else 0))
    if not mask.getbbox():
        raise TranslateError("mask layer: nothing is painted yet; paint over what to remove "
                             "with the brush, then press Run")
    return image, mask


# ---- widgets and examples ---------------------------------------------------------------------


def _widget(cls: type[Translator], param: Param, visible: bool = True) -> gr.components.Component:
    label, elem_id = _label(param), f"{cls.name}-{param.name}"
    common: dict[str, Any] = {"label": label, "info": param.help, "elem_id": elem_id,
                              "visible": visible}
    if param.kind == "image":
        common.pop("info")
        # The upload reaches the handler undecoded, so our own policy (pixel cap first,
        # 16-bit scaling, EXIF, one-line errors) is the only one applied.
        return gr.Image(type="filepath", image_mode=None, sources=["upload", "clipboard"],
                        **common)
    if param.kind == "mask":
        common.pop("info")
        common["label"] = "Paint over what to remove"
        # No upload of its own: photos arrive through the "Upload a photo" button.
        return gr.ImageEditor(type="filepath", image_mode="RGBA", sources=(), format="png",
                              brush=gr.Brush(colors=[BRUSH], default_color=BRUSH,
                                             color_mode="fixed"),
                              eraser=gr.Eraser(), transforms=(), layers=False,
                              # Gradio places an example's layer in a canvas of this size
                              # before it takes the photo's: at the default (800, 800) an
                              # example's hole lands off the photo, or off the canvas.
                              canvas_size=(1, 1),
                              placeholder="Upload a photo with the button above, or pick an "
                                          "example below; then paint over what to remove.",
                              **common)
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


def example_rows(cls: type[Translator],
                 widgets: Mapping[str, Any]) -> tuple[list[str], list[list[Any]], list[str]]:
    """The widgets examples set, a row of their values per example, and its caption.

    Examples come from the translator's `examples` folder: one per image (X.png), or, for
    a translator that takes no image, one per X.json. A mask editor gets the image as its
    background and X.mask.png, when there is one, as its painted layer (in the brush's
    colour, so every hole shows). X.json sets other inputs (e.g. {"direction": "BtoA"})
    and its "caption" names the example, else the file name does. Examples set only the
    images and the inputs some X.json names; the others keep what the visitor chose.
    """
    folder = cls.examples
    if folder is None or not folder.is_dir():
        return [], [], []
    takes_image = any(p.is_image for p in cls.inputs)
    files = sorted(folder.iterdir(), key=lambda p: p.name)
    if takes_image:
        items = [p for p in files if ".mask." not in p.name
                 and p.name.lower().endswith(EXAMPLE_IMAGES)]
    else:
        items = [p for p in files if p.name.endswith(".json")]
    settings = []
    for item in items:
        path = folder / f"{item.name.rsplit('.', 1)[0]}.json"
        settings.append(json.loads(path.read_text()) if path.is_file() else {})
    params = {p.name: p for p in cls.inputs}
    named = {key for values in settings for key in values}
    names = [name for name in widgets if params[name].is_image or name in named]
    rows, captions = [], []
    for item, values in zip(items, settings, strict=True):
        stem = item.name.rsplit(".", 1)[0]
        row: list[Any] = []
        for name in names:
            param = params[name]
            if param.kind == "image":
                row.append(str(item))
            elif param.kind == "mask":
                layer = folder / f"{stem}.mask.png"
                row.append({"background": str(item), "composite": str(item),
                            "layers": [_brush_layer(layer)] if layer.is_file() else []})
            else:
                row.append(values.get(name, param.default))
        rows.append(row)
        captions.append(str(values.get("caption") or stem.replace("-", " ").replace("_", " ")))
    return names, rows, captions


_LAYERS = Path(tempfile.mkdtemp(prefix="translate-demo-layers-"))


def _brush_layer(mask: Any) -> str:
    """The example's hole as the editor shows a painted one: the brush colour, see-through,
    on a transparent layer, whatever the file's own convention (layer or white on black)."""
    with Image.open(mask) as image:
        hole = hole_array(image)
    colour = tuple(int(BRUSH[0][i:i + 2], 16) for i in (1, 3, 5))
    layer = np.zeros((*hole.shape, 4), np.uint8)
    layer[hole] = (*colour, round(BRUSH[1] * 255))
    path = _LAYERS / f"{mask.parent.name}-{mask.name}"
    Image.fromarray(layer, "RGBA").save(path)
    return str(path)
