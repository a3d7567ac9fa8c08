"""The bundled sources, decoded once per module."""

import pytest

from translate.data.sources import InMemorySource, digits_source, photos_source


@pytest.fixture(scope="module")
def digits() -> InMemorySource:
    return digits_source()


@pytest.fixture(scope="module")
def photos() -> InMemorySource:
    return photos_source()
