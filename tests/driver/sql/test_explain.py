"""EXPLAIN and EXPLAIN ANALYZE through the driver (so SQL Lab and notebooks have them): the
steps describe the calls the statement makes, EXPLAIN calls nothing but the fan-out listings
(and writes nothing), ANALYZE's numbers are the calls that were made."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import runs_dbapi
from runs_dbapi.emulator import Emulator
from runs_dbapi.explain import split_explain
from runs_dbapi.rest import RestClient

pytestmark = pytest.mark.emulator(demo=True)

BOARD = "1000000000000000001"
RUN = (f"projects/demo-project/locations/us-central1/tensorboards/{BOARD}/experiments/"
       "bert-glue/runs/bert-glue-0002")


def connect(emu: Emulator) -> runs_dbapi.Connection:
    return runs_dbapi.connect(project="demo-project", location="us-central1",
                              endpoint=emu.url, anonymous=True)


def explain(emu: Emulator, sql: str, parameters: Any = None) -> list[dict[str, Any]]:
    with connect(emu) as conn:
        cursor = conn.cursor().execute(sql, parameters)
        names = [d[0] for d in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def count(emu: Emulator, sql: str) -> int:
    with connect(emu) as conn:
        return int(conn.cursor().execute(sql).fetchone()[0])


def test_explain_of_a_get_calls_nothing(emu: Emulator) -> None:
    emu.reset_stats()
    steps = explain(emu, f"EXPLAIN SELECT displayName FROM runs WHERE name = '{RUN}'")
    assert sum(emu.stats()["calls"].values()) == 0
    assert [s["operation"] for s in steps] == ["runs.get", "local SQL"]
    assert steps[0]["resource"] == f"GET /v1/{RUN}"
    assert steps[0]["step"] == 1 and steps[1]["step"] == 2
    assert "_t0_runs" in steps[1]["detail"]


def test_explain_of_a_fan_out_lists_only_the_parents(emu: Emulator) -> None:
    emu.reset_stats()
    steps = explain(emu, "EXPLAIN SELECT displayName FROM runs "
                         "WHERE labels ->> '$.status' = 'failed' ORDER BY createTime LIMIT 3")
    calls = {k: v for k, v in emu.stats()["calls"].items() if v}
    assert calls == {"tensorboards.list": 1, "experiments.list": 1}
    assert [s["operation"] for s in steps] == ["tensorboards.list", "experiments.list",
                                               "runs.list", "local SQL"]
    runs = steps[2]
    assert runs["resource"].endswith(f"/tensorboards/{BOARD}/experiments/{{experimentsId}}/runs")
    assert 'filter=labels.status = "failed"' in runs["parameters"]
    assert "orderBy=create_time" in runs["parameters"] and "pageSize=3" in runs["parameters"]
    assert "over 6 experiments: bert-glue, ppo-atari" in runs["detail"]


def test_explain_states_the_parameters_the_executor_sends(emu: Emulator,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[dict[str, Any]] = []
    original = RestClient.list_pages

    def recording(self: RestClient, parent: str, collection: str,
                  params: dict[str, Any] | None = None) -> Iterator[Any]:
        if collection == "runs":
            sent.append(dict(params or {}))
        return original(self, parent, collection, params)

    monkeypatch.setattr(RestClient, "list_pages", recording)
    sql = ("SELECT displayName, createTime FROM runs WHERE experimentsId = 'bert-glue' AND "
           "labels ->> '$.optimizer' IN ('adam', 'sgd') ORDER BY createTime DESC LIMIT 4")
    step = next(s for s in explain(emu, "EXPLAIN " + sql) if s["operation"] == "runs.list")
    assert sent == []  # EXPLAIN listed no runs
    with connect(emu) as conn:
        conn.cursor().execute(sql).fetchall()
    assert len(sent) == 1
    shown = "; ".join(f"{k}={sent[0][k]}" for k in ("filter", "orderBy", "pageSize", "readMask")
                      if k in sent[0])
    assert step["parameters"] == shown


def test_explain_of_a_predicate_delete_deletes_nothing(emu: Emulator) -> None:
    before = count(emu, "SELECT count(*) FROM runs WHERE experimentsId = 'bert-glue'")
    emu.reset_stats()
    steps = explain(emu, "EXPLAIN DELETE FROM runs WHERE experimentsId = 'bert-glue' "
                         "AND labels ->> '$.status' = 'failed'")
    assert emu.calls("runs.delete") == 0 and emu.calls("runs.list") == 0
    assert count(emu, "SELECT count(*) FROM runs WHERE experimentsId = 'bert-glue'") == before
    operations = [s["operation"] for s in steps]
    assert operations == ["tensorboards.list", "runs.list", "local SQL", "runs.delete"]
    assert 'filter=labels.status = "failed"' in steps[1]["parameters"]
    assert steps[3]["resource"].startswith("DELETE /v1/projects/demo-project/")
    assert steps[3]["detail"].startswith("one delete per row of step 3")


def test_explain_of_keyed_writes_and_inserts_writes_nothing(emu: Emulator) -> None:
    emu.reset_stats()
    delete = explain(emu, f"EXPLAIN DELETE FROM runs WHERE name = '{RUN}'")
    assert [(s["operation"], s["resource"]) for s in delete] == [
        ("runs.get", f"GET /v1/{RUN}"), ("runs.delete", f"DELETE /v1/{RUN}")]
    update = explain(emu, f"EXPLAIN UPDATE runs SET description = 'x' WHERE name = '{RUN}'")
    assert [(s["operation"], s["parameters"]) for s in update] == [
        ("runs.patch", "updateMask=description")]
    insert = explain(emu, "EXPLAIN INSERT INTO runs (tensorboardsId, experimentsId, runsId, "
                     "displayName) VALUES (?, 'bert-glue', 'e-1', 'one'), "
                     "(?, 'bert-glue', 'e-2', 'two')", [BOARD, BOARD])
    assert [s["operation"] for s in insert] == ["runs.batchCreate"]
    assert insert[0]["detail"].startswith("2 runs in one call")
    assert sum(emu.stats()["calls"].values()) == 0
    assert count(emu, "SELECT count(*) FROM runs WHERE experimentsId = 'bert-glue' "
                      "AND runsId IN ('e-1', 'e-2')") == 0


POINTS = ("INSERT INTO time_series_data (tensorboardsId, experimentsId, runsId, displayName, "
          "step, scalar) VALUES (?, 'bert-glue', 'bert-glue-0001', 'loss', 9001, 0.5), "
          "(?, 'bert-glue', 'bert-glue-0002', 'grad norm', 1, 0.25), "
          "(?, 'bert-glue', 'bert-glue-0002', 'loss', 9001, 0.75)")


def test_explain_of_an_insert_of_points_calls_nothing(emu: Emulator) -> None:
    """The series lookup of each run is a step, shown, not made; the series it may create and
    the points are written by no one."""
    series = count(emu, "SELECT count(*) FROM time_series WHERE experimentsId = 'bert-glue'")
    emu.reset_stats()
    steps = explain(emu, f"EXPLAIN {POINTS}", [BOARD] * 3)
    assert sum(emu.stats()["calls"].values()) == 0
    assert [s["operation"] for s in steps] == ["timeSeries.list", "timeSeries.batchCreate",
                                               "experiments.write"]
    listing = steps[0]
    assert listing["resource"].endswith("/experiments/bert-glue/runs/{runsId}/timeSeries")
    assert listing["detail"].startswith("2 listings, one a run")
    # Nothing is looked up, so both series names of the second run count as possibly missing.
    assert steps[1]["detail"].startswith("up to 3 timeSeries in one call")
    assert count(emu, "SELECT count(*) FROM time_series WHERE experimentsId = 'bert-glue'") \
        == series
    assert count(emu, "SELECT count(*) FROM time_series_data WHERE experimentsId = 'bert-glue' "
                      "AND step = 9001") == 0


def test_explain_analyze_of_an_insert_of_points_counts_its_listings(emu: Emulator) -> None:
    emu.reset_stats()
    steps = explain(emu, f"EXPLAIN ANALYZE {POINTS}", [BOARD] * 3)
    by = {s["operation"]: s for s in steps}
    assert by["timeSeries.list"]["calls"] == emu.calls("timeSeries.list") == 2
    # The series are created by the experiment's batchCreate method (the API's name for it).
    assert by["timeSeries.batchCreate"]["calls"] == emu.calls("experiments.batchCreate") == 1
    assert by["experiments.write"]["calls"] == emu.calls("experiments.write") == 1
    assert by["experiments.write"]["rows"] == 3
    assert count(emu, "SELECT count(*) FROM time_series_data WHERE experimentsId = 'bert-glue' "
                      "AND step = 9001") == 2


def test_explain_analyze_counts_the_calls_made(emu: Emulator) -> None:
    failed = count(emu, "SELECT count(*) FROM runs WHERE labels ->> '$.status' = 'failed'")
    emu.reset_stats()
    steps = explain(emu, "EXPLAIN ANALYZE SELECT displayName FROM runs "
                         "WHERE labels ->> '$.status' = 'failed'")
    by = {s["operation"]: s for s in steps}
    assert by["runs.list"]["calls"] == emu.calls("runs.list") == 6
    assert by["runs.list"]["pages"] == 6 and by["runs.list"]["rows"] == failed
    assert by["experiments.list"]["rows"] == 6 and by["tensorboards.list"]["rows"] == 1
    assert by["local SQL"]["rows"] == failed
    assert by["total"]["calls"] == sum(emu.stats()["calls"].values()) == 8
    assert all(isinstance(s["ms"], float) for s in steps if s["operation"] != "local SQL")


def test_explain_analyze_runs_a_write(emu: Emulator) -> None:
    running = count(emu, "SELECT count(*) FROM runs WHERE experimentsId = 'ppo-atari' "
                         "AND labels ->> '$.status' = 'running'")
    assert running > 0
    steps = explain(emu, "EXPLAIN ANALYZE DELETE FROM runs WHERE experimentsId = 'ppo-atari' "
                         "AND labels ->> '$.status' = 'running'")
    delete = next(s for s in steps if s["operation"] == "runs.delete")
    assert delete["calls"] == delete["rows"] == running == emu.calls("runs.delete")
    assert count(emu, "SELECT count(*) FROM runs WHERE experimentsId = 'ppo-atari' "
                      "AND labels ->> '$.status' = 'running'") == 0


def test_the_explain_prefix_keeps_error_positions() -> None:
    mode, rest = split_explain("-- why\nEXPLAIN  ANALYZE\nSELECT 1")
    assert mode == "ANALYZE" and rest.splitlines()[2] == "SELECT 1"
    assert len(rest) == len("-- why\nEXPLAIN  ANALYZE\nSELECT 1")
    assert split_explain("explain query plan select 1")[0] == "EXPLAIN"
    assert split_explain("SELECT 'EXPLAIN'") == (None, "SELECT 'EXPLAIN'")
    with runs_dbapi.connect(project="p", location="l", emulator="memory",
                            emulator_demo=False) as conn, \
            pytest.raises(runs_dbapi.ProgrammingError, match="at line 2, column"):
        conn.cursor().execute("EXPLAIN\nSELECT * FORM runs")
