"""pandas over runs://: read_sql, read_sql_query with parameters, read_sql_table, to_sql, and a
pivot of training curves (time_series_data).

to_sql goes through the driver's executemany: one runs.batchCreate per 1000 rows, counted by
the emulator. pandas 3's if_exists="delete_rows" deletes the experiment's runs first.
"""

from __future__ import annotations

import math

import pytest
from sqlalchemy import JSON
from support.dialect import Demo

from runs_dbapi.exceptions import NotSupportedError

pd = pytest.importorskip("pandas")

PANDAS_3 = int(pd.__version__.split(".")[0]) >= 3


def test_read_sql(demo: Demo) -> None:
    frame = pd.read_sql("SELECT * FROM runs ORDER BY runsId", demo.engine("bert-glue"))
    assert frame.shape == (60, 12)
    assert list(frame.columns[:3]) == ["name", "createTime", "description"]
    assert str(frame["createTime"].dtype).startswith("datetime64") and \
        str(frame["createTime"].dt.tz) == "UTC"
    assert frame["runsId"].iloc[0] == "bert-glue-0001"
    assert frame["labels"].iloc[0]["team"] == "nlp"


def test_read_sql_query_with_parameters(demo: Demo) -> None:
    engine = demo.engine("bert-glue")
    frame = pd.read_sql_query(
        "SELECT runsId, displayName FROM runs WHERE runsId IN (?, ?) ORDER BY runsId",
        engine, params=("bert-glue-0003", "bert-glue-0007"))
    assert frame["runsId"].tolist() == ["bert-glue-0003", "bert-glue-0007"]
    from sqlalchemy import text

    frame = pd.read_sql_query(
        text("SELECT count(*) AS n FROM runs WHERE json_extract(labels, '$.status') = :status"),
        engine, params={"status": "failed"})
    assert 0 < int(frame["n"].iloc[0]) < 60


def test_read_sql_table(demo: Demo) -> None:
    frame = pd.read_sql_table("runs", demo.engine("bert-glue"))
    assert frame.shape == (60, 12)
    assert str(frame["updateTime"].dtype).startswith("datetime64")
    experiments = pd.read_sql_table("experiments", demo.engine("bert-glue"),
                                    columns=["experimentsId", "description"])
    assert "bert-glue" in experiments["experimentsId"].tolist()


@pytest.mark.parametrize("count", [1, 999, 2500])
def test_to_sql_appends_in_batches_of_1000(demo: Demo, count: int) -> None:
    experiment = demo.new_experiment("pandas")
    engine = demo.engine(experiment)
    frame = pd.DataFrame({
        "displayName": [f"trial {i}" for i in range(count)],
        "runsId": [f"trial-{i}" for i in range(count)],
        "description": "from pandas",
        "labels": [{"i": str(i)} for i in range(count)],
    })
    demo.emulator.reset_stats()
    written = frame.to_sql("runs", engine, if_exists="append", index=False,
                           dtype={"labels": JSON()})
    calls = demo.emulator.stats()["calls"]
    assert written == count
    if count == 1:
        assert calls.get("runs.create", 0) + calls.get("runs.batchCreate", 0) == 1
    else:
        assert calls.get("runs.batchCreate") == math.ceil(count / 1000)
        assert "runs.create" not in calls
    back = pd.read_sql("SELECT runsId, labels FROM runs ORDER BY createTime, runsId", engine)
    assert len(back) == count
    assert sorted(back["runsId"]) == sorted(frame["runsId"])
    assert {r["i"] for r in back["labels"]} == {str(i) for i in range(count)}


def test_to_sql_refuses_to_replace_or_fail_silently(demo: Demo) -> None:
    frame = pd.DataFrame({"displayName": ["x"]})
    with pytest.raises(ValueError, match="already exists"):
        frame.to_sql("runs", demo.engine(demo.new_experiment("fail")), index=False)


@pytest.mark.skipif(not PANDAS_3, reason="if_exists='delete_rows' is pandas 3's")
def test_to_sql_delete_rows_replaces_the_experiments_runs(demo: Demo) -> None:
    experiment = demo.new_experiment("delete-rows")
    engine = demo.engine(experiment)
    pd.DataFrame({"displayName": ["old-a", "old-b"]}).to_sql("runs", engine, if_exists="append",
                                                             index=False)
    demo.emulator.reset_stats()
    written = pd.DataFrame({"displayName": [f"new-{i}" for i in range(3)]}).to_sql(
        "runs", engine, if_exists="delete_rows", index=False)
    assert written == 3
    assert demo.calls("runs.delete") == 2 and demo.calls("runs.batchCreate") == 1
    names = pd.read_sql("SELECT displayName FROM runs", engine)["displayName"].tolist()
    assert sorted(names) == ["new-0", "new-1", "new-2"]
    # Other experiments are untouched.
    assert len(pd.read_sql("SELECT runsId FROM runs", demo.engine("bert-glue"))) == 60


def test_to_sql_with_the_index_says_to_pass_index_false(demo: Demo) -> None:
    experiment = demo.new_experiment("index")
    frame = pd.DataFrame({"displayName": ["a", "b"]})
    demo.emulator.reset_stats()
    for method in (None, "multi"):
        with pytest.raises(Exception, match=r"pandas' to_sql adds for the DataFrame index: "
                                            r"pass index=False") as raised:
            frame.to_sql("runs", demo.engine(experiment), if_exists="append", method=method)
        assert "no column 'index'" in str(raised.value)
    assert "runs.batchCreate" not in demo.emulator.stats()["calls"]
    assert "runs.create" not in demo.emulator.stats()["calls"]


def test_to_sql_replace_says_to_append(demo: Demo) -> None:
    experiment = demo.new_experiment("replace")
    frame = pd.DataFrame({"displayName": ["a"]})
    with pytest.raises(NotSupportedError, match=r'DROP TABLE runs: .*if_exists="replace"\) drops '
                                                r'the table first; pass if_exists="append"'):
        frame.to_sql("runs", demo.engine(experiment), if_exists="replace", index=False)
    with pytest.raises(NotSupportedError, match=r"CREATE TABLE my_runs: .*to_sql\('runs', "
                                                r'engine, if_exists="append", index=False\)'):
        frame.to_sql("my_runs", demo.engine(experiment), index=False)
    assert pd.read_sql("SELECT count(*) AS n FROM runs", demo.engine(experiment))["n"][0] == 0


def test_read_sql_in_chunks(demo: Demo) -> None:
    chunks = list(pd.read_sql("SELECT runsId, labels FROM runs ORDER BY runsId",
                              demo.engine("bert-glue"), chunksize=25))
    assert [len(c) for c in chunks] == [25, 25, 10]
    together = pd.concat(chunks, ignore_index=True)
    assert together["runsId"].tolist() == [f"bert-glue-{i:04d}" for i in range(1, 61)]
    assert together["labels"].iloc[59]["team"] == "nlp"


@pytest.mark.parametrize("method", [None, "multi"])
def test_to_sql_in_chunks(demo: Demo, method: str | None) -> None:
    """chunksize=N: one batchCreate per chunk of N rows (multi-row VALUES with method="multi",
    the driver's executemany otherwise)."""
    experiment = demo.new_experiment("chunks")
    engine = demo.engine(experiment)
    frame = pd.DataFrame({
        "displayName": [f"trial {i}" for i in range(250)],
        "runsId": [f"trial-{i:03d}" for i in range(250)],
        "labels": [f'{{"i": "{i}"}}' for i in range(250)],
    })
    demo.emulator.reset_stats()
    written = frame.to_sql("runs", engine, if_exists="append", index=False, chunksize=100,
                           method=method)
    assert written == 250
    assert demo.calls("runs.batchCreate") == 3
    back = pd.read_sql("SELECT runsId, labels FROM runs ORDER BY runsId", engine)
    assert back["runsId"].tolist() == frame["runsId"].tolist()
    assert [r["i"] for r in back["labels"]] == [str(i) for i in range(250)]


def test_pivot_a_training_curve(demo: Demo) -> None:
    """The loss curves of four runs, one column per run, a row per step (every 1,000th): the
    API's points, NaN past the step where a failed run stopped."""
    runs = ["bert-glue-0001", "bert-glue-0002", "bert-glue-0003", "bert-glue-0004"]
    frame = pd.read_sql(
        "SELECT runsId, step, scalar FROM time_series_data WHERE displayName = 'loss' "
        f"AND runsId IN ({', '.join(repr(r) for r in runs)}) AND step % 1000 = 0",
        demo.engine("bert-glue"))
    curves = frame.pivot(index="step", columns="runsId", values="scalar")
    expected = {run: {step: value for step, value in demo.curve("bert-glue", run, "loss").items()
                      if step % 1000 == 0} for run in runs}
    assert list(curves.columns) == runs
    assert curves.index.tolist() == sorted(set().union(*expected.values()))
    assert curves.index.tolist() == list(range(0, 30_001, 1000))
    stopped = 0
    for run in runs:
        for step, value in curves[run].items():
            if step in expected[run]:
                assert value == expected[run][step], (run, step)
            else:
                stopped += 1
                assert math.isnan(value) and step > max(expected[run]), (run, step)
        assert curves[run].iloc[0] > curves[run].dropna().iloc[-1]  # the loss falls
    assert stopped > 0  # a run that failed partway leaves the rest of its column empty
