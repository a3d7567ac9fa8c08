"""gan-translate plugin: an AOT-GAN that fills holes painted over a photo."""

from translate import hookimpl
from translate_inpaint.translator import InpaintTranslator


@hookimpl
def register_translators(register):
    register(InpaintTranslator)
