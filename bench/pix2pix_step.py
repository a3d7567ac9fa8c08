"""Seconds per pix2pix training step: ours, and the reference implementation's side by side.

Ours is one step of the shared engine (`Trainer._train_step`: D update, G update with D
frozen, LR schedules, gradient norms, the non-finite guard) on a fixed batch. When
REFERENCE_PIX2PIX points at a checkout of junyanz/pytorch-CycleGAN-and-pix2pix, the
same architecture and batch are timed through the reference's own `Pix2PixModel`
(`set_input` + `optimize_parameters`), in the same process, alternating in rounds so
that load from other processes hits both alike. The reference code is only imported
from that path, never copied here.

    python bench/pix2pix_step.py [--generator unet_256] [--width 64] [--batch 1]
    REFERENCE_PIX2PIX=/path/to/pytorch-CycleGAN-and-pix2pix python bench/pix2pix_step.py
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import statistics
import sys
import tempfile
import time
from argparse import Namespace
from collections.abc import Callable

import torch

from translate.engine.trainer import Trainer
from translate.plugins import load_plugins, open_source


def our_step(args: argparse.Namespace, batch: dict[str, torch.Tensor],
             folder: str) -> Callable[[], None]:
    cls = load_plugins().translator("pix2pix")
    config = cls.make_config("full", {
        "arch": args.generator, "width": str(args.width), "d_width": str(args.width),
        "norm": args.norm, "batch_size": str(args.batch), "image_size": str(args.size),
        "load_size": str(args.size), "steps": "1000000", "mixed_precision": args.precision,
        # The reference keeps no EMA of G; without ours both sides do the same work.
        "ema_decay": "0"})
    source = open_source("photo2sketch")
    trainer = Trainer(cls, config, train_source=source.split("train"),
                      heldout_source=source.split("heldout"), out_dir=folder, device=args.device,
                      progress=False, command="bench")
    device = trainer.accelerator.device
    fixed = {"input": batch["A"].to(device), "image": batch["B"].to(device)}

    def batches():
        while True:
            yield fixed

    stream = batches()

    def step() -> None:
        trainer._train_step(stream)
        trainer.step += 1

    return step


def reference_step(args: argparse.Namespace, batch: dict[str, torch.Tensor],
                   root: str, folder: str) -> Callable[[], None]:
    sys.path.insert(0, root)
    module = importlib.import_module("models.pix2pix_model")
    gpu_ids = [0] if args.device == "cuda" else []
    # Option names differ between reference versions; each version reads the ones it knows.
    opt = Namespace(
        isTrain=True, gpu_ids=gpu_ids, checkpoints_dir=folder, name="bench", verbose=False,
        input_nc=3, output_nc=3, ngf=args.width, ndf=args.width, netG=args.generator,
        which_model_netG=args.generator, netD="basic", which_model_netD="basic", n_layers_D=3,
        norm=args.norm, no_dropout=False, init_type="normal", init_gain=0.02, pool_size=0,
        no_lsgan=True, gan_mode="vanilla", lr=2e-4, beta1=0.5, lambda_L1=100.0,
        direction="AtoB", which_direction="AtoB", resize_or_crop="resize_and_crop",
        preprocess="resize_and_crop", continue_train=False, epoch="latest", lr_policy="linear",
        model="pix2pix")
    cls = module.Pix2PixModel
    if "opt" in inspect.signature(cls.__init__).parameters:
        model = cls(opt)
    else:
        model = cls()
        model.initialize(opt)
    inputs = {"A": batch["A"], "B": batch["B"], "A_paths": [""] * args.batch,
              "B_paths": [""] * args.batch}

    def step() -> None:
        model.set_input(inputs)
        model.optimize_parameters()

    return step


def timed(step: Callable[[], None], count: int, device: str) -> list[tuple[float, float]]:
    """(wall seconds, this process's CPU seconds) per step.

    On a shared CPU, wall time includes waiting for other processes; CPU time with one
    thread does not, so it compares the work of two implementations more steadily.
    """
    times = []
    for _ in range(count):
        start, cpu = time.perf_counter(), time.process_time()
        step()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append((time.perf_counter() - start, time.process_time() - cpu))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generator", choices=("unet_256", "unet_128"), default="unet_256")
    parser.add_argument("--width", type=int, default=64, help="ngf = ndf")
    parser.add_argument("--norm", choices=("batch", "instance"), default="batch")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--precision", choices=("no", "bf16"), default="no",
                        help="ours only: bf16 autocast (on CPUs with AMX or AVX-512 BF16, "
                             "oneDNN runs it natively); the reference always runs fp32")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--device", choices=("cpu", "cuda"),
                        default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    args.size = 256 if args.generator == "unet_256" else 128

    generator = torch.Generator().manual_seed(0)
    batch = {side: torch.rand(args.batch, 3, args.size, args.size, generator=generator) * 2 - 1
             for side in "AB"}
    root = os.environ.get("REFERENCE_PIX2PIX")
    with tempfile.TemporaryDirectory() as folder:
        torch.manual_seed(0)
        steps = {"ours": our_step(args, batch, os.path.join(folder, "ours"))}
        if root:
            torch.manual_seed(0)
            steps["reference"] = reference_step(args, batch, root, os.path.join(folder, "ref"))
        for step in steps.values():
            timed(step, args.warmup, args.device)
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in steps}
        for _ in range(args.rounds):
            for name, step in steps.items():
                times[name] += timed(step, args.steps, args.device)
    print(f"pix2pix {args.generator} ngf=ndf={args.width} norm={args.norm} batch={args.batch} "
          f"{args.size}x{args.size} on {args.device}, ours in {args.precision} "
          f"({torch.get_num_threads()} threads), "
          f"{args.rounds}x{args.steps} steps each")
    medians = {name: statistics.median(w for w, _ in t) for name, t in times.items()}
    cpu = {name: statistics.median(c for _, c in t) for name, t in times.items()}
    for name, median in medians.items():
        mean = statistics.mean(w for w, _ in times[name])
        print(f"  {name:<10} {median:.4f} s/iter (median wall; mean {mean:.4f}), "
              f"{cpu[name]:.4f} CPU s/iter")
    if "reference" in medians:
        print(f"  ratio ours/reference: {medians['ours'] / medians['reference']:.3f} wall, "
              f"{cpu['ours'] / cpu['reference']:.3f} CPU (below 1 = ours is faster)")
    else:
        print("  (set REFERENCE_PIX2PIX=/path/to/pytorch-CycleGAN-and-pix2pix to time the "
              "reference too)")


if __name__ == "__main__":
    main()
