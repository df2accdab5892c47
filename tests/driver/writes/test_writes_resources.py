"""INSERT, UPDATE and DELETE over experiments, tensorboards and time series (issue 13), written
through the catalog's declarations (issue 12), against the emulator over real HTTP.

What each statement sends is counted by the emulator's per-method counters; what it did is read
back with plain HTTP. The API's rules the driver can know (IDs, required, unique and immutable
fields, labels, the values a field takes) are errors before any call.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from support.world import LOCATION, PROJECT, World

from runs_dbapi.connection import Connection
from runs_dbapi.emulator import FaultPlan
from runs_dbapi.exceptions import DataError, IntegrityError, OperationalError, ProgrammingError
from runs_dbapi.rest import RetryPolicy

Json = dict[str, Any]
LOCATION_NAME = f"projects/{PROJECT}/locations/{LOCATION}"
# Enough attempts that faults never exhaust them, with millisecond backoffs.
PATIENT = RetryPolicy(initial_backoff=0.0005, max_backoff=0.002, max_attempts=12, deadline=60.0)


def _id(resource: Json) -> str:
    return str(resource["name"]).rsplit("/", 1)[1]


def _is_uuid4(text: str) -> bool:
    try:
        return uuid.UUID(text).version == 4 and str(uuid.UUID(text)) == text
    except ValueError:
        return False


def tensorboards(world: World) -> list[Json]:
    return world.listed(LOCATION_NAME, "tensorboards", "tensorboards")


def experiments(world: World) -> list[Json]:
    parent = f"{LOCATION_NAME}/tensorboards/{world.tensorboard}"
    return world.listed(parent, "experiments", "tensorboardExperiments")


def series_of(world: World, experiment: str, run: str) -> list[Json]:
    return world.listed(world.run_name(experiment, run), "timeSeries", "tensorboardTimeSeries")


@pytest.fixture
def conn(world: World) -> Iterator[Connection]:
    """A connection naming the demo tensorboard and no experiment."""
    with world.connect() as connection:
        yield connection


# -- experiments -------------------------------------------------------------------------------


def test_insert_experiments_returning_one_create_each(world: World, conn: Connection) -> None:
    cursor = conn.cursor()
    world.emu.reset_stats()
    cursor.execute("INSERT INTO experiments (experimentsId, displayName, description, labels) "
                   "VALUES ('x-b', 'B', 'second', '{\"team\": \"nlp\"}'), ('x-a', 'A', NULL, "
                   "NULL) RETURNING experimentsId, displayName, description, labels, "
                   "tensorboardsId")
    assert cursor.rowcount == 2
    assert cursor.fetchall() == [("x-b", "B", "second", {"team": "nlp"}, world.tensorboard),
                                 ("x-a", "A", "", {}, world.tensorboard)]
    assert world.calls() == {"experiments.create": 2}  # no batchCreate of experiments
    stored = {_id(e): e for e in experiments(world)}
    assert stored["x-b"]["labels"] == {"team": "nlp"} and "labels" not in stored["x-a"]
    # The new experiment is the parent runs need: INSERT into it.
    cursor.execute("INSERT INTO runs (experimentsId, runsId, displayName) "
                   "VALUES ('x-a', 'r1', 'first run')")
    assert world.run_ids("x-a") == ["r1"]


def test_insert_experiment_without_an_id_gets_one_from_the_driver(world: World,
                                                                  conn: Connection) -> None:
    cursor = conn.cursor()
    world.emu.reset_stats()
    cursor.execute("INSERT INTO experiments (displayName) VALUES ('no id') "
                   "RETURNING experimentsId, name")
    ((experiment, name),) = cursor.fetchall()
    assert _is_uuid4(experiment) and str(name).endswith(f"/experiments/{experiment}")
    assert world.calls() == {"experiments.create": 1}


@pytest.mark.parametrize("sql, error, message", [
    ("INSERT INTO experiments (experimentsId) VALUES ('Upper')", DataError,
     "Invalid tensorboardExperimentId 'Upper'"),
    ("INSERT INTO experiments (experimentsId, labels) VALUES ('e', '{\"A\": \"b\"}')",
     DataError, "Invalid label key 'A'"),
    ("INSERT INTO experiments (experimentsId) VALUES ('e'), ('e')", IntegrityError,
     "Rows 1 and 2 of the INSERT both have experimentsId 'e'"),
    ("INSERT INTO experiments (experimentsId, runCount) VALUES ('e', 1)", ProgrammingError,
     "Unknown column 'runCount' for INSERT into experiments. Writable: description, "
     "displayName, labels, source, experimentsId"),
    ("INSERT INTO experiments (experimentsId, createTime) VALUES ('e', '2026-01-01')",
     ProgrammingError, "createTime is set by the API"),
    ("UPDATE experiments SET source = 'x' WHERE experimentsId = 'bert-glue'",
     ProgrammingError, "Column 'source' cannot be updated: it is immutable"),
    ("UPDATE experiments SET labels = '{\"aiplatform.googleapis.com/x\": \"1\"}' "
     "WHERE experimentsId = 'bert-glue'", DataError, "reserved by Vertex AI"),
])
def test_experiment_rules_are_errors_before_any_call(world: World, conn: Connection, *,
                                                     sql: str, error: type[Exception],
                                                     message: str) -> None:
    before = experiments(world)
    world.emu.reset_stats()
    with pytest.raises(error, match=re.escape(message)):
        conn.cursor().execute(sql)
    assert world.calls() == {}
    assert experiments(world) == before


def test_update_and_delete_experiments(world: World, conn: Connection) -> None:
    a, b = world.new_experiment("ud"), world.new_experiment("ud")
    world.create_runs(a, [("r", {"displayName": "r"})])
    cursor = conn.cursor()
    world.emu.reset_stats()
    cursor.execute("UPDATE experiments SET description = 'keyed', labels = '{\"k\": \"v\"}' "
                   "WHERE experimentsId = ? RETURNING experimentsId, description, labels", [a])
    assert cursor.fetchall() == [(a, "keyed", {"k": "v"})]
    assert world.calls() == {"experiments.patch": 1}
    world.emu.reset_stats()
    cursor.execute("UPDATE experiments SET description = 'both' WHERE experimentsId IN (?, ?)",
                   [a, b])
    assert cursor.rowcount == 2
    assert world.calls()["experiments.patch"] == 2
    world.emu.set_operation_polls(2)
    world.emu.reset_stats()
    cursor.execute("DELETE FROM experiments WHERE experimentsId = ?", [a])
    assert cursor.rowcount == 1
    assert world.calls() == {"experiments.get": 1, "experiments.delete": 1,
                             "operations.get": 2}
    assert world.api("GET", world.run_name(a, "r")).status_code == 404  # its runs went too
    ids = {_id(e) for e in experiments(world)}
    assert a not in ids and b in ids
    cursor.execute("DELETE FROM experiments WHERE experimentsId = ?", [a])
    assert cursor.rowcount == 0


# -- tensorboards ------------------------------------------------------------------------------


def test_insert_tensorboard_returns_the_server_assigned_id(world: World,
                                                           conn: Connection) -> None:
    world.emu.set_operation_polls(2)
    before = {_id(t) for t in tensorboards(world)}
    cursor = conn.cursor()
    world.emu.reset_stats()
    cursor.execute("INSERT INTO tensorboards (displayName, description, labels) "
                   "VALUES ('made', 'by SQL', '{\"team\": \"ml\"}') "
                   "RETURNING tensorboardsId, displayName, description, labels, name")
    ((board, display, description, labels, name),) = cursor.fetchall()
    assert cursor.rowcount == 1
    # The create's operation is waited for; its response carries the new resource.
    assert world.calls() == {"tensorboards.create": 1, "operations.get": 2}
    assert re.fullmatch(r"\d{19}", board) and board not in before
    assert (display, description, labels) == ("made", "by SQL", {"team": "ml"})
    assert str(name).endswith(f"/tensorboards/{board}")
    assert {_id(t) for t in tensorboards(world)} == before | {board}


def test_several_tensorboards_one_create_each_in_input_order(world: World,
                                                             conn: Connection) -> None:
    cursor = conn.cursor()
    world.emu.reset_stats()
    cursor.execute("INSERT INTO tensorboards (displayName, isDefault) VALUES ('t1', false), "
                   "('t2', NULL), ('t3', 0) RETURNING displayName, isDefault")
    assert cursor.fetchall() == [("t1", False), ("t2", False), ("t3", False)]
    assert world.calls() == {"tensorboards.create": 3}


@pytest.mark.parametrize("sql, error, message", [
    ("INSERT INTO tensorboards (tensorboardsId, displayName) VALUES ('123', 'x')", DataError,
     "tensorboardsId is assigned by the API"),
    ("INSERT INTO tensorboards (description) VALUES ('x')", DataError,
     "displayName is required to create a row of tensorboards"),
    ("INSERT INTO tensorboards (displayName, isDefault) VALUES ('x', 'maybe')", DataError,
     "isDefault is BOOLEAN"),
    ("INSERT INTO tensorboards (displayName, runCount) VALUES ('x', 3)", ProgrammingError,
     "runCount is set by the API"),
    ("UPDATE tensorboards SET runCount = 1", ProgrammingError,
     "Column 'runCount' cannot be updated: it is output only"),
    ("UPDATE tensorboards SET displayName = '' WHERE tensorboardsId = '1000000000000000001'",
     DataError, "displayName is required in tensorboards"),
])
def test_tensorboard_rules_are_errors_before_any_call(world: World, conn: Connection, *,
                                                      sql: str, error: type[Exception],
                                                      message: str) -> None:
    before = tensorboards(world)
    world.emu.reset_stats()
    with pytest.raises(error, match=re.escape(message)):
        conn.cursor().execute(sql)
    assert world.calls() == {}
    assert tensorboards(world) == before


def test_update_and_delete_tensorboards_wait_for_their_operations(world: World,
                                                                  conn: Connection) -> None:
    cursor = conn.cursor()
    cursor.execute("INSERT INTO tensorboards (displayName) VALUES ('to change') "
                   "RETURNING tensorboardsId")
    ((board,),) = cursor.fetchall()
    world.emu.set_operation_polls(2)
    world.emu.reset_stats()
    cursor.execute("UPDATE tensorboards SET description = 'changed', displayName = 'renamed' "
                   "WHERE tensorboardsId = ? RETURNING displayName, description", [board])
    assert cursor.fetchall() == [("renamed", "changed")]
    assert world.calls() == {"tensorboards.patch": 1, "operations.get": 2}
    stored = world.api("GET", f"{LOCATION_NAME}/tensorboards/{board}").json()
    assert (stored["displayName"], stored["description"]) == ("renamed", "changed")
    world.emu.reset_stats()
    cursor.execute("DELETE FROM tensorboards WHERE tensorboardsId = ?", [board])
    assert cursor.rowcount == 1
    assert world.calls() == {"tensorboards.get": 1, "tensorboards.delete": 1,
                             "operations.get": 2}
    assert board not in {_id(t) for t in tensorboards(world)}


@pytest.mark.parametrize("kind", ["503_after", "503"])
def test_a_tensorboard_create_is_never_repeated(world: World, kind: str) -> None:
    # No ID to make a repeat idempotent: after an ambiguous failure the create is not sent
    # again (a second tensorboard could be made); the error says the outcome is unknown.
    before = len(tensorboards(world))
    world.emu.reset_stats()
    world.emu.set_faults(FaultPlan(rate=1.0, kinds=(kind,), methods=("tensorboards.create",)))
    with world.connect(retry=PATIENT) as connection, \
            pytest.raises(OperationalError, match="outcome is unknown") as caught:
        connection.cursor().execute(f"INSERT INTO tensorboards (displayName) VALUES ('{kind}')")
    world.emu.set_faults(None)
    assert caught.value.outcome_unknown
    assert world.calls() == {"tensorboards.create": 1}
    made = [t for t in tensorboards(world) if t["displayName"] == kind]
    assert len(made) == (1 if kind == "503_after" else 0)
    assert len(tensorboards(world)) == before + len(made)


def test_several_tensorboard_creates_under_503_after_say_which_rows_are_unknown(
        world: World) -> None:
    before = len(tensorboards(world))
    world.emu.reset_stats()
    world.emu.set_faults(FaultPlan(rate=1.0, kinds=("503_after",),
                                   methods=("tensorboards.create",)))
    with world.connect(retry=PATIENT) as connection, \
            pytest.raises(OperationalError) as caught:
        connection.cursor().execute("INSERT INTO tensorboards (displayName) VALUES ('u1'), "
                                    "('u2'), ('u3')")
    world.emu.set_faults(None)
    error = caught.value
    assert error.outcome_unknown
    assert error.rows_written == [] and error.rows_not_written == []
    assert error.rows_unknown == ["row 1", "row 2", "row 3"]
    assert world.calls() == {"tensorboards.create": 3}
    assert len(tensorboards(world)) == before + 3  # each created once, none twice


# -- time series -------------------------------------------------------------------------------


@pytest.fixture
def runs(world: World) -> tuple[str, list[str]]:
    experiment = world.new_experiment("ts")
    ids = ["r0", "r1", "r2"]
    world.create_runs(experiment, [(r, {"displayName": r}) for r in ids])
    world.emu.reset_stats()
    return experiment, ids


def test_insert_one_time_series_returning(world: World, runs: tuple[str, list[str]]) -> None:
    experiment, _ = runs
    with world.connect(experiment) as connection:
        cursor = connection.cursor()
        cursor.execute("INSERT INTO time_series (runsId, displayName, valueType, pluginName, "
                       "pluginData) VALUES ('r0', 'loss', 'SCALAR', 'scalars', X'0102') "
                       "RETURNING timeSeriesId, displayName, valueType, pluginData, runsId")
        ((series, display, value_type, data, run),) = cursor.fetchall()
    assert world.calls() == {"timeSeries.create": 1}
    assert _is_uuid4(series)
    assert (display, value_type, data, run) == ("loss", "SCALAR", b"\x01\x02", "r0")
    (stored,) = series_of(world, experiment, "r0")
    assert (_id(stored), stored["pluginData"], stored["pluginName"]) == (series, "AQI=",
                                                                        "scalars")


def test_executemany_of_2500_series_makes_3_batch_creates_of_the_experiment(
        world: World, runs: tuple[str, list[str]]) -> None:
    experiment, ids = runs
    rows = [(ids[i % 3], f"metric {i // 3}", "SCALAR") for i in range(2500)]
    with world.connect(experiment) as connection:
        cursor = connection.cursor()
        cursor.executemany("INSERT INTO time_series (runsId, displayName, valueType) "
                           "VALUES (?, ?, ?)", rows)
        assert cursor.rowcount == 2500
    # Posted to {experiment}:batchCreate, each request naming its run as parent.
    assert world.calls() == {"experiments.batchCreate": 3}
    for index, run in enumerate(ids):
        made = series_of(world, experiment, run)
        assert [s["displayName"] for s in made] == [r[1] for r in rows[index::3]]


def test_series_of_two_experiments_go_to_each(world: World,
                                              runs: tuple[str, list[str]]) -> None:
    experiment, _ = runs
    other = world.new_experiment("ts")
    world.create_runs(other, [("q", {"displayName": "q"})])
    world.emu.reset_stats()
    with world.connect() as connection:
        cursor = connection.cursor()
        cursor.execute("INSERT INTO time_series (experimentsId, runsId, timeSeriesId, "
                       "displayName, valueType) VALUES (?, 'r1', 'a', 'acc', 'SCALAR'), "
                       "(?, 'q', 'b', 'acc', 'TENSOR'), (?, 'r2', 'c', 'acc', 'BLOB_SEQUENCE') "
                       "RETURNING experimentsId, runsId, timeSeriesId, valueType",
                       [experiment, other, experiment])
        assert cursor.fetchall() == [(experiment, "r1", "a", "SCALAR"),
                                     (other, "q", "b", "TENSOR"),
                                     (experiment, "r2", "c", "BLOB_SEQUENCE")]
    assert world.calls() == {"experiments.batchCreate": 2}


def test_a_batch_create_as_written(world: World, runs: tuple[str, list[str]]) -> None:
    experiment, _ = runs
    requests = [{"parent": world.run_name(experiment, run), "tensorboardTimeSeriesId": f"w-{run}",
                 "tensorboardTimeSeries": {"displayName": "loss", "valueType": "SCALAR"}}
                for run in ("r2", "r0")]
    with world.connect(experiment) as connection:
        cursor = connection.cursor()
        cursor.execute("INSERT INTO time_series (data__requests) VALUES (?) "
                       "RETURNING tensorboardTimeSeries", [requests])
        ((made,),) = cursor.fetchall()
    assert cursor.rowcount == 2
    assert [str(s["name"]).split("/runs/")[1] for s in made] == ["r2/timeSeries/w-r2",
                                                                  "r0/timeSeries/w-r0"]
    assert world.calls() == {"experiments.batchCreate": 1}


@pytest.mark.parametrize("sql, error, message", [
    ("INSERT INTO time_series (runsId, displayName, valueType) VALUES ('r0', 'x', 'NUMBER')",
     DataError, "Invalid valueType 'NUMBER' for time_series: one of SCALAR, TENSOR, "
     "BLOB_SEQUENCE"),
    ("INSERT INTO time_series (runsId, displayName) VALUES ('r0', 'x')", DataError,
     "valueType is required to create a row of time_series"),
    ("INSERT INTO time_series (runsId, displayName, valueType) VALUES ('r0', 'x', 'SCALAR'), "
     "('r1', 'x', 'SCALAR'), ('r0', 'x', 'TENSOR')", IntegrityError,
     "Rows 1 and 3 of the INSERT both have displayName 'x'"),
    ("INSERT INTO time_series (runsId, displayName, valueType, metadata) VALUES ('r0', 'x', "
     "'SCALAR', '{\"maxStep\": 1}')", ProgrammingError, "metadata is set by the API"),
    ("INSERT INTO time_series (runsId, timeSeriesId, displayName, valueType) VALUES ('r0', "
     "'A', 'x', 'SCALAR')", DataError, "Invalid tensorboardTimeSeriesId 'A'"),
    ("INSERT INTO time_series (data__requests) VALUES ('[{\"parent\": \"projects/p/locations/"
     "l/tensorboards/t/experiments/other/runs/r0\", \"tensorboardTimeSeries\": "
     "{\"displayName\": \"x\", \"valueType\": \"SCALAR\"}}]')", DataError,
     "is not a run of the experiment"),
    ("UPDATE time_series SET valueType = 'TENSOR' WHERE runsId = 'r0'", ProgrammingError,
     "Column 'valueType' cannot be updated: it is immutable"),
    ("UPDATE time_series SET pluginName = 'x'", ProgrammingError,
     "Column 'pluginName' cannot be updated: it is immutable"),
])
def test_time_series_rules_are_errors_before_any_call(world: World, runs: tuple[str, list[str]],
                                                      *, sql: str, error: type[Exception],
                                                      message: str) -> None:
    experiment, ids = runs
    with world.connect(experiment) as connection, \
            pytest.raises(error, match=re.escape(message)):
        connection.cursor().execute(sql)
    assert world.calls() == {}
    assert all(series_of(world, experiment, run) == [] for run in ids)


def test_update_and_delete_time_series(world: World, runs: tuple[str, list[str]]) -> None:
    experiment, _ = runs
    loss = world.create_scalar_series(experiment, "r0", "loss")
    world.create_scalar_series(experiment, "r0", "acc")
    world.create_scalar_series(experiment, "r1", "loss")
    world.emu.reset_stats()
    with world.connect(experiment) as connection:
        cursor = connection.cursor()
        cursor.execute("UPDATE time_series SET description = 'keyed' WHERE runsId = 'r0' AND "
                       "timeSeriesId = ? RETURNING displayName, description, valueType", [loss])
        assert cursor.fetchall() == [("loss", "keyed", "SCALAR")]
        assert world.calls() == {"timeSeries.patch": 1}
        # One displayName for two series of one run: the API would refuse the second patch.
        world.emu.reset_stats()
        with pytest.raises(IntegrityError, match="must be unique in"):
            cursor.execute("UPDATE time_series SET displayName = 'same' WHERE runsId = 'r0'")
        calls = world.calls()
        assert "timeSeries.patch" not in calls and calls["timeSeries.list"] >= 1
        assert {s["displayName"] for s in series_of(world, experiment, "r0")} == {"loss",
                                                                                 "acc"}
        # ... but across runs it is fine: one patch per series.
        world.emu.reset_stats()
        cursor.execute("UPDATE time_series SET displayName = 'loss2' WHERE displayName = 'loss'")
        assert cursor.rowcount == 2
        assert world.calls()["timeSeries.patch"] == 2
        world.emu.set_operation_polls(1)
        world.emu.reset_stats()
        cursor.execute("DELETE FROM time_series WHERE runsId = 'r0' AND timeSeriesId = ?",
                       [loss])
        assert cursor.rowcount == 1
        assert world.calls() == {"timeSeries.get": 1, "timeSeries.delete": 1,
                                 "operations.get": 1}
        cursor.execute("DELETE FROM time_series WHERE displayName = 'acc' RETURNING runsId")
        assert cursor.fetchall() == [("r0",)]
    assert series_of(world, experiment, "r0") == []
    assert [s["displayName"] for s in series_of(world, experiment, "r1")] == ["loss2"]


def test_a_batch_of_series_whose_answer_came_after_503_is_read_back(
        world: World, runs: tuple[str, list[str]]) -> None:
    experiment, ids = runs
    world.emu.set_faults(FaultPlan(rate=1.0, kinds=("503_after",),
                                   methods=("experiments.batchCreate",)))
    retry = RetryPolicy(initial_backoff=0.0, max_backoff=0.0,
                        sleep=lambda _: world.emu.set_faults(None))
    with world.connect(experiment, retry=retry) as connection:
        cursor = connection.cursor()
        cursor.executemany("INSERT INTO time_series (runsId, timeSeriesId, displayName, "
                           "valueType) VALUES (?, ?, 'loss', 'SCALAR')",
                           [(run, f"s-{run}") for run in ids])
        assert cursor.rowcount == 3
    # The driver's IDs make the batch safe to repeat: the retry meets ALREADY_EXISTS, and
    # every series is read back, not created twice.
    assert world.calls() == {"experiments.batchCreate": 2, "timeSeries.get": 3}
    assert [[_id(s) for s in series_of(world, experiment, run)] for run in ids] == [
        [f"s-{run}"] for run in ids]
