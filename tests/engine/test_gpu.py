"""CUDA checks, run only with `-m gpu` on a machine that has a GPU."""

from __future__ import annotations

import pytest
import torch

from support.drawing import DrawTranslator, draw_config
from translate.data.sources import digits_source
from translate.engine.trainer import Trainer

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def test_auto_device_trains_on_cuda_in_bf16_and_exports_fp32(tmp_path):
    source = digits_source()
    config = draw_config(steps=3, evaluate_at_end="false")
    trainer = Trainer(DrawTranslator, config, train_source=source.split("train"),
                      heldout_source=source.split("heldout"), out_dir=tmp_path, device="auto",
                      progress=False, command="test")
    assert trainer.accelerator.device.type == "cuda"
    assert trainer.precision == ("bf16" if torch.cuda.is_bf16_supported() else "fp16")
    weights = trainer.fit()
    model = DrawTranslator.from_pretrained(weights)
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_seeded_inference_matches_between_cpu_and_cuda(tmp_path):
    torch.manual_seed(0)
    folder = DrawTranslator(draw_config(width=16)).save_pretrained(tmp_path / "weights")
    model = DrawTranslator.from_pretrained(folder)
    labels = torch.arange(10)
    on_cpu = model.draw(labels, seed=0)
    on_cuda = model.to("cuda").draw(labels, seed=0).cpu()
    assert torch.allclose(on_cpu, on_cuda, atol=1e-3)
