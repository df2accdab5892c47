"""The emulator's resource methods, exercised over real HTTP on loopback.

Every test talks to a fresh `Emulator()` through `requests`, exactly as a client would; the only
in-process access is to the call counters (`emu.calls`). The behaviour checked is the one written
down in shared/reference/vertex-tensorboard-api.md (methods, validation rules, AIP-154 etags,
AIP-193 errors, proto3 JSON) plus the emulator's documented choices (choices.py).
"""

from __future__ import annotations

import itertools
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from runs_dbapi.emulator import Emulator

PROJECT = "test-project"

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
NUMERIC_NAME = re.compile(r"^projects/\d+/locations/[a-z0-9-]+/tensorboards/\d+$")
SYSTEM_LABEL = "aiplatform.googleapis.com/pipeline_job_id"

Json = dict[str, Any]


# -- helpers ---------------------------------------------------------------------------------


class Client:
    """A small JSON client for `/v1/` resource paths over one `requests.Session`.

    `location` is the `projects/{id}/locations/{l}` its test works in.
    """

    def __init__(self, base_url: str, location: str = "") -> None:
        self.base_url = base_url
        self.location = location
        self.http = requests.Session()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def call(
        self, method: str, path: str, body: Any = None, params: Any = None
    ) -> requests.Response:
        return self.http.request(
            method, f"{self.base_url}/v1/{path}", json=body, params=params, timeout=60
        )

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.call("GET", path, params=params)

    def post(self, path: str, body: Any = None, **params: Any) -> requests.Response:
        return self.call("POST", path, {} if body is None else body, params)

    def patch(self, path: str, body: Any, **params: Any) -> requests.Response:
        return self.call("PATCH", path, body, params)

    def delete(self, path: str) -> requests.Response:
        return self.call("DELETE", path)


def ok(response: requests.Response) -> Json:
    """The JSON body of a 200 answer (the assertion shows the error body otherwise)."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, dict)
    return body


def assert_error(
    response: requests.Response, http_status: int, status: str, contains: str | None = None
) -> str:
    """Check an AIP-193 error: HTTP status, `{"error": {"code", "message", "status"}}`."""
    assert response.status_code == http_status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["error"], body
    error = body["error"]
    assert {"code", "message", "status"} <= set(error), error
    assert error["code"] == http_status
    assert error["status"] == status
    assert isinstance(error["message"], str)
    assert error["message"]
    if contains is not None:
        assert contains in error["message"], error["message"]
    return str(error["message"])


def leaf(name: str) -> str:
    return name.rsplit("/", 1)[1]


def with_project_id(name: str) -> str:
    """The same resource name spelled with the project ID instead of the number."""
    parts = name.split("/")
    parts[1] = PROJECT
    return "/".join(parts)


def make_tensorboard(client: Client, display_name: str = "tb", **fields: Any) -> str:
    operation = ok(client.post(f"{client.location}/tensorboards",
                               {"displayName": display_name, **fields}))
    return str(operation["response"]["name"])


def make_experiment(client: Client, tensorboard: str, experiment_id: str = "exp",
                    **fields: Any) -> str:
    created = ok(client.post(f"{tensorboard}/experiments", fields,
                             tensorboardExperimentId=experiment_id))
    return str(created["name"])


def create_run(client: Client, experiment: str, run_id: str, display_name: str | None = None,
               **fields: Any) -> requests.Response:
    body = {"displayName": run_id if display_name is None else display_name, **fields}
    return client.post(f"{experiment}/runs", body, tensorboardRunId=run_id)


def make_run(client: Client, experiment: str, run_id: str, **fields: Any) -> Json:
    return ok(create_run(client, experiment, run_id, **fields))


def make_series(client: Client, run: str, series_id: str | None = "loss",
                display_name: str = "loss", value_type: Any = "SCALAR") -> Json:
    params = {} if series_id is None else {"tensorboardTimeSeriesId": series_id}
    body = {"displayName": display_name, "valueType": value_type, "pluginName": "scalars"}
    return ok(client.post(f"{run}/timeSeries", body, **params))


def scalar_points(steps: Any, value: Callable[[int], float] = lambda s: s / 10) -> list[Json]:
    return [
        {"step": str(step), "wallTime": f"2024-05-01T12:00:{step % 60:02d}.123Z",
         "scalar": {"value": value(step)}}
        for step in steps
    ]


def write(client: Client, run: str, series_id: str, points: list[Json],
          value_type: Any = "SCALAR") -> requests.Response:
    return client.post(f"{run}:write", {"timeSeriesData": [
        {"tensorboardTimeSeriesId": series_id, "valueType": value_type, "values": points}
    ]})


def read_steps(client: Client, series: str, **params: Any) -> list[int]:
    data = ok(client.get(f"{series}:read", **params))["timeSeriesData"]
    return [int(point["step"]) for point in data.get("values", [])]


def list_all(client: Client, parent: str, collection: str, field: str) -> list[Json]:
    items: list[Json] = []
    params: Json = {"pageSize": 1000}
    while True:
        page = ok(client.get(f"{parent}/{collection}", **params))
        items += page.get(field, [])
        if "nextPageToken" not in page:
            return items
        params["pageToken"] = page["nextPageToken"]


def run_ids(client: Client, experiment: str) -> list[str]:
    return [leaf(run["name"]) for run in list_all(client, experiment, "runs", "tensorboardRuns")]


def assert_done_operation(operation: Json, target: str, metadata_type: str) -> None:
    assert operation["name"].startswith(target + "/operations/")
    assert leaf(operation["name"]).isdigit()
    assert operation["done"] is True
    assert operation["metadata"]["@type"] == (
        f"type.googleapis.com/google.cloud.aiplatform.v1.{metadata_type}"
    )
    generic = operation["metadata"]["genericMetadata"]
    assert TIMESTAMP.match(generic["createTime"])
    assert TIMESTAMP.match(generic["updateTime"])
    assert "error" not in operation


def run_together(count: int, task: Callable[[int, threading.Barrier], Any]) -> list[Any]:
    """Run `task(i, barrier)` in `count` threads that pass one barrier together; re-raise."""
    barrier = threading.Barrier(count)
    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(task, index, barrier) for index in range(count)]
        return [future.result(timeout=60) for future in futures]


# -- fixtures --------------------------------------------------------------------------------


# One emulator serves the module (stopping one takes half a second); every test works in a
# location of its own, so no test sees another's resources.
_LOCATIONS = itertools.count(1)


@pytest.fixture
def client(module_emu: Emulator) -> Iterator[Client]:
    module_emu.reset_stats()
    location = f"projects/{PROJECT}/locations/test-{next(_LOCATIONS)}"
    with Client(module_emu.url, location) as http_client:
        yield http_client


@pytest.fixture
def tb(client: Client) -> str:
    return make_tensorboard(client)


@pytest.fixture
def exp(client: Client, tb: str) -> str:
    return make_experiment(client, tb)


@pytest.fixture
def run(client: Client, exp: str) -> str:
    return str(make_run(client, exp, "r1", description="first run")["name"])


@pytest.fixture
def series(client: Client, run: str) -> str:
    return str(make_series(client, run)["name"])


# -- runs: methods ---------------------------------------------------------------------------


def test_run_create_returns_the_run_not_an_operation(client: Client, exp: str) -> None:
    created = make_run(client, exp, "run-1", display_name="My Run", description="d",
                       labels={"k": "v"})
    assert created["name"] == f"{exp}/runs/run-1"
    assert created["displayName"] == "My Run"
    assert created["description"] == "d"
    assert created["labels"] == {"k": "v"}
    assert created["etag"]
    assert created["createTime"] == created["updateTime"]
    assert "done" not in created


def test_run_get_returns_what_create_returned(client: Client, exp: str) -> None:
    created = make_run(client, exp, "run-1", description="d")
    assert ok(client.get(created["name"])) == created


def test_run_get_unknown_is_not_found(client: Client, exp: str) -> None:
    assert_error(client.get(f"{exp}/runs/nope"), 404, "NOT_FOUND")


def test_run_list_pages_in_creation_order(client: Client, exp: str) -> None:
    for run_id in ("c", "a", "e", "b", "d"):
        make_run(client, exp, run_id)
    first = ok(client.get(f"{exp}/runs", pageSize=2))
    assert [leaf(r["name"]) for r in first["tensorboardRuns"]] == ["c", "a"]
    second = ok(client.get(f"{exp}/runs", pageSize=2, pageToken=first["nextPageToken"]))
    assert [leaf(r["name"]) for r in second["tensorboardRuns"]] == ["e", "b"]
    last = ok(client.get(f"{exp}/runs", pageSize=2, pageToken=second["nextPageToken"]))
    assert [leaf(r["name"]) for r in last["tensorboardRuns"]] == ["d"]
    assert "nextPageToken" not in last


def test_run_list_filters_and_orders(client: Client, exp: str) -> None:
    for run_id in ("a", "b", "c"):
        make_run(client, exp, run_id, labels={"team": "x" if run_id != "b" else "y"})
    found = ok(client.get(f"{exp}/runs", filter='labels.team = "x"', orderBy="display_name desc"))
    assert [r["displayName"] for r in found["tensorboardRuns"]] == ["c", "a"]
    only = ok(client.get(f"{exp}/runs", filter='display_name = "b"'))
    assert [r["displayName"] for r in only["tensorboardRuns"]] == ["b"]


def test_run_list_of_an_empty_experiment_has_no_fields(client: Client, exp: str) -> None:
    assert ok(client.get(f"{exp}/runs")) == {}


def test_run_list_under_missing_experiment_is_not_found(client: Client, tb: str) -> None:
    assert_error(client.get(f"{tb}/experiments/missing/runs"), 404, "NOT_FOUND")


def test_run_delete_returns_a_done_operation_and_removes_the_run(client: Client, run: str) -> None:
    operation = ok(client.delete(run))
    assert_done_operation(operation, run, "DeleteOperationMetadata")
    assert operation["response"] == {"@type": "type.googleapis.com/google.protobuf.Empty"}
    assert_error(client.get(run), 404, "NOT_FOUND")
    assert ok(client.get(operation["name"]))["done"] is True


def test_run_delete_unknown_is_not_found(client: Client, exp: str) -> None:
    assert_error(client.delete(f"{exp}/runs/nope"), 404, "NOT_FOUND")


def test_run_delete_removes_its_time_series_and_points(
    client: Client, exp: str, run: str, series: str
) -> None:
    ok(write(client, run, "loss", scalar_points(range(3))))
    ok(client.delete(run))
    assert_error(client.get(series), 404, "NOT_FOUND")
    make_run(client, exp, "r1")
    make_series(client, run)
    assert read_steps(client, series) == []


def test_run_delete_leaves_a_sibling_with_a_longer_id(client: Client, exp: str) -> None:
    make_run(client, exp, "r1")
    sibling = make_run(client, exp, "r1-b")
    make_series(client, sibling["name"])
    ok(client.delete(f"{exp}/runs/r1"))
    assert ok(client.get(sibling["name"]))["displayName"] == "r1-b"
    assert ok(client.get(f"{sibling['name']}/timeSeries/loss"))["displayName"] == "loss"


# -- runs: IDs, display names, parents ---------------------------------------------------------


@pytest.mark.parametrize(
    "run_id",
    ["a" * 128, "r", "9lives", str(uuid.UUID(int=0x1234)), "run-1-2", "0"],
    ids=["128-chars", "one-char", "leading-digit", "uuid", "hyphens", "single-digit"],
)
def test_run_id_accepted(client: Client, exp: str, run_id: str) -> None:
    created = make_run(client, exp, run_id, display_name="x")
    assert created["name"] == f"{exp}/runs/{run_id}"
    assert ok(client.get(created["name"]))["name"] == created["name"]


@pytest.mark.parametrize(
    "run_id",
    ["a" * 129, "Run", "runA", "run_1", "run.1", "run 1", "run\n", "rün"],
    ids=["129-chars", "capital-first", "capital-inside", "underscore", "dot", "space",
         "trailing-newline", "non-ascii"],
)
def test_run_id_rejected(client: Client, exp: str, run_id: str) -> None:
    response = client.post(f"{exp}/runs", {"displayName": "x"}, tensorboardRunId=run_id)
    assert_error(response, 400, "INVALID_ARGUMENT", contains="tensorboard_run_id")
    assert run_ids(client, exp) == []


@pytest.mark.parametrize("params", [{}, {"tensorboardRunId": ""}], ids=["missing", "empty"])
def test_run_id_required(client: Client, exp: str, params: Json) -> None:
    response = client.post(f"{exp}/runs", {"displayName": "x"}, **params)
    assert_error(response, 400, "INVALID_ARGUMENT", contains="tensorboard_run_id")
    assert run_ids(client, exp) == []


@pytest.mark.parametrize("body", [{}, {"displayName": ""}, {"description": "d"}],
                         ids=["empty-body", "empty-name", "no-name"])
def test_run_display_name_required(client: Client, exp: str, body: Json) -> None:
    response = client.post(f"{exp}/runs", body, tensorboardRunId="r1")
    assert_error(response, 400, "INVALID_ARGUMENT", contains="displayName")
    assert_error(client.get(f"{exp}/runs/r1"), 404, "NOT_FOUND")


def test_run_duplicate_display_name_in_experiment_is_invalid(client: Client, exp: str) -> None:
    make_run(client, exp, "r1", display_name="same")
    response = create_run(client, exp, "r2", display_name="same")
    assert_error(response, 400, "INVALID_ARGUMENT", contains="already exist")
    assert run_ids(client, exp) == ["r1"]


def test_run_same_display_name_in_another_experiment_is_fine(
    client: Client, tb: str, exp: str
) -> None:
    other = make_experiment(client, tb, "other")
    make_run(client, exp, "r1", display_name="same")
    created = make_run(client, other, "r2", display_name="same")
    assert created["displayName"] == "same"


def test_run_duplicate_id_is_already_exists(client: Client, exp: str) -> None:
    original = make_run(client, exp, "r1", display_name="one")
    response = create_run(client, exp, "r1", display_name="two")
    assert_error(response, 409, "ALREADY_EXISTS")
    assert ok(client.get(original["name"])) == original


def test_run_create_under_missing_experiment_is_not_found(client: Client, tb: str) -> None:
    response = create_run(client, f"{tb}/experiments/missing", "r1")
    assert_error(response, 404, "NOT_FOUND")


def test_run_create_under_missing_tensorboard_is_not_found(client: Client) -> None:
    response = create_run(client, f"{client.location}/tensorboards/404/experiments/e", "r1")
    assert_error(response, 404, "NOT_FOUND")


def test_run_create_with_unknown_field_is_invalid(client: Client, exp: str) -> None:
    response = client.post(f"{exp}/runs", {"displayName": "x", "colour": "red"},
                           tensorboardRunId="r1")
    assert_error(response, 400, "INVALID_ARGUMENT", contains="colour")


def test_run_create_accepts_proto_field_names(client: Client, exp: str) -> None:
    response = client.post(f"{exp}/runs", {"display_name": "snake", "description": "d"},
                           tensorboardRunId="r1")
    created = ok(response)
    assert (created["displayName"], created["description"]) == ("snake", "d")
    assert "display_name" not in created


def test_run_create_ignores_output_only_fields(client: Client, exp: str) -> None:
    created = make_run(client, exp, "r1", name="projects/x/elsewhere",
                       createTime="2001-01-01T00:00:00Z")
    assert created["name"] == f"{exp}/runs/r1"
    assert not created["createTime"].startswith("2001")


# -- runs: labels ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "labels",
    [
        {"Key": "v"},
        {"1key": "v"},
        {"k" * 65: "v"},
        {"k": "v" * 65},
        {"ключ" * 16 + "й": "v"},
        {f"k{i}": "v" for i in range(65)},
        {"k": "Value"},
        {"k.y": "v"},
        {"": "v"},
    ],
    ids=["uppercase-key", "key-leading-digit", "65-char-key", "65-char-value",
         "65-codepoint-key", "65-labels",
         "uppercase-value", "dot-in-key", "empty-key"],
)
def test_run_labels_rejected(client: Client, exp: str, labels: Json) -> None:
    response = create_run(client, exp, "r1", labels=labels)
    assert_error(response, 400, "INVALID_ARGUMENT")
    assert run_ids(client, exp) == []


@pytest.mark.parametrize(
    "labels",
    [
        {"k" * 64: "v" * 64},
        {"ключ" * 16: "é" * 64},
        {f"k{i}": "v" for i in range(64)},
        {"ключ": "значение", "ラベル": "値", "clé": "été"},
        {"k": ""},
        {"a_b-c9": "x_y-z0"},
        {SYSTEM_LABEL: "123", **{f"k{i}": "v" for i in range(64)}},
    ],
    ids=["64-char-key-and-value", "64-codepoint-key-and-value", "64-labels", "international",
         "empty-value", "punctuation", "system-label-not-counted"],
)
def test_run_labels_accepted(client: Client, exp: str, labels: Json) -> None:
    created = make_run(client, exp, "r1", labels=labels)
    assert created["labels"] == labels
    assert ok(client.get(created["name"]))["labels"] == labels


def test_run_system_label_allowed_at_create(client: Client, exp: str) -> None:
    created = make_run(client, exp, "r1", labels={SYSTEM_LABEL: "123", "k": "v"})
    assert created["labels"] == {SYSTEM_LABEL: "123", "k": "v"}


@pytest.mark.parametrize(
    "labels",
    [{SYSTEM_LABEL: "456", "k": "v"},
     {"aiplatform.googleapis.com/other": "x", SYSTEM_LABEL: "123"}],
    ids=["change-value", "add-key"],
)
def test_run_system_label_immutable_on_patch(client: Client, exp: str, labels: Json) -> None:
    created = make_run(client, exp, "r1", labels={SYSTEM_LABEL: "123", "k": "v"})
    response = client.patch(created["name"], {"labels": labels}, updateMask="labels")
    assert_error(response, 400, "INVALID_ARGUMENT", contains="aiplatform.googleapis.com/")
    assert ok(client.get(created["name"])) == created


def test_run_patch_labels_keeps_system_labels_it_leaves_out(client: Client, exp: str) -> None:
    created = make_run(client, exp, "r1", labels={SYSTEM_LABEL: "123", "k": "v"})
    patched = ok(client.patch(created["name"], {"labels": {"n": "m"}}, updateMask="labels"))
    assert patched["labels"] == {SYSTEM_LABEL: "123", "n": "m"}


def test_run_patch_with_invalid_label_is_rejected(client: Client, run: str) -> None:
    before = ok(client.get(run))
    response = client.patch(run, {"labels": {"Bad": "v"}}, updateMask="labels")
    assert_error(response, 400, "INVALID_ARGUMENT")
    assert ok(client.get(run)) == before


# -- runs: batchCreate -------------------------------------------------------------------------


def batch_request(exp: str, run_id: str, display_name: str | None = None, **fields: Any) -> Json:
    return {"parent": exp, "tensorboardRunId": run_id,
            "tensorboardRun": {"displayName": display_name or run_id, **fields}}


def test_batch_create_answers_in_request_order(client: Client, module_emu: Emulator,
                                               exp: str) -> None:
    order = ["c", "a", "d", "b"]
    answer = ok(client.post(f"{exp}/runs:batchCreate",
                            {"requests": [batch_request(exp, r, labels={"n": r}) for r in order]}))
    runs = answer["tensorboardRuns"]
    assert [r["name"] for r in runs] == [f"{exp}/runs/{r}" for r in order]
    assert [r["labels"] for r in runs] == [{"n": r} for r in order]
    assert all(r["etag"] and TIMESTAMP.match(r["createTime"]) for r in runs)
    assert run_ids(client, exp) == order
    assert module_emu.calls("runs.batchCreate") == 1
    assert module_emu.calls("runs.create") == 0


def test_batch_create_of_1000_runs_is_allowed(client: Client, exp: str) -> None:
    requests_ = [batch_request(exp, f"r{i}") for i in range(1000)]
    answer = ok(client.post(f"{exp}/runs:batchCreate", {"requests": requests_}))
    assert len(answer["tensorboardRuns"]) == 1000
    assert len(run_ids(client, exp)) == 1000


def test_batch_create_of_1001_runs_is_invalid(client: Client, exp: str) -> None:
    requests_ = [batch_request(exp, f"r{i}") for i in range(1001)]
    assert_error(client.post(f"{exp}/runs:batchCreate", {"requests": requests_}),
                 400, "INVALID_ARGUMENT", contains="1000")
    assert run_ids(client, exp) == []


@pytest.mark.parametrize("parent_of", [
    lambda exp: exp.rsplit("/", 1)[0] + "/other",
    lambda exp: "",
    lambda exp: None,
], ids=["other-experiment", "empty", "missing"])
def test_batch_create_parent_mismatch_is_invalid(
    client: Client, exp: str, parent_of: Callable[[str], str | None]
) -> None:
    bad = batch_request(exp, "b")
    if parent_of(exp) is None:
        del bad["parent"]
    else:
        bad["parent"] = parent_of(exp)
    response = client.post(f"{exp}/runs:batchCreate",
                           {"requests": [batch_request(exp, "a"), bad]})
    assert_error(response, 400, "INVALID_ARGUMENT", contains="parent")
    assert run_ids(client, exp) == []


def test_batch_create_parent_spelled_with_project_id_matches(client: Client, exp: str) -> None:
    by_id = with_project_id(exp)
    answer = ok(client.post(f"{by_id}/runs:batchCreate",
                            {"requests": [batch_request(by_id, "a")]}))
    assert [r["name"] for r in answer["tensorboardRuns"]] == [f"{exp}/runs/a"]


@pytest.mark.parametrize(
    ("bad", "http_status", "status"),
    [
        (lambda exp: batch_request(exp, "Bad-ID"), 400, "INVALID_ARGUMENT"),
        (lambda exp: batch_request(exp, "z", labels={"Up": "v"}), 400, "INVALID_ARGUMENT"),
        (lambda exp: {"parent": exp, "tensorboardRunId": "z", "tensorboardRun": {}},
         400, "INVALID_ARGUMENT"),
        (lambda exp: batch_request(exp, "z", display_name="a"), 400, "INVALID_ARGUMENT"),
        (lambda exp: batch_request(exp, "existing", display_name="fresh"), 409, "ALREADY_EXISTS"),
        (lambda exp: batch_request(exp, "a", display_name="fresh"), 409, "ALREADY_EXISTS"),
        (lambda exp: batch_request(exp, "z", display_name="old"), 400, "INVALID_ARGUMENT"),
    ],
    ids=["bad-id", "bad-label", "no-display-name", "display-name-repeated-in-batch",
         "existing-id", "id-repeated-in-batch", "existing-display-name"],
)
def test_batch_create_is_all_or_nothing(
    client: Client, exp: str, bad: Callable[[str], Json], http_status: int, status: str
) -> None:
    make_run(client, exp, "existing", display_name="old")
    batch = [batch_request(exp, "a"), batch_request(exp, "b"), bad(exp)]
    response = client.post(f"{exp}/runs:batchCreate", {"requests": batch})
    assert_error(response, http_status, status)
    assert run_ids(client, exp) == ["existing"]


def test_batch_create_under_missing_experiment_is_not_found(client: Client, tb: str) -> None:
    missing = f"{tb}/experiments/missing"
    response = client.post(f"{missing}/runs:batchCreate",
                           {"requests": [batch_request(missing, "a")]})
    assert_error(response, 404, "NOT_FOUND")


# -- runs: patch -------------------------------------------------------------------------------


@pytest.mark.parametrize("mask", ["displayName", "display_name"], ids=["camel", "snake"])
def test_run_patch_mask_names_the_fields_changed(client: Client, run: str, mask: str) -> None:
    patched = ok(client.patch(run, {"displayName": "new", "description": "ignored"},
                              updateMask=mask))
    assert patched["displayName"] == "new"
    assert patched["description"] == "first run"
    assert ok(client.get(run)) == patched


def test_run_patch_mask_with_several_paths(client: Client, run: str) -> None:
    patched = ok(client.patch(run, {"displayName": "new", "labels": {"a": "b"}},
                              updateMask="display_name,labels"))
    assert (patched["displayName"], patched["labels"]) == ("new", {"a": "b"})


def test_run_patch_masked_field_absent_from_body_is_cleared(client: Client, run: str) -> None:
    patched = ok(client.patch(run, {}, updateMask="description"))
    assert "description" not in patched
    assert "description" not in ok(client.get(run))
    assert patched["displayName"] == "r1"


def test_run_patch_masked_labels_absent_from_body_are_cleared(client: Client, exp: str) -> None:
    created = make_run(client, exp, "r2", labels={"a": "1"})
    patched = ok(client.patch(created["name"], {}, updateMask="labels"))
    assert "labels" not in patched


def test_run_patch_clearing_display_name_is_invalid(client: Client, run: str) -> None:
    before = ok(client.get(run))
    assert_error(client.patch(run, {}, updateMask="displayName"), 400, "INVALID_ARGUMENT")
    assert ok(client.get(run)) == before


def test_run_patch_without_mask_overwrites_present_non_empty_fields(
    client: Client, exp: str
) -> None:
    created = make_run(client, exp, "r2", description="old", labels={"a": "1"})
    patched = ok(client.patch(created["name"], {"displayName": "", "description": "new"}))
    assert patched["displayName"] == "r2"
    assert patched["description"] == "new"
    assert patched["labels"] == {"a": "1"}


def test_run_patch_labels_in_mask_replace_the_whole_map(client: Client, exp: str) -> None:
    created = make_run(client, exp, "r2", labels={"a": "1", "b": "2"})
    patched = ok(client.patch(created["name"], {"labels": {"c": "3"}}, updateMask="labels"))
    assert patched["labels"] == {"c": "3"}


@pytest.mark.parametrize(
    "mask",
    ["createTime", "update_time", "name", "etag", "bogus", "displayName,bogus"],
)
def test_run_patch_mask_of_output_only_or_unknown_field_is_invalid(
    client: Client, run: str, mask: str
) -> None:
    before = ok(client.get(run))
    response = client.patch(run, {"displayName": "new"}, updateMask=mask)
    assert_error(response, 400, "INVALID_ARGUMENT")
    assert ok(client.get(run)) == before


def test_run_patch_to_a_taken_display_name_is_invalid(client: Client, exp: str, run: str) -> None:
    make_run(client, exp, "r2", display_name="taken")
    response = client.patch(run, {"displayName": "taken"}, updateMask="displayName")
    assert_error(response, 400, "INVALID_ARGUMENT", contains="already exist")
    assert ok(client.get(run))["displayName"] == "r1"


def test_run_patch_keeping_its_own_display_name_is_fine(client: Client, run: str) -> None:
    assert ok(client.patch(run, {"displayName": "r1"}))["displayName"] == "r1"


def test_run_patch_unknown_run_is_not_found(client: Client, exp: str) -> None:
    response = client.patch(f"{exp}/runs/nope", {"displayName": "x"}, updateMask="displayName")
    assert_error(response, 404, "NOT_FOUND")


def test_run_every_change_gets_a_new_etag_and_later_update_time(client: Client, run: str) -> None:
    created = ok(client.get(run))
    versions = [created]
    for index in range(4):
        versions.append(ok(client.patch(run, {"description": f"v{index}"})))
    etags = [v["etag"] for v in versions]
    updates = [v["updateTime"] for v in versions]
    assert len(set(etags)) == len(etags)
    assert updates == sorted(updates)
    assert len(set(updates)) == len(updates)
    assert {v["createTime"] for v in versions} == {created["createTime"]}
    assert ok(client.get(run)) == versions[-1]


def test_run_patch_with_stale_etag_is_aborted_and_changes_nothing(
    client: Client, run: str
) -> None:
    stale = ok(client.get(run))["etag"]
    current = ok(client.patch(run, {"description": "moved on"}))
    response = client.patch(run, {"displayName": "lost", "etag": stale}, updateMask="displayName")
    assert_error(response, 409, "ABORTED", contains="etag")
    assert ok(client.get(run)) == current


def test_run_patch_with_current_etag_succeeds(client: Client, run: str) -> None:
    current = ok(client.get(run))
    patched = ok(client.patch(run, {"displayName": "won", "etag": current["etag"]},
                              updateMask="displayName"))
    assert patched["displayName"] == "won"
    assert patched["etag"] != current["etag"]


# -- proto3 JSON output ------------------------------------------------------------------------


def test_output_omits_empty_defaults_and_uses_camel_case(client: Client, exp: str) -> None:
    created = make_run(client, exp, "r1", description="", labels={})
    assert set(created) == {"name", "displayName", "createTime", "updateTime", "etag"}
    for resource in (created, ok(client.get(exp)), ok(client.get(exp.rsplit("/", 2)[0]))):
        assert all("_" not in key for key in resource), resource


def test_output_timestamps_are_rfc3339_utc_with_microseconds(
    client: Client, tb: str, exp: str, run: str, series: str
) -> None:
    for name in (tb, exp, run, series):
        resource = ok(client.get(name))
        assert TIMESTAMP.match(resource["createTime"]), resource
        assert TIMESTAMP.match(resource["updateTime"]), resource


def test_names_use_the_project_number(client: Client, tb: str, exp: str, run: str) -> None:
    number = tb.split("/")[1]
    assert number.isdigit()
    assert number != PROJECT
    assert NUMERIC_NAME.match(tb)
    location = client.location.split("/")[-1]
    for name in (exp, run):
        assert name.startswith(f"projects/{number}/locations/{location}/tensorboards/")


def test_requests_by_project_id_and_by_number_reach_the_same_run(
    client: Client, exp: str, run: str
) -> None:
    by_number = ok(client.get(run))
    by_id = ok(client.get(with_project_id(run)))
    assert by_id == by_number
    assert by_id["name"] == run
    created = make_run(client, with_project_id(exp), "r2")
    assert created["name"] == f"{exp}/runs/r2"
    assert ok(client.get(f"{exp}/runs/r2"))["name"] == created["name"]


def test_time_series_value_type_is_a_name_unless_ints_are_asked_for(
    client: Client, series: str
) -> None:
    assert ok(client.get(series))["valueType"] == "SCALAR"
    as_int = ok(client.get(series, **{"$alt": "json;enum-encoding=int"}))
    assert as_int["valueType"] == 1


# -- experiments -------------------------------------------------------------------------------


def test_experiment_create_get_and_list(client: Client, tb: str) -> None:
    created = ok(client.post(f"{tb}/experiments", {"displayName": "E", "description": "d"},
                             tensorboardExperimentId="exp-1"))
    assert created["name"] == f"{tb}/experiments/exp-1"
    assert (created["displayName"], created["description"]) == ("E", "d")
    assert created["etag"]
    assert ok(client.get(created["name"])) == created
    make_experiment(client, tb, "exp-2")
    listed = ok(client.get(f"{tb}/experiments"))
    assert [leaf(e["name"]) for e in listed["tensorboardExperiments"]] == ["exp-1", "exp-2"]
    paged = ok(client.get(f"{tb}/experiments", pageSize=1))
    assert len(paged["tensorboardExperiments"]) == 1
    assert paged["nextPageToken"]


def test_experiment_display_name_is_optional(client: Client, tb: str) -> None:
    created = ok(client.post(f"{tb}/experiments", {}, tensorboardExperimentId="e"))
    assert "displayName" not in created


@pytest.mark.parametrize(
    ("params", "contains"),
    [({}, "tensorboard_experiment_id"), ({"tensorboardExperimentId": ""}, None),
     ({"tensorboardExperimentId": "Exp"}, None), ({"tensorboardExperimentId": "e" * 129}, None)],
    ids=["missing", "empty", "uppercase", "129-chars"],
)
def test_experiment_id_rules(client: Client, tb: str, params: Json, contains: str | None) -> None:
    response = client.post(f"{tb}/experiments", {}, **params)
    assert_error(response, 400, "INVALID_ARGUMENT", contains=contains)
    assert ok(client.get(f"{tb}/experiments")) == {}


def test_experiment_duplicate_id_is_already_exists(client: Client, tb: str, exp: str) -> None:
    response = client.post(f"{tb}/experiments", {}, tensorboardExperimentId=leaf(exp))
    assert_error(response, 409, "ALREADY_EXISTS")


def test_experiment_under_missing_tensorboard_is_not_found(client: Client) -> None:
    response = client.post(f"{client.location}/tensorboards/123/experiments", {},
                           tensorboardExperimentId="e")
    assert_error(response, 404, "NOT_FOUND")


def test_experiment_patch(client: Client, tb: str) -> None:
    name = make_experiment(client, tb, "e", displayName="E", description="d", labels={"a": "1"})
    before = ok(client.get(name))
    patched = ok(client.patch(name, {"description": "new", "displayName": "ignored"},
                              updateMask="description"))
    assert (patched["displayName"], patched["description"]) == ("E", "new")
    assert patched["etag"] != before["etag"]
    assert patched["updateTime"] > before["updateTime"]
    assert "done" not in patched
    cleared = ok(client.patch(name, {}, updateMask="labels,description"))
    assert "labels" not in cleared
    assert "description" not in cleared
    assert_error(client.patch(name, {"source": "x"}, updateMask="source"), 400,
                 "INVALID_ARGUMENT")
    assert_error(client.patch(name, {"description": "x", "etag": before["etag"]}), 409, "ABORTED")
    assert ok(client.get(name)) == cleared


def test_experiment_delete_cascades_to_runs_series_and_points(
    client: Client, tb: str, exp: str, run: str, series: str
) -> None:
    other = make_experiment(client, tb, "exp-b")
    other_run = make_run(client, other, "r1")["name"]
    make_series(client, other_run)
    ok(write(client, run, "loss", scalar_points(range(5))))
    ok(write(client, other_run, "loss", scalar_points(range(2))))

    operation = ok(client.delete(exp))
    assert_done_operation(operation, exp, "DeleteOperationMetadata")
    for name in (exp, run, series):
        assert_error(client.get(name), 404, "NOT_FOUND")
    assert [leaf(e["name"]) for e in ok(client.get(f"{tb}/experiments"))
            ["tensorboardExperiments"]] == ["exp-b"]
    assert read_steps(client, f"{other_run}/timeSeries/loss") == [0, 1]

    make_experiment(client, tb, leaf(exp))
    assert run_ids(client, exp) == []
    make_run(client, exp, "r1")
    make_series(client, run)
    assert read_steps(client, series) == []


# -- tensorboards ------------------------------------------------------------------------------


def test_tensorboard_create_is_an_operation_with_a_numeric_id(client: Client) -> None:
    operation = ok(client.post(f"{client.location}/tensorboards",
                               {"displayName": "TB", "description": "d"}))
    tensorboard = operation["response"]
    assert tensorboard["@type"] == "type.googleapis.com/google.cloud.aiplatform.v1.Tensorboard"
    assert NUMERIC_NAME.match(tensorboard["name"]), tensorboard["name"]
    assert_done_operation(operation, tensorboard["name"], "CreateTensorboardOperationMetadata")
    stored = ok(client.get(tensorboard["name"]))
    assert stored == {k: v for k, v in tensorboard.items() if k != "@type"}
    assert (stored["displayName"], stored["description"]) == ("TB", "d")


def test_tensorboard_ids_are_distinct(client: Client) -> None:
    names = {make_tensorboard(client, f"tb{i}") for i in range(3)}
    assert len(names) == 3


def test_tensorboard_create_requires_display_name(client: Client) -> None:
    assert_error(client.post(f"{client.location}/tensorboards", {}), 400, "INVALID_ARGUMENT")
    assert ok(client.get(f"{client.location}/tensorboards")) == {}


def test_tensorboard_get_and_list(client: Client) -> None:
    first = make_tensorboard(client, "one")
    second = make_tensorboard(client, "two")
    assert ok(client.get(first))["displayName"] == "one"
    listed = ok(client.get(f"{client.location}/tensorboards"))["tensorboards"]
    assert [t["name"] for t in listed] == [first, second]
    page = ok(client.get(f"{client.location}/tensorboards", pageSize=1))
    assert [t["name"] for t in page["tensorboards"]] == [first]
    assert_error(client.get(f"{client.location}/tensorboards/999"), 404, "NOT_FOUND")


def test_tensorboard_patch_is_an_operation(client: Client, tb: str) -> None:
    before = ok(client.get(tb))
    operation = ok(client.patch(tb, {"displayName": "renamed"}, updateMask="displayName"))
    assert_done_operation(operation, tb, "UpdateTensorboardOperationMetadata")
    response = operation["response"]
    assert response["@type"] == "type.googleapis.com/google.cloud.aiplatform.v1.Tensorboard"
    assert (response["name"], response["displayName"]) == (tb, "renamed")
    stored = ok(client.get(tb))
    assert stored["displayName"] == "renamed"
    assert stored["etag"] != before["etag"]
    assert stored["updateTime"] > before["updateTime"]


def test_tensorboard_delete_is_an_operation_and_cascades(
    client: Client, tb: str, exp: str, run: str
) -> None:
    operation = ok(client.delete(tb))
    assert_done_operation(operation, tb, "DeleteOperationMetadata")
    for name in (tb, exp, run):
        assert_error(client.get(name), 404, "NOT_FOUND")
    assert ok(client.get(f"{client.location}/tensorboards")) == {}


def test_tensorboard_run_count(client: Client, tb: str, exp: str) -> None:
    assert "runCount" not in ok(client.get(tb))
    make_run(client, exp, "a")
    make_run(client, exp, "b")
    assert ok(client.get(tb))["runCount"] == 2


# -- time series -------------------------------------------------------------------------------


def test_time_series_create_with_id(client: Client, run: str) -> None:
    created = make_series(client, run, "loss-1", "loss")
    assert created["name"] == f"{run}/timeSeries/loss-1"
    assert (created["displayName"], created["valueType"], created["pluginName"]) == (
        "loss", "SCALAR", "scalars")
    assert created["etag"]
    assert "metadata" not in created
    assert ok(client.get(created["name"])) == created


def test_time_series_create_without_id_gets_a_numeric_one(client: Client, run: str) -> None:
    first = make_series(client, run, None, "a")
    second = make_series(client, run, None, "b")
    assert leaf(first["name"]).isdigit()
    assert leaf(second["name"]).isdigit()
    assert first["name"] != second["name"]
    assert ok(client.get(second["name"]))["displayName"] == "b"


@pytest.mark.parametrize(("value_type", "expected"),
                         [("TENSOR", "TENSOR"), (1, "SCALAR"), (3, "BLOB_SEQUENCE")])
def test_time_series_value_type_accepts_names_and_numbers(
    client: Client, run: str, value_type: Any, expected: str
) -> None:
    assert make_series(client, run, value_type=value_type)["valueType"] == expected


@pytest.mark.parametrize("value_type", ["scalar", 7, -1, True, "NUMBER", 0,
                                        "VALUE_TYPE_UNSPECIFIED"])
def test_time_series_bad_value_type_is_invalid(client: Client, run: str, value_type: Any) -> None:
    response = client.post(f"{run}/timeSeries", {"displayName": "x", "valueType": value_type})
    assert_error(response, 400, "INVALID_ARGUMENT")


@pytest.mark.parametrize("body", [{"displayName": "x"}, {"valueType": "SCALAR"}],
                         ids=["no-value-type", "no-display-name"])
def test_time_series_required_fields(client: Client, run: str, body: Json) -> None:
    assert_error(client.post(f"{run}/timeSeries", body), 400, "INVALID_ARGUMENT")
    assert ok(client.get(f"{run}/timeSeries")) == {}


@pytest.mark.parametrize("series_id", ["Loss", "-loss", "l" * 129, "a_b"])
def test_time_series_bad_id_is_invalid(client: Client, run: str, series_id: str) -> None:
    response = client.post(f"{run}/timeSeries", {"displayName": "x", "valueType": "SCALAR"},
                           tensorboardTimeSeriesId=series_id)
    assert_error(response, 400, "INVALID_ARGUMENT", contains="tensorboard_time_series_id")


def test_time_series_duplicate_display_name_in_run_is_invalid(
    client: Client, exp: str, run: str, series: str
) -> None:
    response = client.post(f"{run}/timeSeries", {"displayName": "loss", "valueType": "SCALAR"},
                           tensorboardTimeSeriesId="loss-2")
    assert_error(response, 400, "INVALID_ARGUMENT", contains="already exist")
    other_run = make_run(client, exp, "r2")["name"]
    assert make_series(client, other_run)["displayName"] == "loss"


def test_time_series_duplicate_id_is_already_exists(client: Client, run: str, series: str) -> None:
    response = client.post(f"{run}/timeSeries", {"displayName": "other", "valueType": "SCALAR"},
                           tensorboardTimeSeriesId=leaf(series))
    assert_error(response, 409, "ALREADY_EXISTS")


def test_time_series_under_missing_run_is_not_found(client: Client, exp: str) -> None:
    response = client.post(f"{exp}/runs/nope/timeSeries",
                           {"displayName": "x", "valueType": "SCALAR"})
    assert_error(response, 404, "NOT_FOUND")


def test_time_series_list(client: Client, run: str) -> None:
    for series_id in ("b", "a", "c"):
        make_series(client, run, series_id, f"name-{series_id}")
    listed = ok(client.get(f"{run}/timeSeries"))["tensorboardTimeSeries"]
    assert [leaf(s["name"]) for s in listed] == ["b", "a", "c"]
    page = ok(client.get(f"{run}/timeSeries", pageSize=2))
    assert len(page["tensorboardTimeSeries"]) == 2
    rest = ok(client.get(f"{run}/timeSeries", pageSize=2, pageToken=page["nextPageToken"]))
    assert [leaf(s["name"]) for s in rest["tensorboardTimeSeries"]] == ["c"]
    found = ok(client.get(f"{run}/timeSeries", filter='display_name = "name-a"'))
    assert [leaf(s["name"]) for s in found["tensorboardTimeSeries"]] == ["a"]


def test_time_series_patch(client: Client, series: str) -> None:
    before = ok(client.get(series))
    patched = ok(client.patch(series, {"description": "d", "displayName": "ignored"},
                              updateMask="description"))
    assert (patched["displayName"], patched["description"]) == ("loss", "d")
    assert patched["etag"] != before["etag"]
    assert patched["updateTime"] > before["updateTime"]
    renamed = ok(client.patch(series, {"displayName": "loss2"}))
    assert renamed["displayName"] == "loss2"
    assert ok(client.get(series)) == renamed


@pytest.mark.parametrize(
    ("body", "mask"),
    [({"valueType": "TENSOR"}, "valueType"), ({"pluginName": "x"}, "plugin_name"),
     ({"valueType": "TENSOR"}, None), ({"pluginName": "other"}, None),
     ({}, "metadata")],
    ids=["value-type-masked", "plugin-masked", "value-type-unmasked", "plugin-unmasked",
         "metadata-output-only"],
)
def test_time_series_immutable_fields_cannot_be_patched(
    client: Client, series: str, body: Json, mask: str | None
) -> None:
    before = ok(client.get(series))
    params = {} if mask is None else {"updateMask": mask}
    assert_error(client.patch(series, body, **params), 400, "INVALID_ARGUMENT")
    assert ok(client.get(series)) == before


def test_time_series_patch_with_stale_etag_is_aborted(client: Client, series: str) -> None:
    stale = ok(client.get(series))["etag"]
    current = ok(client.patch(series, {"description": "x"}))
    assert_error(client.patch(series, {"description": "y", "etag": stale}), 409, "ABORTED")
    assert ok(client.get(series)) == current


def test_time_series_delete(client: Client, run: str, series: str) -> None:
    ok(write(client, run, "loss", scalar_points(range(3))))
    operation = ok(client.delete(series))
    assert_done_operation(operation, series, "DeleteOperationMetadata")
    assert_error(client.get(series), 404, "NOT_FOUND")
    assert_error(client.get(f"{series}:read"), 404, "NOT_FOUND")
    make_series(client, run)
    assert read_steps(client, series) == []


# -- writing data ------------------------------------------------------------------------------


def test_run_write_answers_empty_and_read_returns_points(
    client: Client, run: str, series: str
) -> None:
    assert ok(write(client, run, "loss", scalar_points([0, 1, 2]))) == {}
    data = ok(client.get(f"{series}:read"))["timeSeriesData"]
    assert data["tensorboardTimeSeriesId"] == "loss"
    assert data["valueType"] == "SCALAR"
    assert data["values"] == [
        {"step": str(s), "wallTime": f"2024-05-01T12:00:{s:02d}.123000Z",
         "scalar": {"value": s / 10}}
        for s in (0, 1, 2)
    ]


def test_write_accepts_value_type_as_a_number(client: Client, run: str, series: str) -> None:
    ok(write(client, run, "loss", scalar_points([4]), value_type=1))
    assert read_steps(client, series) == [4]


def test_write_without_value_type_uses_the_series_type(
    client: Client, run: str, series: str
) -> None:
    body = {"timeSeriesData": [{"tensorboardTimeSeriesId": "loss",
                                "values": scalar_points([1])}]}
    ok(client.post(f"{run}:write", body))
    assert read_steps(client, series) == [1]


def test_write_5000_points_is_allowed(client: Client, run: str, series: str) -> None:
    ok(write(client, run, "loss", scalar_points(range(5000))))
    assert len(read_steps(client, series, maxDataPoints=-1)) == 5000


def test_write_of_5001_points_is_invalid_and_writes_nothing(
    client: Client, run: str, series: str
) -> None:
    make_series(client, run, "acc", "acc")
    body = {"timeSeriesData": [
        {"tensorboardTimeSeriesId": "loss", "valueType": "SCALAR",
         "values": scalar_points(range(2500))},
        {"tensorboardTimeSeriesId": "acc", "valueType": "SCALAR",
         "values": scalar_points(range(2501))},
    ]}
    assert_error(client.post(f"{run}:write", body), 400, "INVALID_ARGUMENT", contains="5000")
    assert read_steps(client, series) == []
    assert read_steps(client, f"{run}/timeSeries/acc") == []


def test_write_same_step_twice_keeps_the_last_value(client: Client, run: str, series: str) -> None:
    ok(write(client, run, "loss", scalar_points([5], lambda s: 1.0)))
    ok(write(client, run, "loss", scalar_points([5, 6], lambda s: 2.0)))
    ok(write(client, run, "loss", scalar_points([6, 6], lambda s: 3.0)[:1]
                                   + scalar_points([6], lambda s: 4.0)))
    values = ok(client.get(f"{series}:read"))["timeSeriesData"]["values"]
    assert [(p["step"], p["scalar"]["value"]) for p in values] == [("5", 2.0), ("6", 4.0)]


def test_write_to_unknown_time_series_is_not_found(client: Client, run: str, series: str) -> None:
    response = write(client, run, "nope", scalar_points([1]))
    assert_error(response, 404, "NOT_FOUND")


def test_write_to_unknown_run_is_not_found(client: Client, exp: str) -> None:
    assert_error(write(client, f"{exp}/runs/nope", "loss", scalar_points([1])), 404, "NOT_FOUND")


def test_write_to_series_of_another_run_is_not_found(
    client: Client, exp: str, run: str, series: str
) -> None:
    other = make_run(client, exp, "r2")["name"]
    assert_error(write(client, other, "loss", scalar_points([1])), 404, "NOT_FOUND")
    assert read_steps(client, series) == []


@pytest.mark.parametrize(
    ("declared", "point"),
    [
        ("TENSOR", {"step": "1", "scalar": {"value": 1.0}}),
        (2, {"step": "1", "scalar": {"value": 1.0}}),
        ("SCALAR", {"step": "1", "tensor": {"value": "AAAA"}}),
        ("SCALAR", {"step": "1", "scalar": {"value": 1.0}, "tensor": {"value": "AAAA"}}),
        ("SCALAR", {"step": "1"}),
        ("SCALAR", {"step": "1", "scalar": {"value": "high"}}),
        ("SCALAR", {"step": "1", "scalar": {"value": True}}),
        ("SCALAR", {"step": "one", "scalar": {"value": 1.0}}),
        ("SCALAR", {"step": 5.5, "scalar": {"value": 1.0}}),
        ("SCALAR", {"step": True, "scalar": {"value": 1.0}}),
        ("SCALAR", {"step": str(2**63), "scalar": {"value": 1.0}}),
        ("SCALAR", {"step": " 5", "scalar": {"value": 1.0}}),
        ("SCALAR", {"step": "1", "wallTime": "yesterday", "scalar": {"value": 1.0}}),
        ("BOGUS", {"step": "1", "scalar": {"value": 1.0}}),
    ],
    ids=["declared-tensor", "declared-2", "tensor-value", "two-values", "no-value",
         "text-value", "bool-value", "bad-step", "fractional-step", "bool-step",
         "step-beyond-int64", "step-with-space", "bad-wall-time", "bad-value-type"],
)
def test_write_bad_point_fails_the_whole_request(
    client: Client, run: str, series: str, declared: Any, point: Json
) -> None:
    make_series(client, run, "acc", "acc")
    body = {"timeSeriesData": [
        {"tensorboardTimeSeriesId": "acc", "valueType": "SCALAR", "values": scalar_points([1])},
        {"tensorboardTimeSeriesId": "loss", "valueType": declared,
         "values": [*scalar_points([0]), point]},
    ]}
    assert_error(client.post(f"{run}:write", body), 400, "INVALID_ARGUMENT")
    assert read_steps(client, series) == []
    assert read_steps(client, f"{run}/timeSeries/acc") == []
    assert "metadata" not in ok(client.get(series))


def test_write_accepts_every_proto3_json_int64_step(
    client: Client, run: str, series: str
) -> None:
    steps: list[Any] = [5, "6", 7.0, "-3", str(2**63 - 1)]
    ok(write(client, run, "loss", [{"step": s, "scalar": {"value": 1.0}} for s in steps]))
    assert read_steps(client, series) == [-3, 5, 6, 7, 2**63 - 1]
    assert ok(client.get(series))["metadata"]["maxStep"] == str(2**63 - 1)


@pytest.mark.parametrize("special", ["NaN", "Infinity", "-Infinity"])
def test_write_accepts_proto3_json_special_doubles(
    client: Client, run: str, series: str, special: str
) -> None:
    points = [{"step": "1", "scalar": {"value": special}}]
    ok(write(client, run, "loss", points))
    values = ok(client.get(f"{series}:read"))["timeSeriesData"]["values"]
    assert values[0]["scalar"]["value"] == special


def test_write_tensor_and_blob_series(client: Client, run: str) -> None:
    make_series(client, run, "hist", "hist", "TENSOR")
    make_series(client, run, "imgs", "imgs", "BLOB_SEQUENCE")
    body = {"timeSeriesData": [
        {"tensorboardTimeSeriesId": "hist", "valueType": "TENSOR",
         "values": [{"step": "3", "tensor": {"value": "AAEC", "versionNumber": 1}}]},
        {"tensorboardTimeSeriesId": "imgs", "valueType": "BLOB_SEQUENCE",
         "values": [{"step": "2", "blobs": {"values": [{"id": "a"}, {"id": "b"}]}}]},
    ]}
    ok(client.post(f"{run}:write", body))
    tensor = ok(client.get(f"{run}/timeSeries/hist:read"))["timeSeriesData"]["values"]
    assert tensor[0]["tensor"] == {"value": "AAEC", "versionNumber": 1}
    metadata = ok(client.get(f"{run}/timeSeries/imgs"))["metadata"]
    assert metadata["maxBlobSequenceLength"] == "2"


def test_write_updates_time_series_metadata(client: Client, run: str, series: str) -> None:
    ok(write(client, run, "loss", [
        {"step": "7", "wallTime": "2024-05-01T10:00:00Z", "scalar": {"value": 1.0}},
        {"step": "3", "wallTime": "2024-05-02T10:00:00.5Z", "scalar": {"value": 1.0}},
    ]))
    metadata = ok(client.get(series))["metadata"]
    assert metadata["maxStep"] == "7"
    assert metadata["maxWallTime"] == "2024-05-02T10:00:00.500000Z"
    ok(write(client, run, "loss", [
        {"step": "2", "wallTime": "2024-05-01T00:00:00Z", "scalar": {"value": 1.0}},
    ]))
    assert ok(client.get(series))["metadata"] == metadata
    ok(write(client, run, "loss", [
        {"step": "12", "wallTime": "2024-05-03T00:00:00Z", "scalar": {"value": 1.0}},
    ]))
    metadata = ok(client.get(series))["metadata"]
    assert (metadata["maxStep"], metadata["maxWallTime"]) == ("12", "2024-05-03T00:00:00.000000Z")


def test_write_same_series_twice_in_one_request_keeps_the_maximum(
    client: Client, run: str, series: str
) -> None:
    body = {"timeSeriesData": [
        {"tensorboardTimeSeriesId": "loss", "values": [
            {"step": "10", "wallTime": "2024-05-03T00:00:00Z", "scalar": {"value": 1.0}}]},
        {"tensorboardTimeSeriesId": "loss", "values": [
            {"step": "1", "wallTime": "2024-05-01T00:00:00Z", "scalar": {"value": 1.0}}]},
    ]}
    ok(client.post(f"{run}:write", body))
    assert read_steps(client, series) == [1, 10]
    metadata = ok(client.get(series))["metadata"]
    assert (metadata["maxStep"], metadata["maxWallTime"]) == ("10", "2024-05-03T00:00:00.000000Z")


# -- experiments :write and :batchCreate ------------------------------------------------------


def test_experiment_write_writes_to_several_runs(client: Client, exp: str) -> None:
    runs = [make_run(client, exp, r)["name"] for r in ("a", "b")]
    for name in runs:
        make_series(client, name)
    body = {"writeRunDataRequests": [
        {"tensorboardRun": runs[0], "timeSeriesData": [
            {"tensorboardTimeSeriesId": "loss", "valueType": "SCALAR",
             "values": scalar_points([1, 2])}]},
        {"tensorboardRun": runs[1], "timeSeriesData": [
            {"tensorboardTimeSeriesId": "loss", "valueType": 1, "values": scalar_points([3])}]},
    ]}
    assert ok(client.post(f"{exp}:write", body)) == {}
    assert read_steps(client, f"{runs[0]}/timeSeries/loss") == [1, 2]
    assert read_steps(client, f"{runs[1]}/timeSeries/loss") == [3]
    assert ok(client.get(f"{runs[1]}/timeSeries/loss"))["metadata"]["maxStep"] == "3"


def test_experiment_write_accepts_run_names_spelled_with_project_id(
    client: Client, exp: str, run: str, series: str
) -> None:
    body = {"writeRunDataRequests": [
        {"tensorboardRun": with_project_id(run), "timeSeriesData": [
            {"tensorboardTimeSeriesId": "loss", "values": scalar_points([1])}]},
    ]}
    ok(client.post(f"{with_project_id(exp)}:write", body))
    assert read_steps(client, series) == [1]


@pytest.mark.parametrize(
    ("second", "http_status", "status"),
    [
        ({"tensorboardRun": "RUN", "timeSeriesData": [
            {"tensorboardTimeSeriesId": "loss", "values": [{"step": "1"}]}]},
         400, "INVALID_ARGUMENT"),
        ({"tensorboardRun": "RUN", "timeSeriesData": [
            {"tensorboardTimeSeriesId": "nope", "values": scalar_points([1])}]},
         404, "NOT_FOUND"),
        ({"tensorboardRun": "OTHER-EXP-RUN", "timeSeriesData": []}, 400, "INVALID_ARGUMENT"),
        ({"tensorboardRun": "MISSING-RUN", "timeSeriesData": []}, 404, "NOT_FOUND"),
    ],
    ids=["bad-point", "unknown-series", "run-of-another-experiment", "missing-run"],
)
def test_experiment_write_is_all_or_nothing(
    client: Client, *, tb: str, exp: str, run: str, series: str, second: Json,
    http_status: int, status: str,
) -> None:
    other_exp = make_experiment(client, tb, "other")
    other_run = make_run(client, other_exp, "r1")["name"]
    make_series(client, other_run)
    names = {"RUN": run, "OTHER-EXP-RUN": other_run, "MISSING-RUN": f"{exp}/runs/missing"}
    second = {**second, "tensorboardRun": names[second["tensorboardRun"]]}
    body = {"writeRunDataRequests": [
        {"tensorboardRun": run, "timeSeriesData": [
            {"tensorboardTimeSeriesId": "loss", "values": scalar_points([7])}]},
        second,
    ]}
    assert_error(client.post(f"{exp}:write", body), http_status, status)
    assert read_steps(client, series) == []
    assert read_steps(client, f"{other_run}/timeSeries/loss") == []


def test_experiment_write_over_5000_points_for_one_run_is_invalid(
    client: Client, exp: str, run: str, series: str
) -> None:
    small = {"tensorboardRun": run, "timeSeriesData": [
        {"tensorboardTimeSeriesId": "loss", "values": scalar_points([1])}]}
    large = {"tensorboardRun": run, "timeSeriesData": [
        {"tensorboardTimeSeriesId": "loss", "values": scalar_points(range(5001))}]}
    response = client.post(f"{exp}:write", {"writeRunDataRequests": [small, large]})
    assert_error(response, 400, "INVALID_ARGUMENT", contains="5000")
    assert read_steps(client, series) == []


def test_experiment_batch_create_time_series(client: Client, exp: str) -> None:
    runs = [make_run(client, exp, r)["name"] for r in ("a", "b")]
    body = {"requests": [
        {"parent": runs[1], "tensorboardTimeSeriesId": "loss",
         "tensorboardTimeSeries": {"displayName": "loss", "valueType": "SCALAR"}},
        {"parent": runs[0], "tensorboardTimeSeries": {"displayName": "acc", "valueType": 1}},
        {"parent": runs[0], "tensorboardTimeSeriesId": "hist",
         "tensorboardTimeSeries": {"displayName": "hist", "valueType": "TENSOR"}},
    ]}
    created = ok(client.post(f"{exp}:batchCreate", body))["tensorboardTimeSeries"]
    assert created[0]["name"] == f"{runs[1]}/timeSeries/loss"
    assert created[1]["name"].startswith(f"{runs[0]}/timeSeries/")
    assert leaf(created[1]["name"]).isdigit()
    assert created[1]["valueType"] == "SCALAR"
    assert created[2]["name"] == f"{runs[0]}/timeSeries/hist"
    for item in created:
        assert ok(client.get(item["name"])) == item


@pytest.mark.parametrize(
    ("bad", "http_status", "status"),
    [
        ({"parent": "ELSEWHERE", "tensorboardTimeSeries": {"displayName": "x",
                                                           "valueType": "SCALAR"}},
         400, "INVALID_ARGUMENT"),
        ({"parent": "RUN", "tensorboardTimeSeries": {"displayName": "loss",
                                                     "valueType": "SCALAR"}},
         400, "INVALID_ARGUMENT"),
        ({"parent": "RUN", "tensorboardTimeSeries": {"displayName": "x"}},
         400, "INVALID_ARGUMENT"),
        ({"parent": "RUN", "tensorboardTimeSeriesId": "Bad",
          "tensorboardTimeSeries": {"displayName": "x", "valueType": "SCALAR"}},
         400, "INVALID_ARGUMENT"),
        ({"parent": "MISSING", "tensorboardTimeSeries": {"displayName": "x",
                                                         "valueType": "SCALAR"}},
         404, "NOT_FOUND"),
    ],
    ids=["parent-outside-experiment", "duplicate-display-name", "no-value-type", "bad-id",
         "missing-run"],
)
def test_experiment_batch_create_time_series_is_all_or_nothing(
    client: Client, *, tb: str, exp: str, run: str, bad: Json, http_status: int, status: str
) -> None:
    other = make_run(client, make_experiment(client, tb, "other"), "r1")["name"]
    parents = {"ELSEWHERE": other, "RUN": run, "MISSING": f"{exp}/runs/missing"}
    body = {"requests": [
        {"parent": run, "tensorboardTimeSeriesId": "loss",
         "tensorboardTimeSeries": {"displayName": "loss", "valueType": "SCALAR"}},
        {**bad, "parent": parents[bad["parent"]]},
    ]}
    assert_error(client.post(f"{exp}:batchCreate", body), http_status, status)
    assert ok(client.get(f"{run}/timeSeries")) == {}
    assert ok(client.get(f"{other}/timeSeries")) == {}


def test_experiment_batch_create_over_1000_time_series_is_invalid(
    client: Client, exp: str, run: str
) -> None:
    body = {"requests": [
        {"parent": run, "tensorboardTimeSeries": {"displayName": f"s{i}", "valueType": 1}}
        for i in range(1001)
    ]}
    assert_error(client.post(f"{exp}:batchCreate", body), 400, "INVALID_ARGUMENT")
    assert ok(client.get(f"{run}/timeSeries")) == {}


# -- reading data ------------------------------------------------------------------------------


@pytest.fixture
def ten_points(client: Client, run: str, series: str) -> str:
    ok(write(client, run, "loss", scalar_points(range(10))))
    return series


def test_read_returns_every_point_by_default(client: Client, ten_points: str) -> None:
    assert read_steps(client, ten_points) == list(range(10))


def test_read_filter_step_greater_than(client: Client, ten_points: str) -> None:
    assert read_steps(client, ten_points, filter="step > 3") == [4, 5, 6, 7, 8, 9]
    assert read_steps(client, ten_points, filter="step > 3 AND step <= 5") == [4, 5]


def test_read_max_data_points_samples_and_keeps_the_last(client: Client, ten_points: str) -> None:
    steps = read_steps(client, ten_points, maxDataPoints=3)
    assert len(steps) == 3
    assert steps == sorted(set(steps))
    assert (steps[0], steps[-1]) == (0, 9)
    assert read_steps(client, ten_points, maxDataPoints=1) == [9]
    assert read_steps(client, ten_points, maxDataPoints=-1) == list(range(10))
    assert read_steps(client, ten_points, maxDataPoints=10) == list(range(10))


def test_read_max_data_points_applies_after_the_filter(client: Client, ten_points: str) -> None:
    steps = read_steps(client, ten_points, maxDataPoints=2, filter="step > 3")
    assert steps == [4, 9]


@pytest.mark.parametrize("params", [{"maxDataPoints": 10001}, {"maxDataPoints": -2},
                                    {"maxDataPoints": "many"}, {"filter": "loss > 3"},
                                    {"filter": "step >"}])
def test_read_bad_parameters_are_invalid(client: Client, ten_points: str, params: Json) -> None:
    assert_error(client.get(f"{ten_points}:read", **params), 400, "INVALID_ARGUMENT")


def test_read_of_empty_series_has_no_values(client: Client, series: str) -> None:
    data = ok(client.get(f"{series}:read"))["timeSeriesData"]
    assert data == {"tensorboardTimeSeriesId": "loss", "valueType": "SCALAR"}


def export(client: Client, series: str, **body: Any) -> requests.Response:
    return client.post(f"{series}:exportTensorboardTimeSeries", body)


@pytest.mark.parametrize(("size", "pages"), [(1, 10), (3, 4), (4, 3), (5, 2), (10, 1), (11, 1)])
def test_export_pages_through_every_point(
    client: Client, ten_points: str, size: int, pages: int
) -> None:
    sizes: list[int] = []
    steps: list[int] = []
    body: Json = {"pageSize": size, "orderBy": "step"}
    while True:
        page = ok(export(client, ten_points, **body))
        sizes.append(len(page["timeSeriesDataPoints"]))
        steps += [int(p["step"]) for p in page["timeSeriesDataPoints"]]
        if "nextPageToken" not in page:
            break
        body["pageToken"] = page["nextPageToken"]
    assert len(sizes) == pages
    assert all(count == size for count in sizes[:-1])
    assert steps == list(range(10))


def test_export_filters_and_orders(client: Client, ten_points: str) -> None:
    page = ok(export(client, ten_points, filter="step > 3", orderBy="step desc", pageSize=3))
    assert [int(p["step"]) for p in page["timeSeriesDataPoints"]] == [9, 8, 7]
    rest = ok(export(client, ten_points, filter="step > 3", orderBy="step desc", pageSize=3,
                     pageToken=page["nextPageToken"]))
    assert [int(p["step"]) for p in rest["timeSeriesDataPoints"]] == [6, 5, 4]
    assert "nextPageToken" not in rest
    point = rest["timeSeriesDataPoints"][0]
    assert set(point) == {"step", "wallTime", "scalar"}
    assert TIMESTAMP.match(point["wallTime"])


def test_export_pages_every_point_by_step_descending(client: Client, ten_points: str) -> None:
    steps: list[list[int]] = []
    body: Json = {"pageSize": 4, "orderBy": "step desc"}
    while True:
        page = ok(export(client, ten_points, **body))
        steps.append([int(p["step"]) for p in page["timeSeriesDataPoints"]])
        if "nextPageToken" not in page:
            break
        body["pageToken"] = page["nextPageToken"]
    assert steps == [[9, 8, 7, 6], [5, 4, 3, 2], [1, 0]]


def test_export_page_token_bound_to_its_filter(client: Client, ten_points: str) -> None:
    page = ok(export(client, ten_points, filter="step > 3", pageSize=2))
    response = export(client, ten_points, filter="step > 4", pageSize=2,
                      pageToken=page["nextPageToken"])
    assert_error(response, 400, "INVALID_ARGUMENT")


@pytest.mark.parametrize("body", [{"pageSize": -1}, {"orderBy": "value"},
                                  {"filter": "nope = 1"}])
def test_export_bad_request_is_invalid(client: Client, ten_points: str, body: Json) -> None:
    assert_error(export(client, ten_points, **body), 400, "INVALID_ARGUMENT")


def test_export_of_unknown_series_is_not_found(client: Client, run: str) -> None:
    assert_error(export(client, f"{run}/timeSeries/nope"), 404, "NOT_FOUND")


def test_tensorboard_batch_read(client: Client, tb: str, run: str, ten_points: str) -> None:
    make_series(client, run, "acc", "acc")
    ok(write(client, run, "acc", scalar_points([1])))
    answer = ok(client.call("GET", f"{tb}:batchRead",
                            params=[("timeSeries", f"{run}/timeSeries/acc"),
                                    ("timeSeries", ten_points)]))
    data = answer["timeSeriesData"]
    assert [d["tensorboardTimeSeriesId"] for d in data] == ["acc", "loss"]
    assert [int(p["step"]) for p in data[0]["values"]] == [1]
    assert [int(p["step"]) for p in data[1]["values"]] == list(range(10))


def test_tensorboard_batch_read_accepts_names_spelled_with_project_id(
    client: Client, tb: str, ten_points: str
) -> None:
    answer = ok(client.get(f"{with_project_id(tb)}:batchRead",
                           timeSeries=with_project_id(ten_points)))
    assert len(answer["timeSeriesData"][0]["values"]) == 10


def test_tensorboard_batch_read_errors(client: Client, tb: str, run: str, series: str) -> None:
    assert_error(client.get(f"{tb}:batchRead"), 400, "INVALID_ARGUMENT")
    other_tb = make_tensorboard(client, "other")
    assert_error(client.get(f"{other_tb}:batchRead", timeSeries=series), 400, "INVALID_ARGUMENT")
    assert_error(client.get(f"{tb}:batchRead", timeSeries=f"{run}/timeSeries/nope"),
                 404, "NOT_FOUND")


# -- concurrency -------------------------------------------------------------------------------


def test_concurrent_creates_lose_no_run(module_emu: Emulator, client: Client, exp: str) -> None:
    def create(index: int, barrier: threading.Barrier) -> int:
        with Client(module_emu.url) as own:
            own.get(exp)  # open the connection before the race
            barrier.wait(timeout=30)
            return create_run(own, exp, f"run-{index}").status_code

    assert run_together(8, create) == [200] * 8
    assert sorted(run_ids(client, exp)) == sorted(f"run-{i}" for i in range(8))
    assert module_emu.calls("runs.create") == 8


def test_concurrent_patches_of_distinct_runs_all_apply(client: Client, exp: str,
                                                       module_emu: Emulator) -> None:
    names = [make_run(client, exp, f"run-{i}")["name"] for i in range(8)]

    def patch(index: int, barrier: threading.Barrier) -> int:
        with Client(module_emu.url) as own:
            etag = ok(own.get(names[index]))["etag"]
            barrier.wait(timeout=30)
            body = {"displayName": f"new-{index}", "labels": {"i": str(index)}, "etag": etag}
            return own.patch(names[index], body, updateMask="displayName,labels").status_code

    assert run_together(8, patch) == [200] * 8
    for index, name in enumerate(names):
        stored = ok(client.get(name))
        assert (stored["displayName"], stored["labels"]) == (f"new-{index}", {"i": str(index)})


def test_racing_patches_with_one_etag_exactly_one_wins(
    client: Client, exp: str, module_emu: Emulator
) -> None:
    name = make_run(client, exp, "contended")["name"]
    for round_ in range(20):
        etag = ok(client.get(name))["etag"]

        def patch(index: int, barrier: threading.Barrier, round_: int = round_,
                  etag: str = etag) -> tuple[int, Json]:
            with Client(module_emu.url) as own:
                own.get(name)  # open the connection before the race
                barrier.wait(timeout=30)
                response = own.patch(name, {"displayName": f"{round_}-{index}", "etag": etag},
                                     updateMask="displayName")
                return response.status_code, response.json()

        results = run_together(2, patch)
        assert sorted(status for status, _ in results) == [200, 409], results
        winner = next(i for i, (status, _) in enumerate(results) if status == 200)
        loser_body = results[1 - winner][1]
        assert loser_body["error"]["status"] == "ABORTED"
        assert loser_body["error"]["code"] == 409
        stored = ok(client.get(name))
        assert stored["displayName"] == f"{round_}-{winner}"
        assert stored["etag"] == results[winner][1]["etag"]
