"""A catalogue of bad input: each case raises the PEP 249 exception it must, with a message that
names the problem and the fix, before any write call reaches the API.

Each row is (id, SQL, parameters, connection, expected exception class, message regex). The
connection is "full" (project, location, tensorboard and experiment given), "noproject" or
"nolocation". Every case is checked to raise a `runs_dbapi.Error` of exactly the class given
(never a bare Python exception), with the emulator's counters showing no create, batchCreate,
patch, delete or write call.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from support.world import LOCATION, PROJECT, World

import runs_dbapi
from runs_dbapi.exceptions import DataError, NotSupportedError, ProgrammingError

WRITE_METHODS = {f"{collection}.{method}" for collection in ("tensorboards", "experiments",
                                                             "runs", "timeSeries")
                 for method in ("create", "batchCreate", "patch", "delete", "write")}
TB = "1000000000000000001"  # the demo tensorboard (checked by the fixture)
EXEC_PATH = (f"@projectsId='{PROJECT}', @locationsId='{LOCATION}', @tensorboardsId='{TB}', "
             "@experimentsId='bert-glue', @runsId='bert-glue-0001'")
SEED_BATCH = ("INSERT INTO google.aiplatform.runs (data__requests, projectsId, locationsId, "
              f"tensorboardsId, experimentsId) SELECT ?, '{PROJECT}', '{LOCATION}', '{TB}', "
              "'bad-input'")
LABEL_RULE = r"lowercase letters, digits, underscores or dashes"
ID_RULE = r"1-128 lowercase letters, digits and hyphens, starting with a letter or digit"
UNSUPPORTED = r"Unsupported statement .*runs SELECT, INSERT, UPDATE, DELETE and EXEC"
TABLES = r"Tables: runs, experiments, tensorboards"
RUN_COLUMNS = r"columns of runs: name, createTime, description, displayName, etag, labels"
NOT_WRITABLE = r"only runs, experiments, tensorboards, time_series accept INSERT, UPDATE and DELETE"
OUTPUT_ONLY = r"cannot be updated: it is output only or a path parameter\. Updatable: " \
    r"description, displayName, labels"


def _batch(count: int) -> str:
    return json.dumps([{"tensorboardRunId": f"b-{i}", "tensorboardRun": {"displayName": f"b{i}"}}
                       for i in range(count)])


Case = tuple[str, str, Any, str, type[Exception], str]

CASES: list[Case] = [
    # -- SQL syntax errors, with their position ------------------------------------------------
    ("syntax-misspelt-keyword", "SELEC * FROM runs", None, "full", ProgrammingError,
     r"SQL syntax error at line 1, column \d+"),
    ("syntax-unclosed-quote", "SELECT * FROM runs WHERE displayName = 'x", None, "full",
     ProgrammingError, r"at line 1, column 40: unterminated quoted text .*close it with '"),
    ("syntax-unclosed-quote-line-2", "SELECT *\nFROM runs WHERE displayName = \"x", None,
     "full", ProgrammingError, r"at line 2, column 31: unterminated quoted text"),
    ("syntax-unclosed-comment", "SELECT * FROM runs /* note", None, "full", ProgrammingError,
     r"at line 1, column 20: unterminated comment; close it with \*/"),
    ("syntax-missing-table", "SELECT * FROM", None, "full", ProgrammingError,
     r"SQL syntax error at line 1, column 13: Expected table name"),
    ("syntax-dangling-and", "SELECT * FROM runs WHERE AND", None, "full", ProgrammingError,
     r"SQL syntax error at line 1, column \d+"),
    ("syntax-unbalanced-paren", "SELECT count(* FROM runs", None, "full", ProgrammingError,
     r"SQL syntax error at line 1, column 19: Expecting \)"),
    ("syntax-insert-unclosed-values", "INSERT INTO runs (displayName) VALUES ('a'", None,
     "full", ProgrammingError, r"SQL syntax error at line 1, column \d+: Expecting \)"),
    ("syntax-empty", "", None, "full", ProgrammingError, r"Empty statement: nothing to execute"),
    ("syntax-only-comment", "-- nothing here", None, "full", ProgrammingError,
     r"Empty statement"),
    ("syntax-two-statements", "SELECT 1; SELECT 2", None, "full", ProgrammingError,
     r"2 statements given; execute\(\) runs one statement at a time"),
    ("syntax-limit-text", "SELECT displayName FROM runs LIMIT 'x'", None, "full",
     ProgrammingError, r"LIMIT needs a whole number of rows, e\.g\. LIMIT 10; got 'x'"),
    ("syntax-offset-fraction", "SELECT displayName FROM runs LIMIT 2 OFFSET 1.5", None, "full",
     ProgrammingError, r"OFFSET needs a whole number of rows"),
    ("syntax-exec-unclosed", f"EXEC google.aiplatform.runs.write @projectsId='{PROJECT}", None,
     "full", ProgrammingError, r"at line 1, column 47: unterminated quoted text"),
    ("syntax-exec-no-method", "EXEC", None, "full", ProgrammingError,
     r"EXEC: expected a method name such as google\.aiplatform\.runs\.write"),
    # -- unknown tables and columns, listing the valid ones ----------------------------------
    ("unknown-table", "SELECT * FROM models", None, "full", ProgrammingError,
     rf"Unknown table 'models'\. {TABLES}"),
    ("unknown-table-qualified", "SELECT * FROM google.aiplatform.models", None, "full",
     ProgrammingError, rf"Unknown table 'google\.aiplatform\.models'\. {TABLES}"),
    ("unknown-table-join", "SELECT * FROM runs JOIN metrics ON 1 = 1", None, "full",
     ProgrammingError, rf"Unknown table 'metrics'\. {TABLES}"),
    ("unknown-column-select", "SELECT nope FROM runs", None, "full", ProgrammingError,
     rf"no such column: nope; {RUN_COLUMNS}"),
    ("unknown-column-where", "SELECT displayName FROM runs WHERE colour = 'red'", None, "full",
     ProgrammingError, rf"no such column: colour; {RUN_COLUMNS}"),
    ("unknown-column-order-by", "SELECT displayName FROM runs ORDER BY nope", None, "full",
     ProgrammingError, rf"no such column: nope; {RUN_COLUMNS}"),
    ("unknown-column-experiments", "SELECT runCount FROM experiments", None, "full",
     ProgrammingError, r"no such column: runCount; columns of experiments: name"),
    ("unknown-column-insert", "INSERT INTO runs (runsId, colour) VALUES ('a', 'red')", None,
     "full", ProgrammingError,
     r"Unknown column 'colour' for INSERT into runs\. Writable: description, displayName"),
    ("unknown-column-update-set", "UPDATE runs SET colour = 'red' WHERE runsId = 'a'", None,
     "full", ProgrammingError,
     r"Column 'colour' cannot be updated: no such column\. Updatable: description"),
    ("unknown-column-update-value", "UPDATE runs SET description = nope WHERE runsId = 'a'",
     None, "full", ProgrammingError, rf"no such column: nope; {RUN_COLUMNS}"),
    ("unknown-column-delete-where", "DELETE FROM runs WHERE colour = 'red'", None, "full",
     ProgrammingError, rf"no such column: colour; {RUN_COLUMNS}"),
    ("insert-into-unknown-table", "INSERT INTO models (displayName) VALUES ('a')", None, "full",
     NotSupportedError, rf"Table 'models' cannot be written: {NOT_WRITABLE}"),
    ("update-unknown-table", "UPDATE models SET displayName = 'a'", None, "full",
     NotSupportedError, NOT_WRITABLE),
    ("update-experiments-output-only",
     "UPDATE experiments SET createTime = 'x' WHERE experimentsId = 'a'", None, "full",
     ProgrammingError, r"Column 'createTime' cannot be updated: it is output only"),
    ("insert-into-tensorboards-with-id",
     "INSERT INTO tensorboards (tensorboardsId, displayName) VALUES ('a', 'a')", None, "full",
     DataError, r"tensorboardsId is assigned by the API: a create of tensorboards takes no ID"),
    # -- missing project or location ---------------------------------------------------------
    ("missing-project-select", "SELECT displayName FROM runs", None, "noproject",
     ProgrammingError, r"No project for table runs: add `projectsId = '\.\.\.'` to the WHERE "
     r"clause, or pass project= to connect\(\)"),
    ("missing-project-experiments", "SELECT displayName FROM experiments", None, "noproject",
     ProgrammingError, r"No project for table experiments: .*project= to connect\(\)"),
    ("missing-project-insert",
     f"INSERT INTO runs (tensorboardsId, experimentsId, runsId, displayName) VALUES ('{TB}', "
     "'bad-input', 'x', 'x')", None, "noproject", ProgrammingError,
     r"No projectsId for INSERT: add a projectsId column, or connect\(\) with project="),
    ("missing-location-select", "SELECT displayName FROM runs", None, "nolocation",
     ProgrammingError, r"No location for table runs: add `locationsId = '\.\.\.'` .*location="),
    ("missing-location-delete", "DELETE FROM runs WHERE runsId = 'a'", None, "nolocation",
     ProgrammingError, r"No location for table runs: .*pass location= to connect\(\)"),
    ("missing-location-update", "UPDATE runs SET description = 'x' WHERE runsId = 'a'", None,
     "nolocation", ProgrammingError, r"No location for table runs"),
    # -- wrong parameter counts and types -----------------------------------------------------
    ("params-too-few", "SELECT * FROM runs WHERE runsId = ? AND displayName = ?", ["a"], "full",
     ProgrammingError, r"The statement has 2 `\?` markers but 1 parameters were given"),
    ("params-too-many", "SELECT * FROM runs WHERE runsId = ?", ["a", "b"], "full",
     ProgrammingError, r"has 1 `\?` markers but 2 parameters were given"),
    ("params-none-given", "SELECT * FROM runs WHERE runsId = ?", None, "full",
     ProgrammingError, r"has 1 `\?` markers: pass a sequence of 1 parameters"),
    ("params-not-needed", "SELECT displayName FROM runs", ["a"], "full", ProgrammingError,
     r"has no parameter markers but 1 parameters were given"),
    ("params-named-missing", "SELECT * FROM runs WHERE runsId = :rid", {"other": "a"}, "full",
     ProgrammingError, r"No value was given for parameter :rid"),
    ("params-string-not-sequence", "SELECT * FROM runs WHERE runsId = ?", "ab", "full",
     ProgrammingError, r"pass a sequence of 1 parameters"),
    ("params-unsupported-type", "SELECT * FROM runs WHERE runsId = ?", [object()], "full",
     ProgrammingError, r"Unsupported parameter type object: .*; pass None, bool, int"),
    ("params-insert-too-few", "INSERT INTO runs (runsId, displayName) VALUES (?, ?)", ["a"],
     "full", ProgrammingError, r"has 2 `\?` markers but 1 parameters were given"),
    ("insert-values-count", "INSERT INTO runs (runsId, displayName) VALUES ('a')", None,
     "full", ProgrammingError, r"INSERT names 2 columns but a row has 1 values"),
    ("insert-no-values", "INSERT INTO runs DEFAULT VALUES", None, "full", ProgrammingError,
     r"INSERT needs VALUES \(\.\.\.\) or a SELECT"),
    # -- non-literal values where the API needs literals --------------------------------------
    ("insert-value-from-column",
     "INSERT INTO runs (runsId, displayName) VALUES ('a', upper(displayName))", None, "full",
     ProgrammingError, r"VALUES may not refer to columns; use INSERT \.\.\. SELECT"),
    ("insert-labels-from-column",
     "INSERT INTO runs (runsId, displayName, labels) VALUES ('a', 'd', json_object('a', "
     "displayName))", None, "full", ProgrammingError, r"VALUES may not refer to columns"),
    ("exec-non-literal", f"EXEC google.aiplatform.runs.write @projectsId=upper('x'), "
     f"@locationsId='{LOCATION}', @tensorboardsId='{TB}', @experimentsId='bert-glue', "
     "@runsId='bert-glue-0001' @@json='{}'", None, "full", ProgrammingError,
     r"@projectsId needs a literal or a parameter marker, not 'upper' \(line 1, column 51\)"),
    # -- invalid run IDs and labels, caught before any call ------------------------------------
    ("run-id-uppercase", "INSERT INTO runs (runsId, displayName) VALUES ('Bad_ID', 'x')", None,
     "full", DataError, rf"Invalid tensorboardRunId 'Bad_ID': use {ID_RULE}"),
    ("run-id-space", "INSERT INTO runs (runsId, displayName) VALUES ('a b', 'x')", None, "full",
     DataError, rf"Invalid tensorboardRunId 'a b': use {ID_RULE}"),
    ("run-id-too-long", "INSERT INTO runs (runsId, displayName) VALUES (?, 'x')", ["a" * 129],
     "full", DataError, rf"Invalid tensorboardRunId 'a{{129}}': use {ID_RULE}"),
    ("run-id-leading-hyphen", "INSERT INTO runs (runsId, displayName) VALUES ('-abc', 'x')",
     None, "full", DataError, rf"Invalid tensorboardRunId '-abc': use {ID_RULE}"),
    ("run-id-slash", "INSERT INTO runs (runsId, displayName) VALUES ('a/b', 'x')", None, "full",
     DataError, r"Invalid tensorboardRunId 'a/b'"),
    ("run-id-in-executemany", "INSERT INTO runs (runsId, displayName) VALUES (?, ?)",
     [("ok-1", "a"), ("NOT OK", "b")], "many", DataError, r"Invalid tensorboardRunId 'NOT OK'"),
    ("experiment-id-path", "INSERT INTO runs (experimentsId, runsId, displayName) VALUES "
     "('Bad Exp', 'a', 'd')", None, "full", DataError,
     r"Invalid experimentsId 'Bad Exp': a path parameter is one segment of a resource name "
     r"\(no '/', '\?', '#', '%' or spaces\)"),
    ("exec-run-id-path", "EXEC google.aiplatform.runs.write "
     + EXEC_PATH.replace("bert-glue-0001", "Bad ID") + " @@json='{\"timeSeriesData\": []}'",
     None, "full", DataError, r"Invalid runsId 'Bad ID': a path parameter is one segment"),
    ("label-key-uppercase", "INSERT INTO runs (runsId, displayName, labels) VALUES ('a', 'd', "
     "'{\"Team\": \"x\"}')", None, "full", DataError,
     rf"Invalid label key 'Team': 1-64 {LABEL_RULE}, starting with a letter"),
    ("label-key-digit-first", "INSERT INTO runs (runsId, displayName, labels) VALUES ('a', 'd', "
     "'{\"1team\": \"x\"}')", None, "full", DataError, r"Invalid label key '1team'"),
    ("label-value-uppercase", "INSERT INTO runs (runsId, displayName, labels) VALUES ('a', 'd', "
     "'{\"team\": \"NLP\"}')", None, "full", DataError,
     rf"Invalid value 'NLP' of label 'team': at most 64 {LABEL_RULE}"),
    ("label-value-too-long", "INSERT INTO runs (runsId, displayName, labels) VALUES ('a', 'd', "
     "?)", [{"team": "x" * 65}], "full", DataError, r"Invalid value 'x{65}' of label 'team'"),
    ("labels-too-many", "INSERT INTO runs (runsId, displayName, labels) VALUES ('a', 'd', ?)",
     [{f"k{i}": "v" for i in range(65)}], "full", DataError,
     r"65 labels given; at most 64 user labels are allowed"),
    ("label-value-number", "INSERT INTO runs (runsId, displayName, labels) VALUES ('a', 'd', "
     "'{\"team\": 3}')", None, "full", DataError,
     r"labels must map strings to strings, e\.g\. \{\"team\": \"nlp\"\}"),
    ("update-label-key", "UPDATE runs SET labels = '{\"Team\": \"x\"}' WHERE runsId = 'a'",
     None, "full", DataError, r"Invalid label key 'Team'"),
    ("update-label-value", "UPDATE runs SET labels = ? WHERE runsId = 'a'", [{"a": "B C"}],
     "full", DataError, r"Invalid value 'B C' of label 'a'"),
    ("insert-display-name-missing", "INSERT INTO runs (runsId) VALUES ('a')", None, "full",
     DataError, r"displayName is required to create a row of runs"),
    ("insert-duplicate-ids", "INSERT INTO runs (runsId, displayName) VALUES ('a', 'a'), "
     "('a', 'b')", None, "full", Exception, r"Rows 1 and 2 of the INSERT both have runsId 'a'.*"
     r"it must be unique there\. Nothing was written"),
    # -- malformed JSON for labels and EXEC bodies ---------------------------------------------
    ("labels-not-json", "INSERT INTO runs (runsId, displayName, labels) VALUES ('a', 'd', "
     "'{team: x}')", None, "full", DataError,
     r"labels must be a JSON object such as '\{\"team\": \"nlp\"\}': Expecting property name"),
    ("labels-truncated-json", "UPDATE runs SET labels = '{\"team\": ' WHERE runsId = 'a'", None,
     "full", DataError, r"labels must be a JSON object such as .*Expecting value"),
    ("labels-json-array", "INSERT INTO runs (runsId, displayName, labels) VALUES ('a', 'd', "
     "'[1, 2]')", None, "full", DataError, r"labels must map strings to strings"),
    ("labels-parameter-number", "INSERT INTO runs (runsId, displayName, labels) VALUES (?, ?, ?)",
     ["a", "d", 42], "full", DataError, r"labels must map strings to strings"),
    ("exec-body-not-json", f"EXEC google.aiplatform.runs.write {EXEC_PATH} @@json='{{not json'",
     None, "full", DataError, r"@@json is not valid JSON: Expecting property name"),
    ("exec-body-array", f"EXEC google.aiplatform.runs.write {EXEC_PATH} @@json='[1]'", None,
     "full", DataError, r"@@json must be a JSON object, e\.g\. '\{\"timeSeriesData\""),
    ("batch-requests-not-json", SEED_BATCH, ["[{oops"], "full", DataError,
     r"data__requests must be a JSON list of requests: Expecting property name"),
    ("batch-requests-not-list", SEED_BATCH, ['{"a": 1}'], "full", DataError,
     r"data__requests must be a JSON list of request objects"),
    # -- output-only and path columns set -------------------------------------------------------
    ("insert-name", "INSERT INTO runs (runsId, displayName, name) VALUES ('a', 'd', 'x')", None,
     "full", ProgrammingError,
     r"name is set by the API \(output only\); INSERT accepts it only as NULL"),
    ("insert-create-time", "INSERT INTO runs (runsId, displayName, createTime) VALUES ('a', "
     "'d', '2026-01-01T00:00:00Z')", None, "full", ProgrammingError,
     r"createTime is set by the API \(output only\)"),
    ("insert-etag", "INSERT INTO runs (runsId, displayName, updateTime) VALUES ('a', 'd', "
     "'2026-01-01T00:00:00Z')", None, "full", ProgrammingError,
     r"updateTime is set by the API \(output only\)"),
    ("update-update-time", "UPDATE runs SET updateTime = '2026-01-01T00:00:00Z' WHERE "
     "runsId = 'a'", None, "full", ProgrammingError, rf"Column 'updateTime' {OUTPUT_ONLY}"),
    ("update-create-time", "UPDATE runs SET createTime = '2026-01-01T00:00:00Z', "
     "description = 'x' WHERE runsId = 'a'", None, "full", ProgrammingError,
     rf"Column 'createTime' {OUTPUT_ONLY}"),
    ("update-runs-id", "UPDATE runs SET runsId = 'b' WHERE runsId = 'a'", None, "full",
     ProgrammingError, rf"Column 'runsId' {OUTPUT_ONLY}"),
    ("update-experiments-id", "UPDATE runs SET experimentsId = 'b' WHERE runsId = 'a'", None,
     "full", ProgrammingError, rf"Column 'experimentsId' {OUTPUT_ONLY}"),
    ("update-name", "UPDATE runs SET name = 'x' WHERE runsId = 'a'", None, "full",
     ProgrammingError, rf"Column 'name' {OUTPUT_ONLY}"),
    # -- unsupported statements: DDL, transactions, others --------------------------------------
    ("ddl-create-table", "CREATE TABLE t (a INT)", None, "full", NotSupportedError,
     UNSUPPORTED),
    ("ddl-drop-table", "DROP TABLE runs", None, "full", NotSupportedError, UNSUPPORTED),
    ("ddl-alter-table", "ALTER TABLE runs ADD COLUMN x INT", None, "full", NotSupportedError,
     UNSUPPORTED),
    ("ddl-truncate", "TRUNCATE TABLE runs", None, "full", NotSupportedError, UNSUPPORTED),
    ("ddl-create-index", "CREATE INDEX i ON runs (displayName)", None, "full",
     NotSupportedError, UNSUPPORTED),
    ("tx-begin", "BEGIN", None, "full", NotSupportedError, UNSUPPORTED),
    ("tx-commit", "COMMIT", None, "full", NotSupportedError, UNSUPPORTED),
    ("tx-rollback", "ROLLBACK", None, "full", NotSupportedError, UNSUPPORTED),
    ("merge", "MERGE INTO runs USING runs AS s ON 1 = 1 WHEN MATCHED THEN DELETE", None, "full",
     NotSupportedError, UNSUPPORTED),
    ("pragma", "PRAGMA table_info(runs)", None, "full", NotSupportedError, UNSUPPORTED),
    ("attach", "ATTACH DATABASE 'x.db' AS x", None, "full", NotSupportedError, UNSUPPORTED),
    ("grant", "GRANT SELECT ON runs TO bob", None, "full", NotSupportedError, UNSUPPORTED),
    ("vacuum", "VACUUM", None, "full", NotSupportedError, r"Unsupported statement: 'VACUUM'"),
    ("insert-on-conflict", "INSERT INTO runs (runsId, displayName) VALUES ('a', 'd') "
     "ON CONFLICT DO NOTHING", None, "full", NotSupportedError,
     r"ON CONFLICT is not supported: .*check first with SELECT, or catch IntegrityError"),
    ("update-from", "UPDATE runs SET description = 'x' FROM experiments WHERE runsId = 'a'",
     None, "full", NotSupportedError,
     r"UPDATE \.\.\. FROM is not supported: .*Select the rows in the WHERE clause instead"),
    # -- EXEC: unknown methods, missing and unknown parameters ---------------------------------
    ("exec-unknown-method", "EXEC google.aiplatform.runs.explode @runsId='a'", None, "full",
     NotSupportedError, r"Unknown method 'google\.aiplatform\.runs\.explode'\. Known methods: "
     r"google\.aiplatform\.runs\.write"),
    ("exec-unknown-resource", "EXEC google.aiplatform.models.write @runsId='a'", None, "full",
     NotSupportedError, r"Unknown method 'google\.aiplatform\.models\.write'\. Known methods"),
    # The connection's location fills @locationsId (issue 11: EXEC takes the connection's path).
    ("exec-missing-path-parameters",
     f"EXEC google.aiplatform.runs.write @projectsId='{PROJECT}' @@json='{{}}'", None,
     "noproject", ProgrammingError, r"EXEC runs\.write: missing required parameters "
     r"@tensorboardsId, @experimentsId, @runsId\.$"),
    ("exec-missing-body", f"EXEC google.aiplatform.runs.write {EXEC_PATH}", None, "full",
     ProgrammingError, r"EXEC runs\.write: missing required parameters @@json"),
    ("exec-unknown-parameter",
     f"EXEC google.aiplatform.runs.write {EXEC_PATH}, @colour='red' @@json='{{}}'", None,
     "full", ProgrammingError, r"EXEC runs\.write: unknown parameters @colour; it takes "
     r"projectsId, locationsId, tensorboardsId, experimentsId, runsId"),
    ("exec-parameter-twice",
     f"EXEC google.aiplatform.runs.write @projectsId='x', {EXEC_PATH} @@json='{{}}'", None,
     "full", ProgrammingError, r"EXEC: @projectsId is given twice"),
    # -- oversized batches -------------------------------------------------------------------
    ("batch-over-1000", SEED_BATCH, [_batch(1001)], "full", DataError,
     r"data__requests holds 1001 requests; one batchCreate takes at most 1000: split them"),
]


@pytest.fixture(scope="module")
def connections(shared: World) -> dict[str, Any]:
    assert shared.tensorboard == TB
    shared.new_experiment("bad-input")
    base: dict[str, Any] = {"endpoint": shared.emu.url, "anonymous": True}
    return {
        "full": shared.connect("bad-input"),
        "noproject": runs_dbapi.connect(location=LOCATION, **base),
        "nolocation": runs_dbapi.connect(project=PROJECT, **base),
    }


def test_the_catalogue_is_large_and_its_ids_unique() -> None:
    assert len(CASES) >= 60
    assert len({case[0] for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_bad_input_is_refused_clearly(world: World, connections: dict[str, Any],
                                      case: Case) -> None:
    _, sql, parameters, where, expected, message = case
    connection = connections["full" if where == "many" else where]
    world.emu.reset_stats()
    cursor = connection.cursor()
    with pytest.raises(runs_dbapi.Error) as caught:
        if where == "many":
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
            if cursor.description is not None:
                cursor.fetchall()
    error = caught.value
    if expected is not Exception:
        assert type(error) is expected, f"{type(error).__name__}: {error}"
    assert isinstance(error, runs_dbapi.DatabaseError | runs_dbapi.InterfaceError)
    assert re.search(message, str(error)), str(error)
    calls = world.emu.stats()["calls"]
    assert not WRITE_METHODS & set(calls), calls
    # The connection is still usable afterwards.
    assert cursor.execute("SELECT 1").fetchall() == [(1,)]
