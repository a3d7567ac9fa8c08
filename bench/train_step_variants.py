"""Prototypes for faster training steps (bench-only): ours as is, channels_last, compiled
G and D, both; next to the reference implementation, interleaved in one process.

The variants change the trainer from outside, as the engine would if it adopted them:
`bf16` is the engine's own `mixed_precision=bf16` (autocast, which oneDNN runs on the
CPU's bf16 units); `channels_last` converts every network (parameters keep their
identity, so the optimisers are untouched) and the batches; `compile` replaces the networks the step
calls with `torch.compile`d ones (inductor; forward and backward), sharing parameters.
`--check-determinism` runs a variant twice from the same seed and compares the weights
after a few steps: a resumed run is exact only if the step is a pure function of its state.

    REFERENCE_PIX2PIX=/path/to/checkout python bench/train_step_variants.py pix2pix
    REFERENCE_CYCLEGAN=/path/to/checkout python bench/train_step_variants.py cyclegan \
        --blocks 9 --width 64 --size 256
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator

import torch

from translate import Networks
from translate.engine.trainer import Trainer
from translate.plugins import load_plugins, open_source

VARIANTS = ("ours", "channels_last", "compile", "compile+channels_last", "bf16",
            "bf16+channels_last")


def make_trainer(kind: str, args: argparse.Namespace, folder: str,
                 precision: str = "no") -> Trainer:
    cls = load_plugins().translator(kind)
    if kind == "pix2pix":
        overrides = {"arch": args.generator, "width": str(args.width),
                     "d_width": str(args.width), "image_size": str(args.size),
                     "load_size": str(args.size), "norm": "batch", "workers": "0"}
        source = open_source("photo2sketch")
    else:
        overrides = {"blocks": str(args.blocks), "width": str(args.width),
                     "image_size": str(args.size), "load_size": str(args.size), "workers": "0"}
        source = open_source("photo2painting")
    # The reference keeps no EMA of G; without ours both sides do the same work.
    overrides |= {"batch_size": str(args.batch), "steps": "1000000",
                  "mixed_precision": precision,
                  "ema_decay": "0"}
    torch.manual_seed(0)
    return Trainer(cls, cls.make_config("full", overrides), train_source=source.split("train"),
                   heldout_source=source.split("heldout"), out_dir=folder, device="cpu",
                   progress=False, command="bench")


def fixed_batches(trainer: Trainer, count: int, channels_last: bool) -> Iterator[dict]:
    """The same pre-loaded batches for every variant: data loading is not timed."""
    loaded = [batch for batch, _ in zip(trainer._batches(), range(count), strict=False)]
    if channels_last:
        loaded = [{key: value.contiguous(memory_format=torch.channels_last)
                   if value.ndim == 4 else value for key, value in batch.items()}
                  for batch in loaded]
    return itertools.cycle(loaded)


def apply_variant(trainer: Trainer, variant: str) -> None:
    if "channels_last" in variant:
        for module in trainer.raw.values():
            module.to(memory_format=torch.channels_last)
    if "compile" in variant:
        # One process: the wrapped modules are the raw ones (no DDP), so one compiled
        # module per network serves both the D and the G update.
        compiled = {name: torch.compile(module) for name, module in trainer.raw.items()}
        trainer.train_nets = Networks(compiled)
        trainer.generator_step_nets = Networks(compiled)


def our_step(kind: str, args: argparse.Namespace, variant: str,
             folder: str) -> tuple[Trainer, Callable[[], None]]:
    precision = "bf16" if "bf16" in variant else "no"
    trainer = make_trainer(kind, args, os.path.join(folder, variant), precision)
    apply_variant(trainer, variant)
    batches = fixed_batches(trainer, 8, "channels_last" in variant)

    def step() -> None:
        trainer._train_step(batches)
        trainer.step += 1

    return trainer, step


def reference_step(kind: str, args: argparse.Namespace, root: str,
                   folder: str) -> Callable[[], None]:
    import sys
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    generator = torch.Generator().manual_seed(0)
    if kind == "pix2pix":
        from pix2pix_step import reference_step as make
        batch = {side: torch.rand(args.batch, 3, args.size, args.size, generator=generator) * 2 - 1
                 for side in "AB"}
        return make(args, batch, root, os.path.join(folder, "ref"))
    from cyclegan_step import reference_model
    model = reference_model(root, args, torch.device("cpu"))
    batch = {side: torch.rand(args.batch, 3, args.size, args.size, generator=generator) * 2 - 1
             for side in "AB"}

    def step() -> None:
        model.set_input({"A": batch["A"], "B": batch["B"], "A_paths": [], "B_paths": []})
        model.optimize_parameters()

    return step


def timed(step: Callable[[], None], count: int) -> list[tuple[float, float]]:
    """(wall s, this process's CPU s) per step. On a shared machine CPU time with one
    thread measures the work steadily; wall time with two includes waiting for others."""
    times = []
    for _ in range(count):
        start, cpu = time.perf_counter(), time.process_time()
        step()
        times.append((time.perf_counter() - start, time.process_time() - cpu))
    return times


def weights_checksum(trainer: Trainer) -> float:
    return float(sum(p.detach().double().sum() for m in trainer.raw.values()
                     for p in m.parameters()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("pix2pix", "cyclegan"))
    parser.add_argument("--generator", choices=("unet_256", "unet_128"), default="unet_256")
    parser.add_argument("--blocks", type=int, default=9, choices=(6, 9))
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--size", type=int, default=None, help="default: the generator's")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--norm", default="batch")  # pix2pix_step.reference_step reads it
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=4, help="timed steps per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=2, help="untimed (compiles happen here)")
    parser.add_argument("--variants", type=lambda s: s.split(","), default=list(VARIANTS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--check-determinism", action="store_true")
    args = parser.parse_args()
    args.size = args.size or (128 if args.kind == "pix2pix" and args.generator == "unet_128"
                              else 256 if args.kind == "pix2pix" else 64)
    torch.set_num_threads(args.threads)
    root = os.environ.get("REFERENCE_PIX2PIX" if args.kind == "pix2pix" else
                          "REFERENCE_CYCLEGAN")
    with tempfile.TemporaryDirectory() as folder:
        steps: dict[str, Callable[[], None]] = {}
        warm: dict[str, float] = {}
        trainers = {}
        for variant in args.variants:
            trainers[variant], steps[variant] = our_step(args.kind, args, variant, folder)
        if root:
            torch.manual_seed(0)
            steps["reference"] = reference_step(args.kind, args, root, folder)
        for name, step in steps.items():
            start = time.perf_counter()
            timed(step, args.warmup)
            warm[name] = time.perf_counter() - start
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in steps}
        for _ in range(args.rounds):
            for name, step in steps.items():
                times[name] += timed(step, args.steps)
        determinism = {}
        if args.check_determinism:
            for variant in args.variants:
                sums = []
                for attempt in range(2):
                    trainer, step = our_step(args.kind, args, variant,
                                             os.path.join(folder, f"det{attempt}"))
                    torch.manual_seed(1)
                    timed(step, 3)
                    sums.append(weights_checksum(trainer))
                determinism[variant] = sums[0] == sums[1]
    label = (f"{args.kind} " + (f"{args.generator} ngf=ndf={args.width}" if args.kind == "pix2pix"
                                else f"resnet_{args.blocks}blocks ngf={args.width}")
             + f", {args.size}px, batch {args.batch}, cpu, {args.threads} threads")
    print(f"{label}: median of {args.rounds}x{args.steps} steps after {args.warmup} warm-up")
    for column, label in ((0, "wall"), (1, "CPU")):
        medians = {name: statistics.median(t[column] for t in values)
                   for name, values in times.items()}
        base, ours = medians.get("reference"), medians.get("ours")
        print(f" {label} time:")
        for name, median in medians.items():
            ratio = f"  {median / base:.3f}x reference" if base else ""
            gain = (f"  {ours / median:.2f}x faster than ours"
                    if ours and name not in ("ours", "reference") else "")
            extra = (f"  deterministic={determinism[name]}"
                     if name in determinism and column == 0 else "")
            warmed = f" (warm-up {warm[name]:.1f} s wall)" if column == 0 else ""
            print(f"  {name:<22} {median:8.3f} s/step{warmed}{ratio}{gain}{extra}")


if __name__ == "__main__":
    main()
