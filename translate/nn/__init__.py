"""Network building blocks that more than one plugin uses."""

from translate.nn.init import reference_init
from translate.nn.norm import NormKind, norm_layer
from translate.nn.padding import crop_to, pad_to_multiple
from translate.nn.patchgan import PatchDiscriminator

__all__ = ["NormKind", "PatchDiscriminator", "crop_to", "norm_layer", "pad_to_multiple",
           "reference_init"]
