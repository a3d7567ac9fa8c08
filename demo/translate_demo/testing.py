"""A demo server for tests: chosen translators, on a free 127.0.0.1 port, torn down after.

Plugins test their tab through it with gradio_client, exactly as a user's browser talks
to `translate demo`:

    with serve({"faces": FacesTranslator}) as url:
        client = gradio_client.Client(url)

or, in one step, `with demo_client({"faces": FacesTranslator}, downloads=...) as client`.
A tab's contract does not depend on training, so `untrained_weights` gives small, seeded
weights that stand in for the starter's.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator, Mapping
from pathlib import Path
from unittest import mock

import pluggy
import torch
from gradio_client import Client

from translate.plugins import ENTRY_POINT_GROUP, Registry
from translate.translator import Translator
from translate_demo.app import build_demo, launch


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(translators: Mapping[str, type[Translator]], *,
          weights: Mapping[str, Path] | None = None, device: str = "cpu") -> Iterator[str]:
    """Serve a demo of just `translators` and yield its URL.

    `weights` maps a translator's name to a Hub-layout folder that stands in for its
    bundled starter weights while serving (small untrained ones keep tests fast).
    """
    with contextlib.ExitStack() as stack:
        for name, folder in (weights or {}).items():
            stack.enter_context(mock.patch.object(translators[name], "starter_weights", folder))
        registry = Registry(pm=pluggy.PluginManager(ENTRY_POINT_GROUP),
                            translators=dict(translators))
        demo = build_demo(registry, device=device)
        port = free_port()
        launch(demo, host="127.0.0.1", port=port, block=False)
        try:
            yield f"http://127.0.0.1:{port}/"
        finally:
            demo.close()


@contextlib.contextmanager
def demo_client(translators: Mapping[str, type[Translator]], *, downloads: Path,
                weights: Mapping[str, Path] | None = None, device: str = "cpu") -> Iterator[Client]:
    """`serve`, with a gradio_client.Client connected to it that saves results in `downloads`."""
    with serve(translators, weights=weights, device=device) as url:
        yield Client(url, verbose=False, download_files=str(downloads))


def untrained_weights(cls: type[Translator], overrides: Mapping[str, str], folder: Path) -> Path:
    """Hub-layout weights of a seeded, untrained `cls` from its starter preset plus `overrides`."""
    torch.manual_seed(0)
    return cls(cls.make_config("starter", overrides)).save_pretrained(folder / cls.name)
