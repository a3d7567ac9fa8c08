"""Fast inference engines for the demo, built in a child process so that no visitor waits.

Every model the demo loads on the CPU runs through `Translator.use_backend(backend,
build_elsewhere=...)`. The first request for a generator whose engine is not on disk yet
is answered by eager PyTorch, and starts `python -m translate_demo.engines` on the same
weights at low priority. The child exports and checks the engine into the shared cache
(`$TRANSLATE_HOME/cache/inference`, where `translate infer` finds it too); the request
after it has finished loads the engine in about a second, and every later server start
finds it there at once.

Why a child process, not a thread: torch.export patches `nn.Module.__call__` for the whole
process while it traces, so an export in a thread would capture the requests the server
answers meanwhile.

    python -m translate_demo.engines --translator MODULE:CLASS --weights FOLDER \\
        --generator NAME --channels C [--multiple M] [--backend auto] [--cache-dir D]
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import hashlib
import importlib
import os
import subprocess
import sys
import threading
from collections import deque
from pathlib import Path

from translate.inference.backends import EngineBuilder
from translate.translator import Translator

# Builds run one at a time: each uses a core, and the visitors need the rest.
NICENESS = 10


class ChildBuild:
    """One engine build: queued until the child before it ends, then a child process."""

    def __init__(self, builds: EngineBuilds, command: list[str], log: Path) -> None:
        self._builds, self.command, self.log = builds, command, log
        self.process: subprocess.Popen | None = None

    def done(self) -> bool:
        self._builds.advance()
        return self.process is not None and self.process.poll() is not None


class EngineBuilds:
    """Hands each model's missing engines to child processes, one child at a time."""

    def __init__(self, backend: str, *, cache_dir: Path) -> None:
        self.backend, self.cache_dir = backend, cache_dir
        self._queue: deque[ChildBuild] = deque()
        self._running: ChildBuild | None = None
        self._lock = threading.Lock()
        # A server stopped normally leaves no child behind (Ctrl-C reaches the child too).
        atexit.register(self.close)

    def builder(self, cls: type[Translator], folder: str | Path) -> EngineBuilder:
        """`build_elsewhere` for a model of `cls` loaded from `folder`."""
        target = f"{cls.__module__}:{cls.__qualname__}"

        def build(name: str, channels: int, multiple: int) -> ChildBuild:
            command = [sys.executable, "-m", "translate_demo.engines", "--translator", target,
                       "--weights", str(folder), "--generator", name, "--channels",
                       str(channels), "--multiple", str(multiple), "--backend", self.backend,
                       "--cache-dir", str(self.cache_dir)]
            # One log per weights and generator, so a rebuild replaces its own log only.
            where = hashlib.sha256(str(Path(folder).resolve()).encode()).hexdigest()[:12]
            log = self.cache_dir / "logs" / f"{cls.name}-{name}-{where}.log"
            pending = ChildBuild(self, command, log)
            with self._lock:
                self._queue.append(pending)
            self.advance()
            return pending

        return build

    def advance(self) -> None:
        """Start the next queued build if none is running."""
        with self._lock:
            if self._running is not None and self._running.process.poll() is None:
                return
            self._running = None
            if not self._queue:
                return
            pending = self._queue.popleft()
            pending.log.parent.mkdir(parents=True, exist_ok=True)
            # The child imports the same classes as this process, test-only ones included.
            env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
            with open(pending.log, "wb") as log:
                pending.process = subprocess.Popen(
                    pending.command, stdout=log, stderr=subprocess.STDOUT, env=env,
                    stdin=subprocess.DEVNULL)
            self._running = pending

    def close(self) -> None:
        """Stop the running build and drop the queued ones (a half build leaves no file)."""
        with self._lock:
            self._queue.clear()
            running, self._running = self._running, None
        if running is not None and running.process.poll() is None:
            running.process.kill()
            running.process.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build one generator's inference engine "
                                     "into the cache, as the demo would use it.")
    parser.add_argument("--translator", required=True, metavar="MODULE:CLASS")
    parser.add_argument("--weights", required=True, metavar="FOLDER")
    parser.add_argument("--generator", required=True, metavar="NAME")
    parser.add_argument("--channels", required=True, type=int)
    parser.add_argument("--multiple", type=int, default=1)
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--cache-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    with contextlib.suppress(OSError):
        os.nice(NICENESS)
    import torch

    from translate.errors import TranslateError

    # One thread: the export is mostly Python, and the server keeps the other cores.
    torch.set_num_threads(1)
    module, _, qualname = args.translator.partition(":")
    try:
        cls = importlib.import_module(module)
        for part in qualname.split("."):
            cls = getattr(cls, part)
        model = cls.from_pretrained(args.weights, device="cpu")
        model.use_backend(args.backend, cache_dir=args.cache_dir)
        runner = model.runner(args.generator, channels=args.channels, multiple=args.multiple)
    except TranslateError as error:
        print(f"{args.generator}: no engine: {error}", file=sys.stderr)
        return 1
    print(f"{args.generator}: {getattr(runner, 'name', 'eager')} "
          f"({getattr(runner, 'reason', 'no engine')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
