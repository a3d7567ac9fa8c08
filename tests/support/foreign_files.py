"""Published checkpoints in their authors' own layouts, tiny and random, built at test time.

Each `Published` names the real repo and file (as the plugin's curated.json has them) and
writes the file with its real key layout, wrapping and container, holding small random
weights: Real-ESRGAN's `params_ema` .pth, HugGAN's PyTorch-GAN `pytorch_model.bin`,
LaMa's big-lama.zip with its Lightning checkpoint, and rosinality's converted StyleGAN2 .pt.
`place` stores one under $TRANSLATE_HOME/models as `translate pull NAME` would, through
translate.hub.foreign, without a Hub.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch


@dataclass(frozen=True)
class Published:
    name: str  # the curated entry's name, which becomes the models/ folder
    translator: str
    repo: str
    file: str
    build: Callable[[], bytes]
    member: str | None = None
    licence: str = "not stated"


def _torch_bytes(obj: object) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def realesrgan_x4plus() -> bytes:
    """RealESRGAN_x4plus.pth: RRDBNet's keys (conv_first, body.N.rdbM..., conv_up1/2,
    conv_hr, conv_last) under `params_ema`, fp32; 8 features and one block here."""
    from translate_superres.model import RRDBNet

    torch.manual_seed(1)
    state = RRDBNet(scale=4, features=8, blocks=1, growth=4).state_dict()
    return _torch_bytes({"params_ema": state})


def huggan_pix2pix() -> bytes:
    """A HugGAN pix2pix repo's pytorch_model.bin: PyTorch-GAN's GeneratorUNet state dict."""
    from translate_pix2pix.pytorch_gan import GeneratorUNet

    torch.manual_seed(2)
    return _torch_bytes(GeneratorUNet(width=8).state_dict())


def huggan_cyclegan() -> bytes:
    """huggan/sim2real_cyclegan's pytorch_model.bin: PyTorch-GAN's GeneratorResNet."""
    from translate_cyclegan.pytorch_gan import GeneratorResNet

    torch.manual_seed(3)
    return _torch_bytes(GeneratorResNet(blocks=2, width=8).state_dict())


def big_lama() -> bytes:
    """big-lama.zip: big-lama/config.yaml and big-lama/models/best.ckpt, a Lightning
    checkpoint whose state_dict holds the generator's keys under `generator.` and a
    discriminator's next to them."""
    from translate_inpaint.lama import LamaGenerator

    torch.manual_seed(4)
    generator = LamaGenerator(in_channels=4, out_channels=3, width=8, downsamples=2, blocks=1,
                              global_ratio=0.75, max_width=1024, out_activation="sigmoid")
    state = {f"generator.{key}": value for key, value in generator.state_dict().items()}
    state["discriminator.model0.0.weight"] = torch.randn(4, 3, 4, 4)
    checkpoint = {"epoch": 40, "global_step": 1000, "pytorch-lightning_version": "1.2.9",
                  "state_dict": state, "optimizer_states": [], "lr_schedulers": []}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big-lama/config.yaml", "generator:\n  kind: ffc_resnet\n")
        archive.writestr("big-lama/models/best.ckpt", _torch_bytes(checkpoint))
    return buffer.getvalue()


# rosinality's Generator(size, style_dim, n_mlp, channel_multiplier), small: 32x32 faces.
STYLEGAN2 = {"image_size": 32, "latent_dim": 32, "mapping_layers": 2, "channel_multiplier": 2}


def rosinality_stylegan2() -> bytes:
    """stylegan2-ffhq-config-f.pt as his convert_weight.py writes it: {"g_ema": Generator
    state, "latent_avg": (style_dim,)}, fp32; our generator's state has his key names."""
    from translate_faces.stylegan2 import StyleGAN2Generator

    torch.manual_seed(5)
    state = StyleGAN2Generator(**STYLEGAN2).state_dict()
    g_ema = {key: value for key, value in state.items() if key != "latent_avg"}
    return _torch_bytes({"g_ema": g_ema, "latent_avg": torch.randn(STYLEGAN2["latent_dim"])})


PUBLISHED = {
    "superres": Published("RealESRGAN_x4plus", "superres", "LykosAI/Upscalers",
                          "RealESRGAN/RealESRGAN_x4plus.pth", realesrgan_x4plus,
                          licence="BSD-3-Clause"),
    "pix2pix": Published("huggan-pix2pix-facades-demo", "pix2pix", "huggan/pix2pix-facades-demo",
                         "pytorch_model.bin", huggan_pix2pix, licence="mit"),
    "cyclegan": Published("huggan-sim2real-cyclegan", "cyclegan", "huggan/sim2real_cyclegan",
                          "pytorch_model.bin", huggan_cyclegan, licence="mit"),
    "inpaint": Published("big-lama", "inpaint", "smartywu/big-lama", "big-lama.zip", big_lama,
                         member="big-lama/models/best.ckpt", licence="apache-2.0"),
    # No model card on the repo, so `translate pull` records no licence.
    "faces": Published("stylegan2-ffhq-1024", "faces", "aaronb/StyleGAN2",
                       "stylegan2-ffhq-config-f.pt", rosinality_stylegan2),
}


def place(published: Published, registry: object, folder: Path) -> Path:
    """Write the file under `folder` and convert it into $TRANSLATE_HOME/models/NAME."""
    from translate.hub.foreign import Downloaded, convert

    data = published.build()
    path = folder / published.repo.replace("/", "--") / published.file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    downloaded = Downloaded(path=path, repo=published.repo, file=published.file,
                            commit="0" * 40, sha256=hashlib.sha256(data).hexdigest(),
                            size=len(data), licence=published.licence)
    return convert(downloaded, registry, member=published.member, name=published.name)
