"""translate.progress: reports reach the reporter of their own context, and a deadline stops
the work at the next report while work remains."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from translate import progress
from translate.errors import TranslateError


def test_a_report_with_nobody_listening_does_nothing() -> None:
    progress.report(3, 10)  # no reporter installed: the command line


def test_reports_reach_the_callback_and_stop_when_the_context_ends() -> None:
    seen: list[tuple[int, int]] = []
    with progress.reporting(lambda done, total: seen.append((done, total))):
        for done in range(3):
            progress.report(done, 3)
        progress.report(3, 3)
    progress.report(1, 3)
    assert seen == [(0, 3), (1, 3), (2, 3), (3, 3)]


def test_a_report_past_the_deadline_raises_while_work_remains() -> None:
    with progress.reporting(time_limit=0.05):
        progress.report(0, 2)
        time.sleep(0.1)
        progress.report(2, 2)  # finished work is never thrown away
        with pytest.raises(progress.TimeLimitExceeded) as caught:
            progress.report(1, 2)
    assert isinstance(caught.value, TranslateError)
    assert str(caught.value) == "took longer than 0.05 s, the limit for one request here"


def test_nested_and_threaded_contexts_keep_their_own_reporter() -> None:
    outer: list[int] = []
    inner: list[int] = []
    other: list[int] = []
    with progress.reporting(lambda done, total: outer.append(done)):
        with progress.reporting(lambda done, total: inner.append(done)):
            progress.report(1, 9)
        progress.report(2, 9)

        def elsewhere() -> None:
            with progress.reporting(lambda done, total: other.append(done)):
                progress.report(7, 9)
            progress.report(8, 9)  # this thread's context has no reporter left

        thread = threading.Thread(target=elsewhere)
        thread.start()
        thread.join()
    assert (outer, inner, other) == ([2], [1], [7])


def test_a_time_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"), progress.reporting(time_limit=0):
        pass


def test_importing_it_imports_nothing_heavy() -> None:
    code = "import sys, translate.progress; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"
