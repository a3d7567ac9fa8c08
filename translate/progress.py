"""Progress of long loops, and a deadline for them, without knowing who is watching.

A translator's long loop (superres's tiles) calls `report(done, total)` as it goes. With
nobody listening, as on the command line, that costs one context-variable lookup. The
demo wraps one request in `reporting(callback, time_limit=...)`: every report reaches the
callback (which moves the visitor's progress bar), and a report made once the request's
time is up raises `TimeLimitExceeded` from inside the loop, so the worker is freed for the
next visitor.

Cancellation is cooperative: it happens at the next report (a tile boundary, say), and a
loop that never reports runs to its end. The reporter lives in a context variable, so
requests served side by side in threads each see their own.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from translate.errors import TranslateError

Callback = Callable[[int, int], None]  # callback(done, total)


class TimeLimitExceeded(TranslateError):
    """A request ran past the time one request may take."""


@dataclass(frozen=True)
class _Reporter:
    callback: Callback | None
    deadline: float | None  # time.monotonic() after which reports raise
    limit: float | None  # the limit in seconds, for the message


_current: ContextVar[_Reporter | None] = ContextVar("translate_progress", default=None)


def report(done: int, total: int) -> None:
    """Say that `done` of `total` steps are finished; raise if the request's time is up.

    The deadline is only enforced while work remains (`done < total`): finished work is
    never thrown away.
    """
    reporter = _current.get()
    if reporter is None:
        return
    if done < total and reporter.deadline is not None and time.monotonic() > reporter.deadline:
        raise TimeLimitExceeded(f"took longer than {reporter.limit:g} s, the limit for one "
                                "request here")
    if reporter.callback is not None:
        reporter.callback(done, total)


@contextlib.contextmanager
def reporting(callback: Callback | None = None, *,
              time_limit: float | None = None) -> Iterator[None]:
    """Send this context's reports to `callback`, and end it at `time_limit` seconds."""
    if time_limit is not None and time_limit <= 0:
        raise ValueError(f"time_limit must be positive, got {time_limit}")
    deadline = time.monotonic() + time_limit if time_limit is not None else None
    token = _current.set(_Reporter(callback, deadline, time_limit))
    try:
        yield
    finally:
        _current.reset(token)
