"""The `time_series` table: one declaration in the catalog, read through every generic path
(list with push-down, get by key, fan-out, types, reflection), compared with the API itself."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import create_engine, inspect
from sqlalchemy import types as sqltypes
from support.world import LOCATION, PROJECT, World

import runs_dbapi
from runs_dbapi.catalog import TABLES
from runs_dialect import build_url

EXPERIMENT = "bert-glue"


@pytest.fixture(scope="module")
def series(shared: World) -> Iterator[tuple[World, str, list[dict[str, Any]]]]:
    """A run of the demo with its time series, one of them given plugin data and a description
    through the API, and the series as the API lists them."""
    run = shared.run_ids(EXPERIMENT)[0]
    parent = shared.run_name(EXPERIMENT, run)
    created = shared.api("POST", f"{parent}/timeSeries", json={
        "displayName": "grad-norm", "valueType": "SCALAR", "pluginName": "scalars",
        "description": "it's é", "pluginData": base64.b64encode(b"\x00\x01\xff").decode()})
    assert created.status_code == 200, created.text
    listed = shared.api("GET", f"{parent}/timeSeries", params={"pageSize": 1000}).json()
    yield shared, run, listed["tensorboardTimeSeries"]


def _rows(world: World, sql: str, *, pushdown: bool = True, **options: Any
          ) -> tuple[list[tuple[str, str]], list[tuple[Any, ...]]]:
    cursor = world.connect(EXPERIMENT, pushdown=pushdown, **options).cursor()
    cursor.execute(sql)
    rows = cursor.fetchall()
    return [(d[0], d[1]) for d in cursor.description], rows


def test_rows_are_the_apis(series: tuple[World, str, list[dict[str, Any]]]) -> None:
    world, run, listed = series
    sql = (f"SELECT name, displayName, description, valueType, pluginName, pluginData, "
           f"metadata, etag, timeSeriesId, runsId, experimentsId, projectsId "
           f"FROM time_series WHERE runsId = '{run}'")
    for pushdown in (True, False):
        description, rows = _rows(world, sql, pushdown=pushdown)
        assert [t for _, t in description] == [
            "STRING", "STRING", "STRING", "STRING", "STRING", "BYTES", "JSON", "STRING",
            "STRING", "STRING", "STRING", "STRING"]
        expected = [(s["name"], s["displayName"], s.get("description", ""), s["valueType"],
                     s.get("pluginName", ""), base64.b64decode(s.get("pluginData", "")),
                     s.get("metadata"), s.get("etag", ""), s["name"].rsplit("/", 1)[1], run,
                     EXPERIMENT, PROJECT) for s in listed]
        assert sorted(rows, key=repr) == sorted(expected, key=repr)
    assert any(r[5] == b"\x00\x01\xff" and r[2] == "it's é" for r in rows)


def test_filters_and_order_are_pushed_down(
        series: tuple[World, str, list[dict[str, Any]]]) -> None:
    world, run, listed = series
    connection = world.connect(EXPERIMENT)
    sent: list[dict[str, list[str]]] = []
    connection.client._session.hooks["response"].append(
        lambda r, *a, **k: sent.append(parse_qs(urlsplit(r.request.url).query))
        if urlsplit(r.request.url).path.endswith("/timeSeries") else None)
    cursor = connection.cursor()
    cursor.execute(f"SELECT displayName FROM time_series WHERE runsId = '{run}' "
                   "AND valueType = 'SCALAR' AND displayName != 'loss' ORDER BY displayName")
    assert cursor.fetchall() == sorted((s["displayName"],) for s in listed
                                       if s["displayName"] != "loss")
    assert sent, "the series were listed"
    assert sent[0]["filter"] == ['(value_type = "SCALAR") AND (display_name != "loss")']
    assert sent[0]["orderBy"] == ["display_name"]
    assert sent[0]["readMask"] == ["displayName,name,valueType"]


def test_a_key_is_a_get(series: tuple[World, str, list[dict[str, Any]]]) -> None:
    world, run, listed = series
    wanted = listed[-1]
    key = wanted["name"].rsplit("/", 1)[1]
    world.emu.reset_stats()
    _, rows = _rows(world, f"SELECT displayName FROM time_series WHERE runsId = '{run}' "
                           f"AND timeSeriesId = '{key}'")
    assert rows == [(wanted["displayName"],)]
    assert world.emu.stats()["calls"] == {"timeSeries.get": 1}


def test_fan_out_over_runs(series: tuple[World, str, list[dict[str, Any]]]) -> None:
    world, _, _ = series
    expected = 0
    for run in world.run_ids(EXPERIMENT):
        page = world.api("GET", f"{world.run_name(EXPERIMENT, run)}/timeSeries",
                         params={"pageSize": 1000}).json()
        expected += len(page.get("tensorboardTimeSeries", []))
    _, rows = _rows(world, "SELECT count(*), count(DISTINCT runsId) FROM time_series")
    assert rows == [(expected, len(world.run_ids(EXPERIMENT)))]


def test_json_metadata_reads_as_sqlite_reads_it(
        series: tuple[World, str, list[dict[str, Any]]]) -> None:
    world, run, listed = series
    _, rows = _rows(world, f"SELECT metadata ->> '$.maxStep', json_type(metadata) "
                           f"FROM time_series WHERE runsId = '{run}' AND displayName = 'loss'")
    loss = next(s for s in listed if s["displayName"] == "loss")
    assert rows == [(loss["metadata"]["maxStep"], "object")]


def test_reflected_through_sqlalchemy(series: tuple[World, str, list[dict[str, Any]]]) -> None:
    world, _, _ = series
    url = build_url(PROJECT, LOCATION, world.tensorboard, EXPERIMENT, endpoint=world.emu.url,
                    anonymous=True).render_as_string(hide_password=False)
    engine = create_engine(url)
    columns = {c["name"]: c for c in inspect(engine).get_columns("time_series")}
    assert list(columns) == TABLES["time_series"].column_names
    assert isinstance(columns["pluginData"]["type"], sqltypes.LargeBinary)
    assert isinstance(columns["metadata"]["type"], sqltypes.JSON)
    engine.dispose()


def test_written_through_the_declaration(series: tuple[World, str, list[dict[str, Any]]]
                                         ) -> None:
    """The write path reads the declaration too: create, patch and delete of a series."""
    world, run, _ = series
    cursor = world.connect(EXPERIMENT).cursor()
    cursor.execute(f"INSERT INTO time_series (runsId, displayName, valueType, pluginName) "
                   f"VALUES ('{run}', 'lr', 'SCALAR', 'scalars') RETURNING timeSeriesId")
    (key,) = cursor.fetchone()
    cursor.execute(f"UPDATE time_series SET description = 'learning rate' "
                   f"WHERE runsId = '{run}' AND timeSeriesId = '{key}'")
    assert cursor.rowcount == 1
    with pytest.raises(runs_dbapi.ProgrammingError):  # immutable once created
        cursor.execute(f"UPDATE time_series SET valueType = 'TENSOR' "
                       f"WHERE runsId = '{run}' AND timeSeriesId = '{key}'")
    found = world.api("GET", f"{world.run_name(EXPERIMENT, run)}/timeSeries/{key}").json()
    assert (found["displayName"], found["description"]) == ("lr", "learning rate")
    cursor.execute(f"DELETE FROM time_series WHERE runsId = '{run}' AND displayName = 'lr'")
    assert cursor.rowcount == 1
    assert world.api("GET", f"{world.run_name(EXPERIMENT, run)}/timeSeries/{key}"
                     ).status_code == 404
