"""Exact answers (issue 11): every SELECT answers what sqlite3 answers over the same rows.

The promise under test: for any statement, the rows, column names, value types and rowcount
are those that `sqlite3` returns for the same statement over a table holding the same rows
(proto3 defaults for omitted fields: string '', integer 0, boolean false, map {}), whether or
not anything is pushed down, fanned out or retried.

The data (tests/support/exactness_world.py) is deliberately awkward: quotes, `%`, `_`, backslashes,
é, 日本 and emoji; label values '1', 'true', 'null', '1e3', ''; system label keys that look like
paths; omitted descriptions and labels; createTime ties to the microsecond; the same experiment
ID in two tensorboards and the same run ID in three experiments; an experiment of 1,200 runs
(two API pages); a tensorboard and experiments with no runs; booleans (isDefault).

The reference is a plain sqlite3 database built from a direct listing of the API with
`requests` (not through the driver): one table per driver table, the catalog's column names
and order, each value in the form the driver stores locally (TIMESTAMP as UTC text
`YYYY-MM-DD HH:MM:SS.ffffff`, JSON as compact JSON text, BOOLEAN as 0/1).

Timestamp literals. The reference rule: a string literal compared with a real timestamp value
(a TIMESTAMP column, or an expression or subquery/CTE column that holds one unchanged, such as
`max(createTime)` or `coalesce(updateTime, createTime)`) is compared as an instant. The
reference query therefore has such literals written in the canonical text form (UTC, six
fraction digits, sub-microsecond digits kept): in the corpus they are written `{ts:LITERAL}`,
which the driver receives as `'LITERAL'` and the reference as `'<canonical form>'`. A literal
compared with a value that is not a timestamp (`date(createTime)`, even under the name
`createTime` in a CTE) is plain text in both.

Resource names. The API names projects by number; a resource name written with the project ID
names the same resource (issue 11: `WHERE name = '<full resource name>'` finds the run whether
the name carries the project ID or number). Such a name is written `projects/{pid}/...`: the
driver receives the project ID, the reference the project number.

Each query runs in every mode (`MODES`): fanned out from project/location with push-down on
and off, bound to a tensorboard, and bound to an experiment with push-down on and off. A bound
connection reads the rows under its path: the reference of a bound mode keeps only those
(`runs` of the bound experiment, `experiments` of the bound tensorboard, every tensorboard;
connection path parameters fill parent paths only). Queries that name a path parameter
(projectsId, locationsId, tensorboardsId, experimentsId, name) with a constant do not run bound:
there the statement's path overrides the connection's, so no single table stands for them.

Compared, per case: (1) column names exactly; (2) the rows, the driver's TIMESTAMP datetimes,
JSON dicts/lists and BOOLEAN bools written back in the local form, value by value including
the Python type, in order when the query's ORDER BY is total (`ordered=True`), as multisets
otherwise; (3) each value's Python type agrees with its column's type code, and a column that
is a bare reference to a catalog column (sqlite reports its declared type) carries that
column's catalog type; the `empty` variants check the type codes are the same when no rows
come back; (4) rowcount: -1 after a SELECT, as sqlite3 reports it.

Every reference answer is computed twice, over copies holding the rows in opposite orders; a
query whose two answers differ (e.g. a LIMIT cutting through ties) has no single expected
answer and fails as a corpus error.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from support.exactness_world import (
    LOCATION,
    PROJECT,
    Listing,
    Reference,
    Tagged,
    World,
    build_world,
    canonical_timestamp,
    list_everything,
    reference,
)

import runs_dbapi
from runs_dbapi.catalog import TABLES
from runs_dbapi.emulator import Emulator, FaultPlan
from runs_dbapi.emulator.service import project_number
from runs_dbapi.rest import RetryPolicy

Row = tuple[Any, ...]
UTC = timezone.utc


@dataclass(frozen=True)
class Q:
    id: str
    sql: str
    ordered: bool = False  # the ORDER BY is total: compare in order
    empty: str | None = None  # a variant returning no rows: same names and type codes
    params: tuple[Any, ...] = ()  # bound `?` parameters; a str `{ts:X}` is a timestamp


def q(id: str, sql: str, *, ordered: bool = False, empty: str | None = None,
      params: tuple[Any, ...] = ()) -> Q:
    return Q(id, sql, ordered, empty, params)


SHARED = "tensorboardsId = '{main}' AND experimentsId = 'shared'"
NOT_BIG = "displayName NOT LIKE 'big run%'"
RUN01 = "projects/{number}/locations/us-central1/tensorboards/{main}/experiments/shared/runs/r01"
RUN01_ID = ("projects/{pid}/locations/us-central1/tensorboards/{main}/experiments/shared/"
            "runs/r01")

QUERIES: list[Q] = [
    # -- projections: names as written, aliases, literals, stars, qualified columns ----------
    q("count-star", "SELECT count(*) FROM runs", empty="SELECT count(*) FROM runs LIMIT 0"),
    q("COUNT-STAR", "SELECT COUNT(*) FROM runs"),
    q("count-spaced", "SELECT count( * ) FROM runs"),
    q("count-alias", "SELECT Count(*) AS n FROM runs"),
    q("max-createTime", "SELECT max(createTime) FROM runs",
      empty="SELECT max(createTime) FROM runs LIMIT 0"),
    q("min-max-times", "SELECT min(createTime), max(updateTime) FROM runs"),
    q("arrow2-status", "SELECT labels ->> '$.status' FROM runs",
      empty="SELECT labels ->> '$.status' FROM runs LIMIT 0"),
    q("arrow1-status", "SELECT labels -> '$.status' FROM runs"),
    q("arrow2-bare-key", "SELECT labels ->> 'status' FROM runs"),
    q("json-extract-seed", "SELECT json_extract(labels, '$.seed') FROM runs"),
    q("upper-displayName", "SELECT upper(displayName) FROM runs",
      empty="SELECT upper(displayName) FROM runs WHERE 0"),
    q("one-plus-one", "SELECT 1+1"),
    q("one-plus-one-from", "SELECT 1+1 FROM runs LIMIT 1", ordered=True),
    q("literals", "SELECT 'it''s' AS quote, 42 AS answer, 1.5 AS half, NULL AS no_value, "
      "'2026-01-05T09:00:00Z' AS when_text FROM runs LIMIT 2", ordered=True),
    q("literals-unaliased", "SELECT 'x', 7, -1.25, 'é 日本 🚀' FROM tensorboards"),
    q("star-runs", "SELECT * FROM runs", empty="SELECT * FROM runs WHERE 0"),
    q("star-qualified", "SELECT r.* FROM runs AS r", empty="SELECT r.* FROM runs AS r LIMIT 0"),
    q("qualified-columns", "SELECT r.displayName, r.runsId FROM runs r"),
    q("table-qualified", "SELECT runs.displayName, runs.createTime FROM runs"),
    q("quoted-alias", 'SELECT displayName AS "Display Name", runsId AS id FROM runs'),
    q("case-of-column", "SELECT DISPLAYNAME, createtime FROM runs",
      empty="SELECT DISPLAYNAME, createtime FROM runs WHERE 0"),
    q("spacing", "SELECT  displayName ,createTime   FROM runs"),
    q("timestamp-alias", "SELECT createTime AS t, updateTime AS u FROM runs",
      empty="SELECT createTime AS t, updateTime AS u FROM runs WHERE 1 = 0"),
    q("labels-column", "SELECT labels FROM runs", empty="SELECT labels FROM runs WHERE 0"),
    q("name-column", "SELECT name FROM runs"),
    q("typeof", "SELECT typeof(displayName), typeof(createTime), typeof(labels), "
      "typeof(description) FROM runs"),
    q("typeof-tensorboards", "SELECT typeof(isDefault), typeof(runCount), "
      "typeof(blobStoragePathPrefix) FROM tensorboards"),
    q("concat", "SELECT description || '!' FROM runs"),
    q("distinct-typeof-description", "SELECT DISTINCT typeof(description) FROM runs"),
    q("length", "SELECT runsId, length(displayName), length(description) FROM runs"),
    q("star-experiments", "SELECT * FROM experiments",
      empty="SELECT * FROM experiments WHERE 0"),
    q("star-tensorboards", "SELECT * FROM tensorboards",
      empty="SELECT * FROM tensorboards WHERE 0"),
    q("star-tensorboards-qualified", "SELECT t.* FROM tensorboards t"),
    q("expression-on-column", "SELECT runsId || '@' || experimentsId AS key FROM runs"),
    q("cast-columns", "SELECT CAST(createTime AS TEXT), CAST(labels AS TEXT) FROM runs"),
    # CAST to a type name as SQLite reads it (its affinity), whatever sqlglot calls the type.
    q("cast-numeric-spellings", "SELECT runsId, CAST(labels ->> '$.seed' AS NUMERIC), "
      "CAST(labels ->> '$.sci' AS DECIMAL(10, 2)), CAST(labels ->> '$.seed' AS STRING) "
      f"FROM runs WHERE {NOT_BIG}"),
    q("cast-date-spellings", "SELECT runsId, CAST(createTime AS DATE), "
      "CAST(updateTime AS TIMESTAMP), CAST(description AS BOOLEAN), "
      f"CAST(displayName AS VARCHAR(3)) FROM runs WHERE {NOT_BIG}"),
    q("cast-blob", f"SELECT runsId, CAST(name AS BLOB), CAST(labels ->> '$.lang' AS BLOB) "
      f"FROM runs WHERE {NOT_BIG}", empty="SELECT runsId, CAST(name AS BLOB), "
      "CAST(labels ->> '$.lang' AS BLOB) FROM runs WHERE 0"),
    q("cast-numeric-where", "SELECT runsId FROM runs WHERE CAST(labels ->> '$.seed' AS NUMERIC) "
      "= 1 AND typeof(CAST(labels ->> '$.seed' AS NUMERIC)) = 'integer'"),
    # Bound parameters, typed and named as SQLite does (an unaliased marker by its text).
    q("parameters-unaliased", "SELECT displayName, ?, ? + 1, ?, ? FROM tensorboards",
      params=(1, 2.5, "x", None), empty="SELECT displayName, ?, ? + 1, ?, ? FROM tensorboards "
      "WHERE 0"),
    q("parameters-where", "SELECT runsId, ? AS tag FROM runs WHERE labels ->> '$.seed' = ? "
      "AND createTime >= ?", params=("t", "1", "{ts:2026-01-05T10:00:00+01:00}")),
    q("column-twice", "SELECT runsId, runsId AS again, runsId FROM runs"),
    # -- JSON values: text stays text, -> is JSON text, json_each, missing keys --------------
    q("seed-values", "SELECT runsId, labels ->> '$.seed' AS seed FROM runs"),
    q("flag-values", "SELECT runsId, labels ->> '$.flag' FROM runs "
      "WHERE labels ->> '$.flag' IS NOT NULL"),
    q("note-null-text", "SELECT runsId, labels ->> '$.note' FROM runs "
      "WHERE labels ->> '$.note' = 'null'"),
    q("typeof-seed", "SELECT runsId, typeof(labels ->> '$.seed'), typeof(labels -> '$.seed') "
      "FROM runs"),
    q("arrow1-seed", "SELECT runsId, labels -> '$.seed' FROM runs"),
    q("missing-key", "SELECT labels -> '$.missing', labels ->> '$.missing', "
      "json_extract(labels, '$.missing') FROM runs"),
    q("path-like-key", "SELECT runsId, labels ->> '$.\"aiplatform.googleapis.com/training_job_id\"'"
      " AS job FROM runs WHERE job IS NOT NULL"),
    q("path-like-key-extract", "SELECT runsId, json_extract(labels, "
      "'$.\"aiplatform.googleapis.com/pipeline_run\"') FROM runs"),
    q("json-each", "SELECT r.runsId, j.key, j.value FROM runs AS r, json_each(r.labels) AS j "
      f"WHERE {NOT_BIG}"),
    q("json-each-keys", "SELECT j.key, count(*) FROM runs, json_each(runs.labels) AS j "
      "GROUP BY j.key"),
    q("json-each-seed-types", "SELECT j.value, typeof(j.value), j.type FROM runs, "
      "json_each(labels) j WHERE j.key = 'seed'"),
    q("seed-eq-text", "SELECT runsId FROM runs WHERE labels ->> '$.seed' = '1'"),
    q("seed-eq-integer", "SELECT runsId FROM runs WHERE labels ->> '$.seed' = 1"),
    q("flag-eq-text-true", "SELECT runsId FROM runs WHERE labels ->> '$.flag' = 'true'"),
    q("flag-eq-true", "SELECT runsId FROM runs WHERE labels ->> '$.flag' = true"),
    q("flag-eq-1", "SELECT runsId FROM runs WHERE labels ->> '$.flag' = '1'"),
    q("empty-label-value", "SELECT runsId FROM runs WHERE json_extract(labels, '$.empty') = ''"),
    q("missing-label-is-null", f"SELECT runsId FROM runs WHERE labels ->> '$.empty' IS NULL "
      f"AND {NOT_BIG}"),
    q("no-labels", "SELECT runsId, labels FROM runs WHERE labels = '{{}}'"),
    q("arrow1-eq-json", "SELECT runsId FROM runs WHERE labels -> '$.status' = '\"failed\"'"),
    q("json-type", "SELECT runsId, json_type(labels, '$.seed') FROM runs"),
    q("sci-numeric", "SELECT runsId, labels ->> '$.sci' + 0 FROM runs "
      "WHERE labels ->> '$.sci' IS NOT NULL"),
    q("cast-seed", "SELECT runsId, CAST(labels ->> '$.seed' AS INTEGER) AS seed FROM runs"),
    q("json-object", f"SELECT json_object('id', runsId, 'seed', labels ->> '$.seed') FROM runs "
      f"WHERE {NOT_BIG}"),
    q("lang-label", "SELECT runsId, labels ->> '$.lang' FROM runs "
      "WHERE labels ->> '$.lang' IS NOT NULL"),
    q("lang-japanese", "SELECT runsId FROM runs WHERE labels ->> '$.lang' = '日本'"),
    q("bare-key-where", "SELECT runsId FROM runs WHERE labels ->> 'status' = 'failed'"),
    q("status-in-repeated", "SELECT runsId FROM runs "
      "WHERE labels ->> '$.status' IN ('failed', 'running', 'failed')"),
    q("status-not-in", "SELECT runsId FROM runs WHERE labels ->> '$.status' NOT IN ('succeeded')"),
    q("status-ne", "SELECT runsId FROM runs WHERE labels ->> '$.status' != 'succeeded'"),
    q("status-not", "SELECT runsId FROM runs WHERE NOT (labels ->> '$.status' = 'failed')"),
    q("seed-gt-text", "SELECT runsId, labels ->> '$.seed' FROM runs "
      "WHERE labels ->> '$.seed' > '2'"),
    q("seed-like", "SELECT runsId FROM runs WHERE labels ->> '$.seed' LIKE '0%'"),
    q("seed-between", "SELECT runsId FROM runs "
      "WHERE json_extract(labels, '$.seed') BETWEEN '1' AND '3'"),
    q("label-or", "SELECT runsId FROM runs "
      "WHERE labels ->> '$.team' = 'nlp' OR labels ->> '$.flag' = 'true'"),
    q("label-and", "SELECT count(*) FROM runs "
      "WHERE labels ->> '$.bucket' = 'b1' AND labels ->> '$.status' = 'failed'"),
    q("status-case", "SELECT runsId FROM runs WHERE labels ->> '$.status' = 'FAILED'"),
    q("status-null-text", "SELECT runsId, labels ->> '$.status' FROM runs "
      "WHERE labels ->> '$.status' = 'null'"),
    q("labels-like", "SELECT runsId FROM runs WHERE labels LIKE '%\"flag\":\"true\"%'"),
    # -- WHERE on strings ---------------------------------------------------------------------
    q("eq-single-quotes", "SELECT runsId, experimentsId FROM runs "
      "WHERE displayName = 'O''Brien''s run'"),
    q("eq-double-quotes", "SELECT runsId FROM runs WHERE displayName = 'say \"hi\"'"),
    q("eq-backslash", "SELECT runsId FROM runs WHERE displayName = 'back\\slash'"),
    q("eq-emoji", "SELECT runsId FROM runs WHERE displayName = 'émoji 🚀'"),
    q("eq-japanese", "SELECT runsId FROM runs WHERE displayName = '日本語の実行'"),
    q("eq-without-trailing-space", "SELECT runsId FROM runs WHERE displayName = 'trailing space'"),
    q("eq-with-trailing-space", "SELECT runsId FROM runs WHERE displayName = 'trailing space '"),
    q("eq-NULL-text", "SELECT runsId, displayName FROM runs WHERE displayName = 'NULL'"),
    q("eq-number-text", "SELECT runsId FROM runs WHERE displayName = '42'"),
    q("eq-number-integer", "SELECT runsId FROM runs WHERE displayName = 42"),
    q("ne", "SELECT count(*) FROM runs WHERE displayName != 'midnight'"),
    q("ne-ansi", "SELECT count(*) FROM runs WHERE displayName <> 'midnight'"),
    q("lt", "SELECT runsId FROM runs WHERE displayName < 'b'"),
    q("ge", "SELECT runsId FROM runs WHERE displayName >= 'big run 1190'"),
    q("le", "SELECT runsId FROM runs WHERE displayName <= '100%'"),
    q("gt-unicode", "SELECT runsId FROM runs WHERE displayName > 'z'"),
    q("in-repeated", "SELECT runsId FROM runs "
      "WHERE displayName IN ('100%', 'under_score', '100%')"),
    q("not-in", f"SELECT runsId FROM runs WHERE displayName NOT IN ('100%', 'under_score') "
      f"AND {NOT_BIG}"),
    q("between", "SELECT runsId FROM runs WHERE displayName BETWEEN 'a' AND 'c'"),
    q("not-between", f"SELECT runsId FROM runs WHERE displayName NOT BETWEEN 'a' AND 'z' "
      f"AND {NOT_BIG}"),
    q("like-escaped-percent", "SELECT runsId FROM runs "
      "WHERE displayName LIKE '100\\%' ESCAPE '\\'"),
    q("like-escaped-underscore", "SELECT runsId FROM runs "
      "WHERE displayName LIKE '%\\_%' ESCAPE '\\'"),
    q("like-underscore-wildcard", "SELECT runsId FROM runs WHERE displayName LIKE 'under_score'"),
    q("like-case-insensitive", "SELECT runsId FROM runs WHERE displayName LIKE 'upper%'"),
    q("like-emoji", "SELECT runsId FROM runs WHERE displayName LIKE '%🚀'"),
    q("like-quote", "SELECT runsId FROM runs WHERE displayName LIKE '%''%'"),
    q("like-percent-unescaped", "SELECT runsId FROM runs WHERE displayName LIKE '%\\%'"),
    q("not-like", "SELECT count(*) FROM runs WHERE displayName NOT LIKE 'big%'"),
    q("glob-digit", "SELECT runsId FROM runs WHERE displayName GLOB '*[0-9]' AND "
      "displayName NOT GLOB 'big*'"),
    q("glob-question", "SELECT runsId FROM runs WHERE displayName GLOB 'big run 000?'"),
    q("glob-case", "SELECT runsId FROM runs WHERE displayName GLOB 'UPPER*'"),
    q("is-null-string", "SELECT count(*) FROM runs WHERE displayName IS NULL"),
    q("description-is-null", "SELECT count(*) FROM runs WHERE description IS NULL"),
    q("description-empty", "SELECT runsId FROM runs WHERE description = ''"),
    q("description-not-null", "SELECT count(*) FROM runs WHERE description IS NOT NULL"),
    q("description-like-percent", "SELECT runsId FROM runs "
      "WHERE description LIKE '%\\%%' ESCAPE '\\'"),
    q("description-like-backslash", "SELECT runsId FROM runs "
      "WHERE description LIKE '%\\\\%' ESCAPE '\\'"),
    q("description-eq-null-text", "SELECT runsId FROM runs WHERE description = 'null'"),
    q("empty-description-no-labels", "SELECT runsId FROM runs "
      "WHERE description = '' AND labels = '{{}}'"),
    q("lower-eq", "SELECT runsId FROM runs WHERE lower(displayName) = 'upper lower'"),
    q("upper-unicode", "SELECT runsId, upper(displayName) FROM runs "
      "WHERE upper(displayName) = 'éMOJI 🚀'"),
    q("concat-like", "SELECT runsId FROM runs WHERE displayName || description LIKE '%quoted%'"),
    q("length-gt", f"SELECT runsId FROM runs WHERE length(description) > 10 AND {NOT_BIG}"),
    q("substr", "SELECT count(*) FROM runs WHERE substr(displayName, 1, 3) = 'big'"),
    q("instr", "SELECT runsId FROM runs WHERE instr(description, '%') > 0"),
    q("trim", "SELECT runsId FROM runs WHERE trim(displayName) != displayName"),
    q("case-where", "SELECT count(*) FROM runs "
      "WHERE CASE WHEN description = '' THEN 'none' ELSE 'some' END = 'none'"),
    q("or-across-columns", "SELECT runsId FROM runs "
      "WHERE displayName = 'midnight' OR description = 'null'"),
    q("or-across-types", "SELECT runsId FROM runs WHERE displayName = '42' OR "
      "createTime = {ts:2026-01-05T00:00:00Z} OR labels ->> '$.lang' = 'é'"),
    q("not-and", f"SELECT runsId FROM runs WHERE NOT (description = '' AND {NOT_BIG}) "
      "AND displayName NOT LIKE 'big%'"),
    q("etag-like", "SELECT count(*) FROM runs WHERE etag LIKE 'AMEw9y%'"),
    q("parameterless-true", "SELECT count(*) FROM runs WHERE 1"),
    # -- names and path columns ---------------------------------------------------------------
    q("name-eq-number", f"SELECT runsId, experimentsId FROM runs WHERE name = '{RUN01}'"),
    q("name-eq-project-id", f"SELECT runsId FROM runs WHERE name = '{RUN01_ID}'"),
    q("name-number-and-project", f"SELECT runsId, projectsId FROM runs WHERE name = '{RUN01}' "
      "AND projectsId = 'demo-project'"),
    q("name-id-and-project", f"SELECT runsId FROM runs WHERE name = '{RUN01_ID}' "
      "AND projectsId = 'demo-project'"),
    q("name-in-repeated", f"SELECT runsId FROM runs WHERE name IN ('{RUN01}', "
      f"'{RUN01[:-1]}2', '{RUN01}')"),
    q("name-like", "SELECT name FROM runs WHERE name LIKE '%/runs/r0_'"),
    # A name written with the project ID means that name in every comparison, not only `=`.
    q("name-ne-project-id", f"SELECT runsId, experimentsId FROM runs WHERE name != '{RUN01_ID}' "
      "AND runsId LIKE 'r0%'"),
    q("name-not-in-project-id", f"SELECT count(*) FROM runs WHERE name NOT IN ('{RUN01_ID}', "
      f"'{RUN01[:-1]}2')"),
    q("name-in-both-spellings", f"SELECT runsId FROM runs WHERE name IN ('{RUN01_ID[:-1]}3', "
      f"'{RUN01[:-1]}2')"),
    q("name-gt-project-id", f"SELECT count(*) FROM runs WHERE name > '{RUN01_ID}'"),
    q("name-ge-project-id-reversed", f"SELECT runsId FROM runs WHERE '{RUN01_ID}' >= name "
      f"AND {NOT_BIG}"),
    q("name-between-project-id", f"SELECT runsId FROM runs WHERE name BETWEEN '{RUN01_ID}' "
      f"AND '{RUN01_ID[:-1]}5'"),
    q("name-not-between-project-id", f"SELECT count(*) FROM runs WHERE name NOT BETWEEN "
      f"'{RUN01_ID}' AND '{RUN01[:-1]}5'"),
    q("name-subquery-eq-project-id", "SELECT * FROM (SELECT name FROM runs) AS sub "
      f"WHERE name = '{RUN01_ID}'"),
    q("name-cte-gt-project-id", "WITH c AS (SELECT runsId, name FROM runs) SELECT runsId FROM c "
      f"WHERE name > '{RUN01_ID}' AND runsId LIKE 'r%'"),
    q("name-max-ge-project-id", "SELECT count(*) FROM (SELECT experimentsId, max(name) AS last "
      f"FROM runs GROUP BY 1) WHERE last >= '{RUN01_ID}'"),
    q("name-is-not-project-id", f"SELECT count(*) FROM runs WHERE name IS NOT '{RUN01_ID}'"),
    q("name-is-project-id", f"SELECT runsId FROM runs WHERE name IS '{RUN01_ID}'"),
    q("name-collate-project-id", f"SELECT runsId FROM runs WHERE name = '{RUN01_ID}' "
      "COLLATE NOCASE"),
    q("name-ne-in-subquery", "SELECT count(*) FROM runs WHERE runsId IN (SELECT runsId FROM runs "
      f"WHERE name <> '{RUN01_ID}')"),
    q("experiment-name-eq", "SELECT experimentsId FROM experiments WHERE name = "
      "'projects/{number}/locations/us-central1/tensorboards/{second}/experiments/shared'"),
    q("runsId-eq", "SELECT tensorboardsId, experimentsId, runsId FROM runs WHERE runsId = 'r01'"),
    q("runsId-in-repeated", "SELECT experimentsId, runsId FROM runs "
      "WHERE runsId IN ('r01', 'r01')"),
    q("runsId-in-experiment", "SELECT tensorboardsId, runsId FROM runs "
      "WHERE runsId IN ('r01', 'r02') AND experimentsId = 'shared'"),
    q("experimentsId-in-repeated", "SELECT tensorboardsId, count(*) FROM runs "
      "WHERE experimentsId IN ('shared', 'shared') GROUP BY tensorboardsId"),
    q("experiment-in-board", "SELECT runsId FROM runs "
      "WHERE experimentsId = 'shared' AND tensorboardsId = '{second}'"),
    q("get-by-key", f"SELECT runsId, displayName, labels FROM runs WHERE {SHARED} "
      "AND runsId = 'r03'"),
    q("get-by-keys-repeated", f"SELECT runsId FROM runs WHERE {SHARED} "
      "AND runsId IN ('r03', 'r03', 'r99')"),
    q("get-missing", f"SELECT runsId FROM runs WHERE {SHARED} AND runsId = 'r99'"),
    q("experiment-without-runs", "SELECT count(*) FROM runs WHERE experimentsId = 'empty-exp'"),
    q("experiment-unknown", "SELECT runsId FROM runs WHERE experimentsId = 'no-such-experiment'"),
    q("tensorboard-unknown", "SELECT runsId FROM runs WHERE tensorboardsId = '999'"),
    q("experiment-ne", "SELECT count(*) FROM runs WHERE experimentsId != 'big'"),
    q("experiment-like", "SELECT DISTINCT experimentsId FROM runs WHERE experimentsId LIKE 'sh%'"),
    q("project-eq", "SELECT count(*) FROM runs WHERE projectsId = 'demo-project'"),
    q("location-eq", "SELECT count(*) FROM runs WHERE locationsId = 'us-central1' "
      "AND projectsId = 'demo-project'"),
    # Path constraints that contradict each other read nothing: no rows, never an error.
    q("location-contradiction", "SELECT count(*) FROM runs WHERE locationsId = 'us-central1' "
      "AND locationsId = 'europe-west4'"),
    q("location-contradicts-name", f"SELECT runsId FROM runs WHERE name = '{RUN01}' "
      "AND locationsId = 'europe-west4'"),
    q("project-contradiction", "SELECT runsId FROM runs WHERE projectsId = 'demo-project' "
      "AND projectsId IN ('other-project')"),
    q("project-contradicts-name", f"SELECT runsId FROM runs WHERE name = '{RUN01}' "
      "AND projectsId = 'demo-project' AND projectsId = 'other-project'"),
    q("path-columns", "SELECT DISTINCT projectsId, locationsId, tensorboardsId, experimentsId "
      "FROM runs"),
    # -- timestamps -----------------------------------------------------------------------------
    q("ts-eq-Z", "SELECT runsId FROM runs WHERE createTime = {ts:2026-01-05T09:00:00Z}"),
    q("ts-eq-space", "SELECT runsId FROM runs WHERE createTime = {ts:2026-01-05 09:00:00}"),
    q("ts-eq-micro", "SELECT runsId FROM runs WHERE createTime = {ts:2026-01-05T09:00:00.000000Z}"),
    q("ts-eq-plus-offset", "SELECT runsId FROM runs "
      "WHERE createTime = {ts:2026-01-05T11:00:00+02:00}"),
    q("ts-eq-minus-offset", "SELECT runsId FROM runs "
      "WHERE createTime = {ts:2026-01-05T04:00:00-05:00}"),
    q("ts-gt-date", f"SELECT runsId FROM runs WHERE createTime > {{ts:2026-01-05}} AND {NOT_BIG}"),
    q("ts-ge-date", f"SELECT runsId FROM runs WHERE createTime >= {{ts:2026-01-05}} "
      f"AND {NOT_BIG}"),
    q("ts-le-date", "SELECT runsId FROM runs WHERE createTime <= {ts:2026-01-05}"),
    q("ts-lt-midnight-Z", "SELECT runsId FROM runs WHERE createTime < {ts:2026-01-05T00:00:00Z}"),
    q("ts-eq-date", "SELECT runsId FROM runs WHERE createTime = {ts:2026-01-05}"),
    q("ts-ge-offset-previous-day", f"SELECT runsId FROM runs "
      f"WHERE createTime >= {{ts:2026-01-05T01:00:00+02:00}} AND {NOT_BIG}"),
    q("ts-between-offsets", "SELECT runsId FROM runs WHERE createTime BETWEEN "
      "{ts:2026-01-05T00:00:00+01:00} AND {ts:2026-01-05T10:00:00Z}"),
    q("ts-gt-nanos", f"SELECT runsId FROM runs WHERE createTime > "
      f"{{ts:2026-01-05T10:11:57.957524001Z}} AND {NOT_BIG} AND createTime < {{ts:2026-01-06}}"),
    q("ts-le-nanos", "SELECT runsId FROM runs WHERE createTime <= "
      "{ts:2026-01-05T10:11:57.957524001Z}"),
    q("ts-ge-nanos-zero", "SELECT runsId FROM runs WHERE createTime >= "
      "{ts:2026-01-05T10:11:57.957524000Z} AND createTime < {ts:2026-01-05T11:00:00Z}"),
    q("ts-eq-nanos", "SELECT runsId FROM runs WHERE createTime = "
      "{ts:2026-01-05T10:11:57.957524999Z}"),
    q("ts-in-same-instant", "SELECT runsId FROM runs WHERE createTime IN "
      "({ts:2026-01-05T12:00:00Z}, {ts:2026-01-05T13:00:00+01:00})"),
    q("ts-ne", f"SELECT runsId FROM runs WHERE createTime != {{ts:2026-01-05T12:00:00Z}} "
      f"AND {NOT_BIG}"),
    q("ts-lt-new-year", "SELECT runsId FROM runs WHERE createTime < {ts:2026-01-01}"),
    q("ts-gt-last-micro", "SELECT runsId FROM runs "
      "WHERE createTime > {ts:2025-12-31T23:59:59.999999Z} AND createTime < {ts:2026-01-02}"),
    q("ts-tie-big", "SELECT count(*) FROM runs WHERE createTime = {ts:2026-01-10T00:00:00Z}"),
    q("ts-range-big", "SELECT count(*) FROM runs WHERE createTime > {ts:2026-01-10T00:00:01Z} "
      "AND createTime <= {ts:2026-01-10T02:00:01.05+02:00}"),
    q("ts-update-gt-create", "SELECT runsId, updateTime FROM runs WHERE updateTime > createTime"),
    q("ts-update-gt", "SELECT runsId FROM runs WHERE updateTime > {ts:2026-01-06}"),
    q("ts-coalesce", "SELECT runsId FROM runs "
      "WHERE coalesce(updateTime, createTime) > {ts:2026-01-06T00:00:00+00:00}"),
    q("ts-date-derived", "SELECT count(*) FROM runs WHERE date(createTime) = '2026-01-05'"),
    q("ts-strftime", "SELECT strftime('%Y-%m', createTime) AS month, count(*) FROM runs "
      "GROUP BY month"),
    q("ts-like", "SELECT runsId FROM runs WHERE createTime LIKE '2026-01-05%'"),
    q("ts-case", "SELECT CASE WHEN createTime < {ts:2026-01-05T00:00:00Z} THEN 'before' "
      "ELSE 'after' END AS era, count(*) FROM runs GROUP BY era"),
    q("ts-case-offset", f"SELECT runsId, CASE WHEN createTime >= {{ts:2026-01-05T14:00:00+02:00}}"
      f" THEN 1 ELSE 0 END AS late FROM runs WHERE {NOT_BIG}"),
    q("ts-having-max", "SELECT experimentsId, count(*) FROM runs GROUP BY experimentsId "
      "HAVING max(createTime) > {ts:2026-03-01}"),
    q("ts-having-min", "SELECT tensorboardsId, experimentsId FROM runs "
      "GROUP BY tensorboardsId, experimentsId "
      "HAVING min(createTime) <= {ts:2026-01-05T09:00:00+00:00}"),
    q("ts-max-where", "SELECT max(createTime) FROM runs "
      "WHERE createTime < {ts:2026-01-05T12:00:00Z}"),
    q("ts-subquery-output", "SELECT * FROM (SELECT runsId, createTime AS ct FROM runs) "
      "WHERE ct >= {ts:2026-01-05T12:00:00+00:00} AND ct < {ts:2026-01-06}"),
    q("ts-cte-output", "WITH c AS (SELECT runsId, createTime FROM runs) SELECT runsId FROM c "
      "WHERE createTime > {ts:2026-02-01T07:15:00+01:00}"),
    q("ts-cte-named-like-timestamp", "WITH c AS (SELECT runsId, date(createTime) AS createTime "
      "FROM runs) SELECT runsId, createTime FROM c WHERE createTime = '2026-01-05'"),
    q("ts-cte-named-like-timestamp-ge", "WITH c AS (SELECT date(createTime) AS createTime, "
      "count(*) AS n FROM runs GROUP BY 1) SELECT * FROM c WHERE createTime >= '2026-01-05' "
      "ORDER BY createTime", ordered=True),
    q("ts-cte-max", "WITH m AS (SELECT max(createTime) AS latest FROM runs) "
      "SELECT latest > {ts:2026-03-15T18:45:30.25Z} AS after, "
      "latest = {ts:2026-03-15T20:45:30.25+02:00} AS same FROM m"),
    q("ts-scalar-subquery", "SELECT runsId FROM runs WHERE createTime = "
      f"(SELECT max(createTime) FROM runs WHERE {NOT_BIG})"),
    q("ts-max-compare-having", "SELECT labels ->> '$.status' AS s, max(createTime) AS latest "
      "FROM runs GROUP BY s HAVING latest >= {ts:2026-01-10T00:00:01.1199Z}"),
    q("ts-order-ties", "SELECT createTime FROM runs WHERE createTime <= {ts:2026-01-05T12:00:00Z}"
      " ORDER BY createTime", ordered=True),
    q("ts-scalar-max", f"SELECT runsId FROM runs WHERE max(createTime, updateTime) > "
      f"{{ts:2026-01-10T00:00:01.003600Z}} AND {NOT_BIG}"),
    q("ts-scalar-min-output", "SELECT runsId, min(updateTime, createTime) AS first FROM runs "
      "WHERE min(createTime, updateTime) <= {ts:2026-01-05 04:00:00-05:00}",
      empty="SELECT runsId, min(updateTime, createTime) AS first FROM runs WHERE 0"),
    q("ts-is", "SELECT runsId FROM runs WHERE createTime IS {ts:2026-01-05T11:00:00+02:00}"),
    q("ts-collate", "SELECT runsId FROM runs WHERE createTime = {ts:2026-01-05T11:00:00+02:00} "
      "COLLATE NOCASE OR createTime COLLATE NOCASE = ({ts:2026-01-05T00:00:00.000000Z})"),
    q("ts-julianday", f"SELECT runsId, julianday(updateTime) - julianday(createTime) > 0 "
      f"FROM runs WHERE {NOT_BIG}"),
    # -- ORDER BY, ties, LIMIT / OFFSET ---------------------------------------------------------
    q("order-create-name", "SELECT runsId, createTime FROM runs ORDER BY createTime, name",
      ordered=True),
    q("order-desc-limit", "SELECT name, createTime FROM runs "
      "ORDER BY createTime DESC, name DESC LIMIT 10", ordered=True),
    q("order-display-limit", "SELECT displayName, name FROM runs ORDER BY displayName, name "
      "LIMIT 5", ordered=True),
    q("order-name-offset", "SELECT name FROM runs ORDER BY name LIMIT 3 OFFSET 2", ordered=True),
    q("order-name-desc-1", "SELECT name FROM runs ORDER BY name DESC LIMIT 1", ordered=True),
    q("order-path-total", "SELECT tensorboardsId, experimentsId, runsId FROM runs "
      "ORDER BY createTime, runsId, tensorboardsId, experimentsId LIMIT 40", ordered=True),
    q("order-seed", "SELECT runsId, labels ->> '$.seed' FROM runs "
      f"WHERE {NOT_BIG} ORDER BY labels ->> '$.seed', name", ordered=True),
    q("order-length", "SELECT displayName FROM runs ORDER BY length(displayName) DESC, name "
      "LIMIT 7", ordered=True),
    q("order-ordinal", "SELECT name, displayName FROM runs ORDER BY 1 LIMIT 5", ordered=True),
    q("order-ties-unlimited", "SELECT runsId, createTime FROM runs ORDER BY createTime"),
    q("limit-0", "SELECT * FROM runs LIMIT 0"),
    q("order-deep-offset", "SELECT name FROM runs ORDER BY name LIMIT 5 OFFSET 1195",
      ordered=True),
    q("order-negative-limit", "SELECT name FROM runs ORDER BY name LIMIT -1 OFFSET 1210",
      ordered=True),
    q("order-nocase", "SELECT displayName FROM runs WHERE displayName NOT LIKE 'big%' "
      "ORDER BY displayName COLLATE NOCASE, name", ordered=True),
    q("order-description-desc", "SELECT description FROM runs "
      "ORDER BY description DESC, name LIMIT 5", ordered=True),
    q("order-update-desc", "SELECT runsId, updateTime FROM runs "
      "ORDER BY updateTime DESC, name LIMIT 3", ordered=True),
    q("order-filter-limit", "SELECT runsId FROM runs WHERE labels ->> '$.status' = 'failed' "
      "ORDER BY createTime DESC, name LIMIT 2", ordered=True),
    q("order-by-create-limit-filter-ts", "SELECT runsId FROM runs "
      "WHERE createTime >= {ts:2026-01-05T10:00:00Z} ORDER BY createTime, name LIMIT 4",
      ordered=True),
    q("page-column-alias", "SELECT displayName AS nextPageToken FROM runs ORDER BY name LIMIT 3",
      ordered=True),
    q("page-column-alias-list", "SELECT runsId AS tensorboardRuns, labels AS pageSize FROM runs "
      f"WHERE {NOT_BIG}"),
    q("alias-shadows-column", "SELECT displayName AS createTime FROM runs "
      "ORDER BY createTime LIMIT 3", ordered=True),
    q("order-desc-nulls", "SELECT labels ->> '$.flag' AS f, name FROM runs "
      "ORDER BY f DESC, name LIMIT 8", ordered=True),
    q("limit-no-order-whole", f"SELECT runsId FROM runs WHERE {NOT_BIG} LIMIT 100"),
    q("limit-offset-expression", "SELECT name FROM runs ORDER BY name LIMIT 1 + 1 OFFSET 2 * 2",
      ordered=True),
    q("order-big-page-boundary", "SELECT runsId FROM runs WHERE displayName LIKE 'big run%' "
      "ORDER BY createTime, runsId LIMIT 3 OFFSET 998", ordered=True),
    # -- GROUP BY, HAVING, DISTINCT, aggregates -------------------------------------------------
    q("group-experiment", "SELECT experimentsId, count(*) FROM runs GROUP BY experimentsId",
      empty="SELECT experimentsId, count(*) FROM runs WHERE 0 GROUP BY experimentsId"),
    q("group-ordinals", "SELECT tensorboardsId, experimentsId, count(*) AS n FROM runs "
      "GROUP BY 1, 2 ORDER BY 1, 2", ordered=True),
    q("group-status", "SELECT labels ->> '$.status' AS status, count(*) FROM runs "
      "GROUP BY status"),
    q("having-count", "SELECT labels ->> '$.status' AS status, count(*) AS n FROM runs "
      "GROUP BY status HAVING count(*) > 100"),
    q("count-distinct", "SELECT count(DISTINCT runsId), count(DISTINCT experimentsId) FROM runs"),
    q("count-columns", "SELECT count(description), count(labels), count(*) FROM runs"),
    q("sum-total-avg", "SELECT sum(CAST(labels ->> '$.seed' AS INTEGER)), "
      "total(CAST(labels ->> '$.seed' AS INTEGER)), avg(CAST(labels ->> '$.seed' AS INTEGER)) "
      "FROM runs", empty="SELECT sum(CAST(labels ->> '$.seed' AS INTEGER)), "
      "total(CAST(labels ->> '$.seed' AS INTEGER)), avg(CAST(labels ->> '$.seed' AS INTEGER)) "
      "FROM runs LIMIT 0"),
    q("min-max-text", "SELECT min(displayName), max(displayName) FROM runs"),
    q("group-concat-ordered-subquery", "SELECT group_concat(runsId, ',') FROM "
      f"(SELECT runsId FROM runs WHERE {SHARED} ORDER BY runsId)"),
    q("sum-boolean-expression", "SELECT experimentsId, sum(labels ->> '$.status' = 'failed') "
      "AS failed FROM runs GROUP BY experimentsId"),
    q("group-day", "SELECT date(createTime) AS day, count(*) FROM runs GROUP BY day "
      "ORDER BY day", ordered=True),
    q("distinct-experiment", "SELECT DISTINCT experimentsId FROM runs"),
    q("distinct-status", "SELECT DISTINCT labels ->> '$.status' FROM runs"),
    q("distinct-runsId", "SELECT DISTINCT runsId FROM runs WHERE runsId LIKE 'r%'"),
    q("count-distinct-subquery", "SELECT count(*) FROM (SELECT DISTINCT displayName FROM runs)"),
    # A column typed by its data whose first rows are NULL: typed by its first value.
    q("cast-numeric-nulls-first", "SELECT runsId, CAST(labels ->> '$.seed' AS NUMERIC) AS seed "
      f"FROM runs WHERE {NOT_BIG} ORDER BY seed, runsId", ordered=True),
    q("sum-text-null-groups-first", "SELECT experimentsId, sum(labels ->> '$.team') FROM runs "
      "GROUP BY 1 ORDER BY 1", ordered=True),
    q("max-numeric-null-groups-first", "SELECT displayName, "
      "max(CAST(labels ->> '$.tier' AS NUMERIC)) FROM tensorboards GROUP BY 1 ORDER BY 1 DESC",
      ordered=True),
    q("tensorboard-aggregates", "SELECT max(runCount), sum(runCount), min(isDefault), "
      "max(isDefault) FROM tensorboards"),
    q("avg-length", "SELECT avg(length(displayName)) FROM runs"),
    q("bucket-times", "SELECT labels ->> '$.bucket' AS b, min(createTime), max(createTime), "
      "count(*) FROM runs GROUP BY b"),
    q("sum-empty", "SELECT sum(length(displayName)), total(1), count(*), max(createTime) "
      "FROM runs WHERE 0"),
    q("count-filter-clause", "SELECT count(*) FILTER (WHERE labels ->> '$.status' = 'failed'), "
      "count(*) FROM runs"),
    q("group-having-alias", "SELECT labels ->> '$.seed' AS seed, count(*) AS n FROM runs "
      "GROUP BY seed HAVING n BETWEEN 2 AND 80"),
    q("group-by-boolean", "SELECT isDefault, count(*) FROM tensorboards GROUP BY isDefault"),
    q("group-labels-team", "SELECT labels ->> '$.team' AS team, count(*) FROM runs "
      "GROUP BY team"),
    q("distinct-on-expression", "SELECT DISTINCT substr(displayName, 1, 7) FROM runs"),
    q("group-concat-distinct-single", f"SELECT group_concat(DISTINCT experimentsId) FROM runs "
      f"WHERE {SHARED}"),
    # -- window functions -----------------------------------------------------------------------
    q("row-number-first-two", "SELECT tensorboardsId, experimentsId, runsId, rn FROM "
      "(SELECT tensorboardsId, experimentsId, runsId, row_number() OVER (PARTITION BY "
      "tensorboardsId, experimentsId ORDER BY createTime, runsId) AS rn FROM runs) "
      "WHERE rn <= 2"),
    q("rank-ties", f"SELECT runsId, rank() OVER (ORDER BY createTime) AS r FROM runs "
      f"WHERE {NOT_BIG}"),
    q("count-over-partition", "SELECT runsId, count(*) OVER (PARTITION BY labels ->> '$.status')"
      f" FROM runs WHERE {NOT_BIG}"),
    q("lag", "SELECT runsId, lag(runsId) OVER (PARTITION BY tensorboardsId, experimentsId "
      f"ORDER BY createTime, runsId) AS previous FROM runs WHERE {NOT_BIG}"),
    q("dense-rank-day", "SELECT DISTINCT date(createTime), dense_rank() OVER "
      "(ORDER BY date(createTime)) FROM runs"),
    q("lead-default-literal", "SELECT runsId, lead(createTime, 1, '2000-01-01') OVER "
      f"(ORDER BY name) AS next FROM runs WHERE {NOT_BIG}"),
    q("lag-default-column", "SELECT runsId, lag(updateTime, 1, createTime) OVER (ORDER BY name) "
      f"AS previous, lag(labels, 2, '{{}}') OVER (ORDER BY name) FROM runs WHERE {NOT_BIG}"),
    q("lag-default-null", "SELECT runsId, lag(createTime, 1, NULL) OVER (ORDER BY name) "
      f"FROM runs WHERE {NOT_BIG}"),
    q("sum-over-all", f"SELECT runsId, count(*) OVER () FROM runs WHERE {NOT_BIG}"),
    q("first-value-time", "SELECT DISTINCT experimentsId, first_value(createTime) OVER "
      "(PARTITION BY tensorboardsId, experimentsId ORDER BY createTime, runsId) FROM runs"),
    # -- joins -------------------------------------------------------------------------------
    q("join-experiments", "SELECT r.runsId, e.displayName FROM runs AS r JOIN experiments AS e "
      "ON e.tensorboardsId = r.tensorboardsId AND e.experimentsId = r.experimentsId "
      f"WHERE r.{NOT_BIG}"),
    q("join-three", "SELECT t.displayName, e.experimentsId, count(*) FROM runs r "
      "JOIN experiments e ON e.tensorboardsId = r.tensorboardsId AND "
      "e.experimentsId = r.experimentsId JOIN tensorboards t ON t.tensorboardsId = "
      "e.tensorboardsId GROUP BY t.displayName, e.experimentsId"),
    q("left-join-empty-experiments", "SELECT e.tensorboardsId, e.experimentsId, count(r.runsId) "
      "FROM experiments e LEFT JOIN runs r ON r.tensorboardsId = e.tensorboardsId AND "
      "r.experimentsId = e.experimentsId GROUP BY e.tensorboardsId, e.experimentsId"),
    q("left-join-tensorboards", "SELECT t.displayName, t.runCount, count(r.name) AS listed "
      "FROM tensorboards t LEFT JOIN runs r ON r.tensorboardsId = t.tensorboardsId "
      "GROUP BY t.tensorboardsId"),
    q("join-using", "SELECT runsId, e.description FROM runs JOIN experiments e "
      f"USING (tensorboardsId, experimentsId) WHERE runs.{NOT_BIG}"),
    q("join-using-star", "SELECT * FROM experiments JOIN tensorboards USING (tensorboardsId)"),
    q("natural-join-raw", "SELECT count(*) FROM runs NATURAL JOIN experiments"),
    q("natural-join-projections", "SELECT * FROM (SELECT tensorboardsId, experimentsId, runsId "
      "FROM runs WHERE runsId LIKE 'r%') NATURAL JOIN (SELECT tensorboardsId, experimentsId, "
      "displayName FROM experiments)"),
    q("self-join-run-id", "SELECT a.name, b.name FROM runs a JOIN runs b "
      "ON a.runsId = b.runsId AND a.name < b.name"),
    q("self-join-display-name", "SELECT a.experimentsId, b.experimentsId, a.displayName "
      "FROM runs a JOIN runs b ON a.displayName = b.displayName AND a.name != b.name"),
    q("join-label-team", "SELECT r.runsId FROM runs r JOIN experiments e "
      "ON e.tensorboardsId = r.tensorboardsId AND e.experimentsId = r.experimentsId "
      "WHERE r.labels ->> '$.team' = e.labels ->> '$.team'"),
    q("cross-join-count", "SELECT count(*) FROM tensorboards CROSS JOIN experiments"),
    q("join-boolean", "SELECT e.experimentsId, t.isDefault FROM experiments e "
      "JOIN tensorboards t USING (tensorboardsId)"),
    q("join-same-names", "SELECT r.displayName, e.displayName, r.createTime, e.createTime "
      "FROM runs r JOIN experiments e ON e.tensorboardsId = r.tensorboardsId "
      f"AND e.experimentsId = r.experimentsId WHERE r.{NOT_BIG}"),
    q("join-timestamps-compare", "SELECT r.runsId FROM runs r JOIN experiments e "
      "ON e.tensorboardsId = r.tensorboardsId AND e.experimentsId = r.experimentsId "
      "WHERE r.createTime > e.createTime AND r.createTime < {ts:2026-01-05T09:00:00.000001Z}"),
    q("join-qualified-star", "SELECT e.*, t.runCount FROM experiments e JOIN tensorboards t "
      "ON t.tensorboardsId = e.tensorboardsId"),
    q("join-json-each-labels", "SELECT e.experimentsId, j.key FROM experiments e, "
      "json_each(e.labels) j"),
    # -- subqueries, EXISTS, compound, CTEs -----------------------------------------------------
    q("correlated-count", "SELECT runsId, (SELECT count(*) FROM runs b WHERE b.runsId = "
      "a.runsId) AS same FROM runs a WHERE a.runsId LIKE 'r%'"),
    q("exists", "SELECT e.tensorboardsId, e.experimentsId FROM experiments e WHERE EXISTS "
      "(SELECT 1 FROM runs r WHERE r.experimentsId = e.experimentsId "
      "AND r.tensorboardsId = e.tensorboardsId)"),
    q("not-exists", "SELECT e.tensorboardsId, e.experimentsId FROM experiments e WHERE NOT EXISTS "
      "(SELECT 1 FROM runs r WHERE r.experimentsId = e.experimentsId "
      "AND r.tensorboardsId = e.tensorboardsId)"),
    q("in-subquery", "SELECT displayName FROM runs WHERE runsId IN "
      "(SELECT runsId FROM runs GROUP BY runsId HAVING count(*) > 1)"),
    q("scalar-subqueries", "SELECT (SELECT count(*) FROM runs) AS runs, "
      "(SELECT count(*) FROM experiments) AS experiments, (SELECT count(*) FROM tensorboards)"),
    q("scalar-subquery-min", f"SELECT runsId FROM runs WHERE createTime > "
      f"(SELECT min(createTime) FROM runs) AND {NOT_BIG}"),
    q("scalar-subquery-select-list", "SELECT displayName, (SELECT max(createTime) FROM runs) "
      "AS latest FROM tensorboards"),
    q("superset-virtual-table", "SELECT displayName AS displayName, count(*) AS count FROM "
      "(SELECT * FROM runs) AS virtual_table GROUP BY displayName "
      "ORDER BY count DESC, displayName LIMIT 1000", ordered=True),
    q("superset-virtual-limit", f"SELECT * FROM (SELECT runsId, createTime, labels FROM runs "
      f"WHERE {NOT_BIG}) AS virtual_table LIMIT 1000"),
    q("superset-timeseries", "SELECT datetime(createTime, 'start of day') AS __timestamp, "
      "count(*) AS count FROM (SELECT * FROM runs) AS virtual_table "
      "WHERE createTime >= {ts:2026-01-01 00:00:00.000000} "
      "AND createTime < {ts:2026-02-01 00:00:00.000000} "
      "GROUP BY datetime(createTime, 'start of day') ORDER BY count DESC, __timestamp "
      "LIMIT 10000", ordered=True),
    q("superset-metric-filter", "SELECT labels ->> '$.status' AS status, count(*) AS count "
      "FROM (SELECT * FROM runs WHERE labels ->> '$.status' IN ('failed', 'running')) "
      "AS virtual_table GROUP BY labels ->> '$.status' ORDER BY count DESC LIMIT 1000",
      ordered=True),
    q("superset-columns-probe", "SELECT * FROM (SELECT * FROM runs) AS virtual_table LIMIT 0"),
    q("nested-from", "SELECT x.n FROM (SELECT count(*) AS n FROM (SELECT * FROM runs "
      "WHERE labels ->> '$.status' = 'failed')) AS x"),
    q("union", "SELECT runsId FROM runs WHERE runsId LIKE 'r%' UNION "
      "SELECT experimentsId FROM experiments"),
    q("union-all", "SELECT runsId AS id FROM runs WHERE runsId LIKE 'r0%' UNION ALL "
      "SELECT experimentsId FROM experiments"),
    q("intersect", "SELECT runsId FROM runs WHERE tensorboardsId = '{main}' INTERSECT "
      "SELECT runsId FROM runs WHERE tensorboardsId = '{second}'"),
    q("except", "SELECT runsId FROM runs WHERE runsId LIKE 'r%' EXCEPT "
      "SELECT runsId FROM runs WHERE tensorboardsId = '{second}'"),
    q("union-ordered", "SELECT displayName FROM runs WHERE displayName NOT LIKE 'big%' UNION "
      "SELECT displayName FROM experiments ORDER BY 1", ordered=True),
    q("union-timestamps-limit", "SELECT createTime FROM runs UNION SELECT createTime "
      "FROM experiments ORDER BY 1 LIMIT 5", ordered=True),
    q("union-mixed-types", "SELECT runCount AS v FROM tensorboards UNION ALL "
      "SELECT isDefault FROM tensorboards"),
    q("cte-count", "WITH s AS (SELECT * FROM runs WHERE labels ->> '$.status' = 'failed') "
      "SELECT count(*) FROM s"),
    q("cte-recursive", "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
      "WHERE i < 3) SELECT i, (SELECT count(*) FROM runs WHERE labels ->> '$.seed' = "
      "CAST(i AS TEXT)) AS runs FROM n", ordered=True),
    q("cte-left-join", "WITH per AS (SELECT tensorboardsId, experimentsId, count(*) AS n "
      "FROM runs GROUP BY 1, 2) SELECT e.displayName, coalesce(per.n, 0) FROM experiments e "
      "LEFT JOIN per USING (tensorboardsId, experimentsId)"),
    q("cte-two", "WITH a AS (SELECT runsId FROM runs WHERE labels ->> '$.flag' = 'true'), "
      "b AS (SELECT runsId FROM runs WHERE labels ->> '$.team' = 'nlp') "
      "SELECT runsId FROM a INTERSECT SELECT runsId FROM b"),
    q("cte-star", "WITH c AS (SELECT * FROM tensorboards) SELECT * FROM c"),
    q("cte-shadows-table", "WITH runs AS (SELECT 'not a run' AS displayName) "
      "SELECT displayName FROM runs"),
    # -- experiments and tensorboards -----------------------------------------------------------
    q("experiment-columns", "SELECT experimentsId, displayName, description, source "
      "FROM experiments"),
    q("experiment-source-empty", "SELECT experimentsId FROM experiments WHERE source = ''"),
    q("experiment-source-sdk", "SELECT experimentsId FROM experiments WHERE source = 'sdk'"),
    q("experiment-source-null", "SELECT count(*) FROM experiments WHERE source IS NULL"),
    q("experiment-no-display-name", "SELECT experimentsId FROM experiments "
      "WHERE displayName = ''"),
    q("experiment-no-labels", "SELECT experimentsId, labels FROM experiments "
      "WHERE labels = '{{}}'"),
    q("experiment-label", "SELECT experimentsId, labels ->> '$.team' FROM experiments"),
    q("experiment-like-quote", "SELECT experimentsId FROM experiments "
      "WHERE displayName LIKE '%''quoted''%'"),
    q("experiment-description-backslash", "SELECT experimentsId FROM experiments "
      "WHERE description = '50% of a_b \\ c'"),
    q("experiment-order", "SELECT tensorboardsId, experimentsId FROM experiments "
      "ORDER BY createTime DESC, name", ordered=True),
    q("experiment-in-shared", "SELECT tensorboardsId FROM experiments "
      "WHERE experimentsId = 'shared'"),
    q("experiments-of-vacant", "SELECT count(*) FROM experiments "
      "WHERE tensorboardsId = '{vacant}'"),
    q("tensorboard-empty-runcount", "SELECT tensorboardsId, displayName, runCount "
      "FROM tensorboards WHERE runCount = 0"),
    q("tensorboard-runcount-order", "SELECT displayName, runCount FROM tensorboards "
      "WHERE runCount > 0 ORDER BY runCount DESC", ordered=True),
    q("is-default-bare", "SELECT displayName FROM tensorboards WHERE isDefault"),
    q("is-default-eq-1", "SELECT displayName FROM tensorboards WHERE isDefault = 1"),
    q("is-default-eq-true", "SELECT displayName FROM tensorboards WHERE isDefault = true"),
    q("is-default-not", "SELECT displayName FROM tensorboards WHERE NOT isDefault"),
    q("is-default-eq-0", "SELECT displayName FROM tensorboards WHERE isDefault = 0"),
    q("is-default-false", "SELECT displayName FROM tensorboards WHERE isDefault = false"),
    q("is-default-null", "SELECT count(*) FROM tensorboards WHERE isDefault IS NULL"),
    q("tensorboard-columns", "SELECT displayName, isDefault, runCount, blobStoragePathPrefix "
      "FROM tensorboards", empty="SELECT displayName, isDefault, runCount, "
      "blobStoragePathPrefix FROM tensorboards WHERE 0"),
    q("blob-prefix-empty", "SELECT displayName, blobStoragePathPrefix = '' FROM tensorboards"),
    q("runcount-sum", "SELECT sum(runCount) FROM tensorboards"),
    q("runcount-arithmetic", "SELECT displayName, runCount + 1, runCount * 2.5 FROM tensorboards"),
    q("tensorboard-description-like", "SELECT displayName FROM tensorboards "
      "WHERE description LIKE '%é%'"),
    q("tensorboard-description-empty", "SELECT displayName FROM tensorboards "
      "WHERE description = ''"),
    q("is-default-case", "SELECT displayName, CASE WHEN isDefault THEN 'default' ELSE 'other' END "
      "FROM tensorboards"),
    q("is-default-expression", "SELECT displayName, NOT isDefault, isDefault + 0 "
      "FROM tensorboards"),
    q("tensorboard-labels", "SELECT displayName, labels, labels ->> '$.tier' FROM tensorboards",
      empty="SELECT displayName, labels, labels ->> '$.tier' FROM tensorboards WHERE 0"),
    q("tensorboard-order-name", "SELECT displayName, tensorboardsId FROM tensorboards "
      "ORDER BY displayName", ordered=True),
    q("tensorboard-created", "SELECT displayName FROM tensorboards "
      "WHERE createTime > {ts:2025-12-01T09:00:00.0015+01:00}"),
    q("tensorboard-get", "SELECT displayName, runCount FROM tensorboards "
      "WHERE tensorboardsId = '{vacant}'"),
    # -- empty results --------------------------------------------------------------------------
    q("where-0", "SELECT runsId, createTime, labels FROM runs WHERE 0"),
    q("where-false-comparison", "SELECT * FROM runs WHERE 1 = 0"),
    q("no-such-display-name", "SELECT runsId, labels FROM runs "
      "WHERE displayName = 'no such run'"),
    q("midnight-run", "SELECT runsId, labels, createTime FROM runs WHERE displayName = 'midnight'",
      empty="SELECT runsId, labels, createTime FROM runs WHERE displayName = 'no such run'"),
    q("before-everything", "SELECT runsId FROM runs WHERE createTime < {ts:2000-01-01}"),
    q("empty-experiment-star", "SELECT * FROM runs WHERE experimentsId = 'empty-exp'"),
    q("empty-group", "SELECT experimentsId, count(*) FROM runs WHERE displayName = 'nope' "
      "GROUP BY experimentsId"),
    q("empty-join", "SELECT r.runsId, e.displayName FROM runs r JOIN experiments e "
      "ON e.experimentsId = r.experimentsId WHERE r.displayName = 'nope'"),
]

# Modes: (connect() path options, push-down, which rows the mode's reference holds).
MODES: dict[str, tuple[dict[str, str], bool]] = {
    "fanout": ({}, True),
    "fanout-nopush": ({}, False),
    "board": ({"tensorboard": "{main}"}, True),
    "bound": ({"tensorboard": "{main}", "experiment": "shared"}, True),
    "bound-nopush": ({"tensorboard": "{main}", "experiment": "shared"}, False),
}

_PATH_CONSTANT = re.compile(
    r"(projectsId|locationsId|tensorboardsId|experimentsId|\bname)[\"`\]]?\s*"
    r"(=|==|!=|<>|IN\b|NOT\s+IN\b|LIKE|GLOB|BETWEEN)\s*['(?\d+-]"
    # ... or with the constant first: 'shared' = experimentsId
    r"|['?\d]\s*(=|==|!=|<>)\s*(\w+\.)?[\"`\[]?(projectsId|locationsId|tensorboardsId|experimentsId|"
    r"name\b)", re.IGNORECASE)


def names_path(sql: str) -> bool:
    """Whether the statement names a path parameter (or a resource name) with a constant (a
    literal or a bound parameter)."""
    return _PATH_CONSTANT.search(sql) is not None


def cases() -> Iterator[Any]:
    for mode, (options, _) in MODES.items():
        for query in QUERIES:
            if options and names_path(query.sql):
                continue
            yield pytest.param(mode, query, id=f"{mode}-{query.id}")


def empty_cases() -> Iterator[Any]:
    for mode, (options, _) in MODES.items():
        for query in QUERIES:
            if query.empty is not None and not (options and names_path(query.sql)):
                yield pytest.param(mode, query, id=f"{mode}-{query.id}")


# -- fixtures ---------------------------------------------------------------------------------


@dataclass
class Env:
    world: World
    listing: Listing
    connections: dict[str, Any]
    references: dict[str, Reference]
    number: str
    emulator: Emulator


def _keeps(mode: str, world: World) -> Callable[[str, dict[str, str]], bool]:
    options = {k: v.replace("{main}", world.main) for k, v in MODES[mode][0].items()}
    path = {"tensorboardsId": options.get("tensorboard"),
            "experimentsId": options.get("experiment")}

    def keep(table: str, row_path: dict[str, str]) -> bool:
        parents = TABLES[table].parent_path
        return all(row_path[k] == v for k, v in path.items() if v and k in parents)
    return keep


def open_env(emu: Emulator) -> Env:
    """The exactness world built on `emu`, a driver connection per mode and their references
    (the corpus's fixture, and the fuzzer's: tests/driver/sql/fuzz_exactness.py)."""
    world = build_world(emu)
    listing = list_everything(emu.url)
    assert sum(1 for t, _, _ in listing.rows if t == "runs") == 15 + 1200 + 4
    connections = {}
    for mode, (options, pushdown) in MODES.items():
        connections[mode] = runs_dbapi.connect(
            endpoint=emu.url, anonymous=True, project=PROJECT, location=LOCATION,
            pushdown=pushdown,
            **{k: v.replace("{main}", world.main) for k, v in options.items()})
    references = {mode: reference(listing, _keeps(mode, world)) for mode in MODES}
    return Env(world, listing, connections, references, project_number(PROJECT), emu)


@pytest.fixture(scope="module")
def env(module_emu: Emulator) -> Iterator[Env]:
    opened = open_env(module_emu)
    yield opened
    for connection in opened.connections.values():
        connection.close()


# -- statements: driver text and reference text -----------------------------------------------

_TS = re.compile(r"\{ts:([^}]*)\}")


def texts(query_sql: str, env: Env) -> tuple[str, str]:
    """(the driver's SQL, the reference's SQL): `{ts:X}` becomes `'X'` for the driver and the
    canonical UTC text of X for the reference; `{main}`, `{second}`, `{vacant}`, `{number}` are
    the tensorboard IDs and the project number; `{pid}` (in a resource name) is the project ID
    for the driver and the project number for the reference; `{{`/`}}` are braces."""
    def fill(sql: str) -> str:
        for key, value in (("main", env.world.main), ("second", env.world.boards["second"]),
                           ("vacant", env.world.boards["vacant"]), ("number", env.number)):
            sql = sql.replace("{" + key + "}", value)
        return sql.replace("{{", "{").replace("}}", "}")
    driver = fill(_TS.sub(lambda m: "'" + m.group(1) + "'", query_sql)).replace("{pid}", PROJECT)
    ref = fill(_TS.sub(lambda m: "'" + canonical_timestamp(m.group(1)) + "'", query_sql)
               ).replace("{pid}", env.number)
    return driver, ref


def bound(params: tuple[Any, ...]) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """(the driver's parameters, the reference's): a str parameter that is all `{ts:X}` is X
    for the driver and the canonical UTC text of X for the reference (as in `texts`)."""
    def one(value: Any, canonical: bool) -> Any:
        match = _TS.fullmatch(value) if isinstance(value, str) else None
        if match is None:
            return value
        return canonical_timestamp(match.group(1)) if canonical else match.group(1)
    return tuple(one(v, False) for v in params), tuple(one(v, True) for v in params)


# -- running and normalising --------------------------------------------------------------------


@dataclass
class Answer:
    names: list[str]
    codes: list[str]
    rows: list[Row]
    rowcount: int


def run_driver(connection: Any, sql: str, params: tuple[Any, ...] = ()) -> Answer:
    cursor = connection.cursor()
    try:
        cursor.execute(sql, params) if params else cursor.execute(sql)
        rows = cursor.fetchall()
        assert cursor.description is not None, "no description after a SELECT"
        return Answer([d[0] for d in cursor.description], [d[1] for d in cursor.description],
                      [tuple(r) for r in rows], cursor.rowcount)
    finally:
        cursor.close()


def run_reference(db: sqlite3.Connection, sql: str, params: tuple[Any, ...] = ()) -> Answer:
    cursor = db.execute(sql, params)
    rows = cursor.fetchall()
    return Answer([d[0] for d in cursor.description], [], rows, cursor.rowcount)


def bare_reference_types(db: sqlite3.Connection, sql: str,
                         params: tuple[Any, ...] = ()) -> list[str | None]:
    """Per output column, the catalog type of the table column it is a bare reference to
    (sqlite's declared type of the result column), or None."""
    cursor = db.execute(sql, params)
    found: list[str | None] = [None] * len(cursor.description)
    for row in cursor:
        for index, value in enumerate(row):
            if isinstance(value, Tagged):
                found[index] = value.kind
    return found


PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "TIMESTAMP": (datetime,), "JSON": (dict, list), "BOOLEAN": (bool,), "INTEGER": (int,),
    "FLOAT": (float,), "STRING": (str,), "BINARY": (bytes,), "BYTES": (bytes,),
}


def type_agrees(code: str, value: Any) -> bool:
    if value is None:
        return True
    allowed = PYTHON_TYPES.get(str(code))
    if allowed is None:
        return False
    if isinstance(value, bool) and bool not in allowed:
        return False
    return isinstance(value, allowed)


def normalise(value: Any) -> Any:
    """A driver value in the local (sqlite) form: datetime -> UTC text, dict/list -> compact
    JSON text, bool -> int. A naive or non-UTC datetime stays as it is (and so differs)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        if value.utcoffset() != timedelta(0):
            return value
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return value


def typed(row: Row) -> tuple[tuple[str, Any], ...]:
    """A row whose values compare with their Python type ('1' != 1 != 1.0 != True)."""
    return tuple((type(v).__name__, v) for v in row)


def show(row: Row | None) -> str:
    return "<none>" if row is None else "(" + ", ".join(
        f"{v!r}:{type(v).__name__}" for v in row) + ")"


def row_diff(expected: list[Row], got: list[Row], ordered: bool) -> str | None:
    want = [typed(r) for r in expected]
    have = [typed(r) for r in got]
    if ordered:
        if want == have:
            return None
        index = next((i for i, (a, b) in enumerate(zip(want, have, strict=False)) if a != b),
                     min(len(want), len(have)))
        want_row = expected[index] if index < len(expected) else None
        have_row = got[index] if index < len(got) else None
        return (f"rows differ (in order) at row {index} of {len(expected)} expected / "
                f"{len(got)} got:\n  expected {show(want_row)}\n  got      {show(have_row)}")
    missing = Counter(want) - Counter(have)
    extra = Counter(have) - Counter(want)
    if not missing and not extra:
        return None
    lines = [f"rows differ (as multisets): {len(expected)} expected, {len(got)} got, "
             f"{sum(missing.values())} missing, {sum(extra.values())} unexpected"]
    for label, rows in (("missing", missing), ("unexpected", extra)):
        for row in list(rows)[:3]:
            lines.append(f"  {label}: {show(tuple(v for _, v in row))}")
    return "\n".join(lines)


def reference_answer(ref: Reference, sql: str, ordered: bool,
                     params: tuple[Any, ...] = ()) -> Answer:
    forward = run_reference(ref.forward, sql, params)
    backward = run_reference(ref.backward, sql, params)
    ambiguous = row_diff(forward.rows, backward.rows, ordered)
    assert ambiguous is None, (
        f"corpus error: the reference answer depends on row order, so the query has no single "
        f"expected answer ({'the ORDER BY is not total' if ordered else 'nondeterministic'}):"
        f"\n{ambiguous}")
    return forward


def compare(env: Env, mode: str, query: Q) -> list[str]:
    driver_sql, ref_sql = texts(query.sql, env)
    driver_params, ref_params = bound(query.params)
    ref = env.references[mode]
    expected = reference_answer(ref, ref_sql, query.ordered, ref_params)
    bare = bare_reference_types(ref.tagged, ref_sql, ref_params)
    try:
        got = run_driver(env.connections[mode], driver_sql, driver_params)
    except Exception as error:  # any driver error is this case's failure
        return [f"driver raised {type(error).__name__}: {error}"]
    problems = []
    if got.names != expected.names:
        problems.append(f"column names differ:\n  expected {expected.names}\n"
                        f"  got      {got.names}")
    for index, code in enumerate(got.codes):
        name = got.names[index]
        wrong = next((r[index] for r in got.rows if not type_agrees(code, r[index])), None)
        if wrong is not None:
            problems.append(f"column {index} ({name!r}) has type code {code} but holds "
                            f"{wrong!r} ({type(wrong).__name__})")
        if index < len(bare) and bare[index] is not None and code != bare[index]:
            problems.append(f"column {index} ({name!r}) is a bare reference to a "
                            f"{bare[index]} column but has type code {code}")
    diff = row_diff(expected.rows, [tuple(normalise(v) for v in r) for r in got.rows],
                    query.ordered)
    if diff:
        problems.append(diff)
    if got.rowcount != -1 or expected.rowcount != -1:
        problems.append(f"rowcount after a SELECT: expected -1 (sqlite3 reports "
                        f"{expected.rowcount}), got {got.rowcount}")
    return problems


def report(mode: str, query: Q, env: Env, problems: list[str]) -> str:
    driver_sql, ref_sql = texts(query.sql, env)
    head = f"[{mode}] {driver_sql}"
    if query.params:
        head += f"\n  parameters {bound(query.params)[0]!r}"
    if ref_sql != driver_sql:
        head += f"\n  (reference SQL: {ref_sql})"
    return head + "\n" + "\n".join(problems)


# -- the tests ----------------------------------------------------------------------------------


INJECTED: list[int] = []  # faults injected while each retries case ran


@pytest.fixture
def faulty(env: Env) -> Iterator[None]:
    """A fanned-out connection with quick retries, under 20% injected failures of reads."""
    emu = env.emulator
    env.connections["faults"] = runs_dbapi.connect(
        endpoint=emu.url, anonymous=True, project=PROJECT, location=LOCATION,
        retry=RetryPolicy(initial_backoff=0.001, max_backoff=0.005, max_attempts=12))
    env.references["faults"] = env.references["fanout"]
    emu.set_faults(FaultPlan(rate=0.2, kinds=("429", "500", "503", "reset", "lost_response"),
                             seed=len(env.connections)))
    emu.reset_stats()
    try:
        yield
    finally:
        INJECTED.append(sum(emu.stats()["faults"].values()))
        emu.set_faults(None)
        env.connections.pop("faults").close()
        env.references.pop("faults")


def test_corpus_size() -> None:
    assert len(QUERIES) >= 200
    assert len({query.id for query in QUERIES}) == len(QUERIES), "query ids must be unique"
    assert sum(1 for query in QUERIES if query.empty) >= 15


@pytest.mark.parametrize(("mode", "query"), list(cases()))
def test_exact_answer(env: Env, mode: str, query: Q) -> None:
    problems = compare(env, mode, query)
    assert not problems, report(mode, query, env, problems)


@pytest.mark.parametrize(("mode", "query"), list(empty_cases()))
def test_types_when_empty(env: Env, mode: str, query: Q) -> None:
    """The same query returning no rows: same names as sqlite3, no rows, and the type codes of
    the query that returns rows."""
    assert query.empty is not None
    driver_sql, _ = texts(query.sql, env)
    empty_driver, empty_ref = texts(query.empty, env)
    driver_params, ref_params = bound(query.params)
    expected = run_reference(env.references[mode].forward, empty_ref, ref_params)
    assert expected.rows == [], f"corpus error: the empty variant has rows: {query.empty}"
    full = run_driver(env.connections[mode], driver_sql, driver_params)
    assert full.rows, f"corpus error: the query returns no rows in {mode}: {driver_sql}"
    empty = run_driver(env.connections[mode], empty_driver, driver_params)
    problems = []
    if empty.names != expected.names:
        problems.append(f"column names differ:\n  expected {expected.names}\n  got      "
                        f"{empty.names}")
    if empty.rows:
        problems.append(f"expected no rows, got {len(empty.rows)}: {show(empty.rows[0])}")
    if empty.codes != full.codes:
        problems.append(f"type codes differ when no rows come back:\n  with rows    "
                        f"{full.codes}\n  without rows {empty.codes}")
    assert not problems, f"[{mode}] {empty_driver}\n" + "\n".join(problems)


def test_canonical_timestamp() -> None:
    """The reference's reading of timestamp literals (the module docstring's rule)."""
    assert canonical_timestamp("2026-01-05") == "2026-01-05 00:00:00.000000"
    assert canonical_timestamp("2026-01-05T11:00:00+02:00") == "2026-01-05 09:00:00.000000"
    assert canonical_timestamp("2026-01-05 01:00:00-05:00") == "2026-01-05 06:00:00.000000"
    assert canonical_timestamp("2026-01-05T00:30:00+01:00") == "2026-01-04 23:30:00.000000"
    assert canonical_timestamp("2026-01-05T10:11:57.957524001Z") == "2026-01-05 10:11:57.957524001"
    assert canonical_timestamp("2026-01-05T10:11:57.957524000Z") == "2026-01-05 10:11:57.957524"
    assert canonical_timestamp("2026-01-05T10:11:57.5Z") == "2026-01-05 10:11:57.500000"


def test_comparison_is_strict() -> None:
    """The comparison tells apart what sqlite3 tells apart: '1', 1, 1.0 and True; row order
    only where the query orders; and a datetime that is not UTC."""
    assert row_diff([("1",)], [(1,)], ordered=False) is not None
    assert row_diff([(1,)], [(1.0,)], ordered=False) is not None
    assert row_diff([(1,)], [(normalise(True),)], ordered=False) is None
    assert row_diff([("a",), ("b",)], [("b",), ("a",)], ordered=False) is None
    assert row_diff([("a",), ("b",)], [("b",), ("a",)], ordered=True) is not None
    assert row_diff([("a",), ("a",)], [("a",)], ordered=False) is not None
    local = datetime.fromisoformat("2026-01-05T11:00:00+02:00")
    assert normalise(local) is local
    assert normalise(local.astimezone(UTC)) == "2026-01-05 09:00:00.000000"
    assert normalise({"k": "日本"}) == '{"k":"日本"}'
    assert not type_agrees("JSON", "{}") and not type_agrees("INTEGER", True)
    assert type_agrees("BOOLEAN", False) and type_agrees("STRING", None)


# Every fifth query, fanned out with push-down, while the emulator fails 20% of the calls (429,
# 500, 503, resets, lost answers): retries must not change an answer.
FAULTY = [q for index, q in enumerate(QUERIES) if index % 5 == 0]


@pytest.mark.parametrize("query", FAULTY, ids=[q.id for q in FAULTY])
def test_exact_answer_with_retries(env: Env, faulty: Any, query: Q) -> None:
    problems = compare(env, "faults", query)
    assert not problems, report("faults", query, env, problems)


def test_retries_cases_met_faults() -> None:
    """The retries cases above ran under injected faults (not a run without any)."""
    assert len(INJECTED) == len(FAULTY)
    assert sum(INJECTED) >= len(FAULTY) // 2, INJECTED
