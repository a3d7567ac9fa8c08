"""gan-translate plugin: pix2pix paired translation, its datasets and reference importer."""

from translate import hookimpl

# Imports live inside the hooks: loading the plugin must not import torch (`translate --help`).


@hookimpl
def register_translators(register):
    from translate_pix2pix.translator import Pix2PixTranslator

    register(Pix2PixTranslator)


@hookimpl
def register_dataset_sources(register):
    from translate.data.sources import needs
    from translate_pix2pix.data import (
        AlignedSource,
        FolderPairSource,
        HFPairSource,
        grey_to_colour,
        photo_to_sketch,
    )

    register("photo2sketch", lambda _: photo_to_sketch(),
             "photo -> pencil sketch pairs from the bundled photos (pix2pix's starter task)")
    register("gray2color", lambda _: grey_to_colour(),
             "greyscale -> colour pairs from the bundled photos (colourisation)")
    register("aligned", lambda arg: AlignedSource(needs(arg, "aligned:PATH")),
             "aligned:PATH — pix2pix's A|B images in PATH/train and PATH/val (or test)")
    register("paired", lambda arg: FolderPairSource(needs(arg, "paired:PATH")),
             "paired:PATH — PATH/A and PATH/B with matching file names")
    register("hf-paired", lambda arg: HFPairSource(needs(arg, "hf-paired:NAME?a=COL&b=COL")),
             "hf-paired:NAME?a=COL&b=COL[&split=S] — a Hugging Face dataset of image pairs")


@hookimpl
def register_importers(register):
    from translate_pix2pix.importer import IMPORTER

    register(IMPORTER)
