"""Training throughput and peak memory of the faces `full` preset, in bf16 and in fp32.

Runs the shared engine's real training step (DiffAugment, hinge loss, R1, EMA) on the
bundled LFW faces resized to the preset's resolution, first in bf16 autocast and then in
fp32, and prints images/s (after warm-up) and peak memory for each.

    python bench/faces_throughput.py [--steps 300] [--image-size 64] [--device auto]

On a GPU, peak memory is CUDA's max_memory_allocated (reset per run); on the CPU it is the
process's max RSS, which only grows, so the second (fp32) figure includes the first run.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time

import torch

from translate.data.sources import lfw_source
from translate.engine.trainer import Trainer
from translate_faces.translator import FacesTranslator

WARMUP = 20


def run(precision: str, *, steps: int, image_size: int, batch_size: int, device: str) -> dict:
    config = FacesTranslator.make_config("full", {
        "mixed_precision": precision, "image_size": str(image_size), "batch_size": str(batch_size),
        "steps": str(steps + WARMUP), "workers": "0", "evaluate_at_end": "false"})
    source = lfw_source()
    with tempfile.TemporaryDirectory() as out:
        trainer = Trainer(FacesTranslator, config, train_source=source.split("train"),
                          heldout_source=source.split("heldout"), out_dir=out, device=device,
                          progress=False, command="bench")
        batches = trainer._batches()
        cuda = trainer.accelerator.device.type == "cuda"
        for _ in range(WARMUP):
            trainer._train_step(batches)
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        for _ in range(steps):
            trainer._train_step(batches)
        if cuda:
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        peak = (torch.cuda.max_memory_allocated() if cuda
                else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
        return {"precision": trainer.precision, "device": str(trainer.accelerator.device),
                "images_per_second": steps * batch_size / seconds,
                "peak_memory_mib": peak / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--image-size", type=int, default=64, choices=(64, 128))
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    for precision in ("bf16", "no"):
        result = run(precision, steps=args.steps, image_size=args.image_size,
                     batch_size=args.batch_size, device=args.device)
        name = "fp32" if result["precision"] == "no" else result["precision"]
        print(f"faces full {args.image_size}x{args.image_size} batch {args.batch_size} on "
              f"{result['device']}, {name}: {result['images_per_second']:.1f} images/s, peak "
              f"memory {result['peak_memory_mib']:.0f} MiB ({args.steps} steps after "
              f"{WARMUP} warm-up)")


if __name__ == "__main__":
    main()
