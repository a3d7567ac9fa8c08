"""The shared checks (translate.testing), on a tiny inpainter of each architecture."""

from translate.testing import (
    ContractTests,
    EvaluationTests,
    InferenceTests,
    SerialisationTests,
    TrainingTests,
    TranslatorTests,
)
from translate_inpaint.translator import InpaintTranslator


class TestInpaintTranslator(TranslatorTests):
    translator = InpaintTranslator
    tiny = {"width": "8", "blocks": "1", "rates": "1,2", "d_width": "8", "d_layers": "3",
            "image_size": "32", "eval_count": "4"}


class TestLamaInpaintTranslator(ContractTests, SerialisationTests, TrainingTests,
                                InferenceTests, EvaluationTests):
    """LaMa's generator and discriminator at a few thousand parameters, in [0, 1] throughout.

    Every check but the starter's (which is aot's, checked above).
    """

    translator = InpaintTranslator
    # rates: the same values must also build a small aot (every architecture is checked)
    tiny = {"arch": "lama", "width": "8", "downsamples": "2", "blocks": "1", "rates": "1,2",
            "d_width": "8", "d_layers": "2", "image_size": "32", "eval_count": "4"}
