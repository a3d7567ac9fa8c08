"""The adversarial training loop every plugin shares, on Hugging Face Accelerate.

One step is `d_steps` discriminator updates followed by one generator update. The
plugin supplies networks and losses; this file owns everything else: devices and
processes, precision, optimisers, LR schedule, EMA, gradient clipping, the
non-finite guard, sample grids, logging, atomic checkpoints, exact resume and the
final export in Hub layout.
"""

from __future__ import annotations

import contextlib
import shlex
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from accelerate.utils import gather_object
from tqdm.auto import tqdm

from translate.config import TrainConfig, config_to_dict
from translate.data.pipeline import StepSampler, first_items, training_loader
from translate.data.source import Source
from translate.device import pick_device
from translate.engine.checkpoint import (
    CHECKPOINT_NAME,
    capture_rng,
    load_checkpoint,
    non_finite,
    restore_rng,
    save_checkpoint,
    verify_checkpoint,
)
from translate.engine.ema import make_ema, update_ema
from translate.engine.samples import save_grid
from translate.engine.schedule import make_scheduler
from translate.engine.watch import TrainingWatch, loss_terms
from translate.errors import ConfigError, TrainingError, WriteError
from translate.files import remove_stale_temps
from translate.hub.layout import load_state_dict_strict
from translate.hub.resolve import load_translator, record_latest
from translate.metrics import mean_pairwise_distance, pixels
from translate.translator import Batch, Losses, Networks, Translator
from translate.types import RunInfo, Task

# An observer hears the on_train_* events: observer("on_train_log", run=..., step=..., ...).
Observer = Callable[..., None]

CHECKPOINT_FORMAT = 1
WEIGHTS_DIR = "weights"
SAMPLES_DIR = "samples"
# fp16 overflows are normal while the loss scale settles; this many in a row is not.
MAX_SKIPPED_FP16_UPDATES = 25


def train(translator_cls: type[Translator], config: TrainConfig, **options: Any) -> Path:
    """Train from scratch (or resume) and return the folder of exported weights.

    `options` are Trainer's keyword arguments: train_source, heldout_source, out_dir, ...
    """
    return Trainer(translator_cls, config, **options).fit()


class Trainer:
    """Holds one run's state; `fit` drives it to `config.steps`."""

    def __init__(
        self,
        translator_cls: type[Translator],
        config: TrainConfig,
        *,
        train_source: Source,
        heldout_source: Source,
        out_dir: str | Path,
        device: str = "auto",
        resume: bool = False,
        command: str | None = None,
        progress: bool = True,
        observer: Observer | None = None,
    ) -> None:
        self.config, self.cls = config, translator_cls
        self.train_source, self.heldout_source = train_source, heldout_source
        self.out_dir = Path(out_dir).expanduser().resolve()
        self.command = command or shlex.join(["translate", *sys.argv[1:]])
        # The registry's notify, from the CLI; the engine itself knows no plugins.
        self.notify: Observer = observer or (lambda hook, **kwargs: None)
        self.progress = progress
        self.accelerator = _make_accelerator(device)
        self.precision, self.autocast_dtype = _resolve_precision(
            config.mixed_precision, self.accelerator.device)
        # oneDNN's bf16 convolutions (AMX, AVX-512 BF16) want NHWC, and reorder NCHW tensors
        # around every call: pix2pix's starter step runs 1.47x faster than fp32 in NHWC and
        # 1.11x in NCHW (bench/train_step_variants.py). CycleGAN at 256 is the exception
        # measured (2.4x against 2.9x), and still twice the reference's speed.
        self.channels_last = self.precision == "bf16" and self.accelerator.device.type == "cpu"
        self.scaler = torch.amp.GradScaler("cuda") if self.precision == "fp16" else None
        self.step = 0
        self._stop_requested = False
        self._skipped_updates = 0
        checkpoint = self.out_dir / CHECKPOINT_NAME
        if checkpoint.exists() and not resume:
            raise ConfigError(f"{self.out_dir} already holds a checkpoint; pass --resume to "
                              "continue it, or choose another --out")
        resuming = resume and checkpoint.exists()
        if resume and not resuming:
            self._say(f"--resume: no checkpoint in {self.out_dir}, so this run starts fresh",
                      always=True)
        if self.is_main:
            # Writers killed mid-write (SIGKILL runs no cleanup) leave their temp files.
            for folder in (self.out_dir, self.out_dir / WEIGHTS_DIR, self.out_dir / SAMPLES_DIR):
                remove_stale_temps(folder)
        self._build(fresh=not resuming)
        if resuming:
            self._restore(load_checkpoint(checkpoint))
        else:
            torch.manual_seed(config.seed + 1_000_003 * self.accelerator.process_index)

    @property
    def is_main(self) -> bool:
        return self.accelerator.is_main_process

    # ---- set-up ---------------------------------------------------------------------------

    def _build(self, *, fresh: bool) -> None:
        config, accelerator = self.config, self.accelerator
        # Same seed on every process: identical initial weights before DDP even syncs them.
        torch.manual_seed(config.seed)
        self.translator = self.cls(config)
        if config.init_from and fresh:  # a resumed run has its own weights already
            self._init_generators(config.init_from)
        generators = dict(self.translator.generators.items())
        discriminators = self.translator.build_discriminators()
        clash = set(generators) & set(discriminators)
        if clash:
            raise ConfigError(f"{self.cls.name}: generator and discriminator names clash: {clash}")
        self.raw = {**generators, **discriminators}
        if self.channels_last:  # in place: parameters keep their identity
            for module in self.raw.values():
                module.to(memory_format=torch.channels_last)
        self.generator_names, self.discriminator_names = list(generators), list(discriminators)
        names = list(self.raw)
        prepared = accelerator.prepare(*self.raw.values())
        prepared = prepared if isinstance(prepared, tuple) else (prepared,)
        self.wrapped = dict(zip(names, prepared, strict=True))
        self.raw = {name: accelerator.unwrap_model(model) for name, model in self.wrapped.items()}
        self.ema = ({name: make_ema(self.raw[name]) for name in self.generator_names}
                    if config.ema_decay > 0 else {})
        self.optimizers = {
            name: _adam(list(self.raw[name].parameters()),
                        lr=config.lr_g if name in generators else config.lr_d, betas=config.betas)
            for name in names
        }
        self.schedulers = {name: make_scheduler(opt, config.steps, config.lr_decay_fraction)
                           for name, opt in self.optimizers.items()}
        self.train_nets = Networks(self.wrapped)
        # In the G update, D is only a fixed function of G's output: its raw module avoids a
        # DDP reduction for gradients nobody needs.
        self.generator_step_nets = Networks(
            {**{n: self.wrapped[n] for n in self.generator_names},
             **{n: self.raw[n] for n in self.discriminator_names}})

        dataset = self.translator.make_dataset(self.train_source, train=True)
        if len(dataset) == 0:
            raise ConfigError(f"{self.train_source.name}: the training split is empty")
        self.dataset = dataset
        heldout = self.translator.make_dataset(self.heldout_source, train=False)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            count = self.cls.grid_columns * max(1, min(8, 64 // self.cls.grid_columns))
            heldout_items = first_items(heldout, count)
            self.sample_inputs = self.translator.sample_inputs(heldout_items, count)
        self.watch = TrainingWatch(steps=config.steps,
                                   real_diversity=self._real_diversity(heldout_items))

    def _real_diversity(self, heldout: Batch) -> float | None:
        """The held-out images' diversity, where a sample grid holds generated images only."""
        generates = self.cls.task in (Task.UNCONDITIONAL, Task.CLASS_CONDITIONAL)
        if not generates or "image" not in heldout:
            return None
        return mean_pairwise_distance(pixels(heldout["image"])) or None

    def _init_generators(self, source: str) -> None:
        """Start from existing weights (fine-tuning): the same architecture, checked first."""
        start, resolved = load_translator(self.cls, source)
        ours, theirs = self.translator.model_config(), start.model_config()
        differing = next((key for key in ours if ours.get(key) != theirs.get(key)), None)
        if differing is not None:
            raise ConfigError(f"init_from {resolved.location}: {differing}="
                              f"{theirs.get(differing)!r} there, {ours.get(differing)!r} here; "
                              "a run starts only from weights of its own architecture "
                              f"(--set {differing}=...)")
        for name, module in self.translator.generators.items():
            load_state_dict_strict(module, start.generators[name].state_dict(),
                                   source=f"init_from {resolved.location}")
        self._say(f"generators start from {resolved.describe()}")

    def _restore(self, state: dict[str, Any]) -> None:
        if state.get("translator") != self.cls.name:
            raise TrainingError(f"{self.out_dir}: the checkpoint is for "
                                f"{state.get('translator')!r}, "
                                f"not {self.cls.name!r}")
        source = str(self.out_dir / CHECKPOINT_NAME)
        for name, module in self.raw.items():
            load_state_dict_strict(module, state["networks"][name], source=source)
        for name, module in self.ema.items():
            load_state_dict_strict(module, state["ema"][name], source=source)
        for name, optimizer in self.optimizers.items():
            optimizer.load_state_dict(state["optimizers"][name])
            _match_parameter_layouts(optimizer)
        for name, scheduler in self.schedulers.items():
            scheduler.load_state_dict(state["schedulers"][name])
        if self.scaler is not None and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.step = int(state["step"])
        rng = state["rng"]
        if len(rng) == self.accelerator.num_processes:
            restore_rng(rng[self.accelerator.process_index])
        else:  # a different process count cannot replay the same streams; stay deterministic
            torch.manual_seed(self.config.seed + self.step + self.accelerator.process_index)
        self._say(f"resuming {self.cls.name} from step {self.step}")

    # ---- the loop -----------------------------------------------------------------------

    def fit(self) -> Path:
        config, accelerator = self.config, self.accelerator
        self.out_dir.mkdir(parents=True, exist_ok=True)
        run = RunInfo(self.cls.name, self.out_dir, config, self.train_source.name, self.command,
                      str(accelerator.device), self.precision, accelerator.num_processes, self.step)
        if self.is_main:
            self.notify("on_train_start", run=run)
        batches = self._batches()
        bar = tqdm(total=config.steps, initial=self.step, desc=f"train {self.cls.name}",
                   disable=not (self.is_main and self.progress), dynamic_ncols=True)
        started, images_seen = time.perf_counter(), 0
        with self._graceful_stop():
            while self.step < config.steps and not self._stop_requested:
                losses = self._train_step(batches)
                self.step += 1
                images_seen += config.batch_size * config.d_steps * accelerator.num_processes
                bar.update(1)
                if self.step % config.log_every == 0 or self.step == config.steps:
                    metrics = self._metrics(losses, images_seen / (time.perf_counter() - started))
                    if self.is_main:
                        self._warn(self.watch.observe_log(self.step, metrics))
                        metrics.update(self.watch.figures())
                    bar.set_postfix(self.watch.postfix(metrics), refresh=False)
                    if self.is_main:
                        self.notify("on_train_log", run=run, step=self.step,
                                             metrics=metrics)
                if self.step % config.sample_every == 0 or self.step == config.steps:
                    self._write_samples(run)
                if self.step % config.checkpoint_every == 0 or self.step == config.steps:
                    self._save_checkpoint()
            bar.close()
            if self._stop_requested:
                # Still inside _graceful_stop: another Ctrl-C abandons this save (the
                # atomic write leaves the previous checkpoint as it was).
                self._save_checkpoint()
                raise KeyboardInterrupt(f"stopped at step {self.step}; checkpoint saved in "
                                        f"{self.out_dir} (continue with --resume)")
        self._check_replicas_agree()
        weights = self._export(seconds=time.perf_counter() - started)
        if self.is_main:
            self.notify("on_train_end", run=run, weights=weights)
        accelerator.wait_for_everyone()
        return weights

    def _batches(self) -> Iterator[Batch]:
        sampler = StepSampler(len(self.dataset), self.config.batch_size, seed=self.config.seed,
                              rank=self.accelerator.process_index,
                              world_size=self.accelerator.num_processes,
                              start_batch=self.step * self.config.d_steps)
        device = self.accelerator.device
        for batch in training_loader(self.dataset, sampler, workers=self.config.workers):
            batch = {key: value.to(device, non_blocking=True) for key, value in batch.items()}
            if self.channels_last:
                batch = {key: value.contiguous(memory_format=torch.channels_last)
                         if value.ndim == 4 else value for key, value in batch.items()}
            yield batch

    def _train_step(self, batches: Iterator[Batch]) -> dict[str, Losses]:
        translator, config = self.translator, self.config
        losses: dict[str, Losses] = {}
        for index in range(config.d_steps):
            batch = next(batches)
            # Only the last D update's fakes are reused by the G update, so only they keep a graph.
            keep_graph = index == config.d_steps - 1
            with self._autocast(), torch.set_grad_enabled(keep_graph):
                generated = translator.generate(self.train_nets, batch)
            if self.discriminator_names:
                detached = {key: value.detach() for key, value in generated.items()}
                with self._autocast():
                    losses["D"] = translator.discriminator_loss(self.train_nets, batch, detached)
                self._update(self.discriminator_names, loss_terms(losses["D"]), "D")
        for name in self.discriminator_names:
            self.raw[name].requires_grad_(False)
        try:
            with self._autocast():
                losses["G"] = translator.generator_loss(self.generator_step_nets, batch, generated)
            self._update(self.generator_names, losses["G"], "G")
        finally:
            for name in self.discriminator_names:
                self.raw[name].requires_grad_(True)
        for name, ema in self.ema.items():
            update_ema(ema, self.raw[name], decay=config.ema_decay, step=self.step)
        for scheduler in self.schedulers.values():
            scheduler.step()
        self._check_weights_finite()
        return losses

    def _update(self, names: list[str], losses: Losses, phase: str) -> None:
        """Backward, clip, check for non-finite values, then step the networks' optimisers."""
        if not losses:
            raise TrainingError(f"{self.cls.name}: {phase} loss returned no terms")
        optimizers = [self.optimizers[name] for name in names]
        for optimizer in optimizers:
            optimizer.zero_grad(set_to_none=True)
        total = torch.stack([term.float() for term in losses.values()]).sum()
        self.accelerator.backward(self.scaler.scale(total) if self.scaler else total)
        if self.scaler is not None:
            for optimizer in optimizers:
                self.scaler.unscale_(optimizer)
        norms = [self._gradient_norm(name) for name in names]
        self._last_norms = {f"grad_norm/{name}": norm for name, norm in zip(names, norms,
                                                                              strict=True)}
        if not self._all_finite(total, norms):
            if self.scaler is not None and self._skipped_updates < MAX_SKIPPED_FP16_UPDATES:
                self._skipped_updates += 1
                self.scaler.update()  # lowers the loss scale; the update is skipped
                return
            terms = ", ".join(f"{k}={v.item():.4g}" for k, v in losses.items())
            raise TrainingError(
                f"step {self.step + 1}: non-finite {phase} loss or gradient ({terms}); stopped "
                f"without writing weights; {self._checkpoint_status()}")
        self._skipped_updates = 0
        for optimizer in optimizers:
            if self.scaler is not None:
                self.scaler.step(optimizer)
            else:
                optimizer.step()
        if self.scaler is not None:
            self.scaler.update()

    def _gradient_norm(self, name: str) -> torch.Tensor:
        """The network's total gradient norm (logged, and checked for inf/nan), clipped if asked.

        Without clipping only the norm is computed: clip_grad_norm_ would also rescale every
        gradient by exactly 1.0, a full pass over them that costs ~1-2% of a small GAN's step.
        """
        parameters = self.raw[name].parameters()
        if self.config.grad_clip > 0:
            return torch.nn.utils.clip_grad_norm_(parameters, self.config.grad_clip)
        return torch.nn.utils.get_total_norm([p.grad for p in parameters if p.grad is not None])

    def _all_finite(self, total: torch.Tensor, norms: list[torch.Tensor]) -> bool:
        return self._everyone(
            torch.isfinite(torch.stack([total.detach(), *[n.float() for n in norms]])).all())

    def _everyone(self, flag: torch.Tensor | bool) -> bool:
        """Whether flag holds on every process; all of them get the same answer."""
        if self.accelerator.num_processes == 1:
            return bool(flag)
        # Every process must make the same decision, or the others hang in the next reduce.
        flag = torch.as_tensor(flag, device=self.accelerator.device).float()
        return bool(self.accelerator.reduce(flag, reduction="sum") ==
                    self.accelerator.num_processes)

    def _check_weights_finite(self) -> None:
        """Stop before a NaN or inf in any weight or buffer (EMA included) can be saved.

        The loss and gradients can be finite while the update is not: a huge step
        overflows a parameter, or BatchNorm's running variance reaches inf. One fused
        L2 norm per tensor and a single sync keep this cheap (bench/engine_overhead.py);
        an inf norm can also be an overflow of finite values, so suspects are checked
        exactly before anything is said.
        """
        modules = [*self.raw.values(), *self.ema.values()]
        tensors = [t for module in modules
                   for t in (*module.parameters(), *module.buffers())
                   if t.is_floating_point() and t.numel()]
        if not tensors:
            return
        norms = torch._foreach_norm([t.detach() for t in tensors])
        if self._everyone(torch.isfinite(torch.stack(norms)).all()):
            return
        bad = [f"{name}.{key}" for name, module in
               [*self.raw.items(), *((f"ema.{n}", m) for n, m in self.ema.items())]
               for key in non_finite(module.state_dict())]
        if not self._everyone(not bad):
            shown = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
            raise TrainingError(
                f"step {self.step + 1}: the update made {shown or 'another process'} non-finite; "
                f"stopped without writing weights; {self._checkpoint_status()}")

    # ---- feedback ---------------------------------------------------------------------

    def _metrics(self, losses: dict[str, Losses], images_per_second: float) -> dict[str, float]:
        metrics = {f"{phase}/{key}": value.item()
                   for phase, terms in losses.items() for key, value in terms.items()}
        metrics.update({key: norm.item() for key, norm in self._last_norms.items()})
        for name, optimizer in self.optimizers.items():
            metrics[f"lr/{name}"] = optimizer.param_groups[0]["lr"]
        metrics["images_per_second"] = images_per_second
        return metrics

    def _inference_networks(self) -> Networks:
        return Networks(self.ema or {n: self.raw[n] for n in self.generator_names})

    def _write_samples(self, run: RunInfo) -> None:
        if not self.is_main:
            return
        nets = self._inference_networks()
        modes = {name: net.training for name, net in nets.items()}
        for net in nets.values():
            net.eval()
        inputs = {k: v.to(self.accelerator.device) for k, v in self.sample_inputs.items()}
        try:
            with torch.no_grad(), self._autocast():
                images = self.translator.sample(nets, inputs).float()
        finally:
            for name, net in nets.items():
                net.train(modes[name])
        self._warn(self.watch.observe_samples(self.step, mean_pairwise_distance(pixels(images))))
        path = save_grid(images, self.out_dir / SAMPLES_DIR / f"step_{self.step:07d}.png",
                         columns=self.cls.grid_columns)
        self.notify("on_sample_grid", run=run, step=self.step, path=path)

    # ---- persistence ------------------------------------------------------------------

    def _checkpoint_status(self) -> str:
        """What the run folder's checkpoint holds, said only once it has been read and checked."""
        path = self.out_dir / CHECKPOINT_NAME
        if not self.is_main:
            return "the main process reports the checkpoint"
        if not path.exists():
            return f"no checkpoint has been written in {self.out_dir}"
        try:
            step = verify_checkpoint(path)
        except TrainingError as error:
            return f"the checkpoint is not usable either ({error})"
        return (f"the checkpoint of step {step} in {self.out_dir} was read back, is finite and "
                "intact (continue from it with --resume)")

    def _save_checkpoint(self) -> None:
        # Each process draws its own noise, so each one's RNG state is kept.
        rng = gather_object([capture_rng()]) if self.accelerator.num_processes > 1 \
            else [capture_rng()]
        failure = None
        if self.is_main:
            try:
                self._write_checkpoint(rng)
            except (TrainingError, WriteError) as error:
                failure = f"step {self.step}: checkpoint not saved: {error}"
        if not self._everyone(failure is None):
            raise TrainingError(f"{failure or 'the main process could not save the checkpoint'}"
                                f"; {self._checkpoint_status()}")
        self.accelerator.wait_for_everyone()

    def _write_checkpoint(self, rng: list[Any]) -> None:
        save_checkpoint(self.out_dir / CHECKPOINT_NAME, {
            "format": CHECKPOINT_FORMAT,
            "translator": self.cls.name,
            "step": self.step,
            "config": config_to_dict(self.config),
            "networks": {n: m.state_dict() for n, m in self.raw.items()},
            "ema": {n: m.state_dict() for n, m in self.ema.items()},
            "optimizers": {n: o.state_dict() for n, o in self.optimizers.items()},
            "schedulers": {n: s.state_dict() for n, s in self.schedulers.items()},
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "rng": list(rng),
        })

    def _check_replicas_agree(self) -> None:
        """Under several processes, every replica must hold the same weights."""
        if self.accelerator.num_processes == 1:
            return
        checksum = torch.stack([p.detach().double().sum() for m in self.raw.values()
                                for p in m.parameters()]).to(self.accelerator.device)
        gathered = self.accelerator.gather(checksum[None]).cpu()
        if not torch.allclose(gathered, gathered[0].expand_as(gathered), rtol=0, atol=1e-9):
            raise TrainingError("the training processes ended with different weights; "
                                "gradients were not synchronised")

    def _export(self, *, seconds: float) -> Path:
        """Write the inference weights (EMA where used) in Hub layout, evaluated if asked.

        Only finite weights are written, and the "latest" pointer moves only once they are.
        """
        folder = self.out_dir / WEIGHTS_DIR
        failure = None
        if self.is_main:
            try:
                self._write_weights(folder, seconds)
            except (TrainingError, WriteError) as error:
                failure = f"weights not exported: {error}"
        if not self._everyone(failure is None):
            raise TrainingError(f"{failure or 'the main process could not export the weights'}"
                                f"; {self._checkpoint_status()}, and resuming it exports them")
        return folder

    def _write_weights(self, folder: Path, seconds: float) -> None:
        export = self.cls(self.config).to(self.accelerator.device).eval()
        source = self.ema or {n: self.raw[n] for n in self.generator_names}
        for name, module in source.items():
            export.generators[name].load_state_dict(module.state_dict())
        state = export.generators.state_dict()
        bad = non_finite(state)
        if bad:
            raise TrainingError(f"non-finite values in {', '.join(bad[:3])}")
        metrics = {}
        if self.config.evaluate_at_end:
            with torch.no_grad():
                metrics = export.evaluate(self.heldout_source, self.train_source)
        export.save_pretrained(folder, state_dict=state, provenance={
            "command": self.command, "data": self.train_source.name.split("[")[0],
            "steps": self.step, "processes": self.accelerator.num_processes,
            "device": str(self.accelerator.device), "precision": self.precision,
            "train_seconds": round(seconds, 1), "watch": self.watch.summary(),
        }, metrics=metrics)
        record_latest(self.cls.name, folder)

    # ---- helpers ------------------------------------------------------------------------

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.accelerator.device.type, dtype=self.autocast_dtype)

    @contextlib.contextmanager
    def _graceful_stop(self) -> Iterator[None]:
        """First Ctrl-C/SIGTERM: finish the step, checkpoint, stop. Second: stop now."""
        if self.accelerator.num_processes > 1 or not _in_main_thread():
            yield  # processes would disagree on the stopping step; periodic checkpoints serve
            return

        def request_stop(signum: int, _frame: Any) -> None:
            if self._stop_requested:
                # Raised wherever the loop is, a checkpoint write included: atomic writes
                # remove their temp file, so the last checkpoint on disk stays whole.
                raise KeyboardInterrupt(f"aborted during step {self.step + 1}, not saved; "
                                        "--resume continues from the last checkpoint")
            self._stop_requested = True
            self._say("stopping after this step (again to abort)", always=True)

        signals = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, request_stop) for sig in signals}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _say(self, message: str, *, always: bool = False) -> None:
        """Tell the user something; `always` for what --quiet must not hide."""
        if self.is_main and (self.progress or always):
            print(f"translate: {message}", file=sys.stderr)

    def _warn(self, lines: list[str]) -> None:
        """The watch's warnings: shown even without a progress bar; training goes on."""
        for line in lines:
            tqdm.write(f"translate: warning: {line}", file=sys.stderr)


def _adam(parameters: list[torch.nn.Parameter], *, lr: float,
          betas: tuple[float, float]) -> torch.optim.Adam:
    """Adam, fused into one kernel per step where the device has one.

    The default per-tensor loop launches about ten small ops for every parameter tensor;
    on a CPU that loop costs a small GAN several milliseconds a step, which the fused
    kernel (same update, one pass over the memory) saves: bench/pix2pix_step.py.
    """
    fused = bool(parameters) and all(p.device.type in ("cpu", "cuda") and p.is_floating_point()
                                     for p in parameters)
    return torch.optim.Adam(parameters, lr=lr, betas=betas, fused=fused or None)


def _match_parameter_layouts(optimizer: torch.optim.Optimizer) -> None:
    """Give each loaded state tensor (Adam's moments) its parameter's memory layout.

    Checkpoints store tensors contiguous, and load_state_dict keeps that layout; a fused
    update walks a parameter and its moments as flat memory, so an NHWC parameter needs
    NHWC moments, or a resumed run would pair the wrong elements.
    """
    for group in optimizer.param_groups:
        for parameter in group["params"]:
            state = optimizer.state.get(parameter, {})
            for key, value in state.items():
                if (isinstance(value, torch.Tensor) and value.shape == parameter.shape
                        and value.stride() != parameter.stride()):
                    state[key] = torch.empty_like(parameter, dtype=value.dtype).copy_(value)


def _make_accelerator(device: str) -> Accelerator:
    chosen = pick_device(device)
    # Precision is handled here, not by Accelerate: several optimisers share one GradScaler.
    return Accelerator(cpu=chosen.type == "cpu", mixed_precision="no")


def _resolve_precision(requested: str, device: torch.device) -> tuple[str, torch.dtype | None]:
    if requested == "auto":
        if device.type != "cuda":
            return "no", None
        if torch.cuda.is_bf16_supported():
            return "bf16", torch.bfloat16
        return "fp16", torch.float16
    if requested == "fp16" and device.type != "cuda":
        raise ConfigError("mixed_precision=fp16 needs CUDA (on the CPU it silently runs fp32)")
    return requested, {"no": None, "bf16": torch.bfloat16, "fp16": torch.float16}[requested]


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()

