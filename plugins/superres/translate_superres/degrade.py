"""Deprecated: the degradations moved to `translate.data.degrade` (any restoration
translator trains on them); superres keeps only which one a preset uses.

`bicubic`, `degradation`, `Degradation` and `PairDataset` (now `DegradedPairs(...,
key="lr")`) still work, with a DeprecationWarning, until gan-translate 0.3.
"""

from functools import partial

from translate.data.degrade import DegradedPairs
from translate.deprecation import moved

__getattr__ = moved(__name__, {
    "bicubic": "translate.data.degrade.bicubic",
    "degradation": "translate.data.degrade.degradation",
    "Degradation": "translate.data.degrade.Degradation",
    "PairDataset": (partial(DegradedPairs, key="lr"),
                    'translate.data.degrade.DegradedPairs(..., key="lr")'),
})
