"""Pickle payloads: a checkpoint that would run code when unpickled never runs it.

Every pickle is read with torch.load(weights_only=True), passed explicitly, so even
TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 cannot turn code execution back on. Each refusal is one
line that names what the pickle asked for, whole, and never repeats torch's advice to
re-run with weights_only=False. Allow-listed inert objects: tests/hub/test_reading.py.
"""

from __future__ import annotations

import io
import os
import pickle
import re
import zipfile
from pathlib import Path

import pytest
import torch

from translate.errors import WeightsError
from translate.hub.reading import ACCEPTED_FORMATS, read_checkpoint


class Payload:
    """Unpickled without weights_only, calls `function(*args)`."""

    def __init__(self, function, *args) -> None:
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


def payloads(marker: Path) -> dict[str, tuple[object, str]]:
    """name -> (what the checkpoint holds, the global the refusal must name)."""
    touch = f"open({str(marker)!r}, 'w').write('ran')"
    return {
        "os.system": ({"state_dict": {"w": torch.zeros(1)}, "x": Payload(os.system,
                                                                          f"touch {marker}")},
                      "posix.system"),
        "builtins.exec": ({"w": torch.zeros(1), "hook": Payload(exec, touch)}, "builtins.exec"),
        "builtins.eval": ([Payload(eval, touch)], "builtins.eval"),
        "subprocess.Popen": ({"model": Payload(__import__("subprocess").Popen,
                                               ["touch", str(marker)])}, "subprocess.Popen"),
        "nested in a tensor dict": ({"params_ema": {"w": torch.zeros(2),
                                                    "meta": {"deep": [Payload(exec, touch)]}}},
                                    "builtins.exec"),
    }


def write(kind: str, value: object, path: Path) -> Path:
    if kind == "zip":
        torch.save(value, path)
    elif kind == "legacy":
        torch.save(value, path, _use_new_zipfile_serialization=False)
    elif kind == "archive":  # a plain zip holding the checkpoint, as LaMa ships
        buffer = io.BytesIO()
        torch.save(value, buffer)
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("models/best.ckpt", buffer.getvalue())
    return path


@pytest.mark.parametrize("force", [False, True], ids=["default", "FORCE_NO_WEIGHTS_ONLY"])
@pytest.mark.parametrize("kind", ["zip", "legacy", "archive"])
def test_five_payloads_never_run_and_are_refused_in_one_whole_line(tmp_path, monkeypatch,
                                                                    kind, force):
    if force:
        monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    marker = tmp_path / "ran"
    for name, (value, asked) in payloads(marker).items():
        path = write(kind, value, tmp_path / f"{name.replace(' ', '_')}.pth")
        with pytest.raises(WeightsError) as caught:
            read_checkpoint(path)
        message = str(caught.value)
        assert not marker.exists(), f"{name} ({kind}) ran its payload"
        assert "\n" not in message
        assert "weights_only" not in message, message
        # Legacy pickles name some modules the Python 2 way (subprocess as commands).
        function = asked.rsplit(".")[-1]
        assert re.search(rf"refused: the pickle asks for [\w.]*\b{function}, ", message), message
        # Whole, not cut at a fixed width: it ends with the formats that are accepted.
        assert message.endswith(f"gan-translate reads {ACCEPTED_FORMATS}"), message


def test_an_import_of_a_payload_is_one_line_from_the_cli(tmp_path, capsys):
    from translate.cli import main

    marker = tmp_path / "ran"
    value, _ = payloads(marker)["os.system"]
    path = write("zip", value, tmp_path / "latest_net_G.pth")
    code = main(["import", "pix2pix", str(path), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1 and not marker.exists()
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"error: {path}: refused: the pickle asks for posix.system"), err
    assert "weights_only" not in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_a_damaged_pickle_says_so_without_torch_advice(tmp_path):
    path = tmp_path / "cut.pth"
    torch.save({"w": torch.zeros(4)}, path)
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(WeightsError) as caught:
        read_checkpoint(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: not a readable PyTorch checkpoint (")
    assert "weights_only" not in message and "\n" not in message


@pytest.mark.parametrize("protocol", [2, 4])
def test_a_bare_pickle_with_a_payload_never_runs(tmp_path, protocol):
    """A pickle written by pickle.dumps, not torch.save, is refused the same way."""
    marker = tmp_path / "ran"
    path = tmp_path / "raw.pt"
    payload = Payload(os.system, f"touch {marker}")
    path.write_bytes(pickle.dumps({"w": 1, "x": payload}, protocol=protocol))
    with pytest.raises(WeightsError) as caught:
        read_checkpoint(path)
    message = str(caught.value)
    assert not marker.exists()
    assert "\n" not in message and "weights_only" not in message
    if protocol == 2:
        assert "refused: the pickle asks for posix.system" in message
    else:  # torch reads only protocol-2 opcodes; the one it stopped at is named
        assert message == f"{path}: not a readable PyTorch checkpoint (Unsupported operand 149)"
