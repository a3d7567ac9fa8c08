"""The real demo's request times before and after its background engine build.

Starts `translate demo` (default `--backend auto`) with a fresh TRANSLATE_HOME, offline,
and sends one translator's tab (superres by default: the bundled starter) a photo from
scikit-image: the first request, answered by eager PyTorch while a child process builds the
engine; then, once the child has written its check, a few more, which load and use the
engine. Prints each request's wall time and how far its pixels are from the first's.
`--backend` starts the demo with another engine (bf16 needs no child: it is built in the
serving process on request 1).

    python bench/demo_engines.py [--side 128] [--requests 3] [--port 7871]
    python bench/demo_engines.py --backend openvino_bf16
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=128, help="the photo's side in pixels")
    parser.add_argument("--requests", type=int, default=3, help="requests after the build")
    parser.add_argument("--port", type=int, default=7871)
    parser.add_argument("--backend", default="auto", help="translate demo's --backend")
    args = parser.parse_args()
    from gradio_client import Client, handle_file
    from skimage import data

    home = Path(tempfile.mkdtemp())
    env = dict(os.environ, TRANSLATE_HOME=str(home), HF_HUB_OFFLINE="1",
               GRADIO_ANALYTICS_ENABLED="False")
    env.pop("TRANSLATE_BACKEND", None)
    translate = Path(sys.executable).parent / "translate"
    server = subprocess.Popen([str(translate), "demo", "--port", str(args.port),
                               "--backend", args.backend], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(240):
            try:
                client = Client(f"http://127.0.0.1:{args.port}/", verbose=False)
                break
            except Exception:  # not serving yet
                time.sleep(0.5)
        else:
            raise SystemExit("the demo did not start within 120 s")
        photo = home / "photo.png"
        Image.fromarray(data.astronaut()).resize((args.side, args.side), Image.BICUBIC).save(photo)

        def request() -> tuple[float, np.ndarray]:
            start = time.perf_counter()
            path = client.predict(handle_file(str(photo)), api_name="/superres")
            # superres answers (bicubic, network) for its before/after slider: the network's
            # picture is the last one.
            path = path[-1] if isinstance(path, (list, tuple)) else path
            return time.perf_counter() - start, np.asarray(Image.open(path)).astype(int)

        seconds, first = request()
        print(f"request 1: {seconds:.2f} s (--backend {args.backend}: eager while a child "
              f"builds the engine, or the engine if none is needed), "
              f"output {first.shape[1]}x{first.shape[0]}")
        engines = home / "cache" / "inference"
        start = time.perf_counter()
        while not list((engines / "checks").glob("*.json")):
            if time.perf_counter() - start > 600:
                raise SystemExit("no engine after 600 s")
            time.sleep(0.5)
        print(f"engine ready {time.perf_counter() - start:.1f} s after request 1")
        time.sleep(2)  # the child exits just after writing its check
        for number in range(2, args.requests + 2):
            seconds, pixels = request()
            print(f"request {number}: {seconds:.2f} s, largest difference from request 1: "
                  f"{int(np.abs(pixels - first).max())} uint8 levels")
        for log in sorted((engines / "logs").glob("*.log")):
            print(f"{log.name}: {log.read_text().strip().splitlines()[-1]}")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
