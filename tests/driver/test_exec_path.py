"""Issue 11, part 2: EXEC takes the connection's path like every other statement.

`project`, `location`, `tensorboard` and `experiment` given to connect() (or in the URL) fill the
path parameters an EXEC leaves out; those the EXEC gives win.
"""

from __future__ import annotations

import json

import pytest
from support.world import LOCATION, PROJECT, World

from runs_dbapi.exceptions import ProgrammingError
from runs_dbapi.procedures import parse_exec

DEFAULTS = {"projectsId": "p", "locationsId": "l", "tensorboardsId": "123",
            "experimentsId": "e"}


def _body(series: str, *steps: int) -> str:
    return json.dumps({"timeSeriesData": [{
        "tensorboardTimeSeriesId": series, "valueType": "SCALAR",
        "values": [{"step": str(step), "wallTime": "2026-01-06T09:00:00Z",
                    "scalar": {"value": step / 10}} for step in steps]}]})


def _run_with_series(world: World, prefix: str) -> tuple[str, str]:
    experiment = world.new_experiment(prefix)
    world.create_runs(experiment, [("r1", {"displayName": "r1"})])
    return experiment, world.create_scalar_series(experiment, "r1", "loss")


# -- parsing -----------------------------------------------------------------------------------


def test_the_defaults_fill_the_path_the_exec_leaves_out() -> None:
    call = parse_exec("EXEC google.aiplatform.runs.write @runsId='r1', @@json='{}'", None,
                      DEFAULTS)
    assert call.arguments == {**DEFAULTS, "runsId": "r1"}


def test_parameters_of_the_exec_win_over_the_defaults() -> None:
    call = parse_exec("EXEC google.aiplatform.runs.write @experimentsId='mine' "
                      "@TENSORBOARDSID='9' @runsId='r1' @@json='{}'", None, DEFAULTS)
    assert call.arguments == {"projectsId": "p", "locationsId": "l", "tensorboardsId": "9",
                              "experimentsId": "mine", "runsId": "r1"}


def test_an_empty_parameter_takes_the_default() -> None:
    call = parse_exec("EXEC google.aiplatform.runs.write @experimentsId=NULL @runsId=? "
                      "@@json='{}'", ["r1"], DEFAULTS)
    assert call.arguments["experimentsId"] == "e"


def test_what_neither_gives_is_still_missing() -> None:
    partial = {"projectsId": "p", "locationsId": "l"}
    with pytest.raises(ProgrammingError) as caught:
        parse_exec("EXEC google.aiplatform.runs.write @runsId='r1' @@json='{}'", None, partial)
    assert str(caught.value) == ("EXEC runs.write: missing required parameters "
                                 "@tensorboardsId, @experimentsId.")
    with pytest.raises(ProgrammingError, match="missing required parameters @runsId"):
        parse_exec("EXEC google.aiplatform.runs.write @@json='{}'", None, DEFAULTS)


# -- through connect() against the emulator ----------------------------------------------------


def test_exec_with_only_the_run_uses_the_connection_path(world: World) -> None:
    experiment, series = _run_with_series(world, "exec-path")
    world.emu.reset_stats()
    with world.connect(experiment) as connection:
        cursor = connection.cursor()
        cursor.execute("EXEC google.aiplatform.runs.write @runsId='r1', @@json=?",
                       [_body(series, 1, 2, 3)])
        assert cursor.rowcount == 3
    assert world.calls() == {"runs.write": 1}
    assert [v["step"] for v in world.read_series(experiment, "r1", series)] == ["1", "2", "3"]


def test_exec_parameters_win_over_the_connection(world: World) -> None:
    experiment, series = _run_with_series(world, "exec-wins")
    decoy, decoy_series = _run_with_series(world, "exec-decoy")
    world.emu.reset_stats()
    with world.connect(decoy) as connection:  # the EXEC names another experiment
        cursor = connection.cursor()
        cursor.execute("EXEC google.aiplatform.runs.write @experimentsId=?, @runsId='r1', "
                       "@@json=?", [experiment, _body(series, 7)])
        assert cursor.rowcount == 1
    assert world.calls() == {"runs.write": 1}
    assert [v["step"] for v in world.read_series(experiment, "r1", series)] == ["7"]
    assert world.read_series(decoy, "r1", decoy_series) == []


def test_executemany_exec_uses_the_connection_path(world: World) -> None:
    experiment, series = _run_with_series(world, "exec-many")
    with world.connect(experiment) as connection:
        cursor = connection.cursor()
        cursor.executemany("EXEC google.aiplatform.runs.write @runsId=?, @@json=?",
                           [("r1", _body(series, 1)), ("r1", _body(series, 2, 3))])
        assert cursor.rowcount == 3
    assert [v["step"] for v in world.read_series(experiment, "r1", series)] == ["1", "2", "3"]


def test_a_connection_without_a_tensorboard_names_what_is_missing(world: World) -> None:
    with world.connect(tensorboard=None) as connection, \
            pytest.raises(ProgrammingError) as caught:
        connection.cursor().execute(
            "EXEC google.aiplatform.runs.write @runsId='r1', @@json='{}'")
    assert str(caught.value) == ("EXEC runs.write: missing required parameters "
                                 "@tensorboardsId, @experimentsId.")
    assert world.calls() == {}


def test_the_whole_path_spelled_out_still_works(world: World) -> None:
    experiment, series = _run_with_series(world, "exec-full")
    with world.connect(project=None, location=None, tensorboard=None) as connection:
        cursor = connection.cursor()
        cursor.execute(
            "EXEC google.aiplatform.runs.write @projectsId=?, @locationsId=?, "
            "@tensorboardsId=?, @experimentsId=?, @runsId='r1', @@json=?",
            [PROJECT, LOCATION, world.tensorboard, experiment, _body(series, 5)])
        assert cursor.rowcount == 1
    assert [v["step"] for v in world.read_series(experiment, "r1", series)] == ["5"]
