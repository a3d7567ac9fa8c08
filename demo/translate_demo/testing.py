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
from typing import Any
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
          weights: Mapping[str, Path] | None = None, device: str = "cpu",
          preselect: Mapping[str, str] | None = None,
          time_limit: float | None = 120.0, backend: str = "eager") -> Iterator[str]:
    """Serve a demo of just `translators` and yield its URL.

    `weights` maps a translator's name to a Hub-layout folder that stands in for its
    bundled starter weights while serving (small untrained ones keep tests fast);
    `preselect` is `translate demo --weights NAME=W`, `time_limit` its --time-limit and
    `backend` its --backend (eager here: engine builds are tested on their own).
    """
    with contextlib.ExitStack() as stack:
        for name, folder in (weights or {}).items():
            stack.enter_context(mock.patch.object(translators[name], "starter_weights", folder))
        registry = Registry(pm=pluggy.PluginManager(ENTRY_POINT_GROUP),
                            translators=dict(translators))
        demo = build_demo(registry, device=device, weights=preselect, time_limit=time_limit,
                          backend=backend)
        port = free_port()
        launch(demo, host="127.0.0.1", port=port, block=False)
        try:
            yield f"http://127.0.0.1:{port}/"
        finally:
            demo.close()


@contextlib.contextmanager
def demo_client(translators: Mapping[str, type[Translator]], *, downloads: Path,
                weights: Mapping[str, Path] | None = None, device: str = "cpu",
                **options: Any) -> Iterator[Client]:
    """`serve`, with a gradio_client.Client connected to it that saves results in `downloads`."""
    with serve(translators, weights=weights, device=device, **options) as url:
        yield Client(url, verbose=False, download_files=str(downloads))


def untrained_weights(cls: type[Translator], overrides: Mapping[str, str], folder: Path) -> Path:
    """Hub-layout weights of a seeded, untrained `cls` from its starter preset plus `overrides`."""
    torch.manual_seed(0)
    return cls(cls.make_config("starter", overrides)).save_pretrained(folder / cls.name)


# ---- a real browser ---------------------------------------------------------------------------
#
# Debian's chromium driven by Playwright (never a downloaded browser). The flags keep it
# offline and give the mask editor WebGL through SwiftShader.

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1280, "height": 900}


@contextlib.contextmanager
def chromium(profile: Path) -> Iterator[Any]:
    """A Playwright browser context of Debian's chromium, with its profile in `profile`."""
    import shutil

    import pytest

    playwright = pytest.importorskip("playwright.sync_api")
    executable = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if executable is None:
        pytest.fail("the browser tests need Debian's chromium: apt-get install -y chromium")
    with playwright.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=executable, headless=True, args=CHROMIUM_FLAGS,
            viewport=VIEWPORT)
        try:
            yield context
        finally:
            context.close()


def open_tab(context: Any, url: str, tab: str) -> Any:
    """A new page on the demo with `tab` selected and its weights line filled in."""
    page = context.new_page()
    # A cold first load (fresh profile, the server's first page) can take a while; an
    # upload before a widget has hydrated is silently dropped.
    page.goto(url, wait_until="networkidle", timeout=90_000)
    page.get_by_role("tab", name=tab, exact=True).click()
    page.locator(f"#{tab}-weights-line strong").first.wait_for(timeout=60_000)
    return page


def run_and_wait(page: Any, tab: str, *, timeout: float = 180) -> float:
    """Press Run; return the seconds until the result is shown with its download button."""
    import time

    download = page.locator(f"#{tab}-download")
    started = time.perf_counter()
    page.locator(f"#{tab}-run").click()
    page.locator(f"#{tab}-output img").first.wait_for(timeout=timeout * 1000)
    download.wait_for(state="visible", timeout=timeout * 1000)
    return time.perf_counter() - started


# In-page geometry. The picture a visitor sees is the <img>'s content box as object-fit
# draws it; every other visible control on the page must stay clear of it.
_SHOWN = """
(root) => [...root.querySelectorAll('img')].filter(img => img.naturalWidth > 0).map(img => {
  const box = img.getBoundingClientRect();
  const fit = getComputedStyle(img).objectFit;
  let [w, h] = [box.width, box.height];
  if (fit === 'contain' || fit === 'scale-down') {
    let scale = Math.min(box.width / img.naturalWidth, box.height / img.naturalHeight);
    if (fit === 'scale-down') scale = Math.min(scale, 1);
    [w, h] = [img.naturalWidth * scale, img.naturalHeight * scale];
  }
  return {x: box.x + (box.width - w) / 2, y: box.y + (box.height - h) / 2, width: w,
          height: h, natural: [img.naturalWidth, img.naturalHeight]};
})
"""
_CONTROLS = """
([root, allowed]) => {
  // The picture's own frame (Gradio wraps a result in a <button>) is the picture itself.
  const pictures = root ? [...document.querySelectorAll(root + ' img')] : [];
  const visible = (e) => {
    const style = getComputedStyle(e);
    const box = e.getBoundingClientRect();
    return style.display !== 'none' && style.visibility !== 'hidden'
      && Number(style.opacity) > 0 && box.width > 1 && box.height > 1
      && !e.closest('.sr-only, .hide, [hidden]');
  };
  const selector = 'button, input, select, textarea, label, a, [role=button], [role=slider], '
    + '[role=tab], .icon-button, [data-testid=block-label]';
  return [...document.querySelectorAll(selector)].filter(visible)
    .filter(e => !(allowed && e.closest(allowed)))
    .filter(e => !pictures.some(img => e.contains(img)))
    .map(e => {
      const box = e.getBoundingClientRect();
      const name = (e.getAttribute('aria-label') || e.innerText || e.className).trim().slice(0, 40);
      return {name: `${e.tagName.toLowerCase()} ${name}`, x: box.x, y: box.y,
              width: box.width, height: box.height};
    });
}
"""


def shown_images(page: Any, selector: str) -> list[dict[str, Any]]:
    """Where each loaded <img> under `selector` is drawn, in CSS pixels, and its own size."""
    return page.locator(selector).first.evaluate(_SHOWN)


def controls_over(page: Any, picture: dict[str, Any], *, output: str,
                  allowed: str | None = None) -> list[str]:
    """The visible controls whose boxes intersect `picture`, shown in the `output` element
    (the frames holding its images, and anything inside `allowed`, excepted)."""
    boxes = page.evaluate(_CONTROLS, [output, allowed])

    def meets(box: dict[str, Any]) -> bool:
        return (box["x"] < picture["x"] + picture["width"] - 0.5
                and picture["x"] < box["x"] + box["width"] - 0.5
                and box["y"] < picture["y"] + picture["height"] - 0.5
                and picture["y"] < box["y"] + box["height"] - 0.5)

    return [box["name"] for box in boxes if meets(box)]
