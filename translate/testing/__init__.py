"""What gan-translate gives plugin authors for their tests.

* `translate.testing.mixins`: the shared checks, split by concern (`ContractTests`,
  `SerialisationTests`, `TrainingTests`, `InferenceTests`, `EvaluationTests`,
  `StarterWeightsTests`) and all of them as `TranslatorTests`; `ONE_STEP`, the overrides
  for a one-step training run that checkpoints and samples;
* `translate.testing.pytest_plugin`: loaded by pytest automatically once gan-translate is
  installed (the `pytest11` entry point): every test runs offline with its own
  TRANSLATE_HOME, so no plugin needs a conftest of its own for that.
"""

from translate.testing.mixins import (
    ONE_STEP,
    ContractTests,
    EvaluationTests,
    InferenceTests,
    SerialisationTests,
    StarterWeightsTests,
    TrainingTests,
    TranslatorTests,
)

__all__ = [
    "ONE_STEP",
    "ContractTests",
    "EvaluationTests",
    "InferenceTests",
    "SerialisationTests",
    "StarterWeightsTests",
    "TrainingTests",
    "TranslatorTests",
]
