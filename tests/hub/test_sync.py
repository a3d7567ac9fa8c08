"""push / pull against local Hub stand-ins: a hand-made cache, olah, and a fake upload API.

huggingface_hub reads HF_ENDPOINT / HF_HUB_CACHE / HF_HUB_OFFLINE at import, so every
call that depends on them runs in a subprocess (`run_hub_code`); every subprocess points
HF_ENDPOINT at 127.0.0.1, so no test can reach huggingface.co.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
for _path in (HERE, HERE.parents[1]):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from hubservers import (  # noqa: E402
    FakeHub,
    OlahServer,
    free_port,
    make_mirror_repo,
    make_weights_folder,
    populate_cache,
    read_files,
    run_hub_code,
)

from translate.errors import WeightsError  # noqa: E402
from translate.hub.sync import HUB_FILES, is_offline, push  # noqa: E402

REPO = "org/name"
OFFLINE_MSG = "is not in the local cache and HF_HUB_OFFLINE=1 forbids downloading"

# Runs each (function, args, kwargs) of translate.hub.sync and prints one JSON list of
# {"ok": str(result)} / {"error": str(e), "type": ...}: what a CLI would show the user.
_CALLS = """
import json
from translate.errors import TranslateError
from translate.hub import sync

results = []
for name, args, kwargs in json.loads({calls!r}):
    try:
        results.append({{"ok": str(getattr(sync, name)(*args, **kwargs))}})
    except TranslateError as error:
        results.append({{"error": str(error), "type": type(error).__name__}})
print(json.dumps(results))
"""


def hub_calls(env: dict[str, str], *calls: tuple[str, list, dict]) -> list[dict[str, Any]]:
    """Run sync.<name>(*args, **kwargs) for each call in one subprocess with `env`."""
    proc = run_hub_code(_CALLS.format(calls=json.dumps(calls)), env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # Any uncaught error would be a traceback; user errors must come back as one line each.
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    for result in results:
        if "error" in result:
            assert result["type"] == "WeightsError"
            assert "\n" not in result["error"] and len(result["error"]) < 200, result["error"]
    return results


@pytest.fixture
def hf_home(tmp_path: Path) -> Path:
    # An empty HF_HOME, so a developer's saved token or cache never takes part.
    return tmp_path / "hf_home"


@pytest.fixture
def weights(tmp_path: Path) -> Path:
    folder = make_weights_folder(tmp_path / "weights")
    # Not part of the Hub layout: must never be uploaded.
    (folder / "extra.bin").write_bytes(b"\x00" * 64)
    return folder


@pytest.fixture
def hub(tmp_path: Path):
    server = FakeHub(tmp_path / "fakehub").start()
    yield server
    server.stop()


@pytest.fixture
def olah_weights(tmp_path: Path) -> Path:
    # 8x8 floats: the 4x4 file is 136 bytes, a size olah 0.5.4 mistakes for an LFS pointer
    # and fails to list (see make_mirror_repo).
    return make_weights_folder(tmp_path / "olah_weights", side=8)


@pytest.fixture
def olah(tmp_path: Path):
    if not Path(sys.executable).with_name("olah-cli").exists() or shutil.which("git") is None:
        pytest.skip("needs olah-cli (pip install olah) and git")
    workdir = tmp_path / "olah"
    workdir.mkdir()
    server = OlahServer(workdir=workdir, mirrors=tmp_path / "mirrors")
    server.mirrors.mkdir()
    yield server
    server.stop()


# ----------------------------------------------------------------------------- is_offline


@pytest.mark.parametrize(
    ("env", "expected"),
    [({}, False), ({"HF_HUB_OFFLINE": "1"}, True), ({"TRANSLATE_OFFLINE": "yes"}, True),
     ({"TRANSLATE_OFFLINE": "0"}, False), ({"HF_HUB_OFFLINE": "false"}, False)],
)
def test_is_offline_reads_both_variables(monkeypatch, env: dict[str, str], expected: bool) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSLATE_OFFLINE", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert is_offline() is expected


# ----------------------------------------------------------------------------- pull: cache


def test_pull_offline_from_prepopulated_cache(tmp_path: Path, weights: Path, hf_home: Path) -> None:
    cache = tmp_path / "cache"
    files = read_files(weights, HUB_FILES)
    commit = populate_cache(cache, REPO, files)
    # A cached repo without weights: pull must refuse it rather than hand back a bad folder.
    populate_cache(cache, "org/cardonly", {"README.md": b"# card\n", "config.json": b"{}"})
    env = {"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(cache), "HF_HOME": str(hf_home)}

    default, pinned, missing, unknown_commit, cardonly = hub_calls(
        env,
        ("pull", [REPO], {}),
        ("pull", [REPO], {"revision": commit}),
        ("pull", ["org/missing"], {}),
        ("pull", [REPO], {"revision": "f" * 40}),
        ("pull", ["org/cardonly"], {}),
    )

    snapshot = cache / "models--org--name" / "snapshots" / commit
    for result in (default, pinned):
        assert Path(result["ok"]) == snapshot
        assert read_files(Path(result["ok"]), HUB_FILES) == files
    assert missing["error"] == f"org/missing {OFFLINE_MSG}"
    assert unknown_commit["error"] == f"{REPO}@{'f' * 40} {OFFLINE_MSG}"
    assert "org/cardonly" in cardonly["error"] and "model.safetensors" in cardonly["error"]


def test_translate_offline_alone_keeps_pull_in_the_cache(
    tmp_path: Path, weights: Path, hf_home: Path
) -> None:
    # HF_ENDPOINT points at a closed port: any download attempt would fail differently.
    cache = tmp_path / "cache"
    files = read_files(weights, HUB_FILES)
    populate_cache(cache, REPO, files)
    env = {"TRANSLATE_OFFLINE": "1", "HF_HUB_CACHE": str(cache), "HF_HOME": str(hf_home)}

    cached, missing = hub_calls(env, ("pull", [REPO], {}), ("pull", ["org/missing"], {}))

    assert read_files(Path(cached["ok"]), HUB_FILES) == files
    assert missing["error"] == (
        "org/missing is not in the local cache and TRANSLATE_OFFLINE=1 forbids downloading"
    )


def test_pull_unreachable_hub_is_one_line(tmp_path: Path, hf_home: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    env = {"HF_ENDPOINT": dead, "HF_HUB_CACHE": str(tmp_path / "cache"), "HF_HOME": str(hf_home)}

    (result,) = hub_calls(env, ("pull", [REPO], {"revision": "v1"}))

    assert result["error"] == (
        f"cannot pull {REPO}@v1: {dead} is unreachable and there is no cached copy"
    )


# ----------------------------------------------------------------------------- pull: olah


def test_pull_through_olah_then_offline(
    tmp_path: Path, olah_weights: Path, olah: OlahServer, hf_home: Path
) -> None:
    files = read_files(olah_weights, HUB_FILES)
    commit = make_mirror_repo(olah.mirrors, REPO, {**files, "extra.bin": b"\x01" * 4096})
    make_mirror_repo(olah.mirrors, "org/cardonly", {"README.md": b"# card\n"})
    olah.start()
    cache = tmp_path / "cache"
    env = {"HF_ENDPOINT": olah.url, "HF_HUB_CACHE": str(cache), "HF_HOME": str(hf_home)}

    default, pinned, missing, cardonly = hub_calls(
        env,
        ("pull", [REPO], {}),
        ("pull", [REPO], {"revision": commit}),
        ("pull", ["org/missing"], {}),
        ("pull", ["org/cardonly"], {}),
    )

    snapshot = cache / "models--org--name" / "snapshots" / commit
    assert Path(default["ok"]) == Path(pinned["ok"]) == snapshot
    assert read_files(snapshot, HUB_FILES) == files
    # allow_patterns kept the extra file out of the snapshot and out of the blob store.
    assert sorted(p.name for p in snapshot.iterdir()) == sorted(HUB_FILES)
    assert len(list((cache / "models--org--name" / "blobs").iterdir())) == len(HUB_FILES)
    assert (cache / "models--org--name" / "refs" / "main").read_text() == commit
    assert missing["error"].startswith("org/missing: repo not found on " + olah.url)
    assert "no config.json or model.safetensors" in cardonly["error"]

    # With the mirror gone, the same cache serves the pull offline.
    olah.stop()
    offline = {**env, "HF_HUB_OFFLINE": "1"}
    again, again_pinned = hub_calls(
        offline, ("pull", [REPO], {}), ("pull", [REPO], {"revision": commit})
    )
    assert Path(again["ok"]) == Path(again_pinned["ok"]) == snapshot
    assert read_files(snapshot, HUB_FILES) == files


def test_pull_through_olah_into_local_dir(
    tmp_path: Path, olah_weights: Path, olah: OlahServer, hf_home: Path
) -> None:
    files = read_files(olah_weights, HUB_FILES)
    make_mirror_repo(olah.mirrors, REPO, {**files, "extra.bin": b"\x01"})
    olah.start()
    target = tmp_path / "pulled"
    env = {"HF_ENDPOINT": olah.url, "HF_HUB_CACHE": str(tmp_path / "cache"),
           "HF_HOME": str(hf_home)}

    (result,) = hub_calls(env, ("pull", [REPO], {"local_dir": str(target)}))

    assert Path(result["ok"]) == target.resolve()
    assert read_files(target, HUB_FILES) == files
    assert not (target / "extra.bin").exists()


# ----------------------------------------------------------------------------- push: fake Hub


def test_push_uploads_exactly_the_hub_files(
    weights: Path, hub: FakeHub, hf_home: Path
) -> None:
    env = {"HF_ENDPOINT": hub.url, "HF_TOKEN": "hf_fake_token", "HF_HOME": str(hf_home)}

    main, branch = hub_calls(
        env,
        ("push", [str(weights), REPO], {}),
        # Second push: the repo exists (409, exist_ok) and a new branch is created for it.
        ("push", [str(weights), REPO], {"revision": "v1", "commit_message": "retrain"}),
    )

    assert main["ok"] == f"{hub.url}/{REPO}/commit/{hub.commits[0]['oid']}"
    assert branch["ok"] == f"{hub.url}/{REPO}/commit/{hub.commits[1]['oid']}"
    local = read_files(weights, HUB_FILES)
    assert hub.files(REPO) == local
    assert hub.files(REPO, "v1") == local
    # The card was re-rendered with the repo id before upload.
    assert f"--weights {REPO}" in local["README.md"].decode()
    assert [c["files"] for c in hub.commits] == [list(HUB_FILES)] * 2
    assert hub.commits[1]["summary"] == "retrain"
    # Only the plain-upload routes were used: no LFS batch, no Xet token, no extra file.
    assert set(hub.paths()) == {
        "/api/repos/create",
        "/api/validate-yaml",
        f"/api/models/{REPO}/preupload/main",
        f"/api/models/{REPO}/commit/main",
        f"/api/models/{REPO}/branch/v1",
        f"/api/models/{REPO}/preupload/v1",
        f"/api/models/{REPO}/commit/v1",
    }


def test_push_refuses_incomplete_folder_before_any_request(
    weights: Path, hub: FakeHub, hf_home: Path
) -> None:
    (weights / "model.safetensors").unlink()
    env = {"HF_ENDPOINT": hub.url, "HF_TOKEN": "hf_fake_token", "HF_HOME": str(hf_home)}

    (result,) = hub_calls(env, ("push", [str(weights), REPO], {}))

    assert result["error"] == f"{weights}: missing model.safetensors"
    assert hub.requests == []


def test_push_refused_offline(weights: Path, hub: FakeHub, hf_home: Path) -> None:
    env = {"HF_ENDPOINT": hub.url, "HF_TOKEN": "hf_fake_token", "HF_HOME": str(hf_home),
           "HF_HUB_OFFLINE": "1"}

    (result,) = hub_calls(env, ("push", [str(weights), REPO], {}))

    assert result["error"] == "cannot push while offline (HF_HUB_OFFLINE=1)"
    assert hub.requests == []


def test_push_hub_refusals_are_one_line(weights: Path, hub: FakeHub, hf_home: Path) -> None:
    env = {"HF_ENDPOINT": hub.url, "HF_HOME": str(hf_home)}  # no token

    bad_id, no_token = hub_calls(
        env, ("push", [str(weights), "bad id!!"], {}), ("push", [str(weights), REPO], {})
    )

    assert bad_id["error"].startswith("cannot push to 'bad id!!': Repo id must use")
    assert "bad id" not in (weights / "README.md").read_text()
    assert no_token["error"].startswith(f"not allowed to push to {REPO} on {hub.url}")
    # create_repo(exist_ok=True) checks whether the repo exists after a 401; nothing more.
    assert hub.paths() == ["/api/repos/create", f"/api/models/{REPO}"]
    assert hub.files(REPO) == {}


def test_pull_revision_and_repo_not_found_on_hub(
    tmp_path: Path, weights: Path, hub: FakeHub, hf_home: Path
) -> None:
    # The fake Hub answers repo info with the real Hub's X-Error-Code headers, which olah
    # does not send for an unknown revision.
    env = {"HF_ENDPOINT": hub.url, "HF_TOKEN": "hf_fake_token", "HF_HOME": str(hf_home),
           "HF_HUB_CACHE": str(tmp_path / "cache")}

    pushed, bad_revision, bad_repo = hub_calls(
        env,
        ("push", [str(weights), REPO], {}),
        ("pull", [REPO], {"revision": "nope"}),
        ("pull", ["org/other"], {}),
    )

    assert "ok" in pushed
    assert bad_revision["error"] == f"{REPO}@nope: revision not found on {hub.url}"
    assert bad_repo["error"].startswith(f"org/other: repo not found on {hub.url}")


# ----------------------------------------------------------------------------- push: validation


def _break(folder: Path, how: str) -> str:
    """Damage a weights folder; return the text the error must contain."""
    if how == "no-folder":
        (folder / "config.json").unlink()
        (folder / "model.safetensors").unlink()
        (folder / "README.md").unlink()
        (folder / "extra.bin").unlink()
        folder.rmdir()
        return "no such weights folder"
    if how == "no-config":
        (folder / "config.json").unlink()
        return "missing config.json"
    if how == "bad-json":
        (folder / "config.json").write_text("{not json")
        return "config.json: not valid JSON"
    if how == "no-translator":
        meta = json.loads((folder / "config.json").read_text())
        del meta["translator"]
        (folder / "config.json").write_text(json.dumps(meta))
        return "config.json: missing key(s) translator"
    if how == "not-safetensors":
        (folder / "model.safetensors").write_bytes(b"PK\x03\x04 a zip, not safetensors")
        return "model.safetensors: not a safetensors file"
    raise AssertionError(how)


@pytest.mark.parametrize("how", ["no-folder", "no-config", "bad-json", "no-translator",
                                 "not-safetensors"])
def test_push_validation_is_one_line(weights: Path, how: str) -> None:
    # Validation runs before huggingface_hub is even imported, so in-process is safe.
    expected = _break(weights, how)
    with pytest.raises(WeightsError) as info:
        push(weights, REPO)
    message = str(info.value)
    assert expected in message and str(weights) in message
    assert "\n" not in message
