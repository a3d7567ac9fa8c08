"""gan-translate plugin: a class-conditional GAN that draws the digit you ask for."""

from translate import hookimpl
from translate_digits.translator import DigitsTranslator


@hookimpl
def register_translators(register):
    register(DigitsTranslator)
