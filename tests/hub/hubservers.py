"""Local stand-ins for the Hugging Face Hub, so hub tests never touch huggingface.co.

- `make_weights_folder`: a folder in the gan-translate Hub layout.
- `populate_cache`: a huggingface_hub cache laid out by hand (blobs / snapshots / refs).
- `make_mirror_repo` + `OlahServer`: a git repo served by olah, a real Hub mirror, offline.
- `FakeHub`: a test double for the few upload routes huggingface_hub uses, since no
  open-source Hub server accepts uploads.
- `run_hub_code`: runs code in a subprocess, because huggingface_hub reads HF_* env vars
  once, at import.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.error import URLError
from urllib.parse import unquote, urlsplit
from urllib.request import urlopen

REPO_ROOT = Path(__file__).resolve().parents[2]

WEIGHTS_META: dict[str, Any] = {
    "format_version": 1,
    "translator": "digits",
    "task": "class-conditional generation",
    "description": "test",
    "config": {"steps": 1},
    "provenance": {"command": "translate train digits", "data": "digits", "steps": 1},
    "metrics": {"accuracy": 0.9},
}


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_weights_folder(folder: Path, *, card: bool = True, side: int = 4) -> Path:
    """config.json + model.safetensors (+ README.md) as `translate train` would write them."""
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(WEIGHTS_META, indent=2))
    save_file({"G.weight": torch.randn(side, side)}, str(folder / "model.safetensors"))
    if card:
        from translate.hub.card import write_model_card

        write_model_card(folder)
    return folder


def read_files(folder: Path, names: tuple[str, ...] | list[str]) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in names}


# ----------------------------------------------------------------------------- subprocess


def run_hub_code(code: str, env: dict[str, str], *,
                 timeout: float = 60) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter whose HF_* environment is exactly `env` + defaults.

    HF_* / TRANSLATE_* variables of the test runner are dropped, so a developer's own
    HF_TOKEN or HF_HOME can never leak in; telemetry is always off.
    """
    base = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSLATE_"))}
    base.update(
        # A closed local port unless the test names a server: nothing can reach huggingface.co.
        HF_ENDPOINT=f"http://127.0.0.1:{free_port()}",
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        HF_HUB_DISABLE_UPDATE_CHECK="1",
        PYTHONPATH=str(REPO_ROOT),
    )
    base.update(env)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=base, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout,
    )


# ----------------------------------------------------------------------------- cache


def populate_cache(cache_dir: Path, repo_id: str, files: dict[str, bytes],
                   *, commit: str | None = None) -> str:
    """Lay out `files` as huggingface_hub's cache would after a download; return the commit."""
    commit = commit or hashlib.sha1(repr(sorted(files.items())).encode()).hexdigest()
    repo = cache_dir / f"models--{repo_id.replace('/', '--')}"
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        blob = hashlib.sha256(data).hexdigest()
        (repo / "blobs" / blob).write_bytes(data)
        link = snapshot / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(repo / "blobs" / blob, link.parent))
    (repo / "refs").mkdir(exist_ok=True)
    # huggingface_hub reads the ref verbatim: a trailing newline would break the lookup.
    (repo / "refs" / "main").write_text(commit)
    return commit


# ----------------------------------------------------------------------------- olah


def make_mirror_repo(mirrors: Path, repo_id: str, files: dict[str, bytes]) -> str:
    """A git repo at <mirrors>/models/<repo_id> holding `files` on main; return its commit."""
    for name, data in files.items():
        # olah 0.5.4 reads every 121-149 byte file as a possible LFS pointer with
        # .decode("utf-8"), so a binary file of that size makes its tree listing fail (500).
        if 120 < len(data) < 150:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                raise ValueError(f"{name}: {len(data)} binary bytes trip an olah bug; "
                                 "use a size outside 121-149") from None
    repo = mirrors / "models" / repo_id
    repo.mkdir(parents=True)
    for name, data in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_bytes(data)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid",
           "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "weights"]):
        subprocess.run([*git, *args], cwd=repo, check=True, capture_output=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], cwd=repo, check=True,
                          capture_output=True, text=True)
    return head.stdout.strip()


def wait_for_http(url: str, *, timeout: float = 30, proc: subprocess.Popen | None = None) -> None:
    """Poll `url` until the server answers anything at all (errors included)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited early with code {proc.returncode}")
        try:
            with urlopen(url, timeout=1):
                return
        except URLError as error:
            # An HTTP error status means the server is up; a refused connection means not yet.
            if getattr(error, "code", None) is not None:
                return
        except (ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


@dataclass
class OlahServer:
    """olah-cli serving the git repos under `mirrors` offline on 127.0.0.1."""

    workdir: Path
    mirrors: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> OlahServer:
        netloc = f"127.0.0.1:{self.port}"
        config = self.workdir / "olah.toml"
        config.write_text(textwrap.dedent(f"""\
            [basic]
            host = "127.0.0.1"
            port = {self.port}
            mirror-netloc = "{netloc}"
            mirror-lfs-netloc = "{netloc}"
            mirrors-path = [{json.dumps(str(self.mirrors))}]
            repos-path = {json.dumps(str(self.workdir / "repos"))}

            [accessibility]
            offline = true
            """))
        olah = Path(sys.executable).with_name("olah-cli")
        log = (self.workdir / "olah.out").open("wb")
        # Its own session, so stop() can end olah and anything it spawned, nothing else.
        self.proc = subprocess.Popen(
            [str(olah), "-c", str(config), "--log-path", str(self.workdir / "logs")],
            cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        try:
            wait_for_http(f"{self.url}/api/models/none/none/revision/main",
                          timeout=timeout, proc=self.proc)
        except BaseException:
            self.stop()
            raise
        return self

    def log(self) -> str:
        path = self.workdir / "olah.out"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, 9)
            proc.wait(timeout=10)


# ----------------------------------------------------------------------------- fake Hub


class FakeHub:
    """A minimal Hub API for uploads, on a stdlib HTTP server in a thread.

    Routes (found by reading huggingface_hub 2.4's hf_api.py / _commit_api.py and logging
    what `push` sends):

    - POST /api/repos/create                               create_repo (409 when it exists)
    - POST /api/validate-yaml                              create_commit checks README.md
    - POST /api/models/{org}/{name}/branch/{branch}        create_branch (409 when it exists)
    - POST /api/models/{org}/{name}/preupload/{revision}   answers uploadMode "regular" for
      every file, so content travels base64-inlined in the commit and no LFS/Xet is used
    - POST /api/models/{org}/{name}/commit/{revision}      NDJSON commit; files land on disk
      under <root>/<org>/<name>/<branch>/; an "lfsFile" line is refused with 400
    - GET  /api/models/{org}/{name}[/revision/{revision}]  repo info, or 404 with the
      X-Error-Code the real Hub sends (RepoNotFound / RevisionNotFound); create_repo asks
      for it after a 401/403, and pull (snapshot_download) before listing files

    Every request is recorded in `requests` as (method, path); unknown routes get 404.
    Requests without `Authorization: Bearer ...` get 401, like the Hub for writes.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[tuple[str, str]] = []
        self.commits: list[dict[str, Any]] = []
        # repo_id -> branch -> commit oid
        self.branches: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        # A short poll interval makes stop() quick (the default waits up to 0.5 s).
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeHub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def files(self, repo_id: str, branch: str = "main") -> dict[str, bytes]:
        folder = self.root / repo_id / branch
        if not folder.is_dir():
            return {}
        return {p.relative_to(folder).as_posix(): p.read_bytes()
                for p in sorted(folder.rglob("*")) if p.is_file()}

    def paths(self) -> list[str]:
        return [path for _, path in self.requests]

    # -- request handling -------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
                pass

            def do_GET(self) -> None:
                hub._dispatch(self, "GET")

            def do_POST(self) -> None:
                hub._dispatch(self, "POST")

        return Handler

    def _dispatch(self, req: BaseHTTPRequestHandler, method: str) -> None:
        path = urlsplit(req.path).path
        length = int(req.headers.get("Content-Length") or 0)
        body = req.rfile.read(length) if length else b""
        with self._lock:
            self.requests.append((method, path))
            status, payload, headers = self._route(req, method, path, body)
        data = json.dumps(payload).encode()
        req.send_response(status)
        req.send_header("Content-Type", "application/json")
        req.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            req.send_header(key, value)
        req.end_headers()
        req.wfile.write(data)

    def _route(self, req: BaseHTTPRequestHandler, method: str, path: str,
               body: bytes) -> tuple[int, Any, dict[str, str]]:
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if method == "GET" and parts[:2] == ["api", "models"] and len(parts) == 4:
            return self._repo_info(f"{parts[2]}/{parts[3]}", "main")
        if method == "GET" and parts[:2] == ["api", "models"] and len(parts) >= 6 \
                and parts[4] == "revision":
            return self._repo_info(f"{parts[2]}/{parts[3]}", "/".join(parts[5:]))
        if method != "POST":
            return 404, {"error": "no such route"}, {}
        if not req.headers.get("Authorization", "").startswith("Bearer "):
            return 401, {"error": "Invalid username or password."}, {}
        if parts == ["api", "repos", "create"]:
            return self._create_repo(json.loads(body))
        if parts == ["api", "validate-yaml"]:
            return 200, {"errors": [], "warnings": []}, {}
        if parts[:2] == ["api", "models"] and len(parts) >= 6:
            repo_id, action, rev = f"{parts[2]}/{parts[3]}", parts[4], "/".join(parts[5:])
            if repo_id not in self.branches:
                return 404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"}
            if action == "branch":
                return self._create_branch(repo_id, rev)
            if rev not in self.branches[repo_id]:
                return 404, {"error": "Invalid rev id"}, {"X-Error-Code": "RevisionNotFound"}
            if action == "preupload":
                files = json.loads(body)["files"]
                return 200, {"files": [{"path": f["path"], "uploadMode": "regular",
                                        "shouldIgnore": False, "oid": None} for f in files],
                             "commitOid": self.branches[repo_id][rev]}, {}
            if action == "commit":
                return self._commit(repo_id, rev, body)
        return 404, {"error": "no such route"}, {}

    def _create_repo(self, payload: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        repo_id = f"{payload.get('organization')}/{payload['name']}"
        url = f"{self.url}/{repo_id}"
        if repo_id in self.branches:
            return 409, {"error": "You already created this model repo", "url": url}, {}
        self.branches[repo_id] = {"main": hashlib.sha1(repo_id.encode()).hexdigest()}
        (self.root / repo_id / "main").mkdir(parents=True, exist_ok=True)
        return 200, {"url": url, "name": repo_id, "id": repo_id}, {}

    def _create_branch(self, repo_id: str, branch: str) -> tuple[int, Any, dict[str, str]]:
        if branch in self.branches[repo_id]:
            return 409, {"error": "Reference already exists"}, {}
        self.branches[repo_id][branch] = self.branches[repo_id]["main"]
        shutil.copytree(self.root / repo_id / "main", self.root / repo_id / branch)
        return 200, {}, {}

    def _commit(self, repo_id: str, branch: str, body: bytes) -> tuple[int, Any, dict[str, str]]:
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        header = lines[0]["value"] if lines and lines[0]["key"] == "header" else {}
        added: list[str] = []
        for line in lines[1:]:
            if line["key"] != "file" or line["value"].get("encoding") != "base64":
                # Only inline files were offered in preupload; anything else is a client bug.
                return 400, {"error": f"unexpected commit line {line['key']!r}"}, {}
            target = self.root / repo_id / branch / line["value"]["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(base64.b64decode(line["value"]["content"]))
            added.append(line["value"]["path"])
        oid = hashlib.sha1(b"%d %s " % (len(self.commits), branch.encode()) + body).hexdigest()
        self.branches[repo_id][branch] = oid
        self.commits.append({"repo_id": repo_id, "branch": branch, "oid": oid,
                             "summary": header.get("summary"), "files": added})
        return 200, {"success": True, "commitOid": oid,
                     "commitUrl": f"{self.url}/{repo_id}/commit/{oid}"}, {}

    def _repo_info(self, repo_id: str, rev: str) -> tuple[int, Any, dict[str, str]]:
        if repo_id not in self.branches:
            return 404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"}
        sha = self.branches[repo_id].get(rev) or (
            rev if rev in self.branches[repo_id].values() else None)
        if sha is None:
            return 404, {"error": "Invalid rev id"}, {"X-Error-Code": "RevisionNotFound"}
        branch = next(b for b, s in self.branches[repo_id].items() if s == sha)
        siblings = [{"rfilename": name} for name in self.files(repo_id, branch)]
        return 200, {"id": repo_id, "sha": sha, "private": False, "siblings": siblings}, {}


@contextlib.contextmanager
def fake_hub(root: Path) -> Iterator[FakeHub]:
    hub = FakeHub(root).start()
    try:
        yield hub
    finally:
        hub.stop()
