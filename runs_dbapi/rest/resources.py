"""Resource methods over the transport: get, create, batchCreate, patch, delete, custom verbs
and long-running operations, each resolving what its own retries leave unknown.

It knows the standard methods of the Vertex AI v1 REST surface (AIP-131 to 136, 233, 151) and
nothing of SQL nor of any particular resource: collections, the fields of a batchCreate request
and of its answer come from the caller (the catalog, `runs_dbapi.catalog`, holds them).

A write that fails after an attempt that may have been applied raises with `outcome_unknown`
set (a typed field of every `Error`), unless the answer the retry gets resolves it: ALREADY_EXISTS
for a create with an explicit ID is read back (and returned if it is the resource sent). A
delete whose retry meets NOT_FOUND raises NOT_FOUND with `outcome_unknown` set: the resource is
gone, but only a caller that knows it existed before can count it as deleted by this call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from ..exceptions import Error, IntegrityError, InterfaceError, OperationalError
from .errors import operation_error, unknown_outcome
from .transport import Failure, Json, Transport

__all__ = ["SERVER_SET_FIELDS", "RestClient"]

logger = logging.getLogger(__name__)

# Fields the server sets on every resource (AIP-148 name, create and update times; the AIP-154
# etag): a resource read back is not compared with what was sent on these.
SERVER_SET_FIELDS = frozenset({"name", "etag", "createTime", "updateTime"})


class RestClient(Transport):
    """All HTTP of the driver: JSON calls, pagination, long-running operations, retries.

    Resource names are given without the `/v1/` prefix
    (`projects/p/locations/l/tensorboards/t/experiments/e/runs/r`). Thread-safe.
    """

    def get(self, name: str) -> Json | None:
        """The resource, or None if the API answers 404 NOT_FOUND."""
        outcome = self.execute("GET", name, None, None, idempotent=True)
        failure = outcome.failure
        if failure is not None and _is_not_found(failure):
            return None
        return self.result(outcome)

    def create(
        self,
        parent: str,
        collection: str,
        body: Mapping[str, Any],
        *,
        id_param: str | None,
        resource_id: str | None,
        server_fields: Collection[str] = SERVER_SET_FIELDS,
    ) -> Json:
        """`POST {parent}/{collection}?{id_param}={resource_id}`; the created resource (or an
        Operation, for kinds whose create is long-running).

        With an explicit ID the call is idempotent: it is retried on 5xx answers and lost
        connections, and if a retry then finds the ID (or the display name) taken, the resource
        is read back and returned when it holds every field sent but `server_fields`. Without
        one, a call that may have been applied is never repeated (that could make a second
        resource): it raises OperationalError with `outcome_unknown` set.
        """
        params = {id_param: resource_id} if id_param and resource_id else None
        idempotent = params is not None
        path = f"{parent}/{collection}"
        outcome = self.execute("POST", path, params, dict(body), idempotent=idempotent)
        failure = outcome.failure
        if (failure is not None and outcome.ambiguous and resource_id
                and isinstance(failure.error, IntegrityError)):
            found = self._read_back(f"{path}/{resource_id}", failure.error)
            if found is not None and _same_resource(body, found, server_fields):
                logger.info("create of %s/%s succeeded on an earlier attempt; read it back",
                            path, resource_id)
                return found
        if failure is not None and failure.error.outcome_unknown and not idempotent:
            raise unknown_outcome(failure.error, (
                "the outcome is unknown: the create may have been applied, and without a "
                "client-chosen ID it is not repeated (that could make a second resource); list "
                f"{collection} to see whether it was created"))
        return self.result(outcome)

    def _read_back(self, name: str, error: Error) -> Json | None:
        """A resource read back to resolve a write whose outcome is unknown; if it cannot be
        read, the write's error is raised with `outcome_unknown` set."""
        try:
            return self.get(name)
        except Error as failed:
            raise unknown_outcome(error, f"the outcome is unknown: reading {name} back to "
                                         f"resolve it failed ({failed.message})",
                                  OperationalError) from failed

    def batch_create(
        self,
        parent: str,
        collection: str,
        requests: list[dict[str, Any]],
        *,
        resource_field: str | None = None,
        id_field: str | None = None,
        list_field: str | None = None,
        server_fields: Collection[str] = SERVER_SET_FIELDS,
        idempotent: bool | None = None,
        url: str | None = None,
    ) -> Json:
        """`POST {parent}/{collection}:batchCreate` with `{"requests": requests}`.

        The caller says how its requests and the answer are shaped: `resource_field`, the
        request's field holding the resource; `id_field`, the one holding its explicit ID;
        `list_field`, the answer's list of created resources. Any left out is taken from the
        requests' AIP-233 shape: the request's one object besides `parent`, its one non-empty
        `...Id` string, and the resource field's plural. `url` (without `/v1/`) replaces the
        standard one when a collection's batchCreate is posted elsewhere (to an ancestor, say,
        with each request naming its own `parent`); resources are still read back, when needed,
        as `{request parent or parent}/{collection}/{id}`.

        Idempotent (by default) when every request carries an explicit ID: retried like
        `create`, and an ALREADY_EXISTS after an attempt with an unknown outcome is resolved by
        reading every resource back.
        """
        ids = [_request_id(r, id_field) for r in requests]
        if idempotent is None:
            idempotent = bool(requests) and all(ids)
        outcome = self.execute("POST", url or f"{parent}/{collection}:batchCreate", None,
                               {"requests": requests}, idempotent=idempotent)
        failure = outcome.failure
        if (failure is not None and outcome.ambiguous and requests and all(ids)
                and isinstance(failure.error, IntegrityError)):
            found = self._read_back_batch(parent, collection, requests, ids, failure.error,
                                          resource_field=resource_field,
                                          server_fields=server_fields)
            if found is not None:
                logger.info("batchCreate of %d %s under %s succeeded on an earlier attempt",
                            len(found), collection, parent)
                return {list_field or _plural(_request_resource(requests[-1],
                                                                resource_field)[0]): found}
        if failure is not None and failure.error.outcome_unknown and not idempotent:
            raise unknown_outcome(failure.error, (
                "the outcome is unknown: the batch may have been applied, and it is not repeated "
                "since not every request carries an ID (that could make second resources); list "
                f"{collection} to see whether it was created"))
        return self.result(outcome)

    def _read_back_batch(
        self, parent: str, collection: str, requests: list[dict[str, Any]],
        ids: list[str | None], error: Error, *, resource_field: str | None,
        server_fields: Collection[str],
    ) -> list[Json] | None:
        """Every resource of a batch read back, in request order, if each holds what was
        sent; None if any does not exist or differs."""
        found: list[Json] = []
        for request, resource_id in zip(requests, ids, strict=True):
            _, sent = _request_resource(request, resource_field)
            item_parent = request.get("parent") or parent
            resource = self._read_back(f"{item_parent}/{collection}/{resource_id}", error)
            if resource is None or not _same_resource(sent, resource, server_fields):
                return None
            found.append(resource)
        return found

    def patch(
        self,
        name: str,
        body: Mapping[str, Any],
        update_mask: Sequence[str] | None = None,
        *,
        idempotent: bool = False,
    ) -> Json:
        """`PATCH {name}?updateMask=a,b` with the changed fields; the updated resource.

        Not idempotent by default; a caller that sets absolute values may pass
        `idempotent=True`. With an etag, an ABORTED after an attempt whose outcome is unknown
        cannot be resolved: the etag moved on either because that attempt was applied or
        because another writer changed the resource (perhaps to the very same values), so
        reading it back proves nothing. It raises OperationalError with `outcome_unknown` set,
        rather than report a change that may have been lost.
        """
        params = {"updateMask": ",".join(update_mask)} if update_mask else None
        outcome = self.execute("PATCH", name, params, dict(body), idempotent=idempotent)
        failure = outcome.failure
        if (failure is not None and outcome.ambiguous and body.get("etag")
                and failure.error.rpc_status == "ABORTED"):
            raise OperationalError(
                f"PATCH /v1/{name}: the outcome is unknown: an attempt's answer was lost, and "
                "the retry found the etag changed, by that attempt or by another writer. Read "
                "it again and repeat the UPDATE if it does not hold your change.",
                http_status=failure.error.http_status, rpc_status="ABORTED",
                api_message=failure.error.api_message, http_method="PATCH", path=f"/v1/{name}",
                outcome_unknown=True,
            )
        return self.result(outcome)

    def delete(self, name: str) -> Json:
        """`DELETE {name}`; the Operation (wait for it with `wait_operation`).

        Retried as idempotent. If a retry finds the resource gone after an attempt that may
        have been applied, it is gone, but whether that attempt deleted it or it was not there
        cannot be told from here: ProgrammingError NOT_FOUND is raised with `outcome_unknown`
        set (a caller that saw the resource before the call may count it as deleted).
        """
        outcome = self.execute("DELETE", name, None, None, idempotent=True)
        failure = outcome.failure
        if failure is not None and outcome.ambiguous and _is_not_found(failure):
            logger.info("delete of %s: NOT_FOUND after an attempt that may have been applied",
                        name)
            raise unknown_outcome(failure.error, (
                "gone after an attempt whose answer was lost: that attempt deleted it, or it did "
                "not exist"))
        return self.result(outcome)

    def post(self, name_with_verb: str, body: Any, *, idempotent: bool = False) -> Json:
        """`POST {name}:{verb}`, e.g. `...runs/r1:write`."""
        return self.request("POST", name_with_verb, body=body, idempotent=idempotent)

    def wait_operation(
        self,
        operation: Mapping[str, Any],
        *,
        timeout: float = 300.0,
        poll_initial: float = 0.05,
        poll_max: float = 5.0,
    ) -> Json:
        """Poll a long-running operation until `done`; its final JSON.

        A failed operation raises the exception its numeric google.rpc code maps to; one not
        done within `timeout` seconds raises OperationalError.
        """
        current = dict(operation)
        deadline = time.monotonic() + timeout
        delay = poll_initial
        polls = 0
        self.report("operations")
        while not current.get("done"):
            name = current.get("name")
            if not isinstance(name, str) or not name:
                raise InterfaceError("wait_operation: the operation has no name to poll")
            if time.monotonic() + delay > deadline:
                raise OperationalError(
                    f"operation {name} is not done after {timeout:g} s ({polls} polls)",
                    http_method="GET", path=f"/v1/{name}", outcome_unknown=True,
                )
            self.retry.sleep(delay)
            try:
                current = self.request("GET", name, idempotent=True)
            except Error as failed:  # the operation was started: what it did is not known
                raise unknown_outcome(failed, "the outcome of the operation is unknown: "
                                              "polling it failed") from failed
            polls += 1
            delay = min(poll_max, delay * 2)
        error = current.get("error")
        if isinstance(error, dict):
            raise operation_error(current.get("name") or "", error)
        return current


def _is_not_found(failure: Failure) -> bool:
    """A 404 NOT_FOUND answered by the API itself (not, say, a proxy's HTML 404 page)."""
    error = failure.error
    return failure.structured and error.http_status == 404 and error.rpc_status == "NOT_FOUND"


def _same_resource(sent: Mapping[str, Any], found: Mapping[str, Any],
                   server_fields: Collection[str]) -> bool:
    """Whether `found` (read back) holds every field of `sent` the server does not set."""
    for key, value in sent.items():
        if key in server_fields:
            continue
        empty: Any = {} if isinstance(value, dict) else [] if isinstance(value, list) else ""
        if found.get(key, empty) != value:
            return False
    return True


def _request_id(request: Mapping[str, Any], id_field: str | None) -> str | None:
    """The explicit resource ID of a batchCreate request, if any: its `id_field`, or else its
    first non-empty `...Id` string."""
    if id_field is not None:
        value = request.get(id_field)
        return value if isinstance(value, str) and value else None
    for key, value in request.items():
        if key.endswith("Id") and isinstance(value, str) and value:
            return value
    return None


def _request_resource(request: Mapping[str, Any], resource_field: str | None
                      ) -> tuple[str, Mapping[str, Any]]:
    """(field name, resource) of a batchCreate request: its `resource_field`, or else its first
    object besides `parent`."""
    if resource_field is not None:
        value = request.get(resource_field)
        return resource_field, value if isinstance(value, Mapping) else {}
    for key, value in request.items():
        if key != "parent" and isinstance(value, Mapping):
            return key, value
    return "resources", {}


def _plural(field_name: str) -> str:
    """The list field of a batchCreate answer, when the caller does not name it."""
    return field_name if field_name.endswith("s") else field_name + "s"
