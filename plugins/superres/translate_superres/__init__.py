"""gan-translate plugin: ESRGAN-family super-resolution, tiled for any image size."""

from translate import hookimpl
from translate_superres.importer import IMPORTER
from translate_superres.translator import SuperResTranslator


@hookimpl
def register_translators(register):
    register(SuperResTranslator)


@hookimpl
def register_importers(register):
    register(IMPORTER)
