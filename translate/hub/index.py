"""Curated weights: published checkpoints a plugin vouches for, by name.

A plugin lists the real checkpoints its importers read (Real-ESRGAN's x4plus, big-lama,
the HugGAN repos, ...) in a JSON file its translator points to (`Translator.curated`).
Each entry names the plugin, the architecture, the Hub repo and file, the licence, a
revision and sha256 where published, a one-line description, and the source every fact
was read from. `translate pull NAME` and `--weights NAME` fetch an entry pinned to its
revision and hash, convert it once, and keep it under $TRANSLATE_HOME/models/NAME.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from translate.errors import PluginError, WeightsError
from translate.hub import layout
from translate.paths import is_offline

__all__ = ["CuratedEntry", "curated_entries", "find_curated", "pull_curated"]

REQUIRED = ("name", "translator", "arch", "repo", "file", "licence", "description", "source")


@dataclass(frozen=True)
class CuratedEntry:
    """One published checkpoint, as its plugin's curated.json describes it."""

    name: str
    translator: str
    arch: str
    repo: str | None  # None: published outside the Hub only (a Google Drive link)
    file: str
    licence: str
    description: str
    source: str
    revision: str | None = None
    sha256: str | None = None
    member: str | None = None  # the checkpoint inside a zip archive
    options: dict[str, Any] = field(default_factory=dict)  # importer options, e.g. direction
    notes: dict[str, Any] = field(default_factory=dict)  # anything else: dataset, direction

    @property
    def folder(self) -> Path:
        from translate.hub.foreign import models_folder

        return models_folder() / self.name

    @property
    def downloaded(self) -> bool:
        return (self.folder / layout.CONFIG_NAME).is_file()

    def status(self) -> str:
        """Whether it can be used here and now, in a few words."""
        if self.downloaded:
            return f"downloaded ({self.folder})"
        if self.repo is None:
            return "not on the Hub: download it by hand, then `translate import`"
        if is_offline():
            return "not downloaded (offline: go online to fetch it)"
        return "not downloaded yet (fetched on first use)"


def curated_entries(translators: dict[str, Any]) -> list[CuratedEntry]:
    """Every curated entry of the given translator classes, read from their `curated` files."""
    entries: list[CuratedEntry] = []
    for name, cls in sorted(translators.items()):
        source = getattr(cls, "curated", None)
        if source is None:
            continue
        try:
            items = json.loads(Path(str(source)).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise PluginError(f"{name}: curated weights file {source}: {error}") from None
        for item in items:
            missing = [key for key in REQUIRED if key not in item]
            if missing or item["translator"] != name:
                raise PluginError(f"{name}: curated entry {item.get('name', '?')!r} in {source} "
                                  f"lacks {', '.join(missing) or 'its translator name'}")
            known = {k: item[k] for k in (*REQUIRED, "revision", "sha256", "member", "options")
                     if k in item}
            notes = {k: v for k, v in item.items() if k not in known}
            entries.append(CuratedEntry(**known, notes=notes))
    return entries


def find_curated(name: str, translators: dict[str, Any]) -> CuratedEntry | None:
    return next((entry for entry in curated_entries(translators) if entry.name == name), None)


def pull_curated(entry: CuratedEntry, registry: Any) -> Path:
    """The entry's weights folder: converted once, pinned to its revision and sha256."""
    if entry.downloaded:
        return entry.folder
    if entry.repo is None:
        raise WeightsError(f"{entry.name}: published outside the Hub ({entry.source}); "
                           f"download {entry.file} by hand, then `translate import "
                           f"{entry.translator} {entry.file} --out DIR`")
    from translate.hub.foreign import pull_any

    return pull_any(f"{entry.repo}:{entry.file}", registry, revision=entry.revision,
                    sha256=entry.sha256, member=entry.member, options=entry.options or None,
                    name=entry.name)
