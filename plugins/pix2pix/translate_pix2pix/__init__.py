"""gan-translate plugin: pix2pix paired translation, its bundled tasks and checkpoint importer.

The paired formats it trains on (aligned:, paired:, hf-paired:) are the host's.
"""

from translate import hookimpl

# Imports live inside the hooks: loading the plugin must not import torch (`translate --help`).


@hookimpl
def register_translators(register):
    from translate_pix2pix.translator import Pix2PixTranslator

    register(Pix2PixTranslator)


@hookimpl
def register_dataset_sources(register):
    from translate_pix2pix.data import grey_to_colour, photo_to_sketch

    register("photo2sketch", lambda _: photo_to_sketch(),
             "photo -> pencil sketch pairs from the bundled photos (pix2pix's starter task)")
    register("gray2color", lambda _: grey_to_colour(),
             "greyscale -> colour pairs from the bundled photos (colourisation)")


@hookimpl
def register_importers(register):
    from translate_pix2pix.importer import IMPORTER

    register(IMPORTER)
