"""TensorBoard scalars and sample grids for every run, in RUN_DIR/tensorboard.

Built on the `on_train_*` hooks, exactly as a third-party logger (W&B, MLflow)
would be; block it with TRANSLATE_DISABLE_PLUGINS=tensorboard.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from translate.hookspecs import hookimpl

_writers: dict[Path, Any] = {}


@hookimpl
def on_train_start(run: Any) -> None:
    from torch.utils.tensorboard import SummaryWriter

    _writers[run.out_dir] = SummaryWriter(log_dir=str(run.out_dir / "tensorboard"),
                                          purge_step=run.start_step or None, flush_secs=15)


@hookimpl
def on_train_log(run: Any, step: int, metrics: dict[str, float]) -> None:
    writer = _writers.get(run.out_dir)
    if writer is not None:
        for key, value in metrics.items():
            writer.add_scalar(key, value, step)


@hookimpl
def on_sample_grid(run: Any, step: int, path: Path) -> None:
    writer = _writers.get(run.out_dir)
    if writer is not None:
        import numpy as np
        from PIL import Image

        with Image.open(path) as image:
            writer.add_image("samples", np.asarray(image.convert("RGB")), step, dataformats="HWC")


@hookimpl
def on_train_end(run: Any, weights: Path) -> None:
    writer = _writers.pop(run.out_dir, None)
    if writer is not None:
        writer.close()
