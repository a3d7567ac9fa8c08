"""The shared checks on the denoiser: no conftest needed (gan-translate's pytest plugin
gives every test its own TRANSLATE_HOME and keeps it offline)."""

from translate.testing import TranslatorTests
from translate_denoise.translator import Denoiser


class TestDenoiser(TranslatorTests):
    translator = Denoiser
    tiny = {"width": "4", "image_size": "16", "d_width": "4"}
