"""Writing `time_series_data`: points in bulk through the experiment's write verb, the series a
row names by display name created when the run has none, exact call counts; UPDATE and DELETE
refused; partial failure reported row by row. Also the opt-in concurrent batchCreate of runs."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import create_engine
from support.world import World

import runs_dbapi
from runs_dbapi.emulator import FaultPlan
from runs_dbapi.exceptions import DataError, Error, NotSupportedError
from runs_dbapi.rest import RetryPolicy
from runs_dialect import build_url

Json = dict[str, Any]
INSERT = "INSERT INTO time_series_data (runsId, displayName, step, scalar) VALUES (?, ?, ?, ?)"
ONCE = RetryPolicy(max_attempts=1)


def _series(world: World, experiment: str, run: str) -> dict[str, Json]:
    answer = world.api("GET", f"{world.run_name(experiment, run)}/timeSeries",
                       params={"pageSize": 1000})
    assert answer.status_code == 200, answer.text
    return {s["displayName"]: s for s in answer.json().get("tensorboardTimeSeries", [])}


def _points(world: World, experiment: str, run: str, display: str) -> dict[int, Json]:
    """Every point of a series, by step, through the API's export (the oracle)."""
    series = _series(world, experiment, run).get(display)
    if series is None:
        return {}
    points: list[Json] = []
    body: Json = {"pageSize": 10_000}
    while True:
        answer = world.api("POST", f"{series['name']}:exportTensorboardTimeSeries",
                           json=body).json()
        points += answer.get("timeSeriesDataPoints", [])
        if not answer.get("nextPageToken"):
            return {int(p["step"]): p for p in points}
        body["pageToken"] = answer["nextPageToken"]


def _experiment(world: World, runs: tuple[str, ...] = ("a", "b")) -> str:
    experiment = world.new_experiment("points")
    world.create_runs(experiment, [(r, {"displayName": f"run {r}"}) for r in runs])
    return experiment


def _log(runs: tuple[str, ...], names: tuple[str, ...], steps: int) -> list[tuple[Any, ...]]:
    return [(run, name, step, (step + 1) / (len(name) + ord(run[0]) + step))
            for run in runs for name in names for step in range(steps)]


def test_insert_creates_the_series_and_writes_in_calls_of_5000(world: World) -> None:
    experiment = _experiment(world)
    rows = _log(("a", "b"), ("loss", "accuracy"), 3000)  # 12,000 points, 4 new series
    cursor = world.connect(experiment).cursor()
    world.emu.reset_stats()
    cursor.executemany(INSERT, rows)
    assert cursor.rowcount == 12_000
    # One listing per run, one batchCreate for the experiment, ceil(12,000 / 5,000) writes.
    assert world.calls() == {"timeSeries.list": 2, "experiments.batchCreate": 1,
                             "experiments.write": 3}
    for run in ("a", "b"):
        series = _series(world, experiment, run)
        assert sorted(series) == ["accuracy", "loss"]
        assert {(s["valueType"], s["pluginName"]) for s in series.values()} == \
            {("SCALAR", "scalars")}
        for name in ("loss", "accuracy"):
            points = _points(world, experiment, run, name)
            assert {s: p["scalar"]["value"] for s, p in points.items()} == \
                {step: value for r, n, step, value in rows if (r, n) == (run, name)}
    cursor.execute("SELECT runsId, displayName, step, scalar FROM time_series_data")
    assert sorted(cursor.fetchall()) == sorted(rows)


def test_values_with_wall_times_and_existing_series(world: World) -> None:
    experiment = _experiment(world)
    cursor = world.connect(experiment).cursor()
    cursor.execute("INSERT INTO time_series_data (runsId, displayName, step, scalar) "
                   "VALUES ('a', 'loss', 0, 1.0)")
    world.emu.reset_stats()
    before = datetime.now(timezone.utc)
    cursor.execute(
        "INSERT INTO time_series_data (runsId, displayName, valueType, step, wallTime, scalar) "
        "VALUES ('a', 'loss', 'SCALAR', 1, '2026-01-05 10:00:01.5', 0.5), "
        "('a', 'loss', 'SCALAR', 2, '2026-01-05T10:00:02Z', 0.25), "
        "('b', 'loss', 'SCALAR', 1, NULL, 0.75)")
    assert cursor.rowcount == 3
    # The series of run a exists (found by the listing): only run b's is created.
    assert world.calls() == {"timeSeries.list": 2, "experiments.batchCreate": 1,
                             "experiments.write": 1}
    cursor.execute("SELECT runsId, step, wallTime, scalar FROM time_series_data "
                   "WHERE displayName = 'loss' ORDER BY runsId, step")
    got = cursor.fetchall()
    assert [(r, s, v) for r, s, _, v in got] == [("a", 0, 1.0), ("a", 1, 0.5), ("a", 2, 0.25),
                                                 ("b", 1, 0.75)]
    assert got[1][2] == datetime(2026, 1, 5, 10, 0, 1, 500000, tzinfo=timezone.utc)
    assert got[2][2] == datetime(2026, 1, 5, 10, 0, 2, tzinfo=timezone.utc)
    assert before <= got[3][2] <= datetime.now(timezone.utc)  # no wall time: now, UTC
    # A second write of a step overwrites it; the series' ID names it as well.
    series_id = _series(world, experiment, "a")["loss"]["name"].rsplit("/", 1)[1]
    world.emu.reset_stats()
    cursor.execute("INSERT INTO time_series_data (runsId, timeSeriesId, step, scalar) "
                   f"VALUES ('a', '{series_id}', 1, 9.0)")
    assert world.calls() == {"experiments.write": 1}  # no listing: the row names the ID
    assert _points(world, experiment, "a", "loss")[1]["scalar"]["value"] == 9.0


def test_a_point_named_twice_keeps_the_last_row(world: World) -> None:
    experiment = _experiment(world, ("a",))
    cursor = world.connect(experiment).cursor()
    cursor.executemany(INSERT, [("a", "loss", 1, 1.0), ("a", "loss", 1, 2.0),
                                ("a", "loss", 2, 3.0)])
    assert cursor.rowcount == 3
    points = _points(world, experiment, "a", "loss")
    assert {s: p["scalar"]["value"] for s, p in points.items()} == {1: 2.0, 2: 3.0}


def test_tensor_and_blob_points(world: World) -> None:
    experiment = _experiment(world, ("a",))
    cursor = world.connect(experiment).cursor()
    for display, value_type in (("weights", "TENSOR"), ("images", "BLOB_SEQUENCE")):
        answer = world.api("POST", f"{world.run_name(experiment, 'a')}/timeSeries",
                           json={"displayName": display, "valueType": value_type})
        assert answer.status_code == 200, answer.text
    cursor.execute("INSERT INTO time_series_data (runsId, displayName, step, tensor, blobs) "
                   "VALUES ('a', 'weights', 3, '{\"value\": \"AAE=\", \"versionNumber\": 1}', "
                   "NULL), ('a', 'images', 4, NULL, '[{\"id\": \"blob-1\"}]')")
    assert cursor.rowcount == 2
    assert _points(world, experiment, "a", "weights")[3]["tensor"] == {"value": "AAE=",
                                                                       "versionNumber": 1}
    assert _points(world, experiment, "a", "images")[4]["blobs"]["values"] == [{"id": "blob-1"}]


def test_to_sql_of_100000_points_in_a_few_calls(world: World) -> None:
    runs = tuple(f"r{i}" for i in range(10))
    experiment = _experiment(world, runs)
    frame = pd.DataFrame(_log(runs, ("loss", "accuracy"), 5000),
                         columns=["runsId", "displayName", "step", "scalar"])
    engine = create_engine(build_url("demo-project", "us-central1", world.tensorboard,
                                     experiment, endpoint=world.emu.url, anonymous=True
                                     ).render_as_string(hide_password=False))
    world.emu.reset_stats()
    written = frame.to_sql("time_series_data", engine, if_exists="append", index=False)
    assert written == 100_000
    # 10 listings (one per run), 1 batchCreate of the 20 series, 20 writes of 5,000 points.
    assert world.calls() == {"timeSeries.list": 10, "experiments.batchCreate": 1,
                             "experiments.write": 20}
    back = pd.read_sql("SELECT runsId, displayName, step, scalar FROM time_series_data "
                       "WHERE runsId IN ('r0', 'r9')", engine)
    expected = frame[frame["runsId"].isin(["r0", "r9"])]
    assert sorted(back.itertuples(index=False, name=None)) == \
        sorted(expected.itertuples(index=False, name=None))
    # method="multi": an INSERT of many VALUES per chunk, through the same writer.
    small = frame[frame["runsId"] == "r1"].head(1200).assign(displayName="multi")
    world.emu.reset_stats()
    written = small.to_sql("time_series_data", engine, if_exists="append", index=False,
                           method="multi", chunksize=600)
    assert written == 1200
    # Two statements: each lists run r1's series once and writes once; the first creates it.
    assert world.calls() == {"timeSeries.list": 2, "experiments.batchCreate": 1,
                             "experiments.write": 2}
    points = _points(world, experiment, "r1", "multi")
    assert {s: p["scalar"]["value"] for s, p in points.items()} == \
        dict(zip(small["step"], small["scalar"], strict=True))
    engine.dispose()


@pytest.mark.parametrize("sql, message", [
    ("INSERT INTO time_series_data (runsId, displayName, step, scalar) "
     "VALUES ('a', 'loss', 1, 0.5), ('a', 'loss', 2, 'high')", "scalar must be a number"),
    ("INSERT INTO time_series_data (runsId, displayName, valueType, step, tensor) "
     "VALUES ('a', 'loss', 'SCALAR', 1, '{}')", "a SCALAR point takes its value in scalar"),
    ("INSERT INTO time_series_data (runsId, displayName, step, scalar) "
     "VALUES ('a', 'loss', 1.5, 0.5)", "step must be an integer"),
    ("INSERT INTO time_series_data (runsId, displayName, scalar) VALUES ('a', 'loss', 0.5)",
     "has no step"),
    ("INSERT INTO time_series_data (runsId, step, scalar) VALUES ('a', 1, 0.5)",
     "names no series"),
    ("INSERT INTO time_series_data (runsId, displayName, step, scalar, tensor) "
     "VALUES ('a', 'loss', 1, 0.5, '{}')", "give exactly one value"),
    ("INSERT INTO time_series_data (runsId, displayName, step, wallTime, scalar) "
     "VALUES ('a', 'loss', 1, 'yesterday', 0.5)", "wallTime must be a timestamp"),
    ("INSERT INTO time_series_data (runsId, displayName, step, blobs) "
     "VALUES ('a', 'images', 1, '{\"id\": 1}')", "must be a JSON list"),
])
def test_a_bad_value_is_refused_before_any_call(world: World, sql: str, message: str) -> None:
    experiment = _experiment(world, ("a",))
    cursor = world.connect(experiment).cursor()
    world.emu.reset_stats()
    with pytest.raises(DataError, match=message):
        cursor.execute(sql)
    assert world.calls() == {}


def test_a_series_of_another_value_type_is_refused_before_writing(world: World) -> None:
    experiment = _experiment(world, ("a",))
    cursor = world.connect(experiment).cursor()
    cursor.execute("INSERT INTO time_series_data (runsId, displayName, step, scalar) "
                   "VALUES ('a', 'loss', 1, 0.5)")
    world.emu.reset_stats()
    with pytest.raises(DataError, match="holds SCALAR points; rows give it TENSOR"):
        cursor.execute("INSERT INTO time_series_data (runsId, displayName, step, tensor) "
                       "VALUES ('a', 'loss', 2, '{\"value\": \"AA==\"}')")
    assert world.calls() == {"timeSeries.list": 1}


@pytest.mark.parametrize("sql", [
    "UPDATE time_series_data SET scalar = 0 WHERE runsId = 'a' AND step = 1",
    "DELETE FROM time_series_data WHERE runsId = 'a' AND displayName = 'loss'",
])
def test_points_cannot_be_updated_or_deleted(world: World, sql: str) -> None:
    cursor = world.connect(_experiment(world, ("a",))).cursor()
    world.emu.reset_stats()
    with pytest.raises(NotSupportedError,
                       match=r"cannot update or delete data points.*delete their series "
                             r"instead: DELETE FROM time_series"):
        cursor.execute(sql)
    assert world.calls() == {}


def test_a_partial_failure_says_which_rows_were_written(world: World) -> None:
    experiment = _experiment(world)
    rows = _log(("a", "b"), ("loss",), 10_000)  # 4 writes of 5,000
    cursor = world.connect(experiment, retry=ONCE).cursor()
    cursor.execute("INSERT INTO time_series_data (runsId, displayName, step, scalar) "
                   "VALUES ('a', 'loss', 0, 0), ('b', 'loss', 0, 0)")  # the series exist
    world.emu.set_faults(FaultPlan(rate=0.5, kinds=("429",), methods=("experiments.write",),
                                   seed=4))  # 3 of the 4 calls refused
    with pytest.raises(Error) as raised:
        cursor.executemany(INSERT, rows)
    world.emu.set_faults(None)
    error = raised.value
    written = {int(label.split()[1]) - 1 for label in error.rows_written or []}
    failed = {int(label.split()[1]) - 1 for label in error.rows_not_written or []}
    assert not error.rows_unknown and not written & failed
    assert written | failed == set(range(len(rows)))
    assert 0 < len(written) < len(rows) and len(written) % 5000 == 0
    assert f"{len(written)} of {len(rows)} rows were written" in str(error)
    stored = {(run, step) for run in ("a", "b")
              for step, point in _points(world, experiment, run, "loss").items()
              if point["scalar"]["value"] != 0}
    assert stored == {(rows[i][0], rows[i][2]) for i in written}


def test_writes_retried_after_503s_are_written_once(world: World) -> None:
    experiment = _experiment(world)
    rows = _log(("a", "b"), ("loss",), 10_000)
    cursor = world.connect(experiment).cursor()
    world.emu.set_faults(FaultPlan(rate=0.3, kinds=("503_after", "503"),
                                   methods=("experiments.write",), seed=7))
    cursor.executemany(INSERT, rows)
    faults = world.emu.stats()["faults"]
    world.emu.set_faults(None)
    assert cursor.rowcount == 20_000 and sum(faults.values()) > 0
    for run in ("a", "b"):
        points = _points(world, experiment, run, "loss")
        assert {s: p["scalar"]["value"] for s, p in points.items()} == \
            {step: value for r, _, step, value in rows if r == run}


# -- runs: the opt-in concurrent batchCreate chunks ---------------------------------------------


def test_unordered_inserts_send_the_chunks_at_once(world: World) -> None:
    experiment = world.new_experiment("unordered")
    rows = [(f"u-{i}", f"u {i}") for i in range(2500)]
    connection = world.connect(experiment, ordered_inserts=False)
    # How many batchCreates are in flight at once (a structural check, not a timed one).
    in_flight, most = 0, 0
    lock = threading.Lock()
    sent = connection.client.batch_create

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
        try:
            return sent(*args, **kwargs)
        finally:
            with lock:
                in_flight -= 1

    connection.client.batch_create = counting  # type: ignore[method-assign]
    cursor = connection.cursor()
    world.emu.reset_stats()
    world.emu.set_latency(300)  # each call lasts long enough for the others to start
    cursor.executemany("INSERT INTO runs (runsId, displayName) VALUES (?, ?)", rows)
    world.emu.set_latency(0)
    assert cursor.rowcount == 2500
    assert world.calls() == {"runs.batchCreate": 3}
    assert most == 3  # the three chunks were sent at once
    assert sorted(world.run_ids(experiment)) == sorted(r for r, _ in rows)


def test_unordered_inserts_partial_failure(world: World) -> None:
    experiment = world.new_experiment("unordered")
    rows = [(f"u-{i}", f"u {i}") for i in range(5000)]
    cursor = world.connect(experiment, ordered_inserts=False, retry=ONCE).cursor()
    world.emu.set_faults(FaultPlan(rate=0.5, kinds=("429",), methods=("runs.batchCreate",),
                                   seed=2))  # the 3rd and 4th of 5 calls refused
    with pytest.raises(Error) as raised:
        cursor.executemany("INSERT INTO runs (runsId, displayName) VALUES (?, ?)", rows)
    world.emu.set_faults(None)
    error = raised.value
    written = set(error.rows_written or [])
    assert 0 < len(written) < 5000 and len(written) % 1000 == 0
    assert written | set(error.rows_not_written or []) == {r for r, _ in rows}
    assert set(world.run_ids(experiment)) == written


def test_the_url_option(world: World) -> None:
    url = build_url("demo-project", "us-central1", world.tensorboard, "x",
                    endpoint=world.emu.url, anonymous=True, ordered_inserts=False)
    engine = create_engine(url)
    with engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        assert isinstance(raw, runs_dbapi.Connection)
        assert raw._writes._inserter.ordered_inserts is False
    engine.dispose()
