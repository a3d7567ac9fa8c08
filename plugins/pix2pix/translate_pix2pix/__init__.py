"""gan-translate plugin: pix2pix paired translation, its datasets and reference importer."""

from translate import hookimpl
from translate_pix2pix.data import (
    AlignedSource,
    FolderPairSource,
    HFPairSource,
    grey_to_colour,
    photo_to_sketch,
)
from translate_pix2pix.importer import IMPORTER
from translate_pix2pix.translator import Pix2PixTranslator


@hookimpl
def register_translators(register):
    register(Pix2PixTranslator)


@hookimpl
def register_dataset_sources(register):
    register("photo2sketch", lambda _: photo_to_sketch(),
             "photo -> pencil sketch pairs from the bundled photos (pix2pix's starter task)")
    register("gray2color", lambda _: grey_to_colour(),
             "greyscale -> colour pairs from the bundled photos (colourisation)")
    register("aligned", lambda arg: AlignedSource(_needs(arg, "aligned:PATH")),
             "aligned:PATH — pix2pix's A|B images in PATH/train and PATH/val (or test)")
    register("paired", lambda arg: FolderPairSource(_needs(arg, "paired:PATH")),
             "paired:PATH — PATH/A and PATH/B with matching file names")
    register("hf-paired", lambda arg: HFPairSource(_needs(arg, "hf-paired:NAME?a=COL&b=COL")),
             "hf-paired:NAME?a=COL&b=COL[&split=S] — a Hugging Face dataset of image pairs")


@hookimpl
def register_importers(register):
    register(IMPORTER)


def _needs(argument: str | None, usage: str) -> str:
    from translate.errors import DataError

    if not argument:
        raise DataError(f"this source needs an argument: {usage}")
    return argument
