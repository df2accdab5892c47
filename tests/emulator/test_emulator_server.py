"""The emulator over real HTTP on loopback: paging, filters, system parameters, operations, faults,
latency, counters, auth, hostile input, and a byte-level replay of what the official SDK sends.

Every test talks to a live `Emulator()` through `requests`, `http.client` or google-auth; nothing
here calls the service layer directly. The API facts asserted come from
/work/shared/reference/vertex-tensorboard-api.md (sections cited as "ref §n").
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runs_dbapi.emulator import Emulator, FaultPlan

PROJECT = "p1"
LOCATION_PATH = f"projects/{PROJECT}/locations/us-central1"
SCOPE = "https://www.googleapis.com/auth/cloud-platform"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6}|\.\d{9})?Z$")
RUN_FIELDS = {"name", "displayName", "description", "createTime", "updateTime", "labels", "etag"}
OPERATION_FIELDS = {"name", "metadata", "done", "response", "error"}
EMPTY_RESPONSE = {"@type": "type.googleapis.com/google.protobuf.Empty"}
SDK_ALT = "%24alt=json%3Benum-encoding%3Dint"


# -- fixtures and helpers ---------------------------------------------------------------------


def restore(emulator: Emulator) -> None:
    """Undo every test hook, so one server can serve the whole module."""
    emulator.set_faults(None)
    emulator.set_latency(0)
    emulator.set_operation_polls(0)
    emulator.auth.required = False
    emulator.reset_stats()


@pytest.fixture
def emu(module_emu: Emulator) -> Iterator[Emulator]:
    """The module's emulator, reset; each test works in its own tensorboard."""
    restore(module_emu)
    yield module_emu
    restore(module_emu)


class Api:
    """A thin `requests` client: `/v1/` + resource name, JSON in and out."""

    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator
        self.session = requests.Session()

    def url(self, path: str, prefix: str = "v1") -> str:
        return f"{self.emu.url}/{prefix}/{path.lstrip('/')}"

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        return self.session.request(method, self.url(path), **kwargs)

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.call(method, path, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()

    def tensorboard(self, display_name: str = "tb") -> str:
        operation = self.ok("POST", f"{LOCATION_PATH}/tensorboards",
                            json={"displayName": display_name})
        return str(operation["response"]["name"])

    def experiment(self, tensorboard: str | None = None, eid: str = "exp1") -> str:
        """An experiment, by default in a new tensorboard of its own."""
        board = tensorboard or self.tensorboard()
        created = self.ok("POST", f"{board}/experiments", params={"tensorboardExperimentId": eid},
                          json={"displayName": eid})
        return str(created["name"])

    def run(self, experiment: str, rid: str, display_name: str | None = None,
            **fields: Any) -> dict[str, Any]:
        body = {"displayName": display_name or rid, **fields}
        created: dict[str, Any] = self.ok("POST", f"{experiment}/runs",
                                          params={"tensorboardRunId": rid}, json=body)
        return created

    def batch(self, experiment: str, ids: list[str]) -> None:
        for start in range(0, len(ids), 1000):
            chunk = ids[start:start + 1000]
            self.ok("POST", f"{experiment}/runs:batchCreate", json={"requests": [
                {"parent": experiment, "tensorboardRunId": rid,
                 "tensorboardRun": {"displayName": rid}} for rid in chunk
            ]})

    def time_series(self, run: str, display_name: str = "loss") -> dict[str, Any]:
        created: dict[str, Any] = self.ok(
            "POST", f"{run}/timeSeries",
            json={"displayName": display_name, "valueType": "SCALAR", "pluginName": "scalars"})
        return created

    def list_names(self, experiment: str, **params: Any) -> list[str]:
        body = self.ok("GET", f"{experiment}/runs", params={"pageSize": 1000, **params})
        assert "nextPageToken" not in body
        return [run["displayName"] for run in body.get("tensorboardRuns", [])]


@pytest.fixture
def api(emu: Emulator) -> Api:
    return Api(emu)


@pytest.fixture
def experiment(api: Api) -> str:
    return api.experiment()


def assert_aip193(response: requests.Response | tuple[int, bytes], status: int,
                  rpc_status: str) -> dict[str, Any]:
    """The AIP-193 error shape (ref §7): {"error": {"code", "message", "status"[, "details"]}}."""
    if isinstance(response, tuple):
        code, raw = response
    else:
        code, raw = response.status_code, response.content
    assert code == status, raw[:500]
    body = json.loads(raw)
    assert set(body) == {"error"}
    error = body["error"]
    assert error["code"] == status
    assert error["status"] == rpc_status
    assert isinstance(error["message"], str) and error["message"]
    assert set(error) <= {"code", "message", "status", "details"}
    assert "Traceback" not in error["message"]
    return dict(error)


def raw_request(emulator: Emulator, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """One request through http.client, exactly as given (no re-encoding of the path)."""
    connection = http.client.HTTPConnection(emulator.host, emulator.port, timeout=30)
    try:
        sent = {"Content-Type": "application/json"} if body is not None else {}
        connection.request(method, path, body=body, headers={**sent, **(headers or {})})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def raw_socket(emulator: Emulator, data: bytes) -> bytes:
    """Send bytes on a fresh socket and read the whole answer (the server closes after it)."""
    with socket.create_connection((emulator.host, emulator.port), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
                head, _, rest = b"".join(chunks).partition(b"\r\n\r\n")
                match = re.search(rb"content-length: *(\d+)", head, re.IGNORECASE)
                if match and len(rest) >= int(match.group(1)):
                    break
        except ConnectionResetError:
            pass
        return b"".join(chunks)


def split_response(raw: bytes) -> tuple[int, bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


# -- 1. list and pagination (ref §4) --------------------------------------------------------


def test_page_size_default_max_and_zero(api: Api, experiment: str) -> None:
    api.batch(experiment, [f"r{i:04d}" for i in range(1100)])
    default = api.ok("GET", f"{experiment}/runs")
    assert len(default["tensorboardRuns"]) == 50 and default["nextPageToken"]
    zero = api.ok("GET", f"{experiment}/runs", params={"pageSize": 0})
    assert len(zero["tensorboardRuns"]) == 50
    assert [r["name"] for r in zero["tensorboardRuns"]] == [
        r["name"] for r in default["tensorboardRuns"]]
    big = api.ok("GET", f"{experiment}/runs", params={"pageSize": 5000})
    assert len(big["tensorboardRuns"]) == 1000  # coerced to the maximum, not an error
    rest = api.ok("GET", f"{experiment}/runs",
                  params={"pageSize": 5000, "pageToken": big["nextPageToken"]})
    assert len(rest["tensorboardRuns"]) == 100
    assert "nextPageToken" not in rest
    exact = api.ok("GET", f"{experiment}/runs", params={"pageSize": 1000})
    assert len(exact["tensorboardRuns"]) == 1000


@pytest.mark.parametrize(
    "value", ["-1", "-1000", "abc", "1.5", "1e3", "0x10", "ten", "1_000", " 5", "\u0665"])
def test_bad_page_size_is_invalid_argument(api: Api, experiment: str, value: str) -> None:
    response = api.call("GET", f"{experiment}/runs", params={"pageSize": value})
    assert_aip193(response, 400, "INVALID_ARGUMENT")


def test_unknown_read_mask_path_is_invalid_argument(api: Api, experiment: str) -> None:
    response = api.call("GET", f"{experiment}/runs", params={"readMask": "displayName,foo"})
    assert "'foo'" in assert_aip193(response, 400, "INVALID_ARGUMENT")["message"]


def test_empty_verb_and_usage_of_a_missing_tensorboard_are_not_found(
    api: Api, experiment: str
) -> None:
    assert_aip193(api.call("GET", f"{experiment}/runs/r1:"), 404, "NOT_FOUND")
    board = experiment.split("/experiments/", maxsplit=1)[0]
    assert api.ok("GET", f"{board}:readUsage") == {"monthlyUsageData": {}}
    missing = board.rsplit("/", 1)[0] + "/999"
    assert_aip193(api.call("GET", f"{missing}:readUsage"), 404, "NOT_FOUND")


def test_next_page_token_omitted_on_last_page(api: Api, experiment: str) -> None:
    api.batch(experiment, ["a", "b", "c", "d"])
    first = api.ok("GET", f"{experiment}/runs", params={"pageSize": 2})
    assert [r["displayName"] for r in first["tensorboardRuns"]] == ["a", "b"]
    assert re.fullmatch(r"[A-Za-z0-9_-]+", first["nextPageToken"])  # opaque and URL-safe
    second = api.ok("GET", f"{experiment}/runs",
                    params={"pageSize": 2, "pageToken": first["nextPageToken"]})
    # An exact multiple of the page size: the last page has no token (no empty third page).
    assert [r["displayName"] for r in second["tensorboardRuns"]] == ["c", "d"]
    assert "nextPageToken" not in second
    whole = api.ok("GET", f"{experiment}/runs", params={"pageSize": 4})
    assert len(whole["tensorboardRuns"]) == 4 and "nextPageToken" not in whole
    empty = api.ok("GET", f"{experiment}/runs", params={"filter": 'display_name = "zzz"'})
    assert empty == {}


def test_page_token_is_bound_to_filter_order_and_mask(api: Api, experiment: str) -> None:
    api.batch(experiment, [f"r{i}" for i in range(10)])
    params = {"filter": 'display_name = "r*"', "orderBy": "display_name",
              "readMask": "displayName", "pageSize": 3}
    first = api.ok("GET", f"{experiment}/runs", params=params)
    token = first["nextPageToken"]
    changes = [{"filter": 'display_name = "r1*"'}, {"filter": ""}, {"orderBy": "create_time"},
               {"orderBy": "display_name desc"}, {"readMask": "displayName,labels"},
               {"readMask": ""}]
    for change in changes:
        response = api.call("GET", f"{experiment}/runs",
                            params={**params, **change, "pageToken": token})
        error = assert_aip193(response, 400, "INVALID_ARGUMENT")
        assert "page token" in error["message"]
    # Another collection cannot use it either.
    other = api.experiment(experiment.split("/experiments/", maxsplit=1)[0], "exp2")
    response = api.call("GET", f"{other}/runs", params={**params, "pageToken": token})
    assert_aip193(response, 400, "INVALID_ARGUMENT")
    # The page size may change between pages (an emulator choice, see choices.py).
    second = api.ok("GET", f"{experiment}/runs", params={**params, "pageSize": 5,
                                                        "pageToken": token})
    assert [r["displayName"] for r in second["tensorboardRuns"]] == [
        "r3", "r4", "r5", "r6", "r7"]
    third = api.ok("GET", f"{experiment}/runs", params={**params, "pageSize": 50,
                                                       "pageToken": second["nextPageToken"]})
    assert [r["displayName"] for r in third["tensorboardRuns"]] == ["r8", "r9"]
    assert "nextPageToken" not in third


def test_forged_and_garbled_page_tokens_are_rejected(api: Api, experiment: str) -> None:
    api.batch(experiment, [f"r{i}" for i in range(5)])
    token = api.ok("GET", f"{experiment}/runs", params={"pageSize": 2})["nextPageToken"]
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    decoded = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    payload = json.loads(decoded[12:])
    payload["k"] = [0]  # resume from the start: a forged key behind a stale signature
    forged = base64.urlsafe_b64encode(decoded[:12] + json.dumps(payload).encode()).decode()
    unsigned = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()
    for bad in [flipped, forged, unsigned, token + "x", token[:10], "a", "!!!", "%%%", "é",
                "null", base64.urlsafe_b64encode(b"\x00" * 12 + b"[]").decode()]:
        response = api.call("GET", f"{experiment}/runs", params={"pageSize": 2, "pageToken": bad})
        assert_aip193(response, 400, "INVALID_ARGUMENT")


@pytest.mark.parametrize("order", ["", "display_name", "create_time desc", "update_time"])
def test_walking_pages_during_concurrent_inserts(api: Api, experiment: str, order: str) -> None:
    original = [f"base-{i:03d}" for i in range(150)]
    api.batch(experiment, original)
    stop = threading.Event()
    inserted: list[str] = []
    failures: list[str] = []

    def insert() -> None:
        session = requests.Session()
        index = 0
        while not stop.is_set() and index < 300:
            rid = f"new-{index:03d}"
            response = session.post(api.url(f"{experiment}/runs"),
                                    params={"tensorboardRunId": rid},
                                    json={"displayName": rid}, timeout=30)
            if response.status_code != 200:
                failures.append(response.text)
                return
            inserted.append(rid)
            index += 1

    writer = threading.Thread(target=insert)
    writer.start()
    seen: list[str] = []
    pages = 0
    try:
        token = None
        while True:
            params: dict[str, Any] = {"pageSize": 7}
            if order:
                params["orderBy"] = order
            if token:
                params["pageToken"] = token
            body = api.ok("GET", f"{experiment}/runs", params=params)
            seen += [r["displayName"] for r in body.get("tensorboardRuns", [])]
            pages += 1
            token = body.get("nextPageToken")
            if not token:
                break
    finally:
        stop.set()
        writer.join()
    assert not failures
    assert pages > 10 and inserted
    assert len(seen) == len(set(seen)), "a run came back twice"
    missing = set(original) - set(seen)
    assert not missing, f"runs skipped: {sorted(missing)[:5]}"
    assert set(seen) <= set(original) | set(inserted)


def test_order_by(api: Api, experiment: str) -> None:
    for rid, name in [("x1", "charlie"), ("x2", "alpha"), ("x3", "bravo"), ("x4", "delta")]:
        api.run(experiment, rid, name)
    assert api.list_names(experiment) == ["charlie", "alpha", "bravo", "delta"]  # creation order
    assert api.list_names(experiment, orderBy="display_name") == [
        "alpha", "bravo", "charlie", "delta"]
    assert api.list_names(experiment, orderBy="displayName desc") == [
        "delta", "charlie", "bravo", "alpha"]
    assert api.list_names(experiment, orderBy="display_name asc") == [
        "alpha", "bravo", "charlie", "delta"]
    assert api.list_names(experiment, orderBy="create_time desc") == [
        "delta", "bravo", "alpha", "charlie"]
    assert api.list_names(experiment, orderBy="createTime") == [
        "charlie", "alpha", "bravo", "delta"]
    api.ok("PATCH", f"{experiment}/runs/x2", params={"updateMask": "description"},
           json={"description": "touched"})
    assert api.list_names(experiment, orderBy="update_time") == [
        "charlie", "bravo", "delta", "alpha"]
    assert api.list_names(experiment, orderBy="updateTime desc")[0] == "alpha"
    assert api.list_names(experiment, orderBy="update_time desc, display_name") == [
        "alpha", "delta", "bravo", "charlie"]
    for bad in ["name", "labels", "display_name sideways", "display_name desc extra", ",",
                "display_name,", "foo desc"]:
        response = api.call("GET", f"{experiment}/runs", params={"orderBy": bad})
        assert_aip193(response, 400, "INVALID_ARGUMENT")


def test_read_mask_returns_only_named_fields(api: Api, experiment: str) -> None:
    api.run(experiment, "r1", labels={"k": "v"}, description="d")
    api.run(experiment, "r2")
    for mask in ["displayName,labels", "display_name,labels", "labels,displayName"]:
        body = api.ok("GET", f"{experiment}/runs", params={"readMask": mask})
        runs = body["tensorboardRuns"]
        assert runs[0] == {"displayName": "r1", "labels": {"k": "v"}}
        assert runs[1] == {"displayName": "r2"}  # empty labels are omitted (proto3 JSON)
    body = api.ok("GET", f"{experiment}/runs", params={"readMask": "name"})
    assert [set(r) for r in body["tensorboardRuns"]] == [{"name"}, {"name"}]


@pytest.fixture
def filter_runs(api: Api, experiment: str) -> tuple[str, dict[str, dict[str, Any]]]:
    made = {}
    for rid, name, labels in [
        ("a", "run-1", {"k": "v", "team": "vision"}),
        ("b", "run-10", {"k": "w"}),
        ("c", "run-2", {"other": "x"}),
        ("d", "alpha", {}),
        ("e", 'quote"d', {"team": "nlp"}),
    ]:
        made[name] = api.run(experiment, rid, name, labels=labels)
    return experiment, made


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('display_name = "run-1"', ["run-1"]),
        ('displayName = "run-1"', ["run-1"]),
        ("display_name = run-1", ["run-1"]),
        ('display_name != "run-1"', ["run-10", "run-2", "alpha", 'quote"d']),
        ('display_name = "run-1*"', ["run-1", "run-10"]),
        ('display_name = "*-1*"', ["run-1", "run-10"]),
        ('labels.k = "v"', ["run-1"]),
        ('labels.k:*', ["run-1", "run-10"]),
        ("labels:k", ["run-1", "run-10"]),
        ("labels:team", ["run-1", 'quote"d']),
        ('labels.team = "vision" OR labels.team = "nlp"', ["run-1", 'quote"d']),
        # OR binds tighter than AND: a AND (b OR c), not (a AND b) OR c.
        ('labels.k:* AND display_name = "run-1" OR display_name = "alpha"', ["run-1"]),
        ('display_name = "alpha" OR display_name = "run-1" AND labels.k:*', ["run-1"]),
        ('(labels.k:* AND display_name = "run-1") OR display_name = "alpha"',
         ["run-1", "alpha"]),
        ('labels.k:* display_name = "run-10"', ["run-10"]),  # juxtaposition is AND
        ("NOT labels.k:*", ["run-2", "alpha", 'quote"d']),
        ("-labels.k:*", ["run-2", "alpha", 'quote"d']),
        ('NOT (display_name = "run-1*" OR display_name = "alpha")', ["run-2", 'quote"d']),
        ('display_name = "quote\\"d"', ['quote"d']),
        ("display_name = 'quote\"d'", ['quote"d']),
        ('display_name = "run-1" AND NOT labels:k', []),
    ],
)
def test_filter_over_http(api: Api, filter_runs: tuple[str, dict[str, Any]], text: str,
                          expected: list[str]) -> None:
    experiment, _ = filter_runs
    assert api.list_names(experiment, filter=text) == expected


def test_filter_on_times(api: Api, filter_runs: tuple[str, dict[str, dict[str, Any]]]) -> None:
    experiment, made = filter_runs
    middle = made["run-2"]["createTime"]
    assert api.list_names(experiment, filter=f'create_time > "{middle}"') == ["alpha", 'quote"d']
    assert api.list_names(experiment, filter=f'createTime >= "{middle}"') == [
        "run-2", "alpha", 'quote"d']
    assert api.list_names(experiment, filter=f"create_time < {middle}") == ["run-1", "run-10"]
    assert api.list_names(experiment, filter='create_time > "2000-01-01T00:00:00Z"') == list(made)
    assert api.list_names(experiment, filter='create_time > "2000-01-01T01:00:00+01:00"') == list(
        made)
    assert api.list_names(experiment, filter='update_time < "2000-01-01T00:00:00Z"') == []
    api.ok("PATCH", f"{experiment}/runs/a", params={"updateMask": "description"},
           json={"description": "later"})
    last = made['quote"d']["updateTime"]
    assert api.list_names(experiment, filter=f'update_time > "{last}"') == ["run-1"]


@pytest.mark.parametrize(
    "text",
    ['name = "x"', 'foo = "x"', 'labels = "x"', 'display_name.x = "y"', 'labels.a.b = "c"',
     "display_name =", 'display_name == "x"', '(display_name = "x"', 'display_name = "x")',
     'display_name = "x" AND', "AND", 'display_name = "unterminated', "display_name",
     'create_time > "yesterday"', 'create_time > "2024-13-45T00:00:00Z"', "()", "- x = 1",
     "display_name = x\\"],
)
def test_bad_filters_are_invalid_argument(api: Api, experiment: str, text: str) -> None:
    response = api.call("GET", f"{experiment}/runs", params={"filter": text})
    assert_aip193(response, 400, "INVALID_ARGUMENT")


def test_deeply_nested_filter_is_a_400(api: Api, experiment: str) -> None:
    for text in ["(" * 3000 + 'display_name = "x"' + ")" * 3000,
                 "NOT (" * 2000 + 'display_name = "x"' + ")" * 2000]:
        response = api.call("GET", f"{experiment}/runs", params={"filter": text})
        assert_aip193(response, 400, "INVALID_ARGUMENT")


# -- 2. system parameters (ref §1) ----------------------------------------------------------


def test_system_parameters_are_accepted(api: Api, experiment: str) -> None:
    run = api.run(experiment, "r1", labels={"k": "v"})
    path = f"{experiment}/runs/r1"
    plain = api.ok("GET", path)
    assert plain == run
    for query in ["alt=json", SDK_ALT, "%24alt=json", "prettyPrint=false", "prettyPrint=true",
                  "fields=name%2CdisplayName", "key=AIzaFake", "quotaUser=someone",
                  "%24.xgafv=2", "access_token=whatever", "%24.xgafv=1&alt=json&key=k&quotaUser=q"]:
        response = api.session.get(api.url(path) + "?" + query, timeout=30)
        assert response.status_code == 200, (query, response.text)
        assert response.json() == plain, query
    listed = api.session.get(api.url(f"{experiment}/runs") + "?" + SDK_ALT + "&key=k", timeout=30)
    assert listed.status_code == 200 and listed.json()["tensorboardRuns"] == [plain]


def test_pretty_print_false_gives_a_compact_body(api: Api, experiment: str) -> None:
    api.run(experiment, "r1", labels={"k": "v"})
    pretty = api.call("GET", f"{experiment}/runs/r1")
    compact = api.call("GET", f"{experiment}/runs/r1", params={"prettyPrint": "false"})
    assert b"\n" in pretty.content.strip()
    assert b"\n" not in compact.content.strip() and b"  " not in compact.content
    assert compact.json() == pretty.json()
    assert compact.headers["Content-Type"].startswith("application/json")
    error = api.call("GET", f"{experiment}/runs/missing", params={"prettyPrint": "false"})
    assert error.status_code == 404 and b"\n" not in error.content.strip()


def test_enum_encoding_int(api: Api, experiment: str) -> None:
    run = api.run(experiment, "r1")["name"]
    series = api.time_series(run)
    assert series["valueType"] == "SCALAR"
    path = api.url(series["name"])
    as_int = api.session.get(f"{path}?{SDK_ALT}", timeout=30).json()
    assert as_int["valueType"] == 1
    assert {k: v for k, v in as_int.items() if k != "valueType"} == {
        k: v for k, v in series.items() if k != "valueType"}
    listed = api.session.get(f"{api.url(run)}/timeSeries?{SDK_ALT}", timeout=30).json()
    assert listed["tensorboardTimeSeries"][0]["valueType"] == 1
    created = api.session.post(f"{api.url(run)}/timeSeries?{SDK_ALT}", timeout=30,
                               json={"displayName": "blob", "valueType": 3})
    assert created.status_code == 200, created.text
    assert created.json()["valueType"] == 3
    assert api.ok("GET", created.json()["name"])["valueType"] == "BLOB_SEQUENCE"
    # The decoded query form works too; without it names come back.
    assert api.ok("GET", series["name"], params={"$alt": "json;enum-encoding=int"})[
        "valueType"] == 1
    assert api.ok("GET", series["name"], params={"$alt": "json"})["valueType"] == "SCALAR"
    series_id = series["name"].rsplit("/", 1)[1]
    api.ok("POST", f"{run}:write", json={"timeSeriesData": [{
        "tensorboardTimeSeriesId": series_id, "valueType": 1,
        "values": [{"step": "3", "wallTime": "2024-05-01T12:00:00Z", "scalar": {"value": 1.5}}]}]})
    read = api.session.get(f"{path}:read?{SDK_ALT}", timeout=30).json()
    assert read["timeSeriesData"]["valueType"] == 1
    assert read["timeSeriesData"]["values"][0]["step"] == "3"  # int64 stays a string


# -- 3. operations (ref §2 Operations) -------------------------------------------------------


def assert_done_delete(operation: dict[str, Any], owner: str) -> None:
    assert set(operation) <= OPERATION_FIELDS
    assert re.fullmatch(re.escape(owner) + r"/operations/\d+", operation["name"])
    assert operation["metadata"]["@type"] == (
        "type.googleapis.com/google.cloud.aiplatform.v1.DeleteOperationMetadata")
    generic = operation["metadata"]["genericMetadata"]
    assert RFC3339.match(generic["createTime"]) and RFC3339.match(generic["updateTime"])
    assert operation["done"] is True
    assert operation["response"] == EMPTY_RESPONSE
    assert "error" not in operation


def test_deletes_return_operations_gettable_at_every_level(api: Api) -> None:
    board = api.tensorboard()
    experiment = api.experiment(board)
    run = api.run(experiment, "r1")["name"]
    series = api.time_series(run)["name"]
    owners = [series, run, experiment, board]  # delete from the leaf up
    operations = []
    for owner in owners:
        operation = api.ok("DELETE", owner)
        assert_done_delete(operation, owner)
        operations.append(operation)
        assert_aip193(api.call("GET", owner), 404, "NOT_FOUND")
    for operation in operations:
        for prefix in ("v1", "ui"):
            got = api.session.get(api.url(operation["name"], prefix), timeout=30)
            assert got.status_code == 200, (prefix, got.text)
            assert got.json() == operation
        # The project ID in the URL works as well as the number in the name.
        by_id = re.sub(r"^projects/\d+/", f"projects/{PROJECT}/", operation["name"])
        assert api.ok("GET", by_id) == operation
        listed = api.ok("GET", operation["name"].rsplit("/operations/", 1)[0] + "/operations")
        assert operation in listed["operations"]
    # The location level routes too: nothing lives there, so an ID is NOT_FOUND (a resource
    # error, not an unknown URL) and the list is empty.
    for prefix in ("v1", "ui"):
        missing = api.session.get(api.url(f"{LOCATION_PATH}/operations/123", prefix), timeout=30)
        error = assert_aip193(missing, 404, "NOT_FOUND")
        assert "requested URL" not in error["message"]
        listed = api.session.get(api.url(f"{LOCATION_PATH}/operations", prefix), timeout=30)
        assert listed.status_code == 200 and listed.json() == {}


def test_operation_is_done_on_the_third_poll(api: Api, emu: Emulator, experiment: str) -> None:
    api.run(experiment, "r1")
    emu.set_operation_polls(3)
    operation = api.ok("DELETE", f"{experiment}/runs/r1")
    assert "done" not in operation and "response" not in operation and "error" not in operation
    assert operation["metadata"]["genericMetadata"]["createTime"]
    assert_aip193(api.call("GET", f"{experiment}/runs/r1"), 404, "NOT_FOUND")  # applied at once
    for poll, prefix in enumerate(["ui", "v1"], start=1):
        pending = api.session.get(api.url(operation["name"], prefix), timeout=30).json()
        assert "done" not in pending, poll
        assert "response" not in pending and "error" not in pending
        assert pending["name"] == operation["name"]
    done = api.session.get(api.url(operation["name"], "ui"), timeout=30).json()
    assert done["done"] is True
    assert done["response"] == EMPTY_RESPONSE
    assert api.ok("GET", operation["name"]) == done  # stays done


def test_wait_cancel_delete_and_list_operations(api: Api, emu: Emulator, experiment: str) -> None:
    for rid in ("r1", "r2", "r3"):
        api.run(experiment, rid)
    emu.set_operation_polls(5)
    first = api.ok("DELETE", f"{experiment}/runs/r1")
    assert "done" not in first
    for prefix in ("v1", "ui"):
        waited = api.session.post(api.url(first["name"] + ":wait", prefix), timeout=30)
        assert waited.status_code == 200, waited.text
        assert waited.json()["done"] is True and waited.json()["response"] == EMPTY_RESPONSE
    second = api.ok("DELETE", f"{experiment}/runs/r2")
    assert api.ok("POST", second["name"] + ":cancel") == {}
    assert api.ok("GET", second["name"])["done"] is True
    # Listing does not count as a poll and shows each operation's state.
    third = api.ok("DELETE", f"{experiment}/runs/r3")
    owner = f"{experiment}/runs/r3"
    listed = api.ok("GET", f"{owner}/operations")
    assert [op["name"] for op in listed["operations"]] == [third["name"]]
    assert "done" not in listed["operations"][0]
    assert "done" not in api.ok("GET", f"{owner}/operations")["operations"][0]
    assert api.ok("DELETE", third["name"]) == {}
    assert_aip193(api.call("GET", third["name"]), 404, "NOT_FOUND")
    assert api.ok("GET", f"{owner}/operations") == {}
    for method, suffix in [("GET", ""), ("DELETE", ""), ("POST", ":cancel"), ("POST", ":wait")]:
        response = api.call(method, f"{experiment}/runs/r1/operations/42{suffix}")
        assert_aip193(response, 404, "NOT_FOUND")


def test_operations_list_pages(api: Api, emu: Emulator, experiment: str) -> None:
    board = experiment.split("/experiments/", maxsplit=1)[0]
    listed = api.ok("GET", f"{board}/operations")  # the tensorboard's create Operation
    assert [op["metadata"]["@type"].rsplit(".", 1)[1] for op in listed["operations"]] == [
        "CreateTensorboardOperationMetadata"]
    assert listed["operations"][0]["response"]["name"] == board
    owner = f"{experiment}/runs/r1"
    ops = []
    for _ in range(5):
        api.run(experiment, "r1")
        ops.append(api.ok("DELETE", owner)["name"])
    walked: list[str] = []
    token = None
    pages = 0
    while True:
        params: dict[str, Any] = {"pageSize": 2, **({"pageToken": token} if token else {})}
        body = api.ok("GET", f"{owner}/operations", params=params)
        walked += [op["name"] for op in body["operations"]]
        pages += 1
        token = body.get("nextPageToken")
        if not token:
            break
    assert walked == ops and pages == 3
    assert len(set(ops)) == 5
    for prefix in ("v1", "ui"):
        listed = api.session.get(api.url(f"{owner}/operations", prefix), timeout=30)
        assert [op["name"] for op in listed.json()["operations"]] == ops
    bad = api.call("GET", f"{owner}/operations", params={"pageToken": "garbage"})
    assert_aip193(bad, 400, "INVALID_ARGUMENT")


# -- 4. faults, latency and counters (ref §7) ------------------------------------------------


def test_429_has_retry_after_and_error_info(api: Api, emu: Emulator, experiment: str) -> None:
    emu.set_faults(FaultPlan(rate=1.0, kinds=("429",), retry_after=7))
    response = api.call("GET", f"{experiment}/runs")
    error = assert_aip193(response, 429, "RESOURCE_EXHAUSTED")
    assert response.headers["Retry-After"] == "7"
    assert "Quota exceeded" in error["message"]
    assert error["details"] == [{
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "RATE_LIMIT_EXCEEDED",
        "domain": "googleapis.com",
        "metadata": {"service": "aiplatform.googleapis.com"},
    }]
    emu.set_faults(FaultPlan(rate=1.0, kinds=("429",)))
    response = api.call("GET", f"{experiment}/runs")
    assert response.status_code == 429 and "Retry-After" in response.headers
    assert int(response.headers["Retry-After"]) >= 0
    assert emu.stats()["faults"] == {"429": 2}


@pytest.mark.parametrize("case", [("500", 500, "INTERNAL"), ("503", 503, "UNAVAILABLE")])
def test_server_error_faults(api: Api, emu: Emulator, experiment: str,
                             case: tuple[str, int, str]) -> None:
    kind, status, rpc = case
    emu.set_faults(FaultPlan(rate=1.0, kinds=(kind,)))
    assert_aip193(api.call("GET", f"{experiment}/runs"), status, rpc)
    # An injected error happens before the method runs: a failed create writes nothing.
    assert_aip193(api.call("POST", f"{experiment}/runs", params={"tensorboardRunId": "r1"},
                           json={"displayName": "r1"}), status, rpc)
    emu.set_faults(None)
    assert_aip193(api.call("GET", f"{experiment}/runs/r1"), 404, "NOT_FOUND")


def test_reset_closes_the_connection(api: Api, emu: Emulator, experiment: str) -> None:
    emu.set_faults(FaultPlan(rate=1.0, kinds=("reset",)))
    with pytest.raises(requests.ConnectionError):
        api.call("POST", f"{experiment}/runs", params={"tensorboardRunId": "r1"},
                 json={"displayName": "r1"})
    with pytest.raises(requests.ConnectionError):
        requests.get(api.url(f"{experiment}/runs"), timeout=10)
    emu.set_faults(None)
    # A reset happens before the method runs: nothing was created, and the server still serves.
    assert_aip193(api.call("GET", f"{experiment}/runs/r1"), 404, "NOT_FOUND")
    assert emu.stats()["faults"] == {"reset": 2}


def test_lost_response_applies_the_create(api: Api, emu: Emulator, experiment: str) -> None:
    emu.set_faults(FaultPlan(rate=1.0, kinds=("lost_response",)))
    with pytest.raises(requests.ConnectionError):
        api.call("POST", f"{experiment}/runs", params={"tensorboardRunId": "r1"},
                 json={"displayName": "lost"})
    emu.set_faults(None)
    assert api.ok("GET", f"{experiment}/runs/r1")["displayName"] == "lost"
    retried = api.call("POST", f"{experiment}/runs", params={"tensorboardRunId": "r1"},
                       json={"displayName": "lost"})
    assert_aip193(retried, 409, "ALREADY_EXISTS")


def test_503_after_applies_the_write_then_answers_503(api: Api, emu: Emulator,
                                                     experiment: str) -> None:
    emu.set_faults(FaultPlan(rate=1.0, kinds=("503_after",)))
    created = api.call("POST", f"{experiment}/runs", params={"tensorboardRunId": "r1"},
                       json={"displayName": "applied"})
    assert_aip193(created, 503, "UNAVAILABLE")
    patched = api.call("PATCH", f"{experiment}/runs/r1", params={"updateMask": "description"},
                       json={"description": "patched"})
    assert_aip193(patched, 503, "UNAVAILABLE")
    # A request the method refuses changes nothing: it keeps its own answer.
    duplicate = api.call("POST", f"{experiment}/runs", params={"tensorboardRunId": "r1"},
                         json={"displayName": "other"})
    assert_aip193(duplicate, 409, "ALREADY_EXISTS")
    emu.set_faults(None)
    run = api.ok("GET", f"{experiment}/runs/r1")
    assert (run["displayName"], run["description"]) == ("applied", "patched")
    emu.set_faults(FaultPlan(rate=1.0, kinds=("503_after",), methods=("runs.delete",)))
    assert_aip193(api.call("DELETE", f"{experiment}/runs/r1"), 503, "UNAVAILABLE")
    emu.set_faults(None)
    assert_aip193(api.call("GET", f"{experiment}/runs/r1"), 404, "NOT_FOUND")
    assert emu.stats()["faults"] == {"503_after": 4}
    assert emu.calls("runs.create") == 2 and emu.calls("runs.delete") == 1
    emu.set_faults(FaultPlan(rate=1.0, kinds=("503_after",), methods=("runs.delete",)))
    assert_aip193(api.call("DELETE", f"{experiment}/runs/r1"), 404, "NOT_FOUND")


def test_503_before_and_503_after_differ_only_in_the_effect(api: Api, emu: Emulator,
                                                             experiment: str) -> None:
    answers = {}
    for kind in ("503", "503_after"):
        emu.set_faults(FaultPlan(rate=1.0, kinds=(kind,)))
        rid = "r-" + kind.replace("_", "-")
        response = api.call("POST", f"{experiment}/runs", params={"tensorboardRunId": rid},
                            json={"displayName": kind})
        answers[kind] = (response.status_code, response.json())
    emu.set_faults(None)
    assert answers["503"] == answers["503_after"]
    assert_aip193(api.call("GET", f"{experiment}/runs/r-503"), 404, "NOT_FOUND")
    assert api.ok("GET", f"{experiment}/runs/r-503-after")["displayName"] == "503_after"


def test_503_after_is_a_known_kind_of_the_control_endpoint(api: Api, emu: Emulator,
                                                          experiment: str) -> None:
    configured = requests.post(f"{emu.url}/emulator/config", timeout=30, json={
        "faults": {"rate": 1.0, "kinds": ["503_after"], "methods": ["runs.create"]}})
    assert configured.status_code == 200, configured.text
    assert_aip193(api.call("POST", f"{experiment}/runs", params={"tensorboardRunId": "c1"},
                           json={"displayName": "c1"}), 503, "UNAVAILABLE")
    emu.set_faults(None)
    assert api.ok("GET", f"{experiment}/runs/c1")["displayName"] == "c1"
    with pytest.raises(ValueError, match="unknown fault kinds"):
        FaultPlan(rate=1.0, kinds=("503_late",))


def test_slow_fault_and_latency(api: Api, emu: Emulator, experiment: str) -> None:
    emu.set_faults(FaultPlan(rate=1.0, kinds=("slow",), slow_seconds=0.25))
    started = time.monotonic()
    assert api.ok("GET", f"{experiment}/runs") == {}
    assert time.monotonic() - started >= 0.25
    emu.set_faults(None)
    emu.set_latency(50)
    for method, path in [("GET", f"{experiment}/runs"), ("GET", f"{experiment}/runs/nope")]:
        started = time.monotonic()
        api.call(method, path)
        assert time.monotonic() - started >= 0.05
    emu.set_latency(0)
    started = time.monotonic()
    for _ in range(5):
        api.ok("GET", f"{experiment}/runs")
    assert time.monotonic() - started < 0.25  # five calls without the 50 ms each
    assert emu.stats()["faults"] == {"slow": 1}


def test_faults_limited_to_methods(api: Api, emu: Emulator, experiment: str) -> None:
    api.run(experiment, "r1")
    emu.set_faults(FaultPlan(rate=1.0, kinds=("503",), methods=("runs.list",)))
    for _ in range(3):
        assert_aip193(api.call("GET", f"{experiment}/runs"), 503, "UNAVAILABLE")
        assert api.ok("GET", f"{experiment}/runs/r1")["displayName"] == "r1"
    emu.set_faults(FaultPlan(rate=1.0, kinds=("500",), methods=("runs.*",)))
    assert api.call("GET", f"{experiment}/runs/r1").status_code == 500
    assert api.ok("GET", experiment)["name"] == experiment  # experiments.get is spared
    assert emu.stats()["faults"] == {"503": 3, "500": 1}


def _statuses(session: requests.Session, url: str, count: int) -> list[int]:
    return [session.get(url, timeout=30).status_code for _ in range(count)]


def test_faults_are_deterministic_per_seed(api: Api, emu: Emulator, experiment: str) -> None:
    url = api.url(f"{experiment}/runs")
    plan = FaultPlan(rate=0.5, kinds=("429", "500", "503"), seed=1234)
    emu.set_faults(plan)
    first = _statuses(api.session, url, 60)
    emu.set_faults(plan)  # configuring again restarts the sequence
    assert _statuses(api.session, url, 60) == first
    assert set(first) == {200, 429, 500, 503}
    with Emulator() as other:
        fresh = Api(other)
        other_experiment = fresh.experiment()
        other.set_faults(plan)
        assert _statuses(fresh.session, fresh.url(f"{other_experiment}/runs"), 60) == first
    emu.set_faults(FaultPlan(rate=0.5, kinds=("429", "500", "503"), seed=4321))
    assert _statuses(api.session, url, 60) != first


def test_fault_rate_is_roughly_honoured(api: Api, emu: Emulator, experiment: str) -> None:
    emu.set_faults(FaultPlan(rate=0.2, kinds=("429", "503"), seed=99))
    emu.reset_stats()
    statuses = _statuses(api.session, api.url(f"{experiment}/runs"), 500)
    failed = sum(status != 200 for status in statuses)
    assert 60 <= failed <= 140, failed  # 100 expected; the band is over 4 standard deviations
    stats = emu.stats()
    assert stats["calls"] == {"runs.list": 500}
    assert sum(stats["faults"].values()) == failed
    assert stats["faults"].get("429", 0) == statuses.count(429)
    assert stats["faults"].get("503", 0) == statuses.count(503)


def test_counters_over_python_and_http(api: Api, emu: Emulator, experiment: str) -> None:
    emu.reset_stats()
    api.run(experiment, "r1")
    for _ in range(3):
        api.ok("GET", f"{experiment}/runs")
    api.ok("GET", f"{experiment}/runs/r1")
    api.call("GET", f"{experiment}/runs/nope")
    api.call("GET", "nowhere/at/all")
    api.ok("DELETE", f"{experiment}/runs/r1")
    expected = {"runs.create": 1, "runs.list": 3, "runs.get": 2, "runs.delete": 1, "unknown": 1}
    assert emu.stats() == {"calls": expected, "faults": {}}
    assert emu.calls("runs.list") == 3 and emu.calls("runs.patch") == 0
    over_http = requests.get(emu.url + "/emulator/stats", timeout=10)
    assert over_http.status_code == 200 and over_http.json() == {"calls": expected, "faults": {}}
    reset = requests.post(emu.url + "/emulator/stats:reset", timeout=10)
    assert reset.status_code == 200
    assert emu.stats() == {"calls": {}, "faults": {}}
    assert requests.get(emu.url + "/emulator/stats", timeout=10).json() == {
        "calls": {}, "faults": {}}
    assert requests.get(emu.url + "/emulator/health", timeout=10).json() == {"status": "ok"}


def test_config_over_http(api: Api, emu: Emulator, experiment: str) -> None:
    config = emu.url + "/emulator/config"
    api.run(experiment, "r1")
    api.run(experiment, "r2")

    def configure(body: Any) -> None:
        response = requests.post(config, json=body, timeout=10)
        assert response.status_code == 200 and response.json() == {}, response.text

    configure({"faults": {"rate": 1, "kinds": ["503"], "methods": ["runs.get"], "seed": 3,
                          "retryAfter": 2}})
    assert_aip193(api.call("GET", f"{experiment}/runs/r1"), 503, "UNAVAILABLE")
    api.ok("GET", f"{experiment}/runs")
    configure({"faults": {"rate": 1, "kinds": ["429"], "retryAfter": 4}})
    assert api.call("GET", experiment).headers["Retry-After"] == "4"
    configure({"faults": None})
    api.ok("GET", f"{experiment}/runs/r1")
    configure({"latencyMs": 60})
    started = time.monotonic()
    api.ok("GET", f"{experiment}/runs")
    assert time.monotonic() - started >= 0.06
    configure({"latencyMs": 0, "operationPolls": 2})
    operation = api.ok("DELETE", f"{experiment}/runs/r1")
    assert "done" not in operation
    assert "done" not in api.ok("GET", operation["name"])
    assert api.ok("GET", operation["name"])["done"] is True
    configure({"requireAuth": True})
    assert_aip193(api.call("GET", f"{experiment}/runs"), 401, "UNAUTHENTICATED")
    token = emu.issue_token()
    assert api.call("GET", f"{experiment}/runs",
                    headers={"Authorization": f"Bearer {token}"}).status_code == 200
    configure({"requireAuth": False})
    api.ok("GET", f"{experiment}/runs")
    for bad in [{"faults": {"rate": 2}}, {"faults": {"kinds": ["nope"]}}, {"faults": {"kinds": []}},
                {"latencyMs": "slow"}, {"operationPolls": "x"}, {"faults": 5},
                {"faults": {"rate": "often"}}, [1, 2], "text", {"requireAuth": "false"},
                {"faults": {"methods": [1]}}]:
        response = requests.post(config, json=bad, timeout=10)
        assert_aip193(response, 400, "INVALID_ARGUMENT")
    # None of the rejected configurations took effect.
    api.ok("GET", f"{experiment}/runs/r2")
    assert emu.stats()["faults"] == {"503": 1, "429": 1}
    assert_aip193(requests.get(emu.url + "/emulator/nothing", timeout=10), 404, "NOT_FOUND")
    bad_json = requests.post(config, data=b"{nope", timeout=10)
    assert_aip193(bad_json, 400, "INVALID_ARGUMENT")


# -- 5. auth (ref §8) -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_secured() -> Iterator[Emulator]:
    with Emulator(require_auth=True, tokens=("static-token",)) as emulator:
        yield emulator


@pytest.fixture
def secured(shared_secured: Emulator) -> Emulator:
    shared_secured.reset_stats()
    return shared_secured


def test_requests_without_or_with_a_wrong_token_are_401(secured: Emulator) -> None:
    url = f"{secured.url}/v1/{LOCATION_PATH}/tensorboards"
    missing = assert_aip193(requests.get(url, timeout=10), 401, "UNAUTHENTICATED")
    assert missing["details"][0]["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"
    assert missing["details"][0]["reason"] == "CREDENTIALS_MISSING"
    for header in ["Bearer wrong", "Bearer", "Basic c3RhdGljLXRva2Vu", "static-token", ""]:
        response = requests.get(url, headers={"Authorization": header}, timeout=10)
        assert_aip193(response, 401, "UNAUTHENTICATED")
    token = secured.issue_token("someone")
    for header in [f"Bearer {token}", f"bearer {token}", "Bearer static-token"]:
        response = requests.get(url, headers={"Authorization": header}, timeout=10)
        assert response.status_code == 200, (header, response.text)
    # Unknown paths stay 404 with or without credentials; auth errors never leak data.
    assert requests.get(secured.url + "/v1/nowhere/a/b/c", timeout=10).status_code == 404
    assert secured.stats()["calls"]["tensorboards.list"] == 9


def _service_account_info(emulator: Emulator, email: str = "sa@p1.iam.gserviceaccount.com",
                          ) -> dict[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return {
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": "0123456789abcdef",
        "private_key": pem,
        "client_email": email,
        "client_id": "1234567890",
        "token_uri": emulator.token_uri,
    }


def test_service_account_key_lists_runs(secured: Emulator) -> None:
    from google.auth.transport.requests import AuthorizedSession
    from google.oauth2 import service_account

    api = Api(secured)
    api.session.headers["Authorization"] = "Bearer static-token"
    experiment = api.experiment()
    api.run(experiment, "r1")
    info = _service_account_info(secured)
    credentials = service_account.Credentials.from_service_account_info(info, scopes=[SCOPE])
    session = AuthorizedSession(credentials)
    response = session.get(api.url(f"{experiment}/runs"), timeout=30)
    assert response.status_code == 200, response.text
    assert [r["displayName"] for r in response.json()["tensorboardRuns"]] == ["r1"]
    assert credentials.valid and credentials.token
    assert secured.auth.principal(credentials.token) == info["client_email"]
    assert secured.stats()["calls"]["oauth.token"] == 1


def test_authorized_user_credentials_refresh(secured: Emulator) -> None:
    from google.auth.transport.requests import AuthorizedSession, Request
    from google.oauth2.credentials import Credentials

    credentials = Credentials(token=None, refresh_token="1//refresh", client_id="client-1",
                              client_secret="secret", token_uri=secured.token_uri,
                              scopes=[SCOPE])
    credentials.refresh(Request())
    first = credentials.token
    assert first and credentials.expiry is not None
    session = AuthorizedSession(credentials)
    response = session.get(f"{secured.url}/v1/{LOCATION_PATH}/tensorboards", timeout=30)
    assert response.status_code == 200, response.text
    credentials.refresh(Request())
    assert credentials.token != first
    assert session.get(f"{secured.url}/v1/{LOCATION_PATH}/tensorboards",
                       timeout=30).status_code == 200


def test_impersonated_credentials(secured: Emulator) -> None:
    from google.auth import impersonated_credentials
    from google.auth.transport.requests import AuthorizedSession
    from google.oauth2 import service_account

    source = service_account.Credentials.from_service_account_info(
        _service_account_info(secured), scopes=[SCOPE])
    target = "target@p1.iam.gserviceaccount.com"
    # google-auth uses iam_endpoint_override as given: the full URL, principal embedded.
    endpoint = f"{secured.url}/v1/projects/-/serviceAccounts/{target}:generateAccessToken"
    credentials = impersonated_credentials.Credentials(
        source_credentials=source, target_principal=target, target_scopes=[SCOPE],
        iam_endpoint_override=endpoint, lifetime=600)
    session = AuthorizedSession(credentials)
    response = session.get(f"{secured.url}/v1/{LOCATION_PATH}/tensorboards", timeout=30)
    assert response.status_code == 200, response.text
    assert secured.auth.principal(credentials.token) == target
    assert secured.stats()["calls"]["iam.generateAccessToken"] == 1
    # The IAM endpoint wants the source's token and a scope.
    unauthenticated = requests.post(endpoint, json={"scope": [SCOPE]}, timeout=10)
    assert_aip193(unauthenticated, 401, "UNAUTHENTICATED")
    no_scope = requests.post(endpoint, json={}, timeout=10,
                             headers={"Authorization": "Bearer static-token"})
    assert_aip193(no_scope, 400, "INVALID_ARGUMENT")


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": "abc"},
         "invalid_grant"),
        ({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": "a.b.c"},
         "invalid_grant"),
        ({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": "a.W10.c"},
         "invalid_grant"),
        ({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
          "assertion": "a." + base64.urlsafe_b64encode(b'{"iss": "x", "exp": 1}').decode()
          + ".c"}, "invalid_grant"),
        ({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
          "assertion": "a.%%%.c"}, "invalid_grant"),
        ({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer"}, "invalid_grant"),
        ({"grant_type": "refresh_token"}, "invalid_request"),
        ({"grant_type": "password", "username": "u"}, "unsupported_grant_type"),
        ({}, "unsupported_grant_type"),
    ],
)
def test_token_endpoint_oauth_errors(secured: Emulator, form: dict[str, str], error: str) -> None:
    response = requests.post(secured.token_uri, data=form, timeout=10)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == error and body["error_description"]
    assert set(body) == {"error", "error_description"}


def test_token_endpoint_rejects_a_non_utf8_body(secured: Emulator) -> None:
    response = requests.post(secured.token_uri, data=b"grant_type=\xff", timeout=10)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_google_auth_reports_a_bad_assertion(secured: Emulator,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """An expired assertion through google-auth: the OAuth2 error reaches the caller."""
    import google.auth._helpers as helpers
    from google.auth import exceptions
    from google.auth.transport.requests import Request
    from google.oauth2 import service_account

    credentials = service_account.Credentials.from_service_account_info(
        _service_account_info(secured), scopes=[SCOPE])
    real_utcnow = helpers.utcnow
    monkeypatch.setattr(helpers, "utcnow", lambda: real_utcnow().replace(year=2000))
    with pytest.raises(exceptions.RefreshError, match="invalid_grant"):
        credentials.refresh(Request())


# -- 6. malformed input (ref §7) -------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"{bad", b"[1, 2]", b'"text"', b"null", b"42", b'{"displayName": 5}',
     b'{"displayName": "a", "labels": "x"}', b'{"displayName": "a", "labels": {"a": 1}}',
     b'{"displayName": "a", "labels": ["a"]}', b'{"displayName": "a", "foo": 1}',
     b'{"displayName": ["a"]}', b'{"displayName": {"a": "b"}}', b'{"displayName": true}',
     b'{"displayName": "a", "description": 1.5}', b'{"displayName": "a", "labels": {"A": "b"}}',
     b"\xff\xfe{\x00}\x00", b'{"displayName": "\xc3\x28"}', b'{"displayName": "a\\ud800"}',
     b'{"displayName": "a"', b'{"displayName": "a"} trailing', b"{" * 50000, b"[" * 100000,
     b'{"displayName": "a", "labels": ' + b'{"a": ' * 20000,
     b'{"displayName": NaN}', b'{"displayName": ""}', b"{}"],
)
def test_bad_create_and_patch_bodies_are_400(api: Api, experiment: str, body: bytes) -> None:
    api.run(experiment, "existing")
    created = api.call("POST", f"{experiment}/runs", params={"tensorboardRunId": "new"},
                       data=body, headers={"Content-Type": "application/json"})
    assert_aip193(created, 400, "INVALID_ARGUMENT")
    if body in (b"{}", b'{"displayName": ""}'):
        return  # a patch may leave everything as it is, or clear optional fields
    patched = api.call("PATCH", f"{experiment}/runs/existing", data=body,
                       headers={"Content-Type": "application/json"})
    assert_aip193(patched, 400, "INVALID_ARGUMENT")
    assert api.ok("GET", f"{experiment}/runs/existing")["displayName"] == "existing"
    assert_aip193(api.call("GET", f"{experiment}/runs/new"), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"), ("GET", "/v1"), ("GET", "/v1/projects"), ("GET", "/v2/projects/p/x/y"),
        ("GET", f"/v1/{LOCATION_PATH}"), ("GET", f"/v1/{LOCATION_PATH}/foo"),
        ("GET", f"/v1/{LOCATION_PATH}/tensorboards/1/runs"),
        ("GET", f"/v1/{LOCATION_PATH}/tensorboards:frobnicate"),
        ("GET", f"/v1/{LOCATION_PATH}//tensorboards"),
        ("GET", f"/v1/{LOCATION_PATH}/tensorboards/1/experiments/e/runs/r/timeSeries/t/x"),
        ("GET", f"/v1/{LOCATION_PATH}/operations/1/2"),
        ("GET", f"/v1/{LOCATION_PATH}/tensorboards/1/experiments/e/runs:batchCreate"),
        ("PUT", f"/v1/{LOCATION_PATH}/tensorboards/1/experiments/e/runs/r"),
        ("POST", f"/v1/{LOCATION_PATH}/tensorboards/1/experiments/e/runs/r"),
        ("DELETE", f"/v1/{LOCATION_PATH}/tensorboards/1/experiments/e/runs"),
        ("PATCH", f"/v1/{LOCATION_PATH}/tensorboards/1/experiments/e/runs"),
        ("POST", f"/v1/{LOCATION_PATH}/tensorboards/1/experiments/e/runs/r:frobnicate"),
        ("OPTIONS", f"/v1/{LOCATION_PATH}/tensorboards"),
        ("TRACE", f"/v1/{LOCATION_PATH}/tensorboards"),
        ("FROB", f"/v1/{LOCATION_PATH}/tensorboards"),
        ("CONNECT", "/v1/x"),
    ],
)
def test_unknown_paths_and_methods_are_404(emu: Emulator, method: str, path: str) -> None:
    status, headers, body = raw_request(emu, method, path, body=b"{}" if method in (
        "POST", "PUT", "PATCH") else None)
    assert headers["content-type"].startswith("application/json")
    error = assert_aip193((status, body), 404, "NOT_FOUND")
    assert "<html" not in error["message"].lower()
    # The same connection-less server keeps serving.
    assert raw_request(emu, "GET", f"/v1/{LOCATION_PATH}/tensorboards")[0] == 200


def test_head_is_404_without_a_body(emu: Emulator) -> None:
    status, headers, body = raw_request(emu, "HEAD", f"/v1/{LOCATION_PATH}/tensorboards")
    assert status == 404 and body == b""
    assert headers["content-type"].startswith("application/json")


def test_body_over_the_limit_is_400_and_the_server_keeps_serving() -> None:
    with Emulator(max_body_bytes=1024) as small:
        api = Api(small)
        experiment = api.experiment()
        big = json.dumps({"displayName": "x" * 2000}).encode()
        for attempt in range(3):
            response = api.call("POST", f"{experiment}/runs", params={"tensorboardRunId": "r1"},
                                data=big, headers={"Content-Type": "application/json"})
            error = assert_aip193(response, 400, "INVALID_ARGUMENT")
            assert "1024" in error["message"], attempt
            # The unread body spoils the connection: the server closes it and must say so, or
            # a keep-alive client sends its next request into the closing socket.
            assert response.headers["Connection"] == "close"
            assert api.ok("GET", f"{experiment}/runs") == {}

        def chunks() -> Iterator[bytes]:
            yield b'{"displayName": "'
            for _ in range(40):
                yield b"y" * 100
            yield b'"}'

        chunked = api.call("POST", f"{experiment}/runs", params={"tensorboardRunId": "r2"},
                           data=chunks())
        assert_aip193(chunked, 400, "INVALID_ARGUMENT")
        assert chunked.headers["Connection"] == "close"
        small_enough = json.dumps({"displayName": "z" * 900}).encode()
        assert len(small_enough) < 1024
        api.ok("POST", f"{experiment}/runs", params={"tensorboardRunId": "r3"},
               data=small_enough, headers={"Content-Type": "application/json"})
        assert [r["name"].rsplit("/", 1)[1] for r in
                api.ok("GET", f"{experiment}/runs")["tensorboardRuns"]] == ["r3"]


def test_chunked_transfer_encoding(api: Api, emu: Emulator, experiment: str) -> None:
    def pieces() -> Iterator[bytes]:
        yield b'{"displayName": "chunky",'
        yield b' "labels": {"k": "v"}}'

    response = api.call("POST", f"{experiment}/runs", params={"tensorboardRunId": "r1"},
                        data=pieces(), headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.json()["labels"] == {"k": "v"}
    # Hand-made chunks with an extension, on a kept-alive connection that then serves again.
    connection = http.client.HTTPConnection(emu.host, emu.port, timeout=10)
    try:
        body = b'{"displayName": "hand"}'
        connection.putrequest("POST", f"/v1/{experiment}/runs?tensorboardRunId=r2")
        connection.putheader("Transfer-Encoding", "chunked")
        connection.putheader("Content-Type", "application/json")
        connection.endheaders()
        connection.send(b"5;ext=1\r\n" + body[:5] + b"\r\n")
        connection.send(f"{len(body) - 5:x}\r\n".encode() + body[5:] + b"\r\n0\r\n\r\n")
        first = connection.getresponse()
        assert first.status == 200, first.read()
        assert json.loads(first.read())["displayName"] == "hand"
        connection.request("GET", f"/v1/{experiment}/runs/r2")
        again = connection.getresponse()
        assert again.status == 200 and json.loads(again.read())["displayName"] == "hand"
    finally:
        connection.close()
    answer = raw_socket(emu, (f"POST /v1/{experiment}/runs?tensorboardRunId=r3 HTTP/1.1\r\n"
                              "Host: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").encode())
    status, raw = split_response(answer)
    assert status == 400 and json.loads(raw)["error"]["status"] == "INVALID_ARGUMENT"


def test_broken_requests_never_get_a_5xx(emu: Emulator, api: Api, experiment: str) -> None:
    target = f"/v1/{experiment}/runs?tensorboardRunId=r1"
    cases = [
        f"POST {target} HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        f"POST {target} HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        "GET /v1/%ff%fe HTTP/1.1\r\nHost: x\r\n\r\n",
        f"GET /v1/{experiment}/runs?filter=%ff%fe HTTP/1.1\r\nHost: x\r\n\r\n",
        f"GET /v1/{experiment}/runs?pageSize=%00 HTTP/1.1\r\nHost: x\r\n\r\n",
        f"GET /v1/{experiment}/runs?{'x' * 70000} HTTP/1.1\r\nHost: x\r\n\r\n",
        "GARBAGE\r\n\r\n",
        "GET / HTTP/9.9\r\nHost: x\r\n\r\n",
    ]
    for case in cases:
        answer = raw_socket(emu, case.encode("latin-1"))
        status, body = split_response(answer)
        assert 400 <= status < 500, (case[:60], answer[:300])
        error = json.loads(body)["error"]
        assert error["code"] == status and error["status"] in ("INVALID_ARGUMENT", "NOT_FOUND")
    assert api.ok("GET", f"{experiment}/runs") == {}


# -- hypothesis: arbitrary bodies and query strings never produce a 5xx ------------------------


@pytest.fixture(scope="module")
def fuzz_target() -> Iterator[tuple[Emulator, str]]:
    with Emulator() as emulator:
        api = Api(emulator)
        experiment = api.experiment()
        api.batch(experiment, [f"r{i}" for i in range(12)])
        yield emulator, experiment


_FIELD_NAMES = st.sampled_from(["displayName", "display_name", "description", "labels", "etag",
                                "name", "createTime", "updateTime", "foo", "labels.k", ""])
# Lone surrogates included: json.dumps escapes them (`"\\ud800"`), which is valid JSON text.
_TEXT = st.text(st.characters() | st.characters(categories=["Cs"]), max_size=12)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _TEXT,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(_FIELD_NAMES | _TEXT, children, max_size=4),
    max_leaves=12,
)
_BODIES = (st.dictionaries(_FIELD_NAMES, _JSON, max_size=4) | _JSON).map(
    lambda value: json.dumps(value).encode())
_QUERY_KEYS = st.sampled_from(["filter", "pageSize", "orderBy", "readMask", "pageToken", "$alt",
                               "prettyPrint", "updateMask", "tensorboardRunId", "alt"]) | _TEXT
_QUERY_VALUES = st.sampled_from(['display_name = "r1"', "labels:k", "-1", "0", "5", "1001",
                                 "display_name desc", "displayName,labels", "json", "false",
                                 "create_time > 2024", "(", '"', "r-1"]) | _TEXT
_QUERIES = st.lists(st.tuples(_QUERY_KEYS, _QUERY_VALUES), max_size=5)


def _check_fuzz_answer(response: requests.Response) -> None:
    assert response.status_code < 500, response.text[:500]
    if response.status_code == 200:
        assert isinstance(response.json(), dict)
        return
    assert 400 <= response.status_code < 500
    error = response.json()["error"]
    assert set(error) <= {"code", "message", "status", "details"}
    assert error["code"] == response.status_code and isinstance(error["message"], str)
    assert error["status"] in {"INVALID_ARGUMENT", "NOT_FOUND", "ALREADY_EXISTS", "ABORTED",
                               "FAILED_PRECONDITION"}


def _encode(query: list[tuple[str, str]]) -> str:
    return urlencode(query, safe="$", encoding="utf-8", errors="surrogatepass")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=_BODIES, query=_QUERIES)
def test_fuzz_create_and_patch(fuzz_target: tuple[Emulator, str], body: bytes,
                               query: list[tuple[str, str]]) -> None:
    emulator, experiment = fuzz_target
    base = f"{emulator.url}/v1/{experiment}/runs"
    headers = {"Content-Type": "application/json"}
    created = requests.post(f"{base}?{_encode(query)}", data=body, headers=headers, timeout=30)
    _check_fuzz_answer(created)
    patched = requests.patch(f"{base}/r1?{_encode(query)}", data=body, headers=headers,
                             timeout=30)
    _check_fuzz_answer(patched)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=_QUERIES)
def test_fuzz_list_queries(fuzz_target: tuple[Emulator, str], query: list[tuple[str, str]]) -> None:
    emulator, experiment = fuzz_target
    response = requests.get(f"{emulator.url}/v1/{experiment}/runs?{_encode(query)}", timeout=30)
    _check_fuzz_answer(response)
    if response.status_code == 200:
        body = response.json()
        assert set(body) <= {"tensorboardRuns", "nextPageToken"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.binary(max_size=200), path=st.text(st.characters(min_codepoint=33,
                                                                max_codepoint=0x2FF),
                                                  max_size=30))
def test_fuzz_raw_bodies_and_paths(fuzz_target: tuple[Emulator, str], raw: bytes,
                                   path: str) -> None:
    emulator, experiment = fuzz_target
    headers = {"Content-Type": "application/json"}
    response = requests.post(f"{emulator.url}/v1/{experiment}/runs?tensorboardRunId=fz",
                             data=raw, headers=headers, timeout=30)
    _check_fuzz_answer(response)
    odd = requests.get(f"{emulator.url}/v1/{experiment}/{quote(path, safe='/:')}", timeout=30)
    _check_fuzz_answer(odd)


# -- 7. replay of the official SDK's requests (ref §9) ---------------------------------------


class Replay:
    """One kept-alive connection, as the SDK's requests session uses, sending exact bytes."""

    def __init__(self, emulator: Emulator) -> None:
        self.connection = http.client.HTTPConnection(emulator.host, emulator.port, timeout=30)
        self.headers = {
            "Content-Type": "application/json",
            "x-goog-api-client": "gl-python/3.11.7 grpc/1.0 gax/2.0 rest/2.0 gapic/1.0",
            "Accept-Encoding": "gzip, deflate",
            "Accept": "*/*",
        }

    def send(self, method: str, path: str, body: bytes | None = None,
             ) -> tuple[int, dict[str, str], Any]:
        self.connection.request(method, path, body=body, headers=self.headers)
        response = self.connection.getresponse()
        raw = response.read()
        headers = {k.lower(): v for k, v in response.getheaders()}
        assert headers["content-type"].startswith("application/json")
        assert int(headers["content-length"]) == len(raw)
        return response.status, headers, json.loads(raw)

    def close(self) -> None:
        self.connection.close()


def assert_run_shape(run: dict[str, Any], name: str) -> None:
    assert set(run) <= RUN_FIELDS, set(run) - RUN_FIELDS
    assert run["name"] == name
    assert RFC3339.match(run["createTime"]) and RFC3339.match(run["updateTime"])
    assert isinstance(run["etag"], str) and run["etag"]
    assert isinstance(run.get("labels", {}), dict)


@pytest.fixture
def replay(emu: Emulator) -> Iterator[tuple[Replay, str, str]]:
    """The replay connection, the experiment path as the SDK writes it (project ID) and the
    experiment's canonical name (project number)."""
    api = Api(emu)
    experiment = api.experiment()
    sdk_path = "/v1/" + re.sub(r"^projects/\d+/", f"projects/{PROJECT}/", experiment)
    player = Replay(emu)
    yield player, sdk_path, experiment
    player.close()


def test_sdk_1_get_run(replay: tuple[Replay, str, str], api: Api) -> None:
    player, prefix, experiment = replay
    api.run(experiment, "r1", "My Run", labels={"k": "v"})
    status, _, body = player.send("GET", f"{prefix}/runs/r1?{SDK_ALT}")
    assert status == 200
    assert_run_shape(body, f"{experiment}/runs/r1")
    assert body["displayName"] == "My Run" and body["labels"] == {"k": "v"}
    # Names carry the project number even though the request used the project ID (ref §1).
    assert body["name"].split("/")[1].isdigit()
    status, _, missing = player.send("GET", f"{prefix}/runs/r9?{SDK_ALT}")
    assert status == 404 and missing["error"]["status"] == "NOT_FOUND"


def test_sdk_2_list_runs_and_next_page(replay: tuple[Replay, str, str], api: Api) -> None:
    player, prefix, experiment = replay
    for rid in ("r1", "r2", "r3", "r4", "r5"):
        api.run(experiment, rid, rid, labels={"n": rid})
    exact = "filter=display_name+%3D+%22r1%22&pageSize=2&orderBy=create_time+desc" \
            "&readMask=displayName%2Clabels"
    status, _, body = player.send("GET", f"{prefix}/runs?{exact}")
    assert status == 200
    assert body == {"tensorboardRuns": [{"displayName": "r1", "labels": {"n": "r1"}}]}
    wildcard = "filter=display_name+%3D+%22r%2A%22&pageSize=2&orderBy=create_time+desc" \
               "&readMask=displayName%2Clabels"
    names: list[str] = []
    status, _, page = player.send("GET", f"{prefix}/runs?{wildcard}")
    pages = 1
    while True:
        assert status == 200 and set(page) <= {"tensorboardRuns", "nextPageToken"}
        assert all(set(run) == {"displayName", "labels"} for run in page["tensorboardRuns"])
        names += [run["displayName"] for run in page["tensorboardRuns"]]
        token = page.get("nextPageToken")
        if token is None:
            break
        # The SDK appends the token unencoded: it must be URL-safe as it stands.
        assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
        status, _, page = player.send("GET", f"{prefix}/runs?{wildcard}&pageToken={token}")
        pages += 1
    assert names == ["r5", "r4", "r3", "r2", "r1"] and pages == 3
    status, _, with_alt = player.send("GET", f"{prefix}/runs?{exact}&{SDK_ALT}")
    assert status == 200 and with_alt == body


def test_sdk_3_create_run(replay: tuple[Replay, str, str], api: Api) -> None:
    player, prefix, experiment = replay
    body = b'{"displayName":"My Run","description":"d","labels":{"k":"v"}}'
    status, _, run = player.send("POST", f"{prefix}/runs?tensorboardRunId=run-1", body)
    assert status == 200
    assert_run_shape(run, f"{experiment}/runs/run-1")
    assert (run["displayName"], run["description"], run["labels"]) == ("My Run", "d", {"k": "v"})
    assert run["createTime"] == run["updateTime"]
    assert api.ok("GET", f"{experiment}/runs/run-1") == run
    # An unset ID reaches the wire as an empty `tensorboardRunId=`. The run ID is required
    # (ref §2), so the emulator answers 400 INVALID_ARGUMENT (service._new_id) and makes nothing.
    status, _, error = player.send("POST", f"{prefix}/runs?tensorboardRunId=",
                                   b'{"displayName":"Other"}')
    assert status == 400 and error["error"]["status"] == "INVALID_ARGUMENT"
    assert "tensorboard_run_id" in error["error"]["message"]
    assert [r["name"] for r in api.ok("GET", f"{experiment}/runs")["tensorboardRuns"]] == [
        run["name"]]
    # The duplicate display name text the SDK's create-or-get matches on (ref §3).
    status, _, error = player.send("POST", f"{prefix}/runs?tensorboardRunId=run-2", body)
    assert status == 400 and "already exist" in error["error"]["message"]
    status, _, error = player.send("POST", f"{prefix}/runs?tensorboardRunId=run-1",
                                   b'{"displayName":"Another"}')
    assert status == 409 and error["error"]["status"] == "ALREADY_EXISTS"


def test_sdk_4_batch_create(replay: tuple[Replay, str, str], api: Api) -> None:
    player, prefix, experiment = replay
    sdk_parent = prefix[len("/v1/"):]
    # The parent in the body is written as the caller wrote it: with the project ID.
    body = json.dumps({"requests": [
        {"parent": sdk_parent, "tensorboardRun": {"displayName": "a"}, "tensorboardRunId": "a"},
        {"parent": experiment, "tensorboardRun": {"displayName": "b"}, "tensorboardRunId": "b"},
    ]}, separators=(",", ":")).encode()
    status, _, answer = player.send("POST", f"{prefix}/runs:batchCreate", body)
    assert status == 200 and set(answer) == {"tensorboardRuns"}
    assert [r["name"] for r in answer["tensorboardRuns"]] == [
        f"{experiment}/runs/a", f"{experiment}/runs/b"]
    for run in answer["tensorboardRuns"]:
        assert_run_shape(run, run["name"])
    # A mismatched parent fails the whole batch.
    bad = body.replace(b'"tensorboardRunId":"a"', b'"tensorboardRunId":"c"').replace(
        b'"tensorboardRunId":"b"', b'"tensorboardRunId":"d"').replace(
        experiment.encode(), (experiment + "x").encode())
    status, _, error = player.send("POST", f"{prefix}/runs:batchCreate", bad)
    assert status == 400 and error["error"]["status"] == "INVALID_ARGUMENT"
    assert len(api.ok("GET", f"{experiment}/runs")["tensorboardRuns"]) == 2


def test_sdk_5_patch_with_mask_and_etag(replay: tuple[Replay, str, str], api: Api) -> None:
    player, prefix, experiment = replay
    before = api.run(experiment, "r1", "old", labels={"x": "y"}, description="keep")
    body = json.dumps({"displayName": "new", "labels": {"a": "b"}, "etag": before["etag"]},
                      separators=(",", ":")).encode()
    status, _, run = player.send("PATCH", f"{prefix}/runs/r1?updateMask=displayName%2Clabels",
                                 body)
    assert status == 200
    assert_run_shape(run, f"{experiment}/runs/r1")
    assert (run["displayName"], run["labels"], run["description"]) == ("new", {"a": "b"}, "keep")
    assert run["etag"] != before["etag"] and run["updateTime"] > before["updateTime"]
    assert run["createTime"] == before["createTime"]
    status, _, error = player.send("PATCH", f"{prefix}/runs/r1?updateMask=displayName%2Clabels",
                                   body)  # the old etag again
    assert status == 409 and error["error"]["status"] == "ABORTED"
    assert api.ok("GET", f"{experiment}/runs/r1") == run


def test_sdk_6_delete_and_poll_ui_operation(replay: tuple[Replay, str, str], api: Api,
                                            emu: Emulator) -> None:
    player, prefix, experiment = replay
    api.run(experiment, "r1")
    emu.set_operation_polls(2)
    status, _, operation = player.send("DELETE", f"{prefix}/runs/r1?{SDK_ALT}")
    assert status == 200 and set(operation) <= OPERATION_FIELDS
    assert re.fullmatch(re.escape(experiment) + r"/runs/r1/operations/\d+", operation["name"])
    assert "done" not in operation
    polls = []
    for _ in range(5):
        status, _, polled = player.send("GET", f"/ui/{operation['name']}")
        assert status == 200 and set(polled) <= OPERATION_FIELDS
        polls.append(polled)
        if polled.get("done"):
            break
    assert len(polls) == 2
    assert polls[-1]["done"] is True and polls[-1]["response"] == EMPTY_RESPONSE
    assert polls[-1]["metadata"]["@type"].endswith(".DeleteOperationMetadata")
    status, _, _ = player.send("GET", f"{prefix}/runs/r1?{SDK_ALT}")
    assert status == 404


def test_sdk_7_write_with_integer_value_type(replay: tuple[Replay, str, str], api: Api) -> None:
    player, prefix, experiment = replay
    run = api.run(experiment, "r1")["name"]
    series = api.time_series(run)["name"].rsplit("/", 1)[1]
    body = (
        '{"timeSeriesData":[{"tensorboardTimeSeriesId":"SERIES","valueType":1,"values":'
        '[{"wallTime":"2024-05-01T12:34:56.123Z","step":"5","scalar":{"value":0.5}}]}]}'
    ).replace("SERIES", series).encode()
    status, _, answer = player.send("POST", f"{prefix}/runs/r1:write", body)
    assert status == 200 and answer == {}
    status, _, read = player.send("GET", f"{prefix}/runs/r1/timeSeries/{series}:read?{SDK_ALT}")
    assert status == 200
    assert read == {"timeSeriesData": {
        "tensorboardTimeSeriesId": series, "valueType": 1,
        "values": [{"wallTime": "2024-05-01T12:34:56.123000Z", "step": "5",
                    "scalar": {"value": 0.5}}]}}
    wrong = body.replace(b'"valueType":1', b'"valueType":2')
    status, _, error = player.send("POST", f"{prefix}/runs/r1:write", wrong)
    assert status == 400 and error["error"]["status"] == "INVALID_ARGUMENT"
    unknown = body.replace(series.encode(), b"999")
    status, _, error = player.send("POST", f"{prefix}/runs/r1:write", unknown)
    assert status == 404 and error["error"]["status"] == "NOT_FOUND"
