"""Deploy from a manifest (issue 14) against the emulator, with the calls it counts: apply
twice (the second writes nothing), label drift found, planned and applied as one patch,
teardown that leaves what the manifest does not name, a failure midway that says what was
applied, 2,000 runs in 2 batchCreates, the seed's Manifest tab filled in, and the command line.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from support import ROOT
from support.world import FAST_RETRY, LOCATION, PROJECT

import runs_dbapi
from runs_dbapi.connection import Connection
from runs_dbapi.deploy import ApplyError, Manifest, apply, load_manifest, plan, teardown
from runs_dbapi.deploy import test as drift
from runs_dbapi.emulator import Emulator, FaultPlan

_numbers = itertools.count(1)

STACK = """\
version: 1
name: baselines
globals:
  - name: project
    value: demo-project
resources:
  - name: board
    type: tensorboards
    props:
      - name: projectsId
        value: "{{ project }}"
      - name: displayName
        value: "{{ board }}"
    exports:
      - tensorboardsId
  - name: experiment
    type: experiments
    props:
      - name: tensorboardsId
        value: "{{ tensorboardsId }}"
      - name: tensorboardExperimentId
        value: baseline
      - name: displayName
        value: Baselines
  - name: baseline-runs
    props:
      - name: tensorboardsId
        value: "{{ tensorboardsId }}"
      - name: experimentsId
        value: baseline
      - name: requests
        value:
          - tensorboardRunId: bert-base
            tensorboardRun: {displayName: bert base, labels: {status: baseline}}
          - tensorboardRunId: t5-small
            tensorboardRun: {displayName: t5 small, labels: {status: baseline}}
"""

READS = {"tensorboards.list": 1, "experiments.list": 1, "runs.list": 1}


@pytest.fixture
def conn(module_emu: Emulator) -> Iterator[Connection]:
    module_emu.set_faults(None)
    connection = runs_dbapi.connect(endpoint=module_emu.url, anonymous=True, project=PROJECT,
                                    location=LOCATION, retry=FAST_RETRY)
    module_emu.reset_stats()
    yield connection
    connection.close()
    module_emu.set_faults(None)


def _manifest(tmp_path: Path, text: str = STACK, **variables: str) -> Manifest:
    path = tmp_path / "stack.yml"
    path.write_text(text)
    variables.setdefault("board", f"board-{next(_numbers)}")
    return load_manifest(path, variables=variables, environ={})


def _calls(module_emu: Emulator) -> dict[str, int]:
    calls = module_emu.stats()["calls"]
    module_emu.reset_stats()
    return calls


def _run_url(module_emu: Emulator, board: str, run: str = "") -> str:
    base = (f"{module_emu.url}/v1/projects/{PROJECT}/locations/{LOCATION}/tensorboards/{board}/"
            "experiments/baseline/runs")
    return f"{base}/{run}" if run else base


def test_apply_twice_the_second_makes_no_write_call(module_emu: Emulator, conn: Connection,
                                                    tmp_path: Path) -> None:
    manifest = _manifest(tmp_path)
    planned = plan(conn, manifest)
    assert _calls(module_emu) == {"tensorboards.list": 1}  # the rest hangs on the new board's ID
    assert planned.changed
    assert [c.action for b in planned.blocks for c in b.changes] == ["create"] * 4
    texts = [s.text() for b in planned.blocks for s in b.statements]
    assert "'<known after apply: board.tensorboardsId>'" in texts[1]
    first = apply(conn, manifest)
    assert _calls(module_emu) == {"tensorboards.list": 1, "tensorboards.create": 1,
                           "experiments.list": 1, "experiments.create": 1,
                           "runs.batchCreate": 1}
    board = first.blocks[0].exports["tensorboardsId"]
    assert board and first.blocks[0].changes[0].name.endswith(f"/tensorboards/{board}")
    second = apply(conn, manifest)
    assert _calls(module_emu) == READS  # reads only: no write call
    assert not second.changed and not [s for b in second.blocks for s in b.statements]
    assert not drift(conn, manifest).changed
    assert _calls(module_emu) == READS
    runs = requests.get(_run_url(module_emu, board), timeout=10).json()["tensorboardRuns"]
    assert {r["displayName"]: r["labels"] for r in runs} == {
        "bert base": {"status": "baseline"}, "t5 small": {"status": "baseline"}}


def test_label_drift_is_found_planned_and_applied_as_one_patch(
        module_emu: Emulator, conn: Connection, tmp_path: Path) -> None:
    manifest = _manifest(tmp_path)
    board = apply(conn, manifest).blocks[0].exports["tensorboardsId"]
    answer = requests.patch(_run_url(module_emu, board, "t5-small"),
                            params={"updateMask": "labels"},
                            json={"labels": {"status": "broken", "extra": "x"}}, timeout=10)
    assert answer.status_code == 200, answer.text
    _calls(module_emu)
    found = drift(conn, manifest)
    assert found.changed and _calls(module_emu) == READS
    changes = [c for b in found.blocks for c in b.changes if c.action != "unchanged"]
    assert [(c.resource, c.action) for c in changes] == [("baseline-runs[t5-small]", "update")]
    assert [(d.field, d.live, d.wanted) for d in changes[0].diffs] == [
        ("labels.extra", "x", None), ("labels.status", "broken", "baseline")]
    planned = plan(conn, manifest)
    statements = [s for b in planned.blocks for s in b.statements]
    assert len(statements) == 1 and len(statements[0].rows) == 1
    text = statements[0].text()
    assert text.startswith("UPDATE runs SET labels = '{\"status\": \"baseline\"}' WHERE ")
    assert "AND runsId = 't5-small' AND etag = '" in text
    _calls(module_emu)
    apply(conn, manifest)
    assert _calls(module_emu) == {**READS, "runs.patch": 1}
    assert not drift(conn, manifest).changed


def test_teardown_deletes_only_what_the_manifest_names(module_emu: Emulator, conn: Connection,
                                                       tmp_path: Path) -> None:
    manifest = _manifest(tmp_path)
    board = apply(conn, manifest).blocks[0].exports["tensorboardsId"]
    answer = requests.post(_run_url(module_emu, board), params={"tensorboardRunId": "mine"},
                           json={"displayName": "not in the manifest"}, timeout=10)
    assert answer.status_code == 200, answer.text
    _calls(module_emu)
    dry = teardown(conn, manifest, dry_run=True)
    assert not any(k.endswith(".delete") for k in _calls(module_emu))
    report = teardown(conn, manifest)
    assert [(c.resource, c.action) for b in report.blocks for c in b.changes] == [
        ("board", "kept"), ("experiment", "kept"), ("baseline-runs[bert-base]", "delete"),
        ("baseline-runs[t5-small]", "delete")]
    assert [(c.resource, c.action) for b in dry.blocks for c in b.changes] == \
        [(c.resource, c.action) for b in report.blocks for c in b.changes]
    assert "holds 1 resource the manifest does not declare" in report.blocks[1].changes[0].note
    calls = _calls(module_emu)
    assert calls["runs.delete"] == 2
    assert "experiments.delete" not in calls and "tensorboards.delete" not in calls
    runs = requests.get(_run_url(module_emu, board), timeout=10).json()["tensorboardRuns"]
    assert [r["displayName"] for r in runs] == ["not in the manifest"]
    # With the stranger gone, teardown takes the experiment and the board, in reverse order.
    assert requests.delete(_run_url(module_emu, board, "mine"), timeout=10).status_code == 200
    _calls(module_emu)
    report = teardown(conn, manifest)
    assert [c.action for b in report.blocks for c in b.changes] == [
        "delete", "delete", "absent", "absent"]
    calls = _calls(module_emu)
    assert calls["experiments.delete"] == calls["tensorboards.delete"] == 1
    assert "runs.delete" not in calls


def test_a_failure_midway_says_exactly_what_was_applied(module_emu: Emulator, conn: Connection,
                                                        tmp_path: Path) -> None:
    manifest = _manifest(tmp_path)
    module_emu.set_faults(FaultPlan(rate=1.0, kinds=("500",), methods=("runs.batchCreate",)))
    with pytest.raises(ApplyError) as caught:
        apply(conn, manifest)
    error = caught.value
    assert error.failed == "baseline-runs (runs)"
    assert [(c.resource, c.action) for c in error.done] == [("board", "create"),
                                                            ("experiment", "create")]
    message = str(error)
    assert message.startswith("apply stopped at baseline-runs (runs): ")
    assert "Applied before it: created board (projects/" in message
    assert "; created experiment (projects/" in message
    assert _calls(module_emu)["experiments.create"] == 1
    module_emu.set_faults(None)
    report = apply(conn, manifest)  # applied again: only what is missing
    assert [c.action for b in report.blocks for c in b.changes] == [
        "unchanged", "unchanged", "create", "create"]
    assert _calls(module_emu) == {**READS, "runs.batchCreate": 1}


def test_2000_runs_take_2_batch_creates_and_reapplying_only_lists(
        module_emu: Emulator, conn: Connection, tmp_path: Path) -> None:
    items = "".join(f"          - {{tensorboardRunId: run-{i:04d}, displayName: run {i}}}\n"
                    for i in range(2000))
    text = STACK.split("          - tensorboardRunId: bert-base", maxsplit=1)[0] + items
    manifest = _manifest(tmp_path, text)
    report = apply(conn, manifest)
    calls = _calls(module_emu)
    assert calls["runs.batchCreate"] == 2
    assert sum(c.action == "create" for c in report.blocks[2].changes) == 2000
    report = apply(conn, manifest)
    calls = _calls(module_emu)
    assert calls and all(method.endswith(".list") for method in calls), calls
    assert calls["runs.list"] == 2  # 2,000 runs: two pages of 1,000
    assert not report.changed


SEED_TAB = """\
version: 1
name: seed-manifest-tab
resources:
# The seed page's Manifest tab, its values filled in
- name: runs
  props:
    - name: projectsId
      value: demo-project
      description: Required parameter for the runs resource.
    - name: locationsId
      value: us-central1
      description: Required parameter for the runs resource.
    - name: tensorboardsId
      value: "{{ tensorboard }}"
      description: Required parameter for the runs resource.
    - name: experimentsId
      value: seed
      description: Required parameter for the runs resource.
    - name: displayName
      value: seed run
      description: >
        Required. User provided name of this TensorboardRun.
    - name: description
      value: the seed's run
    - name: labels
      value: {team: nlp}
    - name: etag
      value: ""
    - name: requests
      value:
        - tensorboardRunId: seed-batch-1
          tensorboardRun: {displayName: seed batch 1}
    - name: tensorboardRunId
      value: seed-run
"""


def test_the_seed_manifest_tab_filled_in_applies(module_emu: Emulator, conn: Connection,
                                                 tmp_path: Path) -> None:
    board = apply(conn, _manifest(tmp_path)).blocks[0].exports["tensorboardsId"]
    experiment = (f"{module_emu.url}/v1/projects/{PROJECT}/locations/{LOCATION}/"
                  f"tensorboards/{board}/experiments")
    assert requests.post(experiment, params={"tensorboardExperimentId": "seed"}, json={},
                         timeout=10).status_code == 200
    manifest = _manifest(tmp_path, SEED_TAB, tensorboard=str(board))
    _calls(module_emu)
    report = apply(conn, manifest)
    assert [(c.resource, c.action) for c in report.blocks[0].changes] == [
        ("runs[seed-run]", "create"), ("runs[seed-batch-1]", "create")]
    assert _calls(module_emu) == {"runs.list": 1, "runs.batchCreate": 1}
    runs = {r["displayName"]: r for r in requests.get(f"{experiment}/seed/runs",
                                                      timeout=10).json()["tensorboardRuns"]}
    assert runs["seed run"]["labels"] == {"team": "nlp"}
    assert runs["seed run"]["description"] == "the seed's run"
    assert "seed batch 1" in runs
    assert not apply(conn, manifest).changed


def _cli(module_emu: Emulator, *args: str) -> subprocess.CompletedProcess[str]:
    url = f"runs://{PROJECT}/{LOCATION}?endpoint={module_emu.url}&anonymous=true"
    return subprocess.run([sys.executable, "-m", "runs_dbapi.cli", "deploy", *args,
                           "--url", url], capture_output=True, text=True, timeout=120,
                          check=False, cwd=ROOT)


def test_the_command_line(module_emu: Emulator, tmp_path: Path) -> None:
    (tmp_path / "stack.yml").write_text(STACK)
    file = str(tmp_path / "stack.yml")
    board = f"-eboard=cli-{next(_numbers)}"
    planned = _cli(module_emu, "plan", file, board)
    assert planned.returncode == 2, planned.stderr
    assert "board (tensorboards): 1 create" in planned.stdout
    assert ("statements would run:\nINSERT INTO tensorboards (projectsId, locationsId, "
            "displayName) ") in planned.stdout
    _calls(module_emu)
    dry = _cli(module_emu, "apply", file, board, "--dry-run")
    assert dry.returncode == 0 and "(dry run: nothing done)" in dry.stdout
    assert not any(not k.endswith(".list") for k in _calls(module_emu))
    applied = _cli(module_emu, "apply", file, board, "--output", "json")
    assert applied.returncode == 0, applied.stderr
    document = json.loads(applied.stdout)
    assert document["changed"] and document["resources"][2]["counts"] == {"create": 2}
    tested = _cli(module_emu, "test", file, board)
    assert tested.returncode == 0 and "no differences" in tested.stdout
    again = _cli(module_emu, "plan", file, board, "--output", "json")
    assert again.returncode == 0 and json.loads(again.stdout)["changed"] is False
    torn = _cli(module_emu, "teardown", file, board)
    assert torn.returncode == 0 and "board (tensorboards): 1 delete" in torn.stdout


def test_a_bad_manifest_is_one_line_and_no_call(module_emu: Emulator, tmp_path: Path) -> None:
    (tmp_path / "stack.yml").write_text(STACK.replace("value: Baselines",
                                                      "value: Baselines\n      - name: name\n"
                                                      "        value: x"))
    _calls(module_emu)
    result = _cli(module_emu, "apply", str(tmp_path / "stack.yml"), "-eboard=x")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"runs-sql: ManifestError: {tmp_path / 'stack.yml'}, line 25, resource 'experiment', "
        "prop 'name': 'name' is output only: the API sets it on TensorboardExperiments "
        "(declarable: projectsId, locationsId, tensorboardsId, experimentsId, "
        "tensorboardExperimentId, description, displayName, labels, source, etag)"]
    assert _calls(module_emu) == {}
