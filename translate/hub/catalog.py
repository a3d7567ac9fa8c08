"""Which weights a translator could run, found on disk, and what each folder holds.

`local_weights(cls)` lists, for one translator:

1. its bundled starter (`cls.starter_weights`);
2. its training runs: `$TRANSLATE_HOME/runs/*/weights`, and the folder the latest-run
   pointer names (`translate.hub.resolve.latest_pointer`), wherever `--out` put it;
3. models stored by `translate pull` / `translate import` under `$TRANSLATE_HOME/models/`
   (one folder each, or `owner/name` folders).

Nothing is loaded: a listing reads each folder's config.json and its safetensors header.
`describe(folder)` is the one place that reads a config.json for display, and it reads both
the v1 layout (`config` block) and v2 (`model` block: `{"arch": NAME, ...}`).

`curated_weights(cls)` lists the plugin's curated Hub checkpoints (`translate.hub.index`)
that are not downloaded yet (offline too, saying they cannot be fetched); once pulled they
are stored models like any other. `all_weights` (what the demo's pickers offer) is both.

`model_index(registry)` is the same listing for every translator, with plugin,
architecture, source, licence and status, for `translate models`; `find_models(name, ...)`
picks entries out of it by name.
"""

from __future__ import annotations

import json
import logging
import math
import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from translate.errors import WeightsError
from translate.hub.layout import CARD_NAME, CONFIG_NAME, WEIGHTS_NAME
from translate.paths import is_offline, translate_home

if TYPE_CHECKING:
    from translate.translator import Translator

log = logging.getLogger(__name__)

STARTER = "starter"  # the bundled starter's entry name
MAX_HEADER_BYTES = 100 * 1024 * 1024  # a safetensors header larger than this is not believed
# Tensors that are state, not learned parameters: norm statistics, spectral-norm vectors.
_BUFFER_SUFFIXES = ("running_mean", "running_var", "num_batches_tracked", "weight_u", "weight_v")

Kind = Literal["starter", "run", "imported", "pulled", "folder", "hub"]
READY = "ready"
NOT_DOWNLOADED = "not downloaded"  # fetched, pinned, on first use
OFFLINE = "cannot download offline"
NOT_ON_HUB = "not on the Hub: download by hand, then `translate import`"


@dataclass(frozen=True)
class Entry:
    """One choice of weights for one translator."""

    name: str  # unique per translator: "starter", "run:digits", "pulled:me/digits", ...
    translator: str
    kind: Kind  # folder: named on a command line; hub: curated, not downloaded yet
    location: str  # a folder; for kind "hub", the curated entry's name (`translate pull NAME`)
    description: str  # one line, for a picker
    status: str = "ready"  # else, for kind "hub": NOT_DOWNLOADED, OFFLINE or NOT_ON_HUB


@dataclass(frozen=True)
class Description:
    """What a weights folder holds, read without loading any tensor."""

    name: str  # the folder's own name for itself: a repo id, else the folder's name
    translator: str
    arch: str | None  # the architecture's name, when the config says one
    parameters: int | None  # learned values in model.safetensors (norm statistics excluded)
    data: str | None  # what it was trained on
    metrics: Mapping[str, float] = field(default_factory=dict)  # held-out figures
    is_starter: bool = False  # trained by the small CPU `starter` preset
    steps: int | None = None
    train_seconds: float | None = None
    device: str | None = None  # what it was trained on: cpu, cuda, ...
    repo_id: str | None = None  # the Hub repo it was pulled from or pushed to, when known
    licence: str | None = None  # of a pulled checkpoint, as its source states it
    imported_from: str | None = None  # the checkpoint file(s) `translate import` converted
    card: Path | None = None  # README.md, the model card, when present


def describe(folder: str | Path) -> Description:
    """Read `folder`'s config.json (v1 or v2) and safetensors header."""
    folder = Path(folder)
    path = folder / CONFIG_NAME
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        raise WeightsError(f"{folder}: no {CONFIG_NAME}; not a gan-translate weights folder") \
            from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise WeightsError(f"{path}: unreadable ({error})") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("translator"), str):
        raise WeightsError(f"{path}: names no translator")
    model = _block(meta, "model")  # v2: the generator's architecture and arguments
    config = _block(meta, "config")  # v1: everything; v2: training knobs
    # Where the weights came from is "provenance" (v1 and v2). v2's "training" block holds
    # the training knobs: its `steps` is what a run would take, not what these weights
    # had (a pulled model has the default there), so it is read for the preset only.
    made = _block(meta, "provenance")
    arch = model.get("arch") or config.get("arch") or config.get("generator")
    preset = made.get("preset") or _block(meta, "training").get("preset") or config.get("preset")
    command = str(made.get("command") or "")
    metrics = {k: float(v) for k, v in _block(meta, "metrics").items()
               if isinstance(v, int | float) and not isinstance(v, bool)}
    card = folder / CARD_NAME
    return Description(
        name=str(meta.get("name") or made.get("repo_id") or folder.name),
        translator=meta["translator"],
        arch=str(arch) if arch else None,
        parameters=parameter_count(folder / WEIGHTS_NAME),
        data=str(made["data"]) if made.get("data") else None,
        metrics=metrics,
        is_starter=preset == STARTER or "--preset starter" in command,
        steps=_number(made.get("steps"), int),
        train_seconds=_number(made.get("train_seconds"), float),
        device=str(made["device"]) if made.get("device") else None,
        repo_id=str(made.get("repo_id") or made.get("source_repo") or "") or None,
        licence=str(made["source_licence"]) if made.get("source_licence") else None,
        imported_from=str(made["imported_from"]) if made.get("imported_from") else None,
        card=card if card.is_file() else None,
    )


def parameter_count(weights: str | Path) -> int | None:
    """Learned values in a .safetensors file, from its JSON header alone (None if unreadable)."""
    try:
        with open(weights, "rb") as handle:
            (size,) = struct.unpack("<Q", handle.read(8))
            if size > MAX_HEADER_BYTES:
                return None
            header = json.loads(handle.read(size))
    except (OSError, struct.error, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(header, dict):
        return None
    return sum(math.prod(info.get("shape", ())) for key, info in header.items()
               if key != "__metadata__" and isinstance(info, dict)
               and not key.endswith(_BUFFER_SUFFIXES))


def local_weights(cls: type[Translator]) -> list[Entry]:
    """Every weights folder on disk for `cls`: starter, then runs (latest first), then models."""
    entries: list[Entry] = []
    seen: set[str] = set()

    def add(name: str, kind: Kind | None, folder: Path, note: str = "") -> None:
        key = os.path.realpath(folder)
        if key in seen or not (folder / CONFIG_NAME).is_file():
            return
        try:
            info = describe(folder)
        except WeightsError as error:
            log.warning("weights listing skips %s: %s", folder, error)
            return
        if info.translator != cls.name:
            return
        if kind is None:  # a stored model: converted by `translate import`, or pulled
            kind = "imported" if info.imported_from else "pulled"
            name = f"{kind}:{name}"
        seen.add(key)
        taken = {entry.name for entry in entries}
        unique, number = name, 2
        while unique in taken:
            unique, number = f"{name}-{number}", number + 1
        entries.append(Entry(unique, cls.name, kind, str(folder), summary(info, kind, note)))

    if cls.starter_weights is not None:
        add(STARTER, "starter", Path(str(cls.starter_weights)))
    from translate.hub.resolve import latest_pointer

    pointer = latest_pointer(cls.name)
    if pointer.is_file():
        latest = Path(pointer.read_text().strip())
        run = latest.parent if latest.name == "weights" else latest
        add(f"run:{run.name}", "run", latest, "latest run")
    runs = translate_home() / "runs"
    folders = sorted(runs.glob("*/weights"), key=_modified, reverse=True) if runs.is_dir() else []
    for folder in folders:
        add(f"run:{folder.parent.name}", "run", folder)
    models = translate_home() / "models"
    if models.is_dir():
        configs = sorted([*models.glob(f"*/{CONFIG_NAME}"), *models.glob(f"*/*/{CONFIG_NAME}")])
        for config in configs:
            add(config.parent.relative_to(models).as_posix(), None, config.parent)
    return entries


def curated_weights(cls: type[Translator], *, everywhere: bool = False) -> list[Entry]:
    """`cls`'s curated Hub checkpoints not downloaded yet (kind "hub").

    Offline they are listed all the same, with status OFFLINE. Entries published outside
    the Hub (status NOT_ON_HUB) are listed only with `everywhere`: no picker can fetch them.
    """
    if cls.curated is None:
        return []
    from translate.hub.index import curated_entries

    offline = is_offline()
    entries = []
    for item in curated_entries({cls.name: cls}):
        if item.downloaded or (item.repo is None and not everywhere):
            continue
        status = NOT_ON_HUB if item.repo is None else OFFLINE if offline else NOT_DOWNLOADED
        where = {NOT_DOWNLOADED: "on the Hub, downloaded when chosen",
                 OFFLINE: "on the Hub, cannot be downloaded offline",
                 NOT_ON_HUB: "published outside the Hub"}[status]
        entries.append(Entry(f"hub:{item.name}", cls.name, "hub", item.name,
                             f"{where}: {item.description} ({item.licence})", status))
    return entries


def all_weights(cls: type[Translator], *, everywhere: bool = False) -> list[Entry]:
    """What a weights picker offers: everything on disk, then curated Hub entries not pulled.

    A curated entry named "hub:NAME" counts as pulled once a folder "models/NAME" is listed.
    """
    entries = local_weights(cls)
    stored = {entry.name.partition(":")[2] for entry in entries if entry.kind == "pulled"}
    return entries + [entry for entry in curated_weights(cls, everywhere=everywhere)
                      if entry.name.partition(":")[2] not in stored]


# ---- the index of every translator's weights (`translate models`) ---------------------------


@dataclass(frozen=True)
class Listed:
    """One entry of `model_index`: what it is and whether it can be used here."""

    entry: Entry
    plugin: str | None  # the installed plugin that provides the translator
    arch: str | None
    parameters: int | None
    source: str | None  # a Hub repo (and file), the imported file, or the training data
    licence: str | None
    info: Description | None = None  # for entries on disk
    curated: Any = None  # the translate.hub.index.CuratedEntry, for curated entries

    @property
    def status(self) -> str:
        return self.entry.status


def model_index(registry: Any) -> list[Listed]:
    """Every set of weights the app can use, translator by translator (sorted by name)."""
    from translate.hub.index import curated_entries

    listed: list[Listed] = []
    for name in sorted(registry.translators):
        cls = registry.translators[name]
        plugin = registry.owner.get(f"translator:{name}")
        curated = {item.name: item for item in curated_entries({name: cls})}
        for entry in all_weights(cls, everywhere=True):
            item = curated.get(entry.location if entry.kind == "hub"
                               else entry.name.partition(":")[2])
            if entry.kind == "hub":
                source = f"{item.repo}:{item.file}" if item.repo else item.source
                listed.append(Listed(entry, plugin, item.arch, None, source, item.licence,
                                     curated=item))
                continue
            info = describe(entry.location)
            if entry.kind in ("imported", "pulled"):
                source = info.imported_from or info.repo_id
            else:
                source = (("bundled small CPU starter" if info.is_starter
                           else "bundled starter") if entry.kind == "starter"
                          else "training run" if entry.kind == "run" else None)
                if info.data:
                    source = f"{source or 'trained'}, trained on {info.data}".replace(
                        "trained, trained", "trained")
            # A config without an arch (v1, or one network only) means the default one.
            arch = info.arch or (item.arch if item else None) or next(iter(cls.architectures),
                                                                       None)
            listed.append(Listed(entry, plugin, arch, info.parameters, source,
                                 info.licence or (item.licence if item else None),
                                 info=info, curated=item))
    return listed


def find_models(name: str, registry: Any) -> list[Listed]:
    """The index entries called `name`: "superres/starter", "run:x", "hub:X", or a bare "X".

    A bare name matches an entry's name with or without its kind ("RealESRGAN_x4plus" finds
    "hub:RealESRGAN_x4plus" or, once pulled, "pulled:RealESRGAN_x4plus") in every translator.
    """
    translator, slash, wanted = name.partition("/")
    if not slash or translator not in registry.translators:
        translator, wanted = "", name
    found = [item for item in model_index(registry)
             if (not translator or item.entry.translator == translator)
             and wanted in (item.entry.name, item.entry.name.partition(":")[2])]
    if found:
        return found
    names = sorted({f"{item.entry.translator}/{item.entry.name}"
                    for item in model_index(registry)})
    raise WeightsError(f"no weights named {name!r}; `translate models` lists "
                       f"{len(names)}: {', '.join(names[:8])}"
                       + (", ..." if len(names) > 8 else ""))


def folder_entry(cls: type[Translator], folder: str | Path) -> Entry:
    """An entry for a folder named on a command line (`translate demo --weights NAME=DIR`)."""
    folder = Path(folder).expanduser()
    info = describe(folder)
    if info.translator != cls.name:
        raise WeightsError(f"{folder}: these weights are for {info.translator!r}, "
                           f"not {cls.name!r}")
    return Entry(f"folder:{folder.name}", cls.name, "folder", str(folder),
                 summary(info, "folder"))


def summary(info: Description, kind: Kind, note: str = "") -> str:
    """One line for a picker: what kind of weights, how big, trained how long on what."""
    what = {"starter": "bundled starter", "run": "training run", "imported": "imported",
            "pulled": "from the Hub", "folder": "folder", "hub": "on the Hub"}[kind]
    details = [note] if note else []
    if info.parameters:
        details.append(f"{format_count(info.parameters)} parameters")
    if info.steps:
        details.append(f"{info.steps} steps" + (f" on {info.data}" if info.data else ""))
    source = info.imported_from if kind == "imported" else info.repo_id
    if source and kind in ("imported", "pulled"):
        details.append(source)
    return f"{what}" + (f" ({', '.join(details)})" if details else "")


def format_count(count: int) -> str:
    """1234567 -> '1.2 M', 4321 -> '4.3 k'."""
    for scale, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return str(count)


def _block(meta: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = meta.get(key)
    return value if isinstance(value, dict) else {}


def _number(value: Any, kind: type) -> Any:
    return kind(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _modified(folder: Path) -> float:
    try:
        return (folder / CONFIG_NAME).stat().st_mtime
    except OSError:
        return 0.0
