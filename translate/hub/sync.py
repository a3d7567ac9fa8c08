"""Push a weights folder to the Hugging Face Hub and pull one back.

Only the three files of the Hub layout travel (`HUB_FILES`): checkpoints, logs and
stray files next to them never leave the machine, and a repo holding extra files
downloads only what `translate` needs.

huggingface_hub is imported inside the functions, not at module import, because it
reads HF_ENDPOINT / HF_HUB_CACHE / HF_HUB_OFFLINE once at import time: the CLI may
still set them after importing this module.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
from pathlib import Path
from typing import Any, NoReturn

from translate.errors import WeightsError
from translate.hub import layout
from translate.paths import is_offline, offline_reason

HUB_FILES: tuple[str, ...] = ("config.json", "model.safetensors", "README.md")

# The files a pulled folder cannot work without; the card is documentation only.
REQUIRED_FILES: tuple[str, ...] = ("config.json", "model.safetensors")

def _endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _is_transport_error(error: BaseException) -> bool:
    # huggingface_hub's HTTP client has changed (requests, httpx, httpx2); match by name
    # so a network failure is recognised whichever one is installed.
    names = {klass.__name__ for klass in type(error).__mro__}
    return bool(names & {"TransportError", "ConnectionError", "ConnectError", "Timeout",
                         "TimeoutException"})


def _status(error: Any) -> int | None:
    response = getattr(error, "response", None)
    return getattr(response, "status_code", None)


# ----------------------------------------------------------------------------- push


def _check_folder(folder: Path) -> dict[str, Any]:
    """Refuse, in one line, a folder that is not a complete weights folder."""
    if not folder.is_dir():
        raise WeightsError(f"{folder}: no such weights folder")
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise WeightsError(f"{folder}: missing config.json")
    try:
        meta = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise WeightsError(f"{config_path}: not valid JSON ({_first_line(error)})") from None
    if not isinstance(meta, dict):
        raise WeightsError(f"{config_path}: expected a JSON object")
    block = "config" if meta.get("format_version") == 1 else "model"
    absent = [key for key in ("format_version", "translator", block) if key not in meta]
    if absent:
        raise WeightsError(f"{config_path}: missing key(s) {', '.join(absent)}")
    meta = layout.read_meta(folder)  # the types of every block
    weights = folder / "model.safetensors"
    if not weights.is_file():
        raise WeightsError(f"{folder}: missing model.safetensors")
    _check_safetensors_header(weights)
    if meta.get("files"):
        layout.verify_folder(folder)  # never publish weights that no longer match their hash
    return meta


def _check_safetensors_header(path: Path) -> None:
    # Reading the header (8-byte length + JSON) is enough to catch a truncated or foreign
    # file before it is published, without loading any tensor.
    try:
        with path.open("rb") as handle:
            prefix = handle.read(8)
            if len(prefix) != 8:
                raise ValueError("file too short")
            (length,) = struct.unpack("<Q", prefix)
            if length > path.stat().st_size - 8:
                raise ValueError("header longer than the file")
            header = json.loads(handle.read(length))
        if not isinstance(header, dict):
            raise ValueError("header is not a JSON object")
    except (OSError, ValueError) as error:
        raise WeightsError(f"{path}: not a safetensors file ({_first_line(error)})") from None


def push(
    folder: str | Path,
    repo_id: str,
    *,
    private: bool = False,
    revision: str | None = None,
    token: str | None = None,
    commit_message: str | None = None,
) -> str:
    """Upload the Hub files of a weights folder to `repo_id` in one commit; return its URL.

    The repo is created when missing and the model card is re-rendered with the repo id
    first, so the card's usage line names the place the weights can be pulled from.
    """
    folder = Path(folder)
    meta = _check_folder(folder)
    reason = offline_reason()
    if reason is not None:
        raise WeightsError(f"cannot push while offline ({reason})")

    from huggingface_hub import CommitOperationAdd, HfApi
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    from translate.hub.card import write_model_card

    try:
        # Checked before the card is rewritten, so a typo never lands in README.md.
        validate_repo_id(repo_id)
    except HFValidationError as error:
        raise WeightsError(f"cannot push to {repo_id!r}: {_first_line(error)}") from None
    try:
        write_model_card(folder, repo_id=repo_id)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise WeightsError(f"{folder / 'config.json'}: cannot render the model card "
                           f"({type(error).__name__}: {_first_line(error)})") from None

    where = f"{repo_id}@{revision}" if revision else repo_id
    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        # Committing to a branch that does not exist fails on the Hub; PR refs are
        # created by the Hub itself, so only plain branch names are created here.
        if revision and revision != "main" and not revision.startswith("refs/"):
            api.create_branch(repo_id, branch=revision, exist_ok=True, repo_type="model")
        # create_commit rather than upload_folder: with hf_xet installed, upload_folder takes a
        # pipelined path that may split into several commits; one commit of exactly these
        # files keeps a repo from ever holding a card without its weights.
        info = api.create_commit(
            repo_id,
            operations=[
                CommitOperationAdd(path_in_repo=name, path_or_fileobj=str(folder / name))
                for name in HUB_FILES
            ],
            commit_message=commit_message or f"Upload {meta['translator']} weights (gan-translate)",
            revision=revision,
            repo_type="model",
        )
    except Exception as error:
        _raise_push_error(error, where)
    return str(info.commit_url)


def _raise_push_error(error: Exception, where: str) -> NoReturn:
    from huggingface_hub.errors import (
        HfHubHTTPError,
        HFValidationError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    endpoint = _endpoint()
    if isinstance(error, HFValidationError):
        raise WeightsError(f"cannot push to {where}: {_first_line(error)}") from None
    if isinstance(error, RevisionNotFoundError):
        raise WeightsError(f"cannot push to {where}: no such branch on {endpoint}") from None
    if isinstance(error, RepositoryNotFoundError) or _status(error) in (401, 403):
        raise WeightsError(
            f"not allowed to push to {where} on {endpoint} "
            "(log in with `hf auth login` or set HF_TOKEN to a write token)"
        ) from None
    if isinstance(error, HfHubHTTPError):
        raise WeightsError(
            f"pushing to {where} failed: HTTP {_status(error)} from {endpoint}"
        ) from None
    if _is_transport_error(error):
        raise WeightsError(
            f"cannot push to {where}: {endpoint} is unreachable ({type(error).__name__})"
        ) from None
    if isinstance(error, ValueError) and "README.md" in str(error):
        # The Hub rejected the card's YAML metadata.
        raise WeightsError(f"cannot push to {where}: the Hub refused the model card") from None
    raise error


# ----------------------------------------------------------------------------- pull


def pull(
    repo_id: str,
    *,
    revision: str | None = None,
    cache_dir: str | Path | None = None,
    local_dir: str | Path | None = None,
    token: str | None = None,
) -> Path:
    """Download the Hub files of `repo_id` (optionally at a pinned revision); return the folder.

    Offline (HF_HUB_OFFLINE / TRANSLATE_OFFLINE) it resolves from the local cache only.
    """
    from huggingface_hub import snapshot_download

    where = f"{repo_id}@{revision}" if revision else repo_id
    try:
        path = snapshot_download(
            repo_id,
            repo_type="model",
            revision=revision,
            cache_dir=cache_dir,
            local_dir=local_dir,
            token=token,
            allow_patterns=list(HUB_FILES),
            # Passed explicitly so TRANSLATE_OFFLINE works even after huggingface_hub
            # has read its environment.
            local_files_only=is_offline(),
        )
    except Exception as error:
        raise_pull_error(error, where)
    folder = Path(path)
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        raise WeightsError(
            f"{where}: no {' or '.join(missing)} in the repo, so it holds no gan-translate weights"
        )
    for name in HUB_FILES:
        if (folder / name).is_file():
            _check_download(folder, name, where, local=local_dir is not None)
    return folder


_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_GIT_SHA1 = re.compile(r"^[0-9a-f]{40}$")


def _check_download(folder: Path, name: str, where: str, *, local: bool) -> None:
    """Refuse a downloaded file whose bytes no longer match the hash the Hub named it by.

    huggingface_hub checks sizes, not contents, and serves its cache as it finds it. In
    the cache a file is a link to `blobs/<hash>`: the sha256 of an LFS file, or the git
    blob sha1 of a small one (sha1 of "blob <size>\\0" + bytes), so both are checked. A
    `local_dir` copy is checked against the hash (etag) recorded next to it.
    """
    path = folder / name
    if local:
        expected, blob = _local_etag(folder, name), path
    else:
        blob = path.resolve()
        expected = blob.name if path.is_symlink() else None
    if not expected or not (_SHA256.match(expected) or _GIT_SHA1.match(expected)):
        return  # no hash to check against; a weights file is still checked on loading
    size = blob.stat().st_size
    digest = hashlib.sha256() if len(expected) == 64 else hashlib.sha1(b"blob %d\0" % size)
    with blob.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    if digest.hexdigest() != expected:
        kind = "sha256" if len(expected) == 64 else "git blob sha1"
        raise WeightsError(
            f"{where}: the downloaded {name} ({blob}) does not match its {kind} "
            f"{expected[:12]}…; it was changed or damaged after download, so it is refused "
            "(delete it and pull again)")


def _local_etag(folder: Path, name: str) -> str | None:
    try:
        from huggingface_hub._local_folder import read_download_metadata
    except ImportError:  # a private helper; without it only the load-time check remains
        return None
    metadata = read_download_metadata(folder, name)
    return metadata.etag if metadata is not None else None


def raise_pull_error(error: Exception, where: str) -> NoReturn:
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        HFValidationError,
        IncompleteSnapshotError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    endpoint = _endpoint()
    if isinstance(error, HFValidationError):
        raise WeightsError(f"cannot pull {where}: {_first_line(error)}") from None
    if isinstance(error, RevisionNotFoundError):
        raise WeightsError(f"{where}: revision not found on {endpoint}") from None
    if isinstance(error, GatedRepoError):
        raise WeightsError(f"{where}: gated repo, request access on {endpoint} first") from None
    if isinstance(error, RepositoryNotFoundError):
        raise WeightsError(
            f"{where}: repo not found on {endpoint} (or private: log in or set HF_TOKEN)"
        ) from None
    if isinstance(error, IncompleteSnapshotError):
        raise WeightsError(
            f"{where}: the cached copy is incomplete and cannot be completed now"
        ) from None
    if isinstance(error, LocalEntryNotFoundError):
        reason = offline_reason()
        if reason is not None:
            raise WeightsError(
                f"{where} is not in the local cache and {reason} forbids downloading"
            ) from None
        cause = error.__cause__
        if isinstance(cause, HfHubHTTPError):
            raise WeightsError(
                f"cannot pull {where}: HTTP {_status(cause)} from {endpoint} "
                "and no cached copy"
            ) from None
        raise WeightsError(
            f"cannot pull {where}: {endpoint} is unreachable and there is no cached copy"
        ) from None
    if isinstance(error, HfHubHTTPError):
        if _status(error) in (401, 403):
            raise WeightsError(f"not allowed to pull {where} from {endpoint}") from None
        raise WeightsError(
            f"cannot pull {where}: HTTP {_status(error)} from {endpoint}"
        ) from None
    if _is_transport_error(error):
        # A download cut midway: huggingface_hub leaves no partial file in the cache.
        raise WeightsError(
            f"cannot pull {where}: {endpoint} is unreachable ({type(error).__name__})"
        ) from None
    raise error
