"""The host's layers only point down: no module imports one above it, however it imports.

Every import counts: at module level, inside functions (lazy) and under TYPE_CHECKING. Each
host module is assigned a layer below; a module missing from the table fails the test, so
a new module has to be placed before it lands. There is no exception list.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "translate"

# From the bottom. A module may import modules of its own layer or any layer below.
LAYERS: dict[int, tuple[str, ...]] = {
    1: (  # types and errors: the shared vocabulary
        "translate.errors", "translate.paths", "translate.files", "translate.types",
        "translate.config", "translate.hookspecs", "translate.version", "translate.progress",
    ),
    2: (  # leaf machinery
        "translate.device", "translate.data.images", "translate.data.tensors",
        "translate.data.masks", "translate.data.source", "translate.data.pipeline",
        "translate.data.crops", "translate.nn", "translate.losses", "translate.metrics",
        "translate.engine.checkpoint", "translate.engine.ema", "translate.engine.schedule",
        "translate.engine.samples", "translate.engine.watch", "translate.hub.layout",
        "translate.hub.reading", "translate.hub.card", "translate.inference",
        "translate.evaluation",
    ),
    3: (  # the translator contract
        "translate.translator",
    ),
    4: (  # services
        "translate.engine.trainer", "translate.engine", "translate.data.sources",
        "translate.data.paired", "translate.data.unpaired", "translate.data.holes",
        "translate.data",
        "translate.hub.sync", "translate.hub.importers", "translate.hub.resolve",
        "translate.hub.pretrained", "translate.hub.catalog", "translate.hub.index",
        "translate.hub.foreign", "translate.hub",
    ),
    5: (  # the registry and the host's own hook implementations
        "translate.plugins", "translate.builtins",
    ),
    6: (  # apps: the command line, the test kit, the public facade
        "translate.cli", "translate.testing", "translate", "translate.__main__",
    ),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int | None:
    """The layer of the longest table entry that module is, or lies inside."""
    best: tuple[int, int] | None = None
    for layer, names in LAYERS.items():
        for name in names:
            if (module == name or module.startswith(name + ".")) and \
                    (best is None or len(name) > best[0]):
                best = (len(name), layer)
    return None if best is None else best[1]


def imports_of(path: Path, module: str, modules: set[str] | None = None) -> set[str]:
    """Every translate.* module imported anywhere in the file.

    `from translate.hub import layout` imports the module translate.hub.layout; importing a
    submodule also runs its package's __init__, but that is the package's own business.
    """
    modules = set(MODULES) if modules is None else modules
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package
                for _ in range(node.level - 1):
                    anchor = anchor.rpartition(".")[0]
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in modules else base)
    return {name for name in found if name == "translate" or name.startswith("translate.")}


def target(name: str, modules: set[str]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


MODULES = {module_name(path): path for path in ROOT.rglob("*.py")}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_host_module_has_a_layer(module: str) -> None:
    assert layer_of(module) is not None, f"{module}: add it to LAYERS in {__file__}"


def test_no_module_imports_a_layer_above_its_own() -> None:
    upward = []
    for module, path in sorted(MODULES.items()):
        own = layer_of(module)
        for name in sorted(imports_of(path, module)):
            imported = target(name, set(MODULES))
            if imported is None or imported == module:
                continue
            theirs = layer_of(imported)
            if own is not None and theirs is not None and theirs > own:
                upward.append(f"{module} (layer {own}) imports {imported} (layer {theirs})")
    assert not upward, "\n".join(upward)


def test_the_layer_check_catches_lazy_and_type_checking_imports(tmp_path: Path) -> None:
    probe = ROOT / "files.py"
    source = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
              "    from translate.plugins import Registry\n"
              "def f():\n    from translate.cli import main\n")
    fake = tmp_path / "files.py"
    fake.write_text(source)
    names = imports_of(fake, "translate.files", set(MODULES))
    assert {"translate.plugins", "translate.cli"} <= names
    assert probe.exists()
