"""ONNX export: one file for every batch and size, checked against PyTorch; one-line refusals."""

from __future__ import annotations

import pytest
import torch

from support.inference_nets import NETS, BranchingNet, CustomOpNet
from translate.errors import TranslateError
from translate.inference import export
from translate.inference.export import ExportError, check_onnx, dynamic_ranges, export_onnx

pytest.importorskip("onnxscript", reason="ONNX export needs onnxscript (gan-translate[fast])")
pytest.importorskip("onnxruntime", reason="checking an export needs onnxruntime")

SLOW = {"resnet", "unet"}


def _symbolic(path) -> list:
    import onnx

    model = onnx.load(str(path))
    return [dim.dim_param or dim.dim_value for dim in
            model.graph.input[0].type.tensor_type.shape.dim]


def test_one_file_matches_pytorch_at_three_sizes(exported_rrdbnet):
    net, path = exported_rrdbnet
    assert check_onnx(path, net, sizes=NETS["rrdbnet"][2]) < 1e-4
    assert not net.training
    batch, channels, height, width = _symbolic(path)
    assert isinstance(batch, str) and isinstance(height, str) and isinstance(width, str)
    assert channels == 3
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left
    assert path.stat().st_mode & 0o044  # readable by others, as any file the user writes


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SLOW))
def test_every_architecture_matches_pytorch_at_three_sizes(name, tmp_path):
    build, example, sizes = NETS[name]
    net = build()
    path = export_onnx(net, tmp_path / f"{name}.onnx", example=torch.rand(example))
    assert check_onnx(path, net, sizes=sizes) < 1e-4


def test_proved_ranges_are_stored(exported_rrdbnet):
    ranges = dynamic_ranges(exported_rrdbnet[1])
    assert set(ranges) == {"batch", "height", "width"}
    assert ranges["batch"] == (1, None)


@pytest.mark.slow
def test_fixed_axes_stay_fixed(tmp_path):
    build, example, _ = NETS["rrdbnet"]
    net = build()
    path = export_onnx(net, tmp_path / "net.onnx", example=torch.rand(example),
                       dynamic=("batch",))
    assert check_onnx(path, net, sizes=[(1, 3, 16, 16), (4, 3, 16, 16)]) < 1e-4
    with pytest.raises(Exception):  # noqa: B017 - ONNX Runtime's own error for a wrong size
        check_onnx(path, net, sizes=[(1, 3, 20, 16)])


def test_an_operation_without_onnx_translation_is_refused_in_one_line(tmp_path):
    with pytest.raises(ExportError) as caught:
        export_onnx(CustomOpNet(), tmp_path / "net.onnx", example=torch.rand(1, 3, 8, 8))
    message = str(caught.value)
    assert "\n" not in message
    assert message == ("CustomOpNet cannot be exported to ONNX: operation "
                       "translate_tests.wobble has no ONNX translation")
    assert not (tmp_path / "net.onnx").exists()
    assert isinstance(caught.value, TranslateError)


def test_data_dependent_control_flow_is_refused_in_one_line(tmp_path):
    with pytest.raises(ExportError) as caught:
        export_onnx(BranchingNet(), tmp_path / "net.onnx", example=torch.rand(1, 3, 8, 8))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("BranchingNet cannot be exported to ONNX: data-dependent "
                              "control flow at inference_nets.py:")
    assert "if features.mean() > 0:" in message


def test_a_wrong_export_fails_its_check(exported_rrdbnet):
    _, path = exported_rrdbnet
    build, _, sizes = NETS["rrdbnet"]
    net = build()
    with torch.no_grad():
        net.conv_last.bias.add_(1e-3)
    with pytest.raises(ExportError, match=r"RRDBNet-\w+.onnx differs from PyTorch by 1\.00e-03"):
        check_onnx(path, net, sizes=sizes)
    assert check_onnx(path, net, sizes=sizes, tolerance=None) == pytest.approx(1e-3, rel=1e-3)


def test_a_missing_package_is_named():
    with pytest.raises(TranslateError, match="ONNX export needs the no_such_package package"):
        export._require("no_such_package", "ONNX export")


class LatentAndLabel(torch.nn.Module):
    """A conditional generator's two inputs, as digits' and faces' take them."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = torch.nn.Embedding(10, 8)
        self.up = torch.nn.ConvTranspose2d(8, 3, 4)

    def forward(self, latent: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        # (N, 8), (N,) -> (N, 3, 4, 4)
        return self.up((latent * self.embed(label))[:, :, None, None])


@pytest.mark.slow
def test_several_inputs_each_get_a_dynamic_batch(tmp_path):
    torch.manual_seed(0)
    net = LatentAndLabel()
    path = export_onnx(net, tmp_path / "net.onnx",
                       example=(torch.randn(1, 8), torch.tensor([3])))
    cases = [(torch.randn(n, 8), torch.randint(10, (n,))) for n in (1, 2, 5)]
    assert check_onnx(path, net, inputs=cases) < 1e-5
