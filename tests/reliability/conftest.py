"""Fixtures of tests/support/reliability.py: a tiny trainable translator, data, weights, CLI.

`install_plugin` comes from tests/conftest.py, like every host test's.
"""

from support.reliability import cli, demo_url, images, registry, weights  # noqa: F401
