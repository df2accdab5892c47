"""PEP 249 compliance: the `dbapi20` suite (PyPI `dbapi-compliance`), against the demo emulator.

The suite's own tables are made with CREATE TABLE and filled with INSERT, which the API cannot
do (runs live under experiments, and the driver has no DDL). Those tests are skipped here with
that reason, and each is re-expressed against `runs` in `RunsCursorSemantics` below. Every other
test of the suite runs unchanged.
"""

from __future__ import annotations

import contextlib
import itertools
import subprocess
import sys
import time
import unittest
from collections.abc import Iterator
from datetime import datetime
from typing import Any, ClassVar

import dbapi20
import pytest
import requests

import runs_dbapi
from runs_dbapi.emulator import Emulator

NO_DDL = ("needs CREATE TABLE / INSERT into the suite's own tables: the TensorBoard API has no "
          "DDL (runs live under experiments); re-expressed against `runs` in "
          "RunsCursorSemantics")

PROJECT, LOCATION = "demo-project", "us-central1"
# Six runs of one experiment, by ID (dbapi20's `samples` has six beers).
SAMPLES = [f"bert-glue-{i:04d}" for i in (3, 14, 15, 26, 42, 59)]
SAMPLE_SQL = (
    "SELECT runsId FROM runs WHERE experimentsId = 'bert-glue' AND runsId IN ("
    + ", ".join(f"'{s}'" for s in SAMPLES) + ")"
)


class _Emulated:
    """A module-wide demo emulator for the unittest classes (setUpClass / tearDownClass)."""

    emulator: ClassVar[Emulator | None] = None
    users: ClassVar[int] = 0

    @classmethod
    def acquire(cls) -> Emulator:
        if cls.emulator is None:
            cls.emulator = Emulator(demo=True).start()
        cls.users += 1
        return cls.emulator

    @classmethod
    def release(cls) -> None:
        cls.users -= 1
        if cls.users == 0 and cls.emulator is not None:
            cls.emulator.stop()
            cls.emulator = None


class test_RunsDBAPI20(dbapi20.DatabaseAPI20Test):
    driver = runs_dbapi
    connect_args = ()
    connect_kw_args: ClassVar[dict[str, Any]] = {}
    lower_func = "lower"  # the cursor has no callproc: the suite then checks nothing more

    @classmethod
    def setUpClass(cls) -> None:
        emulator = _Emulated.acquire()
        cls.connect_kw_args = {"endpoint": emulator.url, "anonymous": True,
                               "project": PROJECT, "location": LOCATION}

    @classmethod
    def tearDownClass(cls) -> None:
        _Emulated.release()

    # -- tests that need the suite's own tables -----------------------------------------------

    @unittest.skip(NO_DDL)
    def test_cursor_isolation(self) -> None: ...

    @unittest.skip(NO_DDL)
    def test_description(self) -> None: ...

    @unittest.skip(NO_DDL)
    def test_rowcount(self) -> None: ...

    @unittest.skip(NO_DDL)
    def test_execute(self) -> None: ...

    @unittest.skip(NO_DDL)
    def test_executemany(self) -> None: ...

    @unittest.skip(NO_DDL)
    def test_fetchone(self) -> None: ...

    @unittest.skip(NO_DDL)
    def test_fetchmany(self) -> None: ...

    @unittest.skip(NO_DDL)
    def test_fetchall(self) -> None: ...

    @unittest.skip(NO_DDL)
    def test_mixedfetch(self) -> None: ...

    @unittest.skip(NO_DDL)
    def test_None(self) -> None: ...

    @unittest.skip(NO_DDL)
    def test_setinputsizes(self) -> None: ...

    @unittest.skip(NO_DDL)
    def test_setoutputsize_basic(self) -> None: ...

    # -- tests the suite leaves to each driver ------------------------------------------------

    def test_nextset(self) -> None:
        """The driver has one result set per statement: no nextset, or one that ends at once."""
        con = self._connect()
        try:
            cur = con.cursor()
            cur.execute(SAMPLE_SQL)
            nextset = getattr(cur, "nextset", None)
            if nextset is not None:
                with contextlib.suppress(self.driver.NotSupportedError):
                    self.assertIsNone(nextset())
            self.assertEqual(len(cur.fetchall()), len(SAMPLES))
        finally:
            con.close()

    def test_setoutputsize(self) -> None:
        """setoutputsize is accepted and never truncates a value."""
        con = self._connect()
        try:
            cur = con.cursor()
            cur.setoutputsize(3)
            cur.setoutputsize(3, 0)
            cur.execute("SELECT displayName, description FROM runs "
                        "WHERE experimentsId = 'bert-glue' AND runsId = 'bert-glue-0014'")
            ((display, description),) = cur.fetchall()
            self.assertTrue(display.startswith("bert-glue ") and display.endswith(" #14"))
            self.assertEqual(description, "Trial 14 of bert-glue")
        finally:
            con.close()


# -- the skipped tests, against runs -------------------------------------------------------------


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    yield _Emulated.acquire()
    _Emulated.release()


@pytest.fixture
def con(emulator: Emulator) -> Iterator[Any]:
    connection = runs_dbapi.connect(endpoint=emulator.url, anonymous=True, project=PROJECT,
                                    location=LOCATION)
    yield connection
    if not connection.closed:
        connection.close()


_experiments = itertools.count(1)


@pytest.fixture
def writable(emulator: Emulator) -> Iterator[Any]:
    """A connection whose default experiment is a new, empty one (made over plain HTTP)."""
    location = f"projects/{PROJECT}/locations/{LOCATION}"
    boards = requests.get(f"{emulator.url}/v1/{location}/tensorboards", timeout=30).json()
    tensorboard = boards["tensorboards"][0]["name"].rsplit("/", 1)[1]
    experiment = f"dbapi20-{next(_experiments)}"
    made = requests.post(f"{emulator.url}/v1/{location}/tensorboards/{tensorboard}/experiments",
                         params={"tensorboardExperimentId": experiment},
                         json={"displayName": experiment}, timeout=30)
    assert made.status_code == 200, made.text
    connection = runs_dbapi.connect(endpoint=emulator.url, anonymous=True, project=PROJECT,
                                    location=LOCATION, tensorboard=tensorboard,
                                    experiment=experiment)
    yield connection
    connection.close()


def ids(rows: list[Any]) -> list[str]:
    return sorted(row[0] for row in rows)


class RunsCursorSemantics:
    """dbapi20's table tests, each against the demo runs."""

    def test_cursor_isolation(self, con: Any) -> None:
        # Cursors of one connection see the same data and keep their own result sets.
        cur1, cur2 = con.cursor(), con.cursor()
        cur1.execute(SAMPLE_SQL + " ORDER BY runsId")
        cur2.execute("SELECT runsId FROM runs WHERE experimentsId = 'ppo-atari' "
                     "AND runsId = 'ppo-atari-0001'")
        assert cur1.fetchone() == (SAMPLES[0],)
        assert cur2.fetchall() == [("ppo-atari-0001",)]
        assert [r[0] for r in cur1.fetchall()] == SAMPLES[1:]
        cur2.execute(SAMPLE_SQL)
        assert ids(cur2.fetchall()) == SAMPLES

    def test_description(self, con: Any) -> None:
        cur = con.cursor()
        assert cur.description is None
        cur.execute("SELECT displayName FROM runs WHERE experimentsId = 'bert-glue'")
        assert len(cur.description) == 1
        assert len(cur.description[0]) == 7
        assert cur.description[0][0].lower() == "displayname"
        assert cur.description[0][1] == runs_dbapi.STRING
        cur.execute("SELECT name, createTime, labels, runsId, count(*) OVER () AS n FROM runs "
                    "WHERE experimentsId = 'bert-glue'")
        assert [d[0] for d in cur.description] == ["name", "createTime", "labels", "runsId", "n"]
        assert [d[1] for d in cur.description][:4] == [
            runs_dbapi.STRING, runs_dbapi.DATETIME, runs_dbapi.STRING, runs_dbapi.STRING]
        assert cur.description[4][1] == runs_dbapi.NUMBER
        # Reset by a statement that returns no rows (here: one that fails).
        with pytest.raises(runs_dbapi.Error):
            cur.execute("SELECT nope FROM runs WHERE experimentsId = 'bert-glue'")
        assert cur.description is None

    def test_description_after_a_write(self, writable: Any) -> None:
        cur = writable.cursor()
        cur.execute("SELECT displayName FROM runs")
        assert cur.description is not None and cur.description[0][0] == "displayName"
        cur.execute("INSERT INTO runs (data__displayName) VALUES ('Victoria Bitter')")
        assert cur.description is None
        cur.execute("SELECT displayName FROM runs")
        assert cur.description[0][1] == runs_dbapi.STRING
        assert cur.fetchall() == [("Victoria Bitter",)]

    def test_rowcount(self, con: Any) -> None:
        cur = con.cursor()
        assert cur.rowcount == -1
        cur.execute(SAMPLE_SQL)
        assert cur.rowcount in (-1, len(SAMPLES))
        assert len(cur.fetchall()) == len(SAMPLES)
        assert cur.rowcount in (-1, len(SAMPLES))
        cur.execute("SELECT runsId FROM runs WHERE experimentsId = 'bert-glue' "
                    "AND runsId = 'missing'")
        assert cur.rowcount in (-1, 0)

    def test_rowcount_of_a_write(self, writable: Any) -> None:
        cur = writable.cursor()
        cur.execute("INSERT INTO runs (data__displayName) VALUES ('Victoria Bitter')")
        assert cur.rowcount in (-1, 1)
        cur.execute("SELECT displayName FROM runs")
        assert cur.rowcount in (-1, 1)
        assert cur.fetchall() == [("Victoria Bitter",)]

    def test_execute(self, con: Any) -> None:
        # qmark parameters; `?`, `%s`, `:name` inside a literal are text, not markers.
        cur = con.cursor()
        trouble = "thi%s :may ca%(u)se? troub:1e"
        cur.execute(f"SELECT runsId, '{trouble}' FROM runs WHERE experimentsId = ? "
                    "AND runsId IN (?, ?)", ("bert-glue", "bert-glue-0003", "bert-glue-0014"))
        rows = sorted(cur.fetchall())
        assert rows == [("bert-glue-0003", trouble), ("bert-glue-0014", trouble)]
        cur.execute("SELECT runsId FROM runs WHERE experimentsId = ? AND displayName = ?",
                    ("bert-glue", "Cooper's"))
        assert cur.fetchall() == []

    def test_execute_writes_with_parameters(self, writable: Any) -> None:
        # dbapi20's _paraminsert: a literal row, then a `?` row; markers in literals are text.
        cur = writable.cursor()
        trouble = "thi%s :may ca%(u)se? troub:1e"
        cur.execute("INSERT INTO runs (data__displayName, data__description) "
                    f"VALUES ('Victoria Bitter', '{trouble}')")
        assert cur.rowcount in (-1, 1)
        cur.execute(f"INSERT INTO runs (data__displayName, data__description) VALUES (?, "
                    f"'{trouble}')", ("Cooper's",))
        assert cur.rowcount in (-1, 1)
        cur.execute("SELECT displayName, description FROM runs")
        assert sorted(cur.fetchall()) == [("Cooper's", trouble), ("Victoria Bitter", trouble)]

    def test_executemany(self, writable: Any) -> None:
        cur = writable.cursor()
        cur.executemany("INSERT INTO runs (data__displayName, tensorboardRunId) VALUES (?, ?)",
                        [("Cooper's", "coopers"), ("Boag's", "boags")])
        assert cur.rowcount in (-1, 2)
        assert cur.description is None
        with pytest.raises(runs_dbapi.Error):
            cur.fetchall()
        cur.execute("SELECT displayName, runsId FROM runs")
        assert sorted(cur.fetchall()) == [("Boag's", "boags"), ("Cooper's", "coopers")]
        # A query run once per parameter set leaves no result set; each set is checked.
        cur.executemany("SELECT runsId FROM runs WHERE runsId = ?", [("boags",), ("coopers",)])
        assert cur.description is None
        with pytest.raises(runs_dbapi.Error):
            cur.executemany("SELECT runsId FROM runs WHERE runsId = ?", [("a",), ("a", "b")])

    def test_fetchone(self, con: Any) -> None:
        cur = con.cursor()
        with pytest.raises(runs_dbapi.Error):
            cur.fetchone()  # before any query
        cur.execute("SELECT runsId FROM runs WHERE experimentsId = 'bert-glue' "
                    "AND runsId = 'no-such-run'")
        assert cur.fetchone() is None
        assert cur.rowcount in (-1, 0)
        cur.execute("SELECT runsId FROM runs WHERE experimentsId = 'bert-glue' "
                    "AND runsId = 'bert-glue-0042'")
        row = cur.fetchone()
        assert len(row) == 1
        assert row[0] == "bert-glue-0042"
        assert cur.fetchone() is None
        assert cur.rowcount in (-1, 1)

    def test_fetch_after_a_write_raises(self, writable: Any) -> None:
        cur = writable.cursor()
        cur.execute("SELECT runsId FROM runs")
        assert cur.fetchone() is None  # the experiment is empty
        cur.execute("INSERT INTO runs (data__displayName) VALUES ('Victoria Bitter')")
        for fetch in (cur.fetchone, cur.fetchall, cur.fetchmany):
            with pytest.raises(runs_dbapi.Error):
                fetch()

    def test_fetchmany(self, con: Any) -> None:
        cur = con.cursor()
        with pytest.raises(runs_dbapi.Error):
            cur.fetchmany(4)
        cur.execute(SAMPLE_SQL)
        assert cur.arraysize == 1
        assert len(cur.fetchmany()) == 1  # default arraysize
        cur.arraysize = 10
        assert len(cur.fetchmany(3)) == 3
        assert len(cur.fetchmany(4)) == 2
        assert cur.fetchmany(4) == []
        assert cur.rowcount in (-1, 6)

        cur.arraysize = 4
        cur.execute(SAMPLE_SQL)
        assert len(cur.fetchmany()) == 4
        assert len(cur.fetchmany()) == 2
        assert cur.fetchmany() == []

        cur.arraysize = 6
        cur.execute(SAMPLE_SQL)
        rows = cur.fetchmany()
        assert ids(rows) == SAMPLES
        assert cur.fetchmany() == []

        cur.execute("SELECT runsId FROM runs WHERE experimentsId = 'bert-glue' "
                    "AND displayName = 'nothing'")
        assert cur.fetchmany() == []
        assert cur.rowcount in (-1, 0)

    def test_fetchmany_streams_a_large_listing(self, con: Any) -> None:
        cur = con.cursor()
        cur.execute("SELECT runsId FROM runs WHERE experimentsId NOT LIKE 'dbapi20-%'")
        # the 360 runs of the six demo experiments
        seen: list[str] = []
        while True:
            batch = cur.fetchmany(50)
            assert len(batch) <= 50
            if not batch:
                break
            seen += [r[0] for r in batch]
        assert len(seen) == len(set(seen)) == 360

    def test_fetchall(self, con: Any) -> None:
        cur = con.cursor()
        with pytest.raises(runs_dbapi.Error):
            cur.fetchall()
        cur.execute(SAMPLE_SQL)
        rows = cur.fetchall()
        assert cur.rowcount in (-1, len(SAMPLES))
        assert ids(rows) == SAMPLES
        assert cur.fetchall() == []
        cur.execute("SELECT runsId FROM runs WHERE experimentsId = 'bert-glue' "
                    "AND labels ->> '$.team' = 'nobody'")
        assert cur.fetchall() == []
        assert cur.rowcount in (-1, 0)

    def test_mixedfetch(self, con: Any) -> None:
        cur = con.cursor()
        cur.execute(SAMPLE_SQL)
        row1 = cur.fetchone()
        rows23 = cur.fetchmany(2)
        row4 = cur.fetchone()
        rows56 = cur.fetchall()
        assert len(rows23) == 2 and len(rows56) == 2
        assert ids([row1, *rows23, row4, *rows56]) == SAMPLES

    def test_iteration(self, con: Any) -> None:
        cur = con.cursor()
        cur.execute(SAMPLE_SQL)
        assert iter(cur) is cur
        assert ids(list(cur)) == SAMPLES
        assert list(cur) == []
        cur.execute("SELECT runsId, createTime FROM runs WHERE experimentsId = 'ppo-atari'")
        count = 0
        for run_id, created in cur:
            assert run_id.startswith("ppo-atari-")
            assert isinstance(created, datetime) and created.tzinfo is not None
            count += 1
        assert count == 60

    def test_none(self, con: Any) -> None:
        cur = con.cursor()
        cur.execute("SELECT labels ->> '$.no_such_key', NULL, nullif(runsId, runsId) FROM runs "
                    "WHERE experimentsId = 'bert-glue' AND runsId = 'bert-glue-0003'")
        assert cur.fetchall() == [(None, None, None)]
        cur.execute("SELECT ?", (None,))
        assert cur.fetchall() == [(None,)]

    def test_setinputsizes(self, con: Any) -> None:
        cur = con.cursor()
        cur.setinputsizes((25,))
        cur.execute("SELECT runsId FROM runs WHERE experimentsId = ? AND runsId = ?",
                    ("bert-glue", "bert-glue-0026"))
        assert cur.fetchall() == [("bert-glue-0026",)]

    def test_setoutputsize_basic(self, con: Any) -> None:
        cur = con.cursor()
        cur.setoutputsize(1000)
        cur.setoutputsize(2000, 0)
        cur.execute(SAMPLE_SQL)
        assert ids(cur.fetchall()) == SAMPLES

    def test_close(self, con: Any) -> None:
        cur = con.cursor()
        cur.execute("SELECT runsId FROM runs")  # a streaming listing, left unread
        assert cur.fetchone() is not None
        cur.close()
        for call in (cur.fetchone, cur.fetchall, lambda: cur.fetchmany(2),
                     lambda: cur.execute(SAMPLE_SQL)):
            with pytest.raises(runs_dbapi.Error):
                call()
        other = con.cursor()
        other.execute(SAMPLE_SQL)  # the connection is still usable
        con.close()
        assert con.closed
        for call in (other.fetchall, lambda: other.execute(SAMPLE_SQL), con.cursor,
                     con.commit, con.rollback):
            with pytest.raises(runs_dbapi.Error):
                call()
        with pytest.raises(runs_dbapi.InterfaceError):
            con.close()  # unusable after close, closing again included
        assert con.closed

    def test_process_exits_with_a_cursor_left_unread(self, emulator: Emulator,
                                                      tmp_path: Any) -> None:
        """Workers waiting to hand pages to a reader that never comes must not block the
        interpreter's exit (it joins the pool's threads)."""
        script = tmp_path / "unread.py"
        script.write_text(
            "import runs_dbapi\n"
            f"con = runs_dbapi.connect(endpoint={emulator.url!r}, anonymous=True, "
            f"project={PROJECT!r}, location={LOCATION!r})\n"
            "cur = con.cursor()\n"
            "cur.execute(\"SELECT runsId FROM runs WHERE experimentsId = 'bert-glue' AND runsId "
            "IN (" + ", ".join(f"'bert-glue-{i:04d}'" for i in range(1, 13)) + ")\")\n"
            "print(cur.fetchone()[0])\n"
        )
        started = time.monotonic()
        done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                              timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("bert-glue-")
        assert time.monotonic() - started < 30

    def test_context_managers(self, emulator: Emulator) -> None:
        with runs_dbapi.connect(endpoint=emulator.url, anonymous=True, project=PROJECT,
                                location=LOCATION) as connection:
            with connection.cursor() as cur:
                cur.execute(SAMPLE_SQL)
                assert ids(cur.fetchall()) == SAMPLES
            with pytest.raises(runs_dbapi.Error):
                cur.execute(SAMPLE_SQL)
        assert connection.closed


# pytest collects classes named Test*; keep the descriptive name above.
TestRunsCursorSemantics = RunsCursorSemantics
