"""The executor's shortcuts give exactly what the plain path (every column through SQLite) gives.

Two shortcuts (runs_dbapi/executor.py): columns the local SQL never mentions are left NULL
(`_needed_columns`), and a streamed `SELECT <columns> FROM runs` makes its rows straight from the
resources without SQLite (`_direct_projection`). Every query here runs with both and with
neither; descriptions, values and value types must be identical.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

import runs_dbapi
from runs_dbapi import executor, planner
from runs_dbapi.catalog import RUNS, TENSORBOARDS, Column
from runs_dbapi.emulator import Emulator
from runs_dbapi.local import (
    Unsafe,
    direct_reader,
    restorer,
    row_from_resource,
    row_maker,
)
from runs_dbapi.statements import parse

pytestmark = pytest.mark.emulator(demo=True)

PROJECT, LOCATION = "demo-project", "us-central1"

QUERIES = [
    "SELECT * FROM runs",
    "SELECT * FROM runs WHERE experimentsId = 'bert-glue'",
    "SELECT name, displayName, labels, createTime FROM runs WHERE experimentsId = 'bert-glue'",
    "SELECT runs.* FROM runs WHERE experimentsId = 'resnet-sweep' LIMIT 7",
    "SELECT r.runsId AS id, r.updateTime AS t FROM runs AS r WHERE experimentsId = 't5-summarize'",
    "SELECT description, etag, experimentsId, runsId FROM runs "
    "WHERE experimentsId = 'vit-finetune' LIMIT 5 OFFSET 3",
    "SELECT * FROM runs WHERE experimentsId = 'bert-glue' ORDER BY createTime DESC LIMIT 4",
    "SELECT * FROM runs WHERE experimentsId = 'bert-glue' AND runsId = 'bert-glue-0003'",
    "SELECT name FROM runs WHERE json_extract(labels, '$.optimizer') = 'adam'",
    "SELECT json_extract(labels, '$.optimizer') AS o, count(*) AS n FROM runs GROUP BY o "
    "ORDER BY o",
    "SELECT count(*) FROM runs",
    "SELECT experimentsId, max(createTime) AS newest FROM runs GROUP BY experimentsId "
    "ORDER BY experimentsId",
    "SELECT upper(displayName), length(labels) FROM runs WHERE experimentsId = 'ppo-atari'",
    "SELECT DISTINCT experimentsId FROM runs ORDER BY 1",
    "SELECT * FROM experiments",
    "SELECT displayName, runCount, isDefault FROM tensorboards",
    "SELECT * FROM tensorboards",
    "SELECT a.runsId, b.runsId FROM runs AS a JOIN runs AS b ON a.displayName = b.displayName "
    "WHERE a.experimentsId = 'bert-glue' AND b.experimentsId = 'bert-glue' ORDER BY 1",
    "SELECT e.displayName, count(r.runsId) FROM experiments AS e JOIN runs AS r "
    "ON r.experimentsId = e.experimentsId GROUP BY 1 ORDER BY 1",
]

# Streamed projections of one listing (or one get): these take the direct path.
DIRECT = [*QUERIES[:3], QUERIES[4], QUERIES[7]]


@pytest.fixture(scope="module")
def connection(module_emu: Emulator) -> Iterator[Any]:
    emu = module_emu
    conn = runs_dbapi.connect(endpoint=emu.url, anonymous=True, project=PROJECT,
                              location=LOCATION)
    yield conn
    conn.close()


def _run(conn: Any, sql: str) -> tuple[Any, list[tuple[Any, ...]]]:
    cursor = conn.cursor()
    cursor.execute(sql)
    rows = cursor.fetchall()
    return cursor.description, rows


def _typed(rows: list[tuple[Any, ...]]) -> list[tuple[tuple[str, Any], ...]]:
    return [tuple((type(v).__name__, v) for v in row) for row in rows]


@pytest.mark.parametrize("sql", QUERIES)
def test_shortcuts_change_nothing(connection: Any, sql: str, monkeypatch: Any) -> None:
    used: list[bool] = []
    original = executor._direct_projection

    def spy(*args: Any) -> Any:
        found = original(*args)
        used.append(found is not None)
        return found

    monkeypatch.setattr(executor, "_direct_projection", spy)
    fast_description, fast = _run(connection, sql)
    monkeypatch.setattr(executor, "_direct_projection", lambda *args: None)
    monkeypatch.setattr(planner, "read_columns", lambda *args: None)
    plain_description, plain = _run(connection, sql)
    assert fast_description == plain_description
    if "ORDER BY" not in sql and "LIMIT" not in sql:
        fast, plain = sorted(fast, key=repr), sorted(plain, key=repr)
    assert _typed(fast) == _typed(plain)
    assert fast, "the query should find rows"
    if sql in DIRECT:
        assert any(used), "a plain projection should take the direct path"


def test_read_columns_come_from_the_tree() -> None:
    def read(sql: str) -> set[str] | None:
        return planner.read_columns(parse(sql))

    assert read("SELECT * FROM runs") is None
    assert read("SELECT runs.* FROM runs") is None
    assert read("SELECT count(*) FROM runs") == set()
    assert read("SELECT json_extract(labels, '$.a'), count(*) FROM runs GROUP BY 1") == {"labels"}
    # From the tree, not the text: displayName does not read name.
    assert read("SELECT displayName FROM runs") == {"displayname"}
    assert read("SELECT a.name FROM runs AS a NATURAL JOIN runs AS b") is None
    # Columns read only through USING, a window clause, a correlated subquery, ORDER BY, HAVING.
    assert read("SELECT a.runsId FROM runs a JOIN runs b USING (displayName)") == {
        "runsid", "displayname"}
    assert read("SELECT row_number() OVER (PARTITION BY experimentsId ORDER BY createTime) "
                "FROM runs") == {"experimentsid", "createtime"}
    assert read("SELECT runsId FROM runs r WHERE EXISTS (SELECT 1 FROM runs s "
                "WHERE s.description = r.etag)") == {"runsid", "description", "etag"}
    assert read("SELECT experimentsId FROM runs GROUP BY experimentsId "
                "HAVING max(updateTime) > '2024' ORDER BY min(labels)") == {
        "experimentsid", "updatetime", "labels"}


def _scan() -> Any:
    from runs_dbapi.planner import plan_query

    plan = plan_query(parse("SELECT * FROM runs"), {"projectsId": "p", "locationsId": "l"})
    return plan.scans[0]


RESOURCES = [
    {"name": "projects/1/locations/l/tensorboards/2/experiments/e/runs/r1",
     "displayName": "one", "description": "d", "labels": {"k": "v", "ü": "ß"},
     "createTime": "2024-02-16T23:56:54.194318Z", "updateTime": "2024-02-16T23:56:54Z",
     "etag": "x"},
    {"name": "projects/1/locations/l/tensorboards/2/experiments/e/runs/r2",
     "displayName": "two", "createTime": "2024-02-16T23:56:54.1Z",
     "updateTime": "2024-02-16T23:56:54.123456789+01:00"},
    {"name": "projects/1/locations/l/tensorboards/2/experiments/e/runs/r3"},
]
PATH = {"projectsId": "p", "locationsId": "l", "tensorboardsId": "2", "experimentsId": "e"}


def _own(resource: dict[str, Any]) -> dict[str, str]:
    return {**PATH, "runsId": str(resource["name"]).rsplit("/", 1)[-1]}


def test_row_maker_matches_row_from_resource() -> None:
    make = row_maker(RUNS.columns, RUNS.id_column)
    assert make(RESOURCES, PATH) == [row_from_resource(RUNS.columns, r, _own(r))
                                     for r in RESOURCES]
    full = {**PATH, "runsId": "given"}  # a get: the ID comes from the path
    assert make(RESOURCES[:1], full) == [row_from_resource(RUNS.columns, RESOURCES[0], full)]
    narrow = row_maker(RUNS.columns, RUNS.id_column, {"displayname"})(RESOURCES[:1], PATH)
    assert narrow == [tuple("one" if c.name == "displayName" else None for c in RUNS.columns)]
    boards = {"name": "projects/1/locations/l/tensorboards/2", "runCount": "7"}
    parent = {"projectsId": "p", "locationsId": "l"}
    assert row_maker(TENSORBOARDS.columns, TENSORBOARDS.id_column)([boards], parent) == \
        [row_from_resource(TENSORBOARDS.columns, boards, {**parent, "tensorboardsId": "2"})]


def _through_sqlite(column: Column, value: Any) -> Any:
    db = sqlite3.connect(":memory:")
    kind = "INTEGER" if column.type in ("INTEGER", "BOOLEAN") else "TEXT"
    db.execute(f"CREATE TABLE t (v {kind})")
    db.execute("INSERT INTO t VALUES (?)", (value,))
    return db.execute("SELECT v FROM t").fetchone()[0]


@pytest.mark.parametrize("column", [*RUNS.columns, *TENSORBOARDS.columns],
                         ids=lambda c: c.name)
def test_direct_reader_equals_sqlite_then_restore(column: Column) -> None:
    table = TENSORBOARDS if column in TENSORBOARDS.columns else RUNS
    for kind in (column.type, None):
        restore = restorer(kind)
        read = direct_reader(column, table.id_column, restore)
        for resource in [*RESOURCES, {"name": "a/b", "runCount": "12", "isDefault": True}]:
            path = _own(resource)
            stored = _through_sqlite(column, row_from_resource(table.columns, resource,
                                                               path)[table.columns.index(column)])
            expected = restore(stored) if restore else stored
            assert read(resource, path) == expected


def test_direct_reader_refuses_what_sqlite_would_change() -> None:
    description = RUNS.column("description")
    run_count = TENSORBOARDS.column("runCount")
    assert description is not None and run_count is not None
    with pytest.raises(Unsafe):  # a number in a TEXT column comes back as text
        direct_reader(description, "runsId", None)({"description": 5}, {})
    with pytest.raises(Unsafe):  # beyond 64 bits SQLite refuses it
        direct_reader(run_count, None, None)({"runCount": str(2 ** 70)}, {})
    assert direct_reader(run_count, None, None)({"runCount": "12"}, {}) == 12


class _StubClient:
    """Serves fixed pages, whatever the listing (the executor's only use of the client here)."""

    def __init__(self, pages: list[dict[str, Any]]) -> None:
        self.pages = pages

    def list_pages(self, parent: str, collection: str, params: Any) -> Iterator[dict[str, Any]]:
        yield from self.pages


@pytest.mark.parametrize("sql", ["SELECT * FROM runs", "SELECT description, name FROM runs",
                                 "SELECT * FROM runs LIMIT 300 OFFSET 2"])
def test_a_value_sqlite_would_change_takes_the_sqlite_path(sql: str, monkeypatch: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from runs_dbapi.planner import plan_query

    odd = dict(RESOURCES[0], description=12.5)  # TEXT affinity: SQLite gives back '12.5'
    many = [dict(RESOURCES[1], name=f"{RESOURCES[1]['name']}-{i}") for i in range(600)]
    pages = [{"tensorboardRuns": [*many[:299], odd, *many[299:]]}, {"tensorboardRuns": RESOURCES}]
    defaults = {**PATH, "experimentsId": "e"}

    def run() -> tuple[list[str], list[tuple[Any, ...]]]:
        with ThreadPoolExecutor(2) as pool:
            result = executor.QueryExecutor(_StubClient(pages), pool).run(  # type: ignore[arg-type]
                plan_query(parse(sql), defaults))
            rows = list(result.rows)
            result.close()
        return result.names, rows

    names, fast = run()
    assert "12.5" in [str(v) for row in fast for v in row]
    monkeypatch.setattr(executor, "_direct_projection", lambda *args: None)
    monkeypatch.setattr(planner, "read_columns", lambda *args: None)
    plain_names, plain = run()
    assert names == plain_names
    assert _typed(fast) == _typed(plain)
    assert any(isinstance(v, str) and v == "12.5" for row in fast for v in row)
