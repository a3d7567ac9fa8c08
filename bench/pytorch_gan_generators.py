"""PyTorch-GAN's generators (the HugGAN Hub repos): parameters and CPU inference time.

    python bench/pytorch_gan_generators.py               # 2 threads, median of 3
    python bench/pytorch_gan_generators.py --threads 1 --repeat 5

For each network: parameter count, fp32 file size, and the median wall time of one
forward pass (after a warm-up) on a (1, 3, S, S) input at S = 256 and 512, in eval mode
under no_grad. Next to each, the junyanz counterpart the plugins already run (unet_256
with instance norm; the 9-block ResnetGenerator), timed in the same process, so the
ratio is what to read on a shared machine.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from translate_cyclegan.model import ResnetGenerator
from translate_cyclegan.pytorch_gan import GeneratorResNet
from translate_pix2pix.model import UNetGenerator
from translate_pix2pix.pytorch_gan import GeneratorUNet

NETWORKS = {
    "pix2pix GeneratorUNet (PyTorch-GAN)": lambda: GeneratorUNet(),
    "pix2pix unet_256 instance (junyanz)": lambda: UNetGenerator(norm="instance"),
    "cyclegan GeneratorResNet 9 blocks (PyTorch-GAN)": lambda: GeneratorResNet(blocks=9),
    "cyclegan ResnetGenerator 9 blocks (junyanz)": lambda: ResnetGenerator(blocks=9),
}
SIZES = (256, 512)


def median_seconds(network: torch.nn.Module, size: int, repeat: int) -> float:
    images = torch.rand(1, 3, size, size) * 2 - 1
    with torch.no_grad():
        network(images)  # warm-up: allocator and oneDNN kernels
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            network(images)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {args.threads} threads, median of {args.repeat}")
    print(f"{'network':50s} {'params':>12s} {'fp32 MB':>8s}"
          + "".join(f" {f'{s}² s':>8s}" for s in SIZES))
    for name, build in NETWORKS.items():
        network = build().eval()
        count = sum(p.numel() for p in network.parameters())
        times = [median_seconds(network, size, args.repeat) for size in SIZES]
        print(f"{name:50s} {count:12,d} {count * 4 / 1e6:8.1f}"
              + "".join(f" {t:8.2f}" for t in times))


if __name__ == "__main__":
    main()
