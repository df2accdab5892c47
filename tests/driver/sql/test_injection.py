"""Arbitrary strings in WHERE and INSERT values (quotes, backslashes, `*`, AIP-160 operators,
newlines, unicode): they round-trip exactly, the filter sent to the API parses (with the
emulator's own AIP-160 parser) to exactly the intended predicate, and a value is never read as
an identifier: answers with push-down equal those evaluated locally from every run.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from support.spy import Spy
from support.world import World

from runs_dbapi.connection import Connection
from runs_dbapi.emulator.filtering import And, Comparison, Value, parse_filter

TRICKY = ["", " ", "'", '"', "\\", "\\\\", "*", "a*", "\\*", "''", "' OR 1=1 --", '" OR "1"="1',
          "a AND b", "x OR y", "NOT z", "a:b", "a=b", "a != b", "(a)", "labels.team = \"nlp\"",
          "line\nbreak", "tab\there", "é", "日本語", "🙂", "runsId", "displayName",
          "bert-glue adam lr=0.01 #1", "%", "_", "?", ":name", "$.team", "-- comment",
          "/* c */", ";", "\r\n", "\u2028", "a\\\"b"]

texts = st.one_of(
    st.sampled_from(TRICKY),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
            max_size=30),
    st.text(alphabet="'\"\\*:=!<>()., -_\n\tANDORNOTab", max_size=20),
)
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def experiment(shared: World) -> str:
    return shared.new_experiment("inj")


@pytest.fixture(scope="module")
def pushed(shared: World, experiment: str) -> tuple[Connection, Spy]:
    connection = shared.connect(experiment)
    return connection, Spy(connection)


@pytest.fixture(scope="module")
def local(shared: World, experiment: str) -> Connection:
    return shared.connect(experiment, pushdown=False)


_numbers = itertools.count()


def _terms(node: Any) -> list[Any]:
    return list(node.terms) if isinstance(node, And) else [node]


@pytest.mark.parametrize("predicate", [
    ("displayName", ("display_name",), "="),
    ("displayName", ("display_name",), "!="),
    ("labels ->> '$.team'", ("labels", "team"), "="),
])
@SETTINGS
@given(value=texts)
@example(value="a\\*b\"c")
def test_the_filter_sent_is_the_intended_predicate(pushed: Any, local: Connection,
                                                   predicate: tuple[str, tuple[str, ...], str],
                                                   value: str) -> None:
    connection, spy = pushed
    column, field, op = predicate
    sql = (f"SELECT runsId, displayName FROM runs WHERE experimentsId = 'bert-glue' "
           f"AND {column} {op} ? ORDER BY runsId")
    spy.take_filters()
    answer = connection.cursor().execute(sql, [value]).fetchall()
    (sent,) = spy.take_filters()
    intended = Comparison(field=field, op=op, value=Value(text=value, quoted=True))
    assert intended in _terms(parse_filter(sent)), sent
    # The same answer as evaluating the SQL locally over every run of the experiment.
    assert answer == local.cursor().execute(sql, [value]).fetchall()


@SETTINGS
@given(value=texts, description=texts)
def test_inserted_values_round_trip_exactly(world: World, experiment: str, pushed: Any,
                                            value: str, description: str) -> None:
    connection, _ = pushed
    display = f"{value}#{next(_numbers)}"
    cursor = connection.cursor()
    cursor.execute("INSERT INTO runs (displayName, description, labels) VALUES (?, ?, ?) "
                   "RETURNING runsId", [display, description, {"k": "v"}])
    ((run_id,),) = cursor.fetchall()
    rows = cursor.execute("SELECT runsId, displayName, description, labels FROM runs "
                          "WHERE displayName = ?", [display]).fetchall()
    assert [tuple(r) for r in rows] == [(run_id, display, description, {"k": "v"})]
    stored = world.get_run(experiment, run_id)
    assert stored is not None
    assert (stored["displayName"], stored.get("description", "")) == (display, description)


@SETTINGS
@given(value=texts)
def test_updated_values_round_trip_exactly(world: World, experiment: str, pushed: Any,
                                           value: str) -> None:
    connection, _ = pushed
    run_id = f"u-{next(_numbers)}"
    world.create_runs(experiment, [(run_id, {"displayName": run_id})])
    cursor = connection.cursor()
    cursor.execute("UPDATE runs SET description = ? WHERE runsId = ?", [value, run_id])
    assert cursor.rowcount == 1
    stored = world.get_run(experiment, run_id)
    assert stored is not None and stored.get("description", "") == value
    found = cursor.execute("SELECT runsId FROM runs WHERE description = ? AND runsId = ?",
                           [value, run_id]).fetchall()
    assert [tuple(r) for r in found] == [(run_id,)]


@pytest.mark.parametrize("value", ["runsId", "displayName", "name", "labels", "1 = 1",
                                   "' OR '1' = '1", "experimentsId"])
def test_identifiers_are_never_taken_from_values(world: World, pushed: Any, value: str) -> None:
    connection, _ = pushed
    cursor = connection.cursor()
    for sql in ("SELECT count(*) FROM runs WHERE experimentsId = 'bert-glue' AND displayName = ?",
                "SELECT count(*) FROM runs WHERE experimentsId = 'bert-glue' AND runsId = ?",
                "SELECT count(*) FROM runs WHERE experimentsId = ? AND runsId = runsId"):
        assert cursor.execute(sql, [value]).fetchall() == [(0,)]
    # As a value to write, it is stored as text, never as a reference to a column.
    cursor.execute("UPDATE runs SET description = ? WHERE experimentsId = 'bert-glue' "
                   "AND runsId = 'bert-glue-0003' RETURNING description", [value])
    assert cursor.fetchall() == [(value,)]
