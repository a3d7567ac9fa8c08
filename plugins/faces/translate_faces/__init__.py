"""gan-translate plugin: an unconditional GAN that draws faces, from a hundred images or CelebA."""

from translate import hookimpl
from translate_faces.translator import FacesTranslator


@hookimpl
def register_translators(register):
    register(FacesTranslator)
