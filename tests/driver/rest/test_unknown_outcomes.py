"""Issue 11, part 1: an unknown outcome is unknown.

gRPC defines UNAVAILABLE (HTTP 503) as a failure the server may have seen the request before;
AIP-194 retries it only for requests that are safe to repeat. The driver treats a 503 like a
500, a reset or a lost answer: the call may have been applied. Here the emulator injects both
kinds of 503: `503_after` (the change was applied, then 503 answered) and `503` (answered before
anything was applied). Every INSERT, UPDATE and DELETE must leave exactly the intended runs and
report exactly the rows sqlite3 would count; a call that is not safe to repeat is never repeated
after such a failure (the emulator's per-method counters show it), and where nothing can tell
what happened, a typed error says so (`outcome_unknown`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from support.world import World

from runs_dbapi.auth import build_session
from runs_dbapi.emulator import FaultPlan
from runs_dbapi.exceptions import OperationalError, ProgrammingError
from runs_dbapi.rest import RestClient, RetryPolicy

Json = dict[str, Any]
# Enough attempts that 20% faults never exhaust them (0.2 ** 12), with millisecond backoffs.
PATIENT = RetryPolicy(initial_backoff=0.0005, max_backoff=0.002, max_attempts=12, deadline=60.0)
WRITES = ("runs.create", "runs.batchCreate", "runs.patch", "runs.delete")


@pytest.fixture
def experiment(world: World) -> str:
    return world.new_experiment("unknown")


def _faults(world: World, kind: str, seed: int, rate: float = 0.2,
            methods: tuple[str, ...] = ("runs.*", "operations.*")) -> FaultPlan:
    plan = FaultPlan(rate=rate, kinds=(kind,), methods=methods, seed=seed)
    world.emu.set_faults(plan)
    return plan


def _ids(runs: list[Json]) -> list[str]:
    return [str(r["name"]).rsplit("/", 1)[1] for r in runs]


def _clearing_retry(world: World) -> RetryPolicy:
    """Fail once, then work: the sleep between attempts clears the fault plan."""
    return RetryPolicy(initial_backoff=0.0, max_backoff=0.0,
                       sleep=lambda _: world.emu.set_faults(None))


# -- every kind of write under 20% 503s, after and before the change ------------------------


@pytest.mark.parametrize("kind, seed", [("503_after", 11), ("503", 12)])
def test_writes_under_503s_are_exact(world: World, experiment: str, kind: str,
                                     seed: int) -> None:
    connection = world.connect(experiment, retry=PATIENT)
    cursor = connection.cursor()

    # executemany: 1,500 runs, two batchCreates (1,000 + 500).
    rows = [(f"r-{i:04d}", f"run {i}", f'{{"i": "{i}"}}') for i in range(1500)]
    _faults(world, kind, seed)
    cursor.executemany("INSERT INTO runs (runsId, displayName, labels) VALUES (?, ?, ?)", rows)
    assert cursor.rowcount == 1500
    # single creates, with and without an ID of the statement's own (the driver makes one up)
    for i in range(20):
        cursor.execute("INSERT INTO runs (runsId, displayName) VALUES (?, ?)",
                       [f"s-{i:02d}", f"single {i}"])
        assert cursor.rowcount == 1
        cursor.execute("INSERT INTO runs (displayName) VALUES (?)", [f"anonymous {i}"])
        assert cursor.rowcount == 1
    # a batchCreate as written (one INSERT of the API's requests)
    requests = [{"tensorboardRunId": f"w-{i}", "tensorboardRun": {"displayName": f"written {i}"}}
                for i in range(30)]
    cursor.execute("INSERT INTO runs (data__requests) VALUES (?)", [requests])
    assert cursor.rowcount == 30

    # keyed UPDATEs (one patch each, no etag), one by one and through executemany
    for i in range(20):
        cursor.execute("UPDATE runs SET description = ? WHERE runsId = ?",
                       [f"keyed {i}", f"r-{i:04d}"])
        assert cursor.rowcount == 1
    cursor.executemany("UPDATE runs SET description = ? WHERE runsId = ?",
                       [(f"keyed {i}", f"r-{i:04d}") for i in range(20, 60)])
    assert cursor.rowcount == 40
    # a predicate UPDATE (a listing, then 200 concurrent patches)
    cursor.execute("UPDATE runs SET description = 'predicate' "
                   "WHERE runsId BETWEEN 'r-0100' AND 'r-0299'")
    assert cursor.rowcount == 200
    # a predicate DELETE of 1,111 runs (the issue's own case), keyed DELETEs
    cursor.execute("DELETE FROM runs WHERE runsId BETWEEN 'r-0389' AND 'r-1499'")
    assert cursor.rowcount == 1111
    for i in range(10):
        cursor.execute("DELETE FROM runs WHERE runsId = ?", [f"s-{i:02d}"])
        assert cursor.rowcount == 1
    cursor.executemany("DELETE FROM runs WHERE runsId = ?", [(f"w-{i}",) for i in range(10)])
    assert cursor.rowcount == 10
    faults = world.emu.stats()["faults"]
    world.emu.set_faults(None)
    assert faults[kind] > 100, faults  # the writes really met faults, hundreds of them

    runs = world.list_runs(experiment)
    by_id = {rid: run for rid, run in zip(_ids(runs), runs, strict=True)}
    assert len(by_id) == len(runs)
    expected = ([f"r-{i:04d}" for i in range(389)] + [f"s-{i:02d}" for i in range(10, 20)]
                + [f"w-{i}" for i in range(10, 30)])
    assert sorted(rid for rid in by_id if rid[:2] in ("r-", "s-", "w-")) == sorted(expected)
    names = Counter(str(run["displayName"]) for run in runs)
    assert all(count == 1 for count in names.values()), names.most_common(3)
    assert {n for n in names if n.startswith("anonymous ")} == {f"anonymous {i}"
                                                                for i in range(20)}
    assert len(runs) == len(expected) + 20
    for i in range(389):
        run = by_id[f"r-{i:04d}"]
        assert run["labels"] == {"i": str(i)}
        described = (f"keyed {i}" if i < 60 else "predicate" if 100 <= i < 300 else None)
        assert run.get("description") == described, run

    # The SELECT agrees with the API, and with what the statements reported.
    cursor.execute("SELECT count(*) FROM runs WHERE description = 'predicate'")
    assert cursor.fetchall() == [(200,)]


def test_a_predicate_delete_counts_a_listed_run_whose_answer_was_lost(
        world: World, experiment: str) -> None:
    world.create_runs(experiment, [("d", {"displayName": "d"}), ("k", {"displayName": "k"})])
    world.emu.reset_stats()
    _faults(world, "503_after", 0, rate=1.0, methods=("runs.delete",))
    with world.connect(experiment, retry=_clearing_retry(world)) as connection:
        cursor = connection.cursor()
        # Listed first, gone after a 503 from the delete that removed it: deleted by it.
        cursor.execute("DELETE FROM runs WHERE displayName = 'd'")
        assert cursor.rowcount == 1
    assert world.calls() == {"runs.list": 1, "runs.delete": 2}
    assert world.run_ids(experiment) == ["k"]


@pytest.mark.parametrize("kind", ["503", "503_after"])
def test_a_keyed_delete_counts_a_run_only_if_it_existed(world: World, experiment: str,
                                                        kind: str) -> None:
    world.create_runs(experiment, [("d", {"displayName": "d"})])
    with world.connect(experiment, retry=_clearing_retry(world)) as connection:
        cursor = connection.cursor()
        # A run that never existed: 0, whatever the delete's answers would have been.
        world.emu.reset_stats()
        _faults(world, kind, 0, rate=1.0, methods=("runs.delete",))
        cursor.execute("DELETE FROM runs WHERE runsId = 'never'")
        assert cursor.rowcount == 0
        # (the experiment is the connection's: one get tells a missing run from a missing
        # experiment)
        assert world.calls() == {"runs.get": 1, "experiments.get": 1}
        # A run that exists: 1, whether the 503 came before or after the delete applied.
        world.emu.reset_stats()
        _faults(world, kind, 0, rate=1.0, methods=("runs.delete",))
        cursor.execute("DELETE FROM runs WHERE runsId = 'd'")
        assert cursor.rowcount == 1
        assert world.calls() == {"runs.get": 1, "runs.delete": 2}
    assert world.run_ids(experiment) == []


def test_a_predicate_delete_does_not_count_a_run_it_found_gone(world: World,
                                                               experiment: str) -> None:
    # Listed, then deleted by someone else before the DELETE reached it: NOT_FOUND with a
    # known outcome (the first answer arrived) is not a row this statement deleted.
    world.create_runs(experiment, [(f"g-{i}", {"displayName": f"g {i}"}) for i in range(3)])
    with world.connect(experiment) as connection:
        real_delete = connection.client.delete

        def someone_was_first(name: str) -> Json:
            if name.endswith("/g-1"):
                world.api("DELETE", name)
            return real_delete(name)

        connection.client.delete = someone_was_first  # type: ignore[method-assign]
        cursor = connection.cursor()
        cursor.execute("DELETE FROM runs WHERE displayName LIKE 'g %'")
        assert cursor.rowcount == 2
    assert world.run_ids(experiment) == []


def test_a_keyed_update_whose_503_came_after_is_repeated_safely(world: World,
                                                                experiment: str) -> None:
    world.create_runs(experiment, [("p", {"displayName": "p"})])
    world.emu.reset_stats()
    _faults(world, "503_after", 0, rate=1.0, methods=("runs.patch",))
    with world.connect(experiment, retry=_clearing_retry(world)) as connection:
        cursor = connection.cursor()
        cursor.execute("UPDATE runs SET description = 'same body' WHERE runsId = 'p'")
        assert cursor.rowcount == 1
    assert world.calls() == {"runs.patch": 2}  # no etag: the repeat sets the same values
    stored = world.get_run(experiment, "p")
    assert stored is not None and stored["description"] == "same body"


def test_an_etag_update_whose_503_came_after_is_reported_unknown(world: World,
                                                                 experiment: str) -> None:
    (run,) = world.create_runs(experiment, [("p", {"displayName": "p"})])
    world.emu.reset_stats()
    _faults(world, "503_after", 0, rate=1.0, methods=("runs.patch",))
    with world.connect(experiment, retry=_clearing_retry(world)) as connection, \
            pytest.raises(OperationalError, match="outcome is unknown") as caught:
        connection.cursor().execute(
            "UPDATE runs SET description = 'guarded' WHERE runsId = 'p' AND etag = ?",
            [run["etag"]])
    assert caught.value.outcome_unknown and caught.value.rpc_status == "ABORTED"
    assert world.calls() == {"runs.patch": 2}
    stored = world.get_run(experiment, "p")
    assert stored is not None and stored["description"] == "guarded"


def test_an_etag_update_whose_503_came_before_is_applied_once(world: World,
                                                              experiment: str) -> None:
    (run,) = world.create_runs(experiment, [("p", {"displayName": "p"})])
    world.emu.reset_stats()
    _faults(world, "503", 0, rate=1.0, methods=("runs.patch",))
    with world.connect(experiment, retry=_clearing_retry(world)) as connection:
        cursor = connection.cursor()
        cursor.execute("UPDATE runs SET description = 'guarded' WHERE runsId = 'p' AND etag = ?",
                       [run["etag"]])
        assert cursor.rowcount == 1
    assert world.calls() == {"runs.patch": 2}


@pytest.mark.parametrize("kind", ["503_after", "503"])
def test_single_create_with_an_id_resolves_either_503(world: World, experiment: str,
                                                      kind: str) -> None:
    world.emu.reset_stats()
    _faults(world, kind, 0, rate=1.0, methods=("runs.create",))
    with world.connect(experiment, retry=_clearing_retry(world)) as connection:
        cursor = connection.cursor()
        cursor.execute("INSERT INTO runs (runsId, displayName) VALUES ('c', 'c') "
                       "RETURNING runsId, displayName")
        assert cursor.rowcount == 1
        assert cursor.fetchall() == [("c", "c")]
    # After: the retry meets ALREADY_EXISTS and reads the run back. Before: the retry creates.
    expected = {"runs.create": 2, "runs.get": 1} if kind == "503_after" else {"runs.create": 2}
    assert world.calls() == expected
    assert world.run_ids(experiment) == ["c"]


@pytest.mark.parametrize("kind", ["503_after", "503"])
def test_batch_create_resolves_either_503(world: World, experiment: str, kind: str) -> None:
    world.emu.reset_stats()
    _faults(world, kind, 0, rate=1.0, methods=("runs.batchCreate",))
    rows = [(f"b-{i}", f"batch {i}") for i in range(4)]
    with world.connect(experiment, retry=_clearing_retry(world)) as connection:
        cursor = connection.cursor()
        cursor.executemany("INSERT INTO runs (runsId, displayName) VALUES (?, ?)", rows)
        assert cursor.rowcount == 4
    expected = ({"runs.batchCreate": 2, "runs.get": 4} if kind == "503_after"
                else {"runs.batchCreate": 2})
    assert world.calls() == expected
    assert world.run_ids(experiment) == [rid for rid, _ in rows]


def test_a_batch_whose_outcome_stays_unknown_says_which_rows(world: World,
                                                             experiment: str) -> None:
    # Every batchCreate is applied and answered 503, and every read-back fails too: the
    # driver cannot know, and says so for each row rather than report them written or not.
    _faults(world, "503_after", 0, rate=1.0, methods=("runs.batchCreate", "runs.get"))
    rows = [(f"u-{i}", f"unknown {i}") for i in range(3)]
    with world.connect(experiment, retry=RetryPolicy(max_attempts=2, initial_backoff=0.0,
                                                     max_backoff=0.0)) as connection, \
            pytest.raises(OperationalError) as caught:
        connection.cursor().executemany("INSERT INTO runs (runsId, displayName) VALUES (?, ?)",
                                        rows)
    error = caught.value
    assert error.outcome_unknown
    assert error.rows_written == [] and error.rows_not_written == []
    assert error.rows_unknown == ["u-0", "u-1", "u-2"]
    world.emu.set_faults(None)
    assert world.run_ids(experiment) == ["u-0", "u-1", "u-2"]  # here, in fact, written


def test_a_batch_refused_only_by_429s_is_known_not_written(world: World,
                                                           experiment: str) -> None:
    # 429 means the request was not processed: when retries run out, nothing was written.
    world.emu.reset_stats()
    _faults(world, "429", 0, rate=1.0, methods=("runs.batchCreate",))
    rows = [(f"q-{i}", f"quota {i}") for i in range(3)]
    with world.connect(experiment, retry=RetryPolicy(max_attempts=2, initial_backoff=0.0,
                                                     max_backoff=0.0)) as connection, \
            pytest.raises(OperationalError, match="gave up after 2 attempts") as caught:
        connection.cursor().executemany("INSERT INTO runs (runsId, displayName) VALUES (?, ?)",
                                        rows)
    error = caught.value
    assert not error.outcome_unknown
    assert error.rows_written == [] and error.rows_unknown == []
    assert error.rows_not_written == ["q-0", "q-1", "q-2"]
    assert world.calls() == {"runs.batchCreate": 2}  # not even read back: nothing to resolve


def test_a_delete_whose_operation_cannot_be_polled_is_unknown(world: World,
                                                              experiment: str) -> None:
    world.create_runs(experiment, [("o", {"displayName": "o"}), ("k", {"displayName": "k"})])
    world.emu.set_operation_polls(2)
    world.emu.reset_stats()
    _faults(world, "503", 0, rate=1.0, methods=("operations.get",))
    with world.connect(experiment, retry=RetryPolicy(max_attempts=2, initial_backoff=0.0,
                                                     max_backoff=0.0)) as connection, \
            pytest.raises(OperationalError, match="outcome of the operation is unknown") as caught:
        connection.cursor().execute("DELETE FROM runs WHERE displayName = 'o'")
    error = caught.value
    assert error.outcome_unknown
    assert [name.rsplit("/", 1)[1] for name in error.rows_unknown or []] == ["o"]
    assert error.rows_written == [] and error.rows_not_written == []
    assert world.calls() == {"runs.list": 1, "runs.delete": 1, "operations.get": 2}


# -- calls that are not safe to repeat --------------------------------------------------------


@pytest.fixture
def client(world: World) -> Iterator[RestClient]:
    session = build_session(endpoint=world.emu.url, anonymous=True)
    with RestClient(world.emu.url, session, retry=RetryPolicy(
            initial_backoff=0.0, max_backoff=0.0, max_attempts=5)) as rest:
        yield rest


@pytest.mark.parametrize("kind", ["503_after", "503"])
def test_a_create_without_an_id_is_never_repeated(world: World, experiment: str,
                                                  client: RestClient, kind: str) -> None:
    run = world.create_runs(experiment, [("t", {"displayName": "t"})])[0]["name"]
    world.emu.reset_stats()
    _faults(world, kind, 0, rate=1.0, methods=("timeSeries.create",))
    with pytest.raises(OperationalError, match="outcome is unknown") as caught:
        client.create(run, "timeSeries", {"displayName": "loss", "valueType": "SCALAR",
                                          "pluginName": "scalars"},
                      id_param="tensorboardTimeSeriesId", resource_id=None)
    error = caught.value
    assert error.outcome_unknown and (error.http_status, error.rpc_status) == (503, "UNAVAILABLE")
    assert "without a client-chosen ID it is not repeated" in str(error)
    assert world.calls() == {"timeSeries.create": 1}
    world.emu.set_faults(None)
    made = world.api("GET", f"{run}/timeSeries").json().get("tensorboardTimeSeries", [])
    assert len(made) == (1 if kind == "503_after" else 0)


def test_a_batch_without_ids_is_never_repeated(world: World, experiment: str,
                                               client: RestClient) -> None:
    # The time-series batchCreate (`{experiment}:batchCreate`) takes requests without IDs.
    run = world.create_runs(experiment, [("t", {"displayName": "t"})])[0]["name"]
    world.emu.reset_stats()
    _faults(world, "503_after", 0, rate=1.0, methods=("experiments.batchCreate",))
    tensorboard, experiment_id = world.experiment_name(experiment).split("/experiments/")
    with pytest.raises(OperationalError, match="outcome is unknown") as caught:
        client.batch_create(tensorboard, f"experiments/{experiment_id}", [
            {"parent": run, "tensorboardTimeSeries": {"displayName": "loss",
                                                      "valueType": "SCALAR"}}])
    assert caught.value.outcome_unknown
    assert "not every request carries an ID" in str(caught.value)
    assert world.calls() == {"experiments.batchCreate": 1}
    world.emu.set_faults(None)
    made = world.api("GET", f"{run}/timeSeries").json().get("tensorboardTimeSeries", [])
    assert len(made) == 1


def test_503_is_still_retried_for_reads(world: World) -> None:
    world.emu.reset_stats()
    _faults(world, "503", 0, rate=1.0, methods=("runs.list",))
    with world.connect("bert-glue", retry=_clearing_retry(world)) as connection:
        cursor = connection.cursor()
        cursor.execute("SELECT count(*) FROM runs")
        assert cursor.fetchall() == [(60,)]
    assert world.calls() == {"runs.list": 2}


def test_a_not_found_answered_at_once_is_no_row(world: World, experiment: str,
                                                client: RestClient) -> None:
    with pytest.raises(ProgrammingError) as caught:
        client.delete(world.run_name(experiment, "never"))
    assert caught.value.rpc_status == "NOT_FOUND" and not caught.value.outcome_unknown
