"""The GPU suite: one command, one table, whenever a GPU is lent (at most 8 minutes on one).

    python bench/gpu_suite.py              # on CUDA
    python bench/gpu_suite.py --dry-run    # every row on the CPU at tiny sizes (CI runs it)

Rows:
- training images/s and peak memory (torch.cuda.max_memory_allocated, reset after warm-up)
  of the shared engine's real step (`Trainer._train_step`) for pix2pix `unet_256` at batch
  16 and CycleGAN `resnet_9blocks` at batch 4 (both 256 px, their `full` presets otherwise),
  and the faces `full` preset, each in bf16 autocast and in fp32, with networks and batches
  in channels_last (bench/train_step_variants.py's variant). Batches are pre-loaded, so the
  data pipeline (bench/data_pipeline.py) is not part of these figures;
- RRDBNet x4 (64 features, 23 blocks) on one 512x512 input, untiled, in ms;
- a 2048x2048 photo upscaled by the superres translator itself (`upscale`, which runs
  translate.inference.anysize.run_any_size) with its own tile, overlap and precision
  defaults, in s.

MFU: a training step's FLOPs are 3x its forward passes' (the D and G losses' forwards,
counted by torch.utils.flop_counter.FlopCounterMode), inference rows' their forward's;
over the measured time, against the device's dense bf16 peak from PEAK_BF16 ("unknown"
for any other device). fp32 rows run with torch's defaults, under which cuDNN
convolutions may use TF32. A row that fails prints its error and the suite goes on; the
exit status is then 1.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from superres_speed import FULL, inference, timed
from timing import engine_steps
from torch.utils.flop_counter import FlopCounterMode
from train_step_variants import apply_variant, fixed_batches

from translate.data.sources import lfw_source
from translate.engine.trainer import Trainer
from translate.inference.pictures import inference_dtype
from translate.plugins import load_plugins, open_source
from translate_superres.model import RRDBNet
from translate_superres.translator import SuperResTranslator

# Dense bf16 tensor-core peaks (FLOP/s), matched against torch.cuda.get_device_name().
# The PCIe and NVL H100s are slower parts, so only the SXM name ("HBM3") matches.
PEAK_BF16 = (("H200", 989e12), ("H100 80GB HBM3", 989e12), ("H100 SXM", 989e12),
             ("A100", 312e12))
PRECISIONS = (("bf16", "bf16"), ("fp32", "no"))  # (shown, the config's mixed_precision)
PRELOADED = 4  # distinct batches cycled through each training row


@dataclass
class Row:
    name: str
    size: str  # what ran: shape, batch, width (the dry run's are tiny)
    precision: str
    value: float | None = None
    unit: str = ""
    peak_mib: float | None = None
    flops: float | None = None  # per measured unit of work (a step, an image)
    seconds: float | None = None  # per that unit
    error: str = ""


@dataclass(frozen=True)
class Sizes:
    pix2pix: dict[str, str]
    cyclegan: dict[str, str]
    faces: dict[str, str]
    rrdb: dict[str, int]
    rrdb_side: int
    tiled_side: int
    warmup: int
    steps: int
    repeat: int


GPU_SIZES = Sizes(
    pix2pix={"arch": "unet_256", "batch_size": "16", "image_size": "256", "load_size": "286"},
    cyclegan={"arch": "resnet", "blocks": "9", "batch_size": "4", "image_size": "256",
              "load_size": "286"},
    faces={},
    rrdb=FULL, rrdb_side=512, tiled_side=2048, warmup=10, steps=30, repeat=5)
# unet_256 needs 256 px, so its width and batch shrink instead: every row's code runs as on
# the GPU. bf16 autocast is slow on CPUs without native bf16 (instance norm most of all).
DRY_SIZES = Sizes(
    pix2pix={"arch": "unet_256", "batch_size": "1", "image_size": "256", "load_size": "256",
             "width": "4", "d_width": "4"},
    cyclegan={"arch": "resnet", "blocks": "9", "batch_size": "1", "image_size": "32",
              "load_size": "32", "width": "4", "d_width": "4"},
    faces={"image_size": "32", "width": "4", "latent_dim": "8", "batch_size": "4"},
    rrdb={"features": 4, "blocks": 1, "growth": 4}, rrdb_side=32, tiled_side=256,
    warmup=0, steps=1, repeat=1)


def peak_flops(device: torch.device) -> tuple[str, float | None]:
    if device.type != "cuda":
        return f"{device.type}", None
    name = torch.cuda.get_device_name(device)
    return name, next((peak for key, peak in PEAK_BF16 if key in name), None)


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)


def peak_mib(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None


class _GlobalOnly:
    """FlopCounterMode's per-module tracker, reduced to the total it always keeps.

    The real tracker hooks every module's backward, which autograd.grad (faces' R1
    penalty) refuses ("A leaf node was passed to _will_engine_execute_node"); the suite
    needs only the total.
    """

    parents = ("Global",)

    def __enter__(self) -> _GlobalOnly:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def counted(fn: Callable[[], object]) -> int:
    counter = FlopCounterMode(display=False)
    counter.mod_tracker = _GlobalOnly()
    with counter:
        fn()
    return counter.get_total_flops()


def training_flops(trainer: Trainer, batch: dict[str, torch.Tensor]) -> float:
    """3x the forward FLOPs of one step: d_steps x (G's fakes + D's loss), then G's loss."""
    translator, config = trainer.translator, trainer.config
    generated: dict[str, torch.Tensor] = {}

    def discriminator_side() -> None:
        with trainer._autocast():
            generated.update(translator.generate(trainer.train_nets, batch))
            if trainer.discriminator_names:
                detached = {key: value.detach() for key, value in generated.items()}
                translator.discriminator_loss(trainer.train_nets, batch, detached)

    def generator_side() -> None:
        with trainer._autocast():
            translator.generator_loss(trainer.generator_step_nets, batch, generated)

    forward = config.d_steps * counted(discriminator_side) + counted(generator_side)
    return 3.0 * forward


def train_row(name: str, kind: str, overrides: dict[str, str], precision: tuple[str, str],
              sizes: Sizes, device: str) -> Row:
    shown, mixed = precision
    cls = load_plugins().translator(kind)
    config = cls.make_config("full", overrides | {
        "mixed_precision": mixed, "workers": "0", "steps": "1000000",
        "evaluate_at_end": "false"})
    source = lfw_source() if kind == "faces" else open_source(
        "photo2sketch" if kind == "pix2pix" else "photo2painting")
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as out:
        trainer = Trainer(cls, config, train_source=source.split("train"),
                          heldout_source=source.split("heldout"), out_dir=out, device=device,
                          progress=False, command="bench")
        where = trainer.accelerator.device
        apply_variant(trainer, "channels_last")
        batches = fixed_batches(trainer, PRELOADED, channels_last=True)
        engine_steps(trainer, batches, sizes.warmup)
        reset_peak(where)
        seconds = statistics.median(engine_steps(trainer, batches, sizes.steps))
        memory = peak_mib(where)
        flops = training_flops(trainer, next(batches))
    per_step = config.batch_size * config.d_steps
    size = f"{config.image_size}px b{config.batch_size} w{config.width}"
    return Row(name, size, shown, per_step / seconds, "images/s", memory, flops, seconds)


def rrdb_row(precision: str, sizes: Sizes, device: torch.device) -> Row:
    dtype = torch.bfloat16 if precision == "bf16" else None
    torch.manual_seed(0)
    net = RRDBNet(scale=4, **sizes.rrdb).to(device, memory_format=torch.channels_last).eval()
    side = sizes.rrdb_side
    reset_peak(device)
    seconds = inference(net, side, device=device.type, dtype=dtype, repeat=sizes.repeat)
    memory = peak_mib(device)
    image = torch.rand(1, 3, side, side, device=device).contiguous(
        memory_format=torch.channels_last)
    autocast = (torch.autocast(device.type, dtype=dtype) if dtype is not None
                else contextlib.nullcontext())
    with torch.no_grad(), autocast:
        flops = counted(lambda: net(image))
    size = f"{side}px f{sizes.rrdb['features']} b{sizes.rrdb['blocks']}"
    return Row("rrdbnet x4 512", size, precision, seconds * 1e3, "ms", memory, flops, seconds)


def tiled_row(sizes: Sizes, device: torch.device) -> Row:
    defaults = {param.name: param.default for param in SuperResTranslator.inputs}
    knobs = {key: defaults[key] for key in ("tile", "overlap", "precision")}
    torch.manual_seed(0)
    config = SuperResTranslator.make_config("full", {k: str(v) for k, v in sizes.rrdb.items()})
    translator = SuperResTranslator(config).to(device).eval()
    side = sizes.tiled_side
    pixels = np.random.default_rng(0).integers(0, 256, (side, side, 3), dtype=np.uint8)
    photo = Image.fromarray(pixels)
    reset_peak(device)
    seconds = timed(lambda: translator.upscale(photo, **knobs), repeat=max(1, sizes.repeat // 2),
                    sync=device.type == "cuda")
    memory = peak_mib(device)
    flops = counted(lambda: translator.upscale(photo, **knobs))
    size = f"{side}px tile {knobs['tile']}/{knobs['overlap']} f{config.features}"
    dtype = inference_dtype(str(knobs["precision"]), device)
    shown = {None: "fp32", torch.float16: "fp16", torch.bfloat16: "bf16"}.get(dtype, str(dtype))
    return Row("superres tiled 2048", size, f"{knobs['precision']}={shown}", seconds, "s",
               memory, flops, seconds)


def suite(sizes: Sizes, device: torch.device) -> list[tuple[str, str, Callable[[], Row]]]:
    """(row name, precision, how to measure it), in the order the table prints them."""
    jobs: list[tuple[str, str, Callable[[], Row]]] = []
    for name, kind, overrides in (("pix2pix unet_256 b16", "pix2pix", sizes.pix2pix),
                                  ("cyclegan resnet_9blocks b4", "cyclegan", sizes.cyclegan),
                                  ("faces full", "faces", sizes.faces)):
        for precision in PRECISIONS:
            jobs.append((name, precision[0],
                         lambda n=name, k=kind, o=overrides, p=precision:
                         train_row(n, k, o, p, sizes, str(device))))
    for precision in ("bf16", "fp32"):
        jobs.append(("rrdbnet x4 512", precision, lambda p=precision: rrdb_row(p, sizes, device)))
    jobs.append(("superres tiled 2048", "auto", lambda: tiled_row(sizes, device)))
    return jobs


COLUMNS = ("row", "ran", "precision", "result", "unit", "peak MiB", "TFLOP/s", "MFU")


def cells(row: Row, peak: float | None) -> list[str]:
    if row.error:
        return [row.name, row.size, row.precision, row.error, "", "", "", ""]
    achieved = row.flops / row.seconds if row.flops and row.seconds else None
    return [row.name, row.size, row.precision, f"{row.value:.4g}", row.unit,
            "n/a" if row.peak_mib is None else f"{row.peak_mib:.0f}",
            "n/a" if achieved is None else f"{achieved / 1e12:.4g}",
            "unknown" if peak is None or achieved is None else f"{achieved / peak:.1%}"]


def print_table(rows: list[Row], peak: float | None) -> None:
    table = [list(COLUMNS)] + [cells(row, peak) for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    for index, line in enumerate(table):
        print(" | ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
              .rstrip())
        if index == 0:
            print("-+-".join("-" * width for width in widths))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true",
                        help="every row on the CPU at tiny sizes, to prove the script works")
    parser.add_argument("--steps", type=int, help="timed training steps per row")
    parser.add_argument("--warmup", type=int, help="untimed training steps per row first")
    parser.add_argument("--only", default="", help="run only rows whose name contains this")
    args = parser.parse_args()
    if not args.dry_run and not torch.cuda.is_available():
        print("gpu_suite: no CUDA device here; --dry-run checks the script on the CPU",
              file=sys.stderr)
        return 2
    sizes = DRY_SIZES if args.dry_run else GPU_SIZES
    sizes = Sizes(**{**sizes.__dict__, "steps": args.steps or sizes.steps,
                     "warmup": args.warmup if args.warmup is not None else sizes.warmup})
    device = torch.device("cpu" if args.dry_run else "cuda")
    device_name, peak = peak_flops(device)
    started = time.perf_counter()
    rows = []
    for name, precision, measure in suite(sizes, device):
        if args.only not in name:
            continue
        began = time.perf_counter()
        try:
            rows.append(measure())
        except Exception as error:  # one failing row must not cost the others' GPU time
            traceback.print_exc()
            rows.append(Row(name, "", precision,
                            error=f"error: {type(error).__name__}: {error}".splitlines()[0]))
        print(f"gpu_suite: {name} {precision}: {time.perf_counter() - began:.1f} s",
              file=sys.stderr, flush=True)
        if device.type == "cuda":
            torch.cuda.empty_cache()
    peak_text = "unknown" if peak is None else f"{peak / 1e12:.0f} TFLOP/s"
    print(f"gan-translate GPU suite{' (dry run, tiny sizes)' if args.dry_run else ''}: "
          f"{device_name}, torch {torch.__version__}, bf16 peak {peak_text}; training rows "
          f"median of {sizes.steps} steps after {sizes.warmup}, channels_last")
    print_table(rows, peak)
    print(f"total {time.perf_counter() - started:.0f} s")
    return 1 if any(row.error for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
