"""How much the shared engine costs over a bare PyTorch loop, per training step.

Both loops run the translator's own generate / discriminator_loss / generator_loss with
Adam on the same batches, one after the other in one process, so the ratio isolates
what the engine adds: EMA, clipping norms, the non-finite guard, D freezing, schedules.

    python bench/engine_overhead.py [--translator digits] [--steps 200] [--preset starter]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time

import torch
from timing import engine_steps, sync

from translate.engine.trainer import Trainer
from translate.plugins import load_plugins, open_source
from translate.translator import Networks


def bare_loop(trainer: Trainer, batches, steps: int) -> list[float]:
    """The textbook GAN step with the same networks and losses, no engine around it."""
    translator = trainer.translator
    nets = Networks(trainer.raw)
    # The engine's fused Adam here too: the ratio should measure bookkeeping, not the kernel.
    optimizers = {name: torch.optim.Adam(net.parameters(), lr=1e-4, betas=(0.5, 0.999),
                                         fused=True)
                  for name, net in trainer.raw.items()}

    def update(names: list[str], losses: dict[str, torch.Tensor]) -> None:
        for name in names:
            optimizers[name].zero_grad()
        sum(losses.values()).backward()
        for name in names:
            optimizers[name].step()

    times = []
    for _ in range(steps):
        start = time.perf_counter()
        batch = next(batches)
        generated = translator.generate(nets, batch)
        detached = {k: v.detach() for k, v in generated.items()}
        update(trainer.discriminator_names,
               translator.discriminator_loss(nets, batch, detached))
        update(trainer.generator_names, translator.generator_loss(nets, batch, generated))
        sync()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--translator", default="digits")
    parser.add_argument("--preset", default="starter")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    cls = load_plugins().translator(args.translator)
    config = cls.make_config(args.preset, {"steps": str(args.steps * 4)})
    source = open_source(cls.datasets[0])
    with tempfile.TemporaryDirectory() as out:
        trainer = Trainer(cls, config, train_source=source.split("train"),
                          heldout_source=source.split("heldout"), out_dir=out,
                          device=args.device, progress=False, command="bench")
        batches = trainer._batches()
        warmup = max(5, args.steps // 10)
        engine_steps(trainer, batches, warmup)
        bare_loop(trainer, batches, warmup)
        # Interleave halves so drift in machine load hits both loops alike.
        engine, bare = [], []
        for _ in range(2):
            engine += engine_steps(trainer, batches, args.steps // 2)
            bare += bare_loop(trainer, batches, args.steps // 2)

    engine_s, bare_s = statistics.median(engine), statistics.median(bare)
    device = trainer.accelerator.device
    print(f"{cls.name} ({args.preset}, batch {config.batch_size}, {device}, "
          f"precision {trainer.precision}), median of {args.steps} steps each:")
    print(f"  bare PyTorch loop : {bare_s * 1000:8.2f} ms/step")
    print(f"  gan-translate     : {engine_s * 1000:8.2f} ms/step")
    print(f"  engine / bare     : {engine_s / bare_s:8.3f}x")
    if device.type == "cuda":
        print(f"  peak CUDA memory  : {torch.cuda.max_memory_allocated() / 2**20:8.1f} MiB")
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak RSS          : {peak_rss:8.1f} MiB")


if __name__ == "__main__":
    main()
