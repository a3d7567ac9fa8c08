#!/usr/bin/env python3
"""Write docs/reference.md: every public host name, from the one list in translate.__all__.

    python tools/host_reference.py          (rewrites docs/reference.md)
    python tools/host_reference.py --check  (exits 1 if the page is out of date)

tests/test_reference.py runs the check, so the page and the package never disagree.
"""

from __future__ import annotations

import argparse
import enum
import inspect
import re
import sys
import types
from pathlib import Path

PAGE = Path(__file__).resolve().parents[1] / "docs" / "reference.md"

INTRO = """\
# Host reference

Every name a plugin may import from gan-translate, generated from `translate.__all__`
by `tools/host_reference.py` (do not edit by hand). Import them from the package
itself: `from translate import run_any_size, psnr`. Each is defined in the module named;
the guide ([writing-a-plugin.md](writing-a-plugin.md)) shows them in use.
"""


# Type aliases carry no docstring of their own.
ALIASES = {"Batch": "A training batch: named tensors (`batch[\"image\"]`).",
           "Losses": "Named loss terms; the engine sums them."}


def summary(name: str, obj: object) -> str:
    if isinstance(obj, types.GenericAlias):
        return ALIASES.get(name, "")
    doc = inspect.getdoc(obj) or ""
    return doc.split("\n\n")[0].replace("\n", " ").strip()


def signature(name: str, obj: object) -> str:
    if isinstance(obj, types.GenericAlias):
        return f"{name} = {obj}"
    if inspect.isclass(obj) and issubclass(obj, enum.Enum):
        members = ", ".join(f"{m.name} = {m.value!r}" for m in obj)
        return f"class {name}(enum.Enum): {members}"
    if inspect.isclass(obj):
        try:
            return f"class {name}{inspect.signature(obj)}"
        except (TypeError, ValueError):
            return f"class {name}"
    if callable(obj):
        try:
            return f"{name}{inspect.signature(obj)}"
        except (TypeError, ValueError):
            return name
    return name


def _stable(text: str) -> str:
    # Function defaults print with their memory address; the name is what a reader needs.
    return re.sub(r"<function (\w+) at 0x[0-9a-f]+>", r"\1", text)


def render() -> str:
    import translate

    sections: dict[str, list[str]] = {}
    for name, module in translate._PUBLIC.items():
        obj = getattr(translate, name)
        text = summary(name, obj)
        sections.setdefault(module, []).append(
            f"### `{name}`\n\n```python\n{_stable(signature(name, obj))}\n```\n\n{text}\n")
    parts = [INTRO]
    for module, entries in sections.items():
        parts.append(f"## {module}\n")
        parts.extend(entries)
    return "\n".join(parts)


def undocumented() -> list[str]:
    import translate

    return [name for name in translate._PUBLIC if not summary(name, getattr(translate, name))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare, write nothing")
    args = parser.parse_args()
    text = render()
    if args.check:
        if not PAGE.is_file() or PAGE.read_text() != text:
            sys.exit(f"{PAGE} is out of date: run python tools/host_reference.py")
        return
    PAGE.write_text(text)
    print(f"wrote {PAGE}")


if __name__ == "__main__":
    main()
