"""URL routing: an HTTP method and a `/v1/` or `/ui/` path to one named service method."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from .data import DataService
from .errors import ApiError
from .kinds import KINDS
from .service import Json, Query, Service, project_number

CHAIN = ("tensorboards", "experiments", "runs", "timeSeries")


@dataclass(frozen=True)
class Request:
    """What routing needs of an HTTP request; the body is parsed only by methods that take one."""

    http_method: str
    path: str
    query: Query
    body: Callable[[], Any]
    verb: str = ""


@dataclass(frozen=True)
class Route:
    method: str  # the name counted and matched by fault plans, e.g. "runs.list"
    call: Callable[[], Json]


def _unknown(request: Request) -> ApiError:
    return ApiError(
        "NOT_FOUND", f"The requested URL {request.http_method} {request.path} was not found."
    )


def resolve(service: Service, data: DataService, request: Request) -> Route:
    """Find the method a request addresses; 404 NOT_FOUND for anything the API does not have."""
    prefix, _, rest = request.path.lstrip("/").partition("/")
    segments = rest.split("/")
    if prefix not in ("v1", "ui") or len(segments) < 4:
        raise _unknown(request)
    segments[-1], colon, verb = segments[-1].partition(":")
    if colon and not verb:
        raise _unknown(request)
    request = replace(request, verb=verb)
    if any(not s for s in segments) or segments[0] != "projects" or segments[2] != "locations":
        raise _unknown(request)
    name = f"projects/{project_number(segments[1])}/locations/{segments[3]}"
    owner = "locations"
    index, depth = 4, 0
    while index < len(segments):
        collection = segments[index]
        if collection == "operations":
            return _operations(service, request, name, segments[index + 1:])
        if depth >= len(CHAIN) or collection != CHAIN[depth]:
            raise _unknown(request)
        if index + 1 == len(segments):
            return _collection(service, request, collection, name)
        name = f"{name}/{collection}/{segments[index + 1]}"
        owner = collection
        index, depth = index + 2, depth + 1
    if owner == "locations":
        raise _unknown(request)
    return _resource(service, data, request, owner, name)


def _collection(service: Service, request: Request, collection: str, parent: str) -> Route:
    kind = KINDS[collection]
    http_method, verb, query, body = request.http_method, request.verb, request.query, request.body
    if (http_method, verb) == ("GET", ""):
        return Route(f"{collection}.list", lambda: service.list_resources(kind, parent, query))
    if (http_method, verb) == ("POST", ""):
        return Route(f"{collection}.create", lambda: service.create(kind, parent, query, body()))
    if (http_method, verb) == ("POST", "batchCreate") and collection == "runs":
        return Route("runs.batchCreate",
                     lambda: service.batch_create(kind, parent, body(), "tensorboardRun"))
    raise _unknown(request)


def _resource(
    service: Service, data: DataService, request: Request, collection: str, name: str
) -> Route:
    kind = KINDS[collection]
    http_method, verb, query, body = request.http_method, request.verb, request.query, request.body
    plain: dict[str, Callable[[], Json]] = {
        "GET": lambda: service.get(kind, name),
        "PATCH": lambda: service.patch(kind, name, query, body()),
        "DELETE": lambda: service.delete(kind, name),
    }
    if verb == "" and http_method in plain:
        method = {"GET": "get", "PATCH": "patch", "DELETE": "delete"}[http_method]
        return Route(f"{collection}.{method}", plain[http_method])
    verbs: dict[tuple[str, str, str], Callable[[], Json]] = {
        ("runs", "POST", "write"): lambda: data.write_run(name, body()),
        ("experiments", "POST", "write"): lambda: data.write_experiment(name, body()),
        ("experiments", "POST", "batchCreate"): lambda: service.batch_create(
            KINDS["timeSeries"], name, body(), "tensorboardTimeSeries"),
        ("timeSeries", "GET", "read"): lambda: data.read(name, query),
        ("timeSeries", "POST", "exportTensorboardTimeSeries"): lambda: data.export(name, body()),
        ("tensorboards", "GET", "batchRead"): lambda: data.batch_read(name, query),
        ("tensorboards", "GET", "readSize"): lambda: data.read_size(name),
        ("tensorboards", "GET", "readUsage"): lambda: data.read_usage(name),
    }
    call = verbs.get((collection, http_method, verb))
    if call is None:
        raise _unknown(request)
    return Route(f"{collection}.{verb}", call)


def _operations(service: Service, request: Request, owner: str, rest: list[str]) -> Route:
    http_method, verb = request.http_method, request.verb
    if not rest and (http_method, verb) == ("GET", ""):
        return Route("operations.list", lambda: service.list_operations(owner, request.query))
    if len(rest) != 1:
        raise _unknown(request)
    name = f"{owner}/operations/{rest[0]}"
    calls: dict[tuple[str, str], tuple[str, Callable[[], Json]]] = {
        ("GET", ""): ("get", lambda: service.get_operation(name)),
        ("DELETE", ""): ("delete", lambda: service.delete_operation(name)),
        ("POST", "cancel"): ("cancel", lambda: service.cancel_operation(name)),
        ("POST", "wait"): ("wait", lambda: service.wait_operation(name)),
    }
    found = calls.get((http_method, verb))
    if found is None:
        raise _unknown(request)
    return Route(f"operations.{found[0]}", found[1])
