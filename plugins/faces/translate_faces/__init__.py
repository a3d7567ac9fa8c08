"""gan-translate plugin: unconditional GANs that draw faces (a DCGAN that trains, StyleGAN2)."""

from translate import hookimpl

# Imports live inside the hooks: loading the plugin must not import torch (`translate --help`).


@hookimpl
def register_translators(register):
    from translate_faces.translator import FacesTranslator

    register(FacesTranslator)


@hookimpl
def register_importers(register):
    from translate_faces.stylegan2_checkpoints import IMPORTER

    register(IMPORTER)
