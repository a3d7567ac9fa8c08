"""The shared checks (translate.testing), on a tiny pix2pix of every architecture."""

from translate.testing import TranslatorTests
from translate_pix2pix.translator import Pix2PixTranslator


class TestPix2PixTranslator(TranslatorTests):
    translator = Pix2PixTranslator
    # 256-pixel crops: every architecture's stride (pytorch_gan_unet's is 256) divides them.
    tiny = {"width": "4", "d_width": "4", "image_size": "256", "load_size": "256"}
