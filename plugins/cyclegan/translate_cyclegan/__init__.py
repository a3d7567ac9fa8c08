"""gan-translate plugin: CycleGAN, unpaired translation between two image domains."""

from translate import hookimpl

# Imports live inside the hooks: loading the plugin must not import torch (`translate --help`).


@hookimpl
def register_translators(register):
    from translate_cyclegan.translator import CycleGANTranslator

    register(CycleGANTranslator)


@hookimpl
def register_dataset_sources(register):
    from translate_cyclegan.data import photo2painting_source

    # `unpaired:PATH` and `unpaired:SPEC_A,SPEC_B` are the host's (translate.data.unpaired).
    register("photo2painting", photo2painting_source,
             "64x64 tiles of the bundled photos (A) vs. moonlit ink paintings of other tiles (B)")


@hookimpl
def register_importers(register):
    from translate_cyclegan.importer import IMPORTER

    register(IMPORTER)
