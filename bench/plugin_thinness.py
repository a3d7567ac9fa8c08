#!/usr/bin/env python3
"""How much of each built-in plugin is its own science: networks, losses and defaults.

    python bench/plugin_thinness.py [PLUGIN_DIR ...]

A plugin should hold its networks, its losses and its defaults; everything else (data
formats, conversions, evaluation loops, importer plumbing) is glue the host should own.
Code lines are counted without blank lines, comments or docstrings, over the plugin's
package (not its tests, starter weights or examples), and each line is put in one bucket:

* networks: classes deriving from a torch module, and everything in a module that holds
  only networks and their helpers (a module whose classes are all networks);
* losses: the translator's `generate`, `discriminator_loss` and `generator_loss`, and
  functions or classes whose names say loss or penalty;
* defaults: config dataclasses, preset and architecture tables (module-level constants),
  and a translator's class-level declarations;
* glue: the rest.

The host-v2 target is at least 60% networks + losses + defaults for every plugin.
"""

from __future__ import annotations

import ast
import io
import sys
import tokenize
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOSS_METHODS = {"generate", "discriminator_loss", "generator_loss"}
MODULE_BASES = {"Module", "Sequential", "ModuleList", "ModuleDict", "Conv2d", "Linear",
                "PatchDiscriminator", "Parameter"}


def code_lines(source: str) -> set[int]:
    """Line numbers that hold code: not blank, not only a comment, not a docstring."""
    lines = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                              tokenize.DEDENT, tokenize.ENDMARKER, tokenize.ENCODING):
            lines.update(range(token.start[0], token.end[0] + 1))
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                and isinstance(first.value.value, str):
            lines -= set(range(first.lineno, first.end_lineno + 1))
    return lines


def _names(bases: list[ast.expr]) -> set[str]:
    found = set()
    for base in bases:
        node = base.value if isinstance(base, ast.Subscript) else base
        found.add(node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", ""))
    return found


def _span(node: ast.AST) -> set[int]:
    start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    return set(range(start, node.end_lineno + 1))


def classify(path: Path, networks: set[str]) -> dict[int, str]:
    """line -> bucket for one file; `networks` collects network class names across files."""
    tree = ast.parse(path.read_text())
    buckets: dict[int, str] = {}
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    for node in classes:
        if _names(node.bases) & (MODULE_BASES | networks) and not _is_translator(node):
            networks.add(node.name)
    network_module = bool(classes) and all(c.name in networks for c in classes)
    for node in tree.body:
        span = _span(node)
        if isinstance(node, ast.ClassDef):
            if node.name in networks:
                bucket = "networks"
            elif _is_config(node):
                bucket = "defaults"
            elif _is_translator(node):
                _translator(node, buckets)
                continue
            else:
                bucket = "losses" if _lossy(node.name) else "glue"
        elif isinstance(node, ast.FunctionDef):
            bucket = ("losses" if _lossy(node.name) else
                      "networks" if network_module else "glue")
        elif isinstance(node, ast.Assign | ast.AnnAssign) and _constant_table(node):
            bucket = "networks" if network_module else "defaults"
        elif isinstance(node, ast.Import | ast.ImportFrom | ast.Expr):
            bucket = "networks" if network_module else "glue"
        else:
            bucket = "glue"
        for line in span:
            buckets[line] = bucket
    return buckets


def _is_config(node: ast.ClassDef) -> bool:
    return "TrainConfig" in _names(node.bases) or node.name.endswith("Config")


def _is_translator(node: ast.ClassDef) -> bool:
    return bool(_names(node.bases) & {"Translator"}) or node.name.endswith("Translator")


def _lossy(name: str) -> bool:
    return any(word in name.lower() for word in ("loss", "penalty"))


def _constant_table(node: ast.Assign | ast.AnnAssign) -> bool:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return all(isinstance(t, ast.Name) and t.id.isupper() for t in targets)


def _translator(node: ast.ClassDef, buckets: dict[int, str]) -> None:
    for line in _span(node):
        buckets[line] = "glue"
    for item in node.body:
        if isinstance(item, ast.FunctionDef):
            bucket = "losses" if item.name in LOSS_METHODS or _lossy(item.name) else \
                "networks" if item.name in ("build_generators", "build_discriminators") else "glue"
        else:
            bucket = "defaults"  # class-level declarations: name, task, presets, inputs, ...
        for line in _span(item):
            buckets[line] = bucket


def measure(plugin: Path) -> Counter:
    package = next(plugin.glob("translate_*/"))
    files = sorted(p for p in package.rglob("*.py") if "starter" not in p.parts)
    networks: set[str] = set()
    for path in files:  # twice: a network may derive from one defined in a later file
        classify(path, networks)
    counts: Counter = Counter()
    for path in files:
        buckets = classify(path, networks)
        for line in code_lines(path.read_text()):
            counts[buckets.get(line, "glue")] += 1
    return counts


def main() -> None:
    plugins = [Path(a) for a in sys.argv[1:]] or sorted(
        p for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").is_file())
    print(f"{'plugin':<10} {'lines':>6} {'networks':>9} {'losses':>7} {'defaults':>9} "
          f"{'glue':>6} {'own share':>10}")
    for plugin in plugins:
        counts = measure(plugin)
        total = sum(counts.values())
        own = counts["networks"] + counts["losses"] + counts["defaults"]
        print(f"{plugin.name:<10} {total:>6} {counts['networks']:>9} {counts['losses']:>7} "
              f"{counts['defaults']:>9} {counts['glue']:>6} {own / total:>9.0%}")


if __name__ == "__main__":
    main()
