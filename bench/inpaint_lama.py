"""LaMa's big-lama generator on the CPU: its parameter count and the time of one inpaint.

Random weights with big-lama's shapes (the time does not depend on the values): one
512x512 photo with a free-form hole, through `translate_inpaint.lama.inpaint` (masking,
symmetric padding to a multiple of 8, the network, the crop) and `composite`, in fp32.
The figure is the median of `--repeats` runs after one warm-up. Run it on an idle machine:

    python bench/inpaint_lama.py [--threads 2] [--repeats 3] [--size 512]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from translate.data.holes import draw_mask
from translate_inpaint.lama import BIG_LAMA, LamaGenerator, composite, inpaint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", type=int, default=512)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    generator = LamaGenerator(**BIG_LAMA).eval()
    parameters = sum(p.numel() for p in generator.parameters())
    print(f"big-lama generator: {parameters:,} parameters ({parameters * 4 / 2**20:.0f} MiB fp32)")
    rng = np.random.default_rng(0)
    image = torch.from_numpy(rng.random((1, 3, args.size, args.size), dtype=np.float32))
    hole = draw_mask(np.random.default_rng(1), args.size, kind="freeform", area=(0.3, 0.4))
    mask = torch.from_numpy(np.float32(hole))[None, None]

    def run() -> torch.Tensor:
        with torch.no_grad():
            return composite(image, inpaint(generator, image, mask), mask)

    run()  # warm-up: allocator, FFT plans
    times = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    print(f"{args.size}x{args.size} inpaint, fp32, {torch.get_num_threads()} threads: "
          f"median {statistics.median(times):.2f} s over {args.repeats} "
          f"({', '.join(f'{t:.2f}' for t in times)})")


if __name__ == "__main__":
    main()
