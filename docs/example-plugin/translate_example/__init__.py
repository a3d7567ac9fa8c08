"""The example plugin's entry point (docs/writing-a-plugin.md walks through it).

It stays light: `translate --help` and `translate list` import every plugin's entry
point, so the translator (and torch) is imported only inside the hook.
"""

from __future__ import annotations

from collections.abc import Callable

from translate import hookimpl


@hookimpl
def register_translators(register: Callable[[type], None]) -> None:
    from translate_example.doodles import Doodles

    register(Doodles)
