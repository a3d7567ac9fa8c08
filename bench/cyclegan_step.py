"""Seconds per CycleGAN training step: ours, and the reference implementation's if present.

Ours is the shared engine's step (`Trainer._train_step`) with the cyclegan plugin. With
REFERENCE_CYCLEGAN pointing at a checkout of junyanz/pytorch-CycleGAN-and-pix2pix, the
reference's own `CycleGANModel.optimize_parameters` runs on the same batches with the same
architecture (resnet_6blocks / resnet_9blocks, 70x70 PatchGANs, instance norm, LSGAN,
identity loss, 50-image pools), interleaved with ours so machine load hits both alike.

    python bench/cyclegan_step.py                        # the starter architecture
    python bench/cyclegan_step.py --blocks 9 --width 64 --size 256 --batch 1
    REFERENCE_CYCLEGAN=~/src/pytorch-CycleGAN-and-pix2pix python bench/cyclegan_step.py
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import time
from types import SimpleNamespace

import torch
from timing import engine_steps, sync

from translate.engine.trainer import Trainer
from translate.plugins import open_source
from translate_cyclegan.translator import CycleGANTranslator


def reference_model(checkout: str, args: argparse.Namespace, device: torch.device):
    """The reference's CycleGANModel, configured like its train.py would for these options."""
    sys.path.insert(0, os.path.expanduser(checkout))
    from models.cycle_gan_model import CycleGANModel

    opt = SimpleNamespace(
        isTrain=True, gpu_ids=[0] if device.type == "cuda" else [],
        checkpoints_dir=tempfile.mkdtemp(), name="bench", preprocess="resize_and_crop",
        input_nc=3, output_nc=3, ngf=args.width,
        ndf=64, netG=f"resnet_{args.blocks}blocks", netD="basic", n_layers_D=3, norm="instance",
        no_dropout=True, init_type="normal", init_gain=0.02, lambda_identity=0.5, lambda_A=10.0,
        lambda_B=10.0, pool_size=50, gan_mode="lsgan", lr=2e-4, beta1=0.5, direction="AtoB",
        lr_policy="linear", niter=100, niter_decay=100, n_epochs=100, n_epochs_decay=100,
        epoch_count=1, continue_train=False, verbose=False, load_iter=0, epoch="latest")
    model = CycleGANModel(opt)
    model.setup(opt)
    return model


def reference(model, batches, steps: int) -> list[float]:
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        batch = next(batches)
        model.set_input({"A": batch["A"], "B": batch["B"], "A_paths": [], "B_paths": []})
        model.optimize_parameters()
        sync()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=6, choices=(6, 9))
    parser.add_argument("--width", type=int, default=16, help="generator channels (ngf)")
    parser.add_argument("--size", type=int, default=64, help="training crop side")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--steps", type=int, default=40, help="timed steps of each")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="no", choices=("no", "bf16"),
                        help="ours only; the reference trains in fp32")
    args = parser.parse_args()

    cls = CycleGANTranslator
    config = cls.make_config("full", {
        "blocks": str(args.blocks), "width": str(args.width), "image_size": str(args.size),
        "load_size": str(args.size), "batch_size": str(args.batch), "workers": "0",
        "steps": str(args.steps * 10), "mixed_precision": args.precision,
        # The reference keeps no EMA of the generators; without ours both do the same work.
        "ema_decay": "0"})
    source = open_source("photo2painting")
    checkout = os.environ.get("REFERENCE_CYCLEGAN")
    with tempfile.TemporaryDirectory() as out:
        trainer = Trainer(cls, config, train_source=source.split("train"),
                          heldout_source=source.split("heldout"), out_dir=out,
                          device=args.device, progress=False, command="bench")
        device = trainer.accelerator.device
        # The same pre-loaded batches for both, so data loading is not part of either figure.
        warmup = max(3, args.steps // 10)
        loaded = [b for b, _ in zip(trainer._batches(), range(args.steps + warmup), strict=False)]
        batches = itertools.cycle(loaded)
        ref = reference_model(checkout, args, device) if checkout else None
        engine_steps(trainer, batches, warmup)
        if ref is not None:
            reference(ref, batches, warmup)
        mine, theirs = [], []
        for _ in range(2):  # interleaved halves
            mine += engine_steps(trainer, batches, args.steps // 2)
            if ref is not None:
                theirs += reference(ref, batches, args.steps // 2)

    label = (f"resnet_{args.blocks}blocks ngf={args.width}, {args.size}px, batch {args.batch}, "
             f"{device}, {torch.get_num_threads()} threads")
    print(f"cyclegan training step ({label}), median of {len(mine)} steps:")
    ours_s = statistics.median(mine)
    print(f"  gan-translate ({trainer.precision:>4}) : {ours_s:8.4f} s/iter")
    if theirs:
        theirs_s = statistics.median(theirs)
        print(f"  reference (fp32)      : {theirs_s:8.4f} s/iter")
        print(f"  ours / reference      : {ours_s / theirs_s:8.3f}x")
    else:
        print("  (set REFERENCE_CYCLEGAN=/path/to/pytorch-CycleGAN-and-pix2pix to time the "
              "reference too)")
    if device.type == "cuda":
        print(f"  peak CUDA memory      : {torch.cuda.max_memory_allocated() / 2**20:8.1f} MiB")


if __name__ == "__main__":
    main()
