"""The shared checks (translate.testing), on a tiny faces model."""

from translate.testing import TranslatorTests
from translate_faces.translator import FacesTranslator


class TestFacesTranslator(TranslatorTests):
    translator = FacesTranslator
    tiny = {"width": "8"}
    evaluation_options = {"samples": 32}
