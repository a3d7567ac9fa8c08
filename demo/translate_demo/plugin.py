"""Adds `translate demo` to the command line (the register_commands hook)."""

from __future__ import annotations

import os

import click

from translate import hookimpl

# translate.inference.backends.BACKENDS less compile, named here so --help imports no torch.
DEMO_BACKENDS = ("auto", "eager", "channels_last", "onnxruntime", "openvino", "bf16",
                 "openvino_bf16")


def _weights(values: tuple[str, ...]) -> dict[str, str]:
    chosen = {}
    for value in values:
        name, sep, weights = value.partition("=")
        if not sep or not name or not weights:
            raise click.BadParameter(f"{value!r}: write NAME=WEIGHTS, e.g. digits=run:digits",
                                     param_hint="--weights")
        chosen[name] = weights
    return chosen


@hookimpl
def register_commands(cli: click.Group) -> None:
    @cli.command("demo", context_settings={"help_option_names": ["-h", "--help"]})
    @click.option("--host", default="127.0.0.1", show_default=True,
                  help="Interface to listen on (0.0.0.0 to share on your network).")
    @click.option("--port", type=int, default=7860, show_default=True)
    @click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto",
                  show_default=True)
    @click.option("--weights", "weights", multiple=True, metavar="NAME=WEIGHTS",
                  help="Preselect a tab's weights: an entry of its picker (starter, "
                       "run:RUN, imported:..., pulled:..., or a curated name such as "
                       "superres=RealESRGAN_x4plus, downloaded when first used; see "
                       "`translate models`) or a weights folder. Repeatable.")
    @click.option("--max-pixels", type=click.IntRange(min=1), metavar="N",
                  help="Largest image accepted, in pixels (sets TRANSLATE_MAX_PIXELS; "
                       "default 50000000).")
    @click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=120.0,
                  show_default=True, metavar="SECONDS",
                  help="How long one request may run before it is stopped.")
    @click.option("--open", "open_browser", is_flag=True,
                  help="Open the demo in a web browser once it is serving.")
    @click.option("--backend", type=click.Choice(DEMO_BACKENDS),
                  default=lambda: os.environ.get("TRANSLATE_BACKEND", "auto"),
                  show_default="auto, or $TRANSLATE_BACKEND",
                  help="CPU inference engine. auto: the fastest installed engine that "
                       "matches PyTorch within 1e-4, built in a background process the "
                       "first time a model needs it (PyTorch answers until then) and cached "
                       "under $TRANSLATE_HOME/cache. bf16 and openvino_bf16: several times "
                       "faster on CPUs with AMX, within 0.1 of PyTorch, not exact. compile "
                       "is not offered: it compiles in the serving process.")
    def demo(host: str, port: int, device: str, weights: tuple[str, ...],
             max_pixels: int | None, time_limit: float, open_browser: bool,
             backend: str) -> None:
        """Launch the web demo: one tab per installed translator."""
        chosen = _weights(weights)
        if max_pixels is not None:
            # The image policy reads it on every call: the demo's checks and the
            # translators' own agree on one figure.
            os.environ["TRANSLATE_MAX_PIXELS"] = str(max_pixels)
        from translate.plugins import get_registry
        from translate_demo.app import build_demo, launch
        from translate_demo.weights import check_preselection

        registry = get_registry()
        for name, value in chosen.items():
            if name in registry.translators:
                check_preselection(registry.translators[name], value)
        app = build_demo(registry, device=device, weights=chosen, time_limit=time_limit,
                         backend=backend)
        click.echo(f"serving the demo on http://{host}:{port}/ (Ctrl-C stops it)")
        launch(app, host=host, port=port, open_browser=open_browser)
