"""The shared checks (translate.testing), on a tiny digits model."""

from translate.testing import TranslatorTests
from translate_digits.translator import DigitsTranslator


class TestDigitsTranslator(TranslatorTests):
    translator = DigitsTranslator
    tiny = {"width": "8"}
    evaluation_records = None  # every class must be in the held-out part
