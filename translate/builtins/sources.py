"""The host's `--data` sources, registered through the same hook plugins use."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING

from translate.hookspecs import hookimpl

if TYPE_CHECKING:
    from translate.data.source import Source


@hookimpl
def register_dataset_sources(register: Callable[..., None]) -> None:
    # Imported here, not above: registering plugins must not import numpy/PIL/torch.
    from translate.data.sources import (
        FolderSource,
        HFSource,
        TorchvisionSource,
        digits_source,
        lfw_source,
        needs,
        photos_source,
    )

    register("digits", digits_source, "scikit-learn's 1797 labelled 8x8 digits (bundled)")
    register("lfw", lfw_source, "scikit-image's 100 25x25 LFW faces (bundled)")
    register("photos", photos_source, "photos[:NAME,NAME] — the RGB photos bundled with "
             "scikit-image/scikit-learn; holds out chelsea and china, or the photos named")
    register("folder", lambda arg: FolderSource(needs(arg, "a folder path")),
             "folder:PATH — images, or class sub-folders of images")
    register("hf", lambda arg: HFSource(needs(arg, "a dataset name or path")),
             "hf:NAME_OR_PATH[?split=train&image=COL&label=COL] — a Hugging Face dataset")
    register("torchvision", lambda arg: TorchvisionSource(needs(arg, "a dataset name")),
             "torchvision:NAME — e.g. torchvision:mnist, from $TRANSLATE_HOME/torchvision")
    register("unpaired", open_unpaired, "unpaired:PATH (trainA/ trainB/ testA/ testB/) or "
             "unpaired:SPEC_A,SPEC_B — images of two domains, A and B")
    register("aligned", lambda arg: _paired().AlignedSource(needs(arg, "aligned:PATH")),
             "aligned:PATH — A|B images side by side in PATH/train and PATH/val (or test)")
    register("paired", lambda arg: _paired().FolderPairSource(needs(arg, "paired:PATH")),
             "paired:PATH — PATH/A and PATH/B with matching file names")
    register("hf-paired",
             lambda arg: _paired().HFPairSource(needs(arg, "hf-paired:NAME?a=COL&b=COL")),
             "hf-paired:NAME?a=COL&b=COL[&split=S] — a Hugging Face dataset of image pairs")


def open_unpaired(argument: str | None) -> Source:
    """`unpaired:`, its two specs opened through the registry (the data module knows none)."""
    from translate.data.unpaired import unpaired_source  # imports torch: only when used
    from translate.plugins import open_source

    return unpaired_source(argument, opener=open_source)


def _paired() -> ModuleType:
    # Imported on first use: it needs torch, and registering must not (`translate --help`).
    from translate.data import paired

    return paired
