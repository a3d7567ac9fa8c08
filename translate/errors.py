"""Errors a user can act on.

Everything raised as a TranslateError is shown as one line (no traceback) by the
CLI and as a short message by the demo, and the process keeps its files intact.
"""


class TranslateError(Exception):
    """A problem with the user's input, config, data or weights, told in one line."""


class ConfigError(TranslateError):
    """A config key or value is wrong."""


class ImageError(TranslateError):
    """An image cannot be read, or is refused by the image policy."""


class DataError(TranslateError):
    """A dataset source cannot be opened or is unusable."""


class WeightsError(TranslateError):
    """Weights cannot be found, or do not fit the model they are loaded into."""


class PluginError(TranslateError):
    """A plugin could not be loaded or declares something invalid."""


class TrainingError(TranslateError):
    """Training stopped because continuing would write poisoned weights."""


class WriteError(TranslateError, OSError):
    """A file could not be written (a full disk, no permission); the old file is unchanged.

    Also an OSError, so code that catches the OS's own errors around a write still does.
    """

    def __init__(self, message: str, errno: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno
