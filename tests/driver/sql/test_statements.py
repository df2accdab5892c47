"""Parsing and parameter binding: markers in the tree, never in the text."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlglot import exp

import runs_dbapi
from runs_dbapi.exceptions import NotSupportedError, ProgrammingError
from runs_dbapi.statements import (
    bind,
    literal,
    number_positional_markers,
    parse,
    tokenize,
)
from runs_dbapi.timestamps import canonical_time


def _sql(sql: str, parameters: object = None) -> str:
    return bind(parse(sql), parameters).sql(dialect="sqlite")  # type: ignore[arg-type]


def test_positional_markers_bind_in_text_order_even_inside_ctes() -> None:
    sql = "WITH x AS (SELECT ? AS a) SELECT a, ? FROM x WHERE a = ? LIMIT ? OFFSET ?"
    assert _sql(sql, [1, "two", 3, 4, 5]) == (
        "WITH x AS (SELECT 1 AS a) SELECT a, 'two' AS \"?\" FROM x WHERE a = 3 LIMIT 4 OFFSET 5"
    )


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT '?', '%s', ':name', '%(x)s' FROM runs WHERE a = ?",
        "SELECT \"?\" FROM runs WHERE a = ? -- is this ?",
        "SELECT 1 /* ? :x */ FROM runs WHERE a = ?",
    ],
)
def test_markers_inside_literals_and_comments_are_left_alone(sql: str) -> None:
    bound = _sql(sql, ["v"])
    assert "'v'" in bound
    assert bound.count("'v'") == 1


def test_named_markers_bind_from_a_mapping() -> None:
    # Each output keeps the name SQLite gives it, the marker as written.
    assert _sql("SELECT :a, :b, :a", {"a": 1, "b": "x"}) == \
        'SELECT 1 AS ":a", \'x\' AS ":b", 1 AS ":a"'


def test_a_quote_in_a_value_cannot_escape_the_literal() -> None:
    tree = bind(parse("SELECT * FROM runs WHERE displayName = ?"), ["x' OR '1'='1"])
    where = tree.args["where"].this
    assert isinstance(where, exp.EQ)
    assert where.expression.this == "x' OR '1'='1"


def test_literal_types() -> None:
    moment = datetime(2024, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    assert literal(moment).this == "2024-05-01 12:00:00.000000"
    assert literal({"team": "nlp"}).this == '{"team":"nlp"}'
    assert isinstance(literal(None), exp.Null)
    assert literal(True).this == "1"
    assert literal(b"\x01\xff").sql(dialect="sqlite") == "x'01ff'"
    with pytest.raises(ProgrammingError, match="Unsupported parameter type"):
        literal(object())


def test_canonical_time_is_utc_and_naive_input_is_taken_as_utc() -> None:
    assert canonical_time(datetime(2024, 1, 2, 3, 4, 5, 6)) == "2024-01-02 03:04:05.000006"


@pytest.mark.parametrize(
    ("sql", "parameters", "message"),
    [
        ("SELECT ?", [], "1 `?` markers but 0"),
        ("SELECT ?", [1, 2], "1 `?` markers but 2"),
        ("SELECT 1", [1], "no parameter markers"),
        ("SELECT ?", {"a": 1}, "pass a sequence"),
        ("SELECT :a", [1], "need a mapping"),
        ("SELECT :a", {"b": 1}, "No value was given for parameter :a"),
        ("SELECT ?, :a", [1], "Mixing"),
    ],
)
def test_parameter_count_and_style_errors(sql: str, parameters: object, message: str) -> None:
    with pytest.raises(ProgrammingError, match=re.escape(message)):
        _sql(sql, parameters)


def test_syntax_errors_name_line_and_column() -> None:
    with pytest.raises(ProgrammingError, match=r"line 1, column \d+"):
        parse("SELECT FROM WHERE (")


def test_one_statement_at_a_time() -> None:
    with pytest.raises(ProgrammingError, match="2 statements"):
        parse("SELECT 1; SELECT 2")
    assert isinstance(parse("SELECT 1;"), exp.Select)


def test_empty_and_non_string_statements() -> None:
    with pytest.raises(ProgrammingError, match="Empty statement"):
        parse("  -- nothing\n")
    with pytest.raises(ProgrammingError, match="must be a string"):
        parse(123)  # type: ignore[arg-type]


def test_unsupported_statement_kinds_say_so() -> None:
    with pytest.raises(NotSupportedError):
        parse("VACUUM")


def test_numbering_leaves_quoted_question_marks() -> None:
    sql = "SELECT '?', ? -- ?\n"
    renamed = number_positional_markers(sql, tokenize(sql))
    assert [(t.text, t.start) for t in renamed] == [
        ("SELECT", 0), ("?", 7), (",", 10), (":", 12), ("_p0", 12)]
    assert [p.name for p in parse(sql).find_all(exp.Placeholder)] == ["_p0"]


# -- one pass per statement (issue 12) -----------------------------------------------------------

ONE_PASS = [
    "SELECT displayName, count(*) FROM runs WHERE labels ->> '$.team' = ? GROUP BY 1",
    "WITH c AS (SELECT createTime FROM runs) SELECT max(createTime) FROM c "
    "WHERE createTime > '2020-01-01T00:00:00Z'",
    "SELECT runsId FROM runs WHERE name = 'projects/demo-project/locations/us-central1/"
    "tensorboards/1/experiments/e/runs/r'",
    "INSERT INTO runs (experimentsId, displayName) VALUES ('bert-glue', ?)",
    "UPDATE runs SET description = ? WHERE experimentsId = 'bert-glue' AND displayName = 'x'",
    "DELETE FROM runs WHERE experimentsId = 'bert-glue' AND displayName = ?",
    "EXEC google.aiplatform.runs.write @experimentsId='bert-glue', @runsId='nope', "
    "@@json='{\"timeSeriesData\": []}' -- ?",
]


@pytest.mark.parametrize("sql", ONE_PASS)
def test_a_statement_is_tokenized_and_parsed_once(sql: str, monkeypatch: Any) -> None:
    """Through a connection, each statement is tokenized once and parsed once, whatever it is
    (the planner and executor work on its tree, never on SQL text parsed again)."""
    from runs_dbapi.emulator import Emulator
    from runs_dbapi.statements import DIALECT

    counts = {"tokenize": 0, "parse": 0}
    tokenize_original = DIALECT.Tokenizer.tokenize
    parse_original = DIALECT.Parser.parse

    def counting_tokenize(self: Any, *args: Any, **kwargs: Any) -> Any:
        counts["tokenize"] += 1
        return tokenize_original(self, *args, **kwargs)

    def counting_parse(self: Any, *args: Any, **kwargs: Any) -> Any:
        counts["parse"] += 1
        return parse_original(self, *args, **kwargs)

    with Emulator(demo=True) as emu:
        connection = runs_dbapi.connect(endpoint=emu.url, project="demo-project",
                                        location="us-central1")
        parameters = ["x"] if "?" in sql.split("--", maxsplit=1)[0] else None
        monkeypatch.setattr(DIALECT.Tokenizer, "tokenize", counting_tokenize)
        monkeypatch.setattr(DIALECT.Parser, "parse", counting_parse)
        try:
            connection.cursor().execute(sql, parameters)
        except runs_dbapi.Error:
            pass  # the EXEC's run does not exist: counted all the same
        finally:
            monkeypatch.undo()
            connection.close()
    assert counts["tokenize"] == 1, counts
    assert counts["parse"] == (0 if sql.startswith("EXEC") else 1), counts
