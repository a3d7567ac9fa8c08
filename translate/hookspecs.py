"""The hooks a gan-translate plugin can implement. Each is documented in docs/hooks.md.

This module imports nothing from gan-translate, so any layer may import it; the
annotations name the types by their home (`RunInfo` is translate.types.RunInfo).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    import click

# translate.types.RunInfo: named here without importing it, so this module stays a leaf.
RunInfo = Any

hookspec = pluggy.HookspecMarker("translate")
hookimpl = pluggy.HookimplMarker("translate")


@hookspec
def register_translators(register: Callable[[type], None]) -> None:
    """Contribute GANs: call register(TranslatorSubclass) once for each."""


@hookspec
def register_dataset_sources(register: Callable[..., None]) -> None:
    """Contribute `--data NAME[:ARG]` sources: call register(name, factory, help)."""


@hookspec
def register_importers(register: Callable[[Any], None]) -> None:
    """Contribute reference-checkpoint converters: call register(Importer(...))."""


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add commands to the `translate` command line."""


@hookspec
def on_train_start(run: RunInfo) -> None:
    """Observe the start of a training run (main process only)."""


@hookspec
def on_train_log(run: RunInfo, step: int, metrics: dict[str, float]) -> None:
    """Observe the scalar metrics logged every `log_every` steps."""


@hookspec
def on_sample_grid(run: RunInfo, step: int, path: Path) -> None:
    """Observe a sample-grid PNG just written during training."""


@hookspec
def on_train_end(run: RunInfo, weights: Path) -> None:
    """Observe the end of a training run, with the folder of the exported weights."""
