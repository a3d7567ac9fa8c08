"""gan-translate plugin: an AOT-GAN that fills holes painted over a photo."""

from translate import hookimpl

# Imports live inside the hooks: loading the plugin must not import torch (`translate --help`).


@hookimpl
def register_translators(register):
    from translate_inpaint.translator import InpaintTranslator

    register(InpaintTranslator)
