#!/usr/bin/env python3
"""Fingerprints of every bundled starter: infer outputs on fixed inputs, and eval figures.

    python tools/starter_outputs.py > before.json    (on one commit)
    python tools/starter_outputs.py > after.json     (on another), then diff them

Outputs are sha256s of the uint8 pixels each starter returns for one fixed input per
translator (held-out data, every other input at its default); `--eval` adds the
translator's own `evaluate` figures on its default data. A refactor that claims to keep
the starters' behaviour must leave both unchanged.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys

import numpy as np
import torch
from PIL import Image


def open_source(registry, spec: str):
    if hasattr(registry, "open_source"):
        return registry.open_source(spec)
    from translate.data.sources import open_source  # before the registry opened sources

    return open_source(spec, registry)


def fixed_inputs(cls, registry) -> dict:
    from translate.data.images import to_mode

    source = open_source(registry, cls.datasets[0]).split("heldout")
    image = to_mode(source[0]["image"], "RGBA" if cls.keeps_alpha else cls.image_mode)
    mask = Image.new("L", image.size, 0)
    mask.paste(255, (image.width // 4, image.height // 4, image.width // 2, image.height // 2))
    return {p.name: {"image": image, "mask": mask}.get(p.kind, p.default) for p in cls.inputs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval", action="store_true", help="also run each evaluate()")
    parser.add_argument("names", nargs="*", help="translators (default: every installed one)")
    args = parser.parse_args()
    from translate.plugins import load_plugins

    registry = load_plugins()
    report = {}
    for name in args.names or sorted(registry.translators):
        cls = registry.translators[name]
        folder = str(cls.starter_weights)
        translator = cls.from_pretrained(folder)
        torch.manual_seed(0)
        with torch.no_grad():
            images = translator.infer(**fixed_inputs(cls, registry))
        digest = hashlib.sha256(b"".join(np.ascontiguousarray(np.asarray(i)).tobytes()
                                         for i in images)).hexdigest()
        entry = {"outputs": len(images), "sizes": [list(i.size) for i in images],
                 "sha256": digest}
        if args.eval:
            source = open_source(registry, cls.datasets[0])
            with torch.no_grad():
                entry["eval"] = translator.evaluate(source.split("heldout"), source.split("train"))
        report[name] = entry
        print(f"{name}: {digest[:16]}", file=sys.stderr, flush=True)
    json.dump(report, sys.stdout, indent=2, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
