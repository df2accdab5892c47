"""The demo project's training curves: every run has a loss and an accuracy series of hundreds of
points (fewer for runs that failed or still run), a few series pass the read verbs' sampling
limit, the series' metadata agrees with their points, and a demo seeded again in the same
process (a copy of the first) holds the same data, while a store that holds other data is
seeded afresh beside it."""

from __future__ import annotations

import json
from typing import Any

import pytest

import runs_dbapi
from runs_dbapi.emulator import Emulator
from runs_dbapi.emulator.demo import DENSE_RUNS, EXPERIMENTS, TRAINING

pytestmark = pytest.mark.emulator(demo=True)


def _table(emulator: Emulator, sql: str) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = emulator.store._db.execute(sql).fetchall()
    return rows


def _curves(emulator: Emulator) -> dict[str, dict[str, Any]]:
    """Per series: run, display name, status of its run, point count, max step, metadata."""
    runs = {name: json.loads(body)["labels"]["status"]
            for name, body in _table(emulator, "SELECT name, body FROM resources "
                                               "WHERE kind = 'runs'")}
    counts = {series: (count, top) for series, count, top in _table(
        emulator, "SELECT series, count(*), max(step) FROM points GROUP BY series")}
    out = {}
    for name, parent, body in _table(emulator, "SELECT name, parent, body FROM resources "
                                               "WHERE kind = 'timeSeries'"):
        series = json.loads(body)
        count, top = counts.get(name, (0, None))
        out[name] = {"run": parent, "displayName": series["displayName"],
                     "status": runs[parent], "points": count, "maxStep": top,
                     "metadata": series.get("metadata", {})}
    return out


def test_every_run_has_a_loss_and_an_accuracy_curve(module_emu: Emulator) -> None:
    curves = _curves(module_emu)
    by_run: dict[str, list[str]] = {}
    for series in curves.values():
        by_run.setdefault(series["run"], []).append(series["displayName"])
    assert len(by_run) == 60 * len(EXPERIMENTS)
    assert all(sorted(names) == ["accuracy", "loss"] for names in by_run.values())
    finished = [c for c in curves.values()
                if c["status"] == "succeeded" and c["displayName"] == "loss"]
    assert finished
    for curve in finished:
        experiment = curve["run"].split("/experiments/")[1].split("/")[0]
        steps, every, _ = TRAINING[experiment]
        dense = int(curve["run"][-4:]) in DENSE_RUNS
        assert curve["maxStep"] == steps
        assert curve["points"] == steps // (every // 10 if dense else every) + 1
        assert curve["points"] >= 150
    # Failed and running runs stopped part of the way.
    assert all(c["maxStep"] < TRAINING[c["run"].split("/experiments/")[1].split("/")[0]][0]
               for c in curves.values() if c["status"] != "succeeded")


def test_some_series_pass_the_sampling_limit(module_emu: Emulator) -> None:
    long = [c for c in _curves(module_emu).values() if c["points"] > 1000]
    assert 4 <= len(long) <= 2 * len(DENSE_RUNS) * len(EXPERIMENTS)
    assert all(c["displayName"] == "loss" and int(c["run"][-4:]) in DENSE_RUNS for c in long)


def test_metadata_agrees_with_the_points(module_emu: Emulator) -> None:
    for name, curve in _curves(module_emu).items():
        assert curve["metadata"]["maxStep"] == str(curve["maxStep"]), name
        (wall,), = _table(module_emu, f"SELECT max(wall_time) FROM points WHERE series = '{name}'")
        assert curve["metadata"]["maxWallTime"] == wall, name


def test_a_long_curve_reads_whole_through_the_driver(module_emu: Emulator) -> None:
    connection = runs_dbapi.connect(project="demo-project", location="us-central1",
                                    endpoint=module_emu.url, experiment="bert-glue")
    cursor = connection.cursor()
    cursor.execute("SELECT step, scalar FROM time_series_data "
                   "WHERE runsId = 'bert-glue-0001' AND displayName = 'loss' ORDER BY step")
    rows = cursor.fetchall()
    steps, every, initial = TRAINING["bert-glue"]
    assert [r[0] for r in rows] == list(range(0, steps + 1, every // 10))
    # A training curve: it starts near the experiment's initial loss and ends far below it.
    assert rows[0][1] > 0.5 * initial > rows[-1][1]
    connection.close()


def test_a_second_demo_in_the_process_holds_the_same_data(module_emu: Emulator) -> None:
    query = ("SELECT kind, name, display_name, create_time, body FROM resources ORDER BY seq")
    points = "SELECT series, step, wall_time, value FROM points ORDER BY series, step"
    with Emulator(demo=True) as again:
        assert _table(again, query) == _table(module_emu, query)
        assert _table(again, points) == _table(module_emu, points)
        # Its clock continues after the copied resources: a new run is created later.
        created = again.store.now()
        (last,), = _table(again, "SELECT max(update_time) FROM resources")
        assert created > last


def test_a_store_with_other_data_is_seeded_beside_it(module_emu: Emulator) -> None:
    with Emulator() as other:
        parent = "projects/123/locations/us-central1"
        other._server.service.store.insert("tensorboards", parent, "7", {"displayName": "mine"},
                                           other.store.now())
        made = other.seed_demo()
        assert made["created"]
        names = {r[0] for r in _table(other, "SELECT display_name FROM resources "
                                             "WHERE kind = 'tensorboards'")}
        assert names == {"mine", "demo"}
        (count,), = _table(other, "SELECT count(*) FROM points")
        (expected,), = _table(module_emu, "SELECT count(*) FROM points")
        assert count == expected
