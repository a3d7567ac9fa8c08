"""gan-translate: image-to-image translation with GAN plugins.

What a plugin author needs is importable from here.
"""

__version__ = "0.1.0"

from translate.config import TrainConfig
from translate.hookspecs import hookimpl
from translate.translator import Batch, Losses, Networks, Param, Task, Translator

__all__ = [
    "Batch",
    "Losses",
    "Networks",
    "Param",
    "Task",
    "TrainConfig",
    "Translator",
    "__version__",
    "hookimpl",
]
