"""Every example of README.md, run as written, in order, so the README cannot drift from the code.

`sh` blocks run in bash and `sql` blocks through `runs-sql -f`, both against the embedded
emulator in a data directory of their own ($RUNS_SQL_HOME), in one working directory, so that
each example sees what the ones before it did, as a reader following along would. `python`
blocks run as scripts (a block that starts with `# test_NAME.py` is a test file, run by pytest).
Blocks marked `vertex` are written for Vertex AI: they run against an emulator that requires
authentication, with `endpoint=` added to each runs:// URL and connect() call, and stand-ins for
what a Vertex AI user has (Application Default Credentials, a key.json, `gcloud`). See
support/readme_blocks.py for the marks.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from support import ROOT
from support.readme_blocks import MARKS, RUNNABLE, Block, read_blocks

from runs_dbapi.emulator import Emulator

BLOCKS = read_blocks()
RUN = [b for b in BLOCKS if b.lang in RUNNABLE and b.mark != "fresh-clone"]
VERTEX_PROJECT = "my-project"
IMPERSONATED = "runs-reader@my-project.iam.gserviceaccount.com"
TIMEOUT = 180


@dataclass
class World:
    """The reader's machine: a working directory, commands on PATH, an embedded data dir."""

    cwd: Path
    env: dict[str, str]
    vertex: Emulator
    servers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    ports: dict[str, str] = field(default_factory=dict)  # README port -> the one used

    def run(self, argv: list[str], *, env: dict[str, str] | None = None,
            stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, cwd=self.cwd, env=env or self.env, input=stdin,
                              capture_output=True, text=True, timeout=TIMEOUT, check=False)


def _private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _key(emu: Emulator, pem: str, email: str) -> str:
    return json.dumps({
        "type": "service_account", "project_id": VERTEX_PROJECT,
        "private_key_id": "0123456789abcdef0123456789abcdef01234567", "private_key": pem,
        "client_email": email, "client_id": "1234567890", "token_uri": emu.token_uri,
    })


def _shims(directory: Path, token: str) -> None:
    """`runs-sql` and `runs-emulator` from this checkout if the interpreter has no console
    scripts, and a `gcloud` that prints an access token the emulator issued."""
    directory.mkdir()
    python = shlex.quote(sys.executable)
    scripts = {
        "runs-sql": f'exec {python} -m runs_dbapi.cli "$@"',
        "runs-emulator": f'exec {python} -m runs_dbapi.emulator.cli "$@"',
        "gcloud": f'[ "$*" = "auth print-access-token" ] && echo {token} && exit 0\n'
                  'echo "gcloud stand-in: only auth print-access-token" >&2; exit 1',
    }
    for name, body in scripts.items():
        path = directory / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)


def _seed_vertex(emu: Emulator) -> None:
    """A tensorboard, an experiment and a run in my-project, made over HTTP as a client would."""
    headers = {"Authorization": f"Bearer {emu.issue_token('readme')}"}
    base = f"{emu.url}/v1/projects/{VERTEX_PROJECT}/locations/us-central1"
    requests.post(f"{base}/tensorboards", json={"displayName": "team-board"}, headers=headers,
                  timeout=10).raise_for_status()
    boards: list[dict[str, str]] = []
    for _ in range(50):  # creating a tensorboard is a long-running operation
        boards = requests.get(f"{base}/tensorboards", headers=headers,
                              timeout=10).json().get("tensorboards", [])
        if boards:
            break
        time.sleep(0.1)
    board = boards[0]["name"]
    requests.post(f"{emu.url}/v1/{board}/experiments", params={"tensorboardExperimentId":
                  "my-experiment"}, json={"displayName": "my-experiment"}, headers=headers,
                  timeout=10).raise_for_status()
    requests.post(f"{emu.url}/v1/{board}/experiments/my-experiment/runs",
                  params={"tensorboardRunId": "run-1"}, json={"displayName": "run 1"},
                  headers=headers, timeout=10).raise_for_status()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("readme")
    cwd = root / "work"
    cwd.mkdir()
    with Emulator(require_auth=True) as vertex:
        pem = _private_key()
        (cwd / "key.json").write_text(_key(vertex, pem, f"driver@{VERTEX_PROJECT}.iam."
                                           "gserviceaccount.com"))
        adc = root / "application_default_credentials.json"
        adc.write_text(_key(vertex, pem, f"me@{VERTEX_PROJECT}.iam.gserviceaccount.com"))
        _shims(root / "shims", vertex.issue_token("gcloud"))
        _seed_vertex(vertex)
        env = {k: v for k, v in os.environ.items()
               if k not in ("RUNS_URL", "GOOGLE_APPLICATION_CREDENTIALS")}
        interpreter_bin = str(Path(sys.executable).parent)
        env.update(
            PATH=os.pathsep.join([interpreter_bin, str(root / "shims"), env.get("PATH", "")]),
            RUNS_SQL_HOME=str(root / "runs-sql-home"),
            HOME=str(root / "home"),
            PYTHONPATH=os.pathsep.join(p for p in (str(ROOT),
                                                   env.get("PYTHONPATH")) if p),
            GOOGLE_APPLICATION_CREDENTIALS=str(adc),
        )
        world = World(cwd=cwd, env=env, vertex=vertex)
        try:
            yield world
        finally:
            for server in world.servers:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(timeout=30)


def _vertex_text(block: Block, url: str) -> str:
    """The block aimed at the emulator standing in for Vertex AI: endpoint= added, and the
    emulator named in credentials_hosts, so that credentials go to it as they would to Google."""
    def add(match: re.Match[str]) -> str:
        text = match.group(0)
        extra = f"endpoint={url}&credentials_hosts={url}"
        if "impersonate_service_account" in text:
            extra += f"&iam_endpoint_override={url}"
        return text + ("&" if "?" in text else "?") + extra

    text = re.sub(r"runs://my-project[^\"']*", add, block.body)
    if block.lang == "python":
        extra = f"endpoint={url!r}, credentials_hosts={url!r}, "
        if "impersonate_service_account" in text:
            extra += f"iam_endpoint_override={url!r}, "
        text = text.replace("runs_dbapi.connect(", "runs_dbapi.connect(" + extra)
    assert text != block.body, f"the vertex block at line {block.line} names no runs://"
    return text


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_server(world: World, block: Block, text: str) -> None:
    readme_port = block.mark.split()[1]
    port = str(_free_port())
    world.ports[readme_port] = port
    text = text.replace(readme_port, port)
    log = (world.cwd / f"server-{port}.log").open("wb")
    server = subprocess.Popen(["bash", "-c", "exec " + text.strip()], cwd=world.cwd,
                              env=world.env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    world.servers.append(server)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, (world.cwd / f"server-{port}.log").read_text()
        try:
            requests.get(f"http://127.0.0.1:{port}/emulator/stats", timeout=1)
            return
        except requests.RequestException:  # not listening yet, or still seeding its data
            time.sleep(0.1)
    raise AssertionError(f"the server of line {block.line} did not start listening")


def _show(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit status {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n" \
        f"{result.stderr}"


def test_every_block_is_runnable_or_output() -> None:
    assert BLOCKS, "README.md has no code blocks"
    for block in BLOCKS:
        assert block.lang in (*RUNNABLE, "text"), f"line {block.line}: ```{block.lang}"
        if block.mark:
            assert block.mark.split()[0] in MARKS, f"line {block.line}: mark {block.mark!r}"
    assert [b.mark for b in BLOCKS if b.mark == "fresh-clone"] == ["fresh-clone"] * 2
    # Each statement of the seed has its worked example.
    sql = "\n".join(b.body for b in BLOCKS if b.lang == "sql")
    for form in ("SELECT\nnextPageToken", "AND runsId = ", "INSERT INTO google.aiplatform.runs",
                 "data__requests", "UPDATE google.aiplatform.runs", "DELETE FROM google",
                 "EXEC google.aiplatform.runs.write"):
        assert form in sql, form


@pytest.mark.parametrize("block", RUN, ids=[b.id for b in RUN])
def test_block(world: World, block: Block) -> None:
    text = block.body
    for readme_port, port in world.ports.items():
        text = text.replace(readme_port, port)
    env = world.env
    if block.mark == "vertex":
        text = _vertex_text(block, world.vertex.url)
    if block.mark.startswith("background"):
        _start_server(world, block, text)
        return
    path = world.cwd / f"block-{block.index:02d}.{block.lang}"
    if block.lang == "python":
        first = text.splitlines()[0] if text.strip() else ""
        match = re.fullmatch(r"# (test_\w+\.py)", first.strip())
        if match:
            path = world.cwd / match.group(1)
            path.write_text(text)
            result = world.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                str(path)], env=env)
        else:
            path.write_text(text)
            result = world.run([sys.executable, str(path)], env=env)
    elif block.lang == "sql":
        path.write_text(text)
        result = world.run(["runs-sql", "-F", "table", "-f", str(path)], env=env)
    else:
        path.write_text(text)
        result = world.run(["bash", "-eo", "pipefail", str(path)], env=env)
    assert result.returncode == 0, _show(result)
    assert "Traceback" not in result.stderr, _show(result)
    if block.lang == "sql":
        assert "(0 rows)" not in result.stdout, _show(result)


def test_the_worked_examples_took_effect(world: World) -> None:
    """After the statements above: the runs they made and deleted, the runs they changed."""
    result = world.run(["runs-sql", "-F", "json", "-f", "-"], stdin="""
        SELECT runsId FROM runs WHERE experimentsId IN ('bert-glue', 't5-summarize')
        AND CAST(substr(runsId, -4) AS INTEGER) > 60;
        SELECT count(*) AS n FROM runs WHERE experimentsId = 'ppo-atari'
        AND description = 'diverged: rerun with a lower lr';
        SELECT count(*) AS n FROM runs WHERE experimentsId = 'ppo-atari'
        AND labels ->> '$.status' = 'failed';
    """)
    assert result.returncode == 0, _show(result)
    made, changed, failed = _documents(result.stdout)
    assert made == []
    assert changed[0]["n"] == failed[0]["n"] > 0


def _documents(text: str) -> list[object]:
    """The JSON documents of `runs-sql -F json` output, one per statement."""
    decoder = json.JSONDecoder()
    documents, index = [], 0
    while text[index:].strip():
        index += len(text[index:]) - len(text[index:].lstrip())
        document, index = decoder.raw_decode(text, index)
        documents.append(document)
    return documents
