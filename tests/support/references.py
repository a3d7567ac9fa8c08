"""Where tests find other projects' source code, to compare our networks with theirs.

`TRANSLATE_REFERENCES` names a folder of `owner+name/` checkouts (read-only; never edited,
never vendored). A test that needs one calls `reference_checkout`, which skips it with the
reason when the variable is unset or the checkout is missing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

__all__ = ["reference_checkout"]


def reference_checkout(repo: str) -> Path:
    """The checkout of `owner/name` under $TRANSLATE_REFERENCES, or skip the calling test."""
    root = os.environ.get("TRANSLATE_REFERENCES")
    if not root:
        pytest.skip(f"TRANSLATE_REFERENCES is unset: no checkout of {repo} to compare with")
    path = Path(root) / repo.replace("/", "+")
    if not path.is_dir():
        pytest.skip(f"no checkout of {repo} at {path}")
    return path
