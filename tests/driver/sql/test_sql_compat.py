"""SQL that SQLAlchemy, pandas and notebook tools send (issue 11), against a demo emulator.

Each construct runs through the driver with push-down on and off, and is compared with sqlite3
itself over a table holding the same runs (listed with plain HTTP): rows, column names, value
types and rowcount. sqlite3 has no REGEXP of its own: the reference gets the function SQLite's
REGEXP operator calls, written here as SQLAlchemy's pysqlite dialect writes it (Python's
re.search, NULL in, NULL out). It has no percentile or standard deviation either: those are
compared with their PostgreSQL definitions, written out in Python below.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import statistics
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import sqlalchemy
from sqlalchemy import MetaData, Table, create_engine, func, select

import runs_dbapi
from runs_dbapi import sqlfunctions
from runs_dbapi.emulator import Emulator
from runs_dbapi.exceptions import DataError, NotSupportedError, ProgrammingError
from runs_dbapi.planner import plan_query
from runs_dbapi.statements import parse

pytestmark = pytest.mark.emulator(demo=True)

PROJECT = "demo-project"
LOCATION = "us-central1"
LOCATION_PATH = f"projects/{PROJECT}/locations/{LOCATION}"
SEED = "CAST(labels ->> '$.seed' AS INTEGER)"
FIELDS = {"tensorboards": "tensorboards", "experiments": "tensorboardExperiments",
          "runs": "tensorboardRuns"}


def _list(url: str, parent: str, collection: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    token = ""
    while True:
        params = {"pageSize": "1000", **({"pageToken": token} if token else {})}
        page = requests.get(f"{url}/v1/{parent}/{collection}", params=params, timeout=30).json()
        found += page.get(FIELDS[collection], [])
        token = page.get("nextPageToken", "")
        if not token:
            return found


def reference_regexp(pattern: str | None, value: str | None) -> bool | None:
    """SQLAlchemy's pysqlite `regexp` (with a NULL pattern giving NULL, as SQLite's own
    regexp extension does)."""
    if pattern is None or value is None:
        return None
    return re.search(pattern, value) is not None


def reference_database(url: str) -> sqlite3.Connection:
    """A sqlite3 table `runs` holding the demo runs as the driver's local tables hold them."""
    database = sqlite3.connect(":memory:")
    database.create_function("regexp", 2, reference_regexp)
    database.execute('CREATE TABLE runs ("runsId" TEXT, "experimentsId" TEXT, '
                     '"displayName" TEXT, description TEXT, labels TEXT)')
    boards = _list(url, LOCATION_PATH, "tensorboards")
    rows = []
    for board in boards:
        board_path = board["name"]
        for experiment in _list(url, board_path, "experiments"):
            experiment_id = experiment["name"].rsplit("/", 1)[1]
            for run in _list(url, experiment["name"], "runs"):
                rows.append((run["name"].rsplit("/", 1)[1], experiment_id, run["displayName"],
                             run.get("description", ""),
                             json.dumps(run.get("labels", {}), separators=(",", ":"),
                                        ensure_ascii=False)))
    assert len(rows) == 360
    database.executemany("INSERT INTO runs VALUES (?, ?, ?, ?, ?)", rows)
    return database


@dataclass
class Env:
    emu: Emulator
    reference: sqlite3.Connection
    connections: dict[str, Any]  # "push" and "local" (push-down off)


@pytest.fixture(scope="module")
def env(module_emu: Emulator) -> Iterator[Env]:
    emu = module_emu
    connections = {
        mode: runs_dbapi.connect(endpoint=emu.url, anonymous=True, project=PROJECT,
                                 location=LOCATION, pushdown=mode == "push")
        for mode in ("push", "local")}
    reference = reference_database(emu.url)
    yield Env(emu, reference, connections)
    reference.close()
    for connection in connections.values():
        connection.close()


@pytest.fixture(params=["push", "local"])
def conn(request: pytest.FixtureRequest, env: Env) -> Any:
    return env.connections[request.param]


@dataclass
class Answer:
    names: list[str]
    rows: list[tuple[Any, ...]]
    rowcount: int


def run(connection: Any, sql: str, parameters: Sequence[Any] | dict[str, Any] | None = None
        ) -> Answer:
    cursor = connection.cursor()
    cursor.execute(sql, parameters) if parameters is not None else cursor.execute(sql)
    names = [d[0] for d in cursor.description] if cursor.description else []
    rows = [tuple(r) for r in cursor.fetchall()]
    return Answer(names, rows, cursor.rowcount)


def assert_same(ours: Answer, theirs: Answer) -> None:
    assert ours.names == theirs.names
    assert ours.rows == theirs.rows
    assert [[type(v) for v in r] for r in ours.rows] == [[type(v) for v in r] for r in theirs.rows]
    assert ours.rowcount == theirs.rowcount


def compare(env: Env, connection: Any, sql: str, parameters: Any = None,
            reference_sql: str | None = None) -> Answer:
    ours = run(connection, sql, parameters)
    theirs = run(env.reference, reference_sql or sql, parameters)
    assert_same(ours, theirs)
    return ours


# -- REGEXP ---------------------------------------------------------------------------------

REGEXP_QUERIES = [
    "SELECT displayName FROM runs WHERE displayName REGEXP 'lr=0\\.0[0-9]+ #1[0-9]$' "
    "ORDER BY displayName",
    "SELECT displayName FROM runs WHERE displayName NOT REGEXP '^(bert|t5)' "
    "AND experimentsId IN ('bert-glue', 'ppo-atari') ORDER BY displayName",
    "SELECT runsId, regexp('(adam|sgd)w?', displayName) AS m FROM runs ORDER BY runsId",
    "SELECT runsId FROM runs WHERE labels ->> '$.status' REGEXP '^(failed|running)$' "
    "AND experimentsId IN ('ppo-atari', 'vit-finetune') ORDER BY runsId",
    # A pushed-down label filter ANDed with a REGEXP that stays local, and a LIMIT.
    "SELECT displayName FROM runs WHERE labels ->> '$.status' = 'failed' "
    "AND displayName REGEXP '#[0-9]$' ORDER BY displayName LIMIT 4",
    # A label that is not there: NULL REGEXP 'x' is NULL (neither true nor false).
    "SELECT count(*), count(labels ->> '$.nokey' REGEXP 'x'), "
    "sum(NOT (labels ->> '$.nokey' REGEXP 'x')) FROM runs",
    "SELECT displayName REGEXP NULL AS n, NULL REGEXP 'a' AS m FROM runs LIMIT 1",
    "SELECT experimentsId, sum(displayName REGEXP 'adamw') AS adamw FROM runs "
    "GROUP BY experimentsId ORDER BY experimentsId",
]


@pytest.mark.parametrize("sql", REGEXP_QUERIES)
def test_regexp_as_sqlite_runs_it(env: Env, conn: Any, sql: str) -> None:
    answer = compare(env, conn, sql)
    assert answer.rows


def test_regexp_with_a_parameter(env: Env, conn: Any) -> None:
    sql = ("SELECT displayName FROM runs WHERE experimentsId = ? AND displayName REGEXP ? "
           "ORDER BY displayName")
    answer = compare(env, conn, sql, ["wavenet-tts", "(?i)ADAM lr=0\\.1 "])
    assert answer.rows and all("adam lr=0.1 " in r[0] for r in answer.rows)


def test_regexp_is_never_pushed_down(env: Env) -> None:
    tree = parse("SELECT name FROM runs WHERE displayName REGEXP 'a' "
                 "AND labels ->> '$.status' = 'failed' AND NOT (labels ->> '$.team' REGEXP 'x')")
    plan = plan_query(tree, {"projectsId": PROJECT, "locationsId": LOCATION})
    (scan,) = plan.scans
    assert scan.pushed.filters == ['labels.status = "failed"']
    assert not scan.pushed.exact
    assert "REGEXP" in plan.sql.upper()


def test_regexp_function_semantics() -> None:
    database = sqlite3.connect(":memory:")
    sqlfunctions.register(database)
    rows = database.execute(
        "SELECT 'abc' REGEXP 'b', 'abc' REGEXP '^b', NULL REGEXP 'a', 'a' REGEXP NULL, "
        "12 REGEXP '^12$', 1.0 REGEXP '^1\\.0$', regexp_replace('a1b22', '[0-9]+', '<\\g<0>>'), "
        "regexp_replace(NULL, 'a', 'b')").fetchone()
    assert rows == (1, 0, None, None, 1, 1, "a<1>b<22>", None)


# -- numbered parameters --------------------------------------------------------------------

NUMBERED = [
    ("SELECT displayName FROM runs WHERE experimentsId = ?1 AND (labels ->> '$.status' = ?2 "
     "OR labels ->> '$.optimizer' = ?2) ORDER BY displayName", ["t5-summarize", "sgd"]),
    ("SELECT displayName FROM runs WHERE experimentsId = ?2 AND labels ->> '$.status' = ? "
     "AND runsId <> ?1 ORDER BY displayName", ["x", "bert-glue", "failed"]),
    ("SELECT ?1 AS a, ?3 AS b, ?1 AS c, ? AS d", [1, "two", 3.5, None]),
    ("SELECT count(*) AS n FROM runs WHERE experimentsId IN (?01, ?001) OR runsId = ?2",
     ["ppo-atari", "nothing"]),
]


@pytest.mark.parametrize(("sql", "parameters"), NUMBERED)
def test_numbered_parameters_as_sqlite_binds_them(env: Env, conn: Any, sql: str,
                                                  parameters: list[Any]) -> None:
    answer = compare(env, conn, sql, parameters)
    assert answer.rows


def test_numbered_parameters_from_a_mapping(env: Env, conn: Any) -> None:
    sql = "SELECT count(*) AS n FROM runs WHERE experimentsId = ?1 OR runsId = ?1"
    answer = compare(env, conn, sql, {"1": "vit-finetune"})
    assert answer.rows == [(60,)]


@pytest.mark.parametrize(("sql", "parameters", "message"), [
    ("SELECT ?3 AS x", [1, 2], r"takes 3 parameters \(its largest marker is \?3\) but 2"),
    ("SELECT ?1 AS x, ?1 AS y", [1, 2], "takes 1 parameters .* but 2"),
    ("SELECT ?0 AS x", [1], r"between \?1 and \?250000"),
    ("SELECT ?1 AS x, ?2 AS y", {"1": 1}, r"No value was given for parameter \?2"),
])
def test_numbered_parameters_that_do_not_fit(env: Env, conn: Any, sql: str, parameters: Any,
                                             message: str) -> None:
    with pytest.raises(ProgrammingError, match=message):
        conn.cursor().execute(sql, parameters)
    with pytest.raises(sqlite3.Error):  # sqlite3 refuses them too
        env.reference.execute(sql, parameters)


# -- FETCH FIRST ----------------------------------------------------------------------------


def test_fetch_first_rows_only_is_limit(env: Env, conn: Any) -> None:
    sql = "SELECT displayName FROM runs ORDER BY displayName"
    answer = compare(env, conn, f"{sql} OFFSET 2 ROWS FETCH NEXT 3 ROWS ONLY",
                     reference_sql=f"{sql} LIMIT 3 OFFSET 2")
    assert len(answer.rows) == 3


@pytest.mark.parametrize(("clause", "message"), [
    ("FETCH FIRST 10 PERCENT ROWS ONLY", "FETCH FIRST n PERCENT ROWS is not supported"),
    ("FETCH FIRST 3 ROWS WITH TIES", "FETCH FIRST n ROWS WITH TIES is not supported"),
])
def test_fetch_percent_and_with_ties_are_refused_before_any_call(env: Env, conn: Any,
                                                                 clause: str,
                                                                 message: str) -> None:
    before = env.emu.stats()
    with pytest.raises(NotSupportedError, match=message):
        conn.cursor().execute(f"SELECT displayName FROM runs ORDER BY displayName {clause}")
    assert env.emu.stats() == before


# -- ordered-set aggregates, median, standard deviation ---------------------------------------


def percentile_disc(values: list[Any], fraction: float, descending: bool = False) -> Any:
    """PostgreSQL: the first value (NULLs skipped) whose position reaches the fraction."""
    ordered = sorted((v for v in values if v is not None), reverse=descending)
    if not ordered:
        return None
    return ordered[max(math.ceil(fraction * len(ordered)), 1) - 1]


def percentile_cont(values: list[Any], fraction: float, descending: bool = False
                    ) -> float | None:
    """PostgreSQL: interpolated between the values at floor and ceil of fraction * (n - 1)."""
    ordered = [float(v) for v in sorted((v for v in values if v is not None),
                                        reverse=descending)]
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    low, high = ordered[math.floor(position)], ordered[math.ceil(position)]
    return low if high == low else low + (high - low) * (position - math.floor(position))


def mode(values: list[Any], descending: bool = False) -> Any:
    ordered = sorted((v for v in values if v is not None), reverse=descending)
    counts = {v: ordered.count(v) for v in ordered}
    return next((v for v in ordered if counts[v] == max(counts.values())), None)


def column(env: Env, expression: str, where: str = "1") -> dict[str, list[Any]]:
    """Values of an expression per experiment, from the reference table."""
    groups: dict[str, list[Any]] = {}
    for experiment, value in env.reference.execute(
            f"SELECT experimentsId, {expression} FROM runs WHERE {where}"):
        groups.setdefault(experiment, []).append(value)
    return groups


def test_percentiles_per_group(env: Env, conn: Any) -> None:
    answer = run(conn, f"""
        SELECT experimentsId,
               percentile_disc(0.25) WITHIN GROUP (ORDER BY {SEED}) AS q1,
               percentile_disc(0.5) WITHIN GROUP (ORDER BY {SEED} DESC) AS q2d,
               percentile_cont(0.75) WITHIN GROUP (ORDER BY {SEED}) AS q3,
               percentile_cont(0.1) WITHIN GROUP (ORDER BY {SEED} DESC) AS p10d,
               percentile_disc(0) WITHIN GROUP (ORDER BY displayName) AS first_name,
               percentile_disc(1) WITHIN GROUP (ORDER BY displayName) AS last_name,
               mode() WITHIN GROUP (ORDER BY labels ->> '$.optimizer') AS optimizer,
               median({SEED}) AS med
        FROM runs GROUP BY experimentsId ORDER BY experimentsId""")
    seeds, names = column(env, SEED), column(env, "displayName")
    optimizers = column(env, "labels ->> '$.optimizer'")
    expected = [(e, percentile_disc(seeds[e], 0.25), percentile_disc(seeds[e], 0.5, True),
                 percentile_cont(seeds[e], 0.75), percentile_cont(seeds[e], 0.1, True),
                 min(names[e]), max(names[e]), mode(optimizers[e]),
                 percentile_cont(seeds[e], 0.5)) for e in sorted(seeds)]
    assert answer.rows == expected
    assert [type(v) for v in answer.rows[0]] == [str, int, int, float, float, str, str, str,
                                                 float]
    assert answer.names == ["experimentsId", "q1", "q2d", "q3", "p10d", "first_name",
                            "last_name", "optimizer", "med"]


def test_jupysql_boxplot_queries(env: Env, conn: Any) -> None:
    """JupySQL's `%sqlplot boxplot` for dialects other than PostgreSQL and DuckDB: the
    ordered-set aggregates as window functions over the whole table, then the mean."""
    table = f"(SELECT {SEED} AS seed FROM runs WHERE experimentsId = 'resnet-sweep') AS t"
    first = run(conn, f"""
SELECT
percentile_disc(0.25) WITHIN GROUP (ORDER BY "seed") OVER (),
percentile_disc(0.50) WITHIN GROUP (ORDER BY "seed") OVER (),
percentile_disc(0.75) WITHIN GROUP (ORDER BY "seed") OVER ()
FROM {table}
""")
    seeds = column(env, SEED)["resnet-sweep"]
    quartiles = tuple(percentile_disc(seeds, p) for p in (0.25, 0.5, 0.75))
    assert first.rows == [quartiles] * 60
    mean = run(conn, f'SELECT AVG("seed") AS mean, COUNT(*) AS N FROM {table}')
    assert mean.rows == [(statistics.fmean(seeds), 60)]


def test_percentile_over_partitions(env: Env, conn: Any) -> None:
    answer = run(conn, f"""
        SELECT runsId, percentile_cont(0.5) WITHIN GROUP (ORDER BY {SEED})
                       OVER (PARTITION BY experimentsId) AS med
        FROM runs WHERE experimentsId IN ('bert-glue', 'ppo-atari') ORDER BY runsId""")
    seeds = column(env, SEED)
    assert answer.rows == [(r, percentile_cont(seeds[r.rsplit("-", 1)[0]], 0.5))
                           for r, in env.reference.execute(
                               "SELECT runsId FROM runs WHERE experimentsId IN "
                               "('bert-glue', 'ppo-atari') ORDER BY runsId")]


def test_percentile_with_parameters_null_and_filter(env: Env, conn: Any) -> None:
    answer = run(conn, f"""
        SELECT percentile_disc(?) WITHIN GROUP (ORDER BY {SEED}) AS a,
               percentile_cont(?) WITHIN GROUP (ORDER BY {SEED}) AS b,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY {SEED})
                   FILTER (WHERE labels ->> '$.status' = 'failed') AS c,
               percentile_disc(0.5) WITHIN GROUP (ORDER BY labels ->> '$.nokey') AS d
        FROM runs WHERE experimentsId = 'wavenet-tts'""", [0.9, None])
    seeds = column(env, SEED)["wavenet-tts"]
    failed = column(env, SEED, "labels ->> '$.status' = 'failed'")["wavenet-tts"]
    assert answer.rows == [(percentile_disc(seeds, 0.9), None, percentile_cont(failed, 0.5),
                            None)]


def test_standard_deviation_and_variance(env: Env, conn: Any) -> None:
    answer = run(conn, f"""
        SELECT stddev({SEED}), stddev_samp({SEED}), stddev_pop({SEED}), variance({SEED}),
               var_samp({SEED}), var_pop({SEED}), stddev(labels ->> '$.nokey')
        FROM runs WHERE experimentsId = 't5-summarize'""")
    seeds = [float(s) for s in column(env, SEED)["t5-summarize"]]
    expected = (statistics.stdev(seeds), statistics.stdev(seeds), statistics.pstdev(seeds),
                statistics.variance(seeds), statistics.variance(seeds),
                statistics.pvariance(seeds))
    assert answer.rows[0][:-1] == pytest.approx(expected, rel=1e-12)
    assert answer.rows[0][-1] is None
    one = run(conn, f"SELECT stddev({SEED}), stddev_pop({SEED}) FROM runs "
                    "WHERE runsId = 't5-summarize-0001' AND experimentsId = 't5-summarize'")
    assert one.rows == [(None, 0.0)]


@pytest.mark.parametrize(("sql", "error", "message"), [
    (f"SELECT percentile_cont(1.5) WITHIN GROUP (ORDER BY {SEED}) FROM runs", DataError,
     "percentile value 1.5 is not between 0 and 1"),
    (f"SELECT percentile_disc(?) WITHIN GROUP (ORDER BY {SEED}) FROM runs", NotSupportedError,
     "needs one constant fraction"),
    (f"SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY {SEED}, runsId) FROM runs",
     NotSupportedError, "exactly one ORDER BY expression"),
    (f"SELECT rank(3) WITHIN GROUP (ORDER BY {SEED}) FROM runs", NotSupportedError,
     r"rank\(...\) WITHIN GROUP .* not supported"),
    (f"SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY {SEED}) OVER (ORDER BY runsId) "
     "FROM runs", NotSupportedError, "OVER \\(\\) or OVER \\(PARTITION BY ...\\) only"),
    ("SELECT regexp_like(displayName, 'a', 'g') FROM runs", NotSupportedError,
     "match option 'g' is not supported"),
    ("SELECT regexp_replace(displayName, 'a', 'b', 'g') FROM runs", NotSupportedError,
     "regexp_replace\\(\\) takes three arguments"),
])
def test_refused_with_a_clear_message_before_any_call(env: Env, conn: Any, sql: str,
                                                      error: type[Exception],
                                                      message: str) -> None:
    parameters = [[0.25, 0.75]] if "?" in sql else None
    before = env.emu.stats()
    with pytest.raises(error, match=message):
        conn.cursor().execute(sql, parameters)
    assert env.emu.stats() == before


def test_regexp_like_match_options(env: Env, conn: Any) -> None:
    sql = ("SELECT displayName FROM runs WHERE regexp_like(displayName, 'BERT-GLUE SGD', {}) "
           "ORDER BY displayName")
    ours = run(conn, sql.format("'i'"))
    theirs = run(env.reference, sql.format("'i'").replace(
        "regexp_like(displayName, 'BERT-GLUE SGD', 'i')", "displayName REGEXP '(?i)BERT-GLUE SGD'"))
    assert ours.rows == theirs.rows and ours.rows
    assert run(conn, sql.format("'ic'")).rows == []


# -- through SQLAlchemy ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def runs_table(env: Env) -> tuple[sqlalchemy.engine.Engine, Table]:
    engine = create_engine(f"runs://{PROJECT}/{LOCATION}?endpoint={env.emu.url}&anonymous=true")
    return engine, Table("runs", MetaData(), autoload_with=engine)


def test_sqlalchemy_regexp_match(env: Env, runs_table: tuple[Any, Table]) -> None:
    engine, runs = runs_table
    names = [r[0] for r in env.reference.execute("SELECT displayName FROM runs")]
    cases = [
        (runs.c.displayName.regexp_match(r"lamb lr=0\.00[13]"),
         lambda n: re.search(r"lamb lr=0\.00[13]", n) is not None),
        (runs.c.displayName.regexp_match("^VIT-FINETUNE ADAM ", flags="i"),
         lambda n: n.lower().startswith("vit-finetune adam ")),
        (~runs.c.displayName.regexp_match("[0-9]$"), lambda n: not n[-1].isdigit()),
        (runs.c.displayName.ilike("PPO-ATARI SGD%"), lambda n: n.startswith("ppo-atari sgd")),
    ]
    with engine.connect() as connection:
        for condition, keep in cases:
            found = connection.execute(
                select(runs.c.displayName).where(condition).order_by(runs.c.displayName)).all()
            assert [r[0] for r in found] == sorted(n for n in names if keep(n))
        replaced = connection.execute(
            select(runs.c.displayName.regexp_replace(r"LR=([0-9.]+)", r"lr:\1", flags="i"))
            .where(runs.c.runsId == "bert-glue-0002")).scalar_one()
    assert replaced == re.sub(r"(?i)LR=([0-9.]+)", r"lr:\1",
                              next(n for n in names if n.endswith(" #2") and "bert" in n))


def test_sqlalchemy_percentiles_and_fetch(env: Env, runs_table: tuple[Any, Table]) -> None:
    engine, runs = runs_table
    seed = sqlalchemy.cast(runs.c.labels["seed"].as_string(), sqlalchemy.Integer)
    with engine.connect() as connection:
        row = connection.execute(
            select(func.percentile_cont(0.5).within_group(seed),
                   func.percentile_disc(0.9).within_group(seed.desc()))
            .where(runs.c.experimentsId == "vit-finetune")).one()
        seeds = column(env, SEED)["vit-finetune"]
        assert tuple(row) == (percentile_cont(seeds, 0.5), percentile_disc(seeds, 0.9, True))
        with pytest.raises(sqlalchemy.exc.NotSupportedError, match="PERCENT"):
            connection.execute(select(runs.c.displayName).order_by(runs.c.displayName)
                               .fetch(10, percent=True))
        with pytest.raises(sqlalchemy.exc.CompileError, match="inline flag letters"):
            connection.execute(select(runs.c.displayName)
                               .where(runs.c.displayName.regexp_match("a", flags="g")))
