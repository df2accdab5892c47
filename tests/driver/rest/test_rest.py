"""The REST client against the real emulator over loopback: calls, errors, retries, pages, LROs.

Faults come from the emulator's own fault injection. Where a test needs "fail once, then work",
the retry policy's `sleep` hook (called between attempts) records the delay and clears the fault
plan, so the outcome is deterministic. A few answers the emulator never gives (a proxy's HTML
502, UNIMPLEMENTED, a failed Operation) come from a tiny canned HTTP server in this file.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from runs_dbapi.auth import build_session
from runs_dbapi.emulator import Emulator, FaultPlan
from runs_dbapi.exceptions import (
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
)
from runs_dbapi.rest import RPC_CODES, RestClient, RetryPolicy, api_error, error_class

LOCATION = "projects/test-project/locations/us-central1"
Json = dict[str, Any]


# -- helpers ---------------------------------------------------------------------------------


class Sleeps:
    """A RetryPolicy.sleep that records delays instead of sleeping, then runs a hook."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.hook: Callable[[], None] | None = None

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        if self.hook is not None:
            self.hook()


def make_client(url: str, sleeps: Sleeps | None = None, *, timeout: float = 60.0,
                **policy: Any) -> RestClient:
    retry = RetryPolicy(sleep=sleeps if sleeps is not None else Sleeps(), **policy)
    return RestClient(url, build_session(endpoint=url, anonymous=True), timeout=timeout,
                      retry=retry)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def client(emu: Emulator, sleeps: Sleeps) -> Iterator[RestClient]:
    with make_client(emu.url, sleeps) as rest:
        yield rest


@pytest.fixture
def experiment(client: RestClient, emu: Emulator) -> str:
    """A fresh tensorboard and experiment; the emulator's counters start at zero after it."""
    operation = client.create(LOCATION, "tensorboards", {"displayName": "tb"}, id_param=None,
                              resource_id=None)
    board = client.wait_operation(operation)["response"]["name"]
    client.create(board, "experiments", {"displayName": "exp"},
                  id_param="tensorboardExperimentId", resource_id="exp")
    emu.reset_stats()
    return f"{board}/experiments/exp"


def create_run(client: RestClient, experiment: str, run_id: str, **fields: Any) -> Json:
    body = {"displayName": run_id, **fields}
    return client.create(experiment, "runs", body, id_param="tensorboardRunId",
                         resource_id=run_id)


def clear_faults_on_sleep(emu: Emulator, sleeps: Sleeps) -> None:
    sleeps.hook = lambda: emu.set_faults(None)


# -- resource methods ------------------------------------------------------------------------


def test_create_get_patch_delete(client: RestClient, experiment: str) -> None:
    run = create_run(client, experiment, "r1", description="d", labels={"k": "v"})
    name = f"{experiment}/runs/r1"
    assert run["name"] == name
    assert run["labels"] == {"k": "v"}
    got = client.get(name)
    assert got is not None and got["etag"] == run["etag"]

    patched = client.patch(name, {"displayName": "renamed", "etag": run["etag"]},
                           ["displayName"])
    assert patched["displayName"] == "renamed"
    assert patched["description"] == "d"
    assert patched["etag"] != run["etag"]

    cleared = client.patch(name, {}, ["description"])
    assert "description" not in cleared

    operation = client.delete(name)
    assert operation["name"].startswith(name + "/operations/")
    done = client.wait_operation(operation)
    assert done["done"] is True
    assert client.get(name) is None


def test_every_call_is_v1_and_compact(emu: Emulator, experiment: str) -> None:
    seen: list[requests.Response] = []
    session = build_session(endpoint=emu.url, anonymous=True)
    session.hooks["response"].append(lambda response, *args, **kwargs: seen.append(response))
    rest = RestClient(emu.url, session)
    create_run(rest, experiment, "r1")
    rest.get(f"{experiment}/runs/r1")
    list(rest.list_pages(experiment, "runs", {"pageSize": 5}))
    rest.patch(f"{experiment}/runs/r1", {"description": "x"}, ["description"])
    rest.wait_operation(rest.delete(f"{experiment}/runs/r1"))
    assert len(seen) == rest.calls == 5
    for response in seen:
        assert response.url.startswith(f"{emu.url}/v1/projects/"), response.url
        assert "prettyPrint=false" in response.url
        assert b"\n" not in response.content  # prettyPrint=false was honoured
        assert "Authorization" not in response.request.headers


def test_repeated_parameters_and_verbs(client: RestClient, experiment: str) -> None:
    run = f"{experiment}/runs/r1"
    create_run(client, experiment, "r1")
    series = [
        client.create(run, "timeSeries", {"displayName": name, "valueType": "SCALAR",
                                          "pluginName": "scalars"},
                      id_param="tensorboardTimeSeriesId", resource_id=None)
        for name in ("loss", "accuracy")
    ]
    ids = [s["name"].rsplit("/", 1)[1] for s in series]
    points = [{"step": str(step), "wallTime": "2024-05-01T12:34:56.123Z",
               "scalar": {"value": step / 10}} for step in range(3)]
    answer = client.post(f"{run}:write", {"timeSeriesData": [
        {"tensorboardTimeSeriesId": i, "valueType": "SCALAR", "values": points} for i in ids
    ]})
    assert answer == {}
    board = experiment.split("/experiments/", maxsplit=1)[0]
    read = client.request("GET", f"{board}:batchRead",
                          params={"timeSeries": [s["name"] for s in series]}, idempotent=True)
    assert len(read["timeSeriesData"]) == 2
    assert {d["tensorboardTimeSeriesId"] for d in read["timeSeriesData"]} == set(ids)


def test_calls_counter_is_thread_safe(client: RestClient, experiment: str, emu: Emulator
                                      ) -> None:
    create_run(client, experiment, "r1")
    before = client.calls
    threads = [threading.Thread(target=lambda: [client.get(f"{experiment}/runs/r1")
                                                for _ in range(10)]) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert client.calls - before == 80
    assert emu.calls("runs.get") == 80


def test_debug_log_names_method_path_status_and_time(
    client: RestClient, experiment: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="runs_dbapi.rest")
    client.get(f"{experiment}/runs/missing")
    lines = [r.getMessage() for r in caplog.records if r.name == "runs_dbapi.rest"]
    assert len(lines) == 1
    assert lines[0].startswith(f"GET /v1/{experiment}/runs/missing -> 404 in ")
    assert lines[0].endswith(" ms")
    assert "prettyPrint" not in lines[0]


def test_repr_and_bad_arguments(emu: Emulator) -> None:
    session = build_session(endpoint=emu.url, anonymous=True)
    rest = RestClient(emu.url + "/", session, timeout=5)
    assert repr(rest) == f"RestClient(endpoint='{emu.url}', timeout=5)"
    for bad in ("ftp://h", "http://user:pw@h", "https://h/?key=k", "nohost"):
        with pytest.raises(InterfaceError) as caught:
            RestClient(bad, session)
        assert "pw" not in str(caught.value) and "key=k" not in str(caught.value)
    with pytest.raises(InterfaceError):
        RestClient(emu.url, session, timeout=0)
    with pytest.raises(InterfaceError):
        RetryPolicy(max_attempts=0)


def test_unserialisable_body_is_a_data_error_and_sends_nothing(
    client: RestClient, experiment: str
) -> None:
    before = client.calls
    with pytest.raises(DataError, match="JSON"):
        client.post(f"{experiment}/runs/r1:write", {"value": float("nan")})
    assert client.calls == before


# -- error mapping of the emulator's real errors ---------------------------------------------


def test_not_found(client: RestClient, experiment: str, emu: Emulator) -> None:
    name = f"{experiment}/runs/missing"
    assert client.get(name) is None
    with pytest.raises(ProgrammingError) as caught:
        client.request("GET", name, idempotent=True)
    error = caught.value
    assert (error.http_status, error.rpc_status, error.http_method) == (404, "NOT_FOUND", "GET")
    assert error.path == f"/v1/{name}"
    assert error.api_message == f'The resource "{name}" was not found.'
    assert str(error) == f"GET /v1/{name}: HTTP 404 NOT_FOUND: {error.api_message}"
    with pytest.raises(ProgrammingError, match="NOT_FOUND"):
        create_run(client, f"{experiment}x", "r1")
    assert emu.calls("runs.get") == 2 and emu.calls("runs.create") == 1  # never retried


def test_invalid_argument(client: RestClient, experiment: str, emu: Emulator) -> None:
    with pytest.raises(ProgrammingError) as caught:
        create_run(client, experiment, "Bad_ID")
    error = caught.value
    assert (error.http_status, error.rpc_status) == (400, "INVALID_ARGUMENT")
    assert error.api_message is not None and "tensorboard_run_id" in error.api_message
    assert f"POST /v1/{experiment}/runs?tensorboardRunId=Bad_ID: HTTP 400 INVALID_ARGUMENT: " \
        in str(error)
    with pytest.raises(ProgrammingError, match="Invalid filter"):
        list(client.list_pages(experiment, "runs", {"filter": "nonsense ="}))
    with pytest.raises(ProgrammingError, match="page token"):
        list(client.list_pages(experiment, "runs", {"pageToken": "forged"}))
    assert emu.calls("runs.create") == 1 and emu.calls("runs.list") == 2


def test_duplicate_display_name_and_id_are_integrity_errors(
    client: RestClient, experiment: str
) -> None:
    create_run(client, experiment, "r1")
    with pytest.raises(IntegrityError) as by_name:
        client.create(experiment, "runs", {"displayName": "r1"}, id_param="tensorboardRunId",
                      resource_id="r2")
    assert (by_name.value.http_status, by_name.value.rpc_status) == (400, "INVALID_ARGUMENT")
    assert "already exist" in str(by_name.value)
    with pytest.raises(IntegrityError) as by_id:
        create_run(client, experiment, "r1")
    assert (by_id.value.http_status, by_id.value.rpc_status) == (409, "ALREADY_EXISTS")


def test_etag_mismatch_is_aborted(client: RestClient, experiment: str) -> None:
    run = create_run(client, experiment, "r1")
    client.patch(run["name"], {"description": "first"}, ["description"])
    with pytest.raises(OperationalError) as caught:
        client.patch(run["name"], {"description": "second", "etag": run["etag"]},
                     ["description"])
    assert (caught.value.http_status, caught.value.rpc_status) == (409, "ABORTED")
    assert "etag" in str(caught.value)


def test_unauthenticated() -> None:
    with Emulator(require_auth=True) as emu, make_client(emu.url) as rest:
        with pytest.raises(OperationalError) as caught:
            rest.get(f"{LOCATION}/tensorboards/1")
        assert (caught.value.http_status, caught.value.rpc_status) == (401, "UNAUTHENTICATED")
        assert rest.calls == 1


@pytest.mark.parametrize("status, message, expected", [
    ("INVALID_ARGUMENT", "bad", ProgrammingError),
    ("INVALID_ARGUMENT", 'Run with display name "x" already exist in e.', IntegrityError),
    ("FAILED_PRECONDITION", "not now", ProgrammingError),
    ("FAILED_PRECONDITION", "Already exists elsewhere", IntegrityError),
    ("OUT_OF_RANGE", "too far", ProgrammingError),
    ("ALREADY_EXISTS", "dup", IntegrityError),
    ("ABORTED", "etag", OperationalError),
    ("NOT_FOUND", "gone", ProgrammingError),
    ("PERMISSION_DENIED", "no", OperationalError),
    ("UNAUTHENTICATED", "who", OperationalError),
    ("RESOURCE_EXHAUSTED", "quota", OperationalError),
    ("UNAVAILABLE", "down", OperationalError),
    ("INTERNAL", "oops", OperationalError),
    ("DEADLINE_EXCEEDED", "slow", OperationalError),
    ("UNKNOWN", "?", OperationalError),
    ("UNIMPLEMENTED", "no such method", NotSupportedError),
])
def test_error_class_table(status: str, message: str, expected: type[Error]) -> None:
    assert error_class(status, message) is expected
    error = api_error(http_method="PATCH", path="/v1/a/b?updateMask=x", http_status=418,
                      rpc_status=status, api_message=message)
    assert type(error) is expected
    assert str(error) == f"PATCH /v1/a/b?updateMask=x: HTTP 418 {status}: {message}"


def test_rpc_code_table_matches_the_reference() -> None:
    assert RPC_CODES[3] == "INVALID_ARGUMENT"
    assert RPC_CODES[6] == "ALREADY_EXISTS"
    assert RPC_CODES[9] == "FAILED_PRECONDITION"
    assert RPC_CODES[10] == "ABORTED"
    assert RPC_CODES[16] == "UNAUTHENTICATED"
    assert len(RPC_CODES) == 17


# -- retries under injected faults ------------------------------------------------------------


def test_429_is_retried_after_retry_after(
    client: RestClient, experiment: str, emu: Emulator, sleeps: Sleeps
) -> None:
    run = create_run(client, experiment, "r1")
    emu.set_faults(FaultPlan(rate=1.0, kinds=("429",), methods=("runs.patch",), retry_after=3))
    clear_faults_on_sleep(emu, sleeps)
    # A patch is not idempotent: a 429 is retried anyway (the request was not processed).
    patched = client.patch(run["name"], {"description": "x"}, ["description"])
    assert patched["description"] == "x"
    assert emu.stats()["faults"] == {"429": 1}
    assert emu.calls("runs.patch") == 2
    assert len(sleeps.delays) == 1
    assert 3.0 <= sleeps.delays[0] <= 3.0 + 0.1


def test_429_under_a_steady_fault_rate(
    client: RestClient, experiment: str, emu: Emulator, sleeps: Sleeps
) -> None:
    create_run(client, experiment, "r1")
    emu.set_faults(FaultPlan(rate=0.4, kinds=("429",), methods=("runs.get",), seed=1,
                             retry_after=2))
    for _ in range(20):
        assert client.get(f"{experiment}/runs/r1") is not None
    faults = emu.stats()["faults"]["429"]
    assert faults > 0
    assert emu.calls("runs.get") == 20 + faults
    assert len(sleeps.delays) == faults
    assert all(delay >= 2.0 for delay in sleeps.delays)


def test_503_is_retried_for_an_idempotent_call(
    client: RestClient, experiment: str, emu: Emulator, sleeps: Sleeps
) -> None:
    run = create_run(client, experiment, "r1")
    emu.set_faults(FaultPlan(rate=1.0, kinds=("503",), methods=("runs.patch",)))
    clear_faults_on_sleep(emu, sleeps)
    patched = client.patch(run["name"], {"description": "x", "etag": run["etag"]},
                           ["description"], idempotent=True)
    assert patched["description"] == "x"
    assert emu.calls("runs.patch") == 2
    assert len(sleeps.delays) == 1 and 0.0 <= sleeps.delays[0] <= 0.1


@pytest.mark.parametrize("kind", ["503", "503_after"])
def test_503_is_not_retried_for_a_non_idempotent_call(
    client: RestClient, experiment: str, emu: Emulator, sleeps: Sleeps, kind: str
) -> None:
    # gRPC's UNAVAILABLE: the server may have seen the request. Whether it did (503_after) or
    # not (503), the client cannot tell; a call that is not safe to repeat is not repeated.
    run = create_run(client, experiment, "r1")
    emu.set_faults(FaultPlan(rate=1.0, kinds=(kind,), methods=("runs.patch",)))
    with pytest.raises(OperationalError) as caught:
        client.patch(run["name"], {"description": "x"}, ["description"])
    assert (caught.value.http_status, caught.value.rpc_status) == (503, "UNAVAILABLE")
    assert caught.value.outcome_unknown
    assert "not idempotent and may have been applied" in str(caught.value)
    assert emu.calls("runs.patch") == 1
    assert sleeps.delays == []
    emu.set_faults(None)
    stored = client.get(run["name"])
    assert stored is not None
    assert stored.get("description") == ("x" if kind == "503_after" else None)


def test_500_is_not_retried_for_a_non_idempotent_call(
    client: RestClient, experiment: str, emu: Emulator, sleeps: Sleeps
) -> None:
    run = create_run(client, experiment, "r1")
    emu.set_faults(FaultPlan(rate=1.0, kinds=("500",), methods=("runs.patch",)))
    with pytest.raises(OperationalError) as caught:
        client.patch(run["name"], {"description": "x"}, ["description"])
    assert (caught.value.http_status, caught.value.rpc_status) == (500, "INTERNAL")
    assert "not idempotent" in str(caught.value)
    assert emu.calls("runs.patch") == 1
    assert sleeps.delays == []


def test_500_is_retried_for_an_idempotent_call(
    client: RestClient, experiment: str, emu: Emulator, sleeps: Sleeps
) -> None:
    run = create_run(client, experiment, "r1")
    emu.set_faults(FaultPlan(rate=1.0, kinds=("500",), methods=("runs.patch", "runs.get")))
    clear_faults_on_sleep(emu, sleeps)
    assert client.get(run["name"]) is not None
    emu.set_faults(FaultPlan(rate=1.0, kinds=("500",), methods=("runs.patch",)))
    patched = client.patch(run["name"], {"description": "x"}, ["description"], idempotent=True)
    assert patched["description"] == "x"
    assert emu.calls("runs.get") == 2
    assert emu.calls("runs.patch") == 2


@pytest.mark.parametrize("kind", ["reset", "lost_response"])
def test_dropped_connections_on_gets_are_retried(
    client: RestClient, experiment: str, emu: Emulator, sleeps: Sleeps, kind: str
) -> None:
    create_run(client, experiment, "r1")
    emu.set_faults(FaultPlan(rate=0.5, kinds=(kind,), methods=("runs.get", "runs.list"),
                             seed=3))
    for _ in range(10):
        assert client.get(f"{experiment}/runs/r1") is not None
        pages = list(client.list_pages(experiment, "runs", {}))
        assert [r["name"] for r in pages[0]["tensorboardRuns"]] == [f"{experiment}/runs/r1"]
    faults = emu.stats()["faults"][kind]
    assert faults > 0
    assert len(sleeps.delays) == faults
    assert emu.calls("runs.get") + emu.calls("runs.list") == 20 + faults


@pytest.mark.parametrize("kind", ["reset", "lost_response"])
def test_dropped_connections_are_not_retried_for_a_non_idempotent_call(
    client: RestClient, experiment: str, emu: Emulator, kind: str
) -> None:
    run = create_run(client, experiment, "r1")
    emu.set_faults(FaultPlan(rate=1.0, kinds=(kind,), methods=("runs.patch",)))
    with pytest.raises(OperationalError) as caught:
        client.patch(run["name"], {"description": "x"}, ["description"])
    message = str(caught.value)
    assert emu.url in message
    assert "not idempotent" in message
    assert emu.calls("runs.patch") == 1


def test_budget_exhausted_after_exactly_max_attempts(emu: Emulator, sleeps: Sleeps) -> None:
    with make_client(emu.url, sleeps, max_attempts=5) as rest:
        emu.set_faults(FaultPlan(rate=1.0, kinds=("503",), methods=("tensorboards.list",)))
        with pytest.raises(OperationalError) as caught:
            list(rest.list_pages(LOCATION, "tensorboards", {}))
    message = str(caught.value)
    assert message == (f"GET /v1/{LOCATION}/tensorboards: gave up after 5 attempts (retry "
                       "budget of 5 attempts exhausted); last error: HTTP 503 UNAVAILABLE: "
                       "The service is currently unavailable.")
    assert "The service is currently unavailable." in message
    assert (caught.value.http_status, caught.value.rpc_status) == (503, "UNAVAILABLE")
    assert emu.calls("tensorboards.list") == 5
    assert rest.calls == 5
    assert len(sleeps.delays) == 4
    # Exponential caps 0.1, 0.2, 0.4, 0.8 with full jitter.
    for index, delay in enumerate(sleeps.delays):
        assert 0.0 <= delay <= 0.1 * 2 ** index


def test_backoff_without_jitter_is_exponential_and_capped(emu: Emulator, sleeps: Sleeps
                                                          ) -> None:
    with make_client(emu.url, sleeps, max_attempts=6, jitter=False, max_backoff=0.5) as rest:
        emu.set_faults(FaultPlan(rate=1.0, kinds=("500",)))
        with pytest.raises(OperationalError, match="6 attempts"):
            rest.get(f"{LOCATION}/tensorboards/1")
    assert sleeps.delays == [0.1, 0.2, 0.4, 0.5, 0.5]


def test_deadline_stops_retries(emu: Emulator, sleeps: Sleeps) -> None:
    with make_client(emu.url, sleeps, deadline=2.0) as rest:
        emu.set_faults(FaultPlan(rate=1.0, kinds=("429",), retry_after=5))
        with pytest.raises(OperationalError) as caught:
            rest.get(f"{LOCATION}/tensorboards/1")
    assert ("gave up after 1 attempt (retry deadline of 2 s reached); last error: HTTP 429 "
            in str(caught.value))
    assert caught.value.rpc_status == "RESOURCE_EXHAUSTED"
    assert sleeps.delays == []


def test_read_timeouts_are_retried_for_gets(emu: Emulator, sleeps: Sleeps) -> None:
    with make_client(emu.url, sleeps, timeout=0.2) as rest:
        emu.set_faults(FaultPlan(rate=1.0, kinds=("slow",), slow_seconds=1.0,
                                 methods=("tensorboards.list",)))
        clear_faults_on_sleep(emu, sleeps)
        pages = list(rest.list_pages(LOCATION, "tensorboards", {}))
    assert pages == [{}]
    assert emu.calls("tensorboards.list") == 2
    assert len(sleeps.delays) == 1


def test_unreachable_endpoint_is_retried_then_named(sleeps: Sleeps) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    # Refused connections never reached the server: retried even for a POST.
    with make_client(url, sleeps, max_attempts=3) as rest, \
            pytest.raises(OperationalError) as caught:
        rest.post(f"{LOCATION}/tensorboards/1/experiments/e/runs/r:write", {})
    message = str(caught.value)
    assert f"cannot connect to {url}" in message
    assert "gave up after 3 attempts" in message
    assert "ConnectionRefusedError" in message or "NewConnectionError" in message
    assert len(sleeps.delays) == 2


def test_create_whose_response_was_lost_is_read_back(
    client: RestClient, experiment: str, emu: Emulator
) -> None:
    emu.set_faults(FaultPlan(rate=1.0, kinds=("lost_response",), methods=("runs.create",)))
    run = create_run(client, experiment, "r1", labels={"k": "v"})
    assert run["name"] == f"{experiment}/runs/r1"
    assert run["labels"] == {"k": "v"}
    # The first attempt created it; the retry met ALREADY_EXISTS and read it back.
    assert emu.calls("runs.create") == 2
    assert emu.calls("runs.get") == 1
    emu.set_faults(None)
    page = next(client.list_pages(experiment, "runs", {}))
    assert len(page["tensorboardRuns"]) == 1


def test_read_back_does_not_claim_someone_elses_resource(
    client: RestClient, experiment: str, emu: Emulator, sleeps: Sleeps
) -> None:
    create_run(client, experiment, "r1", description="theirs")
    emu.set_faults(FaultPlan(rate=1.0, kinds=("reset",), methods=("runs.create",)))
    clear_faults_on_sleep(emu, sleeps)
    with pytest.raises(IntegrityError) as caught:
        create_run(client, experiment, "r1", description="ours")
    assert caught.value.rpc_status == "ALREADY_EXISTS"
    assert emu.calls("runs.get") == 1


def test_create_without_id_is_not_retried_after_a_lost_response(
    client: RestClient, experiment: str, emu: Emulator
) -> None:
    emu.set_faults(FaultPlan(rate=1.0, kinds=("lost_response",), methods=("timeSeries.create",)))
    create_run(client, experiment, "r1")
    with pytest.raises(OperationalError, match="not idempotent"):
        client.create(f"{experiment}/runs/r1", "timeSeries",
                      {"displayName": "loss", "valueType": "SCALAR"},
                      id_param="tensorboardTimeSeriesId", resource_id=None)
    assert emu.calls("timeSeries.create") == 1


def test_batch_create_whose_response_was_lost_is_read_back(
    client: RestClient, experiment: str, emu: Emulator
) -> None:
    emu.set_faults(FaultPlan(rate=1.0, kinds=("lost_response",), methods=("runs.batchCreate",)))
    requests_ = [{"parent": experiment, "tensorboardRun": {"displayName": f"n{i}"},
                  "tensorboardRunId": f"r{i}"} for i in range(3)]
    made = client.batch_create(experiment, "runs", requests_)
    assert [r["name"].rsplit("/", 1)[1] for r in made["tensorboardRuns"]] == ["r0", "r1", "r2"]
    assert emu.calls("runs.batchCreate") == 2
    assert emu.calls("runs.get") == 3


@pytest.mark.parametrize("kind", ["lost_response", "503_after"])
def test_delete_whose_response_was_lost_is_gone_with_an_unknown_outcome(
    client: RestClient, experiment: str, emu: Emulator, sleeps: Sleeps, kind: str
) -> None:
    # The retry meets NOT_FOUND: the run is gone, but only a caller that saw it before the call
    # can count it as deleted by it (it may never have existed), so the client does not claim it.
    run = create_run(client, experiment, "r1")
    emu.set_faults(FaultPlan(rate=1.0, kinds=(kind,), methods=("runs.delete",)))
    clear_faults_on_sleep(emu, sleeps)
    with pytest.raises(ProgrammingError, match="NOT_FOUND") as caught:
        client.delete(run["name"])
    assert caught.value.outcome_unknown and caught.value.rpc_status == "NOT_FOUND"
    assert "that attempt deleted it, or it did not exist" in str(caught.value)
    assert emu.calls("runs.delete") == 2
    assert client.get(run["name"]) is None
    with pytest.raises(ProgrammingError, match="NOT_FOUND") as plain:
        client.delete(run["name"])  # a plain delete of a missing run is still an error
    assert not plain.value.outcome_unknown


def test_delete_after_a_503_before_it_was_applied_deletes(
    client: RestClient, experiment: str, emu: Emulator, sleeps: Sleeps
) -> None:
    run = create_run(client, experiment, "r1")
    emu.set_faults(FaultPlan(rate=1.0, kinds=("503",), methods=("runs.delete",)))
    clear_faults_on_sleep(emu, sleeps)
    assert client.wait_operation(client.delete(run["name"]))["done"] is True
    assert emu.calls("runs.delete") == 2
    assert client.get(run["name"]) is None


def test_etag_patch_whose_response_was_lost_is_reported_unknown(
    client: RestClient, experiment: str, emu: Emulator
) -> None:
    run = create_run(client, experiment, "r1", labels={"a": "1"})
    emu.set_faults(FaultPlan(rate=1.0, kinds=("lost_response",), methods=("runs.patch",)))
    body = {"displayName": "renamed", "labels": {"b": "2"}, "etag": run["etag"]}
    # The first attempt applied it; the retry met ABORTED (the etag moved on). From the client's
    # side that is indistinguishable from another writer's change (even to the same values), so
    # the outcome is reported unknown rather than claimed: claiming it loses updates under races.
    with pytest.raises(OperationalError, match="outcome is unknown") as caught:
        client.patch(run["name"], body, ["displayName", "labels"], idempotent=True)
    assert caught.value.outcome_unknown
    assert caught.value.rpc_status == "ABORTED"
    assert emu.calls("runs.patch") == 2
    emu.set_faults(None)
    client.patch(run["name"], {"description": "someone else"}, ["description"])
    with pytest.raises(OperationalError) as plain:  # a plain conflict is a plain ABORTED
        client.patch(run["name"], {"displayName": "x", "etag": run["etag"]}, ["displayName"],
                     idempotent=True)
    assert plain.value.rpc_status == "ABORTED"
    assert not plain.value.outcome_unknown


# -- pagination ------------------------------------------------------------------------------


def test_pagination_through_2500_runs(client: RestClient, experiment: str, emu: Emulator
                                      ) -> None:
    for start in range(0, 2500, 1000):
        batch = [{"parent": experiment, "tensorboardRun": {"displayName": f"run-{i:04d}",
                                                           "labels": {"team": "a"}},
                  "tensorboardRunId": f"run-{i:04d}"}
                 for i in range(start, min(start + 1000, 2500))]
        client.batch_create(experiment, "runs", batch)
    emu.reset_stats()
    params = {"pageSize": 1000, "filter": 'labels.team = "a"', "orderBy": "display_name desc",
              "readMask": "displayName"}
    pages = list(client.list_pages(experiment, "runs", params))
    assert emu.calls("runs.list") == 3
    assert [len(p["tensorboardRuns"]) for p in pages] == [1000, 1000, 500]
    assert "nextPageToken" in pages[0] and "nextPageToken" not in pages[2]
    names = [r["displayName"] for p in pages for r in p["tensorboardRuns"]]
    assert len(names) == len(set(names)) == 2500
    assert names == sorted(names, reverse=True)
    assert params == {"pageSize": 1000, "filter": 'labels.team = "a"',
                      "orderBy": "display_name desc", "readMask": "displayName"}


def test_pages_are_fetched_lazily(client: RestClient, experiment: str, emu: Emulator) -> None:
    client.batch_create(experiment, "runs", [
        {"parent": experiment, "tensorboardRun": {"displayName": f"n{i}"},
         "tensorboardRunId": f"r{i}"} for i in range(5)
    ])
    emu.reset_stats()
    pages = client.list_pages(experiment, "runs", {"pageSize": 2})
    first = next(pages)
    assert len(first["tensorboardRuns"]) == 2
    assert emu.calls("runs.list") == 1
    assert sum(len(p["tensorboardRuns"]) for p in pages) == 3
    assert emu.calls("runs.list") == 3


def test_empty_collection_yields_one_empty_page(client: RestClient, experiment: str) -> None:
    assert list(client.list_pages(experiment, "runs", {"pageSize": 10})) == [{}]


# -- long-running operations -----------------------------------------------------------------


def test_operations_are_polled_until_done(
    client: RestClient, experiment: str, emu: Emulator, sleeps: Sleeps
) -> None:
    run = create_run(client, experiment, "r1")
    emu.set_operation_polls(3)
    operation = client.delete(run["name"])
    assert not operation.get("done")
    done = client.wait_operation(operation)
    assert done["done"] is True
    assert done["name"] == operation["name"]
    assert done["response"]["@type"] == "type.googleapis.com/google.protobuf.Empty"
    assert emu.calls("operations.get") == 3
    assert sleeps.delays == [0.05, 0.1, 0.2]


def test_a_done_operation_is_not_polled(client: RestClient, experiment: str, emu: Emulator
                                        ) -> None:
    run = create_run(client, experiment, "r1")
    operation = client.delete(run["name"])
    assert operation["done"] is True
    assert client.wait_operation(operation) == operation
    assert emu.calls("operations.get") == 0


def test_operation_wait_times_out(emu: Emulator, experiment: str) -> None:
    # Real sleeps here: the timeout is measured on the clock.
    with RestClient(emu.url, build_session(endpoint=emu.url, anonymous=True)) as rest:
        run = create_run(rest, experiment, "r1")
        emu.set_operation_polls(1000)
        operation = rest.delete(run["name"])
        started = time.monotonic()
        with pytest.raises(OperationalError, match=r"is not done after 0\.3 s") as caught:
            rest.wait_operation(operation, timeout=0.3, poll_initial=0.05, poll_max=0.1)
        assert time.monotonic() - started < 2
    assert caught.value.path == f"/v1/{operation['name']}"
    assert 2 <= emu.calls("operations.get") <= 5


# -- answers the emulator never gives (a canned server) --------------------------------------


class Canned:
    """A loopback HTTP server answering each path with a list of canned responses in turn."""

    def __init__(self) -> None:
        self.answers: dict[str, list[tuple[int, dict[str, str], bytes]]] = {}
        self.hits: list[str] = []
        canned = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                path = self.path.split("?")[0]
                canned.hits.append(path)
                queue = canned.answers.get(path) or [(404, {}, b"<html>nothing here</html>")]
                status, headers, body = queue.pop(0) if len(queue) > 1 else queue[0]
                self.send_response(status)
                for key, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PATCH = do_DELETE = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)

    def json(self, path: str, status: int, payload: Any, **headers: str) -> None:
        self.answers.setdefault(path, []).append(
            (status, {"Content-Type": "application/json", **headers},
             json.dumps(payload).encode()))


@pytest.fixture
def canned() -> Iterator[Canned]:
    server = Canned()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def aip193(code: int, status: str, message: str) -> Json:
    return {"error": {"code": code, "message": message, "status": status}}


def test_non_json_502_from_a_proxy(canned: Canned, sleeps: Sleeps) -> None:
    proxy = [(502, {"Content-Type": "text/html"}, b"<html>\n<b>502</b>   Bad Gateway</html>")]
    canned.answers["/v1/x/runs/r"] = proxy
    canned.answers["/v1/x/runs/r:write"] = proxy
    with make_client(canned.url, sleeps, max_attempts=3) as rest:
        with pytest.raises(OperationalError) as caught:
            rest.get("x/runs/r")  # idempotent: retried
        assert len(canned.hits) == 3
        error = caught.value
        assert (error.http_status, error.rpc_status) == (502, "UNAVAILABLE")
        assert "<html> <b>502</b> Bad Gateway</html>" in str(error)
        with pytest.raises(OperationalError, match="not idempotent"):
            rest.post("x/runs/r:write", {})
        assert len(canned.hits) == 4


def test_a_proxy_404_is_not_a_missing_resource(canned: Canned) -> None:
    with make_client(canned.url) as rest, pytest.raises(ProgrammingError) as caught:
        rest.get("x/runs/r")
    assert (caught.value.http_status, caught.value.rpc_status) == (404, "NOT_FOUND")
    assert "nothing here" in str(caught.value)


@pytest.mark.parametrize("code, status, expected", [
    (501, "UNIMPLEMENTED", NotSupportedError),
    (403, "PERMISSION_DENIED", OperationalError),
    (400, "FAILED_PRECONDITION", ProgrammingError),
    (400, "OUT_OF_RANGE", ProgrammingError),
    (504, "DEADLINE_EXCEEDED", OperationalError),
])
def test_other_api_errors(canned: Canned, code: int, status: str, expected: type[Error]) -> None:
    canned.json("/v1/x:verb", code, aip193(code, status, f"{status} said the API"))
    with make_client(canned.url) as rest, pytest.raises(expected) as caught:
        rest.post("x:verb", {"a": 1})
    assert type(caught.value) is expected
    assert str(caught.value).startswith(f"POST /v1/x:verb: HTTP {code} {status}: "
                                        f"{status} said the API")
    assert len(canned.hits) == 1  # never retried (504 only for idempotent calls)


def test_retry_after_as_an_http_date(canned: Canned, sleeps: Sleeps) -> None:
    later = format_datetime(dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=4),
                            usegmt=True)
    canned.json("/v1/x", 429, aip193(429, "RESOURCE_EXHAUSTED", "slow down"), **{
        "Retry-After": later})
    canned.json("/v1/x", 200, {"ok": True})
    with make_client(canned.url, sleeps) as rest:
        assert rest.request("GET", "x", idempotent=False) == {"ok": True}
    assert len(sleeps.delays) == 1 and 2.5 <= sleeps.delays[0] <= 4.1


def test_a_success_that_is_not_json(canned: Canned) -> None:
    canned.answers["/v1/x"] = [(200, {"Content-Type": "text/plain"}, b"hello")]
    with make_client(canned.url) as rest, pytest.raises(OperationalError, match="not a JSON"):
        rest.request("GET", "x", idempotent=True)
    canned.answers["/v1/y"] = [(200, {}, b"")]
    with make_client(canned.url) as rest:
        assert rest.request("DELETE", "y", idempotent=True) == {}


@pytest.mark.parametrize("code, expected", [
    (9, ProgrammingError), (10, OperationalError), (6, IntegrityError), (12, NotSupportedError),
    (99, OperationalError),
])
def test_failed_operations_raise_the_mapped_error(
    canned: Canned, sleeps: Sleeps, code: int, expected: type[Error]
) -> None:
    name = "projects/p/locations/l/tensorboards/1/operations/7"
    canned.json(f"/v1/{name}", 200, {"name": name})
    canned.json(f"/v1/{name}", 200, {"name": name, "done": True,
                                     "error": {"code": code, "message": "it broke"}})
    with make_client(canned.url, sleeps) as rest, pytest.raises(expected) as caught:
        rest.wait_operation({"name": name, "done": False})
    assert type(caught.value) is expected
    assert caught.value.rpc_status == RPC_CODES.get(code, "UNKNOWN")
    assert f"operation {name} failed" in str(caught.value)
    assert "it broke" in str(caught.value)
    assert len(canned.hits) == 2
    assert sleeps.delays == [0.05, 0.1]


def test_a_repeated_page_token_stops_the_listing(canned: Canned) -> None:
    canned.json("/v1/x/runs", 200, {"tensorboardRuns": [{"name": "x/runs/a"}],
                                    "nextPageToken": "same"})
    with make_client(canned.url) as rest, pytest.raises(OperationalError, match="twice"):
        list(rest.list_pages("x", "runs", {}))
    assert len(canned.hits) == 2
