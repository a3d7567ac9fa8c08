"""gan-translate plugin: AOT-GAN or LaMa fills holes painted over a photo."""

from translate import hookimpl

# Imports live inside the hooks: loading the plugin must not import torch (`translate --help`).


@hookimpl
def register_translators(register):
    from translate_inpaint.translator import InpaintTranslator

    register(InpaintTranslator)


@hookimpl
def register_importers(register):
    from translate_inpaint.importer import IMPORTER

    register(IMPORTER)
