"""Which weights infer, eval and the demo use, in a fixed order the CLI reports:

1. an explicit `--weights` folder or Hub repo id; `starter`, when no folder has that name,
   is the plugin's bundled starter (so presets and `--set init_from=starter` can name it);
2. the latest local training output for the translator;
3. the plugin's bundled starter weights;
4. the translator's default Hub repo, when online.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from translate.errors import WeightsError
from translate.files import atomic_write_bytes
from translate.hub.pretrained import CONFIG_NAME, from_pretrained
from translate.paths import is_offline, translate_home

if TYPE_CHECKING:
    from translate.translator import Translator


@dataclass(frozen=True)
class ResolvedWeights:
    """Where weights were found, and how to say so."""

    origin: str  # "--weights", "latest training run", "bundled starter" or "Hub"
    location: str  # a folder path or a repo id

    def describe(self) -> str:
        return f"{self.origin} ({self.location})"


def latest_pointer(name: str) -> Path:
    """The file naming the weights folder of the translator's most recent finished run."""
    return translate_home() / "latest" / name


def record_latest(name: str, folder: Path) -> None:
    """Remember folder as the translator's latest training output."""
    atomic_write_bytes(latest_pointer(name), str(Path(folder).resolve()).encode())


def resolve_weights(cls: type[Translator], explicit: str | None = None) -> ResolvedWeights:
    """Find weights for cls without loading them (the Hub step downloads nothing yet)."""
    if explicit:
        if explicit == "starter" and cls.starter_weights is not None \
                and not Path(explicit).exists():
            return ResolvedWeights("bundled starter", str(cls.starter_weights))
        return ResolvedWeights("--weights", explicit)
    pointer = latest_pointer(cls.name)
    if pointer.is_file():
        folder = Path(pointer.read_text().strip())
        if (folder / CONFIG_NAME).is_file():
            return ResolvedWeights("latest training run", str(folder))
    if cls.starter_weights is not None and (Path(str(cls.starter_weights)) / CONFIG_NAME).is_file():
        return ResolvedWeights("bundled starter", str(cls.starter_weights))
    if not is_offline():
        return ResolvedWeights("Hub", cls.hub_repo)
    raise WeightsError(f"no weights for {cls.name}: train some (translate train {cls.name}), "
                       f"pass --weights, or go online to fetch {cls.hub_repo}")


def load_translator(cls: type[Translator], explicit: str | None = None, *,
                    revision: str | None = None, device: str = "cpu",
                    registry: Any = None) -> tuple[Translator, ResolvedWeights]:
    """Resolve and load weights for cls, ready for inference.

    With the `registry`, an explicit Hub repo id or `REPO_ID:FILE` that holds a checkpoint
    in its authors' own format is pulled and converted on the fly (`translate.hub.foreign`).
    """
    resolved = resolve_weights(cls, explicit)
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
