"""Paired data: where (A, B) image pairs come from, and how both sides are augmented alike.

Records of every paired source are `{"A": PIL, "B": PIL, "image": A}`; `image` repeats
the A side so generic tools (the demo's examples, TranslatorTests) find an input there.
Which side a generator reads is the translator's `direction`, not the source's.

The sources, registered as `--data` names by `translate.builtins.sources`:

- `aligned:PATH` — the format of junyanz/pytorch-CycleGAN-and-pix2pix: each file holds
  A|B side by side, in PATH/train/ (training) and PATH/val/ or PATH/test/ (held out);
- `paired:PATH` — PATH/A/ and PATH/B/ holding files with the same names;
- `hf-paired:NAME?a=COL&b=COL` — a Hugging Face dataset with two image columns.

`DerivedPairs` makes a synthetic paired task from single images (a photo and its sketch);
`PairedDataset` turns any paired source into aligned tensors; `fidelity_with_baselines`
measures a paired translator against what doing nothing (or the same guess every time)
would score.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
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
from translate.data.source import Source, Subset
from translate.data.sources import FolderSource, HFSource
from translate.data.tensors import to_tensor
from translate.errors import DataError
from translate.metrics.fidelity import l1, psnr, ssim

__all__ = ["PAIRED_FORMATS", "AlignedSource", "DerivedPairs", "Direction", "FolderPairSource",
           "HFPairSource", "PairedDataset", "describe_fidelity", "fidelity_with_baselines",
           "match_channels", "needs_pairs"]

Direction = Literal["AtoB", "BtoA"]
# The --data forms of the sources here, as error messages name them.
PAIRED_FORMATS = ("aligned:PATH", "paired:PATH", "hf-paired:NAME?a=COL&b=COL")


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


class DerivedPairs(Source):
    """Pairs computed from single images: `pair(image) -> (A, B)` for each image of `source`.

    For synthetic tasks on small sets (every image is decoded once, up front): each record
    is a whole image in RGB, its shorter side scaled to `scale` pixels if given (crops are
    taken later). The held-out images are the source's, so no held-out pixel is trained on.
    """

    def __init__(self, name: str, source: Source,
                 pair: Callable[[Image.Image], tuple[Image.Image, Image.Image]], *,
                 scale: int | None = None) -> None:
        self.name, self.pair = name, pair
        images = [to_mode(source[i]["image"], "RGB") for i in range(len(source))]
        self.images = [_shorter_side(image, scale) for image in images] if scale else images
        self._heldout = list(source.heldout_indices())

    def heldout_indices(self) -> Sequence[int]:
        return self._heldout

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> dict[str, Any]:
        a, b = self.pair(self.images[index])
        return {"A": a, "B": b, "image": a}


def needs_pairs(source: Source, *, needed_by: str = "this translator",
                also: Sequence[str] = ()) -> None:
    """Refuse, in one line, a source whose records are not (A, B) pairs.

    `needed_by` names who refuses it; `also` adds a translator's own paired sources to
    the formats the message offers.
    """
    root = source.parent if isinstance(source, Subset) else source
    if len(source) and not {"A", "B"} <= set(source[0]):
        formats = ", ".join([*PAIRED_FORMATS, *also])
        raise DataError(f"{root.name}: {needed_by} needs paired images ({formats}); this "
                        "source has single images")


# ---- tensors ------------------------------------------------------------------------------


class PairedDataset(Dataset):
    """Pairs -> {"input": (C_in, S, S), "image": (C_out, S, S)} in [-1, 1].

    Training: the shorter side is resized to `load_size`, then one random S×S crop and a
    horizontal flip, drawn once and applied to both sides (albumentations
    `additional_targets`), so input and target stay pixel-aligned. This is pix2pix's
    286 -> 256 jitter (Isola et al. 2017, https://arxiv.org/abs/1611.07004, appendix 6.2);
    smaller crops scale `load_size` with them.
    Evaluation: the same resize, then the whole image tiled into S×S crops, so every
    held-out pixel (but the last partial row/column) is measured once.

    A subclass changes what is read (`sides`) or what is returned (`tensors`), e.g. a
    colour space in which the input is computed from the target.
    """

    def __init__(self, source: Source, *, size: int, load_size: int, direction: Direction,
                 in_channels: int, out_channels: int, train: bool) -> None:
        needs_pairs(source)
        self.source, self.size, self.train = source, size, train
        self.input_key, self.target_key = ("A", "B") if direction == "AtoB" else ("B", "A")
        self.modes = (_mode(in_channels), _mode(out_channels))
        self.load_size = max(load_size, size)
        resize = A.SmallestMaxSize(max_size=self.load_size, interpolation=cv2.INTER_CUBIC,
                                   area_for_downscale="image")
        steps = [resize, A.RandomCrop(size, size), A.HorizontalFlip(p=0.5)] if train else [resize]
        self.transform = A.Compose(steps, additional_targets={"target": "image"}, seed=0)
        self.tiles = [] if train else self._tiles()

    def sides(self, record: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """The input and target pixels of one record, uint8 (H, W) or (H, W, C)."""
        target = np.asarray(to_mode(record[self.target_key], self.modes[1]))
        return np.asarray(to_mode(record[self.input_key], self.modes[0])), target

    def tensors(self, inputs: np.ndarray, target: np.ndarray) -> dict[str, torch.Tensor]:
        """The item for one augmented pair of pixel arrays."""
        return {"input": to_tensor(inputs), "image": to_tensor(target)}

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
        inputs, target = self.sides(self.source[index])
        if inputs.shape[:2] != target.shape[:2]:
            # Pairs of slightly different sizes happen in the wild; B is brought to A's.
            target = cv2.resize(target, inputs.shape[1::-1], interpolation=cv2.INTER_AREA)
        out = self.transform(image=inputs, target=target)
        inputs, target = out["image"], out["target"]
        if not self.train:
            window = (slice(top, top + self.size), slice(left, left + self.size))
            inputs, target = inputs[window], target[window]
        return self.tensors(inputs, target)


# ---- judging a paired translator ----------------------------------------------------------


def match_channels(images: torch.Tensor, channels: int) -> torch.Tensor:
    """(N, C, H, W) signed images with `channels` channels: grey repeated as RGB, or RGB as
    its ITU-R 601 luma; e.g. an input shown, or scored, next to a target of the other kind."""
    if images.shape[1] == channels:
        return images
    if channels == 3:
        return images.expand(-1, 3, -1, -1)
    weights = images.new_tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    return (images * weights).sum(1, keepdim=True)


def fidelity_with_baselines(outputs: torch.Tensor, targets: torch.Tensor, *,
                            inputs: torch.Tensor, train_targets: torch.Tensor,
                            prefix: str = "") -> dict[str, float]:
    """PSNR, SSIM and L1 of `outputs` against `targets`, next to two trivial baselines.

    The baselines every paired translator has to beat: `input`, the input itself (its
    channels matched to the target's: what doing nothing scores), and `train_mean`, the
    mean training target (the best constant image in L2). All (N, C, H, W) in [-1, 1].
    Keys: `{prefix}psnr`, `{prefix}psnr_baseline_input`, `{prefix}psnr_baseline_train_mean`,
    then the same for ssim and l1.
    """
    baselines = {"input": match_channels(inputs, targets.shape[1]),
                 "train_mean": train_targets.mean(0).expand_as(targets)}
    figures = {}
    for name, measure in (("psnr", psnr), ("ssim", ssim), ("l1", l1)):
        figures[prefix + name] = measure(outputs, targets)
        for baseline, images in baselines.items():
            figures[f"{prefix}{name}_baseline_{baseline}"] = measure(images, targets)
    return figures


def describe_fidelity(figures: Mapping[str, float], *, pairs: int) -> str:
    """One sentence for a model card: `fidelity_with_baselines` figures and the margins."""
    m = figures
    return (f"On {pairs} held-out pairs: PSNR {m['psnr']:.2f} dB "
            f"against {m['psnr_baseline_input']:.2f} dB for the input itself "
            f"({m['psnr'] - m['psnr_baseline_input']:+.2f} dB) and "
            f"{m['psnr_baseline_train_mean']:.2f} dB for the mean training target "
            f"({m['psnr'] - m['psnr_baseline_train_mean']:+.2f} dB); SSIM {m['ssim']:.3f} "
            f"against {m['ssim_baseline_input']:.3f} and {m['ssim_baseline_train_mean']:.3f}"
            f"; L1 {m['l1']:.4f} against {m['l1_baseline_input']:.4f} and "
            f"{m['l1_baseline_train_mean']:.4f}.")


def _mode(channels: int) -> Literal["L", "RGB"]:
    if channels not in (1, 3):
        raise DataError(f"paired images are read with 1 or 3 channels, not {channels}")
    return "L" if channels == 1 else "RGB"


def _shorter_side(image: Image.Image, size: int) -> Image.Image:
    scale = size / min(image.size)
    if scale == 1:
        return image
    target = (max(size, round(image.width * scale)), max(size, round(image.height * scale)))
    return image.resize(target, Image.Resampling.BOX if scale < 1 else Image.Resampling.BICUBIC)
