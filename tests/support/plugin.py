"""The test-only translators as a plugin, and the names of the plugins really installed.

`tests/conftest.py` installs this module as the entry point `test-translators` (a
.dist-info naming it in the `translate` group) for tests that need the translators
discovered, `translate` subprocesses included.
"""

from __future__ import annotations

import importlib.metadata
from functools import cache

from translate import hookimpl
from translate.plugins import ENTRY_POINT_GROUP

ENTRY_POINT = "test-translators"


@hookimpl
def register_translators(register):
    # Imported here, as the built-in plugins do, so that loading the plugin stays light.
    from support.drawing import DrawTranslator
    from support.translators import InvertTranslator

    register(DrawTranslator)
    register(InvertTranslator)


@cache
def installed_plugins() -> frozenset[str]:
    """Entry-point names of the plugins this environment has installed (the built-in
    translators, the demo), as they were on the first call: before any test added its own."""
    return frozenset(ep.name for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))
