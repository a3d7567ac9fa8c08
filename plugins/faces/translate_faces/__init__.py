"""gan-translate plugin: an unconditional GAN that draws faces, from a hundred images or CelebA."""

from translate import hookimpl

# Imports live inside the hooks: loading the plugin must not import torch (`translate --help`).


@hookimpl
def register_translators(register):
    from translate_faces.translator import FacesTranslator

    register(FacesTranslator)
