"""The seed page's INSERT, UPDATE, DELETE and EXEC examples, run as written with placeholders
filled (google.aiplatform.runs.md), against the emulator over real HTTP.

The statements (support/seed_statements.py) are the page's text byte for byte (trailing spaces,
`--required` comments, the `;` that the DELETE example puts inside its last comment); when the
page is at hand, a test checks that they still are. Effects are read back through the driver
(SELECT) and through plain HTTP, and the API calls each statement makes are counted by the
emulator.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from support.seed_statements import BATCH_CREATE, CREATE, DELETE, PATCH, SEED_PAGE, WRITE
from support.world import SYSTEM_PREFIX, World, fill

from runs_dbapi.exceptions import DataError, OperationalError

RETURNED = ["name", "createTime", "description", "displayName", "etag", "labels", "updateTime"]


def path_of(world: World, experiment: str) -> dict[str, str]:
    return {**world.path, "experimentsId": experiment}


def select_run(world: World, experiment: str, run: str) -> tuple[object, ...] | None:
    """The run through the driver (the seed's get SELECT), or None."""
    with world.connect() as connection:
        cursor = connection.cursor()
        cursor.execute(
            "SELECT name, description, displayName, etag, labels FROM google.aiplatform.runs "
            "WHERE projectsId = ? AND locationsId = ? AND tensorboardsId = ? "
            "AND experimentsId = ? AND runsId = ?",
            [world.path["projectsId"], world.path["locationsId"], world.tensorboard, experiment,
             run],
        )
        rows = cursor.fetchall()
    assert len(rows) <= 1
    return rows[0] if rows else None


def test_statements_are_the_seed_pages_text() -> None:
    if not SEED_PAGE.exists():
        pytest.skip("the seed page is not on this machine")
    blocks = re.findall(r"```sql\n(.*?)```", SEED_PAGE.read_text(), re.DOTALL)
    writes = [b for b in blocks if not b.lstrip().upper().startswith("SELECT")]
    assert writes == [CREATE, BATCH_CREATE, PATCH, DELETE, WRITE]


# -- INSERT: create ----------------------------------------------------------------------------


def test_create_as_written(world: World) -> None:
    experiment = world.new_experiment("seed-create")
    sql = fill(CREATE, displayName="lr sweep 1", description="first trial",
               labels='{"team": "nlp", "lr": "0-01"}', etag="",
               tensorboardRunId="trial-1", **path_of(world, experiment))
    with world.connect() as connection:
        cursor = connection.cursor()
        world.emu.reset_stats()
        cursor.execute(sql)
        assert world.calls() == {"runs.create": 1}
        assert cursor.rowcount == 1
        assert [d[0] for d in cursor.description] == RETURNED
        rows = cursor.fetchall()
    assert len(rows) == 1
    name, created, description, display, etag, labels, updated = rows[0]
    assert str(name).endswith(f"/tensorboards/{world.tensorboard}/experiments/{experiment}"
                              "/runs/trial-1")
    assert (description, display, labels) == ("first trial", "lr sweep 1",
                                               {"team": "nlp", "lr": "0-01"})
    assert isinstance(created, dt.datetime) and created == updated
    stored = world.get_run(experiment, "trial-1")
    assert stored is not None
    assert stored["etag"] == etag
    assert stored["displayName"] == "lr sweep 1"
    assert stored["description"] == "first trial"
    assert stored["labels"] == {"team": "nlp", "lr": "0-01"}
    assert select_run(world, experiment, "trial-1") == (
        stored["name"], "first trial", "lr sweep 1", etag, {"team": "nlp", "lr": "0-01"})


def test_create_without_a_run_id_gets_one_made_by_the_driver(world: World) -> None:
    experiment = world.new_experiment("seed-create")
    sql = fill(CREATE, displayName="no id", description="", labels="", etag="",
               tensorboardRunId="", **path_of(world, experiment))
    with world.connect() as connection:
        cursor = connection.cursor()
        cursor.execute(sql)
        (row,) = cursor.fetchall()
    run_id = str(row[0]).rsplit("/", 1)[1]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", run_id)
    assert world.run_ids(experiment) == [run_id]
    stored = world.get_run(experiment, run_id)
    assert stored is not None and stored["displayName"] == "no id"
    assert "description" not in stored and "labels" not in stored
    assert row[2] == "" and row[5] == {}


def test_create_twice_with_one_display_name_is_refused(world: World) -> None:
    experiment = world.new_experiment("seed-create")
    with world.connect() as connection:
        cursor = connection.cursor()
        cursor.execute(fill(CREATE, displayName="same", description="", labels="", etag="",
                            tensorboardRunId="a", **path_of(world, experiment)))
        with pytest.raises(connection.IntegrityError, match="already exist"):
            cursor.execute(fill(CREATE, displayName="same", description="", labels="",
                                etag="", tensorboardRunId="b", **path_of(world, experiment)))
    assert world.run_ids(experiment) == ["a"]


# -- INSERT: batch_create ----------------------------------------------------------------------


def test_batch_create_as_written(world: World) -> None:
    experiment = world.new_experiment("seed-batch")
    parent = world.experiment_name(experiment)
    requests = [{"parent": parent, "tensorboardRunId": f"b-{i}",
                 "tensorboardRun": {"displayName": f"batch {i}", "description": f"d{i}",
                                    "labels": {"i": str(i)}}}
                for i in (3, 1, 2)]
    sql = fill(BATCH_CREATE, requests=json.dumps(requests), **path_of(world, experiment))
    with world.connect() as connection:
        cursor = connection.cursor()
        world.emu.reset_stats()
        cursor.execute(sql)
        assert world.calls() == {"runs.batchCreate": 1}
        assert cursor.rowcount == 3
        assert [d[0] for d in cursor.description] == ["tensorboardRuns"]
        (row,) = cursor.fetchall()
    returned = row[0]
    assert [r["displayName"] for r in returned] == ["batch 3", "batch 1", "batch 2"]
    assert [str(r["name"]).rsplit("/", 1)[1] for r in returned] == ["b-3", "b-1", "b-2"]
    assert world.run_ids(experiment) == ["b-3", "b-1", "b-2"]
    for item in returned:
        stored = world.get_run(experiment, str(item["name"]).rsplit("/", 1)[1])
        assert stored == item
    assert select_run(world, experiment, "b-1") == (
        returned[1]["name"], "d1", "batch 1", returned[1]["etag"], {"i": "1"})


def test_batch_create_requests_may_omit_ids_and_name_the_project_by_number(world: World
                                                                           ) -> None:
    experiment = world.new_experiment("seed-batch")
    # The API's own names spell the project as its number; a request copied from one is fine.
    numbered = str(world.create_runs(experiment, [("seed", {"displayName": "seed"})])[0]["name"])
    parent = numbered.rsplit("/runs/", 1)[0]
    assert parent != world.experiment_name(experiment)
    requests = [{"parent": parent, "tensorboardRun": {"displayName": "x"}},
                {"tensorboardRun": {"displayName": "y"}}]
    with world.connect() as connection:
        cursor = connection.cursor()
        cursor.execute(fill(BATCH_CREATE, requests=json.dumps(requests),
                            **path_of(world, experiment)))
        (row,) = cursor.fetchall()
    assert cursor.rowcount == 2
    made = [str(r["name"]).rsplit("/", 1)[1] for r in row[0]]
    assert world.run_ids(experiment) == ["seed", *made]
    assert len(set(made)) == 2 and all(re.fullmatch(r"[0-9a-f-]{36}", m) for m in made)


def test_batch_create_of_another_experiments_parent_is_refused(world: World) -> None:
    experiment = world.new_experiment("seed-batch")
    requests = [{"parent": world.experiment_name("bert-glue"),
                 "tensorboardRun": {"displayName": "x"}}]
    with world.connect() as connection:
        world.emu.reset_stats()
        with pytest.raises(DataError, match="bert-glue"):
            connection.cursor().execute(fill(BATCH_CREATE, requests=json.dumps(requests),
                                             **path_of(world, experiment)))
    assert world.calls() == {}
    assert world.run_ids(experiment) == []


# -- UPDATE: patch -----------------------------------------------------------------------------


def _patch_target(world: World) -> tuple[str, dict[str, object]]:
    experiment = world.new_experiment("seed-patch")
    (run,) = world.create_runs(experiment, [("r1", {
        "displayName": "before", "description": "old",
        "labels": {"team": "nlp", "stale": "yes", f"{SYSTEM_PREFIX}training_job_id": "42"}})])
    return experiment, run


def test_patch_as_written(world: World) -> None:
    experiment, run = _patch_target(world)
    sql = fill(PATCH, displayName="after", description="new", labels='{"team": "vision"}',
               etag=str(run["etag"]), runsId="r1", updateMask="displayName,description,labels",
               **path_of(world, experiment))
    with world.connect() as connection:
        cursor = connection.cursor()
        world.emu.reset_stats()
        cursor.execute(sql)
        assert world.calls() == {"runs.patch": 1}  # no list, no get
        assert cursor.rowcount == 1
        assert [d[0] for d in cursor.description] == RETURNED
        (row,) = cursor.fetchall()
    name, _, description, display, etag, labels, updated = row
    assert (name, description, display) == (run["name"], "new", "after")
    # `labels` in the mask replaces the map; the system label stays (it is immutable).
    assert labels == {"team": "vision", f"{SYSTEM_PREFIX}training_job_id": "42"}
    assert etag != run["etag"]
    stored = world.get_run(experiment, "r1")
    assert stored is not None
    assert (stored["displayName"], stored["description"], stored["labels"], stored["etag"]) == (
        "after", "new", labels, etag)
    assert updated > dt.datetime.fromisoformat(str(run["updateTime"]).replace("Z", "+00:00"))
    assert select_run(world, experiment, "r1") == (run["name"], "new", "after", etag, labels)


def test_patch_with_a_stale_etag_fails_and_changes_nothing(world: World) -> None:
    experiment, run = _patch_target(world)
    with world.connect() as connection:
        cursor = connection.cursor()
        cursor.execute(fill(PATCH, displayName="one", description="1", labels='{"a": "1"}',
                            etag=str(run["etag"]), runsId="r1", updateMask="displayName",
                            **path_of(world, experiment)))
        current = world.get_run(experiment, "r1")
        world.emu.reset_stats()
        with pytest.raises(OperationalError) as caught:  # the same etag again: now stale
            cursor.execute(fill(PATCH, displayName="two", description="2", labels='{"a": "2"}',
                                etag=str(run["etag"]), runsId="r1", updateMask="displayName",
                                **path_of(world, experiment)))
    assert caught.value.rpc_status == "ABORTED"
    assert "etag" in str(caught.value)
    assert world.calls() == {"runs.patch": 1}
    assert world.get_run(experiment, "r1") == current


def test_patch_changes_only_the_fields_of_the_mask(world: World) -> None:
    experiment, run = _patch_target(world)
    with world.connect() as connection:
        connection.cursor().execute(fill(
            PATCH, displayName="ignored", description="only this", labels='{"x": "y"}',
            etag=str(run["etag"]), runsId="r1", updateMask="description",
            **path_of(world, experiment)))
    stored = world.get_run(experiment, "r1")
    assert stored is not None
    assert stored["description"] == "only this"
    assert stored["displayName"] == "before"
    assert stored["labels"] == run["labels"]


def test_patch_blind_without_etag_or_mask(world: World) -> None:
    experiment, _ = _patch_target(world)
    with world.connect() as connection:
        cursor = connection.cursor()
        cursor.execute(fill(PATCH, displayName="blind", description="overwrite",
                            labels='{"k": "v"}', etag="", runsId="r1", updateMask="",
                            **path_of(world, experiment)))
        assert cursor.rowcount == 1
    stored = world.get_run(experiment, "r1")
    assert stored is not None
    assert (stored["displayName"], stored["description"]) == ("blind", "overwrite")
    assert stored["labels"] == {"k": "v", f"{SYSTEM_PREFIX}training_job_id": "42"}


def test_patch_of_a_missing_run_changes_no_row(world: World) -> None:
    experiment, _ = _patch_target(world)
    with world.connect() as connection:
        cursor = connection.cursor()
        cursor.execute(fill(PATCH, displayName="x", description="y", labels="{}", etag="",
                            runsId="nope", updateMask="displayName",
                            **path_of(world, experiment)))
        assert cursor.rowcount == 0
        assert cursor.fetchall() == []
    assert world.run_ids(experiment) == ["r1"]


# -- DELETE ------------------------------------------------------------------------------------


def test_delete_as_written(world: World) -> None:
    experiment = world.new_experiment("seed-delete")
    world.create_runs(experiment, [("keep", {"displayName": "keep"}),
                                   ("gone", {"displayName": "gone"})])
    sql = fill(DELETE, runsId="gone", **path_of(world, experiment))
    with world.connect() as connection:
        cursor = connection.cursor()
        world.emu.reset_stats()
        cursor.execute(sql)
        assert cursor.rowcount == 1
        assert cursor.description is None
        assert world.calls() == {"runs.get": 1, "runs.delete": 1}
        assert world.get_run(experiment, "gone") is None
        assert select_run(world, experiment, "gone") is None
        assert world.run_ids(experiment) == ["keep"]
        cursor.execute(sql)  # nothing left to delete
        assert cursor.rowcount == 0
    assert world.run_ids(experiment) == ["keep"]


def test_delete_as_written_waits_for_the_operation(world: World) -> None:
    experiment = world.new_experiment("seed-delete")
    world.create_runs(experiment, [("gone", {"displayName": "gone"})])
    world.emu.set_operation_polls(2)
    world.emu.reset_stats()
    with world.connect() as connection:
        connection.cursor().execute(fill(DELETE, runsId="gone", **path_of(world, experiment)))
    assert world.calls() == {"runs.get": 1, "runs.delete": 1, "operations.get": 2}
    assert world.run_ids(experiment) == []


# -- EXEC write --------------------------------------------------------------------------------


def _points(series: str, steps: range, scale: float) -> list[dict[str, object]]:
    return [{"tensorboardTimeSeriesId": series, "valueType": "SCALAR", "values": [
        {"step": str(step), "wallTime": f"2026-03-01T00:00:{step:02d}Z",
         "scalar": {"value": step * scale}} for step in steps]}]


def _write_target(world: World) -> tuple[str, str, str]:
    experiment = world.new_experiment("seed-exec")
    (run,) = world.create_runs(experiment, [("r1", {"displayName": "r1"})])
    series = world.create_scalar_series(experiment, "r1", "loss")
    return experiment, str(run["name"]), series


def test_write_as_written_with_escaped_json(world: World) -> None:
    experiment, _, series = _write_target(world)
    data = json.dumps(_points(series, range(5), 0.5))
    sql = fill(WRITE, runsId="r1", tensorboardRun=world.run_name(experiment, "r1"),
               timeSeriesData=data.replace('"', '\\"'), **path_of(world, experiment))
    with world.connect() as connection:
        cursor = connection.cursor()
        world.emu.reset_stats()
        cursor.execute(sql)
        assert cursor.rowcount == 5
        assert cursor.description is None
    assert world.calls() == {"runs.write": 1}
    values = world.read_series(experiment, "r1", series)
    assert [(v["step"], v["scalar"]["value"]) for v in values] == [
        (str(s), s * 0.5) for s in range(5)]


def test_write_as_written_with_json_pasted_into_the_quotes(world: World) -> None:
    # Filling "{{ timeSeriesData }}" with JSON text as is leaves it between the seed's quotes.
    experiment, number_name, series = _write_target(world)
    data = json.dumps(_points(series, range(3, 6), 2.0), indent=1)
    sql = fill(WRITE, runsId="r1", tensorboardRun=number_name, timeSeriesData=data,
               **path_of(world, experiment))
    with world.connect() as connection:
        cursor = connection.cursor()
        cursor.execute(sql)
        assert cursor.rowcount == 3
    values = world.read_series(experiment, "r1", series)
    assert [(v["step"], v["scalar"]["value"]) for v in values] == [
        ("3", 6.0), ("4", 8.0), ("5", 10.0)]
    assert values[0]["wallTime"].startswith("2026-03-01T00:00:03")


def test_write_of_a_step_again_overwrites_it(world: World) -> None:
    experiment, _, series = _write_target(world)
    with world.connect() as connection:
        cursor = connection.cursor()
        for scale in (1.0, 3.0):
            cursor.execute(fill(WRITE, runsId="r1", tensorboardRun="",
                                timeSeriesData=json.dumps(_points(series, range(2), scale)),
                                **path_of(world, experiment)))
    values = world.read_series(experiment, "r1", series)
    assert [(v["step"], v["scalar"]["value"]) for v in values] == [("0", 0.0), ("1", 3.0)]


def test_write_naming_another_run_in_the_body_is_refused(world: World) -> None:
    experiment, _, series = _write_target(world)
    world.create_runs(experiment, [("r2", {"displayName": "r2"})])
    with world.connect() as connection:
        world.emu.reset_stats()
        with pytest.raises(DataError, match="tensorboardRun"):
            connection.cursor().execute(fill(
                WRITE, runsId="r1", tensorboardRun=world.run_name(experiment, "r2"),
                timeSeriesData=json.dumps(_points(series, range(2), 1.0)),
                **path_of(world, experiment)))
    assert world.calls() == {}
    assert world.read_series(experiment, "r1", series) == []
