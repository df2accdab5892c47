"""Reads and writes under injected faults at 5%, 20% and 50%: 429 (with Retry-After), 500, 503,
connection resets, lost responses and slow replies.

A read returns exactly the fault-free answer, or raises OperationalError once its retry budget
is spent (never a short result). A write leaves each row written exactly once, or raises an
error that lists which rows were written (and which were not, or may have been). Timeouts are
honoured, and a SELECT interrupted midway (cursor.close(), KeyboardInterrupt) leaves the
connection usable. The figures (faults injected per kind, rows written under faults) are kept
in FIGURES, and written as JSON to $RUNS_RELIABILITY_FIGURES when that is set.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from support.world import LOCATION, PROJECT, World

from runs_dbapi.connection import Connection
from runs_dbapi.emulator import FaultPlan
from runs_dbapi.exceptions import Error, OperationalError
from runs_dbapi.rest import RetryPolicy

RATES = (0.05, 0.2, 0.5)
READ_KINDS = ("429", "500", "503", "reset", "slow")
WRITE_KINDS = ("429", "500", "503", "reset", "lost_response", "slow")
TINY = {"initial_backoff": 0.001, "max_backoff": 0.004, "deadline": 60.0}

FIGURES: dict[str, Any] = {"faults": Counter(), "reads": 0, "reads_exact": 0,
                           "reads_gave_up": 0, "rows_written": 0, "write_errors": 0}


@pytest.fixture(scope="module", autouse=True)
def figures() -> Iterator[None]:
    """The module's figures, written where $RUNS_RELIABILITY_FIGURES says (bench/RESULTS.md)."""
    yield
    target = os.environ.get("RUNS_RELIABILITY_FIGURES")
    if target:
        with open(target, "w", encoding="utf-8") as out:
            json.dump(FIGURES, out, indent=1)


@pytest.fixture(autouse=True)
def faults_seen(world: World) -> Iterator[None]:
    yield
    FIGURES["faults"].update(world.emu.stats()["faults"])


def _fetch(connection: Connection, sql: str) -> list[tuple[Any, ...]]:
    cursor = connection.cursor()
    try:
        return [tuple(row) for row in cursor.execute(sql).fetchall()]
    finally:
        cursor.close()


def _queries(world: World) -> list[str]:
    tb = world.tensorboard
    return [
        # a fan-out over every tensorboard and experiment
        "SELECT experimentsId, runsId, displayName, labels, createTime FROM runs "
        "ORDER BY experimentsId, runsId",
        # one experiment, streamed
        "SELECT runsId, description FROM runs WHERE experimentsId = 'bert-glue'",
        # an aggregate
        "SELECT experimentsId, labels ->> '$.status' AS s, count(*) FROM runs GROUP BY 1, 2",
        # the API's own pages, 5 runs each: 12 pages
        "SELECT nextPageToken, tensorboardRuns FROM google.aiplatform.runs "
        f"WHERE projectsId = '{PROJECT}' AND locationsId = '{LOCATION}' AND "
        f"tensorboardsId = '{tb}' AND experimentsId = 'resnet-sweep' AND pageSize = '5'",
        # gets by key
        "SELECT runsId, displayName FROM runs WHERE experimentsId = 'bert-glue' "
        "AND runsId IN ('bert-glue-0001', 'bert-glue-0002', 'bert-glue-0042') ORDER BY runsId",
        "SELECT e.experimentsId, count(*) FROM runs AS r JOIN experiments AS e "
        "ON e.experimentsId = r.experimentsId GROUP BY 1",
    ]


# -- reads ----------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", RATES)
def test_reads_are_exact_or_give_up(world: World, rate: float) -> None:
    queries = _queries(world)
    with world.connect(retry=RetryPolicy(max_attempts=6, **TINY)) as connection:
        clean = [_fetch(connection, sql) for sql in queries]
        assert all(clean) and len(clean[0]) == 360
        world.emu.set_faults(FaultPlan(rate=rate, kinds=READ_KINDS, seed=int(rate * 100),
                                       retry_after=0, slow_seconds=0.02))
        for _ in range(3):
            for sql, expected in zip(queries, clean, strict=True):
                FIGURES["reads"] += 1
                try:
                    answer = _fetch(connection, sql)
                except OperationalError as error:
                    FIGURES["reads_gave_up"] += 1
                    assert "gave up after 6 attempts (retry budget of 6 attempts exhausted)" \
                        in str(error), str(error)
                    continue
                assert answer == expected, sql
                FIGURES["reads_exact"] += 1
        faults = world.emu.stats()["faults"]
    assert sum(faults.values()) > 0 and set(faults) <= set(READ_KINDS), faults
    if rate >= 0.2:
        assert set(faults) == set(READ_KINDS), faults
    if rate < 0.5:  # 6 attempts at 20%: a call fails with odds 1 in 15625
        assert FIGURES["reads_gave_up"] == 0


def test_a_spent_retry_budget_raises_operational_error(world: World) -> None:
    world.emu.set_faults(FaultPlan(rate=1.0, kinds=("500",)))
    with world.connect("bert-glue", retry=RetryPolicy(max_attempts=3, **TINY)) as connection, \
            pytest.raises(OperationalError) as caught:
        _fetch(connection, "SELECT runsId FROM runs")
    assert "gave up after 3 attempts (retry budget of 3 attempts exhausted)" in str(caught.value)
    assert caught.value.rpc_status == "INTERNAL"
    assert world.calls() == {"runs.list": 3}


def test_retry_after_is_waited_for(world: World) -> None:
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        world.emu.set_faults(None)

    world.emu.set_faults(FaultPlan(rate=1.0, kinds=("429",), retry_after=2))
    retry = RetryPolicy(initial_backoff=0.001, max_backoff=0.001, sleep=sleep)
    with world.connect("bert-glue", retry=retry) as connection:
        assert len(_fetch(connection, "SELECT runsId FROM runs")) == 60
    assert waits and waits[0] >= 2.0


def test_a_deadline_shorter_than_retry_after_gives_up_at_once(world: World) -> None:
    world.emu.set_faults(FaultPlan(rate=1.0, kinds=("429",), retry_after=30))
    started = time.monotonic()
    with world.connect("bert-glue", retry=RetryPolicy(deadline=2.0)) as connection, \
            pytest.raises(OperationalError, match=r"retry deadline of 2 s reached"):
        _fetch(connection, "SELECT runsId FROM runs")
    assert time.monotonic() - started < 2.0


# -- timeouts --------------------------------------------------------------------------------


def test_the_timeout_is_honoured(world: World) -> None:
    world.emu.set_faults(FaultPlan(rate=1.0, kinds=("slow",), slow_seconds=1.5))
    started = time.monotonic()
    with world.connect("bert-glue", timeout=0.25,
                       retry=RetryPolicy(max_attempts=2, **TINY)) as connection, \
            pytest.raises(OperationalError) as caught:
        _fetch(connection, "SELECT runsId FROM runs")
    elapsed = time.monotonic() - started
    assert 0.5 <= elapsed < 1.4, elapsed  # two attempts of 0.25 s, not two slow replies
    assert "gave up after 2 attempts" in str(caught.value)
    assert "timed out" in str(caught.value).lower()


def test_slow_replies_within_the_timeout_are_waited_for(world: World) -> None:
    world.emu.set_faults(FaultPlan(rate=1.0, kinds=("slow",), slow_seconds=0.1))
    with world.connect("bert-glue", timeout=2.0) as connection:
        assert len(_fetch(connection, "SELECT runsId FROM runs")) == 60


# -- interrupted SELECTs -----------------------------------------------------------------------


def _paged(world: World) -> str:
    return ("SELECT nextPageToken, tensorboardRuns FROM google.aiplatform.runs "
            f"WHERE projectsId = '{PROJECT}' AND locationsId = '{LOCATION}' AND "
            f"tensorboardsId = '{world.tensorboard}' AND experimentsId = 'bert-glue' "
            "AND pageSize = '2'")


def _settled_calls(world: World) -> int:
    """runs.list calls once no more are being made."""
    last = -1
    while True:
        time.sleep(0.3)
        now = world.calls().get("runs.list", 0)
        if now == last:
            return now
        last = now


def test_closing_the_cursor_during_pagination_stops_it(world: World) -> None:
    with world.connect() as connection:
        clean = _fetch(connection, _paged(world))
        assert len(clean) == 30
        world.emu.set_latency(30)
        world.emu.reset_stats()
        cursor = connection.cursor()
        cursor.execute(_paged(world))
        assert tuple(cursor.fetchone() or ()) == clean[0]
        cursor.close()
        fetched = _settled_calls(world)
        assert fetched < 12, fetched  # the pages ahead of the reader stopped
        world.emu.set_latency(0)
        assert _fetch(connection, _paged(world)) == clean


def test_keyboard_interrupt_during_a_select_leaves_the_connection_usable(world: World) -> None:
    with world.connect() as connection:
        clean = _fetch(connection, _paged(world))
        world.emu.set_latency(40)
        world.emu.reset_stats()
        main = threading.main_thread().ident
        assert main == threading.get_ident()
        # Ctrl-C 0.3 s into the query. Python drops an exception raised while a finalizer runs
        # (a busy machine can run one just then), so the interrupt is sent again, armed once at
        # a time, until the query has seen one.
        armed, seen = threading.Event(), threading.Event()

        def interrupt(signum: int, frame: Any) -> None:
            if armed.is_set():
                armed.clear()
                raise KeyboardInterrupt

        def press_ctrl_c() -> None:
            time.sleep(0.3)
            while not seen.is_set():
                armed.set()
                signal.pthread_kill(main, signal.SIGINT)
                seen.wait(0.5)

        previous = signal.signal(signal.SIGINT, interrupt)
        presser = threading.Thread(target=press_ctrl_c)
        cursor = connection.cursor()
        presser.start()
        try:
            with pytest.raises(KeyboardInterrupt):
                cursor.execute(_paged(world)).fetchall()
        finally:
            seen.set()
            presser.join()
            signal.signal(signal.SIGINT, previous)
        cursor.close()
        assert _settled_calls(world) < 30
        world.emu.set_latency(0)
        assert _fetch(connection, _paged(world)) == clean
        fresh = connection.cursor()
        fresh.execute("UPDATE runs SET description = description WHERE "
                      "experimentsId = 'bert-glue' AND runsId = 'bert-glue-0001'")
        assert fresh.rowcount == 1


# -- writes ------------------------------------------------------------------------------------


def _check_partial(error: Error, intended: dict[str, str], existing: dict[str, str]) -> None:
    """A failed write's error says which rows were written: exactly those exist."""
    assert error.rows_written is not None, str(error)
    written = set(error.rows_written)
    not_written = set(error.rows_not_written or ())
    unknown = set(error.rows_unknown or ())
    assert written <= set(existing) and not (not_written & set(existing)), str(error)
    assert set(existing) <= written | unknown
    for rid, value in existing.items():
        assert value == intended[rid]


@pytest.mark.parametrize("rate", RATES)
def test_writes_are_exactly_once_or_say_what_was_written(world: World, rate: float) -> None:
    experiment = world.new_experiment(f"faults-{int(rate * 100)}")
    connection = world.connect(experiment, retry=RetryPolicy(max_attempts=8, **TINY))
    cursor = connection.cursor()
    plan = FaultPlan(rate=rate, kinds=WRITE_KINDS, seed=7 + int(rate * 100), retry_after=0,
                     slow_seconds=0.02)
    world.emu.set_faults(plan)
    written = 0

    # A batch of 400 runs with IDs, in one batchCreate.
    rows = {f"b-{i:03d}": f"batch {i}" for i in range(400)}
    try:
        cursor.executemany("INSERT INTO runs (runsId, displayName) VALUES (?, ?)",
                           list(rows.items()))
        assert cursor.rowcount == 400
        written += 400
    except Error as error:
        FIGURES["write_errors"] += 1
        world.emu.set_faults(None)  # look, and complete the batch, without faults
        existing = {run["name"].rsplit("/", 1)[1]: run["displayName"]
                    for run in world.list_runs(experiment)}
        _check_partial(error, rows, existing)
        written += len(existing)
        world.api("POST", world.experiment_name(experiment) + "/runs:batchCreate", json={
            "requests": [{"tensorboardRunId": rid, "tensorboardRun": {"displayName": name}}
                         for rid, name in rows.items() if rid not in existing]})
        world.emu.set_faults(plan)

    # 40 single-row INSERTs without IDs: the driver makes one up, so a repeat is no duplicate.
    singles = [f"single {i}" for i in range(40)]
    for name in singles:
        try:
            cursor.execute("INSERT INTO runs (displayName) VALUES (?)", [name])
            assert cursor.rowcount == 1
            written += 1
        except OperationalError as error:  # the retry budget: it may or may not be there
            FIGURES["write_errors"] += 1
            assert "gave up after" in str(error), str(error)

    # UPDATE of 40 runs by predicate (40 concurrent patches), DELETE of 40 (40 deletes).
    for sql, count in (
        ("UPDATE runs SET description = 'changed' WHERE runsId BETWEEN 'b-000' AND 'b-039'", 40),
        ("DELETE FROM runs WHERE runsId BETWEEN 'b-100' AND 'b-139'", 40),
    ):
        try:
            cursor.execute(sql)
            assert cursor.rowcount == count
            written += count
        except Error as error:
            FIGURES["write_errors"] += 1
            assert error.rows_written is not None, str(error)
            assert "rows were written" in str(error)
            written += len(error.rows_written)
            world.emu.set_faults(None)
            cursor.execute(sql)  # finish the job without faults: it reaches the rest
            world.emu.set_faults(plan)

    faults = world.emu.stats()["faults"]
    world.emu.set_faults(None)
    FIGURES["rows_written"] += written
    assert sum(faults.values()) > 0
    runs = world.list_runs(experiment)
    names = Counter(run["displayName"] for run in runs)
    assert all(count == 1 for count in names.values()), names.most_common(3)
    by_id = {run["name"].rsplit("/", 1)[1]: run for run in runs}
    expected_batch = {rid for rid in rows if not "b-100" <= rid <= "b-139"}
    assert {rid for rid in by_id if rid.startswith("b-")} == expected_batch
    for rid in expected_batch:
        assert by_id[rid]["displayName"] == rows[rid]
        assert by_id[rid].get("description") == ("changed" if rid <= "b-039" else None)
    # Each single insert that reported success is there once; none is there twice.
    assert set(singles) >= {name for name in names if name.startswith("single ")}
    if rate < 0.5:
        assert set(singles) <= set(names)
