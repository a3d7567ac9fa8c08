"""superres zoo: parameters and CPU time of the published Real-ESRGAN-family networks.

    python bench/superres_zoo.py                 # all four, 256x256 -> 1024x1024, 2 threads
    python bench/superres_zoo.py --size 64       # a quicker look

One untiled x4 inference of a `--size` square (random pixels, fp32, channels_last as the
translator runs it), median of `--repeat` runs after a warm-up on a small input, for
RRDBNet (RealESRGAN_x4plus: 23 blocks; RealESRGAN_x4plus_anime_6B: 6 blocks) and
SRVGGNetCompact (realesr-general-x4v3: 32 convs; realesr-animevideov3: 16 convs), all in
one process so the ratios compare like with like on a busy machine. Weights are random:
speed does not depend on their values.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from translate_superres.model import RRDBNet
from translate_superres.srvgg import SRVGGNetCompact

NETWORKS = {  # published file -> our network
    "RealESRGAN_x4plus": lambda: RRDBNet(scale=4, features=64, blocks=23, growth=32),
    "RealESRGAN_x4plus_anime_6B": lambda: RRDBNet(scale=4, features=64, blocks=6, growth=32),
    "realesr-general-x4v3": lambda: SRVGGNetCompact(features=64, convs=32, scale=4),
    "realesr-animevideov3": lambda: SRVGGNetCompact(features=64, convs=16, scale=4),
}


def measure(net: torch.nn.Module, size: int, repeat: int) -> tuple[float, float]:
    """(median wall seconds, median process CPU seconds) of one inference."""
    image = torch.rand(1, 3, size, size).contiguous(memory_format=torch.channels_last)
    walls, cpus = [], []
    with torch.inference_mode():
        net(image[..., :32, :32])  # warm-up: oneDNN picks its kernels
        for _ in range(repeat):
            wall, cpu = time.perf_counter(), time.process_time()
            net(image)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=256, help="input side in pixels")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", nargs="*", choices=list(NETWORKS), default=list(NETWORKS))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"CPU, {torch.get_num_threads()} threads, torch {torch.__version__}; x4 inference "
          f"of {args.size}x{args.size}, fp32, median of {args.repeat}")
    rows = []
    for name in args.only:
        net = NETWORKS[name]().eval().to(memory_format=torch.channels_last)
        parameters = sum(p.numel() for p in net.parameters())
        wall, cpu = measure(net, args.size, args.repeat)
        rows.append((name, type(net).__name__, parameters, wall, cpu))
        print(f"  measured {name}: {wall:.2f} s", flush=True)
    base = rows[0]
    print(f"\n{'file':28} {'network':16} {'params':>11} {'wall s':>8} {'cpu s':>8} "
          f"{'params/' + base[0][:10]:>18} {'time/' + base[0][:10]:>16}")
    for name, network, parameters, wall, cpu in rows:
        print(f"{name:28} {network:16} {parameters:>11,} {wall:>8.2f} {cpu:>8.2f} "
              f"{parameters / base[2]:>18.3f} {wall / base[3]:>16.3f}")


if __name__ == "__main__":
    main()
