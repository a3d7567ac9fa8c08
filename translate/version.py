"""The installed gan-translate version (one place: the package, the CLI and model cards)."""

__version__ = "0.1.0"
