"""Fixtures of tests/support/reliability.py: a tiny trainable translator, data, weights, CLI."""

from support.plugins import install_plugin  # noqa: F401  (fixtures)
from support.reliability import cli, demo_url, images, registry, weights  # noqa: F401
