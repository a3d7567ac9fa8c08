"""Adds `translate demo` to the command line (the register_commands hook)."""

from __future__ import annotations

import click

from translate import hookimpl


@hookimpl
def register_commands(cli: click.Group) -> None:
    @cli.command("demo", context_settings={"help_option_names": ["-h", "--help"]})
    @click.option("--host", default="127.0.0.1", show_default=True,
                  help="Interface to listen on (0.0.0.0 to share on your network).")
    @click.option("--port", type=int, default=7860, show_default=True)
    @click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto",
                  show_default=True)
    def demo(host: str, port: int, device: str) -> None:
        """Launch the web demo: one tab per installed translator."""
        from translate_demo.app import build_demo, launch

        launch(build_demo(device=device), host=host, port=port)
