"""SQL predicates to AIP-160: the pushed filter never drops a row the SQL keeps.

The filter text is checked with the emulator's AIP-160 parser and evaluator, and the SQL with
SQLite, over generated runs.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp

from runs_dbapi.catalog import RUNS
from runs_dbapi.emulator.filtering import Field, evaluate, parse_filter
from runs_dbapi.pushdown import Pushed, Translator, aip160_quote, parse_timestamp, rfc3339
from runs_dbapi.statements import parse
from runs_dbapi.timestamps import canonical_time

FIELDS = {
    "display_name": Field("displayName", "string"),
    "create_time": Field("createTime", "timestamp"),
    "update_time": Field("updateTime", "timestamp"),
    "labels": Field("labels", "map"),
}


def _where(sql_predicate: str) -> exp.Expression:
    tree = parse(f"SELECT * FROM runs WHERE {sql_predicate}")
    return tree.args["where"].this


def _term(sql_predicate: str) -> str | None:
    return Translator(RUNS, "runs", only_source=True).filter_term(_where(sql_predicate))


SAMPLES = [
    {"displayName": name, "createTime": created, "updateTime": created, "labels": labels}
    for name in ("a", "b", "c", "a*b", "m", "z")
    for created in (datetime(2023, 12, 31, 23, tzinfo=timezone.utc),
                    datetime(2024, 1, 1, 8, tzinfo=timezone.utc),
                    datetime(2024, 1, 1, 9, tzinfo=timezone.utc))
    for labels in ({}, {"team": "nlp"}, {"team": "rl", "k": "v"})
]


@pytest.mark.parametrize(
    ("sql", "aip"),
    [
        ("displayName = 'a'", 'display_name = "a"'),
        ("'a' = displayName", 'display_name = "a"'),
        ("displayName != 'a*b'", 'display_name != "a\\*b"'),
        ("'m' < displayName", 'display_name > "m"'),
        ("createTime >= '2024-01-01'", 'create_time >= "2024-01-01T00:00:00.000000Z"'),
        ("updateTime < '2024-01-01T10:00:00+02:00'",
         'update_time < "2024-01-01T08:00:00.000000Z"'),
        ("json_extract(labels, '$.team') = 'nlp'", 'labels.team = "nlp"'),
        ("labels ->> '$.team' != 'nlp'", 'labels.team:* AND labels.team != "nlp"'),
        ("displayName IN ('a', 'b')", '(display_name = "a" OR display_name = "b")'),
        ("displayName BETWEEN 'a' AND 'c'",
         '(display_name >= "a") AND (display_name <= "c")'),
        ("NOT (displayName = 'a')", 'NOT (display_name = "a")'),
        ("displayName = 'a' OR json_extract(labels, '$.k') = 'v'",
         '(display_name = "a" OR labels.k = "v")'),
    ],
)
def test_translations(sql: str, aip: str) -> None:
    """The pushed filter means what the expected one means, on a grid of sample runs."""
    term = _term(sql)
    assert term is not None
    actual, expected = parse_filter(term), parse_filter(aip)
    for resource in SAMPLES:
        assert evaluate(actual, resource, FIELDS) == evaluate(expected, resource, FIELDS), (
            term, resource)


@pytest.mark.parametrize(
    "sql",
    [
        "displayName LIKE 'a%'",  # LIKE is case-insensitive in SQLite; AIP-160 is not
        "description = 'x'",  # not a filterable field
        "labels -> '$.team' = 'nlp'",  # JSON text, not the value
        "json_extract(labels, '$.\"my-key\"') = 'x'",  # a key the filter grammar may not take
        "displayName = 'a' OR description = 'b'",  # one side cannot be pushed
        "createTime > 'yesterday'",  # not a timestamp
        "lower(displayName) = 'a'",
    ],
)
def test_untranslatable_predicates_stay_local(sql: str) -> None:
    assert _term(sql) is None


def test_conjuncts_split_into_path_parameters_and_filters() -> None:
    pushed = Pushed()
    translator = Translator(RUNS, "r", only_source=True)
    where = _where(
        "projectsId = 'p' AND experimentsId IN ('a', 'b') AND displayName = 'x' "
        "AND filter = 'labels.k:*' AND orderBy = 'create_time desc'"
    )
    terms = []
    node = where
    while isinstance(node, exp.And):
        terms.append(node.right)
        node = node.left
    terms.append(node)
    assert all(translator.push_conjunct(t, pushed) for t in terms)
    assert pushed.path == {"projectsId": ["p"], "experimentsId": ["a", "b"]}
    assert pushed.parameters == {"filter": "labels.k:*", "orderBy": "create_time desc"}
    text = pushed.filter_text()
    assert text is not None
    node = parse_filter(text)
    assert evaluate(node, {"displayName": "x", "labels": {"k": ""}}, FIELDS)
    assert not evaluate(node, {"displayName": "x", "labels": {}}, FIELDS)
    assert not evaluate(node, {"displayName": "y", "labels": {"k": ""}}, FIELDS)


def test_qualified_columns_of_another_table_are_not_ours() -> None:
    translator = Translator(RUNS, "r", only_source=False)
    assert translator.filter_term(_where("e.displayName = 'a'")) is None
    assert translator.filter_term(_where("displayName = 'a'")) is None  # ambiguous in a join
    assert translator.filter_term(_where("r.displayName = 'a'")) == 'display_name = "a"'


@given(st.text())
def test_quoted_values_mean_exactly_themselves(value: str) -> None:
    node = parse_filter(f"display_name = {aip160_quote(value)}")
    assert evaluate(node, {"displayName": value}, FIELDS)
    assert not evaluate(node, {"displayName": value + "x"}, FIELDS)


def test_timestamp_forms() -> None:
    moment = parse_timestamp("2024-02-16T23:56:54.194318Z")
    assert moment == datetime(2024, 2, 16, 23, 56, 54, 194318, tzinfo=timezone.utc)
    assert rfc3339(moment) == "2024-02-16T23:56:54.194318Z"
    assert parse_timestamp("2024-02-16 23:56:54") == moment.replace(microsecond=0)
    assert parse_timestamp("not a time") is None


# -- the pushed filter keeps every row the SQL keeps ---------------------------------------------

BASE = datetime(2024, 1, 1, tzinfo=timezone.utc)
names = st.sampled_from(["a", "b", "a*b", "m", 'q"x', "z\\y", ""])
label_values = st.one_of(st.none(), st.sampled_from(["nlp", "vision", ""]))
runs = st.lists(
    st.tuples(names, st.integers(0, 5), label_values),
    min_size=1, max_size=8,
)
comparisons = st.sampled_from(["=", "!=", "<", "<=", ">", ">="])


@st.composite
def predicates(draw: st.DrawFn, depth: int = 0) -> str:
    kind = draw(st.integers(0, 5 if depth < 2 else 2))
    if kind == 0:
        return f"displayName {draw(comparisons)} '{draw(names).replace(chr(39), chr(39) * 2)}'"
    if kind == 1:
        day = draw(st.integers(0, 5))
        return f"createTime {draw(comparisons)} '{(BASE + timedelta(days=day)).isoformat()}'"
    if kind == 2:
        return f"json_extract(labels, '$.team') {draw(comparisons)} '{draw(label_values) or 'nlp'}'"
    if kind == 3:
        return f"NOT ({draw(predicates(depth + 1))})"
    joiner = "AND" if kind == 4 else "OR"
    return f"({draw(predicates(depth + 1))} {joiner} {draw(predicates(depth + 1))})"


@settings(max_examples=300, deadline=None)
@given(rows=runs, predicate=predicates())
def test_pushed_filter_never_drops_a_row_the_sql_keeps(
    rows: list[tuple[str, int, str | None]], predicate: str
) -> None:
    term = _term(predicate)
    if term is None:
        return  # nothing pushed: nothing to check
    node = parse_filter(term)
    database = sqlite3.connect(":memory:")
    database.execute('CREATE TABLE runs ("displayName" TEXT, "createTime" TEXT, labels TEXT)')
    local_predicate = parse(f"SELECT 1 FROM runs WHERE {predicate}").args["where"].this
    for column in local_predicate.find_all(exp.Column):
        parent = column.parent
        if column.name == "createTime" and isinstance(parent, exp.Binary):
            literal = parent.expression
            stamp = parse_timestamp(literal.this)
            assert stamp is not None
            literal.replace(exp.Literal.string(canonical_time(stamp)))
    for name, day, team in rows:
        created = BASE + timedelta(days=day)
        labels = {"team": team} if team is not None else {}
        kept = database.execute(
            f"SELECT ({local_predicate.sql(dialect='sqlite')}) FROM (SELECT ? AS "
            '"displayName", ? AS "createTime", ? AS labels) AS runs',
            (name, canonical_time(created), json.dumps(labels)),
        ).fetchone()[0]
        api = evaluate(node, {"displayName": name, "createTime": created, "labels": labels},
                       FIELDS)
        if kept == 1:
            assert api, f"{predicate!r} keeps {name, day, team} but the filter {term!r} drops it"
