"""What a demo request may hand a handler: only files that Gradio itself put in its cache.

Handlers run with `preprocess=False` (so that our image policy, not Gradio's, decodes
uploads), and Gradio checks a payload's path against its cache only when the payload
carries `meta: {"_type": "gradio.FileData"}`. A request can leave `meta` out and name any
path on the server, so every path is checked here before anything opens it:

* it must resolve, symlinks followed, to a file inside the upload cache;
* it must be a regular file (not a FIFO, a device, a socket or a directory), opened
  without blocking, so a FIFO cannot hold the queue;
* it must be no larger than the upload cap, which bounds how much is read.

Anything else gets one and the same message, whether or not the path exists, so a reply
never tells a visitor what is on the server; each refusal is logged with the path asked for.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from collections.abc import Iterator

from translate.errors import TranslateError

log = logging.getLogger("translate_demo")

# O_NONBLOCK: opening a FIFO that nobody writes to returns at once instead of waiting.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


class RefusedPath(TranslateError):
    """A request named a file that was not uploaded through this demo."""


def upload_folder() -> str:
    """The folder Gradio stores uploads and example files in (GRADIO_TEMP_DIR), resolved."""
    from gradio.utils import get_upload_folder

    return os.path.realpath(get_upload_folder())


def refusal(what: str) -> RefusedPath:
    return RefusedPath(f"{what}: the file was not uploaded through this page; upload it again")


@contextlib.contextmanager
def _opened_in_cache(path: object, what: str, max_bytes: int) -> Iterator[tuple[str, int]]:
    """Yield (resolved path, open descriptor) for a regular file inside the upload cache."""
    if not isinstance(path, str) or not path or "\0" in path:
        raise refusal(what)
    cache = upload_folder()
    real = os.path.realpath(path)
    if real == cache or os.path.commonpath([real, cache]) != cache:
        log.warning("refused %s: %r is outside the upload cache %s", what, path, cache)
        raise refusal(what)
    try:
        descriptor = os.open(real, _OPEN_FLAGS)
    except OSError:
        log.warning("refused %s: %r cannot be opened", what, path)
        raise refusal(what) from None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            log.warning("refused %s: %r is not a regular file", what, path)
            raise refusal(what)
        if info.st_size > max_bytes:
            raise RefusedPath(f"{what}: the file is over the upload limit of {max_bytes} bytes")
        yield real, descriptor
    finally:
        os.close(descriptor)


def read_upload(path: object, *, what: str, max_bytes: int) -> bytes:
    """The bytes of an uploaded file, checked as the module docstring says."""
    with _opened_in_cache(path, what, max_bytes) as (_, descriptor):
        chunks, left = [], max_bytes + 1
        while left > 0 and (chunk := os.read(descriptor, min(left, 1 << 20))):
            chunks.append(chunk)
            left -= len(chunk)
    data = b"".join(chunks)
    if len(data) > max_bytes:  # grew since fstat: still never read past the cap
        raise RefusedPath(f"{what}: the file is over the upload limit of {max_bytes} bytes")
    return data


def checked_upload_path(path: object, *, what: str, max_bytes: int) -> str:
    """The resolved path of an uploaded file, for a handler that must open it itself."""
    with _opened_in_cache(path, what, max_bytes) as (real, _):
        return real
