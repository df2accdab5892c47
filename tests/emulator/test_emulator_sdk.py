"""Google's own client (google-cloud-aiplatform, REST transport) against the emulator.

The SDK is large, so it lives in its own environment (`tox -e sdk`, also run by `.ci/run`); in the
default environment this module is skipped as a whole.
"""

from __future__ import annotations

from typing import Any

import pytest

aiplatform = pytest.importorskip("google.cloud.aiplatform")
aiplatform_v1 = pytest.importorskip("google.cloud.aiplatform_v1")

from google.api_core import exceptions as api_exceptions  # noqa: E402
from google.api_core.client_options import ClientOptions  # noqa: E402
from google.auth.credentials import AnonymousCredentials  # noqa: E402
from google.protobuf import field_mask_pb2  # noqa: E402

import runs_dbapi  # noqa: E402
from runs_dbapi.emulator import Emulator  # noqa: E402

pytestmark = pytest.mark.emulator(demo=True, operation_polls=2)

LOCATION = "projects/demo-project/locations/us-central1"


@pytest.fixture(scope="module")
def client(module_emu: Emulator) -> Any:
    return aiplatform_v1.TensorboardServiceClient(
        credentials=AnonymousCredentials(),
        transport="rest",
        client_options=ClientOptions(api_endpoint=module_emu.url),
    )


@pytest.fixture(scope="module")
def experiment(client: Any) -> str:
    board = next(iter(client.list_tensorboards(parent=LOCATION))).name
    return f"{board}/experiments/resnet-sweep"


def test_list_pages_filter_and_order(client: Any, module_emu: Emulator, experiment: str) -> None:
    module_emu.reset_stats()
    request = {"parent": experiment, "page_size": 7, "filter": 'labels.optimizer = "adam"',
               "order_by": "create_time desc"}
    runs = list(client.list_tensorboard_runs(request=request))
    assert runs and all(run.labels["optimizer"] == "adam" for run in runs)
    times = [run.create_time for run in runs]
    assert times == sorted(times, reverse=True)
    assert module_emu.calls("runs.list") == -(-len(runs) // 7)
    # Names carry the project number, as the real service answers.
    assert runs[0].name.startswith("projects/") and runs[0].name.split("/")[1].isdigit()


def test_create_patch_write_read_delete(client: Any, experiment: str) -> None:
    run = client.create_tensorboard_run(
        parent=experiment,
        tensorboard_run=aiplatform_v1.TensorboardRun(display_name="SDK run", labels={"k": "v"}),
        tensorboard_run_id="sdk-run-1",
    )
    assert run.name.endswith("/runs/sdk-run-1") and run.labels == {"k": "v"} and run.etag
    run.display_name = "SDK run renamed"
    patched = client.update_tensorboard_run(
        tensorboard_run=run, update_mask=field_mask_pb2.FieldMask(paths=["display_name"])
    )
    assert patched.display_name == "SDK run renamed" and patched.etag != run.etag
    assert patched.update_time > run.update_time

    stale = aiplatform_v1.TensorboardRun(name=run.name, display_name="x", etag=run.etag)
    with pytest.raises(api_exceptions.Conflict, match="does not match server etag"):
        client.update_tensorboard_run(
            tensorboard_run=stale, update_mask=field_mask_pb2.FieldMask(paths=["display_name"])
        )

    scalar = aiplatform_v1.TensorboardTimeSeries.ValueType.SCALAR
    series = client.create_tensorboard_time_series(
        parent=run.name,
        tensorboard_time_series=aiplatform_v1.TensorboardTimeSeries(
            display_name="loss", value_type=scalar, plugin_name="scalars"),
    )
    assert series.value_type == scalar
    point = aiplatform_v1.TimeSeriesDataPoint(step=5, scalar=aiplatform_v1.Scalar(value=0.5))
    client.write_tensorboard_run_data(
        tensorboard_run=run.name,
        time_series_data=[aiplatform_v1.TimeSeriesData(
            tensorboard_time_series_id=series.name.rsplit("/", 1)[1], value_type=scalar,
            values=[point])],
    )
    read = client.read_tensorboard_time_series_data(tensorboard_time_series=series.name)
    assert [(p.step, p.scalar.value) for p in read.time_series_data.values] == [(5, 0.5)]

    operation = client.delete_tensorboard_run(name=run.name)
    assert not operation.done()  # operation_polls=2: the client must poll
    operation.result(timeout=30)
    assert operation.done()
    with pytest.raises(api_exceptions.NotFound):
        client.get_tensorboard_run(name=run.name)


def test_batch_create_in_request_order(client: Any, experiment: str) -> None:
    requests = [
        aiplatform_v1.CreateTensorboardRunRequest(
            parent=experiment, tensorboard_run=aiplatform_v1.TensorboardRun(display_name=f"b{i}"),
            tensorboard_run_id=f"sdk-batch-{i}")
        for i in range(3)
    ]
    created = client.batch_create_tensorboard_runs(parent=experiment, requests=requests)
    assert [r.name.rsplit("/", 1)[1] for r in created.tensorboard_runs] == [
        "sdk-batch-0", "sdk-batch-1", "sdk-batch-2"]


def test_duplicate_display_name_is_what_the_sdk_matches(client: Any, experiment: str) -> None:
    client.create_tensorboard_run(
        parent=experiment, tensorboard_run=aiplatform_v1.TensorboardRun(display_name="dup"),
        tensorboard_run_id="sdk-dup-1")
    with pytest.raises(api_exceptions.BadRequest, match="already exist"):
        client.create_tensorboard_run(
            parent=experiment, tensorboard_run=aiplatform_v1.TensorboardRun(display_name="dup"),
            tensorboard_run_id="sdk-dup-2")


def test_high_level_classes(module_emu: Emulator, experiment: str) -> None:
    aiplatform.init(project="demo-project", location="us-central1", api_endpoint=module_emu.url,
                    api_transport="rest", credentials=AnonymousCredentials())
    before = aiplatform.TensorboardRun.list(tensorboard_experiment_name=experiment)
    run = aiplatform.TensorboardRun.create(
        tensorboard_run_id="sdk-high-level", tensorboard_experiment_name=experiment,
        display_name="high level run")
    assert run.resource_name.endswith("/runs/sdk-high-level")
    after = aiplatform.TensorboardRun.list(tensorboard_experiment_name=experiment)
    assert len(after) == len(before) + 1
    run.delete()
    final = aiplatform.TensorboardRun.list(tensorboard_experiment_name=experiment)
    assert {r.resource_name for r in final} == {r.resource_name for r in before}


# -- time_series_data: the SDK on one side, the driver on the other ------------------------------


def _driver(module_emu: Emulator, experiment: str) -> Any:
    import runs_dbapi

    parts = experiment.split("/")
    return runs_dbapi.connect(endpoint=module_emu.url, anonymous=True, project=parts[1],
                              location=parts[3], tensorboard=parts[5], experiment=parts[7])


def test_the_driver_reads_points_the_sdk_wrote(client: Any, module_emu: Emulator,
                                               experiment: str) -> None:
    scalar = aiplatform_v1.TensorboardTimeSeries.ValueType.SCALAR
    series_ids: dict[str, str] = {}
    for run_id in ("sdk-points-a", "sdk-points-b"):
        run = client.create_tensorboard_run(
            parent=experiment, tensorboard_run=aiplatform_v1.TensorboardRun(display_name=run_id),
            tensorboard_run_id=run_id)
        series = client.create_tensorboard_time_series(
            parent=run.name, tensorboard_time_series=aiplatform_v1.TensorboardTimeSeries(
                display_name="loss", value_type=scalar, plugin_name="scalars"))
        series_ids[run_id] = series.name.rsplit("/", 1)[1]
    expected = {(run_id, step): 1.0 / (step + 1 + index)
                for index, run_id in enumerate(series_ids) for step in range(1500)}
    for start in range(0, 1500, 500):  # the experiment's write: both runs in each call
        client.write_tensorboard_experiment_data(
            tensorboard_experiment=experiment,
            write_run_data_requests=[aiplatform_v1.WriteTensorboardRunDataRequest(
                tensorboard_run=f"{experiment}/runs/{run_id}",
                time_series_data=[aiplatform_v1.TimeSeriesData(
                    tensorboard_time_series_id=series_id, value_type=scalar,
                    values=[aiplatform_v1.TimeSeriesDataPoint(
                        step=step, scalar=aiplatform_v1.Scalar(
                            value=expected[(run_id, step)]))
                        for step in range(start, start + 500)])])
                for run_id, series_id in series_ids.items()])
    cursor = _driver(module_emu, experiment).cursor()
    cursor.execute("SELECT runsId, step, scalar FROM time_series_data "
                   "WHERE runsId IN ('sdk-points-a', 'sdk-points-b') AND displayName = 'loss'")
    got = {(run_id, step): value for run_id, step, value in cursor.fetchall()}
    assert got == expected  # 3,000 points, past the read limit of 1,000 per series: whole


def test_the_sdk_reads_points_the_driver_wrote(client: Any, module_emu: Emulator,
                                               experiment: str) -> None:
    run_ids = ("driver-points-a", "driver-points-b")
    for run_id in run_ids:
        client.create_tensorboard_run(
            parent=experiment, tensorboard_run=aiplatform_v1.TensorboardRun(display_name=run_id),
            tensorboard_run_id=run_id)
    rows = [(run_id, name, step, (step + 1) / (len(name) + 7 * index + step + 2))
            for index, run_id in enumerate(run_ids) for name in ("loss", "accuracy")
            for step in range(3000)]
    cursor = _driver(module_emu, experiment).cursor()
    cursor.executemany("INSERT INTO time_series_data (runsId, displayName, step, wallTime, "
                       "scalar) VALUES (?, ?, ?, '2026-01-05T10:00:00Z', ?)", rows)
    assert cursor.rowcount == 12_000
    got: dict[tuple[str, str, int], float] = {}
    for run_id in run_ids:
        listed = list(client.list_tensorboard_time_series(
            parent=f"{experiment}/runs/{run_id}"))
        assert sorted(s.display_name for s in listed) == ["accuracy", "loss"]
        for series in listed:
            assert series.value_type == aiplatform_v1.TensorboardTimeSeries.ValueType.SCALAR
            assert series.plugin_name == "scalars"
            assert series.metadata.max_step == 2999
            for point in client.export_tensorboard_time_series_data(
                    request={"tensorboard_time_series": series.name, "page_size": 1000}):
                assert point.wall_time.isoformat().startswith("2026-01-05T10:00:00")
                got[(run_id, series.display_name, point.step)] = point.scalar.value
    assert got == {(r, n, s): v for r, n, s, v in rows}


# -- the driver's writes of tensorboards, experiments and time series, and the SDK's -----------


def _sql(module_emu: Emulator, **path: str) -> Any:
    return runs_dbapi.connect(project="demo-project", location="us-central1",
                              endpoint=module_emu.url, **path)


def test_the_sdk_sees_what_the_driver_creates_updates_and_deletes(client: Any,
                                                                 module_emu: Emulator) -> None:
    with _sql(module_emu) as connection:
        cursor = connection.cursor()
        cursor.execute("INSERT INTO tensorboards (displayName, description) "
                       "VALUES ('made by sql', 'one') RETURNING tensorboardsId, name")
        board_id, board_name = cursor.fetchone()
        assert client.get_tensorboard(name=board_name).display_name == "made by sql"
        cursor.execute("INSERT INTO experiments (tensorboardsId, tensorboardExperimentId, "
                       "displayName, labels) VALUES (?, 'from-sql', 'exp', ?)",
                       [board_id, {"team": "sdk"}])
        experiment = client.get_tensorboard_experiment(
            name=f"{board_name}/experiments/from-sql")
        assert experiment.display_name == "exp" and experiment.labels == {"team": "sdk"}
        cursor.execute("INSERT INTO runs (tensorboardsId, experimentsId, runsId, displayName) "
                       "VALUES (?, 'from-sql', 'r', 'r')", [board_id])
        cursor.execute("INSERT INTO time_series (tensorboardsId, experimentsId, runsId, "
                       "displayName, valueType, pluginName) VALUES "
                       "(?, 'from-sql', 'r', 'loss', 'SCALAR', 'scalars') RETURNING name",
                       [board_id])
        (series_name,) = cursor.fetchone()
        series = client.get_tensorboard_time_series(name=series_name)
        assert series.display_name == "loss"
        assert series.value_type == aiplatform_v1.TensorboardTimeSeries.ValueType.SCALAR
        cursor.execute("UPDATE tensorboards SET description = 'two' WHERE tensorboardsId = ?",
                       [board_id])
        cursor.execute("UPDATE experiments SET description = 'changed' WHERE tensorboardsId = ? "
                       "AND experimentsId = 'from-sql'", [board_id])
        assert client.get_tensorboard(name=board_name).description == "two"
        assert client.get_tensorboard_experiment(
            name=f"{board_name}/experiments/from-sql").description == "changed"
        cursor.execute("DELETE FROM tensorboards WHERE tensorboardsId = ?", [board_id])
        assert cursor.rowcount == 1
    with pytest.raises(api_exceptions.NotFound):
        client.get_tensorboard(name=board_name)


def test_the_driver_reads_what_the_sdk_creates(client: Any, module_emu: Emulator) -> None:
    operation = client.create_tensorboard(parent=LOCATION, tensorboard=aiplatform_v1.Tensorboard(
        display_name="made by the sdk", labels={"by": "sdk"}))
    board = operation.result(timeout=30)
    board_id = board.name.rsplit("/", 1)[1]
    client.create_tensorboard_experiment(
        parent=board.name, tensorboard_experiment=aiplatform_v1.TensorboardExperiment(
            display_name="sdk exp"), tensorboard_experiment_id="sdk-exp")
    with _sql(module_emu, tensorboard=board_id) as connection:
        cursor = connection.cursor()
        cursor.execute("SELECT displayName, labels, isDefault FROM tensorboards "
                       "WHERE tensorboardsId = ?", [board_id])
        assert cursor.fetchall() == [("made by the sdk", {"by": "sdk"}, False)]
        cursor.execute("SELECT experimentsId, displayName FROM experiments")
        assert cursor.fetchall() == [("sdk-exp", "sdk exp")]
        cursor.execute("DELETE FROM experiments WHERE experimentsId = 'sdk-exp'")
        assert cursor.rowcount == 1
    assert list(client.list_tensorboard_experiments(parent=board.name)) == []
