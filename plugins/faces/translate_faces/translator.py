"""faces: draw faces nobody has, from a hundred bundled photos on a CPU or CelebA on a GPU.

Two architectures: `dcgan` (the default and the starter), which trains here from a hundred
faces, and `stylegan2`, NVIDIA's StyleGAN2 config F, which is pretrained only: its weights
come from rosinality's files (`translate import faces`, `translate pull stylegan2-ffhq-1024`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from importlib.resources import files
from typing import Annotated, Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from translate import Architecture, Batch, Losses, Networks, Param, Task, TrainConfig, Translator
from translate.config import AT_LEAST_1, NOT_NEGATIVE, POSITIVE, Range
from translate.data.pipeline import ImageDataset
from translate.data.source import InMemorySource, Source, Subset
from translate.data.tensors import tensor_to_pil
from translate.engine.watch import discriminator_accuracy
from translate.errors import ConfigError
from translate.evaluation import in_chunks, stack_items
from translate.losses import discriminator_loss, generator_loss
from translate.metrics import mean_pairwise_distance, nearest_distances, pixels
from translate_faces.model import (
    AUGMENTATIONS,
    RESOLUTIONS,
    Discriminator,
    Generator,
    diff_augment,
    r1_penalty,
    slerp,
)
from translate_faces.stylegan2 import CHUNK_PIXELS, SIZES, StyleGAN2Generator

# torchvision, scikit-learn and SciPy are imported where they are used: `translate list`
# imports this module, and those three would treble the time it takes.

# Images drawn at once: 256 for the DCGAN, and for StyleGAN2 as many as CHUNK_PIXELS allows
# (4 at 1024x1024), so that memory stays bounded however many faces are asked for.
MAX_CHUNK = 256
# Faces are judged at most this size: the held-out LFW faces are 25x25 photos, and 500
# samples at 1024x1024 would not fit in memory as one batch.
JUDGED_SIZE = 128


@dataclass(kw_only=True)
class FacesConfig(TrainConfig):
    image_size: Annotated[int, Range(8, 1024)] = 32  # dcgan: 32, 64 or 128; stylegan2: 8-1024, 2^n
    channels: int = 1  # dcgan: 1 = greyscale (the bundled LFW faces), 3 = RGB; stylegan2 is RGB
    latent_dim: Annotated[int, AT_LEAST_1] = 64  # size of the Gaussian latent z (stylegan2: and w)
    width: Annotated[int, AT_LEAST_1] = 32  # dcgan: G's last and D's first channels, x2 per level
    # The next three are StyleGAN2's (rosinality's n_mlp, channel_multiplier, lr_mlp); it is
    # pretrained only: import or pull its weights, `translate train` refuses arch=stylegan2.
    mapping_layers: Annotated[int, AT_LEAST_1] = 8  # stylegan2 (pretrained only): z -> w MLP layers
    channel_multiplier: Annotated[int, Range(1, 2)] = 2  # stylegan2 (pretrained only): 2 = config F
    mapping_lr_mul: Annotated[float, POSITIVE] = 0.01  # stylegan2, pretrained only: mapping lr mul
    loss: Literal["hinge", "nonsaturating"] = "hinge"  # adversarial loss (translate.losses)
    diffaugment: str = "color,translation,cutout"  # DiffAugment on everything D sees ("" = off)
    r1_gamma: Annotated[float, NOT_NEGATIVE] = 0.0  # weight of an R1 gradient penalty on D (0=off)
    flip: bool = True  # mirror training faces at random: a mirrored face is still a face

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.arch == "stylegan2":
            if self.image_size not in SIZES:
                raise ConfigError(f"image_size must be a power of two from 8 to 1024 for "
                                  f"stylegan2, got {self.image_size}")
        elif self.image_size not in RESOLUTIONS:
            raise ConfigError(f"image_size must be one of {', '.join(map(str, RESOLUTIONS))} "
                              f"for dcgan (stylegan2: a power of two from 8 to 1024), "
                              f"got {self.image_size}")
        if self.channels not in (1, 3):
            raise ConfigError(f"channels must be 1 (greyscale) or 3 (RGB), got {self.channels}")
        unknown = [p for p in self.augment_policy if p not in AUGMENTATIONS]
        if unknown:
            raise ConfigError(f"diffaugment: unknown {', '.join(unknown)}; "
                              f"use a comma-separated subset of {','.join(AUGMENTATIONS)}")

    @property
    def augment_policy(self) -> tuple[str, ...]:
        return tuple(p.strip() for p in self.diffaugment.split(",") if p.strip())


PRESETS: dict[str, dict[str, Any]] = {
    # The 80 training faces of the bundled LFW subset, 32x32 greyscale, on a 2-core CPU.
    "starter": {"steps": 3000, "batch_size": 32, "width": 32, "latent_dim": 64,
                "lr_decay_fraction": 0.3, "sample_every": 500, "checkpoint_every": 500},
    # A large face set on a GPU: --preset full --data hf:NAME_OR_PATH (an `image` column) or a
    # folder of aligned crops; --set image_size=128 for 128x128.
    "full": {"image_size": 64, "channels": 3, "width": 64, "latent_dim": 128, "steps": 100000,
             "batch_size": 64, "r1_gamma": 0.1, "lr_decay_fraction": 0.1, "workers": 8,
             "sample_every": 2000, "checkpoint_every": 2000, "log_every": 100},
}
PRETRAINED_ONLY = ("stylegan2 is pretrained only (no discriminator or training recipe here): "
                   "import weights with `translate import faces FILE --out DIR` or pull them "
                   "(`translate pull stylegan2-ffhq-1024`)")


class FacesTranslator(Translator):
    name = "faces"
    task = Task.UNCONDITIONAL
    description = ("Draws faces of people who do not exist: a DCGAN that trains here, or a "
                   "pretrained StyleGAN2.")
    Config = FacesConfig
    presets = PRESETS
    datasets = ("lfw", "folder", "hf")
    hub_repo = "gan-translate/faces"
    image_mode = "RGB"  # unused for input (faces takes no image); config.channels sets the output
    grid_columns = 8
    inputs = (
        Param(name="count", kind="int", default=16, low=1, high=256, help="How many faces."),
        Param(name="seed", kind="seed", default=0, help="Same seed, same faces."),
        Param(name="truncation", kind="float", default=1.0, low=0.0, high=1.0,
              help="1 = full variety; lower gives more typical faces, 0 the average one."),
        Param(name="walk_to", kind="seed", default=1,
              help="With walk steps >= 2: the seed whose first face the walk ends at.",
              demo="advanced"),
        Param(name="walk_steps", kind="int", default=0, low=0, high=32,
              help="0 = a set of faces; N >= 2 = N faces walking from the first face of seed "
                   "to that of walk to (dcgan: one strip; stylegan2: N full-size frames)."),
    )
    output = "images"
    starter_weights = files("translate_faces") / "starter"
    curated = files("translate_faces") / "curated.json"
    architectures = {
        "dcgan": Architecture(Generator, description=(
            "a data-efficient DCGAN (spectral-norm critic, DiffAugment) that trains from a "
            "hundred faces on a CPU: the starter")),
        "stylegan2": Architecture(StyleGAN2Generator, description=(
            "StyleGAN2 config F (Karras et al. 2020) in rosinality's stylegan2-pytorch layout, "
            "pretrained only: import or pull its weights (FFHQ at 1024x1024)")),
    }
    examples = files("translate_faces") / "examples"  # settings only: faces takes no image

    config: FacesConfig

    @classmethod
    def inputs_for(cls, config: TrainConfig) -> tuple[Param, ...]:
        """StyleGAN2 faces are large and slow on a CPU: the demo offers a few, one at first."""
        if config.arch != "stylegan2":
            return cls.inputs
        fewer = {"count": {"default": 1, "high": 16}, "walk_steps": {"high": 16}}
        return tuple(replace(p, **fewer.get(p.name, {})) for p in cls.inputs)

    def build_generators(self) -> dict[str, torch.nn.Module]:
        return {"G": self.build_network()}

    def build_discriminators(self) -> dict[str, torch.nn.Module]:
        c = self.config
        if c.arch == "stylegan2":
            raise ConfigError(PRETRAINED_ONLY)
        return {"D": Discriminator(width=c.width, image_size=c.image_size, channels=c.channels)}

    def make_dataset(self, source: Source, *, train: bool) -> torch.utils.data.Dataset:
        import albumentations as A  # slow to import; `translate list` never needs it

        flip = [A.HorizontalFlip(p=0.5)] if train and self.config.flip else []
        return ImageDataset(source, size=self.config.image_size, mode=self.mode,
                            augmentations=flip)

    @property
    def mode(self) -> Literal["L", "RGB"]:
        return "L" if self.config.channels == 1 and self.config.arch == "dcgan" else "RGB"

    # ---- training ---------------------------------------------------------------------------

    def generate(self, nets: Networks, batch: Batch) -> Batch:
        z = torch.randn(len(batch["image"]), self.config.latent_dim, device=batch["image"].device)
        return {"image": nets.G(z)}

    def _critic(self, nets: Networks, images: torch.Tensor) -> torch.Tensor:
        return nets.D(diff_augment(images, self.config.augment_policy))

    def discriminator_loss(self, nets: Networks, batch: Batch, generated: Batch) -> Losses:
        real_images = diff_augment(batch["image"], self.config.augment_policy)
        use_r1 = self.config.r1_gamma > 0
        if use_r1:
            real_images = real_images.detach().requires_grad_(True)
        real = nets.D(real_images)
        fake = self._critic(nets, generated["image"])
        real_term, fake_term = discriminator_loss(self.config.loss, real, fake)
        terms = {"real": real_term, "fake": fake_term, **discriminator_accuracy(real, fake)}
        if use_r1:
            terms["r1"] = 0.5 * self.config.r1_gamma * r1_penalty(real, real_images)
        return terms

    def generator_loss(self, nets: Networks, batch: Batch, generated: Batch) -> Losses:
        fake = self._critic(nets, generated["image"])
        return {"adversarial": generator_loss(self.config.loss, fake)}

    def sample_inputs(self, heldout: Batch, count: int) -> Batch:
        return {"z": torch.randn(count, self.config.latent_dim)}

    def sample(self, generators: Networks, inputs: Batch) -> torch.Tensor:
        return generators.G(inputs["z"])

    # ---- use ----------------------------------------------------------------------------------

    def latents(self, count: int, seed: int) -> torch.Tensor:
        """(count, latent_dim) noise drawn on the CPU, so a seed means the same faces anywhere."""
        return torch.randn(count, self.config.latent_dim,
                           generator=torch.Generator().manual_seed(seed))

    @property
    def chunk(self) -> int:
        """Images generated at once."""
        return min(MAX_CHUNK, max(1, CHUNK_PIXELS // self.config.image_size**2))

    @torch.no_grad()
    def draw(self, z: torch.Tensor, truncation: float = 1.0, *,
             then: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
        """Latents (N, latent_dim) -> images (N, C, H, W) in [-1, 1] on the CPU, in chunks.

        Truncation trades variety for typical, cleaner faces: the DCGAN scales z towards 0,
        StyleGAN2 pulls w towards its mean latent. `then` runs on each chunk (`shrunk`).
        """
        def generate(part: torch.Tensor) -> torch.Tensor:
            images = self.generators.G(part, truncation=truncation).float()
            return images if then is None else then(images)

        return in_chunks(generate, z, size=self.chunk, device=self.device)

    def infer(self, *, count: int = 16, seed: int = 0, truncation: float = 1.0,
              walk_to: int = 1, walk_steps: int = 0) -> list[Image.Image]:
        if not 0.0 <= truncation <= 1.0:
            raise ConfigError(f"truncation must be in [0, 1], got {truncation}")
        if walk_steps == 1 or walk_steps < 0:
            raise ConfigError(f"walk_steps must be 0 (no walk) or at least 2, got {walk_steps}")
        if count < 1 and not walk_steps:
            raise ConfigError(f"count must be at least 1, got {count}")
        G = self.generators.G
        if walk_steps and self.config.arch == "stylegan2":  # full-size frames, straight in W
            path = G.walk_path(seed, walk_to, walk_steps, truncation=truncation)
            return [face for part in path.split(self.chunk)
                    for face in tensor_to_pil(G.render(part))]
        if walk_steps:  # one strip along the great circle between the two z
            from torchvision.utils import make_grid

            path = slerp(self.latents(1, seed)[0], self.latents(1, walk_to)[0], walk_steps)
            strip = make_grid(self.draw(path, truncation), nrow=walk_steps, padding=2,
                              pad_value=1.0)
            return tensor_to_pil(strip[: self.config.channels][None])
        # A chunk at a time into 8-bit pictures: 256 faces at 1024x1024 stay 3 MB each.
        return [face for z in self.latents(count, seed).split(self.chunk)
                for face in tensor_to_pil(self.draw(z, truncation))]

    def card_notes(self, metrics: Mapping[str, float]) -> str:
        if self.config.arch != "stylegan2":
            return ""
        c = self.config
        return (f"A StyleGAN2 config-F generator (Karras et al. 2020, "
                f"https://arxiv.org/abs/1912.04958) at {c.image_size}x{c.image_size}, imported "
                "from rosinality's stylegan2-pytorch layout; gan-translate does not train it. "
                "Truncation pulls w towards the mean latent stored with the weights.")

    # ---- judging ------------------------------------------------------------------------------

    @property
    def judged_size(self) -> int:
        return min(self.config.image_size, JUDGED_SIZE)

    def images(self, source: Source, *, limit: int) -> torch.Tensor:
        """Up to `limit` records of source, evenly spread, as (N, C, S, S) in [-1, 1], S the
        judged size."""
        if len(source) > limit:
            source = Subset(source, np.linspace(0, len(source) - 1, limit).round().astype(int),
                            "evaluated")
        return stack_items(ImageDataset(source, size=self.judged_size, mode=self.mode))["image"]

    @torch.no_grad()
    def evaluate(self, heldout: Source, train: Source, *, samples: int = 500) -> dict[str, float]:
        """Face-ness, diversity, memorisation and a Fréchet distance, each next to a baseline.

        Only held-out faces judge: the face/non-face classifier is trained on them and the 100
        non-faces of lfw_subset, never on anything G was trained on, so its verdict on the
        training faces (which it never saw) is the ceiling a perfect G could reach. Samples
        larger than JUDGED_SIZE are shrunk to it (area averaging) as they are drawn.
        """
        from translate.metrics.frechet import frechet_distance

        real = self.images(heldout, limit=1000)
        train_images = self.images(train, limit=5000)
        fake = self.draw(self.latents(samples, seed=12345), then=shrunk)
        noise = blurred_noise(len(fake), like=real, seed=12345)
        is_face = face_classifier(real, self.images(non_faces(), limit=100))

        real_px, fake_px = pixels(real), pixels(fake)
        # Training showed G mirrored faces too: a mirrored copy is still a copy.
        train_px = pixels(torch.cat([train_images, train_images.flip(3)]))
        nearest_fake = nearest_distances(fake_px, train_px)
        nearest_real = nearest_distances(real_px, train_px)
        frechet = frechet_distance(real, fake)
        space = re.sub(r"[^a-z0-9]+", "_", frechet.features.lower()).strip("_")
        return {
            "faceness": is_face(fake),
            "faceness_blurred_noise_baseline": is_face(noise),
            "faceness_real_train_faces": is_face(train_images),
            "diversity_generated": mean_pairwise_distance(fake_px),
            "diversity_real_heldout": mean_pairwise_distance(real_px),
            "diversity_ratio": mean_pairwise_distance(fake_px) / mean_pairwise_distance(real_px),
            "nearest_train_distance_generated_median": float(np.median(nearest_fake)),
            "nearest_train_distance_heldout_real_median": float(np.median(nearest_real)),
            "nearest_train_distance_generated_min": float(nearest_fake.min()),
            "nearest_train_distance_heldout_real_min": float(nearest_real.min()),
            # Samples nearer a training face than the nearest held-out real face is. Not zero
            # by chance alone: 500 samples drawn like real faces would put ~1/21 below the
            # minimum of 20 held-out faces. The z-score below compares the whole distributions.
            "share_closer_than_any_heldout_real": float((nearest_fake < nearest_real.min()).mean()),
            "nearest_train_distance_z": copying_z(nearest_fake, nearest_real),
            f"frechet_{space}": frechet.value,
            f"frechet_{space}_blurred_noise_baseline": frechet_distance(real, noise).value,
            f"frechet_{space}_real_train_faces": frechet_distance(real, train_images).value,
        }


# ---- the judges -----------------------------------------------------------------------------


def shrunk(images: torch.Tensor) -> torch.Tensor:
    """(N, C, S, S) -> at most JUDGED_SIZE square, by area averaging (smaller ones as they are)."""
    if images.shape[-1] <= JUDGED_SIZE:
        return images
    return F.interpolate(images, size=(JUDGED_SIZE, JUDGED_SIZE), mode="area")


def non_faces() -> Source:
    """The 100 non-face patches that scikit-image's lfw_subset holds after its 100 faces."""
    from skimage.data import lfw_subset

    patches = lfw_subset()[100:]
    return InMemorySource("lfw-non-faces", [
        Image.fromarray(np.uint8(np.round(np.clip(p, 0, 1) * 255))) for p in patches])


CLASSIFIER_SIZE = 16  # faces are judged at 16x16, whatever the model's resolution


def _face_features(images: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] -> per-image standardised 16x16 grey pixels.

    Grey, because the non-faces are grey (colour alone would tell the classes apart);
    standardised, so brightness and contrast say nothing and the layout of a face decides.
    """
    grey = images.float().mean(dim=1, keepdim=True)
    small = F.interpolate(grey, size=(CLASSIFIER_SIZE, CLASSIFIER_SIZE), mode="area")
    flat = small.flatten(1).double().numpy()
    return (flat - flat.mean(1, keepdims=True)) / (flat.std(1, keepdims=True) + 1e-6)


def face_classifier(faces: torch.Tensor, others: torch.Tensor):
    """An RBF-SVM face/non-face classifier; returns images -> share called faces.

    Faces are doubled by mirroring (few held-out faces), and classes are weighted so that
    20 faces against 100 non-faces still counts both equally.
    """
    from sklearn.svm import SVC

    positives = _face_features(torch.cat([faces, faces.flip(3)]))
    negatives = _face_features(others)
    features = np.concatenate([positives, negatives])
    labels = np.r_[np.ones(len(positives)), np.zeros(len(negatives))]
    svm = SVC(C=3.0, gamma=0.5 / features.shape[1], class_weight="balanced").fit(features,
                                                                                 labels)

    def share(images: torch.Tensor) -> float:
        return float(svm.predict(_face_features(images)).mean())

    return share


# The data-copying test of Meehan et al. 2020, https://arxiv.org/abs/2004.05675, on the whole
# set (without their partition into cells).
def copying_z(generated: np.ndarray, heldout: np.ndarray) -> float:
    """Mann-Whitney z of nearest-training distances, generated vs held-out real.

    About 0 when samples sit as far from the training set as unseen real faces do; markedly
    negative (Meehan et al. flag below -3 or so) when G reproduces its training images.
    """
    from scipy.stats import mannwhitneyu

    u = mannwhitneyu(generated, heldout, alternative="two-sided").statistic
    n, m = len(generated), len(heldout)
    return float((u - n * m / 2) / np.sqrt(n * m * (n + m + 1) / 12))


def blurred_noise(count: int, *, like: torch.Tensor, seed: int) -> torch.Tensor:
    """Blurred uniform noise with the real faces' mean and spread: a generator that learned
    smooth blobs of the right brightness, but no faces."""
    from torchvision.transforms.functional import gaussian_blur

    generator = torch.Generator().manual_seed(seed)
    _, channels, height, width = like.shape
    noise = torch.rand(count, channels, height, width, generator=generator)
    sigma = height / 16
    kernel = int(4 * sigma) | 1
    blurred = gaussian_blur(noise, [kernel, kernel], [sigma, sigma])
    blurred = (blurred - blurred.mean()) / blurred.std()
    return (blurred * like.std() + like.mean()).clamp(-1, 1)
