"""The shared checks (translate.testing), on a tiny superres model: both architectures."""

from translate.testing import (
    ContractTests,
    EvaluationTests,
    InferenceTests,
    SerialisationTests,
    TrainingTests,
    TranslatorTests,
)
from translate_superres.translator import SuperResTranslator

TINY = {"features": "8", "blocks": "1", "growth": "8", "convs": "2", "patch": "8",
        "d_width": "8"}


class TestSuperResTranslator(TranslatorTests):
    translator = SuperResTranslator
    tiny = TINY


class TestSuperResCompact(ContractTests, SerialisationTests, TrainingTests, InferenceTests,
                          EvaluationTests):
    """SRVGGNetCompact trained, saved, loaded and run the same way.

    Every check but the starter's, which is rrdbnet's (checked above).
    """

    translator = SuperResTranslator
    tiny = {**TINY, "arch": "srvgg"}


class TestSuperResGanStage(ContractTests, TrainingTests):
    """The gan stage's own networks and losses; inference is the psnr stage's."""

    translator = SuperResTranslator
    tiny = {**TINY, "stage": "gan", "degradation": "real-esrgan-2"}
