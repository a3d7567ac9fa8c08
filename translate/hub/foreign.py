"""Pulling the checkpoints people publish in their own formats, and converting them on arrival.

`translate pull REPO_ID[:FILE]` works whether the repo holds our layout or, say,
`RealESRGAN_x4plus.pth`: a foreign file is downloaded through huggingface_hub (so cache,
resume, offline mode and pinned revisions behave as for our own repos), read without
running code, shown to every installed importer until one recognises its keys and shapes,
converted by that plugin's importer, and stored in our layout under
`$TRANSLATE_HOME/models/`, its model card recording where it came from: repo, resolved
commit, file, sha256, size and the licence the source's card states.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from translate.errors import WeightsError
from translate.hub import layout
from translate.hub.importers import Importer, import_checkpoint
from translate.hub.reading import CHECKPOINT_SUFFIXES, find_state_dict, read_checkpoint
from translate.paths import is_offline, translate_home

__all__ = ["Downloaded", "detect", "download", "models_folder", "pull_any", "split_spec"]

# What a repo may hold besides weights; never offered as "the repo's only checkpoint".
_ARCHIVE_SUFFIXES = (".zip",)
_SPEC = re.compile(r"^(?P<repo>[\w.-]+/[\w.-]+)(?::(?P<file>.+))?$")


@dataclass(frozen=True)
class Downloaded:
    """A foreign checkpoint in the Hugging Face cache, and where it came from."""

    path: Path
    repo: str
    file: str
    commit: str
    sha256: str
    size: int
    licence: str | None

    def provenance(self) -> dict[str, Any]:
        return {"source_repo": self.repo, "source_commit": self.commit,
                "source_file": self.file, "source_sha256": self.sha256,
                "source_size": self.size, "source_licence": self.licence or "not stated"}


def models_folder() -> Path:
    """Where pulled and converted weights live: $TRANSLATE_HOME/models/."""
    return translate_home() / "models"


def split_spec(spec: str) -> tuple[str, str | None]:
    """`owner/name[:path/in/repo]` -> (repo id, file or None), or a one-line error."""
    found = _SPEC.match(spec.strip())
    if found is None:
        raise WeightsError(f"{spec}: not a Hub repo id (owner/name) or owner/name:FILE")
    return found["repo"], found["file"]


# ---- downloading ----------------------------------------------------------------------------


def download(repo_id: str, filename: str | None = None, *, revision: str | None = None,
             sha256: str | None = None) -> Downloaded:
    """Fetch one checkpoint of a repo (the named one, or the repo's only one) into the cache.

    With `sha256` pinned (curated entries), a file whose bytes differ is refused and
    removed from the cache, so a tampered or changed file is never used.
    """
    from huggingface_hub import hf_hub_download

    from translate.hub.sync import raise_pull_error

    where = f"{repo_id}@{revision}" if revision else repo_id
    try:
        if filename is None:
            filename = _only_checkpoint(repo_id, revision)
        path = Path(hf_hub_download(repo_id, filename, revision=revision,
                                    local_files_only=is_offline()))
    except WeightsError:
        raise
    except Exception as error:
        raise_pull_error(error, f"{where}:{filename}" if filename else where)
    data_hash, size = _sha256_file(path)
    blob = path.resolve()
    if re.fullmatch(r"[0-9a-f]{64}", blob.name) and blob.name != data_hash:
        _forget(path)  # the cache's own name for an LFS blob is its sha256
        raise WeightsError(f"{where}:{filename}: the cached file's sha256 {data_hash[:12]}… "
                           f"does not match its name {blob.name[:12]}…; it was changed after "
                           "download and has been removed from the cache; pull again")
    if sha256 is not None and data_hash != sha256.lower():
        _forget(path)
        raise WeightsError(f"{where}:{filename}: sha256 {data_hash[:12]}… is not the pinned "
                           f"{sha256[:12]}…; refused and removed from the cache")
    commit = path.parent.name if re.fullmatch(r"[0-9a-f]{40}", path.parent.name) else \
        _commit_of(path)
    return Downloaded(path=path, repo=repo_id, file=filename, commit=commit, sha256=data_hash,
                      size=size, licence=_licence(repo_id, revision))


def _only_checkpoint(repo_id: str, revision: str | None) -> str:
    files = _repo_files(repo_id, revision)
    candidates = [f for f in files if f.lower().endswith(CHECKPOINT_SUFFIXES + _ARCHIVE_SUFFIXES)]
    if len(candidates) != 1:
        listed = ", ".join(candidates[:5]) or "none"
        raise WeightsError(f"{repo_id}: {len(candidates)} checkpoint files ({listed}); name one "
                           f"as {repo_id}:FILE")
    return candidates[0]


def _repo_files(repo_id: str, revision: str | None) -> list[str]:
    if not is_offline():
        from huggingface_hub import list_repo_files

        return list_repo_files(repo_id, revision=revision)
    # Offline: what an earlier download left in the cache's snapshot of that revision.
    from huggingface_hub import constants

    repo = Path(constants.HF_HUB_CACHE) / f"models--{repo_id.replace('/', '--')}"
    ref = repo / "refs" / (revision or "main")
    commit = ref.read_text().strip() if ref.is_file() else (revision or "")
    snapshot = repo / "snapshots" / commit
    if not snapshot.is_dir():
        raise WeightsError(f"{repo_id} is not in the local cache and offline mode forbids "
                           "downloading")
    return sorted(str(p.relative_to(snapshot)) for p in snapshot.rglob("*") if p.is_file())


def _commit_of(path: Path) -> str:
    for parent in path.parents:
        if parent.parent.name == "snapshots":
            return parent.name
    return "unknown"


def _sha256_file(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _forget(path: Path) -> None:
    """Remove a cached file: its snapshot link and the blob behind it."""
    blob = path.resolve()
    for item in (path, blob):
        item.unlink(missing_ok=True)


def _licence(repo_id: str, revision: str | None) -> str | None:
    """The `license:` the repo's model card states, if it has a card and states one."""
    from huggingface_hub import hf_hub_download

    try:
        card = Path(hf_hub_download(repo_id, "README.md", revision=revision,
                                    local_files_only=is_offline())).read_text(errors="replace")
    except Exception:
        return None  # a repo without a card, or none cached offline: "not stated"
    front = card.split("---", 2)[1] if card.startswith("---") and card.count("---") >= 2 else ""
    found = re.search(r"^licen[cs]e:\s*(.+)$", front, re.MULTILINE)
    return found.group(1).strip().strip("'\"") if found else None


# ---- detecting and converting ------------------------------------------------------------


def detect(state: dict[str, Any], importers: dict[str, Importer], *,
           source: str = "checkpoint") -> tuple[Importer, dict[str, Any]]:
    """The one importer that recognises `state`, with the config values it read.

    A file nobody recognises gets one line naming the closest match and the first key that
    differs (each importer may say how close a file is to its layouts, `closest`).
    """
    found = [(importer, dict(values)) for importer in importers.values()
             if (values := importer.recognises(state)) is not None]
    if len(found) == 1:
        return found[0]
    if found:
        names = ", ".join(importer.translator for importer, _ in found)
        raise WeightsError(f"{source}: several plugins read this file ({names}); import it "
                           "with `translate import NAME FILE` to choose")
    hints = sorted((importer.closest(state) for importer in importers.values()
                    if importer.closest is not None), key=lambda pair: -pair[0])
    if hints and hints[0][0] > 0:
        raise WeightsError(f"{source}: no installed plugin reads this file; closest: "
                           f"{hints[0][1]}")
    first = next(iter(state), "(none)")
    tried = ", ".join(sorted(importers)) or "no importers installed"
    raise WeightsError(f"{source}: no installed plugin reads this file (tried {tried}); its "
                       f"first key is {first!r}")


def convert(downloaded: Downloaded, registry: Any, *, member: str | None = None,
            options: dict[str, Any] | None = None, name: str | None = None) -> Path:
    """Convert a downloaded checkpoint into a weights folder under `models_folder()`.

    A folder converted earlier from the same bytes is reused as it is.
    """
    target = models_folder() / (name or _folder_name(downloaded))
    if (target / layout.CONFIG_NAME).is_file():
        earlier = layout.read_meta(target).get("provenance", {})
        if earlier.get("source_sha256") == downloaded.sha256:
            return target
    label = f"{downloaded.repo}:{downloaded.file}"
    state = find_state_dict(read_checkpoint(downloaded.path, member=member), path=label)
    importer, _ = detect(state, registry.importers, source=label)
    cls = registry.translator(importer.translator)
    translator = import_checkpoint(importer, cls, downloaded.path, member=member,
                                   **(options or {}))
    translator.save_pretrained(target, provenance={
        "command": f"translate pull {label}", **downloaded.provenance(),
        **({"source_member": member} if member else {}),
        **({"import_options": json.dumps(options, sort_keys=True)} if options else {})})
    return target


def _folder_name(downloaded: Downloaded) -> str:
    stem = Path(downloaded.file).name.rsplit(".", 1)[0]
    return f"{downloaded.repo.replace('/', '--')}--{stem}"


def pull_any(spec: str, registry: Any, *, revision: str | None = None,
             sha256: str | None = None, member: str | None = None,
             options: dict[str, Any] | None = None, name: str | None = None) -> Path:
    """A weights folder for `owner/name[:FILE]`: our own layout, or a converted foreign file."""
    repo_id, filename = split_spec(spec)
    if filename is None:
        from translate.hub.sync import REQUIRED_FILES, pull, raise_pull_error

        try:
            files = set(_repo_files(repo_id, revision))
        except WeightsError:
            raise
        except Exception as error:
            raise_pull_error(error, repo_id)
        if set(REQUIRED_FILES) <= files:
            return pull(repo_id, revision=revision)
    downloaded = download(repo_id, filename, revision=revision, sha256=sha256)
    return convert(downloaded, registry, member=member, options=options, name=name)
