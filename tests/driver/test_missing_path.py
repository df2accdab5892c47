"""Issue 11, part 3: a path that does not exist is not an empty table.

A tensorboard or experiment named by the connection (connect() or the runs:// URL) that does
not exist raises ProgrammingError naming it, for reads, writes and the dialect's ping (so
SQLAlchemy's and Superset's connection test fail on it); an equality in WHERE on a missing one
still selects no rows, as SQL says. A path that exists costs no extra call.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine
from support.world import LOCATION, PROJECT, World

from runs_dbapi.exceptions import ProgrammingError
from runs_dialect import build_url

MISSING_TB = "424242"


def _rows(world: World, sql: str, parameters: Any = None, **options: Any) -> list[tuple[Any, ...]]:
    with world.connect(**options) as connection:
        cursor = connection.cursor()
        cursor.execute(sql, parameters)
        return [tuple(row) for row in cursor.fetchall()]


def _error(world: World, sql: str, parameters: Any = None, **options: Any) -> ProgrammingError:
    with pytest.raises(ProgrammingError) as caught:
        _rows(world, sql, parameters, **options)
    return caught.value


# -- reads -------------------------------------------------------------------------------------


def test_a_path_that_exists_costs_no_extra_call(world: World) -> None:
    assert _rows(world, "SELECT count(*) FROM runs", experiment="bert-glue") == [(60,)]
    assert world.calls() == {"runs.list": 1}
    world.emu.reset_stats()
    assert _rows(world, "SELECT displayName FROM runs WHERE runsId = 'bert-glue-0001'",
                 experiment="bert-glue") == [("bert-glue adam lr=0.01 #1",)]
    assert world.calls() == {"runs.get": 1}


def test_a_missing_experiment_of_the_connection_is_named(world: World) -> None:
    error = _error(world, "SELECT * FROM runs", experiment="nope")
    assert "The experiment 'nope' named by the connection does not exist" in str(error)
    assert error.rpc_status == "NOT_FOUND"
    assert world.calls() == {"runs.list": 1, "tensorboards.get": 1}


def test_a_missing_tensorboard_of_the_connection_is_named(world: World) -> None:
    error = _error(world, "SELECT count(*) FROM runs", tensorboard=MISSING_TB,
                   experiment="bert-glue")
    assert f"The tensorboard '{MISSING_TB}' named by the connection does not exist" in str(error)
    assert world.calls() == {"runs.list": 1, "tensorboards.get": 1}


def test_a_missing_tensorboard_is_named_when_fanning_out_over_its_experiments(
        world: World) -> None:
    for sql in ("SELECT count(*) FROM runs", "SELECT experimentsId FROM experiments"):
        world.emu.reset_stats()
        error = _error(world, sql, tensorboard=MISSING_TB)
        assert f"The tensorboard '{MISSING_TB}' named by the connection" in str(error), sql
        assert world.calls() == {"experiments.list": 1}, sql


def test_a_get_by_key_tells_a_missing_run_from_a_missing_experiment(world: World) -> None:
    sql = "SELECT runsId FROM runs WHERE runsId = 'bert-glue-0001'"
    error = _error(world, sql, experiment="nope")
    assert "The experiment 'nope' named by the connection does not exist" in str(error)
    assert world.calls() == {"runs.get": 1, "experiments.get": 1, "tensorboards.get": 1}
    world.emu.reset_stats()
    # A missing run under an experiment that exists: no rows, after one get of the experiment.
    assert _rows(world, "SELECT runsId FROM runs WHERE runsId = 'no-such-run'",
                 experiment="bert-glue") == []
    assert world.calls() == {"runs.get": 1, "experiments.get": 1}


def test_an_equality_in_where_on_a_missing_one_selects_no_rows(world: World) -> None:
    # The experiment comes from the WHERE clause: SQL's answer is no rows.
    assert _rows(world, "SELECT count(*) FROM runs WHERE experimentsId = 'nope'") == [(0,)]
    assert world.calls() == {"runs.list": 1, "tensorboards.get": 1}
    world.emu.reset_stats()
    assert _rows(world, "SELECT runsId FROM runs WHERE experimentsId = ?", ["nope"],
                 experiment="bert-glue") == []
    assert _rows(world, "SELECT runsId FROM runs WHERE tensorboardsId = ? AND "
                 "experimentsId = 'bert-glue'", [MISSING_TB]) == []
    assert _rows(world, "SELECT runsId FROM runs WHERE experimentsId = 'nope' AND "
                 "runsId = 'bert-glue-0001'") == []
    # Nothing from the connection below the location: no check at all.
    world.emu.reset_stats()
    assert _rows(world, "SELECT runsId FROM runs WHERE tensorboardsId = ? AND "
                 "experimentsId = 'nope'", [world.tensorboard], tensorboard=None) == []
    assert world.calls() == {"runs.list": 1}


def test_a_where_tensorboard_that_is_missing_beats_the_connection_experiment(
        world: World) -> None:
    # WHERE names a missing tensorboard; the connection's experiment is not to blame.
    assert _rows(world, "SELECT runsId FROM runs WHERE tensorboardsId = ?", [MISSING_TB],
                 experiment="bert-glue") == []
    assert world.calls() == {"runs.list": 1, "tensorboards.get": 1}


# -- writes ------------------------------------------------------------------------------------


def test_insert_into_a_missing_experiment_of_the_connection_names_it(world: World) -> None:
    error = _error(world, "INSERT INTO runs (displayName) VALUES ('x')", experiment="nope")
    assert "The experiment 'nope' named by the connection does not exist" in str(error)
    assert world.calls() == {"runs.create": 1, "tensorboards.get": 1}
    world.emu.reset_stats()
    with world.connect(experiment="nope") as connection, \
            pytest.raises(ProgrammingError) as caught:
        connection.cursor().executemany("INSERT INTO runs (runsId, displayName) VALUES (?, ?)",
                                        [("a", "a"), ("b", "b")])
    assert "The experiment 'nope' named by the connection does not exist" in str(caught.value)
    assert caught.value.rows_written == [] and caught.value.rows_not_written == ["a", "b"]
    assert world.calls() == {"runs.batchCreate": 1, "tensorboards.get": 1}


def test_insert_naming_a_missing_experiment_itself_keeps_the_api_error(world: World) -> None:
    error = _error(world, "INSERT INTO runs (displayName, experimentsId) VALUES ('x', 'nope')",
                   experiment="bert-glue")
    assert error.rpc_status == "NOT_FOUND" and "named by the connection" not in str(error)
    assert world.calls() == {"runs.create": 1}


@pytest.mark.parametrize("sql, calls", [
    ("UPDATE runs SET description = 'x' WHERE runsId = 'r1'",
     {"runs.patch": 1, "experiments.get": 1, "tensorboards.get": 1}),
    ("DELETE FROM runs WHERE runsId = 'r1'",
     {"runs.get": 1, "experiments.get": 1, "tensorboards.get": 1}),
    ("UPDATE runs SET description = 'x' WHERE displayName = 'r1'",
     {"runs.list": 1, "tensorboards.get": 1}),
    ("DELETE FROM runs WHERE displayName = 'r1'", {"runs.list": 1, "tensorboards.get": 1}),
])
def test_updates_and_deletes_under_a_missing_experiment_name_it(world: World, sql: str,
                                                                calls: dict[str, int]) -> None:
    error = _error(world, sql, experiment="nope")
    assert "The experiment 'nope' named by the connection does not exist" in str(error)
    assert world.calls() == calls


# -- the dialect's ping (SQLAlchemy's pool_pre_ping, Superset's connection test) ----------------


def _ping(world: World, tensorboard: str | None, experiment: str | None) -> bool:
    url = build_url(PROJECT, LOCATION, tensorboard, experiment, endpoint=world.emu.url,
                    anonymous=True)
    engine = create_engine(url)
    raw = engine.raw_connection()
    try:
        world.emu.reset_stats()
        return bool(engine.dialect.do_ping(raw))
    finally:
        raw.close()
        engine.dispose()


def test_ping_checks_the_path_of_the_url(world: World) -> None:
    assert _ping(world, world.tensorboard, "bert-glue") is True
    assert world.calls() == {"experiments.get": 1}
    assert _ping(world, world.tensorboard, None) is True
    assert world.calls() == {"tensorboards.get": 1}
    with pytest.raises(ProgrammingError, match="The experiment 'nope' named by the connection"):
        _ping(world, world.tensorboard, "nope")
    assert world.calls() == {"experiments.get": 1, "tensorboards.get": 1}
    with pytest.raises(ProgrammingError, match=f"The tensorboard '{MISSING_TB}' named by"):
        _ping(world, MISSING_TB, "bert-glue")
    with pytest.raises(ProgrammingError, match=f"The tensorboard '{MISSING_TB}' named by"):
        _ping(world, MISSING_TB, None)
    assert world.calls() == {"tensorboards.get": 1}


def test_ping_of_an_experiment_without_a_tensorboard_looks_in_each(world: World) -> None:
    assert _ping(world, None, "bert-glue") is True
    assert world.calls() == {"tensorboards.list": 1, "experiments.get": 1}
    with pytest.raises(ProgrammingError, match="does not exist in any tensorboard"):
        _ping(world, None, "nope")


def test_ping_without_a_path_below_the_location_is_one_call(world: World) -> None:
    assert _ping(world, None, None) is True
    assert world.calls() == {"tensorboards.list": 1}
