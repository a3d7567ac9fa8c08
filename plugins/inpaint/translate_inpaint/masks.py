"""Moved: hole drawing is the host's `translate.data.holes` (any inpainting translator uses it)."""

from translate.data import holes
from translate.deprecation import moved

__getattr__ = moved(__name__, {name: f"translate.data.holes.{name}" for name in holes.__all__})
