"""Paired data: where (A, B) pairs come from, and how both sides are augmented alike.

Records of every paired source are `{"A": PIL, "B": PIL, "image": A}`; `image` repeats
the A side so generic tools (the demo's examples, TranslatorTests) find an input there.
Which side the generator reads is the translator's `direction`, not the source's.

Sources (registered as `--data` names by this plugin):
- `aligned:PATH` — the reference implementation's format: each file holds A|B side by
  side, in PATH/train/ (training) and PATH/val/ or PATH/test/ (held out).
- `paired:PATH` — PATH/A/ and PATH/B/ holding files with the same names.
- `hf-paired:NAME?a=COL&b=COL` — a Hugging Face dataset with two image columns.
- `photo2sketch` — the bundled starter task: the photos of
  `translate.data.sources.photos_source` and their pencil sketches, same held-out photos.
- `gray2color` — the same photos as greyscale -> colour pairs (colourisation).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl

import albumentations as A
import cv2
import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from translate.data.images import open_image, to_mode
from translate.data.pipeline import to_tensor
from translate.data.sources import FolderSource, HFSource, Source, Subset, photos_source
from translate.errors import DataError
from translate_pix2pix.colour import rgb_to_lab

Direction = Literal["AtoB", "BtoA"]


# ---- sources ------------------------------------------------------------------------------


class AlignedSource(Source):
    """The reference's aligned datasets (facades, edges2shoes, maps, …): A|B in one image."""

    HELDOUT_FOLDERS = ("val", "test")

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser()
        self.name = f"aligned:{root}"
        if not (self.root / "train").is_dir():
            raise DataError(f"{root}: no train/ folder (the aligned format keeps A|B images in "
                            "train/ and val/ or test/)")
        heldout = next((self.root / n for n in self.HELDOUT_FOLDERS
                        if (self.root / n).is_dir()), None)
        if heldout is None:
            raise DataError(f"{root}: no val/ or test/ folder to hold out")
        self.train_files = FolderSource(self.root / "train").files
        self.heldout_files = FolderSource(heldout).files
        self.files = [*self.train_files, *self.heldout_files]

    def heldout_indices(self) -> Sequence[int]:
        # The dataset's own split: its val/ (or test/) images are never trained on.
        return range(len(self.train_files), len(self.files))

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> dict[str, Any]:
        path = self.files[index]
        both = open_image(path, mode="RGB")
        if both.width < 2:
            raise DataError(f"{path}: too narrow to hold A|B side by side")
        half = both.width // 2
        a, b = both.crop((0, 0, half, both.height)), both.crop((half, 0, half * 2, both.height))
        return {"A": a, "B": b, "image": a}


class FolderPairSource(Source):
    """PATH/A/ and PATH/B/ with matching file names (extensions may differ)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser()
        self.name = f"paired:{root}"
        missing = [side for side in "AB" if not (self.root / side).is_dir()]
        if missing:
            raise DataError(f"{root}: no {' or '.join(f'{m}/' for m in missing)} folder "
                            "(paired data needs A/ and B/ with matching file names)")
        a_files = {p.relative_to(self.root / "A").with_suffix(""): p
                   for p in FolderSource(self.root / "A").files}
        b_files = {p.relative_to(self.root / "B").with_suffix(""): p
                   for p in FolderSource(self.root / "B").files}
        only_a, only_b = sorted(set(a_files) - set(b_files)), sorted(set(b_files) - set(a_files))
        if only_a or only_b:
            parts = [f"{len(names)} in {side}/ only (first: {names[0]})"
                     for side, names in (("A", only_a), ("B", only_b)) if names]
            raise DataError(f"{root}: A/ and B/ file names do not match: {'; '.join(parts)}")
        self.pairs = [(a_files[key], b_files[key]) for key in sorted(a_files)]

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> dict[str, Any]:
        a_path, b_path = self.pairs[index]
        a, b = open_image(a_path, mode="RGB"), open_image(b_path, mode="RGB")
        return {"A": a, "B": b, "image": a}


class HFPairSource(HFSource):
    """A Hugging Face dataset with two image columns, named by ?a=COL&b=COL."""

    def __init__(self, spec: str) -> None:
        name, _, query = spec.partition("?")
        options = dict(parse_qsl(query))
        if not {"a", "b"} <= set(options):
            raise DataError(f"hf-paired:{spec}: name both image columns, e.g. "
                            f"hf-paired:{name}?a=sketch&b=photo")
        kept = {k: v for k, v in options.items() if k == "split"}
        super().__init__(name + "?" + "&".join(f"{k}={v}" for k, v in
                                                {**kept, "image": options["a"]}.items()))
        self.name = f"hf-paired:{spec}"
        if options["b"] not in self.dataset.features:
            raise DataError(f"hf-paired:{name}: no column {options['b']!r} "
                            f"(columns: {', '.join(self.dataset.features)})")
        self.b_column, self.label_column, self.classes = options["b"], None, None

    def __getitem__(self, index: int) -> dict[str, Any]:
        row = self.dataset[int(index)]
        a, b = (self._image(row[c]) for c in (self.image_column, self.b_column))
        return {"A": a, "B": b, "image": a}

    @staticmethod
    def _image(value: Any) -> Image.Image:
        if isinstance(value, Image.Image):
            return to_mode(value, "RGB")
        return open_image(value["path"] if isinstance(value, dict) else value, mode="RGB")


class BundledPairs(Source):
    """Pairs made from the bundled photos by a fixed function of each photo.

    Every record is a whole photo, scaled so its shorter side is `scale` pixels; crops are
    taken later. The held-out photos are those of `photos_source` (chelsea, china), so no
    held-out pixel is ever trained on.
    """

    def __init__(self, name: str, pair: Callable[[Image.Image], tuple[Image.Image, Image.Image]],
                 scale: int = 256) -> None:
        photos = photos_source()
        self.name, self.pair = name, pair
        self.colour = [_shorter_side(to_mode(photos[i]["image"], "RGB"), scale)
                       for i in range(len(photos))]
        self._heldout = list(photos.heldout_indices())

    def heldout_indices(self) -> Sequence[int]:
        return self._heldout

    def __len__(self) -> int:
        return len(self.colour)

    def __getitem__(self, index: int) -> dict[str, Any]:
        a, b = self.pair(self.colour[index])
        return {"A": a, "B": b, "image": a}


def pencil_sketch(photo: Image.Image, sigma: float = 6.0) -> Image.Image:
    """The classic "colour dodge" pencil sketch: grey divided by its blurred negative.

    Flat regions go white and every edge turns into a dark stroke whose weight follows its
    contrast; squaring darkens the strokes to read like graphite. `sigma` (pixels, for
    photos with a 256-pixel shorter side) sets how wide a stroke can be.
    """
    grey = np.asarray(photo.convert("L"), dtype=np.float32)
    blurred = cv2.GaussianBlur(255.0 - grey, (0, 0), sigma * min(photo.size) / 256)
    dodge = np.clip(grey / np.maximum(255.0 - blurred, 1.0), 0.0, 1.0)
    return Image.fromarray(np.round(255 * dodge ** 2).astype(np.uint8), mode="L")


def photo_to_sketch() -> BundledPairs:
    """The bundled starter task: colour photo (A) -> pencil sketch (B)."""
    return BundledPairs("photo2sketch", lambda photo: (photo, pencil_sketch(photo)))


def grey_to_colour() -> BundledPairs:
    """Greyscale (A) -> colour (B): colourisation, best trained with colour_space=lab."""
    # ITU-R 601 luma, what "black and white" means to Pillow
    return BundledPairs("gray2color", lambda photo: (photo.convert("L"), photo))


def _shorter_side(image: Image.Image, size: int) -> Image.Image:
    scale = size / min(image.size)
    if scale == 1:
        return image
    target = (max(size, round(image.width * scale)), max(size, round(image.height * scale)))
    return image.resize(target, Image.Resampling.BOX if scale < 1 else Image.Resampling.BICUBIC)


def needs_pairs(source: Source) -> None:
    """Refuse, in one line, a source whose records are not (A, B) pairs."""
    root = source.parent if isinstance(source, Subset) else source
    if len(source) and not {"A", "B"} <= set(source[0]):
        raise DataError(f"{root.name}: pix2pix needs paired images (aligned:PATH, paired:PATH, "
                        "hf-paired:NAME?a=COL&b=COL, photo2sketch or gray2color); this source "
                        "has single images")


# ---- tensors ------------------------------------------------------------------------------


class PairedDataset(Dataset):
    """Pairs -> {"input": (C_in, S, S), "image": (C_out, S, S)} in [-1, 1].

    Training: the shorter side is resized to `load_size`, then one random S×S crop and a
    horizontal flip, drawn once and applied to both sides (albumentations
    `additional_targets`), so input and target stay pixel-aligned. This is the paper's
    286 -> 256 jitter; smaller crops scale `load_size` with them.
    Evaluation: the same resize, then the whole image tiled into S×S crops, so every
    held-out pixel (but the last partial row/column) is measured once.

    In the "lab" colour space only the target side is read: the input is its L* and the
    target its a*b*; items then also carry the target as "rgb".
    """

    def __init__(self, source: Source, *, size: int, load_size: int, direction: Direction,
                 in_channels: int, out_channels: int, train: bool,
                 colour_space: Literal["rgb", "lab"] = "rgb") -> None:
        needs_pairs(source)
        self.source, self.size, self.train = source, size, train
        self.lab = colour_space == "lab"
        self.input_key, self.target_key = ("A", "B") if direction == "AtoB" else ("B", "A")
        self.modes = ("RGB", "RGB") if self.lab else (_mode(in_channels), _mode(out_channels))
        self.load_size = max(load_size, size)
        resize = A.SmallestMaxSize(max_size=self.load_size, interpolation=cv2.INTER_CUBIC,
                                   area_for_downscale="image")
        steps = [resize, A.RandomCrop(size, size), A.HorizontalFlip(p=0.5)] if train else [resize]
        self.transform = A.Compose(steps, additional_targets={"target": "image"}, seed=0)
        self.tiles = [] if train else self._tiles()

    def _tiles(self) -> list[tuple[int, int, int]]:
        tiles = []
        for index in range(len(self.source)):
            width, height = self.source[index][self.target_key].size
            scale = self.load_size / min(width, height)
            rows, cols = (max(1, round(side * scale) // self.size) for side in (height, width))
            tiles += [(index, r * self.size, c * self.size) for r in range(rows)
                      for c in range(cols)]
        return tiles

    def __len__(self) -> int:
        return len(self.source) if self.train else len(self.tiles)

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, torch.Tensor]:
        index, seed = key if isinstance(key, tuple) else (key, None)
        top = left = 0
        if not self.train:
            index, top, left = self.tiles[index]
        elif seed is not None:
            # One shared generator, as in translate.data.pipeline: every batch is a pure
            # function of (seed, batch number), so resumed runs see the same crops.
            self.transform.set_random_state(np.random.default_rng(seed), random.Random(seed))
        record = self.source[index]
        target = np.asarray(to_mode(record[self.target_key], self.modes[1]))
        inputs = target if self.lab else np.asarray(to_mode(record[self.input_key],
                                                            self.modes[0]))
        if inputs.shape[:2] != target.shape[:2]:
            # Pairs of slightly different sizes happen in the wild; B is brought to A's.
            target = cv2.resize(target, inputs.shape[1::-1], interpolation=cv2.INTER_AREA)
        out = self.transform(image=inputs, target=target)
        inputs, target = out["image"], out["target"]
        if not self.train:
            window = (slice(top, top + self.size), slice(left, left + self.size))
            inputs, target = inputs[window], target[window]
        if self.lab:
            rgb = to_tensor(target)
            lightness, ab = rgb_to_lab(rgb[None])
            return {"input": lightness[0], "image": ab[0], "rgb": rgb}
        return {"input": to_tensor(inputs), "image": to_tensor(target)}


def _mode(channels: int) -> Literal["L", "RGB"]:
    if channels not in (1, 3):
        raise DataError(f"pix2pix reads images with 1 or 3 channels, not {channels}")
    return "L" if channels == 1 else "RGB"
