"""Reading other projects' checkpoints: inert objects come in as stand-ins, code never runs."""

from __future__ import annotations

import argparse
import os
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest
import safetensors.torch
import torch

from translate.errors import WeightsError
from translate.hub.reading import StandIn, find_state_dict, read_checkpoint

MARKER = "translate-payload-ran"


class Payload:
    """A pickle that, unpickled without weights_only, writes a marker file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __reduce__(self):
        return (os.makedirs, (str(self.folder / MARKER),))


def test_a_namespace_arrives_as_an_inert_stand_in(tmp_path: Path) -> None:
    path = tmp_path / "stylegan2-ffhq.pt"
    torch.save({"g_ema": {"style.1.weight": torch.ones(2)}, "latent_avg": torch.zeros(4),
                "args": argparse.Namespace(size=256, channel_multiplier=2, ckpt=Path("x"))}, path)
    loaded = read_checkpoint(path)
    args = loaded["args"]
    assert isinstance(args, StandIn) and not isinstance(args, argparse.Namespace)
    assert args.size == 256 and args.channel_multiplier == 2
    assert list(find_state_dict(loaded, path=path)) == ["style.1.weight"]


def test_an_omegaconf_config_arrives_as_a_stand_in(tmp_path: Path) -> None:
    omegaconf = pytest.importorskip("omegaconf")
    config = omegaconf.OmegaConf.create({"generator": {"ngf": 64, "ratios": [0.75, 0.75]}})
    path = tmp_path / "best.ckpt"
    torch.save({"state_dict": {"generator.model.1.weight": torch.ones(1),
                               "discriminator.model.0.weight": torch.ones(1)},
                "hyper_parameters": config, "epoch": 40, "pytorch-lightning_version": "1.2.9"},
               path)
    loaded = read_checkpoint(path)
    assert isinstance(loaded["hyper_parameters"], StandIn)
    generator = find_state_dict(loaded, keep=lambda key: key.startswith("generator."))
    assert list(generator) == ["generator.model.1.weight"]


def test_a_lightning_attribute_dict_arrives_as_a_plain_dict(tmp_path: Path,
                                                                monkeypatch) -> None:
    # Write with a throwaway class under Lightning's name; read with that module gone.
    module = types.ModuleType("pytorch_lightning.utilities.parsing")

    AttributeDict = type("AttributeDict", (dict,), {"__module__": module.__name__,
                                                    "__qualname__": "AttributeDict"})
    module.AttributeDict = AttributeDict
    for name in ("pytorch_lightning", "pytorch_lightning.utilities", module.__name__):
        monkeypatch.setitem(sys.modules, name, module)
    path = tmp_path / "last.ckpt"
    torch.save({"hyper_parameters": AttributeDict(lr=0.001), "state_dict": {"w": torch.ones(1)}},
               path)
    for name in ("pytorch_lightning", "pytorch_lightning.utilities", module.__name__):
        monkeypatch.delitem(sys.modules, name)
    loaded = read_checkpoint(path)
    assert loaded["hyper_parameters"] == {"lr": 0.001}
    assert type(loaded["hyper_parameters"]) is dict


def test_a_numpy_scalar_arrives_as_a_number(tmp_path: Path) -> None:
    torch.save({"best_psnr": np.float64(27.5), "params": {"w": torch.ones(1)}}, tmp_path / "a.pth")
    assert read_checkpoint(tmp_path / "a.pth")["best_psnr"] == 27.5


@pytest.mark.parametrize("force", [False, True])
def test_a_payload_never_runs(tmp_path: Path, monkeypatch, force: bool) -> None:
    if force:  # the escape hatch that turns arbitrary unpickling back on for plain torch.load
        monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    path = tmp_path / "evil.pth"
    torch.save({"params": {"w": torch.ones(1)}, "x": Payload(tmp_path)}, path)
    with pytest.raises(WeightsError) as caught:
        read_checkpoint(path)
    message = str(caught.value)
    assert "refused: the pickle asks for" in message and "makedirs" in message
    assert "weights_only" not in message and "\n" not in message
    assert not (tmp_path / MARKER).exists()


def test_torchscript_is_refused_with_the_accepted_formats(tmp_path: Path) -> None:
    path = tmp_path / "big-lama.pt"
    with pytest.warns(FutureWarning):
        torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), str(path))
    with pytest.raises(WeightsError, match=r"TorchScript program.*safetensors"):
        read_checkpoint(path)


def test_an_nvlabs_pickle_is_refused_and_says_what_to_convert_it_to(tmp_path: Path) -> None:
    # What stylegan2-ada's network-snapshot-*.pkl starts with: a persistent-object rebuild.
    path = tmp_path / "ffhq.pkl"
    path.write_bytes(b"\x80\x02ctorch_utils.persistence\n_reconstruct_persistent_obj\n"
                     b"q\x00)Rq\x01.")
    with pytest.raises(WeightsError, match=r"NVlabs pickle.*convert_weight\.py"):
        read_checkpoint(path)


def test_a_zip_archive_is_read_through_its_one_checkpoint(tmp_path: Path) -> None:
    torch.save({"state_dict": {"generator.w": torch.ones(3)}}, tmp_path / "best.ckpt")
    archive = tmp_path / "big-lama.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("big-lama/config.yaml", "generator:\n  kind: ffc_resnet\n")
        handle.write(tmp_path / "best.ckpt", "big-lama/models/best.ckpt")
    assert torch.equal(read_checkpoint(archive)["state_dict"]["generator.w"], torch.ones(3))
    assert torch.equal(read_checkpoint(archive, member="models/best.ckpt")["state_dict"]
                       ["generator.w"], torch.ones(3))


def test_safetensors_legacy_pickles_and_junk(tmp_path: Path) -> None:
    safetensors.torch.save_file({"w": torch.ones(2)}, str(tmp_path / "model.safetensors"))
    assert torch.equal(read_checkpoint(tmp_path / "model.safetensors")["w"], torch.ones(2))
    torch.save({"w": torch.ones(2)}, tmp_path / "old.pth", _use_new_zipfile_serialization=False)
    assert torch.equal(read_checkpoint(tmp_path / "old.pth")["w"], torch.ones(2))
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match="not a readable PyTorch checkpoint"):
        read_checkpoint(tmp_path / "junk.pth")
    with pytest.raises(WeightsError, match="no such file"):
        read_checkpoint(tmp_path / "missing.pth")


@pytest.mark.parametrize("wrap", [
    lambda s: s, lambda s: {"params_ema": s, "params": {"x": torch.zeros(1)}},
    lambda s: {"params": s}, lambda s: {"model_state_dict": s, "epoch": 3},
    lambda s: {"state_dict": {f"module.{k}": v for k, v in s.items()}},
    lambda s: {f"_orig_mod.{k}": v for k, v in s.items()},
])
def test_state_dicts_are_unwrapped_and_unprefixed(wrap) -> None:
    state = {"conv_first.weight": torch.ones(1), "body.0.weight": torch.zeros(1)}
    assert find_state_dict(wrap(state)).keys() == state.keys()


def test_a_protocol_4_nvlabs_pickle_is_refused_by_name(tmp_path: Path, monkeypatch) -> None:
    # stylegan3 / stylegan2-ada snapshots written by Python >= 3.8 name globals with
    # STACK_GLOBAL, which torch's error message leaves out.
    module = types.ModuleType("torch_utils.persistence")

    def _reconstruct_persistent_obj(meta):
        return meta

    _reconstruct_persistent_obj.__module__ = module.__name__
    _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
    module._reconstruct_persistent_obj = _reconstruct_persistent_obj
    monkeypatch.setitem(sys.modules, "torch_utils", types.ModuleType("torch_utils"))
    monkeypatch.setitem(sys.modules, module.__name__, module)

    class Snapshot:
        def __reduce__(self):
            return (_reconstruct_persistent_obj, ({"type": "class"},))

    path = tmp_path / "network-snapshot-000100.pkl"
    path.write_bytes(__import__("pickle").dumps({"G_ema": Snapshot()}, protocol=4))
    monkeypatch.delitem(sys.modules, module.__name__)
    monkeypatch.delitem(sys.modules, "torch_utils")
    with pytest.raises(WeightsError, match=r"NVlabs pickle \(torch_utils\.persistence"):
        read_checkpoint(path)
