"""Regression tests for issue 11's examples: names, types, timestamps and push-down.

Each test runs its statement with push-down on and off, and, where it says so, compares with
`sqlite3` itself over a table holding the same rows (the `reference` helper).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
from sqlalchemy import create_engine
from support.world import PROJECT, World

from runs_dbapi.timestamps import api_time_to_local
from runs_dialect.url import build_url

LABELS = [
    {"seed": "1", "flag": "true", "nothing": "null", "status": "done"},
    {"seed": "2", "flag": "false", "status": "running"},
    {},
]


@pytest.fixture(scope="module")
def data(shared: World) -> Iterator[tuple[World, str]]:
    experiment = shared.new_experiment("exact")
    shared.create_runs(experiment, [(f"r{i}", {"displayName": f"run {i}", "labels": labels})
                                    for i, labels in enumerate(LABELS)])
    yield shared, experiment


def _both(world: World, experiment: str, sql: str, params: Any = None
          ) -> tuple[list[tuple[str, str]], list[tuple[Any, ...]]]:
    """Description (name, type) and rows, the same with push-down on and off."""
    answers = []
    for pushdown in (True, False):
        cursor = world.connect(experiment, pushdown=pushdown).cursor()
        cursor.execute(sql, params or ())
        rows = cursor.fetchall()
        answers.append(([(d[0], d[1]) for d in cursor.description], sorted(rows, key=repr)))
    assert answers[0] == answers[1]
    return answers[0]


def reference(world: World, experiment: str, sql: str) -> sqlite3.Cursor:
    """`sql` run by sqlite3 over a `runs` table holding the experiment's rows."""
    db = sqlite3.connect(":memory:")
    db.execute('CREATE TABLE runs (name TEXT, "createTime" TEXT, description TEXT, '
               '"displayName" TEXT, etag TEXT, labels TEXT, "updateTime" TEXT, '
               '"runsId" TEXT)')
    for run in world.list_runs(experiment):
        db.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (
            run["name"], api_time_to_local(run["createTime"]), run.get("description", ""),
            run.get("displayName", ""), run.get("etag", ""),
            json.dumps(run.get("labels", {}), separators=(",", ":")),
            api_time_to_local(run["updateTime"]), run["name"].rsplit("/", 1)[1]))
    return db.execute(sql)


# -- column names as written --------------------------------------------------------------------

NAMED = [
    "SELECT count(*), max(createTime), labels ->> '$.status', upper(displayName) FROM runs "
    "GROUP BY 3, 4",
    "SELECT COUNT( * ), 1 + /* one */ 1, -1, 'a''b', NULL FROM runs",
    "SELECT * FROM (SELECT count(*), min(displayName) FROM runs)",
    "SELECT x.\"count(*)\" FROM (SELECT count(*) FROM runs) AS x",
    "SELECT runs.displayName, DISPLAYNAME, (runsId), labels -> '$.seed' FROM runs",
    "SELECT displayName FROM runs UNION SELECT upper(displayName) FROM runs",
]


@pytest.mark.parametrize("sql", NAMED)
def test_column_names_are_sqlites(data: tuple[World, str], sql: str) -> None:
    world, experiment = data
    description, _ = _both(world, experiment, sql)
    expected = [d[0] for d in reference(world, experiment, sql).description]
    assert [name for name, _ in description] == expected


@pytest.mark.parametrize("sql, params", [
    ("SELECT ?, ?", (1, "x")),
    ("SELECT ? FROM runs", (1,)),
    ("SELECT :a, :b", {"a": 1, "b": 2}),
    ("SELECT :a, :a FROM runs", {"a": 1}),
    ("SELECT ?2, ?1, ?2", (5, 6)),
    ("SELECT ? UNION ALL SELECT ?", (1, 2)),
    ("SELECT ( ? ), ? + 1 FROM runs", (3, 4)),
])
def test_a_parameter_marker_is_named_as_written(data: tuple[World, str], sql: str,
                                                params: Any) -> None:
    """A select list of markers alone (nothing else to place it in the text) is named as
    SQLite names it: `?`, `:a`, `?2`, never by the value bound."""
    world, experiment = data
    description, _ = _both(world, experiment, sql, params)
    expected = sqlite3.connect(":memory:").execute(
        sql.replace(" FROM runs", ""), params).description
    assert [name for name, _ in description] == [d[0] for d in expected]


def test_pandas_reads_count_star_by_its_name(data: tuple[World, str]) -> None:
    world, experiment = data
    url = build_url(PROJECT, "us-central1", world.tensorboard, experiment,
                    endpoint=world.emu.url, anonymous=True)
    engine = create_engine(url.render_as_string(hide_password=False))
    frame = pd.read_sql("SELECT count(*), max(createTime) FROM runs", engine)
    engine.dispose()
    assert frame["count(*)"].tolist() == [len(LABELS)]
    assert "max(createTime)" in frame.columns


# -- types that follow meaning ------------------------------------------------------------------

@pytest.mark.parametrize("expression", [
    "json_extract(labels, '$.seed')", "labels ->> '$.seed'", "labels ->> 'seed'",
    "labels ->> '$.flag'", "labels ->> 'nothing'", "labels -> '$.seed'", "labels -> 'flag'",
    "json_extract(labels, '$.missing')", "json_type(labels, '$.seed')",
])
def test_label_values_are_sqlites_values(data: tuple[World, str], expression: str) -> None:
    world, experiment = data
    sql = f"SELECT runsId, {expression} FROM runs"
    _, rows = _both(world, experiment, sql)
    expected = sorted(reference(world, experiment, sql).fetchall(), key=repr)
    assert [(type(a), a) for row in rows for a in row] == [
        (type(b), b) for row in expected for b in row]


def test_label_value_one_is_text(data: tuple[World, str]) -> None:
    world, experiment = data
    _, rows = _both(world, experiment,
                    "SELECT json_extract(labels, '$.seed'), labels ->> 'flag', "
                    "labels ->> 'nothing' FROM runs WHERE runsId = 'r0'")
    assert rows == [("1", "true", "null")]


@pytest.mark.parametrize("sql, types", [
    ("SELECT createTime, labels, count(*), upper(displayName), avg(1) FROM runs",
     ["TIMESTAMP", "JSON", "INTEGER", "STRING", "FLOAT"]),
    ("SELECT max(createTime), coalesce(updateTime, createTime), min(labels) FROM runs",
     ["TIMESTAMP", "TIMESTAMP", "JSON"]),
    ("WITH c AS (SELECT createTime AS t, date(createTime) AS d FROM runs) SELECT t, d FROM c",
     ["TIMESTAMP", "STRING"]),
])
def test_description_types_are_the_same_for_empty_results(
        data: tuple[World, str], sql: str, types: list[str]) -> None:
    world, experiment = data
    full, _ = _both(world, experiment, sql)
    empty_sql = (sql.replace(" FROM runs", " FROM runs WHERE 0") if "WITH" not in sql
                 else sql + " WHERE 0")
    empty, rows = _both(world, experiment, empty_sql)
    assert [t for _, t in full] == types
    assert [t for _, t in empty] == types
    assert rows in ([], [tuple(None for _ in types)]) or "count(*)" in sql


def test_boolean_and_integer_defaults_find_an_empty_tensorboard(shared: World) -> None:
    collection = f"projects/{PROJECT}/locations/us-central1/tensorboards"
    created = shared.api("POST", collection, json={"displayName": "empty one"}).json()
    assert "runCount" not in json.dumps(created.get("response", created))
    cursor = shared.connect().cursor()
    cursor.execute("SELECT displayName, runCount, isDefault, description FROM tensorboards "
                   "WHERE runCount = 0 AND displayName = 'empty one'")
    assert cursor.fetchall() == [("empty one", 0, False, "")]
    assert [d[1] for d in cursor.description] == ["STRING", "INTEGER", "BOOLEAN", "STRING"]


# -- timestamps are instants --------------------------------------------------------------------

def _created(world: World, experiment: str, run: str) -> str:
    found = world.get_run(experiment, run)
    assert found is not None
    return str(found["createTime"])


@pytest.mark.parametrize("spelling", ["z", "offset", "space", "date"])
def test_a_timestamp_literal_means_the_instant_everywhere(
        data: tuple[World, str], spelling: str) -> None:
    world, experiment = data
    moment = datetime.fromisoformat(_created(world, experiment, "r1").replace("Z", "+00:00"))
    literal = {
        "z": moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "offset": moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat() + "+00:00",
        "space": moment.strftime("%Y-%m-%d %H:%M:%S.%f"),
        "date": "2000-01-01",
    }[spelling]
    op = ">" if spelling == "date" else ">="
    queries = [
        f"SELECT count(*) FROM runs WHERE createTime {op} '{literal}'",
        f"SELECT count(*) FROM runs WHERE coalesce(updateTime, createTime) {op} '{literal}'",
        f"SELECT sum(CASE WHEN createTime {op} '{literal}' THEN 1 ELSE 0 END) FROM runs",
        f"SELECT count(*) FROM (SELECT createTime AS t FROM runs) WHERE t {op} '{literal}'",
        f"WITH c AS (SELECT createTime FROM runs) SELECT count(*) FROM c "
        f"WHERE createTime {op} '{literal}'",
        f"SELECT count(*) FROM (SELECT max(createTime) AS m FROM runs GROUP BY runsId) "
        f"WHERE m {op} '{literal}'",
        f"SELECT count(*) FROM (SELECT runsId FROM runs GROUP BY runsId "
        f"HAVING max(createTime) {op} '{literal}')",
    ]
    # The canonical spelling, compared in sqlite3, is the answer for every spelling.
    canonical = moment.strftime("%Y-%m-%d %H:%M:%S.%f") if spelling != "date" else \
        "2000-01-01 00:00:00.000000"
    for sql in queries:
        _, rows = _both(world, experiment, sql)
        expected = reference(world, experiment, sql.replace(literal, canonical)).fetchall()
        assert rows == expected, sql


def test_a_column_named_like_a_timestamp_is_compared_as_what_it_holds(
        data: tuple[World, str]) -> None:
    world, experiment = data
    day = _created(world, experiment, "r0")[:10]
    sql = (f"WITH c AS (SELECT date(createTime) AS createTime FROM runs) "
           f"SELECT count(*) FROM c WHERE createTime = '{day}'")
    _, rows = _both(world, experiment, sql)
    assert rows == reference(world, experiment, sql).fetchall() == [(len(LABELS),)]


def test_digits_below_the_microsecond_are_honoured(data: tuple[World, str]) -> None:
    world, experiment = data
    created = _created(world, experiment, "r0")  # ...SS.ffffffZ
    above = created[:-1] + "001Z"
    exact = created[:-1] + "000Z"
    _, rows = _both(world, experiment, f"SELECT runsId FROM runs WHERE createTime = '{above}'")
    assert rows == []
    _, rows = _both(world, experiment, f"SELECT runsId FROM runs WHERE createTime = '{exact}'")
    assert rows == [("r0",)]
    _, rows = _both(world, experiment,
                    f"SELECT runsId FROM runs WHERE runsId = 'r0' AND createTime >= '{above}'")
    assert rows == []
    _, rows = _both(world, experiment,
                    f"SELECT runsId FROM runs WHERE runsId = 'r0' AND createTime < '{above}'")
    assert rows == [("r0",)]


# -- push-down never changes an answer ----------------------------------------------------------

def _sent(world: World, experiment: str, sql: str) -> list[dict[str, list[str]]]:
    """The query parameters of each runs listing the driver sends for `sql`."""
    connection = world.connect(experiment)
    sent: list[dict[str, list[str]]] = []

    def hook(response: Any, *args: Any, **kwargs: Any) -> None:
        url = urlsplit(response.request.url)
        if url.path.endswith("/runs"):
            sent.append(parse_qs(url.query))

    connection.client._session.hooks["response"].append(hook)
    cursor = connection.cursor()
    cursor.execute(sql)
    cursor.fetchall()
    return sent


@pytest.mark.parametrize("sql, field", [
    ("SELECT a.runsId FROM runs a JOIN runs b USING (displayName)", "displayName"),
    ("SELECT a.runsId FROM runs a NATURAL JOIN runs b", "description"),
    ("SELECT row_number() OVER (ORDER BY description, runsId) FROM runs", "description"),
    ("SELECT runsId FROM runs r WHERE EXISTS (SELECT 1 FROM runs s WHERE s.etag = r.etag)",
     "etag"),
    ("SELECT runsId FROM runs ORDER BY description, runsId", "description"),
    ("SELECT runsId FROM runs GROUP BY runsId HAVING max(updateTime) IS NOT NULL", "updateTime"),
])
def test_every_column_read_is_in_the_read_mask(data: tuple[World, str], sql: str,
                                               field: str) -> None:
    world, experiment = data
    sent = _sent(world, experiment, sql)
    assert sent, "the statement lists runs"
    for params in sent:
        mask = params.get("readMask")
        assert mask is None or field in mask[0].split(","), (sql, mask)
    _both(world, experiment, sql)  # same rows with push-down off


def test_repeated_in_values_fetch_once_and_return_each_row_once(data: tuple[World, str]) -> None:
    world, experiment = data
    world.emu.reset_stats()
    _, rows = _both(world, experiment, "SELECT runsId FROM runs WHERE runsId IN ('r1', 'r1')")
    assert rows == [("r1",)]
    cursor = world.connect().cursor()
    world.emu.reset_stats()
    cursor.execute(f"SELECT runsId FROM runs WHERE experimentsId IN ('{experiment}', "
                   f"'{experiment}') AND runsId = 'r2'")
    assert cursor.fetchall() == [("r2",)]
    assert world.emu.stats()["calls"].get("runs.get") == 1


def test_a_name_finds_its_run_with_the_project_id_or_number(data: tuple[World, str]) -> None:
    world, experiment = data
    found = world.get_run(experiment, "r2")
    assert found is not None
    by_number = str(found["name"])
    by_id = world.run_name(experiment, "r2")
    assert by_number != by_id
    for name in (by_number, by_id):
        for extra in ("", f" AND projectsId = '{PROJECT}'"):
            _, rows = _both(world, experiment,
                            f"SELECT runsId, projectsId FROM runs WHERE name = ?{extra}", [name])
            assert rows == [("r2", PROJECT)], (name, extra)
    _, rows = _both(world, experiment, "SELECT runsId FROM runs WHERE name = ?",
                    [by_id.replace(PROJECT, "some-other-project")])
    assert rows == []


def test_an_alias_named_like_a_page_column_changes_nothing(data: tuple[World, str]) -> None:
    world, experiment = data
    description, rows = _both(world, experiment,
                              "SELECT displayName AS nextPageToken FROM runs "
                              "ORDER BY nextPageToken")
    assert description == [("nextPageToken", "STRING")]
    assert rows == [(f"run {i}",) for i in range(len(LABELS))]
    _, rows = _both(world, experiment,
                    "SELECT displayName AS filter FROM runs WHERE filter = 'run 1'")
    assert rows == [("run 1",)]
