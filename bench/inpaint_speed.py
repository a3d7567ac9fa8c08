"""Inference time of the inpaint translator, ms per image, at a few image sizes.

Each image gets a fixed free-form hole covering about a third of it, so the network
sees the region around the hole (capped at `infer_max_side`, default 256, after which
it works at reduced scale). Times are medians over repeats of the whole `infer` call:
mask reading, cropping, padding, the network and the composite. Training time is in the
starter model card (train_seconds). Run it on an otherwise idle machine:

    python bench/inpaint_speed.py [--weights DIR] [--device cpu] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from PIL import Image

from translate.data.holes import draw_mask
from translate.device import pick_device
from translate.hub.resolve import load_translator
from translate_inpaint.translator import InpaintTranslator

SIZES = ((64, 64), (256, 256), (512, 512), (1024, 768))


def timed(call, repeats: int) -> float:
    call()  # warm-up: allocator, lazy initialisation
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", help="weights folder or repo (default: as translate infer)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    translator, resolved = load_translator(InpaintTranslator, args.weights, device=device)
    print(f"weights: {resolved.describe()}")
    print(f"device: {device}, torch threads: {torch.get_num_threads()}")
    rng = np.random.default_rng(0)
    for width, height in SIZES:
        image = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
        side = max(width, height)
        hole = draw_mask(np.random.default_rng(1), side, kind="freeform", area=(0.3, 0.4))
        mask = Image.fromarray(np.uint8(hole[:height, :width] * 255))
        with torch.no_grad():
            ms = timed(lambda image=image, mask=mask: translator.infer(image=image, mask=mask),
                       args.repeats)
        print(f"infer {width}x{height}: {ms:.1f} ms/image")


if __name__ == "__main__":
    main()
