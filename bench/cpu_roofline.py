"""How far any exact fp32 engine could take our generators on this CPU: the roofline.

For CycleGAN's `resnet_9blocks`, pix2pix's `unet_256` (width 64) and ESRGAN's RRDBNet x4,
built from the plugins' own classes with random weights, this counts each network's
FLOPs (`torch.utils.flop_counter`), times eager fp32 PyTorch on it (median of --repeats
after one warm-up), and compares the rate eager reaches with the best rate this CPU
reaches at all in fp32: the better of a large matrix product (MKL) and oneDNN's best
convolution, kernels no engine outruns. `ceiling` = that rate / eager's rate is the
largest speed-up any engine doing the same fp32 arithmetic could give.

`layer ceiling` is tighter: layer by layer, each convolution takes at least its FLOPs at
that rate, and, when the network's weights are larger than the last-level cache (so each
call must stream them from memory), at least the time to read its weights once at the
measured memory bandwidth; everything else (norms, activations, padding) is counted free,
as if an engine fused it away. The bf16 columns say what the CPU's bf16 units (AMX,
through oneDNN) give instead, and how far from fp32 they land.

    python bench/cpu_roofline.py                         # 256 and 512 (RRDBNet 64 and 128)
    python bench/cpu_roofline.py --nets resnet --sizes 256 --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
from cpu_inference import RRDB_SIZES, build
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def median_seconds(call: Callable[[], object], repeats: int) -> float:
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def practical_peak(dtype: torch.dtype, side: int, repeats: int) -> float:
    """The best FLOP/s of two kernels tuned to this CPU's limit: a side^3 matrix product
    (MKL), and a 3x3 convolution of 256 channels at 64x64 (oneDNN, in NHWC), the layer
    resnet_9blocks spends most of its time in."""
    a, b = (torch.randn(side, side).to(dtype) for _ in range(2))
    product = 2 * side**3 / median_seconds(lambda: a @ b, repeats)
    conv = torch.nn.Conv2d(256, 256, 3, padding=1).to(dtype, memory_format=torch.channels_last)
    images = torch.randn(1, 256, 64, 64).to(dtype).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        convolution = 2 * 256 * 256 * 9 * 64 * 64 / median_seconds(lambda: conv(images), repeats)
    return max(product, convolution)


def memory_bandwidth(repeats: int) -> float:
    """Bytes/s of reading 256 MiB, far more than any cache holds."""
    data = torch.ones(64 * 2**20)
    return data.numel() * data.element_size() / median_seconds(data.sum, repeats)


def last_level_cache() -> int:
    """Bytes of the last-level cache, from Linux's sysfs (0 where it does not say)."""
    units = {"K": 2**10, "M": 2**20, "G": 2**30}
    levels = {}
    for index in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*"):
        try:
            level = int((index / "level").read_text())
            size = (index / "size").read_text().strip()  # "107520K"
            levels[level] = int(size.rstrip("KMG")) * units.get(size[-1], 1)
        except (OSError, ValueError):
            continue
    return levels[max(levels)] if levels else 0


def flops_and_floor(net: nn.Module, images: torch.Tensor, peak: float,
                    bandwidth: float) -> tuple[int, float]:
    """(the network's FLOPs, the layer-by-layer floor in seconds: see the module text)."""
    with FlopCounterMode(display=False, depth=None) as counter, torch.no_grad():
        net(images)
    per_module = counter.get_flop_counts()
    layers = [(name, module) for name, module in net.named_modules()
              if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    weights = [sum(p.numel() * p.element_size() for p in module.parameters(recurse=False))
               for _, module in layers]
    streamed = sum(weights) > last_level_cache()
    floor = 0.0
    for (name, _), weight_bytes in zip(layers, weights, strict=True):
        work = sum(per_module.get(f"{type(net).__name__}.{name}", {}).values())
        floor += max(work / peak, weight_bytes / bandwidth if streamed else 0.0)
    return counter.get_total_flops(), floor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nets", default="resnet,unet,rrdbnet")
    parser.add_argument("--sizes", default="256,512")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--matmul-side", type=int, default=4096)
    args = parser.parse_args()
    threads = torch.get_num_threads()
    peak32 = practical_peak(torch.float32, args.matmul_side, args.repeats)
    peak16 = practical_peak(torch.bfloat16, args.matmul_side, args.repeats)
    bandwidth = memory_bandwidth(args.repeats)
    print(f"{threads} threads; practical peak (best of a {args.matmul_side}^3 matmul and a "
          "256-channel 3x3 convolution): "
          f"fp32 {peak32 / 1e9:.0f} GFLOP/s, bf16 {peak16 / 1e9:.0f} GFLOP/s; memory "
          f"{bandwidth / 1e9:.1f} GB/s; last-level cache {last_level_cache() / 2**20:.0f} MiB")
    print(f"{'net':<8} {'input':>5} {'GFLOP':>7} {'eager s':>8} {'GFLOP/s':>8} {'of peak':>8} "
          f"{'ceiling':>8} {'layer ceiling':>14} | {'bf16 s':>7} {'speed-up':>8} "
          f"{'max err':>8}")
    for name in args.nets.split(","):
        net = build(name)
        bf16 = build(name).to(torch.bfloat16, memory_format=torch.channels_last)
        for size in (int(s) for s in args.sizes.split(",")):
            side = RRDB_SIZES.get(size, size) if name == "rrdbnet" else size
            images = torch.rand(1, 3, side, side, generator=torch.Generator().manual_seed(2))
            images = images * 2 - 1
            work, floor = flops_and_floor(net, images, peak32, bandwidth)
            with torch.no_grad():
                eager = median_seconds(lambda net=net, images=images: net(images), args.repeats)
                expected = net(images)
                low = images.to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
                fast = median_seconds(lambda bf16=bf16, low=low: bf16(low), args.repeats)
                error = float((bf16(low).float() - expected).abs().max())
            rate = work / eager
            print(f"{name:<8} {side:>5} {work / 1e9:>7.1f} {eager:>8.3f} {rate / 1e9:>8.0f} "
                  f"{rate / peak32:>8.0%} {peak32 / rate:>7.2f}x {eager / floor:>13.2f}x | "
                  f"{fast:>7.3f} {eager / fast:>7.2f}x {error:>8.1e}")


if __name__ == "__main__":
    main()
