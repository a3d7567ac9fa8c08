"""gan-translate plugin: a class-conditional GAN that draws the digit you ask for."""

from translate import hookimpl

# Imports live inside the hooks: loading the plugin must not import torch (`translate --help`).


@hookimpl
def register_translators(register):
    from translate_digits.translator import DigitsTranslator

    register(DigitsTranslator)
