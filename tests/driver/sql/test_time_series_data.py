"""Reading `time_series_data`: every point, exactly (never batchRead's sample), with the
series chosen by display name in the listing and steps filtered and ordered by the export."""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from support.world import World

Json = dict[str, Any]


@pytest.fixture(scope="module")
def curves(shared: World) -> Iterator[tuple[World, str, dict[str, str]]]:
    """An experiment of three runs: run a has a loss curve of 2,500 points (past batchRead's
    limit of 1,000) and an accuracy curve of 300; run b a loss curve of 40 points; run c a
    TENSOR series of 3 points."""
    experiment = shared.new_experiment("curves")
    shared.create_runs(experiment, [(r, {"displayName": f"run {r}"}) for r in ("a", "b", "c")])
    ids = {
        "a/loss": shared.create_scalar_series(experiment, "a", "loss"),
        "a/accuracy": shared.create_scalar_series(experiment, "a", "accuracy"),
        "b/loss": shared.create_scalar_series(experiment, "b", "loss"),
    }
    for key, count in (("a/loss", 2500), ("a/accuracy", 300), ("b/loss", 40)):
        run = key.split("/")[0]
        for start in range(0, count, 2000):
            values = [{"step": str(step), "wallTime": f"2026-01-05T10:{step // 60 % 60:02d}:"
                                                      f"{step % 60:02d}.{step:06d}Z"[:27],
                       "scalar": {"value": 1.0 / (step + 1)}}
                      for step in range(start, min(count, start + 2000))]
            answer = shared.api("POST", f"{shared.run_name(experiment, run)}:write", json={
                "timeSeriesData": [{"tensorboardTimeSeriesId": ids[key], "valueType": "SCALAR",
                                    "values": values}]})
            assert answer.status_code == 200, answer.text
    tensor = shared.api("POST", f"{shared.run_name(experiment, 'c')}/timeSeries", json={
        "displayName": "weights", "valueType": "TENSOR", "pluginName": "histograms"}).json()
    ids["c/weights"] = tensor["name"].rsplit("/", 1)[1]
    answer = shared.api("POST", f"{shared.run_name(experiment, 'c')}:write", json={
        "timeSeriesData": [{"tensorboardTimeSeriesId": ids["c/weights"], "valueType": "TENSOR",
                            "values": [{"step": str(s), "wallTime": "2026-01-05T11:00:00Z",
                                        "tensor": {"value": base64.b64encode(bytes([s])).decode(),
                                                   "versionNumber": 1}}
                                       for s in range(3)]}]})
    assert answer.status_code == 200, answer.text
    yield shared, experiment, ids


def exported(world: World, experiment: str, run: str, series: str) -> list[Json]:
    """Every point of a series through the export verb, page by page (the oracle)."""
    points: list[Json] = []
    body: Json = {"pageSize": 10_000}
    name = f"{world.run_name(experiment, run)}/timeSeries/{series}"
    while True:
        answer = world.api("POST", f"{name}:exportTensorboardTimeSeries", json=body).json()
        points += answer.get("timeSeriesDataPoints", [])
        if not answer.get("nextPageToken"):
            return points
        body["pageToken"] = answer["nextPageToken"]


def rows(world: World, experiment: str, sql: str, *, pushdown: bool = True) -> list[Any]:
    cursor = world.connect(experiment, pushdown=pushdown).cursor()
    cursor.execute(sql)
    return cursor.fetchall()


def test_a_long_series_is_read_whole_never_sampled(
        curves: tuple[World, str, dict[str, str]]) -> None:
    world, experiment, ids = curves
    world.emu.reset_stats()
    got = rows(world, experiment, "SELECT step, scalar FROM time_series_data "
                                  "WHERE runsId = 'a' AND displayName = 'loss'")
    calls = world.emu.stats()["calls"]
    assert len(got) == 2500
    expected = [(int(p["step"]), p["scalar"]["value"])
                for p in exported(world, experiment, "a", ids["a/loss"])]
    assert sorted(got) == sorted(expected)
    # A series read alone is exported (whole, one page), never batchRead (a sample of 1,000).
    assert "tensorboards.batchRead" not in calls
    assert calls.get("timeSeries.exportTensorboardTimeSeries") == 1


def test_a_short_series_read_alone_is_one_export(
        curves: tuple[World, str, dict[str, str]]) -> None:
    world, experiment, _ = curves
    world.emu.reset_stats()
    got = rows(world, experiment, "SELECT step, scalar FROM time_series_data "
                                  "WHERE runsId = 'b' AND displayName = 'loss'")
    assert sorted(got) == [(step, 1.0 / (step + 1)) for step in range(40)]
    assert world.emu.stats()["calls"] == {"timeSeries.list": 1,
                                          "timeSeries.exportTensorboardTimeSeries": 1}


def test_many_series_are_read_together(curves: tuple[World, str, dict[str, str]]) -> None:
    world, experiment, _ = curves
    world.emu.reset_stats()
    got = rows(world, experiment, "SELECT runsId, displayName, count(*), min(step), max(step) "
                                  "FROM time_series_data GROUP BY 1, 2")
    assert sorted(got) == [("a", "accuracy", 300, 0, 299), ("a", "loss", 2500, 0, 2499),
                           ("b", "loss", 40, 0, 39), ("c", "weights", 3, 0, 2)]
    calls = world.emu.stats()["calls"]
    assert calls.get("tensorboards.batchRead") == 1  # four series in one call
    assert calls.get("timeSeries.exportTensorboardTimeSeries") == 1  # a/loss only


def test_steps_are_filtered_and_ordered_by_the_export(
        curves: tuple[World, str, dict[str, str]]) -> None:
    world, experiment, ids = curves
    connection = world.connect(experiment)
    sent: list[Json] = []
    connection.client._session.hooks["response"].append(
        lambda r, *a, **k: sent.append({"url": r.request.url, "body": r.request.body}))
    cursor = connection.cursor()
    cursor.execute("SELECT step, scalar FROM time_series_data WHERE runsId = 'a' "
                   f"AND timeSeriesId = '{ids['a/loss']}' AND step >= 2000 AND step < 2010 "
                   "ORDER BY step LIMIT 5")
    assert [r[0] for r in cursor.fetchall()] == [2000, 2001, 2002, 2003, 2004]
    exports = [s for s in sent if ":exportTensorboardTimeSeries" in s["url"]]
    assert len(exports) == 1
    body = exports[0]["body"].decode() if isinstance(exports[0]["body"], bytes) \
        else str(exports[0]["body"])
    assert '"orderBy": "step"' in body or '"orderBy":"step"' in body
    assert "step >= 2000" in body and "step < 2010" in body
    assert not any(":batchRead" in s["url"] for s in sent)


def test_series_are_chosen_by_display_name_in_the_listing(
        curves: tuple[World, str, dict[str, str]]) -> None:
    world, experiment, _ = curves
    connection = world.connect(experiment)
    urls: list[str] = []
    connection.client._session.hooks["response"].append(
        lambda r, *a, **k: urls.append(r.request.url))
    cursor = connection.cursor()
    cursor.execute("SELECT runsId, count(*) FROM time_series_data WHERE displayName = 'loss' "
                   "GROUP BY runsId")
    assert sorted(cursor.fetchall()) == [("a", 2500), ("b", 40)]
    listings = [u for u in urls if u.split("?")[0].endswith("/timeSeries")]
    assert listings and all("display_name" in u for u in listings)


@pytest.mark.parametrize("sql", [
    "SELECT runsId, displayName, step, scalar, wallTime FROM time_series_data "
    "WHERE step % 97 = 0",
    "SELECT displayName, avg(scalar), max(wallTime) FROM time_series_data GROUP BY 1",
    "SELECT step, tensor, scalar, blobs FROM time_series_data WHERE valueType = 'TENSOR'",
    "SELECT count(*) FROM time_series_data WHERE wallTime >= '2026-01-05T10:30:00Z' "
    "AND displayName != 'weights'",
])
def test_push_down_changes_no_answer(curves: tuple[World, str, dict[str, str]], sql: str
                                     ) -> None:
    world, experiment, _ = curves
    pushed = rows(world, experiment, sql)
    assert pushed
    assert sorted(pushed, key=repr) == sorted(rows(world, experiment, sql, pushdown=False),
                                              key=repr)


@pytest.mark.parametrize("literal", ["'abc'", "'5'", "' 7 '", "'5.0'", "'1e1'", "'-1'", "''",
                                     "'39x'", "5.0", "'9223372036854775808'"])
@pytest.mark.parametrize("op", ["=", "!=", "<", ">=", "IN"])
def test_step_against_a_literal_of_another_type_is_sqlite_s_comparison(
        curves: tuple[World, str, dict[str, str]], op: str, literal: str) -> None:
    """`step = 'abc'` is no row and `step < 'abc'` every row in SQLite (a number ranks below
    any text that the column's affinity cannot make a number), `step = '5'` is step 5: the API
    is never asked (it would refuse the first or answer otherwise)."""
    world, experiment, _ = curves
    where = f"step {op} ({literal})" if op == "IN" else f"step {op} {literal}"
    reference = sqlite3.connect(":memory:")
    reference.execute("CREATE TABLE t (step INTEGER)")
    reference.executemany("INSERT INTO t VALUES (?)", [(step,) for step in range(40)])
    expected = sorted(reference.execute(f"SELECT step FROM t WHERE {where}").fetchall())
    sql = f"SELECT step FROM time_series_data WHERE runsId = 'b' AND {where}"
    for pushdown in (True, False):
        assert sorted(rows(world, experiment, sql, pushdown=pushdown)) == expected, pushdown


def test_value_columns_by_type(curves: tuple[World, str, dict[str, str]]) -> None:
    world, experiment, _ = curves
    cursor = world.connect(experiment).cursor()
    cursor.execute("SELECT step, scalar, tensor, blobs FROM time_series_data "
                   "WHERE runsId = 'c' ORDER BY step")
    assert [d[1] for d in cursor.description] == ["INTEGER", "FLOAT", "JSON", "JSON"]
    assert cursor.fetchall() == [
        (s, None, {"value": base64.b64encode(bytes([s])).decode(), "versionNumber": 1}, None)
        for s in range(3)]
    cursor.execute("SELECT scalar, tensor FROM time_series_data WHERE runsId = 'b' AND step = 0")
    assert cursor.fetchall() == [(1.0, None)]
