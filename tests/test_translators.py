"""The shared TranslatorTests checks, applied to every installed translator."""

from translate.plugins import load_plugins
from translate.testing import TranslatorTests

for _name, _cls in sorted(load_plugins().translators.items()):
    globals()[f"Test_{_name}"] = type(f"Test_{_name}", (TranslatorTests,), {"translator": _cls})
