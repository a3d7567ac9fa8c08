"""gan-translate plugin: CycleGAN, unpaired translation between two image domains."""

from translate import hookimpl
from translate_cyclegan.data import photo2painting_source, unpaired_source
from translate_cyclegan.importer import IMPORTER
from translate_cyclegan.translator import CycleGANTranslator


@hookimpl
def register_translators(register):
    register(CycleGANTranslator)


@hookimpl
def register_dataset_sources(register):
    register("photo2painting", photo2painting_source,
             "64x64 tiles of the bundled photos (A) vs. moonlit ink paintings of other tiles (B)")
    register("unpaired", unpaired_source,
             "unpaired:PATH (trainA/ trainB/ testA/ testB/) or unpaired:SPEC_A,SPEC_B")


@hookimpl
def register_importers(register):
    register(IMPORTER)
