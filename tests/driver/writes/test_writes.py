"""INSERT, UPDATE and DELETE over runs through the driver, against the emulator over real HTTP.

What each statement sends is checked with the emulator's per-method call counters; what it did,
by reading the runs back with plain HTTP (and, where it reads naturally, with SELECT). Each test
writes into experiments of its own; the demo experiment bert-glue is only read.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import threading
import uuid
from typing import Any

import pytest
from support.world import DEMO_EXPERIMENT, SYSTEM_PREFIX, World

from runs_dbapi import catalog
from runs_dbapi.connection import Connection
from runs_dbapi.emulator import FaultPlan
from runs_dbapi.exceptions import (
    DataError,
    IntegrityError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
)
from runs_dbapi.rest import RetryPolicy

JOB_LABEL = f"{SYSTEM_PREFIX}training_job_id"


@pytest.fixture
def experiment(world: World) -> str:
    name = world.new_experiment("w")
    world.emu.reset_stats()
    return name


@pytest.fixture
def conn(world: World, experiment: str) -> Connection:
    """A connection whose default experiment is the test's own."""
    return world.connect(experiment)


def ids_of(resources: list[dict[str, Any]]) -> list[str]:
    return [str(r["name"]).rsplit("/", 1)[1] for r in resources]


def is_uuid4(text: str) -> bool:
    try:
        return uuid.UUID(text).version == 4 and str(uuid.UUID(text)) == text
    except ValueError:
        return False


class PatchSpy:
    """Records the body and mask of every patch the connection's REST client sends."""

    def __init__(self, connection: Connection, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sent: list[tuple[str, dict[str, Any], list[str] | None]] = []
        self._lock = threading.Lock()
        real = connection.client.patch

        def patch(name: str, body: Any, update_mask: Any = None, **options: Any) -> Any:
            with self._lock:
                self.sent.append((name, dict(body), list(update_mask or []) or None))
            return real(name, body, update_mask, **options)

        monkeypatch.setattr(connection.client, "patch", patch)


# -- INSERT forms ------------------------------------------------------------------------------


def test_multi_row_values_returning_in_input_order(world: World, experiment: str,
                                                   conn: Connection) -> None:
    cursor = conn.cursor()
    world.emu.reset_stats()
    cursor.execute(
        "INSERT INTO runs (runsId, displayName, description) VALUES "
        "('zz', 'last', 'd1'), ('aa', 'first', 'd2'), ('mm', 'middle', NULL) "
        "RETURNING runsId, displayName, description, experimentsId, labels"
    )
    assert cursor.rowcount == 3
    assert cursor.fetchall() == [("zz", "last", "d1", experiment, {}),
                                 ("aa", "first", "d2", experiment, {}),
                                 ("mm", "middle", "", experiment, {})]
    runs = world.list_runs(experiment)
    assert ids_of(runs) == ["zz", "aa", "mm"]
    assert [r.get("description") for r in runs] == ["d1", "d2", None]
    assert world.calls() == {"runs.batchCreate": 1, "runs.list": 1}  # the list is ours


def test_returning_keeps_input_order_across_batch_chunks(world: World, experiment: str,
                                                         conn: Connection) -> None:
    ids = [f"r-{i:04d}" for i in range(1100, 0, -1)]  # 1,100 rows: two batchCreate calls
    values = ", ".join(f"('{rid}', 'run {rid}')" for rid in ids)
    cursor = conn.cursor()
    world.emu.reset_stats()
    cursor.execute(f"INSERT INTO runs (runsId, displayName) VALUES {values} "
                   "RETURNING runsId, displayName")
    assert cursor.rowcount == 1100
    assert cursor.fetchall() == [(rid, f"run {rid}") for rid in ids]
    assert world.calls() == {"runs.batchCreate": 2}
    assert ids_of(world.list_runs(experiment)) == ids


def test_insert_select_of_literals(world: World, experiment: str, conn: Connection) -> None:
    cursor = conn.cursor()
    world.emu.reset_stats()
    cursor.execute("INSERT INTO runs (runsId, displayName, labels) "
                   "SELECT 'lit', 'literal ' || 'run', json_object('k', 'v')")
    assert cursor.rowcount == 1
    assert world.calls() == {"runs.create": 1}
    stored = world.get_run(experiment, "lit")
    assert stored is not None
    assert (stored["displayName"], stored["labels"]) == ("literal run", {"k": "v"})


def test_insert_select_copies_runs_into_another_experiment(world: World, experiment: str,
                                                           conn: Connection) -> None:
    source = [r for r in world.list_runs(DEMO_EXPERIMENT)
              if re.search(r"#1\d$", r["displayName"])]  # #10 to #19; #10 has a system label
    assert len(source) == 10 and any(JOB_LABEL in r["labels"] for r in source)
    cursor = conn.cursor()
    cursor.execute(
        "INSERT INTO runs (displayName, description, labels, experimentsId) "
        "SELECT displayName, description, labels, ? FROM runs "
        "WHERE experimentsId = ? AND displayName LIKE '%#1_' "
        "RETURNING displayName, experimentsId",
        [experiment, DEMO_EXPERIMENT],
    )
    assert cursor.rowcount == len(source)
    assert cursor.fetchall() == [(r["displayName"], experiment) for r in source]
    copies = world.list_runs(experiment)
    assert [(c["displayName"], c["description"], c["labels"]) for c in copies] == [
        (r["displayName"], r["description"], r["labels"]) for r in source]
    assert all(is_uuid4(i) for i in ids_of(copies))
    # The source experiment is untouched.
    assert [r for r in world.list_runs(DEMO_EXPERIMENT)
            if re.search(r"#1\d$", r["displayName"])] == source


def test_insert_select_matching_nothing_writes_nothing(world: World, experiment: str,
                                                       conn: Connection) -> None:
    cursor = conn.cursor()
    cursor.execute("INSERT INTO runs (displayName, experimentsId) "
                   "SELECT displayName, ? FROM runs WHERE experimentsId = ? AND "
                   "displayName = 'no such run'", [experiment, DEMO_EXPERIMENT])
    assert cursor.rowcount == 0
    assert "runs.create" not in world.calls() and "runs.batchCreate" not in world.calls()
    assert world.list_runs(experiment) == []


def test_plain_and_data_prefixed_column_names(world: World, experiment: str,
                                              conn: Connection) -> None:
    cursor = conn.cursor()
    cursor.execute("INSERT INTO runs (runsId, displayName, description, labels) "
                   "VALUES ('plain', 'p', 'd', '{\"a\": \"b\"}')")
    cursor.execute("INSERT INTO google.aiplatform.runs (tensorboardRunId, data__displayName, "
                   "data__description, data__labels) VALUES ('prefixed', 'q', 'd', "
                   "'{\"a\": \"b\"}')")
    plain, prefixed = world.get_run(experiment, "plain"), world.get_run(experiment, "prefixed")
    assert plain is not None and prefixed is not None
    assert (plain["displayName"], plain["description"], plain["labels"]) == ("p", "d",
                                                                             {"a": "b"})
    assert (prefixed["displayName"], prefixed["description"], prefixed["labels"]) == (
        "q", "d", {"a": "b"})


def test_labels_as_a_dict_parameter_and_as_json_text(world: World, experiment: str,
                                                     conn: Connection) -> None:
    cursor = conn.cursor()
    sql = "INSERT INTO runs (runsId, displayName, labels) VALUES (?, ?, ?)"
    cursor.execute(sql, ["from-dict", "d", {"team": "nlp", "owner": "ana"}])
    cursor.execute(sql, ["from-text", "t", '{"team": "nlp", "owner": "ana"}'])
    cursor.execute(sql, ["no-labels", "n", None])
    for run in ("from-dict", "from-text"):
        stored = world.get_run(experiment, run)
        assert stored is not None and stored["labels"] == {"team": "nlp", "owner": "ana"}
    stored = world.get_run(experiment, "no-labels")
    assert stored is not None and "labels" not in stored


def test_named_parameters(world: World, experiment: str, conn: Connection) -> None:
    conn.cursor().execute("INSERT INTO runs (runsId, displayName) VALUES (:id, :name)",
                          {"id": "named", "name": "by name"})
    stored = world.get_run(experiment, "named")
    assert stored is not None and stored["displayName"] == "by name"


def test_a_client_generated_id_when_none_is_given(world: World, experiment: str,
                                                  conn: Connection) -> None:
    cursor = conn.cursor()
    cursor.execute("INSERT INTO runs (displayName) VALUES ('one') RETURNING runsId, name")
    ((run_id, name),) = cursor.fetchall()
    assert is_uuid4(run_id) and str(name).endswith(f"/runs/{run_id}")
    cursor.executemany("INSERT INTO runs (displayName) VALUES (?)", [["two"], ["three"]])
    assert cursor.rowcount == 2
    ids = world.run_ids(experiment)
    assert ids[0] == run_id and len(set(ids)) == 3 and all(is_uuid4(i) for i in ids)


def test_output_only_columns_are_accepted_as_null(world: World, experiment: str,
                                                  conn: Connection) -> None:
    conn.cursor().execute(
        "INSERT INTO runs (runsId, displayName, name, createTime, updateTime, etag) "
        "VALUES ('nulls', 'n', NULL, NULL, NULL, NULL)")
    assert world.get_run(experiment, "nulls") is not None


@pytest.mark.parametrize("column, value", [
    ("name", "'projects/p/locations/l/tensorboards/t/experiments/e/runs/x'"),
    ("createTime", "'2024-01-01 00:00:00'"),
    ("updateTime", "'2024-01-01 00:00:00'"),
    ("etag", "'abc'"),
])
def test_output_only_columns_with_a_value_are_refused(world: World, experiment: str,
                                                      conn: Connection, column: str,
                                                      value: str) -> None:
    world.emu.reset_stats()
    with pytest.raises(ProgrammingError, match=f"{column} is set by the API"):
        conn.cursor().execute(f"INSERT INTO runs (displayName, {column}) VALUES ('x', {value})")
    assert world.calls() == {}
    assert world.list_runs(experiment) == []


@pytest.mark.parametrize("sql, error, message", [
    ("INSERT INTO runs (displayName, colour) VALUES ('x', 'red')", ProgrammingError,
     "Unknown column 'colour'"),
    ("INSERT INTO runs (description) VALUES ('no name')", DataError, "displayName is required"),
    ("INSERT INTO runs (runsId, displayName) VALUES ('Upper', 'x')", DataError,
     "Invalid tensorboardRunId 'Upper'"),
    ("INSERT INTO runs (runsId, displayName) VALUES ('-dash', 'x')", DataError,
     "Invalid tensorboardRunId"),
    ("INSERT INTO runs (displayName, labels) VALUES ('x', '{\"Team\": \"a\"}')", DataError,
     "Invalid label key 'Team'"),
    ("INSERT INTO runs (displayName, labels) VALUES ('x', '{\"team\": \"NLP\"}')", DataError,
     "Invalid value 'NLP'"),
    ("INSERT INTO runs (displayName, labels) VALUES ('x', 'not json')", DataError,
     "labels must be a JSON object"),
    ("INSERT INTO runs (displayName, labels) VALUES ('x', '{\"n\": 1}')", DataError,
     "labels must map strings to strings"),
    ("INSERT INTO runs (runsId, displayName) VALUES ('a', 'x'), ('b', 'x')", IntegrityError,
     "Rows 1 and 2 of the INSERT both have displayName 'x'"),
    ("INSERT INTO runs (runsId, displayName) VALUES ('a', 'x'), ('b', 'y'), ('a', 'z')",
     IntegrityError, "Rows 1 and 3 of the INSERT both have runsId 'a'"),
    ("INSERT INTO runs (displayName, runsId) VALUES ('x')", ProgrammingError,
     "names 2 columns but a row has 1 values"),
    ("INSERT INTO runs (data__requests, data__displayName) VALUES ('[]', 'x')",
     ProgrammingError, "cannot be mixed"),
    ("INSERT INTO runs (data__requests) VALUES ('{\"requests\": []}')", DataError,
     "must be a JSON list"),
    ("INSERT INTO runs (data__requests) VALUES ('[{\"tensorboardRun\": {}}]')", DataError,
     "displayName is required"),
    ("INSERT INTO runs (data__requests) VALUES ('[{\"tensorboardRunID\": \"a\", "
     "\"tensorboardRun\": {\"displayName\": \"a\"}}]')", DataError,
     "Unknown field 'tensorboardRunID'"),
    ("INSERT INTO runs (data__requests) VALUES ('[{\"tensorboardRun\": {\"displayName\": "
     "\"a\", \"colour\": \"red\"}}]')", DataError, "Unknown field 'tensorboardRun.colour'"),
    ("INSERT INTO runs (displayName, experimentsId) VALUES ('x', 'e/runs/r')", DataError,
     "Invalid experimentsId 'e/runs/r'"),
    ("INSERT INTO runs (displayName, projectsId) VALUES ('x', '..')", DataError,
     "Invalid projectsId '..'"),
    ("INSERT INTO models (displayName) VALUES ('x')", NotSupportedError,
     "Table 'models' cannot be written: only runs, experiments, tensorboards, time_series "
     "accept INSERT, UPDATE and DELETE"),
])
def test_bad_inserts_are_refused_before_any_call(world: World, experiment: str,
                                                 conn: Connection, *, sql: str,
                                                 error: type[Exception], message: str) -> None:
    world.emu.reset_stats()
    with pytest.raises(error, match=re.escape(message)):
        conn.cursor().execute(sql)
    assert world.calls() == {}
    assert world.list_runs(experiment) == []


def test_batch_requests_may_carry_runs_as_selected(world: World, experiment: str,
                                                   conn: Connection) -> None:
    source = world.list_runs(DEMO_EXPERIMENT)[:3]  # with name, etag, createTime, updateTime
    requests = [{"tensorboardRun": run} for run in source]
    cursor = conn.cursor()
    cursor.execute("INSERT INTO runs (data__requests) VALUES (?) RETURNING tensorboardRuns",
                   [requests])
    ((created,),) = cursor.fetchall()
    assert [(r["displayName"], r["labels"]) for r in created] == [
        (r["displayName"], r["labels"]) for r in source]
    assert not set(r["name"] for r in created) & set(r["name"] for r in source)
    assert ids_of(world.list_runs(experiment)) == ids_of(created)


def test_insert_into_a_missing_experiment(world: World, conn: Connection) -> None:
    world.emu.reset_stats()
    with pytest.raises(ProgrammingError) as caught:
        conn.cursor().execute("INSERT INTO runs (displayName, experimentsId) VALUES ('x', 'nope')")
    assert caught.value.rpc_status == "NOT_FOUND"
    assert world.calls() == {"runs.create": 1}


@pytest.mark.parametrize("sql", [
    "DELETE FROM runs WHERE runsId = '../../experiments/bert-glue'",
    "DELETE FROM runs WHERE experimentsId = 'bert-glue/runs' AND runsId = 'bert-glue-0001'",
    "UPDATE runs SET description = 'x' WHERE runsId = 'a b'",
    "UPDATE runs SET description = 'x' WHERE runsId = 'r?x=1'",
])
def test_path_values_that_address_another_resource_are_refused(world: World, conn: Connection,
                                                               sql: str) -> None:
    world.emu.reset_stats()
    with pytest.raises(DataError, match="a path parameter is one segment"):
        conn.cursor().execute(sql)
    assert world.calls() == {}
    assert len(world.list_runs(DEMO_EXPERIMENT)) == 60


def test_insert_needs_an_experiment(world: World) -> None:
    with world.connect() as connection:  # no default experiment
        world.emu.reset_stats()
        with pytest.raises(ProgrammingError, match="No experimentsId"):
            connection.cursor().execute("INSERT INTO runs (displayName) VALUES ('x')")
    assert world.calls() == {}


# -- INSERT: calls, row counts, partial failure ------------------------------------------------


def test_executemany_of_2500_rows_makes_exactly_3_batch_creates(world: World, experiment: str,
                                                                conn: Connection) -> None:
    rows = [(f"m-{i:04d}", f"many {i}", {"i": str(i)}) for i in range(2500)]
    cursor = conn.cursor()
    world.emu.reset_stats()
    cursor.executemany("INSERT INTO runs (runsId, displayName, labels) VALUES (?, ?, ?)", rows)
    assert cursor.rowcount == 2500
    assert world.calls() == {"runs.batchCreate": 3}
    runs = world.list_runs(experiment)
    assert [(rid, r["displayName"], r["labels"]) for rid, r in zip(ids_of(runs), runs,
                                                                     strict=True)] == [
        (rid, name, labels) for rid, name, labels in rows]
    cursor.execute("SELECT count(*) FROM runs")
    assert cursor.fetchall() == [(2500,)]


def test_a_single_row_makes_one_create(world: World, experiment: str, conn: Connection) -> None:
    cursor = conn.cursor()
    world.emu.reset_stats()
    cursor.execute("INSERT INTO runs (runsId, displayName) VALUES ('solo', 'solo')")
    assert cursor.rowcount == 1
    assert world.calls() == {"runs.create": 1}
    world.emu.reset_stats()
    cursor.executemany("INSERT INTO runs (runsId, displayName) VALUES (?, ?)", [("one", "one")])
    assert cursor.rowcount == 1
    assert world.calls() == {"runs.create": 1}
    assert world.run_ids(experiment) == ["solo", "one"]


def test_rows_for_two_experiments_go_to_each(world: World, experiment: str,
                                             conn: Connection) -> None:
    other = world.new_experiment("w")
    cursor = conn.cursor()
    world.emu.reset_stats()
    cursor.execute("INSERT INTO runs (runsId, displayName, experimentsId) VALUES "
                   "('a1', 'a', ?), ('b1', 'b', ?), ('a2', 'b', ?) RETURNING runsId, "
                   "experimentsId", [experiment, other, experiment])
    assert cursor.fetchall() == [("a1", experiment), ("b1", other), ("a2", experiment)]
    assert world.calls() == {"runs.batchCreate": 2}
    assert world.run_ids(experiment) == ["a1", "a2"]
    assert world.run_ids(other) == ["b1"]


def test_a_later_chunk_refused_reports_exactly_what_was_written(world: World, experiment: str,
                                                                conn: Connection) -> None:
    world.create_runs(experiment, [("existing", {"displayName": "taken"})])
    rows = [(f"p-{i:04d}", f"part {i}") for i in range(1500)]
    rows[1200] = ("p-1200", "taken")  # in the second chunk; the API refuses that chunk whole
    world.emu.reset_stats()
    with pytest.raises(IntegrityError) as caught:
        conn.cursor().executemany("INSERT INTO runs (runsId, displayName) VALUES (?, ?)", rows)
    error = caught.value
    assert error.rows_written == [f"p-{i:04d}" for i in range(1000)]
    assert error.rows_not_written == [
        f"p-{i:04d}" for i in range(1000, 1500)]
    assert error.rows_unknown == []
    message = str(error)
    assert "1000 of 1500 rows were written" in message
    assert "500 not written: p-1000, p-1001" in message
    assert "already exist" in message
    assert error.rpc_status == "INVALID_ARGUMENT"
    assert world.calls() == {"runs.batchCreate": 2}
    assert world.run_ids(experiment) == ["existing"] + [f"p-{i:04d}" for i in range(1000)]
    cursor = conn.cursor()
    cursor.execute("SELECT count(*) FROM runs WHERE displayName LIKE 'part %'")
    assert cursor.fetchall() == [(1000,)]


# -- UPDATE ------------------------------------------------------------------------------------


def _ten_runs(world: World, experiment: str) -> list[dict[str, Any]]:
    return world.create_runs(experiment, [
        (f"u-{i}", {"displayName": f"{'even' if i % 2 == 0 else 'odd'} {i}",
                    "description": "orig",
                    "labels": {"team": "nlp", "i": str(i),
                               **({JOB_LABEL: f"{i}00"} if i % 3 == 0 else {})}})
        for i in range(10)
    ])


def test_keyed_update_makes_exactly_one_patch(world: World, experiment: str,
                                              conn: Connection) -> None:
    runs = _ten_runs(world, experiment)
    cursor = conn.cursor()
    world.emu.reset_stats()
    cursor.execute("UPDATE runs SET description = 'patched' WHERE runsId = 'u-4'")
    assert cursor.rowcount == 1
    assert world.calls() == {"runs.patch": 1}
    after = world.list_runs(experiment)
    assert [r["description"] for r in after] == ["patched" if r["name"].endswith("/u-4")
                                                 else "orig" for r in runs]
    world.emu.reset_stats()
    cursor.execute("UPDATE runs SET description = 'x' WHERE runsId = 'missing'")
    assert cursor.rowcount == 0
    # The experiment is the connection's: one get tells a missing run from a missing experiment.
    assert world.calls() == {"runs.patch": 1, "experiments.get": 1}


def test_keyed_update_by_name(world: World, experiment: str, conn: Connection) -> None:
    (run, *_) = _ten_runs(world, experiment)
    world.emu.reset_stats()
    conn.cursor().execute("UPDATE runs SET displayName = 'by name' WHERE name = ?",
                          [run["name"]])
    assert world.calls() == {"runs.patch": 1}
    stored = world.get_run(experiment, "u-0")
    assert stored is not None and stored["displayName"] == "by name"


def test_update_by_another_predicate_patches_the_matching_runs(world: World, experiment: str,
                                                               conn: Connection) -> None:
    _ten_runs(world, experiment)
    cursor = conn.cursor()
    world.emu.reset_stats()
    cursor.execute("UPDATE runs SET description = 'odd one' WHERE displayName LIKE 'odd %' "
                   "RETURNING runsId, description")
    assert cursor.rowcount == 5
    assert sorted(cursor.fetchall()) == [(f"u-{i}", "odd one") for i in (1, 3, 5, 7, 9)]
    calls = world.calls()
    assert calls["runs.patch"] == 5 and "runs.get" not in calls
    assert calls["runs.list"] >= 1
    after = {rid: r["description"] for rid, r in zip(ids_of(world.list_runs(experiment)),
                                                     world.list_runs(experiment), strict=True)}
    assert after == {f"u-{i}": ("odd one" if i % 2 else "orig") for i in range(10)}
    world.emu.reset_stats()
    cursor.execute("UPDATE runs SET description = 'none' WHERE displayName = 'nothing'")
    assert cursor.rowcount == 0
    assert "runs.patch" not in world.calls()


def test_update_with_etag_in_where_sends_it(world: World, experiment: str, conn: Connection,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    runs = _ten_runs(world, experiment)
    spy = PatchSpy(conn, monkeypatch)
    cursor = conn.cursor()
    cursor.execute("UPDATE runs SET description = 'checked' WHERE runsId = 'u-2' AND etag = ?",
                   [runs[2]["etag"]])
    assert cursor.rowcount == 1
    assert [(body.get("etag"), mask) for _, body, mask in spy.sent] == [
        (runs[2]["etag"], ["description"])]
    stored = world.get_run(experiment, "u-2")
    assert stored is not None and stored["description"] == "checked"
    assert stored["etag"] != runs[2]["etag"]


def test_update_mask_in_snake_case(world: World, experiment: str, conn: Connection,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _ten_runs(world, experiment)
    spy = PatchSpy(conn, monkeypatch)
    conn.cursor().execute("UPDATE runs SET displayName = 'snake', description = 'kept' "
                          "WHERE runsId = 'u-0' AND updateMask = 'display_name'")
    assert [mask for _, _, mask in spy.sent] == [["displayName"]]
    stored = world.get_run(experiment, "u-0")
    assert stored is not None
    assert (stored["displayName"], stored["description"]) == ("snake", "orig")


def test_update_with_a_stale_etag_raises_and_changes_nothing(world: World, experiment: str,
                                                             conn: Connection) -> None:
    runs = _ten_runs(world, experiment)
    cursor = conn.cursor()
    cursor.execute("UPDATE runs SET description = 'first' WHERE runsId = 'u-1'")
    before = world.get_run(experiment, "u-1")
    world.emu.reset_stats()
    with pytest.raises(OperationalError) as caught:
        cursor.execute("UPDATE runs SET description = 'second', displayName = 'second' "
                       "WHERE runsId = 'u-1' AND etag = ?", [runs[1]["etag"]])
    assert caught.value.rpc_status == "ABORTED"
    assert "does not match" in str(caught.value) and "u-1" in str(caught.value)
    assert world.calls() == {"runs.patch": 1}
    assert world.get_run(experiment, "u-1") == before


@pytest.mark.parametrize("assignment, message", [
    ("createTime = '2024-01-01'", "Column 'createTime' cannot be updated"),
    ("updateTime = '2024-01-01'", "Column 'updateTime' cannot be updated"),
    ("name = 'x'", "Column 'name' cannot be updated"),
    ("runsId = 'x'", "Column 'runsId' cannot be updated"),
    ("experimentsId = 'x'", "Column 'experimentsId' cannot be updated"),
    ("colour = 'red'", "Column 'colour' cannot be updated: no such column"),
    (f"labels = '{{\"{JOB_LABEL}\": \"1\"}}'", "reserved by Vertex AI"),
    (f"labels = json_object('team', 'x', '{JOB_LABEL}', '9')", "reserved by Vertex AI"),
    (f"labels = json_set(labels, '$.\"{JOB_LABEL}\"', '9')", "reserved by Vertex AI"),
    (f"labels = json_remove(labels, '$.\"{JOB_LABEL}\"')", "reserved by Vertex AI"),
    ("labels = '{\"Team\": \"x\"}'", "Invalid label key 'Team'"),
    ("labels = 'nonsense'", "labels must be a JSON object"),
])
@pytest.mark.parametrize("where", ["runsId = 'u-3'", "displayName LIKE 'odd %'"])
def test_bad_sets_are_refused_before_any_call(world: World, experiment: str, conn: Connection,
                                              *, assignment: str, message: str,
                                              where: str) -> None:
    runs = _ten_runs(world, experiment)
    world.emu.reset_stats()
    with pytest.raises((ProgrammingError, DataError), match=re.escape(message)):
        conn.cursor().execute(f"UPDATE runs SET {assignment} WHERE {where}")
    assert world.calls() == {}
    assert world.list_runs(experiment) == runs


def test_set_over_current_values_uses_each_runs_etag(world: World, experiment: str,
                                                     conn: Connection,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    runs = _ten_runs(world, experiment)
    spy = PatchSpy(conn, monkeypatch)
    cursor = conn.cursor()
    cursor.execute("UPDATE runs SET labels = json_set(labels, '$.team', 'x'), "
                   "description = description || '+' || runsId WHERE displayName LIKE 'even %'")
    assert cursor.rowcount == 5
    by_name = {r["name"]: r for r in runs}
    assert len(spy.sent) == 5
    for name, body, mask in spy.sent:
        before = by_name[name]
        assert body["etag"] == before["etag"]
        assert body["labels"] == {**before["labels"], "team": "x"}
        assert mask == ["labels", "description"]
    after = world.list_runs(experiment)
    for old, new in zip(runs, after, strict=True):
        rid = ids_of([old])[0]
        if int(rid.split("-")[1]) % 2 == 0:
            assert new["labels"] == {**old["labels"], "team": "x"}  # system labels kept
            assert new["description"] == f"orig+{rid}"
        else:
            assert new == old


def test_set_over_current_values_fails_for_a_run_changed_meanwhile(
        world: World, experiment: str, conn: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = _ten_runs(world, experiment)
    real = conn.client.patch
    changed = world.run_name(experiment, "u-2")

    def patch_after_a_concurrent_change(name: str, body: Any, *args: Any, **kwargs: Any) -> Any:
        if name.endswith("/u-2"):  # someone else writes u-2 between our read and our patch
            answer = world.api("PATCH", changed, params={"updateMask": "description"},
                               json={"description": "theirs"})
            assert answer.status_code == 200
        return real(name, body, *args, **kwargs)

    monkeypatch.setattr(conn.client, "patch", patch_after_a_concurrent_change)
    with pytest.raises(OperationalError) as caught:
        conn.cursor().execute("UPDATE runs SET description = description || '!' "
                              "WHERE displayName LIKE 'even %'")
    error = caught.value
    assert error.rpc_status == "ABORTED"
    assert error.rows_not_written == [runs[2]["name"]]
    assert sorted(error.rows_written) == sorted(
        r["name"] for i, r in enumerate(runs) if i % 2 == 0 and i != 2)
    assert "4 of 5 rows were written" in str(error)
    after = world.list_runs(experiment)
    assert [r["description"] for r in after] == [
        "theirs" if i == 2 else "orig!" if i % 2 == 0 else "orig" for i in range(10)]


def test_concurrent_updates_with_one_etag_exactly_one_wins(world: World,
                                                           experiment: str) -> None:
    world.create_runs(experiment, [("race", {"displayName": "race", "description": "start"})])
    first, second = world.connect(experiment), world.connect(experiment)
    for round_ in range(10):
        current = world.get_run(experiment, "race")
        assert current is not None
        barrier = threading.Barrier(2)
        outcomes: dict[str, Any] = {}

        def update(label: str, connection: Connection, *, etag: str = current["etag"],
                   barrier: threading.Barrier = barrier, outcomes: dict[str, Any] = outcomes,
                   round_: int = round_) -> None:
            cursor = connection.cursor()
            barrier.wait()
            try:
                cursor.execute("UPDATE runs SET description = ? WHERE runsId = 'race' "
                               "AND etag = ?", [f"{label} {round_}", etag])
                outcomes[label] = cursor.rowcount
            except OperationalError as error:
                outcomes[label] = error

        threads = [threading.Thread(target=update, args=(label, connection))
                   for label, connection in (("a", first), ("b", second))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        winners = [k for k, v in outcomes.items() if v == 1]
        losers = [v for v in outcomes.values() if isinstance(v, OperationalError)]
        assert len(winners) == 1 and len(losers) == 1, outcomes
        assert losers[0].rpc_status == "ABORTED"
        stored = world.get_run(experiment, "race")
        assert stored is not None and stored["description"] == f"{winners[0]} {round_}"


# -- DELETE ------------------------------------------------------------------------------------


def test_keyed_delete_waits_for_its_operation(world: World, experiment: str,
                                              conn: Connection) -> None:
    _ten_runs(world, experiment)
    world.emu.set_operation_polls(2)
    world.emu.reset_stats()
    cursor = conn.cursor()
    cursor.execute("DELETE FROM runs WHERE runsId = 'u-5'")
    assert cursor.rowcount == 1
    # A keyed DELETE reads its row first (a lost answer is then told from a missing row).
    assert world.calls() == {"runs.get": 1, "runs.delete": 1, "operations.get": 2}
    assert world.get_run(experiment, "u-5") is None
    world.emu.reset_stats()
    cursor.execute("DELETE FROM runs WHERE runsId = 'u-5'")
    assert cursor.rowcount == 0
    # The experiment is the connection's: one get tells a missing run from a missing experiment.
    assert world.calls() == {"runs.get": 1, "experiments.get": 1}
    assert world.run_ids(experiment) == [f"u-{i}" for i in range(10) if i != 5]


def test_delete_without_waiting_for_operations(world: World, experiment: str) -> None:
    _ten_runs(world, experiment)
    world.emu.set_operation_polls(3)
    with world.connect(experiment, wait_operations=False) as connection:
        world.emu.reset_stats()
        connection.cursor().execute("DELETE FROM runs WHERE runsId = 'u-0'")
    assert world.calls() == {"runs.get": 1, "runs.delete": 1}
    assert world.get_run(experiment, "u-0") is None


def test_delete_by_create_time(world: World, experiment: str, conn: Connection) -> None:
    early = world.create_runs(experiment, [(f"early-{i}", {"displayName": f"early {i}"})
                                           for i in range(4)])
    late = world.create_runs(experiment, [(f"late-{i}", {"displayName": f"late {i}"})
                                          for i in range(3)])
    boundary = dt.datetime.fromisoformat(str(late[0]["createTime"]).replace("Z", "+00:00"))
    assert boundary > dt.datetime.fromisoformat(
        str(early[-1]["createTime"]).replace("Z", "+00:00"))
    cursor = conn.cursor()
    world.emu.reset_stats()
    cursor.execute("DELETE FROM runs WHERE createTime < ?", [boundary])
    assert cursor.rowcount == 4
    assert world.calls()["runs.delete"] == 4
    assert world.run_ids(experiment) == [f"late-{i}" for i in range(3)]
    cursor.execute("DELETE FROM runs WHERE createTime < ?", [boundary])
    assert cursor.rowcount == 0


def test_delete_by_predicate_returning(world: World, experiment: str, conn: Connection) -> None:
    _ten_runs(world, experiment)
    cursor = conn.cursor()
    cursor.execute("DELETE FROM runs WHERE displayName LIKE 'odd %' RETURNING runsId, "
                   "displayName")
    assert cursor.rowcount == 5
    assert cursor.fetchall() == [(f"u-{i}", f"odd {i}") for i in (1, 3, 5, 7, 9)]
    assert world.run_ids(experiment) == [f"u-{i}" for i in (0, 2, 4, 6, 8)]


def test_delete_with_an_etag_deletes_only_that_version(world: World, experiment: str,
                                                      conn: Connection) -> None:
    runs = _ten_runs(world, experiment)
    cursor = conn.cursor()
    world.emu.reset_stats()
    cursor.execute("DELETE FROM runs WHERE runsId = 'u-1' AND etag = 'stale'")
    assert cursor.rowcount == 0
    assert "runs.delete" not in world.calls()
    cursor.execute("DELETE FROM runs WHERE runsId = 'u-1' AND etag = ?", [runs[1]["etag"]])
    assert cursor.rowcount == 1
    assert world.run_ids(experiment) == [f"u-{i}" for i in range(10) if i != 1]


@pytest.mark.parametrize("sql", [
    "DELETE FROM experiments WHERE experimentsId = 'x'",
    "UPDATE experiments SET description = 'x' WHERE experimentsId = 'x'",
    "INSERT INTO experiments (experimentsId, displayName) VALUES ('x', 'x')",
])
def test_a_table_declared_read_only_is_refused(world: World, monkeypatch: pytest.MonkeyPatch,
                                               sql: str) -> None:
    # Every table of the catalog is writable today: declare one read only, as a table whose
    # API has no writes would be, and the driver refuses its writes before any call.
    read_only = dataclasses.replace(catalog.TABLES["experiments"], writable=False)
    monkeypatch.setitem(catalog.TABLES, "experiments", read_only)
    with world.connect() as connection:
        world.emu.reset_stats()
        with pytest.raises(NotSupportedError, match="Table 'experiments' cannot be written: "
                           "only runs, tensorboards, time_series accept"):
            connection.cursor().execute(sql)
    assert world.calls() == {}


# -- RETURNING *, ORDER BY / LIMIT / WITH, and refused clauses -----------------------------------

ALL_COLUMNS = ["name", "createTime", "description", "displayName", "etag", "labels",
               "updateTime", "projectsId", "locationsId", "tensorboardsId", "experimentsId",
               "runsId"]


def test_returning_star_is_every_column_typed(world: World, experiment: str,
                                              conn: Connection) -> None:
    cursor = conn.cursor()
    path = [world.path["projectsId"], world.path["locationsId"], world.tensorboard, experiment]
    cursor.execute("INSERT INTO runs (runsId, displayName, labels) VALUES ('s', 's', "
                   "'{\"a\": \"b\"}') RETURNING *")
    assert [d[0] for d in cursor.description] == ALL_COLUMNS
    ((name, created, description, display, etag, labels, updated, *rest),) = cursor.fetchall()
    stored = world.get_run(experiment, "s")
    assert stored is not None
    assert (name, description, display, etag, labels) == (stored["name"], "", "s",
                                                          stored["etag"], {"a": "b"})
    assert isinstance(created, dt.datetime) and created == updated
    assert rest == [*path, "s"]
    for sql in ("UPDATE runs SET description = 'k' WHERE runsId = 's' RETURNING runs.*",
                "UPDATE runs SET description = 'p' WHERE displayName = 's' RETURNING *"):
        cursor.execute(sql)
        ((*_, projects, locations, tensorboard, experiment_id, run),) = cursor.fetchall()
        # The same spelling of the path as the statement's, whichever way the run was found.
        assert [projects, locations, tensorboard, experiment_id, run] == [*path, "s"]
    cursor.execute("DELETE FROM runs WHERE displayName = 's' RETURNING *")
    ((*_, labels, _updated, projects, _, _, _, run),) = cursor.fetchall()
    assert (labels, projects, run) == ({"a": "b"}, world.path["projectsId"], "s")
    assert world.list_runs(experiment) == []


def test_update_and_delete_with_order_by_and_limit(world: World, experiment: str,
                                                   conn: Connection) -> None:
    _ten_runs(world, experiment)
    cursor = conn.cursor()
    cursor.execute("UPDATE runs SET description = 'latest' ORDER BY createTime DESC LIMIT 3 "
                   "RETURNING runsId")
    assert cursor.rowcount == 3
    assert sorted(cursor.fetchall()) == [("u-7",), ("u-8",), ("u-9",)]
    cursor.execute("UPDATE runs SET description = 'none' WHERE runsId = 'u-1' LIMIT 0")
    assert cursor.rowcount == 0
    cursor.execute("DELETE FROM runs WHERE displayName LIKE 'even %' ORDER BY displayName "
                   "LIMIT 2")
    assert cursor.rowcount == 2
    runs = world.list_runs(experiment)
    assert ids_of(runs) == [f"u-{i}" for i in range(10) if i not in (0, 2)]
    assert [r["description"] for r in runs] == ["orig"] * 5 + ["latest"] * 3


def test_update_with_a_common_table_expression(world: World, experiment: str,
                                               conn: Connection) -> None:
    _ten_runs(world, experiment)
    cursor = conn.cursor()
    cursor.execute("WITH picked AS (SELECT 'u-3' AS id UNION ALL SELECT 'u-6') "
                   "UPDATE runs SET description = 'picked' "
                   "WHERE runsId IN (SELECT id FROM picked)")
    assert cursor.rowcount == 2
    assert [r["description"] for r in world.list_runs(experiment)] == [
        "picked" if i in (3, 6) else "orig" for i in range(10)]


@pytest.mark.parametrize("sql", [
    "INSERT OR IGNORE INTO runs (displayName) VALUES ('x')",
    "INSERT OR REPLACE INTO runs (displayName) VALUES ('x')",
    "INSERT INTO runs (displayName) VALUES ('x') ON CONFLICT DO NOTHING",
    "UPDATE runs SET description = t.description FROM runs AS t WHERE runs.runsId = t.runsId",
    "DELETE FROM runs USING runs AS t WHERE runs.runsId = t.runsId",
])
def test_clauses_the_api_cannot_honour_are_refused(world: World, experiment: str,
                                                   conn: Connection, sql: str) -> None:
    _ten_runs(world, experiment)
    world.emu.reset_stats()
    with pytest.raises(NotSupportedError, match="is not supported"):
        conn.cursor().execute(sql)
    assert world.calls() == {}
    assert len(world.list_runs(experiment)) == 10


# -- unknown outcomes: read back, not duplicated ------------------------------------------------


def _clearing_retry(world: World) -> RetryPolicy:
    """Retries that clear the fault plan before the next attempt: fail once, then work."""
    return RetryPolicy(initial_backoff=0.0, max_backoff=0.0,
                       sleep=lambda _: world.emu.set_faults(None))


def test_lost_batch_create_response_is_read_back(world: World, experiment: str) -> None:
    world.emu.set_faults(FaultPlan(rate=1.0, kinds=("lost_response",),
                                   methods=("runs.batchCreate",)))
    with world.connect(experiment, retry=_clearing_retry(world)) as connection:
        cursor = connection.cursor()
        cursor.executemany("INSERT INTO runs (runsId, displayName) VALUES (?, ?)",
                           [(f"l-{i}", f"lost {i}") for i in range(5)])
        assert cursor.rowcount == 5
    assert world.calls() == {"runs.batchCreate": 2, "runs.get": 5}
    assert world.run_ids(experiment) == [f"l-{i}" for i in range(5)]


def test_lost_create_response_is_read_back(world: World, experiment: str) -> None:
    world.emu.set_faults(FaultPlan(rate=1.0, kinds=("lost_response",),
                                   methods=("runs.create",)))
    with world.connect(experiment, retry=_clearing_retry(world)) as connection:
        cursor = connection.cursor()
        cursor.execute("INSERT INTO runs (displayName) VALUES ('lost') RETURNING runsId")
        ((run_id,),) = cursor.fetchall()
    assert world.calls() == {"runs.create": 2, "runs.get": 1}
    assert world.run_ids(experiment) == [run_id]


def test_lost_patch_response_with_an_etag_is_reported_unknown(world: World,
                                                            experiment: str) -> None:
    (run,) = world.create_runs(experiment, [("p", {"displayName": "p"})])
    world.emu.reset_stats()
    world.emu.set_faults(FaultPlan(rate=1.0, kinds=("lost_response",), methods=("runs.patch",)))
    with world.connect(experiment, retry=_clearing_retry(world)) as connection, \
            pytest.raises(OperationalError, match="outcome is unknown") as caught:
        connection.cursor().execute(
            "UPDATE runs SET description = 'once' WHERE runsId = 'p' AND etag = ?",
            [run["etag"]])
    assert caught.value.outcome_unknown
    assert world.calls() == {"runs.patch": 2}
    stored = world.get_run(experiment, "p")  # here it was applied; the driver cannot know that
    assert stored is not None and stored["description"] == "once"


def test_lost_patch_response_then_a_concurrent_change_raises(world: World,
                                                             experiment: str) -> None:
    (run,) = world.create_runs(experiment, [("p", {"displayName": "p"})])
    name = world.run_name(experiment, "p")

    def someone_else_writes(_: float) -> None:
        world.emu.set_faults(None)
        world.api("PATCH", name, params={"updateMask": "description"},
                  json={"description": "theirs"})

    world.emu.set_faults(FaultPlan(rate=1.0, kinds=("lost_response",), methods=("runs.patch",)))
    retry = RetryPolicy(initial_backoff=0.0, max_backoff=0.0, sleep=someone_else_writes)
    with world.connect(experiment, retry=retry) as connection, \
            pytest.raises(OperationalError) as caught:
        connection.cursor().execute(
            "UPDATE runs SET description = 'mine' WHERE runsId = 'p' AND etag = ?",
            [run["etag"]])
    assert caught.value.rpc_status == "ABORTED"
    stored = world.get_run(experiment, "p")
    assert stored is not None and stored["description"] == "theirs"


def test_lost_patch_response_without_an_etag_is_retried(world: World, experiment: str) -> None:
    world.create_runs(experiment, [("p", {"displayName": "p"})])
    world.emu.reset_stats()
    world.emu.set_faults(FaultPlan(rate=1.0, kinds=("lost_response",), methods=("runs.patch",)))
    with world.connect(experiment, retry=_clearing_retry(world)) as connection:
        cursor = connection.cursor()
        cursor.execute("UPDATE runs SET description = 'blind' WHERE runsId = 'p'")
        assert cursor.rowcount == 1
    assert world.calls() == {"runs.patch": 2}
    stored = world.get_run(experiment, "p")
    assert stored is not None and stored["description"] == "blind"


def test_lost_delete_response_counts_the_run_deleted(world: World, experiment: str) -> None:
    world.create_runs(experiment, [("d", {"displayName": "d"}), ("k", {"displayName": "k"})])
    world.emu.reset_stats()
    world.emu.set_faults(FaultPlan(rate=1.0, kinds=("lost_response",), methods=("runs.delete",)))
    with world.connect(experiment, retry=_clearing_retry(world)) as connection:
        cursor = connection.cursor()
        cursor.execute("DELETE FROM runs WHERE runsId = 'd'")
        assert cursor.rowcount == 1
    assert world.calls() == {"runs.get": 1, "runs.delete": 2}
    assert world.run_ids(experiment) == ["k"]


def test_batch_create_without_an_answer_is_resolved_by_reading_back(world: World,
                                                                    experiment: str) -> None:
    # No retries: each batchCreate is applied but its answer lost; the driver then looks.
    world.emu.set_faults(FaultPlan(rate=1.0, kinds=("lost_response",),
                                   methods=("runs.batchCreate",)))
    rows = [(f"n-{i:04d}", f"no answer {i}") for i in range(1001)]
    with world.connect(experiment, retry=RetryPolicy(max_attempts=1)) as connection:
        cursor = connection.cursor()
        cursor.executemany("INSERT INTO runs (runsId, displayName) VALUES (?, ?)", rows)
        assert cursor.rowcount == 1001
    assert world.calls() == {"runs.batchCreate": 2, "runs.get": 1001}
    assert world.run_ids(experiment) == [rid for rid, _ in rows]


def test_batch_create_that_was_not_applied_is_reported_not_written(world: World,
                                                                   experiment: str) -> None:
    world.create_runs(experiment, [("n-0000", {"displayName": "no answer 0"})])
    world.emu.reset_stats()
    world.emu.set_faults(FaultPlan(rate=1.0, kinds=("reset",), methods=("runs.batchCreate",)))
    rows = [(f"n-{i:04d}", f"no answer {i}") for i in range(1, 4)]
    with world.connect(experiment, retry=RetryPolicy(max_attempts=1)) as connection, \
            pytest.raises(OperationalError) as caught:
        connection.cursor().executemany("INSERT INTO runs (runsId, displayName) VALUES (?, ?)",
                                        rows)
    error = caught.value
    assert error.rows_written == []
    assert error.rows_not_written == ["n-0001", "n-0002", "n-0003"]
    assert error.rows_unknown == []
    assert "0 of 3 rows were written" in str(error)
    assert world.calls() == {"runs.batchCreate": 1, "runs.get": 3}
    assert world.run_ids(experiment) == ["n-0000"]


def test_batch_create_whose_outcome_cannot_be_known(world: World, experiment: str) -> None:
    world.emu.set_faults(FaultPlan(rate=1.0, kinds=("503",),
                                   methods=("runs.batchCreate", "runs.get")))
    rows = [(f"u-{i}", f"unknown {i}") for i in range(3)]
    with world.connect(experiment, retry=RetryPolicy(max_attempts=2, initial_backoff=0.0,
                                                     max_backoff=0.0)) as connection, \
            pytest.raises(OperationalError) as caught:
        connection.cursor().executemany("INSERT INTO runs (runsId, displayName) VALUES (?, ?)",
                                        rows)
    error = caught.value
    assert error.rows_written == [] and error.rows_not_written == []
    assert error.rows_unknown == ["u-0", "u-1", "u-2"]
    assert "3 may or may not have been written" in str(error)


# -- many writes under injected faults ---------------------------------------------------------


@pytest.mark.parametrize("kinds, seed", [
    (("429", "503", "reset"), 14),
    (("429", "503", "reset", "lost_response"), 21),
], ids=["429-503-reset", "with-lost-responses"])
def test_writes_under_faults_leave_exactly_the_intended_runs(world: World, experiment: str,
                                                             kinds: tuple[str, ...],
                                                             seed: int) -> None:
    connection = world.connect(experiment)
    cursor = connection.cursor()
    rows = [(f"f-{i:04d}", f"fault run {i}", {"i": str(i)}) for i in range(2000)]

    world.emu.set_faults(FaultPlan(rate=0.2, kinds=kinds, seed=seed, retry_after=0))
    cursor.executemany("INSERT INTO runs (runsId, displayName, labels) VALUES (?, ?, ?)", rows)
    assert cursor.rowcount == 2000
    insert_faults = world.emu.stats()["faults"]
    world.emu.set_faults(None)
    assert sum(insert_faults.values()) > 0  # the batchCreates themselves met faults
    runs = world.list_runs(experiment)
    assert [(rid, r["displayName"], r["labels"]) for rid, r in zip(ids_of(runs), runs,
                                                                     strict=True)] == rows

    world.emu.reset_stats()
    world.emu.set_faults(FaultPlan(rate=0.2, kinds=kinds, seed=seed + 1, retry_after=0))
    cursor.executemany("UPDATE runs SET description = ? WHERE runsId = ?",
                       [(f"updated {i}", f"f-{i:04d}") for i in range(500)])
    assert cursor.rowcount == 500
    cursor.executemany("DELETE FROM runs WHERE runsId = ?",
                       [(f"f-{i:04d}",) for i in range(500, 1000)])
    assert cursor.rowcount == 500
    faults = world.emu.stats()["faults"]
    world.emu.set_faults(None)
    assert all(faults.get(kind, 0) > 0 for kind in kinds), faults

    final = world.list_runs(experiment)
    expected = [f"f-{i:04d}" for i in range(2000) if not 500 <= i < 1000]
    assert ids_of(final) == expected
    for rid, run in zip(expected, final, strict=True):
        number = int(rid[2:])
        assert run["displayName"] == f"fault run {number}"
        assert run.get("description") == (f"updated {number}" if number < 500 else None)
        assert run["labels"] == {"i": str(number)}
