"""Parameters and CPU seconds per image of the faces StyleGAN2 generator, at 256 and 1024.

Random weights in the real configurations (config F: style_dim 512, n_mlp 8, channel
multiplier 2), one image per call, fp32, `--threads` torch threads (default 2), median of
`--repeats` calls after one warm-up. With TRANSLATE_REFERENCES set, rosinality's own
Generator (its CPU paths, with the same weights) runs alternately with ours in the same
process, so the ratio holds even on a busy machine.

    python bench/faces_stylegan2.py [--sizes 256 1024] [--threads 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import torch

from translate_faces.stylegan2 import StyleGAN2Generator
from translate_faces.stylegan2_checkpoints import convert


def rosinality_generator_class():
    """rosinality's model.Generator from $TRANSLATE_REFERENCES, or None."""
    root = os.environ.get("TRANSLATE_REFERENCES")
    checkout = Path(root or "/nonexistent") / "rosinality+stylegan2-pytorch"
    if not checkout.is_dir():
        return None
    import torch.utils.cpp_extension

    # op/ compiles CUDA extensions at import; a dummy build leaves its CPU paths to run.
    torch.utils.cpp_extension.load = lambda *args, **kwargs: SimpleNamespace()
    sys.path.insert(0, str(checkout))
    from model import Generator

    return Generator


def median_seconds(calls: dict, repeats: int) -> dict[str, float]:
    """Median wall seconds of each call, the calls taking turns so that load hits all alike."""
    for call in calls.values():
        call()  # warm-up: allocator and oneDNN primitive caches
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    return {name: round(statistics.median(values), 3) for name, values in times.items()}


@torch.no_grad()
def bench(size: int, repeats: int, reference_class) -> dict:
    config = {"size": size, "style_dim": 512, "n_mlp": 8, "channel_multiplier": 2}
    torch.manual_seed(0)
    ours = StyleGAN2Generator(**config).eval()
    z = ours.latents(1, seed=0)
    calls = {"ours_s_per_image": lambda: ours(z, truncation=0.7)}
    if reference_class is not None:
        reference = reference_class(size, 512, 8, channel_multiplier=2).eval()
        _, state = convert({"g_ema": reference.state_dict()})
        ours.load_state_dict(state, strict=True)
        calls["rosinality_s_per_image"] = lambda: reference(
            [z], truncation=0.7, truncation_latent=ours.latent_avg, randomize_noise=False)[0]
    result = {"size": size, "parameters": sum(p.numel() for p in ours.parameters()),
              **median_seconds(calls, repeats)}
    if reference_class is not None:
        result["ours_over_rosinality"] = round(
            result["ours_s_per_image"] / result["rosinality_s_per_image"], 3)
        difference = calls["ours_s_per_image"]() - calls["rosinality_s_per_image"]()
        result["max_abs_difference"] = difference.abs().max().item()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 1024])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    reference_class = rosinality_generator_class()
    for size in args.sizes:
        print(json.dumps({**bench(size, args.repeats, reference_class),
                          "threads": args.threads, "repeats": args.repeats}), flush=True)


if __name__ == "__main__":
    main()
