"""What the bf16 engines give a person: trained weights, real photos, pictures compared.

`bench/cpu_inference.py` times the engines on full-size networks with random weights; this
runs each plugin that infers through `Translator.runner` (superres, pix2pix, cyclegan) on
its bundled starter and its own demo examples, through eager fp32 and each engine, and
compares the saved pictures with eager's in uint8 levels: the largest and the mean
difference, and the PSNR against eager's picture. The time of each call is the median of
--repeats after one warm-up; the starters are small networks, so the full-size speed-ups
are cpu_inference's. `--save DIR` writes every picture, to look at side by side.

    python bench/bf16_engines.py
    python bench/bf16_engines.py --plugins superres --engines eager,bf16 --save /tmp/bf16
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from translate.data.images import open_image
from translate.hub.resolve import load_translator
from translate.inference.backends import usable
from translate.plugins import get_registry

PLUGINS = ("superres", "pix2pix", "cyclegan")


def examples(cls) -> list[tuple[str, dict]]:
    """(name, infer arguments) for each of the plugin's demo examples with an image."""
    folder = Path(str(cls.examples))
    found = []
    for picture in sorted(folder.iterdir()):
        if picture.suffix not in (".png", ".jpg") or ".mask." in picture.name:
            continue
        settings_file = picture.with_suffix(".json")
        settings = json.loads(settings_file.read_text()) if settings_file.exists() else {}
        settings.pop("caption", None)
        found.append((picture.stem, {"image": open_image(picture, mode=cls.image_mode),
                                     **settings}))
    return found


def compare(picture: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    difference = picture.astype(np.float64) - reference.astype(np.float64)
    mse = float((difference**2).mean())
    return {"max_levels": float(np.abs(difference).max()),
            "mean_levels": float(np.abs(difference).mean()),
            "psnr_db": float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)}


def median_seconds(call, repeats: int) -> tuple[float, object]:
    result = call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plugins", type=lambda s: s.split(","), default=list(PLUGINS))
    parser.add_argument("--engines", type=lambda s: s.split(","),
                        default=["eager", "openvino", "bf16", "openvino_bf16"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--save", type=Path, default=None, help="write every picture here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    # eager first: every other engine's pictures are compared with its.
    engines = ["eager"] + [e for e in args.engines if e != "eager" and usable(e)]
    registry = get_registry()
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        for plugin in args.plugins:
            cls = registry.translator(plugin)
            cases = examples(cls)
            pictures: dict[tuple[str, str], np.ndarray] = {}
            for engine in engines:
                translator, _ = load_translator(cls, None, device="cpu")
                translator.use_backend(engine, cache_dir=cache)
                for example, inputs in cases:
                    seconds, (picture, *_) = median_seconds(
                        lambda inputs=inputs, translator=translator: translator.infer(**inputs),
                        args.repeats)
                    pixels = np.asarray(picture)
                    pictures[engine, example] = pixels
                    if args.save:
                        args.save.mkdir(parents=True, exist_ok=True)
                        picture.save(args.save / f"{plugin}-{example}-{engine}.png")
                    rows.append({"plugin": plugin, "example": example, "engine": engine,
                                 "seconds": seconds, "size": picture.size,
                                 **compare(pixels, pictures["eager", example])})
    eager_time = {(r["plugin"], r["example"]): r["seconds"] for r in rows if r["engine"] == "eager"}
    print(f"bundled starters on their demo examples, {args.threads} threads, median of "
          f"{args.repeats}; differences against eager fp32's picture, in uint8 levels")
    print(f"{'plugin':<9} {'example':<16} {'out':>9} {'engine':<14} {'s':>7} {'speed-up':>9} "
          f"{'max':>5} {'mean':>6} {'PSNR dB':>8}")
    for r in rows:
        speedup = eager_time[r["plugin"], r["example"]] / r["seconds"]
        size = "x".join(map(str, r["size"]))
        print(f"{r['plugin']:<9} {r['example']:<16} {size:>9} {r['engine']:<14} "
              f"{r['seconds']:>7.3f} {speedup:>8.2f}x {r['max_levels']:>5.0f} "
              f"{r['mean_levels']:>6.3f} {r['psnr_db']:>8.1f}")


if __name__ == "__main__":
    main()
