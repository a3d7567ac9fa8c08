"""gan-translate plugin: ESRGAN-family super-resolution, tiled for any image size."""

from translate import hookimpl

# Imports live inside the hooks: loading the plugin must not import torch (`translate --help`).


@hookimpl
def register_translators(register):
    from translate_superres.translator import SuperResTranslator

    register(SuperResTranslator)


@hookimpl
def register_importers(register):
    from translate_superres.importer import IMPORTER

    register(IMPORTER)
