"""Every published Real-ESRGAN-family checkpoint: detected, renamed, loaded, and equal to
the reference implementation's output.

Each file is built here, with the published file's name, key layout, wrapping and dtype
(all fp32), holding random weights: narrower and shallower RRDBNets than the real ones,
where depth and width are free; SRVGGNetCompact at its real, small size. Where each fact
comes from:

* Real-ESRGAN's `inference_realesrgan.py` and `docs/model_zoo.md`: which network each file
  is; its options `param_key_g: params_ema` for RealESRGAN_x4plus/RealESRNet_x4plus/
  ESRGAN_SRx4_DF2KOST_official (and RealESRGANer prefers `params_ema`); its `dni(key=
  "params")` for the realesr-general pair, and `params` for animevideov3 likewise.
* ESRGAN's `test.py` (master and tag `old-arch`): `load_state_dict(torch.load(path))`,
  i.e. bare state dicts, in `RRDBNet_arch.py` and `architecture.py` names respectively.
* ai-forever's `RealESRGAN/model.py`: its loader takes `params`, `params_ema` or a bare
  dict, and no source shows which its files use, so all three are built.
* The Hub's pickle scan of the real files lists `torch.FloatStorage` only: fp32.

Reference comparisons need TRANSLATE_REFERENCES (see tests/support/references.py) with
`XPixelGroup+BasicSR`, `xinntao+Real-ESRGAN`, `ai-forever+Real-ESRGAN`, `xinntao+ESRGAN`
and `xinntao+ESRGAN@old-arch`; each skips, naming what is missing, otherwise.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from support.references import (
    functions_from,
    isolated_imports,
    load_file,
    reference_checkout,
    stub_package,
)
from translate.cli import main
from translate.errors import WeightsError
from translate.hub.importers import import_checkpoint
from translate.hub.layout import load_state_dict_strict, read_meta
from translate.hub.pretrained import from_pretrained
from translate.hub.reading import find_state_dict, read_checkpoint
from translate_superres.checkpoints import (
    closest_match,
    detect,
    filter_state,
    layout_of,
    nearest_network,
)
from translate_superres.importer import IMPORTER
from translate_superres.model import RRDBNet
from translate_superres.srvgg import SRVGGNetCompact, interpolate_states
from translate_superres.translator import SuperResTranslator

TOLERANCE = 1e-5  # fp32, ours vs the reference, same weights and input
RRDBNET_X4_PARAMETERS = 16_697_987  # RealESRGAN_x4plus: 64 features, 23 blocks, 32 growth


@pytest.fixture(autouse=True)
def _isolated(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRANSLATE_HOME", str(tmp_path_factory.mktemp("home")))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


# ---- the published files ------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    """One published checkpoint: what it is, and how a test-sized stand-in is built."""

    file: str  # the published file name
    arch: str  # "rrdbnet" or "srvgg"
    layout: str  # key layout: basicsr, esrgan, esrgan-old, srvgg
    wrapper: str | None  # the key holding the state dict; None: a bare state dict
    real: dict[str, Any]  # the published network's constructor arguments (ours)
    small: dict[str, Any] = field(default_factory=dict)  # what the test builds instead
    reference: str = ""  # which reference implementation computes it

    @property
    def arguments(self) -> dict[str, Any]:
        return {**self.real, **self.small}


RRDB_X4 = {"scale": 4, "channels": 3, "features": 64, "blocks": 23, "growth": 32}
SMALL_RRDB = {"features": 16, "blocks": 2, "growth": 8}
SRVGG_S = {"channels": 3, "features": 64, "convs": 32, "scale": 4, "activation": "prelu"}
SRVGG_XS = {**SRVGG_S, "convs": 16}

PUBLISHED = [
    Published("RealESRGAN_x4plus.pth", "rrdbnet", "basicsr", "params_ema", RRDB_X4,
              SMALL_RRDB, "basicsr"),
    Published("RealESRNet_x4plus.pth", "rrdbnet", "basicsr", "params_ema", RRDB_X4,
              SMALL_RRDB, "basicsr"),
    Published("ESRGAN_SRx4_DF2KOST_official-ff704c30.pth", "rrdbnet", "basicsr", "params_ema",
              RRDB_X4, SMALL_RRDB, "basicsr"),
    Published("RealESRGAN_x2plus.pth", "rrdbnet", "basicsr", "params_ema",
              {**RRDB_X4, "scale": 2}, SMALL_RRDB, "basicsr"),
    # Six blocks is the point of this one, so the stand-in keeps them (narrower only).
    Published("RealESRGAN_x4plus_anime_6B.pth", "rrdbnet", "basicsr", "params_ema",
              {**RRDB_X4, "blocks": 6}, {"features": 16, "growth": 8}, "basicsr"),
    Published("realesr-general-x4v3.pth", "srvgg", "srvgg", "params", SRVGG_S, {}, "srvgg"),
    Published("realesr-general-wdn-x4v3.pth", "srvgg", "srvgg", "params", SRVGG_S, {}, "srvgg"),
    Published("realesr-animevideov3.pth", "srvgg", "srvgg", "params", SRVGG_XS, {}, "srvgg"),
    *[Published(f"RealESRGAN_x{scale}.pth", "rrdbnet", "basicsr", wrapper,
                {**RRDB_X4, "scale": scale}, SMALL_RRDB, "ai-forever")
      for scale in (2, 4, 8) for wrapper in ("params", "params_ema", None)],
    Published("RRDB_ESRGAN_x4.pth", "rrdbnet", "esrgan", None, RRDB_X4, SMALL_RRDB, "esrgan"),
    Published("RRDB_PSNR_x4.pth", "rrdbnet", "esrgan", None, RRDB_X4, SMALL_RRDB, "esrgan"),
    # The old architecture.py builds every dense block with 32 growth channels, whatever
    # its `gc` argument says, so the stand-in keeps them.
    Published("RRDB_ESRGAN_x4_old_arch.pth", "rrdbnet", "esrgan-old", None, RRDB_X4,
              {"features": 16, "blocks": 2}, "esrgan-old"),
    Published("RRDB_PSNR_x4_old_arch.pth", "rrdbnet", "esrgan-old", None, RRDB_X4,
              {"features": 16, "blocks": 2}, "esrgan-old"),
]


def _id(entry: Published) -> str:
    return f"{entry.file}[{entry.wrapper or 'bare'}]"


def published(file: str) -> Published:
    return next(entry for entry in PUBLISHED if entry.file == file)


def randomise(module: nn.Module, seed: int) -> nn.Module:
    """Weights far from any initialisation, so that every one of them shows in the output;
    PReLU slopes in [0, 0.5], as trained ones are."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            if parameter.ndim == 1 and isinstance(module.get_submodule(name.rpartition(".")[0]),
                                                  nn.PReLU):
                parameter.copy_(torch.rand(parameter.shape, generator=generator) * 0.5)
            else:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.05)
    return module.eval()


def ours(entry: Published, seed: int = 0) -> nn.Module:
    network = RRDBNet if entry.arch == "rrdbnet" else SRVGGNetCompact
    return randomise(network(**entry.arguments), seed)


# Published key layouts, written out independently of checkpoints.py's rules.
def to_esrgan_names(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    renamed = {}
    for key, value in state.items():
        key = re.sub(r"^body\.(\d+)\.rdb(\d)\.", r"RRDB_trunk.\1.RDB\2.", key)
        for ours_, theirs in (("conv_body.", "trunk_conv."), ("conv_up1.", "upconv1."),
                              ("conv_up2.", "upconv2."), ("conv_up3.", "upconv3."),
                              ("conv_hr.", "HRconv.")):
            key = theirs + key.removeprefix(ours_) if key.startswith(ours_) else key
        renamed[key] = value
    return renamed


def to_old_esrgan_names(state: dict[str, torch.Tensor], blocks: int,
                        steps: int = 2) -> dict[str, torch.Tensor]:
    # ESRGAN's old architecture.py: B.sequential flattens fea_conv, the ShortcutBlock'd trunk,
    # (Upsample, conv, LeakyReLU) per x2 step, (HR conv, LeakyReLU) and the last conv.
    places = {"conv_first": "model.0", "conv_body": f"model.1.sub.{blocks}",
              "conv_hr": f"model.{3 * steps + 2}", "conv_last": f"model.{3 * steps + 4}",
              **{f"conv_up{m}": f"model.{3 * m}" for m in range(1, steps + 1)}}
    renamed = {}
    for key, value in state.items():
        if m := re.match(r"body\.(\d+)\.rdb(\d)\.conv(\d)\.(\w+)$", key):
            renamed[f"model.1.sub.{m[1]}.RDB{m[2]}.conv{m[3]}.0.{m[4]}"] = value
        else:
            module, _, param = key.rpartition(".")
            renamed[f"{places[module]}.{param}"] = value
    return renamed


def in_layout(entry: Published, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    if entry.layout == "esrgan":
        return to_esrgan_names(state)
    if entry.layout == "esrgan-old":
        return to_old_esrgan_names(state, entry.arguments["blocks"],
                                   steps=3 if entry.arguments["scale"] == 8 else 2)
    return dict(state)


def write(path: Path, state: dict[str, torch.Tensor], wrapper: str | None) -> Path:
    state = {key: value.detach().clone().float().contiguous() for key, value in state.items()}
    torch.save({wrapper: state} if wrapper else state, path)
    return path


def read(path: Path) -> dict[str, torch.Tensor]:
    return find_state_dict(read_checkpoint(path), path=path)


def image(side: int = 8, seed: int = 1) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(1, 3, side, side, generator=generator)


# ---- detection and loading: no reference needed ----------------------------------------


@pytest.mark.parametrize("entry", PUBLISHED, ids=_id)
def test_every_published_layout_is_detected_and_loads(entry: Published, tmp_path: Path) -> None:
    source = ours(entry)
    path = write(tmp_path / entry.file, in_layout(entry, source.state_dict()), entry.wrapper)
    state = read(path)
    assert layout_of(state) == entry.layout
    assert detect(state) == (entry.arch, entry.arguments)
    built = (RRDBNet if entry.arch == "rrdbnet" else SRVGGNetCompact)(**entry.arguments)
    load_state_dict_strict(built, filter_state(state, entry.arch), source=entry.file)
    x = image()
    with torch.no_grad():
        assert torch.equal(built.eval()(x), source(x))


@pytest.mark.parametrize("entry", [e for e in PUBLISHED if e.small], ids=_id)
def test_real_shapes_are_detected_too(entry: Published) -> None:
    # The published sizes, on the meta device: no memory, only the shapes detection reads.
    network = RRDBNet if entry.arch == "rrdbnet" else SRVGGNetCompact
    with torch.device("meta"):
        state = in_layout(Published(**{**entry.__dict__, "small": {}}),
                          network(**entry.real).state_dict())
    assert detect(state) == (entry.arch, entry.real)


WRAPPINGS: dict[str, Callable[[dict], Any]] = {
    "params": lambda s: {"params": s},
    "params_ema": lambda s: {"params_ema": s, "iter": 5000},
    "bare": lambda s: s,
    "model_state_dict": lambda s: {"model_state_dict": s, "epoch": 3},
    "module.": lambda s: {f"module.{k}": v for k, v in s.items()},
    "_orig_mod.": lambda s: {"params": {f"_orig_mod.{k}": v for k, v in s.items()}},
}


@pytest.mark.parametrize("wrapping", WRAPPINGS)
@pytest.mark.parametrize("arch", ["rrdbnet", "srvgg"])
def test_every_wrapping_unwraps_to_the_same_network(wrapping: str, arch: str,
                                                    tmp_path: Path) -> None:
    entry = published("RealESRGAN_x4plus.pth" if arch == "rrdbnet" else
                      "realesr-animevideov3.pth")
    source = ours(entry)
    torch.save(WRAPPINGS[wrapping](source.state_dict()), tmp_path / entry.file)
    state = read(tmp_path / entry.file)
    assert detect(state) == (arch, entry.arguments)
    assert state.keys() == source.state_dict().keys()


def test_params_ema_is_preferred_over_params(tmp_path: Path) -> None:
    # BasicSR's training checkpoints hold both; Real-ESRGAN's inference script takes the EMA.
    entry = published("RealESRGAN_x4plus.pth")
    ema, raw = ours(entry, seed=1), ours(entry, seed=2)
    both = {"params": raw.state_dict(), "params_ema": ema.state_dict()}
    torch.save(both, tmp_path / "net_g_400000.pth")
    state = read(tmp_path / "net_g_400000.pth")
    assert torch.equal(state["conv_first.weight"], ema.state_dict()["conv_first.weight"])


def test_half_precision_files_are_detected(tmp_path: Path) -> None:
    entry = published("realesr-general-x4v3.pth")
    state = {k: v.half() for k, v in ours(entry).state_dict().items()}
    torch.save({"params": state}, tmp_path / "fp16.pth")
    assert detect(read(tmp_path / "fp16.pth")) == ("srvgg", entry.arguments)


@pytest.mark.parametrize(("scale", "features", "blocks", "growth"),
                         [(1, 8, 1, 4), (2, 24, 3, 12), (4, 32, 5, 16), (8, 12, 4, 6)])
@pytest.mark.parametrize("layout", ["basicsr", "esrgan", "esrgan-old"])
def test_any_rrdbnet_width_depth_growth_and_scale(scale: int, features: int, blocks: int,
                                                  growth: int, layout: str) -> None:
    arguments = {"scale": scale, "channels": 3, "features": features, "blocks": blocks,
                 "growth": growth}
    entry = Published("any.pth", "rrdbnet", layout, None, arguments)
    state = in_layout(entry, RRDBNet(**arguments).state_dict())
    assert detect(state) == ("rrdbnet", arguments)
    assert filter_state(state, "rrdbnet").keys() == RRDBNet(**arguments).state_dict().keys()


@pytest.mark.parametrize(("scale", "features", "convs", "channels"),
                         [(1, 16, 2, 3), (2, 32, 8, 3), (3, 24, 5, 3), (4, 64, 0, 1)])
def test_any_srvgg_size(scale: int, features: int, convs: int, channels: int) -> None:
    arguments = {"channels": channels, "features": features, "convs": convs, "scale": scale,
                 "activation": "prelu"}
    assert detect(SRVGGNetCompact(**arguments).state_dict()) == ("srvgg", arguments)


def test_srvgg_without_prelu_weights_is_named_not_guessed() -> None:
    # ReLU and LeakyReLU have no weights, so their state dicts are identical: detect refuses
    # to pick one (a wrong pick loads strictly and silently changes every output).
    relu = SRVGGNetCompact(features=8, convs=2, activation="relu").state_dict()
    leaky = SRVGGNetCompact(features=8, convs=2, activation="leakyrelu").state_dict()
    assert relu.keys() == leaky.keys() and "body.1.weight" not in relu
    assert detect(relu) is None
    assert "ReLU or LeakyReLU" in closest_match(relu)
    # Said by the user, either is detected, and a wrong word does not fit.
    for activation in ("relu", "leakyrelu"):
        assert detect(relu, activation=activation)[1]["activation"] == activation
    assert detect(relu, activation="prelu") is None
    prelu = SRVGGNetCompact(features=8, convs=2).state_dict()
    assert detect(prelu, activation="relu") is None  # its slopes would be unexpected keys


@pytest.mark.parametrize("activation", ["relu", "leakyrelu"])
def test_import_of_a_weightless_srvgg_needs_the_activation(activation: str,
                                                           tmp_path: Path) -> None:
    source = randomise(SRVGGNetCompact(features=8, convs=2, activation=activation), seed=3)
    path = write(tmp_path / "compact.pth", source.state_dict(), "params")
    with pytest.raises(WeightsError, match="ReLU or LeakyReLU") as refused:
        import_checkpoint(IMPORTER, SuperResTranslator, path)
    assert "\n" not in str(refused.value)
    assert main(["import", "superres", str(path), "--activation", activation, "--out",
                 str(tmp_path / "weights")]) == 0
    loaded = from_pretrained(tmp_path / "weights", expected=SuperResTranslator)
    assert loaded.model_config()["activation"] == activation
    x = image()
    with torch.no_grad():
        assert (loaded.generators["G"](x) - source(x)).abs().max() < TOLERANCE


def test_x8_adds_conv_up3_and_leaves_other_scales_alone() -> None:
    x4 = RRDBNet(scale=4, features=8, blocks=1, growth=4)
    x8 = RRDBNet(scale=8, features=8, blocks=1, growth=4)
    assert set(x8.state_dict()) - set(x4.state_dict()) == {"conv_up3.weight", "conv_up3.bias"}
    for scale in (1, 2, 4):
        keys = RRDBNet(scale=scale, features=8, blocks=1, growth=4).state_dict().keys()
        assert keys == x4.state_dict().keys()
        assert not any(k.startswith("conv_up3") for k in keys)
    assert x8.conv_first.in_channels == 3  # x8 folds nothing, like x4
    out = x8(torch.rand(2, 3, 5, 7))
    assert out.shape == (2, 3, 40, 56)


def test_x4_output_is_unchanged_by_the_x8_extension() -> None:
    # x4 is still exactly conv_first .. conv_up2 .. conv_last, computed by hand here.
    net = randomise(RRDBNet(scale=4, features=8, blocks=1, growth=4), seed=3)
    x = torch.rand(1, 3, 6, 6)
    with torch.no_grad():
        feat = net.conv_first(x)
        feat = feat + net.conv_body(net.body(feat))
        for conv in (net.conv_up1, net.conv_up2):
            feat = F.leaky_relu(conv(F.interpolate(feat, scale_factor=2, mode="nearest")), 0.2)
        expected = net.conv_last(F.leaky_relu(net.conv_hr(feat), 0.2))
        assert torch.equal(net(x), expected)


def test_a_file_no_rule_knows_gets_the_closest_match_and_first_differing_key() -> None:
    assert detect({"model.0.weight": torch.zeros(2, 2)}) is None
    stylegan = {"style.1.weight": torch.zeros(512, 512), "conv1.conv.weight": torch.zeros(1)}
    assert detect(stylegan) is None
    assert "closest match:" in closest_match(stylegan)  # state -> one line
    assert "\n" not in closest_match(stylegan)
    # One key missing from a real layout: that layout, and that key, in the file's names.
    state = to_esrgan_names(RRDBNet(features=8, blocks=2, growth=4).state_dict())
    del state["HRconv.bias"]
    nearest = nearest_network(state)
    assert detect(state) is None
    assert (nearest.arch, nearest.layout, nearest.key) == ("rrdbnet", "esrgan", "HRconv.bias")
    assert "first key that differs: missing key 'HRconv.bias'" in str(nearest)
    assert "missing key 'HRconv.bias'" in closest_match(state)
    # The old sequential layout names its keys back the same way.
    old = to_old_esrgan_names(RRDBNet(features=8, blocks=2, growth=4).state_dict(), 2)
    del old["model.8.bias"]  # conv_hr of a x4 file
    assert nearest_network(old).key == "model.8.bias"
    # A key too many, and a misshapen one, are named the same way.
    state = SRVGGNetCompact(features=8, convs=2).state_dict()
    assert nearest_network({**state, "body.9.weight": torch.zeros(3)}).key == "body.9.weight"
    state["body.2.weight"] = torch.zeros(8, 8, 1, 1)
    assert "'body.2.weight' has shape (8, 8, 1, 1)" in nearest_network(state).problem


def test_filter_state_renames_only_for_its_own_architecture() -> None:
    esrgan = to_esrgan_names(RRDBNet(features=8, blocks=1, growth=4).state_dict())
    assert "conv_body.weight" in filter_state(esrgan, "rrdbnet")
    assert filter_state(esrgan, "srvgg") == esrgan  # not an SRVGG file: left for load to name
    with pytest.raises(ValueError, match="unknown architecture"):
        filter_state(esrgan, "swinir")


# ---- importing ------------------------------------------------------------------------------


@pytest.mark.parametrize("entry", [published("realesr-general-x4v3.pth"),
                                   published("RealESRGAN_x8.pth"),
                                   published("RRDB_ESRGAN_x4_old_arch.pth")], ids=_id)
def test_import_command_reads_srvgg_x8_and_old_files(entry: Published, tmp_path: Path) -> None:
    source = ours(entry)
    write(tmp_path / entry.file, in_layout(entry, source.state_dict()), entry.wrapper)
    assert main(["import", "superres", str(tmp_path / entry.file), "--out",
                 str(tmp_path / "weights")]) == 0
    loaded = from_pretrained(tmp_path / "weights", expected=SuperResTranslator)
    assert loaded.config.arch == entry.arch and loaded.config.scale == entry.arguments["scale"]
    arguments = {k: v for k, v in entry.arguments.items() if k != "channels"}
    exact = {"bicubic_skip": False, "residual_scale": 0.2} if entry.arch == "rrdbnet" else {}
    assert read_meta(tmp_path / "weights")["model"] == {"arch": entry.arch, **arguments, **exact}
    x = image()
    with torch.no_grad():
        assert (loaded.generators["G"](x) - source(x)).abs().max() < TOLERANCE


def test_import_names_the_closest_match_of_an_unknown_file(tmp_path: Path) -> None:
    torch.save({"params": {"head.weight": torch.zeros(4, 3, 3, 3)}}, tmp_path / "x.pth")
    with pytest.raises(WeightsError, match=r"not an RRDBNet checkpoint.*closest match") as error:
        import_checkpoint(IMPORTER, SuperResTranslator, tmp_path / "x.pth")
    assert "\n" not in str(error.value) and "x.pth" in str(error.value)


@pytest.mark.parametrize("entry", PUBLISHED, ids=_id)
def test_pull_detection_picks_superres_alone(entry: Published, tmp_path: Path) -> None:
    # `translate pull` shows a file to every installed importer: only ours may claim it.
    from translate.hub.foreign import detect as pull_detect
    from translate.plugins import get_registry

    path = write(tmp_path / entry.file, in_layout(entry, ours(entry).state_dict()), entry.wrapper)
    importer, values = pull_detect(read(path), get_registry().importers, source=entry.file)
    assert importer is IMPORTER and values["arch"] == entry.arch


def test_pull_names_the_closest_superres_layout(tmp_path: Path) -> None:
    from translate.hub.foreign import detect as pull_detect
    from translate.plugins import get_registry

    state = to_esrgan_names(RRDBNet(features=8, blocks=2, growth=4).state_dict())
    del state["HRconv.bias"]
    with pytest.raises(WeightsError, match=r"closest: a rrdbnet checkpoint in ESRGAN names "
                                           r"that does not fit: missing key 'HRconv.bias'"):
        pull_detect(state, get_registry().importers, source="cut.pth")


def test_detect_gives_config_values_for_the_host() -> None:
    # What `translate pull` and `translate import` build from: arch + the model block.
    entry = published("realesr-general-x4v3.pth")
    values = IMPORTER.detect(ours(entry).state_dict())
    assert values == {"arch": "srvgg", "features": 64, "convs": 32, "scale": 4,
                      "activation": "prelu"}
    config = SuperResTranslator.make_config(IMPORTER.preset, values=values)
    assert SuperResTranslator(config).model_config() == values
    assert IMPORTER.recognises({"style.1.weight": torch.zeros(2)}) is None


# ---- denoise strength (dni) ----------------------------------------------------------------


@pytest.mark.parametrize("strength", [None, 0.0, 0.3, 1.0])
def test_import_blends_general_x4v3_with_its_wdn_companion(strength: float | None,
                                                           tmp_path: Path) -> None:
    a = ours(published("realesr-general-x4v3.pth"), seed=1).state_dict()
    b = ours(published("realesr-general-wdn-x4v3.pth"), seed=2).state_dict()
    general = write(tmp_path / "realesr-general-x4v3.pth", a, "params")
    weak = write(tmp_path / "realesr-general-wdn-x4v3.pth", b, "params")
    command = ["import", "superres", str(general), "--wdn", str(weak), "--out",
               str(tmp_path / "weights")]
    if strength is not None:
        command += ["--denoise-strength", str(strength)]
    assert main(command) == 0
    loaded = from_pretrained(tmp_path / "weights", expected=SuperResTranslator)
    expected = interpolate_states(a, b, 0.5 if strength is None else strength)  # 0.5: default
    got = loaded.generators["G"].state_dict()
    assert all(torch.equal(got[key], value) for key, value in expected.items())
    provenance = read_meta(tmp_path / "weights")["provenance"]
    assert provenance["imported_from"] == f"{general.name}, {weak.name}"


def test_denoise_strength_needs_a_companion_of_the_same_network(tmp_path: Path) -> None:
    general = write(tmp_path / "realesr-general-x4v3.pth",
                    ours(published("realesr-general-x4v3.pth")).state_dict(), "params")
    with pytest.raises(WeightsError, match="needs --wdn"):
        import_checkpoint(IMPORTER, SuperResTranslator, general, denoise_strength=0.5)
    anime = write(tmp_path / "realesr-animevideov3.pth",
                  ours(published("realesr-animevideov3.pth")).state_dict(), "params")
    with pytest.raises(WeightsError, match=r"convs 16, but .*convs 32; one folder"):
        import_checkpoint(IMPORTER, SuperResTranslator, general, wdn=anime,
                          denoise_strength=0.5)


def test_interpolate_states_blends_key_by_key() -> None:
    a = ours(published("realesr-general-x4v3.pth"), seed=1).state_dict()
    b = ours(published("realesr-general-wdn-x4v3.pth"), seed=2).state_dict()
    assert all(torch.equal(v, a[k]) for k, v in interpolate_states(a, b, 1.0).items())
    assert all(torch.equal(v, b[k]) for k, v in interpolate_states(a, b, 0.0).items())
    half = interpolate_states(a, b, 0.5)
    assert torch.allclose(half["body.0.weight"], (a["body.0.weight"] + b["body.0.weight"]) / 2)
    with pytest.raises(WeightsError, match="between 0 and 1"):
        interpolate_states(a, b, 1.5)
    with pytest.raises(WeightsError, match="is in only one"):
        interpolate_states(a, ours(published("realesr-animevideov3.pth")).state_dict(), 0.5)


# ---- the curated index ----------------------------------------------------------------------

CURATED_KEYS = ["name", "translator", "arch", "repo", "file", "revision", "sha256", "licence",
                "description", "source"]


def test_curated_entries_are_complete_and_agree_with_the_zoo() -> None:
    entries = json.loads((files("translate_superres") / "curated.json").read_text())
    assert len({entry["name"] for entry in entries}) == len(entries)
    by_file = {entry.file: entry for entry in PUBLISHED}
    for entry in entries:
        assert list(entry) == CURATED_KEYS, entry["name"]
        assert entry["translator"] == "superres" and entry["arch"] in ("rrdbnet", "srvgg")
        assert entry["revision"] is None or re.fullmatch(r"[0-9a-f]{40}", entry["revision"])
        assert entry["sha256"] is None or re.fullmatch(r"[0-9a-f]{64}", entry["sha256"])
        assert entry["repo"] is None or re.fullmatch(r"[\w.-]+/[\w.-]+", entry["repo"])
        assert entry["licence"] and entry["source"] and "\n" not in entry["description"]
        name = Path(entry["file"]).name
        if name in by_file:
            assert entry["arch"] == by_file[name].arch, name


# ---- the reference implementations -------------------------------------------------------


class _Registry:
    """Stand-in for basicsr.utils.registry.ARCH_REGISTRY: registering is all it does."""

    def register(self, obj: Any = None) -> Any:
        return (lambda o: o) if obj is None else obj


def _basicsr_stubs(basicsr: Path) -> None:
    # basicsr/__init__ and archs/__init__ import every architecture, CUDA ops included; the
    # arch files need only the registry and three helpers of arch_util, whose own code runs.
    stub_package("basicsr", basicsr / "basicsr")
    stub_package("basicsr.utils", basicsr / "basicsr" / "utils")
    stub_package("basicsr.utils.registry", ARCH_REGISTRY=_Registry())
    stub_package("basicsr.utils.download_util", load_file_from_url=None)
    stub_package("basicsr.archs", basicsr / "basicsr" / "archs")
    from torch.nn import init
    from torch.nn.modules.batchnorm import _BatchNorm

    helpers = functions_from(basicsr / "basicsr" / "archs" / "arch_util.py",
                             ("default_init_weights", "make_layer", "pixel_unshuffle"),
                             {"torch": torch, "nn": nn, "F": F, "init": init,
                              "_BatchNorm": _BatchNorm, "math": math})
    stub_package("basicsr.archs.arch_util", **helpers)


@pytest.fixture
def reference() -> Any:
    """reference(kind, entry) -> the reference module for entry, built in a sandbox."""
    with isolated_imports():
        yield _build_reference


def _build_reference(kind: str, arguments: dict[str, Any]) -> nn.Module:
    a = arguments
    if kind == "basicsr":
        _basicsr_stubs(reference_checkout("XPixelGroup/BasicSR"))
        from basicsr.archs.rrdbnet_arch import RRDBNet as Reference

        return Reference(num_in_ch=3, num_out_ch=3, scale=a["scale"], num_feat=a["features"],
                         num_block=a["blocks"], num_grow_ch=a["growth"])
    if kind == "srvgg":
        realesrgan = reference_checkout("xinntao/Real-ESRGAN")
        _basicsr_stubs(reference_checkout("XPixelGroup/BasicSR"))
        stub_package("realesrgan", realesrgan / "realesrgan")
        stub_package("realesrgan.archs", realesrgan / "realesrgan" / "archs")
        from realesrgan.archs.srvgg_arch import SRVGGNetCompact as Reference

        return Reference(num_in_ch=3, num_out_ch=3, num_feat=a["features"],
                         num_conv=a["convs"], upscale=a["scale"], act_type=a["activation"])
    if kind == "ai-forever":
        checkout = reference_checkout("ai-forever/Real-ESRGAN")
        stub_package("RealESRGAN", checkout / "RealESRGAN")  # its __init__ downloads weights
        from RealESRGAN.rrdbnet_arch import RRDBNet as Reference

        return Reference(num_in_ch=3, num_out_ch=3, scale=a["scale"], num_feat=a["features"],
                         num_block=a["blocks"], num_grow_ch=a["growth"])
    if kind == "esrgan":
        checkout = reference_checkout("xinntao/ESRGAN")
        arch = load_file("esrgan_rrdbnet_arch", checkout / "RRDBNet_arch.py")
        return arch.RRDBNet(3, 3, a["features"], a["blocks"], gc=a["growth"])
    if kind == "esrgan-old":
        checkout = reference_checkout("xinntao/ESRGAN", ref="old-arch")
        load_file("block", checkout / "block.py")  # architecture.py does `import block as B`
        arch = load_file("esrgan_old_architecture", checkout / "architecture.py")
        return arch.RRDB_Net(3, 3, a["features"], a["blocks"], gc=a["growth"],
                             upscale=a["scale"], norm_type=None, act_type="leakyrelu",
                             mode="CNA", res_scale=1, upsample_mode="upconv")
    raise AssertionError(kind)


def _max_difference(theirs: nn.Module, mine: nn.Module, x: torch.Tensor) -> float:
    with torch.no_grad():
        expected = theirs(x.clone())  # some references work in place
        return (mine(x) - expected).abs().max().item()


@pytest.mark.parametrize("entry", PUBLISHED, ids=_id)
def test_equals_the_reference(entry: Published, tmp_path: Path, reference: Any) -> None:
    theirs = randomise(reference(entry.reference, entry.arguments), seed=4)
    path = write(tmp_path / entry.file, theirs.state_dict(), entry.wrapper)
    state = read(path)
    found = detect(state)
    assert found == (entry.arch, entry.arguments)
    mine = (RRDBNet if found[0] == "rrdbnet" else SRVGGNetCompact)(**found[1]).eval()
    load_state_dict_strict(mine, filter_state(state, found[0]), source=entry.file)
    assert _max_difference(theirs, mine, image()) < TOLERANCE


def test_old_layout_x8_equals_the_reference(tmp_path: Path, reference: Any) -> None:
    arguments = {"scale": 8, "channels": 3, "features": 8, "blocks": 1, "growth": 32}
    theirs = randomise(reference("esrgan-old", arguments), seed=5)
    state = dict(theirs.state_dict())
    assert detect(state) == ("rrdbnet", arguments)
    mine = RRDBNet(**arguments).eval()
    load_state_dict_strict(mine, filter_state(state, "rrdbnet"), source="old x8")
    assert _max_difference(theirs, mine, torch.rand(1, 3, 5, 6)) < TOLERANCE


def test_interpolate_states_equals_realesrgans_dni(tmp_path: Path) -> None:
    realesrgan = reference_checkout("xinntao/Real-ESRGAN")
    a = ours(published("realesr-general-x4v3.pth"), seed=1).state_dict()
    b = ours(published("realesr-general-wdn-x4v3.pth"), seed=2).state_dict()
    general = write(tmp_path / "realesr-general-x4v3.pth", a, "params")
    weak = write(tmp_path / "realesr-general-wdn-x4v3.pth", b, "params")
    with isolated_imports():
        _basicsr_stubs(reference_checkout("XPixelGroup/BasicSR"))
        utils = load_file("realesrgan_utils", realesrgan / "realesrgan" / "utils.py")
        for strength in (0.0, 0.3, 0.5, 1.0):
            # inference_realesrgan.py: dni_weight = [denoise_strength, 1 - denoise_strength]
            theirs = utils.RealESRGANer.dni(None, str(general), str(weak),
                                            [strength, 1 - strength])["params"]
            mine = interpolate_states(a, b, strength)
            assert all(torch.equal(mine[key], theirs[key]) for key in theirs)


# ---- one file at the published size ------------------------------------------------------


@pytest.fixture(scope="module")
def full_size(tmp_path_factory: pytest.TempPathFactory) -> tuple[nn.Module, Path]:
    """RealESRGAN_x4plus.pth at its real size (64 features, 23 blocks): about 67 MB."""
    torch.manual_seed(6)
    source = RRDBNet(**RRDB_X4).eval()  # ESRGAN's near-identity init keeps 23 blocks tame
    path = tmp_path_factory.mktemp("full") / "RealESRGAN_x4plus.pth"
    return source, write(path, source.state_dict(), "params_ema")


def test_full_size_rrdbnet_file(full_size: tuple[nn.Module, Path]) -> None:
    source, path = full_size
    assert sum(p.numel() for p in source.parameters()) == RRDBNET_X4_PARAMETERS
    assert 66e6 < path.stat().st_size < 68e6  # the published file: 67,040,989 bytes
    state = read(path)
    assert detect(state) == ("rrdbnet", RRDB_X4)
    mine = RRDBNet(**RRDB_X4).eval()
    load_state_dict_strict(mine, filter_state(state, "rrdbnet"), source=path.name)
    x = torch.rand(1, 3, 6, 6)
    with torch.no_grad():
        assert torch.equal(mine(x), source(x))


def test_full_size_rrdbnet_equals_the_reference(full_size: tuple[nn.Module, Path],
                                                reference: Any) -> None:
    source, path = full_size
    theirs = reference("basicsr", RRDB_X4)
    theirs.load_state_dict(read(path), strict=True)
    assert _max_difference(theirs.eval(), source, torch.rand(1, 3, 6, 6)) < TOLERANCE
