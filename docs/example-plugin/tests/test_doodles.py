"""The shared checks on doodles: no conftest needed (gan-translate's pytest plugin isolates)."""

from translate.testing import TranslatorTests
from translate_example.doodles import Doodles


class TestDoodles(TranslatorTests):
    translator = Doodles
    tiny = {"hidden": "8", "latent_dim": "4"}
