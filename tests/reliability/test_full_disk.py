"""Full disk: a checkpoint or an export that cannot be written is one line, and the files
already on disk stay exactly as they were, so the run continues once there is room.

The disk is full for translate.files alone: its view of `os` opens files normally but
fails the writes of chosen files with ENOSPC halfway through, as a full disk does.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

import translate.files
from support.reliability import TRAIN, one_line_error
from translate.engine.checkpoint import CHECKPOINT_NAME, verify_checkpoint
from translate.errors import WriteError
from translate.hub import layout

NO_SPACE = f"No space left on device (errno {errno.ENOSPC})"


class _Filling:
    """A file on a disk with room for half of what is written to it."""

    def __init__(self, handle) -> None:
        self.handle = handle

    def write(self, data: bytes) -> int:
        self.handle.write(data[: len(data) // 2])
        self.handle.flush()
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name: str):
        return getattr(self.handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.handle.close()


class FullDisk:
    """`os` as translate.files sees it, with writes to files that `full(path)` picks failing."""

    def __init__(self, full: Callable[[Path], bool]) -> None:
        self.full, self.paths, self.refused = full, {}, []

    def __getattr__(self, name: str):
        return getattr(os, name)

    def open(self, path, flags, mode=0o777):
        fd = os.open(path, flags, mode)
        self.paths[fd] = Path(path)
        return fd

    def fdopen(self, fd, mode="r"):
        handle = os.fdopen(fd, mode)
        path = self.paths.pop(fd)
        if self.full(path):
            self.refused.append(path)
            return _Filling(handle)
        return handle


@pytest.fixture
def fill_disk(monkeypatch: pytest.MonkeyPatch):
    def fill(full: Callable[[Path], bool]) -> FullDisk:
        disk = FullDisk(full)
        monkeypatch.setattr(translate.files, "os", disk)
        return disk

    yield fill
    monkeypatch.undo()


def temp_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


def checkpoint_writes_after(count: int) -> Callable[[Path], bool]:
    seen = []

    def full(path: Path) -> bool:
        if path.name.startswith(f".{CHECKPOINT_NAME}."):
            seen.append(path)
            return len(seen) > count
        return False

    return full


def test_a_checkpoint_that_does_not_fit_is_one_line_and_the_last_one_stays(cli, images, tmp_path,
                                                                          fill_disk):
    run = tmp_path / "run"
    args = [*TRAIN, "--data", f"folder:{images}", "--out", str(run), "--steps", "6",
            "--set", "checkpoint_every=2"]
    disk = fill_disk(checkpoint_writes_after(1))  # room for the step-2 checkpoint only
    code, _, err = cli(*args)
    assert code == 1 and disk.refused
    assert one_line_error(err) == (
        f"error: step 4: checkpoint not saved: cannot write {run / CHECKPOINT_NAME}: "
        f"{NO_SPACE}; {CHECKPOINT_NAME} was left unchanged; the checkpoint of step 2 in {run} "
        "was read back, is finite and intact (continue from it with --resume)")
    assert verify_checkpoint(run / CHECKPOINT_NAME) == 2
    assert temp_files(run) == [] and not (run / "weights").exists()

    fill_disk(lambda path: False)  # space freed
    code, _, err = cli(*args, "--resume")
    assert code == 0, err
    assert verify_checkpoint(run / CHECKPOINT_NAME) == 6
    layout.verify_folder(run / "weights")


def test_an_export_that_does_not_fit_leaves_the_old_weights_and_latest(cli, images, tmp_path,
                                                                       fill_disk, isolated_home):
    run = tmp_path / "run"
    args = [*TRAIN, "--data", f"folder:{images}", "--out", str(run)]
    assert cli(*args, "--steps", "2")[0] == 0
    weights, latest = run / "weights", isolated_home / "latest" / "invert"
    before = {p.name: p.read_bytes() for p in weights.iterdir()}
    pointer = latest.read_bytes()

    fill_disk(lambda path: path.parent == weights)
    code, _, err = cli(*args, "--steps", "4", "--resume")
    assert code == 1
    assert one_line_error(err) == (
        f"error: weights not exported: cannot write {weights / 'model.safetensors'}: "
        f"{NO_SPACE}; model.safetensors was left unchanged; the checkpoint of step 4 in {run} "
        "was read back, is finite and intact (continue from it with --resume), and resuming "
        "it exports them")
    assert {p.name: p.read_bytes() for p in weights.iterdir()} == before
    assert latest.read_bytes() == pointer
    assert temp_files(run) == []

    fill_disk(lambda path: False)
    code, _, err = cli(*args, "--steps", "4", "--resume")
    assert code == 0, err
    assert layout.read_meta(weights)["provenance"]["steps"] == 4
    layout.verify_folder(weights)


def test_a_weights_folder_changes_all_at_once_or_not_at_all(tmp_path, fill_disk):
    folder = tmp_path / "weights"
    meta = {"format_version": 2, "translator": "invert", "model": {"arch": ""}}
    layout.write_folder(folder, tensors={"w": torch.zeros(3)}, meta=meta, card="old card")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    for name in ("model.safetensors", "config.json", "README.md"):
        fill_disk(lambda path, name=name: path.name.startswith(f".{name}."))
        with pytest.raises(WriteError) as caught:
            layout.write_folder(folder, tensors={"w": torch.ones(3)}, meta=meta, card="new")
        assert str(caught.value) == (f"cannot write {folder / name}: {NO_SPACE}; "
                                     f"{name} was left unchanged")
        assert {p.name: p.read_bytes() for p in folder.iterdir()} == before, name
    assert isinstance(caught.value, OSError)  # callers catching the OS's errors still do


def test_an_image_that_does_not_fit_is_an_image_error(tmp_path, fill_disk):
    from PIL import Image

    from translate.data.images import save_image
    from translate.errors import ImageError

    fill_disk(lambda path: True)
    with pytest.raises(ImageError, match="No space left on device"):
        save_image(Image.new("RGB", (2, 2)), tmp_path / "out.png")
    assert list(tmp_path.iterdir()) == []
