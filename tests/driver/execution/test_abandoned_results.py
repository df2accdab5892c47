"""Results read in part and then abandoned never freeze the driver (issue 11).

A result left unread (dropped without close, a cursor re-executed, a SQLAlchemy CursorResult
left unconsumed while its pooled connection is reused, pandas stopping after its first chunk)
holds no pool worker: the next query answers at once, fan-outs included, even after 100 of them.
Dropped results let go of their pages (no PageStream outlives them), closed connections of
their threads, and a result still referenced reads ahead only a bounded number of pages, then
resumes where it stopped and gives exactly its rows.
"""

from __future__ import annotations

import gc
import importlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

import runs_dbapi
from runs_dbapi import executor
from runs_dbapi.emulator import Emulator
from runs_dialect import build_url

pd = importlib.import_module("pandas")  # untyped: its attributes are Any
pytestmark = pytest.mark.timeout(240)  # a hang fails the test instead of blocking the run

PAGES = 8  # pages of 1000 runs in the experiment "big"
WIDE = 40  # experiments of the tensorboard "wide" (more than the pool's 32 workers)
ABANDONED = 100
PROMPTLY = 30.0  # seconds: generous, only to turn a hang into a failure
T = TypeVar("T")


class World:
    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator
        session = requests.Session()
        base = f"{emulator.url}/v1/projects/p/locations/l"
        self.boards: dict[str, str] = {}
        for board in ("big", "wide"):
            made = session.post(f"{base}/tensorboards", json={"displayName": board}).json()
            self.boards[board] = made["response"]["name"].rsplit("/", 1)[1]
        self._make(session, "big", "big", [f"r-{p}-{i}" for p in range(PAGES)
                                           for i in range(1000)])
        for number in range(WIDE):
            self._make(session, "wide", f"w{number:02d}",
                       [f"w{number:02d}-{i}" for i in range(3)])

    def _make(self, session: requests.Session, board: str, experiment: str,
              runs: list[str]) -> None:
        url = self.emu.url
        parent = f"projects/p/locations/l/tensorboards/{self.boards[board]}"
        session.post(f"{url}/v1/{parent}/experiments?tensorboardExperimentId={experiment}",
                     json={}).raise_for_status()
        parent += f"/experiments/{experiment}"
        for start in range(0, len(runs), 1000):
            batch = [{"parent": parent, "tensorboardRunId": run,
                      "tensorboardRun": {"displayName": f"run {run}"}}
                     for run in runs[start:start + 1000]]
            session.post(f"{url}/v1/{parent}/runs:batchCreate",
                         json={"requests": batch}).raise_for_status()

    def connect(self, board: str = "big", **options: Any) -> runs_dbapi.Connection:
        if board == "big":
            options.setdefault("experiment", "big")
        return runs_dbapi.connect(endpoint=self.emu.url, anonymous=True, project="p",
                                  location="l", tensorboard=self.boards[board], **options)

    def engine(self, board: str = "big") -> Engine:
        url = build_url("p", "l", self.boards[board], "big" if board == "big" else None,
                        endpoint=self.emu.url, anonymous=True)
        return create_engine(url.render_as_string(hide_password=False))

    def settled_lists(self) -> int:
        """runs.list calls so far, once no more are being made (nothing fetches any more)."""
        last = -1
        while True:
            time.sleep(0.3)
            now = self.emu.calls("runs.list")
            if now == last:
                return now
            last = now


@pytest.fixture(scope="module")
def world(module_emu: Emulator) -> World:
    return World(module_emu)


@pytest.fixture(autouse=True)
def _fresh(world: World) -> Iterator[None]:
    world.emu.reset_stats()
    yield
    world.emu.set_latency(0)


def promptly(call: Callable[[], T], within: float = PROMPTLY) -> T:
    """`call()`, run on a thread: a call that does not return within the bound fails the test
    (a hung query would otherwise block the whole run)."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as error:  # re-raised below
            failure.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(within)
    assert not thread.is_alive(), f"no answer within {within} s: the driver is frozen"
    if failure:
        raise failure[0]
    return outcome[0]


def live_streams(but: list[executor.PageStream] | None = None) -> list[executor.PageStream]:
    """The PageStreams alive in this process (but those of `but`)."""
    old = {id(s) for s in but or ()}
    return [o for o in gc.get_objects()
            if isinstance(o, executor.PageStream) and id(o) not in old]


def eventually(check: Callable[[], bool], within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def count_runs(connection: runs_dbapi.Connection) -> Any:
    return connection.cursor().execute("SELECT count(*) FROM runs").fetchone()


def per_experiment(connection: runs_dbapi.Connection) -> list[Any]:
    cursor = connection.cursor()
    cursor.execute("SELECT experimentsId, count(*) FROM runs GROUP BY 1 ORDER BY 1")
    return [tuple(row) for row in cursor.fetchall()]


EXPECTED_WIDE = [(f"w{n:02d}", 3) for n in range(WIDE)]


# -- raw cursors -----------------------------------------------------------------------------

def test_dropped_cursors_hold_nothing_and_the_next_query_answers(world: World) -> None:
    before = len(live_streams())
    with world.connect() as connection:
        gc.disable()  # reference counting alone lets go of a dropped result
        try:
            for _ in range(ABANDONED):
                cursor = connection.cursor()
                cursor.execute("SELECT runsId, displayName FROM runs")
                assert cursor.fetchone() is not None
                del cursor  # neither read to the end nor closed
            assert promptly(lambda: count_runs(connection)) == (PAGES * 1000,)
            assert eventually(lambda: len(live_streams()) <= before)
        finally:
            gc.enable()
        # No stream is left to fetch: each dropped result made its first page's call and at
        # most `depth` (4) more ahead, far from its whole listing.
        assert world.settled_lists() <= ABANDONED * (1 + 4) + PAGES < ABANDONED * PAGES


def test_re_executed_cursor_lets_go_of_the_previous_result(world: World) -> None:
    before = len(live_streams())
    with world.connect() as connection:
        cursor = connection.cursor()
        for _ in range(ABANDONED):
            cursor.execute("SELECT runsId FROM runs")
            assert cursor.fetchone() is not None
        assert eventually(lambda: len(live_streams()) <= before + 1)  # only the current one
        assert promptly(lambda: count_runs(connection)) == (PAGES * 1000,)
        rest = promptly(cursor.fetchall)  # the current result is whole
        assert len(rest) == len(set(rest)) == PAGES * 1000 - 1


def test_referenced_unread_results_read_ahead_boundedly_then_resume_exactly(
        world: World) -> None:
    before = live_streams()
    with world.connect() as connection:
        held = []
        for _ in range(ABANDONED):
            cursor = connection.cursor()
            cursor.execute("SELECT runsId FROM runs")
            assert cursor.fetchone() is not None
            held.append(cursor)
        assert promptly(lambda: count_runs(connection)) == (PAGES * 1000,)
        # An unread result stops reading ahead: its first page and `depth` more at most.
        ahead = max(s.ahead for s in live_streams(but=before))
        assert world.settled_lists() <= ABANDONED * (1 + ahead) + PAGES < ABANDONED * PAGES
        for cursor in (held[0], held[-1]):  # parked, not lost: reading resumes on demand
            rest = promptly(cursor.fetchall)
            assert len(rest) == len(set(rest)) == PAGES * 1000 - 1


def test_fan_out_answers_while_many_fan_out_results_are_abandoned(world: World) -> None:
    with world.connect("wide") as connection:
        held = []
        for number in range(ABANDONED):
            cursor = connection.cursor()
            cursor.execute("SELECT experimentsId, runsId FROM runs")
            assert cursor.fetchone() is not None
            if number % 2:
                held.append(cursor)  # half still referenced, half dropped
        assert promptly(lambda: per_experiment(connection)) == EXPECTED_WIDE
        rest = promptly(held[0].fetchall)
        assert len(rest) == WIDE * 3 - 1


def test_a_query_inside_a_partly_read_fan_out_does_not_wait_on_its_workers(
        world: World) -> None:
    """Two workers, a fan-out over 40 experiments being read, and, between its rows, another
    fan-out on the same connection: the first one's parked sources hold neither worker."""
    with world.connect("wide", max_workers=2) as connection:
        outer = connection.cursor()
        outer.execute("SELECT experimentsId, runsId FROM runs")
        seen = []
        for _ in range(3):
            row = outer.fetchone()
            assert row is not None
            seen.append(tuple(row))
            assert promptly(lambda: per_experiment(connection)) == EXPECTED_WIDE
        seen += [tuple(r) for r in promptly(outer.fetchall)]
        assert len(seen) == len(set(seen)) == WIDE * 3


def test_closing_the_connection_releases_threads_and_pages(world: World) -> None:
    before = live_streams()
    connection = world.connect("wide", max_workers=4)
    world.emu.set_latency(20)
    held = []
    for _ in range(20):
        cursor = connection.cursor()
        cursor.execute("SELECT experimentsId, runsId FROM runs")
        assert cursor.fetchone() is not None
        held.append(cursor)
    workers = list(connection._pool._threads)
    assert workers
    streams = live_streams(but=before)
    assert len(streams) >= len(held)
    promptly(connection.close)
    for worker in workers:
        worker.join(PROMPTLY)
    assert not any(worker.is_alive() for worker in workers)
    assert all(not s._buffer and not s._ready for s in streams)  # pages and sources let go
    stopped = world.settled_lists()
    time.sleep(0.3)
    assert world.emu.calls("runs.list") == stopped
    with pytest.raises(runs_dbapi.InterfaceError):
        held[0].fetchone()


# -- SQLAlchemy and pandas -------------------------------------------------------------------

def test_sqlalchemy_results_dropped_or_left_unconsumed(world: World) -> None:
    engine = world.engine()
    try:
        before = len(live_streams())
        for _ in range(ABANDONED):  # dropped: each CursorResult goes out of scope
            with engine.connect() as connection:
                assert connection.execute(text("SELECT runsId FROM runs")).fetchone()
        held = []
        for _ in range(ABANDONED):  # kept, unconsumed, while the pooled connection is reused
            with engine.connect() as connection:
                result = connection.execute(text("SELECT runsId FROM runs"))
                assert result.fetchone() is not None
                held.append(result)

        def count() -> Any:
            with engine.connect() as connection:
                return connection.execute(text("SELECT count(*) FROM runs")).scalar()

        assert promptly(count) == PAGES * 1000
        assert promptly(lambda: len(held[0].fetchall())) == PAGES * 1000 - 1
        del result
        held.clear()
        gc.collect()
        assert eventually(lambda: len(live_streams()) <= before)
    finally:
        engine.dispose()


def test_pandas_stopping_after_the_first_chunk(world: World) -> None:
    engine = world.engine()
    try:
        before = len(live_streams())
        for _ in range(ABANDONED):
            chunks = pd.read_sql(text("SELECT runsId FROM runs"), engine, chunksize=100)
            assert len(next(iter(chunks))) == 100
            del chunks
        frame = promptly(lambda: pd.read_sql(text("SELECT count(*) AS n FROM runs"), engine))
        assert int(frame["n"].iloc[0]) == PAGES * 1000
        gc.collect()
        assert eventually(lambda: len(live_streams()) <= before)
    finally:
        engine.dispose()


def test_sqlalchemy_fan_out_after_abandoned_fan_outs(world: World) -> None:
    engine = world.engine("wide")
    try:
        for _ in range(ABANDONED):
            with engine.connect() as connection:
                assert connection.execute(
                    text("SELECT experimentsId, runsId FROM runs")).fetchone()

        def counts() -> list[Any]:
            with engine.connect() as connection:
                return [tuple(r) for r in connection.execute(text(
                    "SELECT experimentsId, count(*) FROM runs GROUP BY 1 ORDER BY 1"))]

        assert promptly(counts) == EXPECTED_WIDE
    finally:
        engine.dispose()
