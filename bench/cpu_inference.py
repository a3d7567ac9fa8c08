"""CPU inference engines side by side, for our three big generators: time, speed-up, exactness.

For ESRGAN's RRDBNet x4 (64 features, 23 blocks), CycleGAN's `resnet_9blocks` (width 64)
and pix2pix's `unet_256` (width 64), each built from the plugins' own classes with random
weights, every engine of `translate.inference` runs in this one process, in interleaved
rounds (so load from other processes hits all alike): the median of `--repeats` calls after
one warm-up call, the speed-up over eager fp32 (ratio of medians), and the largest
|output - eager output| (within 1e-4 for the exact engines; the bf16 ones, run only where
the CPU has bf16 units, are checked within 0.1). Then the one-off costs: building each
engine from a cold cache (export or compile, plus the eager check on the example), its
first call at each size, and the same build in a second process that finds the cache.

    python bench/cpu_inference.py                       # all nets, 256 and 512 (RRDBNet 64, 128)
    python bench/cpu_inference.py --nets unet --sizes 256 --backends eager,onnxruntime
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from translate.inference.backends import EVENTS, compile_for_inference, usable

ENGINES = ("eager", "channels_last", "compile", "onnxruntime", "openvino", "bf16",
           "openvino_bf16")
# RRDBNet's output is 4x its input: an input of 256 means a 1024x1024 output, about 100 s
# per eager call on 2 cores; its default sizes are a quarter of the side.
RRDB_SIZES = {256: 64, 512: 128}


def build(name: str) -> nn.Module:
    torch.manual_seed(0)
    if name == "rrdbnet":
        from translate_superres.model import RRDBNet
        return RRDBNet(scale=4, features=64, blocks=23, growth=32).eval()
    if name == "resnet":
        from translate_cyclegan.model import ResnetGenerator
        return ResnetGenerator(width=64, blocks=9, norm="instance").eval()
    if name == "unet":
        from translate_pix2pix.model import UNetGenerator
        return UNetGenerator(depth=8, width=64, norm="batch").eval()
    raise SystemExit(f"unknown net {name}")


def example_for(name: str) -> torch.Tensor:
    """The small input each engine is built and checked on (unet_256 needs 256)."""
    side = {"rrdbnet": 32, "resnet": 64, "unet": 256}[name]
    return torch.rand(1, 3, side, side, generator=torch.Generator().manual_seed(1)) * 2 - 1


def build_engines(name: str, backends: list[str], cache: Path) -> tuple[dict, dict]:
    """{engine: runner}, {engine: {build_s, exports, compiles}} for one net."""
    net = build(name)
    runners, costs = {}, {}
    for backend in backends:
        before = dict(EVENTS)
        start = time.perf_counter()
        runners[backend] = compile_for_inference(net, device="cpu", backend=backend,
                                                 example=example_for(name), cache_dir=cache)
        costs[backend] = {"build_s": time.perf_counter() - start,
                          **{event: EVENTS[event] - before.get(event, 0)
                             for event in ("export", "compile", "check")}}
    return runners, costs


def side_by_side(name: str, runners: dict, size: int, repeats: int) -> list[dict]:
    images = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(2)) * 2 - 1
    first, outputs = {}, {}
    for backend, runner in runners.items():
        start = time.perf_counter()
        outputs[backend] = runner(images)
        first[backend] = time.perf_counter() - start
    times: dict[str, list[float]] = {backend: [] for backend in runners}
    for _ in range(repeats):
        for backend, runner in runners.items():
            start = time.perf_counter()
            runner(images)
            times[backend].append(time.perf_counter() - start)
    eager = statistics.median(times["eager"])
    rows = []
    for backend in runners:
        median = statistics.median(times[backend])
        rows.append({"net": name, "size": size, "backend": backend, "median_s": median,
                     "speedup": eager / median, "first_call_s": first[backend],
                     "max_abs_diff": float((outputs[backend] - outputs["eager"]).abs().max()),
                     "times": times[backend]})
    return rows


def second_process(args: argparse.Namespace, cache: Path) -> dict:
    """Build costs in a fresh process that finds this one's cache (how a restart fares)."""
    command = [sys.executable, __file__, "--builds-only", "--cache", str(cache),
               "--nets", ",".join(args.nets), "--backends", ",".join(args.backends),
               "--threads", str(args.threads)]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    report["process_s"] = time.perf_counter() - start
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nets", type=lambda s: s.split(","),
                        default=["rrdbnet", "resnet", "unet"])
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")],
                        default=[256, 512])
    parser.add_argument("--rrdb-sizes", type=lambda s: [int(x) for x in s.split(",")],
                        default=None, help="RRDBNet input sides (default: a quarter of --sizes)")
    parser.add_argument("--backends", type=lambda s: s.split(","), default=list(ENGINES))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=None, help="default: a fresh temp folder")
    parser.add_argument("--builds-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-second-process", dest="second_process", action="store_false",
                        help="skip timing the builds again in a fresh process")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    args.backends = [b for b in args.backends if usable(b)]
    if "eager" not in args.backends:
        args.backends.insert(0, "eager")

    if args.builds_only:
        report = {}
        for name in args.nets:
            start = time.perf_counter()
            runners, costs = build_engines(name, args.backends, args.cache)
            example = example_for(name)
            for backend, runner in runners.items():
                start = time.perf_counter()
                runner(example)
                costs[backend]["first_call_example_s"] = time.perf_counter() - start
            report[name] = costs
        print(json.dumps(report))
        return

    with tempfile.TemporaryDirectory() as scratch:
        cache = args.cache or Path(scratch)
        rows, costs = [], {}
        for name in args.nets:
            runners, costs[name] = build_engines(name, args.backends, cache)
            sizes = (args.rrdb_sizes or [RRDB_SIZES.get(s, s // 4) for s in args.sizes]) \
                if name == "rrdbnet" else args.sizes
            for size in sizes:
                rows += side_by_side(name, runners, size, args.repeats)
                # Each row as soon as it is known: a long run stopped early keeps its figures.
                for row in rows[-len(runners):]:
                    print("row " + json.dumps({k: v for k, v in row.items() if k != "times"}),
                          file=sys.stderr, flush=True)
            print("costs " + json.dumps({name: costs[name]}), file=sys.stderr, flush=True)
            del runners
        again = second_process(args, cache) if args.second_process else {"process_s": 0.0}

    print(f"CPU inference, {args.threads} threads, median of {args.repeats} after one warm-up, "
          f"torch {torch.__version__}")
    print(f"{'net':<8} {'input':>6} {'backend':<14} {'median s':>9} {'speed-up':>9} "
          f"{'max |diff|':>11} {'first call s':>13}")
    for row in rows:
        print(f"{row['net']:<8} {row['size']:>6} {row['backend']:<14} {row['median_s']:>9.3f} "
              f"{row['speedup']:>8.2f}x {row['max_abs_diff']:>11.2e} {row['first_call_s']:>13.2f}")
    print("\none-off costs: build = export/compile + eager check on the example "
          "(cold cache); second process = same build finding the cache")
    print(f"{'net':<8} {'backend':<14} {'build s':>8} {'exports':>8} {'2nd build s':>12} "
          f"{'2nd exports':>12} {'2nd checks':>11} {'2nd 1st call s':>15}")
    for name in args.nets:
        for backend, cost in costs[name].items():
            later = again.get(name, {}).get(backend, {})
            print(f"{name:<8} {backend:<14} {cost['build_s']:>8.2f} {cost['export']:>8} "
                  f"{later.get('build_s', float('nan')):>12.2f} {later.get('export', '-'):>12} "
                  f"{later.get('check', '-'):>11} "
                  f"{later.get('first_call_example_s', float('nan')):>15.2f}")
    print(f"second process, whole: {again['process_s']:.1f} s (imports included)")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "costs": costs, "second": again},
                                        indent=1))


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    main()
