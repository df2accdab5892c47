"""A differential fuzzer of the exactness promise (test_exactness_corpus.py's module docstring).

It starts an emulator, builds the corpus's world (tests/support/exactness_world.py), opens a
driver connection per mode (`MODES`) and runs random but plausible SELECTs, the kind dashboards,
pandas, SQLAlchemy or a curious user write, over runs, experiments and tensorboards, in every
mode. Each is judged by the corpus's own functions (`texts`, `reference_answer`, `compare`,
`report`), so a disagreement here means exactly what a corpus failure means.

A statement whose reference answer is not unique (it differs over the two opposite row orders)
is skipped; with an ORDER BY it is first compared in order, then, if the order is not total, as
a multiset. A statement sqlite3 rejects must make the driver raise too (an error must never
become an empty result). Where sqlite3's own answer has a column of values of several types
(`sum(displayName)`: 0.0 in one group, 42 in another) no one type code agrees with them all: only
that column's type-code check is left out (counted as "mixed-type columns").

Time series are not generated: the world has none, and the reference holds only runs,
experiments and tensorboards.

    .venv/bin/python tests/driver/sql/fuzz_exactness.py --seconds 120 --seed 1

Statement i of seed S is drawn from `random.Random(f"{S}-{i}")`: `--seed S --only i` replays it.
"""

from __future__ import annotations

import argparse
import logging
import random
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent.parent), str(HERE)]  # `support.*` and the corpus module

import test_exactness_corpus as corpus  # noqa: E402
from support.exactness_world import JOB, PIPELINE  # noqa: E402

from runs_dbapi.catalog import TABLES  # noqa: E402
from runs_dbapi.emulator import Emulator  # noqa: E402

TABLE_NAMES = ("runs", "experiments", "tensorboards")
LABEL_KEYS = ("status", "seed", "flag", "note", "ratio", "sci", "empty", "lang", "team",
              "bucket", "env", "tier", "missing")
ODD_STRINGS = ("", "NULL", "null", "42", "O'Brien's run", "%", "_", "100%", "big run 0001",
               "shared", "r01", "r0", "a", "z", "é", "日本", "true", "1", "0", " ")
LIKE_PATTERNS = ("%", "r%", "%run%", "big%", "%\\_%", "100\\%", "_0_", "%é%", "%'%", "sh%",
                 "R0_", "%🚀", "", "%/runs/r0_", "%2026-01-05%", "%Trial 1%", "%s")
CAST_TYPES = ("INTEGER", "TEXT", "REAL", "NUMERIC", "STRING", "DATE", "BOOLEAN", "VARCHAR(5)",
              "DECIMAL(10, 2)", "BIGINT", "FLOAT", "TIMESTAMP", "BLOB")
GLOB_PATTERNS = ("*", "r*", "*[0-9]", "big run 00?", "R*", "*run*", "[a-m]*", "sh*", "*/r01")


def lit(value: Any) -> str:
    """A SQL literal; braces doubled for `texts` (which reads `{...}` as its own markers)."""
    if value is None:
        return "NULL"
    if isinstance(value, (int, float)):
        return repr(value)
    text = "'" + str(value).replace("'", "''") + "'"
    return text.replace("{", "{{").replace("}", "}}")


@dataclass
class Col:
    """An expression a generated statement can use, and what kind of value it holds."""

    sql: str
    kind: str  # STRING, PATH, NAME, TIMESTAMP, JSON, LABEL, INTEGER, BOOLEAN
    table: str
    column: str = ""  # the catalog column, for value pools


@dataclass
class Gen:
    rng: random.Random
    pools: dict[tuple[str, str], list[Any]]
    params: list[Any] = field(default_factory=list)
    use_params: bool = False

    # -- values -------------------------------------------------------------------------------

    def value(self, col: Col) -> Any:
        if col.kind == "LABEL":
            pool = self.pools.get(("label", col.column), []) + list(ODD_STRINGS[:6])
            return self.rng.choice([*pool, 1, 0, 42])
        pool = self.pools.get((col.table, col.column), [])
        if pool and self.rng.random() < 0.75:
            value = self.rng.choice(pool)
            if col.kind == "NAME" and self.rng.random() < 0.3:
                return str(value).replace("projects/{number}/", "projects/{pid}/")
            return value
        if col.kind in ("INTEGER", "BOOLEAN"):
            return self.rng.choice([0, 1, 2, 4, 1215, -1, True, False])
        return self.rng.choice(ODD_STRINGS)

    def literal(self, col: Col, direct: bool = True) -> str:
        """A literal to compare with `col`; `direct`: compared with the column itself (not an
        expression of it), where a resource name may spell its project by ID (`{pid}`)."""
        if col.kind == "TIMESTAMP":
            return self.timestamp(col)
        value = self.value(col)
        if col.kind == "NAME" and isinstance(value, str) and "{" in value:
            if not direct:
                value = value.replace("{pid}", "{number}")
            return "'" + value + "'"  # {number} / {pid}: markers of `texts`
        return self.bind(value)

    def bind(self, value: Any) -> str:
        if self.use_params and self.rng.random() < 0.5:
            if self.rng.random() < 0.1:
                value = self.rng.choice([None, 1, 2.5, -1, "1", True, b"r01"])
            self.params.append(value)
            return "?"
        return lit(value)

    def timestamp(self, col: Col) -> str:
        """A timestamp literal near a real value, in a form people write, as `{ts:...}`."""
        pool = self.pools.get((col.table, col.column)) or ["2026-01-05 09:00:00.000000"]
        moment = datetime.fromisoformat(self.rng.choice(pool))
        moment += self.rng.choice([timedelta(0)] * 4 + [
            timedelta(microseconds=1), timedelta(microseconds=-1), timedelta(seconds=1),
            timedelta(hours=-3), timedelta(days=1)])
        form = self.rng.randrange(7)
        if form == 0:
            text = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        elif form == 1:
            text = moment.strftime("%Y-%m-%d %H:%M:%S")
        elif form == 2:
            text = (moment + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.%f+02:00")
        elif form == 3:
            text = moment.strftime("%Y-%m-%d")
        elif form == 4:
            text = moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + self.rng.choice(["001Z", "000Z"])
        elif form == 5:
            text = (moment - timedelta(hours=5)).strftime("%Y-%m-%d %H:%M:%S.%f-05:00")
        else:
            text = moment.strftime("%Y-%m-%d %H:%M:%S.%f")
        if self.use_params and self.rng.random() < 0.4:
            self.params.append("{ts:" + text + "}")
            return "?"
        return "{ts:" + text + "}"

    # -- expressions ----------------------------------------------------------------------------

    def columns(self, table: str, prefix: str = "") -> list[Col]:
        found = []
        for column in TABLES[table].columns:
            kind = str(column.type)
            if column.path_parameter:
                kind = "PATH"
            elif column.name == "name":
                kind = "NAME"
            found.append(Col(prefix + self.spell(column.name), kind, table, column.name))
        return found

    def spell(self, name: str) -> str:
        """A column name as people write it: as declared, quoted, or in another case."""
        roll = self.rng.random()
        if roll < 0.1:
            return f'"{name}"'
        if roll < 0.2:
            return self.rng.choice([name.upper(), name.lower()])
        return name

    def label(self, table: str, prefix: str = "") -> Col:
        key = self.rng.choice(LABEL_KEYS)
        labels = prefix + "labels"
        path = f"'$.{key}'"
        if self.rng.random() < 0.1:
            key = self.rng.choice((JOB, PIPELINE))
            path = f"'$.\"{key}\"'"
        form = self.rng.randrange(4)
        sql = (f"{labels} ->> {path}" if form < 2 else f"json_extract({labels}, {path})"
               if form == 2 else f"{labels} ->> '{key}'" if "." not in key else
               f"{labels} ->> {path}")
        return Col(sql, "LABEL", table, key)

    def any_column(self, table: str, prefix: str = "") -> Col:
        if self.rng.random() < 0.25:
            return self.label(table, prefix)
        return self.rng.choice([c for c in self.columns(table, prefix) if c.kind != "JSON"])

    def predicate(self, table: str, prefix: str = "", depth: int = 0) -> str:
        roll = self.rng.random()
        if depth < 2 and roll < 0.2:
            op = self.rng.choice(["AND", "OR", "AND"])
            return (f"({self.predicate(table, prefix, depth + 1)} {op} "
                    f"{self.predicate(table, prefix, depth + 1)})")
        if depth < 2 and roll < 0.26:
            return f"NOT ({self.predicate(table, prefix, depth + 1)})"
        col = self.any_column(table, prefix)
        form = self.rng.randrange(15)
        if form == 12:  # IS / IS NOT, COLLATE, numbers against text (one drawn, then built)
            word = self.rng.choice(["IS", "IS NOT", "= NOCASE", "number"])
            if word == "number":
                number = self.rng.choice([0, 1, 42, 2.5])
                return f"{col.sql} {self.rng.choice(['=', '>', '<'])} {number}"
            if word == "= NOCASE":
                return f"{col.sql} = {self.literal(col)} COLLATE NOCASE"
            return f"{col.sql} {word} {self.literal(col)}"
        if form == 13:
            if col.kind == "LABEL" or prefix:
                return f"{col.sql} IS NOT NULL"
            inner = col.sql.split(".")[-1]
            return (f"{col.sql} {self.rng.choice(['IN', 'NOT IN'])} (SELECT {inner} "
                    f"FROM {table} WHERE {self.predicate(table, '', 2)})")
        if form == 14 and col.kind == "TIMESTAMP":
            other = "updateTime" if "create" in col.sql.lower() else "createTime"
            return f"{self.rng.choice(['max', 'min'])}({col.sql}, {prefix}{other}) " \
                   f"{self.rng.choice(['>', '<='])} {self.timestamp(col)}"
        if form <= 2:
            op = self.rng.choice(["=", "!=", "<", ">", "<=", ">=", "<>", "=="])
            if self.rng.random() < 0.1:  # the literal first
                return f"{self.literal(col)} {op} {col.sql}"
            return f"{col.sql} {op} {self.literal(col)}"
        if form == 3:
            values = ", ".join(self.literal(col) for _ in range(self.rng.randint(1, 3)))
            return f"{col.sql} {self.rng.choice(['IN', 'NOT IN'])} ({values})"
        if form == 4:
            pattern = self.rng.choice(LIKE_PATTERNS)
            escape = " ESCAPE '\\'" if "\\" in pattern else ""
            neg = self.rng.choice(["", "NOT "])
            return f"{col.sql} {neg}LIKE {self.bind(pattern)}{escape}"
        if form == 5:
            neg = self.rng.choice(["", "NOT "])
            return f"{col.sql} {neg}GLOB {self.bind(self.rng.choice(GLOB_PATTERNS))}"
        if form == 6:
            return f"{col.sql} IS {self.rng.choice(['', 'NOT '])}NULL"
        if form == 7:
            low, high = sorted([self.literal(col), self.literal(col)]) \
                if col.kind != "TIMESTAMP" else (self.literal(col), self.literal(col))
            neg = self.rng.choice(["", "", "NOT "])
            return f"{col.sql} {neg}BETWEEN {low} AND {high}"
        if form == 8:
            func = self.rng.choice(["lower", "upper", "length", "trim", "typeof"])
            if func == "length":
                return f"length({col.sql}) {self.rng.choice(['>', '<', '='])} " \
                       f"{self.rng.randint(0, 12)}"
            value = str(self.value(col)).lower()
            if col.kind == "NAME":  # not the name itself: spelled as the API does ({number})
                return f"{func}({col.sql}) = '{value.replace('{pid}', '{number}')}'"
            return f"{func}({col.sql}) = {lit(value)}"
        if form == 9 and table == "tensorboards":
            return self.rng.choice(["isDefault", "NOT isDefault", "runCount > 0",
                                    "isDefault = true", "runCount BETWEEN 1 AND 20"])
        if form == 10:
            return f"coalesce({col.sql}, 'none') = {self.literal(col, direct=False)}" \
                if col.kind != "TIMESTAMP" else \
                f"coalesce(updateTime, createTime) > {self.timestamp(col)}"
        if form == 11 and col.kind == "TIMESTAMP":
            return f"date({col.sql}) = {lit(self.rng.choice(['2026-01-05', '2026-01-10']))}"
        return f"{col.sql} = {self.literal(col)}"

    def projection(self, table: str, prefix: str = "") -> tuple[str, Col]:
        col = self.any_column(table, prefix)
        roll = self.rng.randrange(14)
        if roll < 6:
            expr = col.sql
        elif roll == 6:
            expr = f"upper({col.sql})"
        elif roll == 7:
            expr = f"length({col.sql})"
        elif roll == 8:
            expr = f"coalesce({col.sql}, 'n/a')"
        elif roll == 9:
            expr = f"CAST({col.sql} AS {self.rng.choice(CAST_TYPES)})"
        elif roll == 10:
            expr = f"CASE WHEN {self.predicate(table, prefix, 2)} THEN 'y' ELSE 'n' END"
        elif roll == 11:
            expr = f"typeof({col.sql})"
        elif roll == 12:
            expr = f"substr({col.sql}, 2, 3)"
        else:
            expr = f"{col.sql} || '-'"
        # An unaliased expression is named by its text, and the reference's text spells a
        # timestamp literal canonically (a name by project number): such an expression gets a
        # name of its own.
        if self.rng.random() < 0.25 or "{ts:" in expr or "{pid}" in expr:
            alias = self.rng.choice(["x", "createTime", "displayName", "name", "runsId",
                                     '"odd name"', "labels", "n"])
            return f"{expr} AS {alias}", col
        return expr, col

    # -- statements ------------------------------------------------------------------------------

    def select(self, table: str) -> tuple[str, bool]:
        """(SQL, whether it has an ORDER BY)."""
        rng = self.rng
        alias = rng.choice(["", "", "r", "T"])
        prefix = f"{alias}." if alias and rng.random() < 0.7 else ""
        source = f"{table} AS {alias}" if alias and rng.random() < 0.5 else \
            f"{table} {alias}".strip()
        if rng.random() < 0.1:
            source = table.upper() if not alias else source
        keyword = rng.choice(["SELECT", "select", "Select"])
        distinct = "DISTINCT " if rng.random() < 0.15 else ""
        items = [self.projection(table, prefix)[0] for _ in range(rng.randint(1, 4))]
        if rng.random() < 0.1:
            items = [f"{alias}.*" if alias else "*"]
        sql = f"{keyword} {distinct}{', '.join(items)} FROM {source}"
        if rng.random() < 0.8:
            sql += f" {rng.choice(['WHERE', 'where'])} {self.predicate(table, prefix)}"
        ordered = False
        if rng.random() < 0.5:
            terms = []
            for _ in range(rng.randint(1, 3)):
                if rng.random() < 0.3 and items[0] != "*" and not items[0].endswith(".*"):
                    term = str(rng.randint(1, len(items)))
                else:
                    term = self.any_column(table, prefix).sql
                term += rng.choice(["", " DESC", " ASC", " DESC NULLS LAST", " NULLS FIRST"])
                terms.append(term)
            if rng.random() < 0.5:
                terms.append(f"{prefix}name")
            sql += " ORDER BY " + ", ".join(terms)
            ordered = True
        # Without an ORDER BY, a LIMIT below the row count keeps rows in SQLite's scan order,
        # which no other reader shares (the two reference orders may agree by chance).
        limits = [0, 1, 2, 5, 50, 999, 1001, -1] if ordered else [0, 5000, -1]
        if rng.random() < 0.4:
            sql += f" LIMIT {rng.choice(limits)}"
            if ordered and rng.random() < 0.4:
                sql += f" OFFSET {rng.choice([0, 1, 3, 998, 1210])}"
        return sql, ordered

    def aggregate(self, table: str) -> tuple[str, bool]:
        rng = self.rng
        key = self.any_column(table)
        funcs = []
        for _ in range(rng.randint(1, 3)):
            col = self.any_column(table)
            func = rng.choice(["count(*)", "count({c})", "sum({c})", "min({c})", "max({c})",
                               "avg(length({c}))", "total(length({c}))", "count(DISTINCT {c})",
                               "group_concat(DISTINCT {c})", "sum(CAST({c} AS INTEGER))"])
            funcs.append(func.format(c=col.sql))
        sql = f"SELECT {key.sql} AS k, {', '.join(funcs)} FROM {table}"
        if rng.random() < 0.6:
            sql += f" WHERE {self.predicate(table)}"
        sql += rng.choice([" GROUP BY k", " GROUP BY 1", f" GROUP BY {key.sql}"])
        if rng.random() < 0.4:
            having = rng.randrange(3)  # drawn first: a literal drawn is a parameter bound
            if having == 0:
                sql += f" HAVING count(*) > {rng.choice([0, 1, 2, 10])}"
            elif having == 1:
                sql += f" HAVING max({self.any_column(table).sql}) IS NOT NULL"
            else:
                created = Col("createTime", "TIMESTAMP", table, "createTime")
                sql += f" HAVING min(createTime) < {self.timestamp(created)}"
        ordered = False
        if rng.random() < 0.4:
            sql += rng.choice([" ORDER BY 1", " ORDER BY k DESC", " ORDER BY 2 DESC, 1"])
            ordered = True
            if rng.random() < 0.5:
                sql += f" LIMIT {rng.randint(0, 5)}"
        return sql, ordered

    def wrapped(self, table: str) -> tuple[str, bool]:
        """A subquery in FROM or a CTE, filtered again outside."""
        rng = self.rng
        cols = [c for c in self.columns(table) if c.kind != "JSON"]
        picked = rng.sample(cols, rng.randint(1, 4))
        names = [c.column for c in picked]
        inner = f"SELECT {', '.join(names)} FROM {table}"
        if rng.random() < 0.5:
            inner += f" WHERE {self.predicate(table)}"
        outer_col = rng.choice(picked)
        outer_col = Col(outer_col.column, outer_col.kind, table, outer_col.column)
        where = f"{outer_col.sql} {rng.choice(['=', '>', '<', '!=', '>='])} " \
                f"{self.literal(outer_col)}"
        if rng.random() < 0.5:
            return f"WITH c AS ({inner}) SELECT * FROM c WHERE {where}", False
        return f"SELECT * FROM ({inner}) AS sub WHERE {where}", False

    def special(self) -> tuple[str, bool]:
        rng = self.rng
        form = rng.randrange(10)
        if form == 6:
            func = rng.choice(["lead", "lag"])
            column = rng.choice(["createTime", "updateTime", "displayName", "labels"])
            default = rng.choice(["", ", 1, NULL", ", 1, '2000-01-01'", ", 2, createTime",
                                  ", 1, 0"])
            return (f"SELECT runsId, {func}({column}{default}) OVER (PARTITION BY experimentsId "
                    f"ORDER BY name) AS w FROM runs WHERE {self.predicate('runs')}", False)
        if form == 7:
            column = rng.choice(["displayName", "createTime", "runsId", "description"])
            return (f"SELECT {column} FROM runs WHERE {self.predicate('runs')} UNION "
                    f"SELECT {column} FROM experiments WHERE {self.predicate('experiments')} "
                    f"ORDER BY 1 {rng.choice(['ASC', 'DESC'])} LIMIT {rng.randint(0, 6)}", True)
        if form == 8:
            return (f"SELECT r.runsId, j.key, j.value FROM runs r, json_each(r.labels) j "
                    f"WHERE {self.predicate('runs', 'r.')} AND j.key "
                    f"{rng.choice(['=', '!=', '>'])} {lit(rng.choice(LABEL_KEYS))}", False)
        if form == 9:
            return (f"SELECT e.experimentsId, (SELECT count(*) FROM runs r WHERE "
                    f"r.experimentsId = e.experimentsId AND r.tensorboardsId = e.tensorboardsId "
                    f"AND {self.predicate('runs', 'r.')}) AS n FROM experiments e WHERE "
                    f"{self.predicate('experiments', 'e.')}", False)
        if form == 0:
            return (f"SELECT r.runsId, e.displayName FROM runs r JOIN experiments e "
                    f"ON e.tensorboardsId = r.tensorboardsId AND e.experimentsId = "
                    f"r.experimentsId WHERE {self.predicate('runs', 'r.')} AND "
                    f"{self.predicate('experiments', 'e.')}", False)
        if form == 1:
            return (f"SELECT runsId FROM runs WHERE {self.predicate('runs')} UNION "
                    f"SELECT experimentsId FROM experiments WHERE "
                    f"{self.predicate('experiments')}", False)
        if form == 2:
            part = rng.choice(["experimentsId", "labels ->> '$.status'", "tensorboardsId"])
            func = rng.choice(["row_number()", "rank()", "count(*)", "dense_rank()"])
            return (f"SELECT name, {func} OVER (PARTITION BY {part} ORDER BY createTime, name) "
                    f"AS w FROM runs WHERE {self.predicate('runs')}", False)
        if form == 3:
            return (f"SELECT displayName FROM runs WHERE runsId IN (SELECT runsId FROM runs "
                    f"WHERE {self.predicate('runs')})", False)
        if form == 4:
            return (f"SELECT count(*) FROM runs WHERE createTime > (SELECT min(createTime) "
                    f"FROM runs WHERE {self.predicate('runs')})", False)
        return (f"SELECT e.experimentsId, count(r.name) FROM experiments e LEFT JOIN runs r "
                f"USING (tensorboardsId, experimentsId) WHERE {self.predicate('experiments', 'e.')}"
                f" GROUP BY e.tensorboardsId, e.experimentsId", False)

    def statement(self) -> tuple[str, bool]:
        rng = self.rng
        self.use_params = rng.random() < 0.2
        table = rng.choice(["runs", "runs", "runs", "experiments", "tensorboards"])
        roll = rng.random()
        if roll < 0.55:
            return self.select(table)
        if roll < 0.75:
            return self.aggregate(table)
        if roll < 0.88:
            return self.wrapped(table)
        return self.special()


def value_pools(env: corpus.Env) -> dict[tuple[str, str], list[Any]]:
    db = env.references["fanout"].forward
    pools: dict[tuple[str, str], list[Any]] = {}
    for table in TABLE_NAMES:
        for column in TABLES[table].columns:
            if column.type == "JSON":
                continue
            values = [v for (v,) in db.execute(
                f'SELECT DISTINCT "{column.name}" FROM "{table}" LIMIT 60')]
            if column.name == "name":
                values = [str(v).replace(f"projects/{env.number}/", "projects/{number}/")
                          for v in values]
            pools[(table, column.name)] = values
    for key, value in db.execute("SELECT DISTINCT j.key, j.value FROM runs, json_each(labels) j "
                                 "UNION SELECT DISTINCT j.key, j.value FROM experiments, "
                                 "json_each(labels) j"):
        pools.setdefault(("label", key), []).append(value)
    return pools


@dataclass
class Tally:
    ran: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)  # sqlite3 rejected, driver raised
    # answers with a column of values of several types (1 and 1.0): no one type code agrees
    # with them all, so only that column's type code goes unchecked
    mixed: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


def check(env: corpus.Env, mode: str, query: corpus.Q, tally: Tally,
          show: Callable[[str], None]) -> None:
    driver_sql, ref_sql = corpus.texts(query.sql, env)
    driver_params, ref_params = corpus.bound(query.params)
    try:
        corpus.run_reference(env.references[mode].forward, ref_sql, ref_params)
    except sqlite3.Error as error:
        try:
            got = corpus.run_driver(env.connections[mode], driver_sql, driver_params)
        except Exception:  # any error agrees with sqlite3's
            tally.rejected[mode] += 1
            return
        problem = (f"sqlite3 rejects it ({error}) but the driver answered "
                   f"{len(got.rows)} rows")
        tally.failures.append(corpus.report(mode, query, env, [problem]))
        show(tally.failures[-1])
        return
    for ordered in ((True, False) if query.ordered else (False,)):
        candidate = corpus.Q(query.id, query.sql, ordered, None, query.params)
        try:
            expected = corpus.reference_answer(env.references[mode], ref_sql, ordered, ref_params)
        except AssertionError:
            continue  # no single expected answer this way
        tally.ran[mode] += 1
        problems = corpus.compare(env, mode, candidate)
        mixed = mixed_columns(expected.rows)
        if mixed:
            tally.mixed[mode] += 1
            problems = [p for p in problems if not any(
                p.startswith(f"column {i} (") and " has type code " in p for i in mixed)]
        if problems:
            tally.failures.append(corpus.report(mode, candidate, env, problems))
            show(tally.failures[-1])
        return
    tally.skipped[mode] += 1


def mixed_columns(rows: list[corpus.Row]) -> set[int]:
    """Columns whose values (NULL aside) are of more than one Python type."""
    kinds: dict[int, set[type]] = {}
    for row in rows:
        for index, value in enumerate(row):
            if value is not None:
                kinds.setdefault(index, set()).add(type(value))
    return {index for index, found in kinds.items() if len(found) > 1}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", type=int, default=None, help="replay statement i only")
    parser.add_argument("--modes", default=",".join(corpus.MODES))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    modes = args.modes.split(",")
    tally = Tally()
    with Emulator() as emu:
        env = corpus.open_env(emu)
        pools = value_pools(env)
        deadline = time.monotonic() + args.seconds
        index = args.only if args.only is not None else 0
        while time.monotonic() < deadline:
            gen = Gen(random.Random(f"{args.seed}-{index}"), pools)
            sql, ordered = gen.statement()
            query = corpus.Q(f"fuzz-{args.seed}-{index}", sql, ordered, None, tuple(gen.params))
            def show(text: str, number: int = index) -> None:
                print(f"--- statement {number}\n{text}\n", flush=True)

            for mode in modes:
                if corpus.MODES[mode][0] and corpus.names_path(sql):
                    continue
                check(env, mode, query, tally, show)
            if args.only is not None:
                break
            index += 1
        for connection in env.connections.values():
            connection.close()
    print(f"statements generated: {index + (1 if args.only is not None else 0)}")
    for mode in modes:
        print(f"  {mode:14} compared {tally.ran[mode]:5}  sqlite3-rejected {tally.rejected[mode]:4}"
              f"  skipped (no unique answer) {tally.skipped[mode]:4}  mixed-type columns "
              f"{tally.mixed[mode]:4}")
    print(f"disagreements: {len(tally.failures)}")
    return 1 if tally.failures else 0


if __name__ == "__main__":
    sys.exit(main())
