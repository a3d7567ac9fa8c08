"""Which weights infer, eval and the demo use, in a fixed order the CLI reports:

1. an explicit `--weights` folder or Hub repo id; `starter`, when no folder has that name,
   is the plugin's bundled starter (so presets and `--set init_from=starter` can name it);
2. the latest local training output for the translator;
3. the plugin's bundled starter weights;
4. the translator's default Hub repo, when online.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from translate.errors import TranslateError, WeightsError
from translate.files import atomic_write_bytes
from translate.hub.layout import read_meta
from translate.hub.pretrained import CONFIG_NAME, from_pretrained
from translate.paths import is_offline, translate_home

if TYPE_CHECKING:
    from translate.translator import Translator


@dataclass(frozen=True)
class ResolvedWeights:
    """Where weights were found, and how to say so."""

    origin: str  # "--weights", "latest training run", "bundled starter" or "Hub"
    location: str  # a folder path or a repo id
    # Why a local folder cannot be loaded, found from its config.json alone (no weights
    # read): a page listing translators shows it and keeps working for the others.
    problem: str | None = None

    def describe(self) -> str:
        where = f"{self.origin} ({self.location})"
        return f"{where}, unusable: {self.problem}" if self.problem else where


def latest_pointer(name: str) -> Path:
    """The file naming the weights folder of the translator's most recent finished run."""
    return translate_home() / "latest" / name


def record_latest(name: str, folder: Path) -> None:
    """Remember folder as the translator's latest training output."""
    atomic_write_bytes(latest_pointer(name), str(Path(folder).resolve()).encode())


def resolve_weights(cls: type[Translator], explicit: str | None = None, *,
                    check: bool = True) -> ResolvedWeights:
    """Find weights for cls without loading them (the Hub step downloads nothing yet).

    With `check`, a local folder's config.json is read and its `problem` filled in when it
    cannot describe weights for cls; nothing raises, so a caller can report it and go on.
    """
    def local(origin: str, folder: str) -> ResolvedWeights:
        problem = config_problem(cls, folder) if check and Path(folder).is_dir() else None
        return ResolvedWeights(origin, folder, problem)

    if explicit:
        if explicit == "starter" and cls.starter_weights is not None \
                and not Path(explicit).exists():
            return local("bundled starter", str(cls.starter_weights))
        return local("--weights", explicit)
    pointer = latest_pointer(cls.name)
    if pointer.is_file():
        folder = Path(pointer.read_text().strip())
        if (folder / CONFIG_NAME).is_file():
            return local("latest training run", str(folder))
    if cls.starter_weights is not None and (Path(str(cls.starter_weights)) / CONFIG_NAME).is_file():
        return local("bundled starter", str(cls.starter_weights))
    if not is_offline():
        return ResolvedWeights("Hub", cls.hub_repo)
    raise WeightsError(f"no weights for {cls.name}: train some (translate train {cls.name}), "
                       f"pass --weights, or go online to fetch {cls.hub_repo}")


def config_problem(cls: type[Translator], folder: str | Path) -> str | None:
    """Why folder's config.json cannot load as cls, in one line; None when it can."""
    try:
        meta = read_meta(folder)
        if meta["translator"] != cls.name:
            return f"{folder}: these weights are for {meta['translator']!r}, not {cls.name!r}"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # keys set aside are loading's to mention
            cls.config_from_meta(meta)
    except TranslateError as error:
        return str(error)
    except Exception as error:  # a plugin's own config code failing on odd values
        text = str(error).strip().splitlines()
        return f"{folder}/{CONFIG_NAME}: {type(error).__name__}" + (f": {text[0]}" if text else "")
    return None


def load_translator(cls: type[Translator], explicit: str | None = None, *,
                    revision: str | None = None, device: str = "cpu",
                    registry: Any = None) -> tuple[Translator, ResolvedWeights]:
    """Resolve and load weights for cls, ready for inference.

    With the `registry`, an explicit Hub repo id or `REPO_ID:FILE` that holds a checkpoint
    in its authors' own format is pulled and converted on the fly (`translate.hub.foreign`).
    """
    resolved = resolve_weights(cls, explicit, check=False)  # loading says what is wrong
    location = resolved.location
    if registry is not None and resolved.origin == "--weights" \
            and not Path(explicit).expanduser().exists():
        from translate.hub.index import find_curated, pull_curated

        entry = find_curated(explicit, {cls.name: cls})
        if entry is not None:  # a curated name: pinned revision and sha256
            location = str(pull_curated(entry, registry))
        else:
            from translate.hub.foreign import pull_any

            location = str(pull_any(explicit, registry, revision=revision))
    return from_pretrained(location, expected=cls, revision=revision,
                           device=device), resolved
