"""EXEC (the seed's lifecycle method runs.write): parsing, binding, errors, and the data points
it writes, read back through the emulator's `timeSeries/{id}:read`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from support.seed_statements import WRITE
from support.world import FAST_RETRY, World, fill

from runs_dbapi.catalog import RUNS
from runs_dbapi.emulator import FaultPlan
from runs_dbapi.exceptions import (
    DataError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
)
from runs_dbapi.procedures import ExecCall, is_exec, parse_exec
from runs_dbapi.rest import RetryPolicy

PATH = {"projectsId": "p", "locationsId": "l", "tensorboardsId": "123",
        "experimentsId": "e", "runsId": "r"}
ARGS = "@projectsId='p', @locationsId='l', @tensorboardsId='123', @experimentsId='e'"
POINTS = [{"tensorboardTimeSeriesId": "9", "valueType": "SCALAR",
           "values": [{"step": "1", "scalar": {"value": 0.5}}]}]


def parse(sql: str, parameters: Sequence[Any] | Mapping[str, Any] | None = None) -> ExecCall:
    return parse_exec(sql, parameters)


# -- parsing -----------------------------------------------------------------------------------


def test_the_seed_text_parses() -> None:
    sql = fill(WRITE, runsId="r", tensorboardRun="projects/p/locations/l/tensorboards/123/"
               "experiments/e/runs/r", timeSeriesData=json.dumps(POINTS).replace('"', '\\"'),
               **{k: v for k, v in PATH.items() if k != "runsId"})
    call = parse(sql)
    assert call.table is RUNS and call.procedure.name == "write"
    assert call.arguments == PATH
    assert call.body == {"tensorboardRun": "projects/p/locations/l/tensorboards/123/experiments/"
                         "e/runs/r", "timeSeriesData": POINTS}


def test_the_seed_text_with_json_pasted_between_its_quotes() -> None:
    sql = fill(WRITE, runsId="r", tensorboardRun="", timeSeriesData=json.dumps(POINTS, indent=2),
               **{k: v for k, v in PATH.items() if k != "runsId"})
    assert parse(sql).body == {"timeSeriesData": POINTS}


@pytest.mark.parametrize("sql", [
    # No separators at all, one line.
    f"EXEC google.aiplatform.runs.write {ARGS.replace(',', '')} @runsId='r' @@json='{{}}'",
    # Commas everywhere, a trailing semicolon and whitespace.
    f"EXEC google.aiplatform.runs.write {ARGS}, @runsId='r', @@json='{{}}' ;  \n",
    # Comments of both kinds, before, between and after; a `,` and `;` inside them.
    "-- write some points\n/* block; comment */ EXEC google.aiplatform.runs.write -- x, y;\n"
    "@projectsId='p' --required, \n@locationsId /* ; */ = 'l' --required, \n"
    "@tensorboardsId='123' --required, \n@experimentsId='e' --required, \n"
    "@runsId='r' --required \n@@json=\n'{}'; -- done",
    # Other spellings of the statement and the table.
    f"exec google.aiplatform.RUNS.Write {ARGS} @runsId='r' @@json='{{}}'",
    f"EXECUTE aiplatform.runs.write {ARGS} @runsId='r' @@JSON='{{}}'",
    f"EXEC runs.write {ARGS} @RUNSID='r' @@json='{{}}'",
    # Parameters in another order, numbers for IDs.
    "EXEC google.aiplatform.runs.write @@json='{}' @runsId='r' @experimentsId='e' "
    "@tensorboardsId=123 @locationsId='l' @projectsId='p'",
])
def test_separators_comments_and_spellings(sql: str) -> None:
    assert is_exec(sql)
    call = parse(sql)
    assert call.arguments == PATH
    assert call.body == {}


def test_is_exec() -> None:
    assert is_exec("/* c */ -- d\n  EXEC runs.write")
    assert not is_exec("SELECT 1")
    assert not is_exec("SELECT 'EXEC runs.write'")
    assert not is_exec("-- EXEC runs.write\nSELECT 1")
    assert not is_exec("EXEC 'unterminated")
    assert not is_exec("")


def test_a_string_keeps_what_looks_like_markers_and_comments() -> None:
    body = {"timeSeriesData": [], "note": "what? -- /* not a comment */ ;"}
    sql = (f"EXEC runs.write {ARGS} @runsId=? "
           f"@@json='{json.dumps(body).replace(chr(39), chr(39) * 2)}'")
    assert parse(sql, ["r"]).body == body


# -- binding -----------------------------------------------------------------------------------


def test_positional_markers_are_bound_in_order() -> None:
    call = parse("EXEC runs.write @projectsId=?, @locationsId=?, @tensorboardsId=?, "
                 "@experimentsId=?, @runsId=? @@json=?",
                 ["p", "l", "123", "e", "r", {"timeSeriesData": POINTS}])
    assert call.arguments == PATH
    assert call.body == {"timeSeriesData": POINTS}


def test_a_bound_json_body_may_be_text() -> None:
    call = parse(f"EXEC runs.write {ARGS} @runsId=? @@json=?",
                 ["r", json.dumps({"timeSeriesData": json.dumps(POINTS)})])
    assert call.body == {"timeSeriesData": POINTS}


def test_named_markers_are_bound() -> None:
    call = parse(f"EXEC runs.write {ARGS} @runsId=:run @@json=:body",
                 {"run": "r", "body": {"timeSeriesData": POINTS}, "unused": 1})
    assert call.arguments == PATH and call.body == {"timeSeriesData": POINTS}


@pytest.mark.parametrize("sql, parameters, message", [
    (f"EXEC runs.write {ARGS} @runsId=? @@json='{{}}'", ["r", "extra"],
     "EXEC has 1 `?` markers but 2 parameters were given"),
    (f"EXEC runs.write {ARGS} @runsId=? @@json=?", ["r"],
     "more `?` markers than the 1 parameters given"),
    (f"EXEC runs.write {ARGS} @runsId=? @@json='{{}}'", [],
     "more `?` markers than the 0 parameters given"),
    (f"EXEC runs.write {ARGS} @runsId='r' @@json='{{}}'", ["x"],
     "EXEC has 0 `?` markers but 1 parameters were given"),
    (f"EXEC runs.write {ARGS} @runsId=? @@json='{{}}'", None, "@runsId=? needs a sequence"),
    (f"EXEC runs.write {ARGS} @runsId=? @@json='{{}}'", {"runsId": "r"},
     "@runsId=? needs a sequence"),
    (f"EXEC runs.write {ARGS} @runsId=:run @@json='{{}}'", {"other": "r"},
     "no value was given for parameter :run"),
    (f"EXEC runs.write {ARGS} @runsId=:run @@json='{{}}'", ["r"],
     "no value was given for parameter :run"),
])
def test_wrong_parameters(sql: str, parameters: Any, message: str) -> None:
    with pytest.raises(ProgrammingError, match=re.escape(message)):
        parse(sql, parameters)


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", [
    "google.aiplatform.runs.nope", "google.aiplatform.experiments.write", "write",
    "google.aiplatform.runs", "google.aiplatform.widgets.write",
])
def test_an_unknown_method_lists_the_known_ones(method: str) -> None:
    with pytest.raises(NotSupportedError) as caught:
        parse(f"EXEC {method} {ARGS} @runsId='r' @@json='{{}}'")
    assert f"Unknown method {method!r}" in str(caught.value)
    assert "Known methods: google.aiplatform.runs.write." in str(caught.value)


@pytest.mark.parametrize("arguments, missing", [
    ("@projectsId='p'", "@locationsId, @tensorboardsId, @experimentsId, @runsId, @@json"),
    (f"{ARGS} @runsId='r'", "@@json"),
    (f"{ARGS} @@json='{{}}'", "@runsId"),
    (f"{ARGS} @runsId='' @@json='{{}}'", "@runsId"),
    (f"{ARGS} @runsId=NULL @@json='{{}}'", "@runsId"),
    ("@runsId='r' @@json='{}'", "@projectsId, @locationsId, @tensorboardsId, @experimentsId"),
])
def test_missing_parameters_are_named(arguments: str, missing: str) -> None:
    with pytest.raises(ProgrammingError) as caught:
        parse(f"EXEC google.aiplatform.runs.write {arguments}")
    assert str(caught.value) == f"EXEC runs.write: missing required parameters {missing}."


@pytest.mark.parametrize("text, message", [
    ("{bad", "@@json is not valid JSON"),
    ("", "@@json is not valid JSON"),
    ("[1, 2]", "@@json must be a JSON object"),
    ('"text"', "@@json must be a JSON object"),
    ('{"timeSeriesData": "[{bad"}', "@@json field timeSeriesData is not valid JSON"),
    ('{"timeSeriesData": "[1,", "x": 1}', "@@json field timeSeriesData is not valid JSON"),
])
def test_malformed_json_is_a_data_error(text: str, message: str) -> None:
    quoted = text.replace("'", "''")
    with pytest.raises(DataError, match=re.escape(message)):
        parse(f"EXEC runs.write {ARGS} @runsId='r' @@json='{quoted}'")


@pytest.mark.parametrize("sql, message", [
    (f"EXEC runs.write {ARGS} @runsId='r' @@json='{{}}' @colour='red'",
     "unknown parameters @colour; it takes projectsId, locationsId, tensorboardsId, "
     "experimentsId, runsId"),
    (f"EXEC runs.write {ARGS} @projectsId='q' @runsId='r' @@json='{{}}'",
     "@projectsId is given twice"),
    (f"EXEC runs.write {ARGS} @runsId='r' @@json='{{}}' @@json='{{}}'",
     "@@json is given twice"),
    (f"EXEC runs.write {ARGS} @runsId='r' @@body='{{}}'", "unknown @@body"),
    (f"EXEC runs.write {ARGS} @runsId 'r'", "expected '=' after @runsId, got 'r'"),
    (f"EXEC runs.write {ARGS} @runsId=", "expected a value for @runsId at the end"),
    (f"EXEC runs.write {ARGS} @runsId=runsId", "@runsId needs a literal or a parameter marker"),
    (f"EXEC runs.write {ARGS} runsId='r'", "expected @name=value or @@json=..., got 'runsId'"),
    (f"EXEC runs.write {ARGS} @runsId='r' json='{{}}'", "got 'json' (line 1, column"),
    (f"EXEC runs.write {ARGS} @runsId='r' @@json='{{}}'; SELECT 1",
     "a second statement follows the ';'"),
    (f"EXEC runs.write {ARGS} @runsId='r' @@json='{{}}", "SQL syntax error"),
])
def test_syntax_errors(sql: str, message: str) -> None:
    with pytest.raises(ProgrammingError, match=re.escape(message)):
        parse(sql)


@pytest.mark.parametrize("value", ["a/b", "../x", "r s", "r?x", ".."])
def test_path_values_that_address_another_resource_are_refused(value: str) -> None:
    with pytest.raises(DataError, match=re.escape(f"Invalid runsId {value!r}")):
        parse(f"EXEC runs.write {ARGS} @runsId=? @@json='{{}}'", [value])


# -- against the emulator ----------------------------------------------------------------------


@pytest.fixture
def target(world: World) -> tuple[str, str, str]:
    """(experiment, loss series, accuracy series) of a fresh run `r1`."""
    experiment = world.new_experiment("exec")
    world.create_runs(experiment, [("r1", {"displayName": "r1"})])
    loss = world.create_scalar_series(experiment, "r1", "loss")
    accuracy = world.create_scalar_series(experiment, "r1", "accuracy")
    world.emu.reset_stats()
    return experiment, loss, accuracy


def series_data(series: str, steps: range, scale: float) -> dict[str, Any]:
    return {"tensorboardTimeSeriesId": series, "valueType": "SCALAR", "values": [
        {"step": str(s), "wallTime": f"2026-04-01T10:00:{s:02d}.250Z",
         "scalar": {"value": s * scale}} for s in steps]}


def wall_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


EXEC_BOUND = ("EXEC google.aiplatform.runs.write @projectsId=?, @locationsId=?, "
              "@tensorboardsId=?, @experimentsId=?, @runsId=? @@json=?")


def bound(world: World, experiment: str, run: str, body: Any) -> list[Any]:
    return [world.path["projectsId"], world.path["locationsId"], world.tensorboard, experiment,
            run, body]


def test_write_points_and_read_them_back(world: World, target: tuple[str, str, str]) -> None:
    experiment, loss, accuracy = target
    body = {"timeSeriesData": [series_data(loss, range(4), 0.25),
                               series_data(accuracy, range(2, 5), 0.1)]}
    with world.connect() as connection:
        cursor = connection.cursor()
        cursor.execute(EXEC_BOUND, bound(world, experiment, "r1", body))
        assert cursor.rowcount == 7
        assert cursor.description is None
    assert world.calls() == {"runs.write": 1}
    assert [(v["step"], v["scalar"]["value"], wall_time(v["wallTime"]))
            for v in world.read_series(experiment, "r1", loss)] == [
        (str(s), s * 0.25, wall_time(f"2026-04-01T10:00:{s:02d}.250Z")) for s in range(4)]
    assert [(v["step"], v["scalar"]["value"])
            for v in world.read_series(experiment, "r1", accuracy)] == [
        (str(s), s * 0.1) for s in range(2, 5)]


def test_write_with_named_markers_and_defaults_from_the_connection(
        world: World, target: tuple[str, str, str]) -> None:
    experiment, loss, _ = target
    with world.connect(experiment) as connection:
        cursor = connection.cursor()
        cursor.execute("EXEC google.aiplatform.runs.write @projectsId=:p, @locationsId=:l, "
                       "@tensorboardsId=:t, @experimentsId=:e, @runsId=:r @@json=:body",
                       {"p": world.path["projectsId"], "l": world.path["locationsId"],
                        "t": world.tensorboard, "e": experiment, "r": "r1",
                        "body": json.dumps({"timeSeriesData": [series_data(loss, range(1),
                                                                           1.0)]})})
        assert cursor.rowcount == 1
    assert [v["step"] for v in world.read_series(experiment, "r1", loss)] == ["0"]


def test_executemany_of_exec_writes_each(world: World, target: tuple[str, str, str]) -> None:
    experiment, loss, _ = target
    with world.connect() as connection:
        cursor = connection.cursor()
        cursor.executemany(EXEC_BOUND, [
            bound(world, experiment, "r1", {"timeSeriesData": [series_data(loss, steps, 2.0)]})
            for steps in (range(0, 3), range(3, 5), range(5, 6))])
        assert cursor.rowcount == 6
    assert world.calls() == {"runs.write": 3}
    assert [(v["step"], v["scalar"]["value"])
            for v in world.read_series(experiment, "r1", loss)] == [
        (str(s), s * 2.0) for s in range(6)]


@pytest.mark.parametrize("body, error, status", [
    ({"timeSeriesData": [series_data("424242", range(2), 1.0)]}, ProgrammingError, "NOT_FOUND"),
    ({"timeSeriesData": [{"tensorboardTimeSeriesId": "LOSS", "valueType": "SCALAR",
                          "values": [{"step": "1", "scalar": {"value": 1.0}},
                                     {"step": "2", "tensor": {"value": "AAAA"}}]}]},
     ProgrammingError, "INVALID_ARGUMENT"),
    ({"timeSeriesData": [{"tensorboardTimeSeriesId": "LOSS",
                          "values": [{"step": "x", "scalar": {"value": 1.0}}]}]},
     ProgrammingError, "INVALID_ARGUMENT"),
])
def test_a_bad_point_fails_the_write_and_writes_nothing(
        world: World, target: tuple[str, str, str], body: dict[str, Any],
        error: type[Exception], status: str) -> None:
    experiment, loss, _ = target
    body = json.loads(json.dumps(body).replace('"LOSS"', json.dumps(loss)))
    with world.connect() as connection, pytest.raises(error) as caught:
        connection.cursor().execute(EXEC_BOUND, bound(world, experiment, "r1", body))
    assert caught.value.rpc_status == status  # type: ignore[attr-defined]
    assert world.calls() == {"runs.write": 1}
    assert world.read_series(experiment, "r1", loss) == []


def test_write_to_a_missing_run(world: World, target: tuple[str, str, str]) -> None:
    experiment, loss, _ = target
    with world.connect() as connection, pytest.raises(ProgrammingError) as caught:
        connection.cursor().execute(EXEC_BOUND, bound(
            world, experiment, "nope", {"timeSeriesData": [series_data(loss, range(1), 1.0)]}))
    assert caught.value.rpc_status == "NOT_FOUND"


def test_a_body_naming_another_run_is_refused_before_any_call(
        world: World, target: tuple[str, str, str]) -> None:
    experiment, loss, _ = target
    body = {"tensorboardRun": world.run_name(experiment, "r2"),
            "timeSeriesData": [series_data(loss, range(1), 1.0)]}
    with world.connect() as connection, pytest.raises(DataError, match="is not the run"):
        connection.cursor().execute(EXEC_BOUND, bound(world, experiment, "r1", body))
    assert world.calls() == {}


def test_a_body_naming_the_run_with_the_project_number_is_accepted(
        world: World, target: tuple[str, str, str]) -> None:
    experiment, loss, _ = target
    stored = world.get_run(experiment, "r1")
    assert stored is not None and not stored["name"].startswith("projects/demo-project/")
    body = {"tensorboardRun": stored["name"], "timeSeriesData": [series_data(loss, range(2),
                                                                             1.0)]}
    with world.connect() as connection:
        cursor = connection.cursor()
        cursor.execute(EXEC_BOUND, bound(world, experiment, "r1", body))
        assert cursor.rowcount == 2
    assert len(world.read_series(experiment, "r1", loss)) == 2


def test_a_lost_response_is_retried_and_writes_once(world: World,
                                                    target: tuple[str, str, str]) -> None:
    experiment, loss, _ = target
    world.emu.set_faults(FaultPlan(rate=1.0, kinds=("lost_response",), methods=("runs.write",)))
    retry = RetryPolicy(initial_backoff=0.0, max_backoff=0.0,
                        sleep=lambda _: world.emu.set_faults(None))
    with world.connect(retry=retry) as connection:
        cursor = connection.cursor()
        cursor.execute(EXEC_BOUND, bound(world, experiment, "r1",
                                         {"timeSeriesData": [series_data(loss, range(3), 1.0)]}))
        assert cursor.rowcount == 3
    assert world.calls() == {"runs.write": 2}
    assert [v["step"] for v in world.read_series(experiment, "r1", loss)] == ["0", "1", "2"]


def test_writes_under_injected_faults(world: World, target: tuple[str, str, str]) -> None:
    experiment, loss, _ = target
    world.emu.set_faults(FaultPlan(rate=0.3, kinds=("429", "503", "500", "reset",
                                                    "lost_response"), seed=3, retry_after=0))
    with world.connect(retry=FAST_RETRY) as connection:
        cursor = connection.cursor()
        cursor.executemany(EXEC_BOUND, [
            bound(world, experiment, "r1",
                  {"timeSeriesData": [series_data(loss, range(s, s + 1), 1.5)]})
            for s in range(40)])
        assert cursor.rowcount == 40
    assert sum(world.emu.stats()["faults"].values()) > 0
    world.emu.set_faults(None)
    assert [(v["step"], v["scalar"]["value"])
            for v in world.read_series(experiment, "r1", loss)] == [
        (str(s), s * 1.5) for s in range(40)]


def test_write_gives_up_with_a_clear_error(world: World, target: tuple[str, str, str]) -> None:
    experiment, loss, _ = target
    world.emu.set_faults(FaultPlan(rate=1.0, kinds=("503",), methods=("runs.write",)))
    retry = RetryPolicy(max_attempts=3, initial_backoff=0.0, max_backoff=0.0)
    with world.connect(retry=retry) as connection, pytest.raises(OperationalError) as caught:
        connection.cursor().execute(EXEC_BOUND, bound(
            world, experiment, "r1", {"timeSeriesData": [series_data(loss, range(1), 1.0)]}))
    assert "gave up after 3 attempts" in str(caught.value)
    assert world.calls() == {"runs.write": 3}
