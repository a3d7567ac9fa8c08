"""Atomic file writes: a reader, or a run killed at any moment, never sees half a file.

Each file goes through a temp file named `.NAME.XXXXXXXX.tmp` in the same folder, which
is fsynced and renamed over the target. A process killed mid-write (SIGKILL: no
cleanup runs) leaves that temp file behind; `remove_stale_temps` clears them.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path

from translate.errors import WriteError

# Exactly the names `_temp_path` makes, so nothing else in a folder is ever removed.
_TEMP_NAME = re.compile(r"^\..+\.[0-9a-f]{8}\.tmp$")


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write data to path through a temp file in the same folder, fsync, then rename.

    A failure (a full disk, no permission) raises WriteError in one line; path keeps
    its old content and no temp file is left.
    """
    path = Path(path)
    return atomic_write_files({path: data})[0]


def atomic_write_files(files: Mapping[str | Path, bytes]) -> list[Path]:
    """Write several files so that a failure while writing leaves every one of them unchanged.

    All temp files are written and fsynced first; only then are they renamed over their
    targets, in the order given. Running out of space happens while writing, so it
    changes nothing; only a crash between two renames could leave the first files new and
    the rest old (the weights folder records hashes, so such a mix is refused on loading).
    """
    targets = [Path(p) for p in files]
    written: list[tuple[Path, Path]] = []
    try:
        for path, data in zip(targets, files.values(), strict=True):
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = _temp_path(path)
                # os.open with 0o666 lets the umask decide permissions, as for any ordinary
                # file (tempfile.mkstemp would make every output private to its owner).
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
                written.append((tmp, path))
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
            except OSError as error:
                raise _write_error(path, error) from None
        for tmp, path in written:
            try:
                os.replace(tmp, path)
            except OSError as error:
                raise _write_error(path, error) from None
    except BaseException:
        for tmp, _ in written:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        raise
    for folder in dict.fromkeys(path.parent for path in targets):
        _fsync_dir(folder)
    return targets


def remove_stale_temps(folder: str | Path) -> list[Path]:
    """Delete the temp files that killed writers left in folder (only ours, by name)."""
    folder = Path(folder)
    removed = []
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        for entry in folder.iterdir():
            if _TEMP_NAME.match(entry.name) and entry.is_file() and not entry.is_symlink():
                with contextlib.suppress(FileNotFoundError):
                    entry.unlink()
                    removed.append(entry)
    return removed


def _temp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")


def _write_error(path: Path, error: OSError) -> WriteError:
    reason = error.strerror or str(error) or type(error).__name__
    code = f" (errno {error.errno})" if error.errno else ""
    existed = "was left unchanged" if path.exists() else "was not created"
    return WriteError(f"cannot write {path}: {reason}{code}; {path.name} {existed}",
                      error.errno)


def _fsync_dir(folder: Path) -> None:
    # The rename is only durable once the directory entry itself is on disk.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
