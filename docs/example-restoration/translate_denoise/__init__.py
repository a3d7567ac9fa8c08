"""The denoise plugin's entry point (docs/writing-a-restoration-plugin.md walks through it).

Light on purpose: the translator, and torch with it, is imported inside the hook.
"""

from __future__ import annotations

from collections.abc import Callable

from translate import hookimpl


@hookimpl
def register_translators(register: Callable[[type], None]) -> None:
    from translate_denoise.translator import Denoiser

    register(Denoiser)
