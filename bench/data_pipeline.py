"""Training items per second of one data-loading worker: ours and the reference's loaders.

A folder of 1000 JPEGs is made from the bundled photos (random crops, 256x256 per side, the
size of the reference's facades/horse2zebra images): the aligned layout (train/ holding
1000 A|B files, val/ a few) and the unpaired one (trainA/ and trainB/ with 500 each,
testA/ testB/ a few). Each worker's job is timed in this process, one thread, as a
DataLoader worker would do it: decode, 286 resize, random 256 crop, flip, tensor.

- ours: plugins/pix2pix `PairedDataset` over `aligned:DIR`, plugins/cyclegan
  `UnpairedDataset` over `unpaired:DIR`, keyed by `translate.data.pipeline.StepSampler`;
- reference (when REFERENCE_PIX2PIX or REFERENCE_CYCLEGAN points at a checkout of
  junyanz/pytorch-CycleGAN-and-pix2pix): its `AlignedDataset` and `UnalignedDataset` on the
  same folders, with its train.py defaults (resize_and_crop, load 286, crop 256, flips).

Rounds alternate between the loaders so load from other processes hits both alike.

    REFERENCE_PIX2PIX=/path/to/checkout python bench/data_pipeline.py [--items 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from argparse import Namespace
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

from translate.data.pipeline import StepSampler
from translate.data.sources import photos_source
from translate.plugins import open_source

SIDE = 256


def make_folders(root: Path, count: int = 1000, seed: int = 0) -> tuple[Path, Path]:
    """(aligned root, unpaired root) under `root`, made once (reused when present)."""
    aligned, unpaired = root / "aligned", root / "unpaired"
    if (aligned / "train").is_dir() and (unpaired / "trainB").is_dir():
        return aligned, unpaired
    rng = np.random.default_rng(seed)
    photos = [np.asarray(photos_source()[i]["image"]) for i in range(len(photos_source()))]

    def crop() -> np.ndarray:
        photo = photos[rng.integers(len(photos))]
        height, width = photo.shape[:2]
        side = int(rng.integers(SIDE // 2, min(height, width) + 1))
        top, left = rng.integers(height - side + 1), rng.integers(width - side + 1)
        return cv2.resize(photo[top:top + side, left:left + side], (SIDE, SIDE),
                          interpolation=cv2.INTER_AREA)

    def save(pixels: np.ndarray, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(path, quality=90)

    for folder, number in (("train", count), ("val", 8)):
        for index in range(number):
            a = crop()
            b = 255 - a[:, ::-1]  # any fixed function of A: a target pixel-aligned with it
            save(np.concatenate([a, b], axis=1), aligned / folder / f"{index:04d}.jpg")
    for folder, number in (("trainA", count // 2), ("trainB", count // 2), ("testA", 4),
                           ("testB", 4)):
        for index in range(number):
            save(crop(), unpaired / folder / f"{index:04d}.jpg")
    return aligned, unpaired


def ours(kind: str, root: Path) -> tuple[Callable[[int], object], int]:
    """(item(i), count) through the plugins' datasets and the engine's sampler keys."""
    from translate.plugins import load_plugins

    load_plugins()
    if kind == "aligned":
        from translate_pix2pix.data import PairedDataset
        source = open_source(f"aligned:{root}").split("train")
        dataset = PairedDataset(source, size=256, load_size=286, direction="AtoB",
                                in_channels=3, out_channels=3, train=True)
    else:
        from translate_cyclegan.data import UnpairedDataset
        source = open_source(f"unpaired:{root}").split("train")
        dataset = UnpairedDataset(source, size=256, load_size=286, mode="RGB", train=True)
    sampler = StepSampler(len(dataset), 1, seed=0)
    return (lambda i: dataset[sampler.batch(i)[0]]), len(dataset)


def reference(kind: str, root: Path, checkout: str) -> tuple[Callable[[int], object], int]:
    sys.path.insert(0, checkout)
    opt = Namespace(dataroot=str(root), phase="train", max_dataset_size=float("inf"),
                    direction="AtoB", input_nc=3, output_nc=3, preprocess="resize_and_crop",
                    load_size=286, crop_size=256, no_flip=False, serial_batches=False,
                    isTrain=True)
    if kind == "aligned":
        from data.aligned_dataset import AlignedDataset
        dataset = AlignedDataset(opt)
    else:
        from data.unaligned_dataset import UnalignedDataset
        dataset = UnalignedDataset(opt)
    return (lambda i: dataset[i % len(dataset)]), len(dataset)


def timed(item: Callable[[int], object], start: int, count: int) -> float:
    """Items per second over `count` consecutive items."""
    begin = time.perf_counter()
    for index in range(start, start + count):
        item(index)
    return count / (time.perf_counter() - begin)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=None,
                        help="where to make (or find) the JPEG folders; default: a temp folder")
    parser.add_argument("--items", type=int, default=200, help="items per loader per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    # One DataLoader worker runs one thread: torch sets that in workers, cv2 does not.
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    checkout = os.environ.get("REFERENCE_PIX2PIX") or os.environ.get("REFERENCE_CYCLEGAN")
    with tempfile.TemporaryDirectory() as scratch:
        root = args.folder or Path(scratch)
        aligned, unpaired = make_folders(root)
        print(f"one worker (1 thread), {args.rounds} rounds x {args.items} items, "
              f"286 -> random 256 crop + flip, JPEG 256x256 per side")
        for kind, folder, images in (("aligned", aligned, 1), ("unpaired", unpaired, 2)):
            loaders = {"ours": ours(kind, folder)}
            if checkout:
                loaders["reference"] = reference(kind, folder, checkout)
            for item, _ in loaders.values():
                item(0)  # warm-up: imports, first decode
            rates: dict[str, list[float]] = {name: [] for name in loaders}
            for round_ in range(args.rounds):
                for name, (item, _) in loaders.items():
                    rates[name].append(timed(item, 1 + round_ * args.items, args.items))
            line = []
            for name, values in rates.items():
                median = statistics.median(values)
                line.append(f"{name} {median:6.1f} items/s ({median * images:6.1f} images/s)")
            ratio = ""
            if "reference" in rates:
                speed = statistics.median(rates["ours"]) / statistics.median(rates["reference"])
                ratio = f", ours/reference {speed:.2f}x"
            print(f"  {kind:<9} " + "; ".join(line) + ratio)


if __name__ == "__main__":
    main()
