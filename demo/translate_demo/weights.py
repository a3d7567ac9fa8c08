"""The weights a tab offers, the models loaded for them, and the line that says what ran.

A tab's weights come from `translate.hub.catalog`: the bundled starter, each training run,
each imported or pulled model. The starter is the default; a training run is used only
when the visitor picks it (or `translate demo --weights NAME=RUN` preselects it), so a
run never silently replaces what the page says. Models are loaded per choice and cached,
and the "Weights:" line is written from the model that was loaded, never from a guess
made when the page was built.
"""

from __future__ import annotations

import re
import threading
import warnings
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import torch

from translate.errors import TranslateError, WeightsError
from translate.hub import catalog
from translate.hub.catalog import Description, Entry
from translate.hub.layout import CONFIG_NAME, read_meta
from translate.hub.pretrained import from_pretrained
from translate.translator import Param, Translator
from translate_demo.engines import EngineBuilds

CACHED_MODELS = 12  # loaded models kept; the least recently used goes first
# Headline figures, in order of preference, when a card has several with baselines.
_HEADLINE = re.compile(r"psnr|accuracy|share|faceness", re.IGNORECASE)
_SHARES = re.compile(r"accuracy|share|faceness", re.IGNORECASE)


@dataclass(frozen=True)
class Loaded:
    """A model ready to run, and what it is."""

    translator: Translator
    entry: Entry
    info: Description


class ModelCache:
    """Each translator's weights, loaded on first use per choice, and kept.

    On the CPU, models run through `backend` (translate.inference.backends; `auto`: the
    fastest exact engine). Its engines are built by child processes, see
    translate_demo.engines, while eager PyTorch answers; `eager` runs the networks as
    they are.
    """

    def __init__(self, device: str | torch.device = "cpu", *, backend: str = "auto") -> None:
        self.device = torch.device(device)
        self.backend = backend
        self.builds: EngineBuilds | None = None
        if backend != "eager" and self.device.type == "cpu":
            from translate.paths import translate_home

            self.builds = EngineBuilds(backend, cache_dir=translate_home() / "cache" / "inference")
        self._models: OrderedDict[tuple[str, str, float], Loaded] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, cls: type[Translator], entry: Entry) -> Loaded:
        # A folder rewritten since (a run that went on training) is loaded afresh.
        key = (cls.name, entry.location, _written(entry))
        with self._lock:
            if key in self._models:
                self._models.move_to_end(key)
                return self._models[key]
            folder = entry.location
            if entry.kind == "hub":  # curated: fetched pinned to revision and sha256, once
                folder = str(_pull(cls, entry))
            # Described and loaded from the same folder, one right after the other.
            info = catalog.describe(folder)
            model = from_pretrained(folder, expected=cls, device=self.device)
            if self.builds is not None:
                model.use_backend(self.backend, cache_dir=self.builds.cache_dir,
                                  build_elsewhere=self.builds.builder(cls, folder))
            loaded = Loaded(model, entry, info)
            self._models[key] = loaded
            while len(self._models) > CACHED_MODELS:
                self._models.popitem(last=False)
            return loaded


def _pull(cls: type[Translator], entry: Entry) -> Path:
    """A curated entry's folder, downloaded and converted now unless it was before."""
    from translate.hub.index import find_curated, pull_curated
    from translate.paths import is_offline
    from translate.plugins import get_registry

    curated = find_curated(entry.location, {cls.name: cls})
    if curated is None:
        raise WeightsError(f"weights: {entry.name} is no longer curated")
    if not curated.downloaded and is_offline():
        raise WeightsError(f"weights: {curated.name} is not downloaded, and this server is "
                           "offline, so it cannot download it; pick other weights")
    return pull_curated(curated, get_registry())


def _written(entry: Entry) -> float:
    try:
        return (Path(entry.location) / CONFIG_NAME).stat().st_mtime
    except OSError:
        return 0.0


class Choices:
    """The weights one tab offers, re-read from disk on each page visit."""

    def __init__(self, cls: type[Translator], preselect: str | None = None) -> None:
        self.cls = cls
        self.preselect = preselect
        self._folder = _named_folder(cls, preselect)

    def entries(self) -> list[Entry]:
        entries = catalog.all_weights(self.cls)
        if self._folder is not None and all(e.location != self._folder.location
                                            for e in entries):
            entries.insert(0, self._folder)
        return entries

    def default(self, entries: list[Entry]) -> Entry | None:
        """The preselected entry, else the starter, else the first: never a run by itself."""
        wanted = self._folder.name if self._folder is not None else self.preselect
        for name in (wanted, catalog.STARTER):
            entry = _named(entries, name)
            if entry is not None:
                return entry
        return entries[0] if entries else None

    def find(self, name: str | None) -> Entry:
        entries = self.entries()
        if not entries:
            raise WeightsError(no_weights(self.cls))
        if not name:
            entry = self.default(entries)
            assert entry is not None
            return entry
        entry = _named(entries, name)
        if entry is not None:
            return entry
        raise WeightsError(f"weights: no weights named {name!r} for {self.cls.name}; there are "
                           + ", ".join(e.name for e in entries))


def _named(entries: list[Entry], name: str | None) -> Entry | None:
    """The entry called `name`; else one whose name without its kind is the same, so that
    "RealESRGAN_x4plus" finds "hub:RealESRGAN_x4plus" and, once pulled, "pulled:..." (a page
    built before the pull still sends "hub:...")."""
    if not name:
        return None
    exact = next((entry for entry in entries if entry.name == name), None)
    if exact is not None:
        return exact
    bare = name.partition(":")[2] if name.startswith(("hub:", "pulled:")) else name
    return next((entry for entry in entries
                 if entry.kind in ("hub", "pulled") and entry.name.partition(":")[2] == bare),
                None)


def _named_folder(cls: type[Translator], preselect: str | None) -> Entry | None:
    """An entry for `--weights NAME=DIR` when DIR is a folder rather than an entry's name."""
    if not preselect or not Path(preselect).expanduser().is_dir():
        return None
    return catalog.folder_entry(cls, preselect)


def check_preselection(cls: type[Translator], preselect: str) -> None:
    """Refuse at start-up a `--weights NAME=W` that names nothing there is."""
    if _named_folder(cls, preselect) is None:
        Choices(cls).find(preselect)


def no_weights(cls: type[Translator]) -> str:
    return (f"no weights for {cls.name}: train some (translate train {cls.name}), or import "
            "or pull a model, then reload this page")


def labelled(entries: list[Entry]) -> list[tuple[str, str]]:
    """Dropdown choices: (what the visitor reads, the entry name the API takes)."""
    return [(f"{entry.name}: {entry.description}", entry.name) for entry in entries]


def offered_inputs(cls: type[Translator], entry: Entry | None) -> tuple[Param, ...]:
    """The inputs these weights can use, read from their config.json without loading them."""
    if entry is None or entry.kind == "hub":
        return cls.inputs
    try:
        with warnings.catch_warnings():  # unknown keys: loading the weights says so
            warnings.simplefilter("ignore")
            config = cls.config_from_meta(read_meta(entry.location))
    except (TranslateError, KeyError, TypeError):
        return cls.inputs  # running the tab reports what is wrong with the weights
    return cls.inputs_for(config)


# ---- the "Weights:" line ------------------------------------------------------------------


def weights_line(cls: type[Translator], entry: Entry, info: Description,
                 model: Translator | None = None) -> str:
    """Markdown: which weights, how big, trained on what, how good, and a link to the card."""
    arch = info.arch or (getattr(model.config, "arch", "") or _network_names(model)
                         if model is not None else None)
    facts = [f"**Weights: {entry.name}**"]
    if arch:
        facts.append(f"`{arch}`")
    if info.parameters:
        facts.append(f"{catalog.format_count(info.parameters)} parameters")
    trained = f"trained for {info.steps} steps" if info.steps else ""
    if info.train_seconds:
        trained += (f" ({_duration(info.train_seconds)}"
                    + (f" on a {info.device.upper()})" if info.device else ")"))
    if info.data:
        trained += f" on `{info.data}`"
    if trained:
        facts.append(trained.strip())
    if entry.kind in ("imported", "pulled", "hub") and (info.imported_from or info.repo_id):
        facts.append(f"from {info.imported_from or info.repo_id}"
                     + (f" ({info.licence})" if info.licence else ""))
    headline = headline_figure(info.metrics)
    if headline:
        facts.append(f"held-out {headline}")
    if info.card is not None:
        query = urlencode({"translator": cls.name, "weights": entry.name})
        facts.append(f"[model card](card?{query})")
    line = " · ".join(facts)
    if info.is_starter:
        line += ("  \nThese are **small starter weights**, trained in minutes on a CPU to show "
                 "what the model does: expect rough results.")
    return line


def headline_figure(metrics: Mapping[str, float]) -> str | None:
    """The card's main quality figure with its baselines: 'psnr 21.4 (baseline input 8.92)'."""
    def baselines(key: str) -> dict[str, float]:
        return {other[len(key) + 1:]: value for other, value in metrics.items()
                if other.startswith(key + "_")}

    candidates = [key for key in metrics if baselines(key)]
    if not candidates:
        return None
    key = next((k for k in candidates if _HEADLINE.search(k)), candidates[0])
    others = ", ".join(f"{_words(name)} {_figure(key, value)}"
                       for name, value in baselines(key).items())
    return f"{_words(key)} {_figure(key, metrics[key])} ({others})"


def _figure(key: str, value: float) -> str:
    if _SHARES.search(key) and 0 <= value <= 1:
        return f"{value:.1%}"
    if "psnr" in key.lower():
        return f"{value:.2f} dB"
    return f"{value:.3g}"


def _words(key: str) -> str:
    words = key.replace("_", " ").replace("/", " ")
    return words.removesuffix(" db")  # the unit is printed with the figure


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def _network_names(model: Translator) -> str | None:
    names = list(dict.fromkeys(type(net).__name__ for net in model.generators.values()))
    return " + ".join(names) if names else None


def card_markdown(info: Description) -> str:
    """The model card's text without its YAML front matter (the Hub's metadata)."""
    if info.card is None:
        return "This model has no card."
    text = info.card.read_text(errors="replace")
    if text.startswith("---"):
        end = text.find("\n---", 3)
        if end != -1:
            text = text[end + 4:]
    return text.strip()
