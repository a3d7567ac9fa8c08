"""superres speed: inference ms/image (untiled and tiled) and training s/iter.

    python bench/superres_speed.py            # CPU figures (starter and full RRDBNet)
    python bench/superres_speed.py --gpu      # also the GPU figures of issue 6, when CUDA is here

CPU: the starter preset's network x4 on a 128x128 input, untiled and tiled (192/24, the
CLI default, and 64/24), the full ESRGAN network (64 features, 23 blocks) on a 64x64
input, and a training step at the starter preset's patch and batch (L1). The starter's
step and untiled inference are also timed side by side in the default (NCHW) memory
layout, against the channels_last layout the translator uses.
GPU: the full network x4 on 512x512 in fp32, bf16 and fp16 with peak memory, tiled on
2048x2048, and a training step at 128x128 HR patches, batch 16.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from collections.abc import Callable
from functools import partial

import numpy as np
import torch

from translate.data.tensors import tensor_to_uint8
from translate.inference.anysize import run_any_size
from translate_superres.model import RRDBNet
from translate_superres.translator import SuperResTranslator

# The networks the presets train, read from them so the figures follow the presets.
STARTER_CONFIG = SuperResTranslator.make_config("starter")
FULL = {"features": 64, "blocks": 23, "growth": 32}


def upscale_tiled(net: RRDBNet, image: torch.Tensor, *, scale: int, tile: int, overlap: int,
                  device: str = "cpu", dtype: torch.dtype | None = None) -> np.ndarray:
    """superres's inference path: (1, 3, H, W) in [0, 1] -> uint8 pixels, tiled."""
    return run_any_size(net, image, scale=scale, tile=tile, overlap=overlap,
                        multiple=net.multiple, device=device, dtype=dtype,
                        postprocess=partial(tensor_to_uint8, unit=True))[0]


def timed(fn: Callable[[], object], *, repeat: int, sync: bool = False) -> float:
    """Median seconds of `repeat` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeat):
        if sync:
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if sync:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def inference(net: RRDBNet, size: int, *, tile: int = 0, overlap: int = 24, device: str = "cpu",
              dtype: torch.dtype | None = None, repeat: int = 3) -> float:
    image = torch.rand(1, 3, size, size)
    return timed(lambda: upscale_tiled(net, image, scale=4, tile=tile, overlap=overlap,
                                       device=device, dtype=dtype),
                 repeat=repeat, sync=device == "cuda")


def train_step(net: RRDBNet, *, patch: int, batch: int, device: str = "cpu",
               repeat: int = 3) -> float:
    # fused, as the engine runs it (translate.engine.trainer)
    optimizer = torch.optim.Adam(net.parameters(), 2e-4, betas=(0.9, 0.99), fused=True)
    lr = torch.rand(batch, 3, patch, patch, device=device)
    hr = torch.rand(batch, 3, patch * 4, patch * 4, device=device)

    def step() -> None:
        loss = (net(lr) - hr).abs().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return timed(step, repeat=repeat, sync=device == "cuda")


def cpu() -> None:
    torch.manual_seed(0)
    print(f"CPU, {torch.get_num_threads()} threads, torch {torch.__version__}; starter "
          f"{STARTER_CONFIG.features} features, {STARTER_CONFIG.blocks} blocks")
    starter = SuperResTranslator(STARTER_CONFIG).generators["G"].eval()  # as the product runs it
    nchw = copy.deepcopy(starter).to(memory_format=torch.contiguous_format)
    with torch.no_grad():
        ours, plain = inference(starter, 128, repeat=5), inference(nchw, 128, repeat=5)
        print(f"starter x4 128x128 untiled        {ours * 1e3:9.0f} ms/image "
              f"(NCHW layout {plain * 1e3:.0f} ms: channels_last/NCHW {ours / plain:.3f})")
        print(f"starter x4 128x128 tiled 64/24    "
              f"{inference(starter, 128, tile=64) * 1e3:9.0f} ms/image")
        print(f"starter x4 512x512 tiled 192/24   "
              f"{inference(starter, 512, tile=192, repeat=1) * 1e3:9.0f} ms/image")
        whole = upscale_tiled(starter, image := torch.rand(1, 3, 200, 200), scale=4, tile=0,
                              overlap=0)
        tiled = upscale_tiled(starter, image, scale=4, tile=64, overlap=24)
        print(f"tiled vs untiled, 200x200 (untrained net), max |diff| "
              f"{abs(whole.astype(int) - tiled.astype(int)).max()}/255")
        full = RRDBNet(scale=4, **FULL).to(memory_format=torch.channels_last).eval()
        print(f"full x4 64x64 untiled             "
              f"{inference(full, 64, repeat=1) * 1e3:9.0f} ms/image")
    patch, batch = STARTER_CONFIG.patch, STARTER_CONFIG.batch_size
    ours = train_step(starter.train(), patch=patch, batch=batch, repeat=10)
    plain = train_step(nchw.train(), patch=patch, batch=batch, repeat=10)
    print(f"starter train step, patch {patch}, batch {batch}: {ours:.3f} s/iter "
          f"(NCHW layout {plain:.3f}: channels_last/NCHW {ours / plain:.3f})")


def gpu() -> None:
    if not torch.cuda.is_available():
        print("GPU: no CUDA device here; GPU figures not measured")
        return
    print(f"GPU: {torch.cuda.get_device_name()}")
    full = RRDBNet(scale=4, **FULL).to("cuda", memory_format=torch.channels_last).eval()
    with torch.no_grad():
        for name, dtype in (("fp32", None), ("bf16", torch.bfloat16), ("fp16", torch.float16)):
            torch.cuda.reset_peak_memory_stats()
            seconds = inference(full, 512, device="cuda", dtype=dtype, repeat=5)
            peak = torch.cuda.max_memory_allocated() / 2**30
            print(f"full x4 512x512 {name}: {seconds * 1e3:8.1f} ms/image, peak {peak:.2f} GiB")
        for tile in (512, 256):
            torch.cuda.reset_peak_memory_stats()
            seconds = inference(full, 2048, tile=tile, device="cuda", dtype=torch.float16,
                                repeat=1)
            peak = torch.cuda.max_memory_allocated() / 2**30
            print(f"full x4 2048x2048 fp16 tiled {tile}/24: {seconds * 1e3:8.0f} ms/image, "
                  f"peak {peak:.2f} GiB")
    full.train()
    print(f"full train step, HR 128x128, batch 16: "
          f"{train_step(full, patch=32, batch=16, device='cuda'):.3f} s/iter")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpu", action="store_true", help="also measure on CUDA")
    args = parser.parse_args()
    cpu()
    if args.gpu:
        gpu()
