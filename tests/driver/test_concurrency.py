"""The declared threadsafety level (2: threads may share the module and connections, not
cursors) holds: 8 threads sharing one connection, each with its own cursor, run mixed reads and
writes, and every result is exactly what that thread alone would get."""

from __future__ import annotations

import threading

from support.world import World

import runs_dbapi

THREADS = 8
ROUNDS = 6


def test_threadsafety_is_declared_as_2() -> None:
    assert runs_dbapi.threadsafety == 2


def test_threads_sharing_a_connection_get_uncorrupted_results(world: World) -> None:
    experiments = [world.new_experiment("conc") for _ in range(THREADS)]
    connection = world.connect(max_workers=8)
    clean = connection.cursor().execute(
        "SELECT runsId, displayName, labels FROM runs WHERE experimentsId = 'bert-glue' "
        "ORDER BY runsId").fetchall()
    counts = connection.cursor().execute(
        "SELECT experimentsId, count(*) FROM runs GROUP BY 1 ORDER BY 1").fetchall()
    barrier = threading.Barrier(THREADS)
    failures: list[BaseException] = []

    def work(number: int) -> None:
        experiment = experiments[number]
        cursor = connection.cursor()
        try:
            barrier.wait()
            for round_ in range(ROUNDS):
                ids = [f"t{number}-r{round_}-{i}" for i in range(10)]
                cursor.executemany(
                    "INSERT INTO runs (experimentsId, runsId, displayName, labels) "
                    "VALUES (?, ?, ?, ?)",
                    [(experiment, rid, f"name {rid}", {"thread": str(number)}) for rid in ids])
                assert cursor.rowcount == 10
                assert cursor.execute(
                    "SELECT runsId, displayName, labels FROM runs WHERE "
                    "experimentsId = 'bert-glue' ORDER BY runsId").fetchall() == clean
                cursor.execute("UPDATE runs SET description = ? WHERE experimentsId = ? AND "
                               "runsId LIKE ?", [f"round {round_}", experiment,
                                                 f"t{number}-r{round_}-%"])
                assert cursor.rowcount == 10
                mine = cursor.execute(
                    "SELECT runsId, displayName, description, labels ->> '$.thread' FROM runs "
                    "WHERE experimentsId = ? AND runsId LIKE ? ORDER BY runsId",
                    [experiment, f"t{number}-r{round_}-%"]).fetchall()
                assert [tuple(r) for r in mine] == sorted(
                    (rid, f"name {rid}", f"round {round_}", str(number)) for rid in ids)
                cursor.execute("DELETE FROM runs WHERE experimentsId = ? AND runsId IN (?, ?)",
                               [experiment, ids[0], ids[1]])
                assert cursor.rowcount == 2
                total = cursor.execute("SELECT count(*) FROM runs WHERE experimentsId = ?",
                                       [experiment]).fetchone()
                assert total == (8 * (round_ + 1),)
                assert cursor.execute(
                    "SELECT experimentsId, count(*) FROM runs WHERE experimentsId NOT LIKE "
                    "'conc-%' GROUP BY 1 ORDER BY 1").fetchall() == \
                    [c for c in counts if not c[0].startswith("conc-")]
        except BaseException as error:  # reported by the main thread
            failures.append(error)
        finally:
            cursor.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert not failures, failures[0]
    for number, experiment in enumerate(experiments):
        runs = world.list_runs(experiment)
        assert len(runs) == 8 * ROUNDS
        assert {r["labels"]["thread"] for r in runs} == {str(number)}
