"""The shared checks (translate.testing), on a tiny cyclegan model."""

from translate.testing import TranslatorTests
from translate_cyclegan.translator import CycleGANTranslator


class TestCycleGANTranslator(TranslatorTests):
    translator = CycleGANTranslator
    tiny = {"blocks": "1", "width": "4", "d_width": "4", "image_size": "32", "load_size": "36"}
