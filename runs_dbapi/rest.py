"""The REST client: every HTTP call of the driver, with retries and PEP 249 error mapping.

It knows resource names, collections, verbs and long-running operations of the Vertex AI v1 REST
surface, and nothing of SQL. Calls go to `{endpoint}/v1/{name}` through the `requests.Session`
from `runs_dbapi.auth.build_session` (which adds credentials), each with `prettyPrint=false`.

Retries (AIP-194, reference section 7), bounded by a `RetryPolicy` (attempts and a deadline):

* 429 RESOURCE_EXHAUSTED is retried for every call (the request was not processed), waiting at
  least the `Retry-After` the answer asks for;
* connection failures before the request was sent (refused, DNS, connect timeout, token refresh
  transport errors) are retried for every call too;
* 500, 502, 503, 504, connection resets, lost responses and read timeouts are retried only for
  calls the caller marks idempotent (gets, lists, operation polls, creates with an explicit ID,
  deletes, patches of absolute values), since the server may have applied them: gRPC defines
  UNAVAILABLE as a failure the server may have seen the request before, and AIP-194 retries it
  only for requests that are safe to repeat;
* 400, 401, 403, 404 and 409 are never retried.

A write that fails after an attempt that may have been applied raises with `outcome_unknown`
set (a typed field of every `Error`), unless the answer the retry gets resolves it: ALREADY_EXISTS
for a create with an explicit ID is read back (and returned if it is the resource sent). A
delete whose retry meets NOT_FOUND raises NOT_FOUND with `outcome_unknown` set: the resource is
gone, but only a caller that knows it existed before can count it as deleted by this call.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import google.auth.exceptions
import requests
import urllib3.exceptions

from .exceptions import (
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    redact,
)

__all__ = [
    "RPC_CODES",
    "Progress",
    "RestClient",
    "RetryPolicy",
    "api_error",
    "error_class",
]

logger = logging.getLogger(__name__)

Json = dict[str, Any]
# A progress callback: `progress(event, count)`, called from any of the driver's threads, e.g.
# ("pages", 1) per list page fetched, ("runs", 50) for the resources on it (the collection's
# name: "tensorboards" and "experiments" when fanning out), ("operations", 1) per long-running
# operation waited for.
Progress = Callable[[str, int], None]

CONNECT_TIMEOUT = 10.0

# Numeric google.rpc codes (used in Operation errors) -> status names.
RPC_CODES: dict[int, str] = {
    0: "OK",
    1: "CANCELLED",
    2: "UNKNOWN",
    3: "INVALID_ARGUMENT",
    4: "DEADLINE_EXCEEDED",
    5: "NOT_FOUND",
    6: "ALREADY_EXISTS",
    7: "PERMISSION_DENIED",
    8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION",
    10: "ABORTED",
    11: "OUT_OF_RANGE",
    12: "UNIMPLEMENTED",
    13: "INTERNAL",
    14: "UNAVAILABLE",
    15: "DATA_LOSS",
    16: "UNAUTHENTICATED",
}

# The status assumed for an error answer without an AIP-193 body (e.g. from a proxy). An HTTP
# 409 can be ALREADY_EXISTS or ABORTED; without a body, ABORTED (retry-later) is the safer guess.
_STATUS_OF_HTTP: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

_ALWAYS_RETRIED = frozenset({429})  # the request was not processed
_RETRIED_IF_IDEMPOTENT = frozenset({500, 502, 503, 504})  # it may have been
_PROGRAMMING = frozenset({"INVALID_ARGUMENT", "FAILED_PRECONDITION", "OUT_OF_RANGE", "NOT_FOUND"})
_OUTPUT_FIELDS = frozenset({"name", "etag", "createTime", "updateTime"})
_PATH_SAFE = "/:@-._~!$'()*+,;="


def error_class(rpc_status: str | None, api_message: str | None = None) -> type[Error]:
    """The PEP 249 exception class of a google.rpc status (and, for 400s, the API's message)."""
    if rpc_status in ("INVALID_ARGUMENT", "FAILED_PRECONDITION", "OUT_OF_RANGE"):
        # Vertex reports a duplicate display name as INVALID_ARGUMENT "... already exist ...".
        if "already exist" in (api_message or "").lower():
            return IntegrityError
        return ProgrammingError
    if rpc_status == "ALREADY_EXISTS":
        return IntegrityError
    if rpc_status in _PROGRAMMING:
        return ProgrammingError
    if rpc_status == "UNIMPLEMENTED":
        return NotSupportedError
    # ABORTED, PERMISSION_DENIED, UNAUTHENTICATED, RESOURCE_EXHAUSTED, UNAVAILABLE, INTERNAL,
    # DEADLINE_EXCEEDED, UNKNOWN, CANCELLED, DATA_LOSS and anything new.
    return OperationalError


def api_error(
    *,
    http_method: str,
    path: str,
    http_status: int | None,
    rpc_status: str | None,
    api_message: str | None,
    note: str = "",
) -> Error:
    """The exception for a failed API call; its message names method, path and both statuses."""
    status = " ".join(str(s) for s in (f"HTTP {http_status}" if http_status else None,
                                      rpc_status) if s)
    message = f"{http_method} {path}: {status}: {api_message or '(no message)'}"
    if note:
        message += f" ({note})"
    return error_class(rpc_status, api_message)(
        message, http_status=http_status, rpc_status=rpc_status, api_message=api_message,
        http_method=http_method, path=path,
    )


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, bounded by attempts and a total deadline.

    The delay before retry n (n = 1, 2, ...) is uniform in [0, min(max_backoff,
    initial_backoff * multiplier ** (n - 1))], and at least the answer's Retry-After. `sleep`
    performs the waits (tests pass a recorder).
    """

    max_attempts: int = 8
    initial_backoff: float = 0.1
    max_backoff: float = 10.0
    multiplier: float = 2.0
    deadline: float = 120.0
    jitter: bool = True
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise InterfaceError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if self.initial_backoff < 0 or self.max_backoff < 0 or self.deadline <= 0:
            raise InterfaceError("backoffs must not be negative and the deadline must be positive")
        if self.multiplier < 1:
            raise InterfaceError(f"multiplier must be at least 1, got {self.multiplier}")

    def backoff(self, retry: int, rng: random.Random) -> float:
        """The delay before retry number `retry` (1-based), without Retry-After."""
        cap = min(self.max_backoff, self.initial_backoff * self.multiplier ** (retry - 1))
        return rng.uniform(0.0, cap) if self.jitter else cap


@dataclass
class _Failure:
    """One failed attempt: the error to raise, and whether and how it may be retried."""

    error: Error
    retry: bool  # retrying is allowed for this call
    applied_maybe: bool  # the server may have applied the request
    retry_after: float = 0.0
    structured: bool = False  # the API answered with an AIP-193 error body


@dataclass(frozen=True)
class _Call:
    """One prepared HTTP call, sent once per attempt."""

    method: str
    url: str
    shown: str  # path and query as logged and reported (no prettyPrint, no credentials)
    params: list[tuple[str, str]]
    data: bytes | None
    headers: dict[str, str]


@dataclass
class _Outcome:
    result: Json | None
    failure: _Failure | None
    ambiguous: bool  # an earlier attempt may have been applied by the server


def _retry_after(value: str | None) -> float:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); 0 if absent or bad."""
    if not value:
        return 0.0
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return 0.0


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and what it wraps (requests -> urllib3 -> socket errors), outermost first."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            current = reason
        elif current.args and isinstance(current.args[-1], BaseException):
            current = current.args[-1]
        else:
            current = current.__cause__ or current.__context__


def _describe(exc: BaseException) -> str:
    """The innermost cause of a transport error, e.g. `ConnectionResetError: [Errno 104] ...`."""
    *_, root = _causes(exc)
    text = str(root) or type(exc).__name__
    return redact(f"{type(root).__name__}: {text}")


def _never_sent(exc: BaseException) -> bool:
    """Whether a transport error happened before the request reached the server."""
    return any(
        isinstance(e, (requests.exceptions.ConnectTimeout, urllib3.exceptions.ConnectTimeoutError,
                       google.auth.exceptions.TransportError, ConnectionRefusedError))
        for e in _causes(exc)
    )


def _query(params: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """Query pairs: lists become repeated parameters, booleans `true`/`false`, None is dropped."""
    pairs: list[tuple[str, str]] = []
    for key, value in (params or {}).items():
        values = value if isinstance(value, (list, tuple)) else [value]
        for item in values:
            if item is None:
                continue
            pairs.append((key, ("true" if item else "false") if isinstance(item, bool)
                          else str(item)))
    if not any(key == "prettyPrint" for key, _ in pairs):
        pairs.append(("prettyPrint", "false"))
    return pairs


def _same_resource(sent: Mapping[str, Any], found: Mapping[str, Any]) -> bool:
    """Whether `found` (read back) holds every input field of `sent`."""
    for key, value in sent.items():
        if key in _OUTPUT_FIELDS:
            continue
        empty: Any = {} if isinstance(value, dict) else [] if isinstance(value, list) else ""
        if found.get(key, empty) != value:
            return False
    return True


class RestClient:
    """All HTTP of the driver: JSON calls, pagination, long-running operations, retries.

    Resource names are given without the `/v1/` prefix
    (`projects/p/locations/l/tensorboards/t/experiments/e/runs/r`). Thread-safe.
    """

    def __init__(
        self,
        endpoint: str,
        session: requests.Session,
        *,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        progress: Progress | None = None,
    ) -> None:
        parts = urlsplit(endpoint.strip())
        if (parts.scheme not in ("http", "https") or not parts.hostname or parts.query
                or parts.fragment or "@" in parts.netloc):
            raise InterfaceError(
                "endpoint: expected scheme://host[:port][/base], with no credentials, query or "
                f"fragment; got {redact(endpoint)!r}"
            )
        if timeout <= 0:
            raise InterfaceError(f"timeout must be positive, got {timeout}")
        self.endpoint = endpoint.strip().rstrip("/")
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._session = session
        self._rng = random.Random()
        self._lock = threading.Lock()
        self._calls = 0
        self.progress = progress

    def __repr__(self) -> str:
        return f"RestClient(endpoint={self.endpoint!r}, timeout={self.timeout})"

    @property
    def calls(self) -> int:
        """HTTP requests sent so far (each retry counts)."""
        with self._lock:
            return self._calls

    def close(self) -> None:
        self._session.close()

    def report(self, event: str, count: int = 1) -> None:
        """Tell the progress callback, if any, about work done; a failing callback is logged."""
        if self.progress is None:
            return
        try:
            self.progress(event, count)
        except Exception:
            logger.exception("the progress callback failed on (%r, %d)", event, count)

    def __enter__(self) -> RestClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the core ----------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        idempotent: bool,
    ) -> Json:
        """Call `{endpoint}/v1/{path}` and return the JSON answer (`{}` for an empty one)."""
        outcome = self._execute(method, path, params, body, idempotent=idempotent)
        return self._result(outcome)

    @staticmethod
    def _result(outcome: _Outcome) -> Json:
        if outcome.failure is not None:
            raise outcome.failure.error
        assert outcome.result is not None
        return outcome.result

    def _execute(
        self, method: str, path: str, params: Mapping[str, Any] | None, body: Any, *,
        idempotent: bool,
    ) -> _Outcome:
        method = method.upper()
        path = path.lstrip("/")
        url = f"{self.endpoint}/v1/{quote(path, safe=_PATH_SAFE)}"
        pairs = _query(params)
        shown_query = urlencode([(k, v) for k, v in pairs if k != "prettyPrint"])
        shown = f"/v1/{path}" + (f"?{shown_query}" if shown_query else "")
        data: bytes | None = None
        headers: dict[str, str] = {}
        if body is not None:
            try:
                data = json.dumps(body, allow_nan=False, ensure_ascii=False,
                                  separators=(",", ":")).encode("utf-8")
            except (TypeError, ValueError) as exc:
                raise DataError(
                    f"{method} {shown}: the request body cannot be sent as JSON ({exc})",
                    http_method=method, path=shown,
                ) from None
            headers["Content-Type"] = "application/json; charset=utf-8"

        call = _Call(method, url, shown, pairs, data, headers)
        policy = self.retry
        deadline = time.monotonic() + policy.deadline
        ambiguous = False
        attempt = 0
        while True:
            attempt += 1
            failure, result = self._attempt(call, idempotent=idempotent, attempt=attempt)
            if failure is None:
                return _Outcome(result, None, ambiguous)
            if not failure.retry:
                return self._final(method, _Outcome(None, failure, ambiguous))
            ambiguous = ambiguous or failure.applied_maybe
            delay = max(policy.backoff(attempt, self._rng), failure.retry_after)
            if attempt >= policy.max_attempts:
                why = f"retry budget of {policy.max_attempts} attempts exhausted"
            elif time.monotonic() + delay > deadline:
                why = f"retry deadline of {policy.deadline:g} s reached"
            else:
                logger.info("retrying %s %s in %.3f s (attempt %d of %d failed: %s)", method,
                            shown, delay, attempt, policy.max_attempts, failure.error.message)
                policy.sleep(delay)
                continue
            last = failure.error
            detail = last.message.removeprefix(f"{method} {shown}: ")
            plural = "s" if attempt != 1 else ""
            error = OperationalError(
                f"{method} {shown}: gave up after {attempt} attempt{plural} ({why}); last error: "
                f"{detail}",
                http_status=last.http_status, rpc_status=last.rpc_status,
                api_message=last.api_message, http_method=method, path=shown,
            )
            return self._final(method, _Outcome(None, _Failure(error, False, ambiguous),
                                                ambiguous))

    @staticmethod
    def _final(method: str, outcome: _Outcome) -> _Outcome:
        """A failed call's outcome; a write that may have been applied says so on its error."""
        failure = outcome.failure
        if failure is not None and method != "GET" and failure.applied_maybe:
            failure.error.outcome_unknown = True
        return outcome

    def _attempt(
        self, call: _Call, *, idempotent: bool, attempt: int
    ) -> tuple[_Failure | None, Json | None]:
        method, shown = call.method, call.shown
        with self._lock:
            self._calls += 1
        started = time.monotonic()
        try:
            response = self._session.request(
                method, call.url, params=call.params, data=call.data, headers=call.headers,
                timeout=(CONNECT_TIMEOUT, self.timeout), allow_redirects=False,
            )
        except google.auth.exceptions.RefreshError as exc:
            self._log(method, shown, "RefreshError", started, attempt)
            # google-auth puts its summary first and the token endpoint's raw answer after it.
            detail = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
            return _Failure(OperationalError(
                f"{method} {shown}: could not obtain an access token for {self.endpoint} "
                f"(RefreshError: {redact(detail)})", http_method=method, path=shown,
            ), retry=False, applied_maybe=False), None
        except (requests.exceptions.RequestException,
                google.auth.exceptions.TransportError) as exc:
            self._log(method, shown, type(exc).__name__, started, attempt)
            if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema,
                                requests.exceptions.MissingSchema)):
                return _Failure(InterfaceError(
                    f"{method} {shown}: invalid URL for endpoint {self.endpoint} "
                    f"({_describe(exc)})", http_method=method, path=shown,
                ), retry=False, applied_maybe=False), None
            unsent = _never_sent(exc)
            retry = unsent or idempotent
            note = "" if retry else (
                "; not retried: the call is not idempotent and may have been applied"
            )
            what = "cannot connect to" if unsent else "connection failed with"
            return _Failure(OperationalError(
                f"{method} {shown}: {what} {self.endpoint} ({_describe(exc)}){note}",
                http_method=method, path=shown,
            ), retry=retry, applied_maybe=not unsent), None
        self._log(method, shown, str(response.status_code), started, attempt)
        if 200 <= response.status_code < 300:
            return self._parse_success(method, shown, response)
        return self._failure(method, shown, response, idempotent=idempotent), None

    @staticmethod
    def _log(method: str, shown: str, status: str, started: float, attempt: int) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            suffix = f" (attempt {attempt})" if attempt > 1 else ""
            logger.debug("%s %s -> %s in %.1f ms%s", method, shown, status,
                         (time.monotonic() - started) * 1000.0, suffix)

    def _parse_success(
        self, method: str, shown: str, response: requests.Response
    ) -> tuple[_Failure | None, Json | None]:
        if not response.content.strip():
            return None, {}
        try:
            parsed = response.json()
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            return _Failure(OperationalError(
                f"{method} {shown}: HTTP {response.status_code} answer is not a JSON object "
                f"(Content-Type {response.headers.get('Content-Type', 'unknown')!r})",
                http_status=response.status_code, http_method=method, path=shown,
            ), retry=False, applied_maybe=True), None
        return None, parsed

    def _failure(
        self, method: str, shown: str, response: requests.Response, *, idempotent: bool
    ) -> _Failure:
        code = response.status_code
        rpc_status: str | None = None
        api_message: str | None = None
        try:
            payload = response.json()
        except ValueError:
            payload = None
        error = payload.get("error") if isinstance(payload, dict) else None
        if isinstance(error, dict):
            if isinstance(error.get("status"), str) and error["status"]:
                rpc_status = error["status"]
            if isinstance(error.get("message"), str):
                api_message = error["message"]
        elif response.text.strip():
            api_message = " ".join(response.text.split())[:300]
        if rpc_status is None:
            rpc_status = _STATUS_OF_HTTP.get(
                code, "FAILED_PRECONDITION" if 400 <= code < 500 else "UNKNOWN"
            )
        always = code in _ALWAYS_RETRIED
        maybe = code in _RETRIED_IF_IDEMPOTENT
        note = ""
        if maybe and not idempotent:
            note = "not retried: the call is not idempotent and may have been applied"
        failure_error = api_error(
            http_method=method, path=shown, http_status=code, rpc_status=rpc_status,
            api_message=api_message, note=note,
        )
        return _Failure(
            failure_error,
            retry=always or (maybe and idempotent),
            applied_maybe=maybe,
            retry_after=(_retry_after(response.headers.get("Retry-After"))
                         if always or (maybe and idempotent) else 0.0),
            structured=isinstance(error, dict),
        )

    # -- resource methods --------------------------------------------------------------------

    def get(self, name: str) -> Json | None:
        """The resource, or None if the API answers 404 NOT_FOUND."""
        outcome = self._execute("GET", name, None, None, idempotent=True)
        failure = outcome.failure
        if failure is not None and _is_not_found(failure):
            return None
        return self._result(outcome)

    def list_pages(
        self, parent: str, collection: str, params: Mapping[str, Any] | None = None
    ) -> Iterator[Json]:
        """Each raw page of `GET {parent}/{collection}`, following `nextPageToken`.

        Every other parameter is repeated on each page, as AIP-158 requires; the pages are
        fetched lazily, one per iteration step.
        """
        base = {k: v for k, v in (params or {}).items() if k != "pageToken"}
        token = (params or {}).get("pageToken")
        seen: set[str] = set()
        while True:
            query = dict(base)
            if token:
                query["pageToken"] = token
            page = self.request("GET", f"{parent}/{collection}", params=query, idempotent=True)
            if self.progress is not None:
                self.report("pages")
                self.report(collection, sum(len(v) for v in page.values() if isinstance(v, list)))
            yield page
            token = page.get("nextPageToken")
            if not token:
                return
            if token in seen:
                raise OperationalError(
                    f"GET /v1/{parent}/{collection}: the API returned page token {token!r} "
                    "twice; stopping to avoid an endless listing",
                    http_method="GET", path=f"/v1/{parent}/{collection}",
                )
            seen.add(token)

    def create(
        self,
        parent: str,
        collection: str,
        body: Mapping[str, Any],
        *,
        id_param: str | None,
        resource_id: str | None,
    ) -> Json:
        """`POST {parent}/{collection}?{id_param}={resource_id}`; the created resource (or an
        Operation, for kinds whose create is long-running).

        With an explicit ID the call is idempotent: it is retried on 5xx answers and lost
        connections, and if a retry then finds the ID (or the display name) taken, the resource
        is read back and returned when it is the one sent. Without one, a call that may have
        been applied is never repeated (that could make a second resource): it raises
        OperationalError with `outcome_unknown` set.
        """
        params = {id_param: resource_id} if id_param and resource_id else None
        idempotent = params is not None
        path = f"{parent}/{collection}"
        outcome = self._execute("POST", path, params, dict(body), idempotent=idempotent)
        failure = outcome.failure
        if (failure is not None and outcome.ambiguous and resource_id
                and isinstance(failure.error, IntegrityError)):
            found = self._read_back(f"{path}/{resource_id}", failure.error)
            if found is not None and _same_resource(body, found):
                logger.info("create of %s/%s succeeded on an earlier attempt; read it back",
                            path, resource_id)
                return found
        if failure is not None and failure.error.outcome_unknown and not idempotent:
            raise _unknown_outcome(failure.error, (
                "the outcome is unknown: the create may have been applied, and without a "
                "client-chosen ID it is not repeated (that could make a second resource); list "
                f"{collection} to see whether it was created"))
        return self._result(outcome)

    def _read_back(self, name: str, error: Error) -> Json | None:
        """A resource read back to resolve a write whose outcome is unknown; if it cannot be
        read, the write's error is raised with `outcome_unknown` set."""
        try:
            return self.get(name)
        except Error as failed:
            raise _unknown_outcome(error, f"the outcome is unknown: reading {name} back to "
                                          f"resolve it failed ({failed.message})",
                                   OperationalError) from failed

    def batch_create(
        self,
        parent: str,
        collection: str,
        requests: list[dict[str, Any]],
        *,
        idempotent: bool | None = None,
    ) -> Json:
        """`POST {parent}/{collection}:batchCreate` with `{"requests": requests}`.

        Idempotent (by default) when every request carries an explicit ID (a non-empty
        `...Id` field): retried like `create`, and an ALREADY_EXISTS after an attempt with an
        unknown outcome is resolved by reading every resource back.
        """
        ids = [_request_id(r) for r in requests]
        if idempotent is None:
            idempotent = bool(requests) and all(ids)
        outcome = self._execute("POST", f"{parent}/{collection}:batchCreate", None,
                                {"requests": requests}, idempotent=idempotent)
        failure = outcome.failure
        if (failure is not None and outcome.ambiguous and requests and all(ids)
                and isinstance(failure.error, IntegrityError)):
            resolved = self._read_back_batch(parent, collection, requests, ids, failure.error)
            if resolved is not None:
                return resolved
        if failure is not None and failure.error.outcome_unknown and not idempotent:
            raise _unknown_outcome(failure.error, (
                "the outcome is unknown: the batch may have been applied, and it is not repeated "
                "since not every request carries an ID (that could make second resources); list "
                f"{collection} to see whether it was created"))
        return self._result(outcome)

    def _read_back_batch(
        self, parent: str, collection: str, requests: list[dict[str, Any]],
        ids: list[str | None], error: Error,
    ) -> Json | None:
        found: list[Json] = []
        list_key = ""
        for request, rid in zip(requests, ids, strict=True):
            field_name, sent = _request_resource(request)
            item_parent = request.get("parent") or parent
            resource = self._read_back(f"{item_parent}/{collection}/{rid}", error)
            if resource is None or not _same_resource(sent, resource):
                return None
            found.append(resource)
            list_key = field_name if field_name.endswith("s") else field_name + "s"
        logger.info("batchCreate of %d %s under %s succeeded on an earlier attempt",
                    len(found), collection, parent)
        return {list_key: found}

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
        because another writer changed the run (perhaps to the very same values), so reading
        the run back proves nothing. It raises OperationalError with `outcome_unknown` set,
        rather than report a change that may have been lost.
        """
        params = {"updateMask": ",".join(update_mask)} if update_mask else None
        outcome = self._execute("PATCH", name, params, dict(body), idempotent=idempotent)
        failure = outcome.failure
        if (failure is not None and outcome.ambiguous and body.get("etag")
                and failure.error.rpc_status == "ABORTED"):
            raise OperationalError(
                f"PATCH /v1/{name}: the outcome is unknown: an attempt's answer was lost, and "
                "the retry found the etag changed, by that attempt or by another writer. Read "
                "the run again and repeat the UPDATE if it does not hold your change.",
                http_status=failure.error.http_status, rpc_status="ABORTED",
                api_message=failure.error.api_message, http_method="PATCH", path=f"/v1/{name}",
                outcome_unknown=True,
            )
        return self._result(outcome)

    def delete(self, name: str) -> Json:
        """`DELETE {name}`; the Operation (wait for it with `wait_operation`).

        Retried as idempotent. If a retry finds the resource gone after an attempt that may
        have been applied, it is gone, but whether that attempt deleted it or it was not there
        cannot be told from here: ProgrammingError NOT_FOUND is raised with `outcome_unknown`
        set (a caller that saw the resource before the call may count it as deleted).
        """
        outcome = self._execute("DELETE", name, None, None, idempotent=True)
        failure = outcome.failure
        if failure is not None and outcome.ambiguous and _is_not_found(failure):
            logger.info("delete of %s: NOT_FOUND after an attempt that may have been applied",
                        name)
            raise _unknown_outcome(failure.error, (
                "gone after an attempt whose answer was lost: that attempt deleted it, or it did "
                "not exist"))
        return self._result(outcome)

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
                raise _unknown_outcome(failed, "the outcome of the operation is unknown: "
                                               "polling it failed") from failed
            polls += 1
            delay = min(poll_max, delay * 2)
        error = current.get("error")
        if isinstance(error, dict):
            raise _operation_error(current.get("name") or "", error)
        return current


def _is_not_found(failure: _Failure) -> bool:
    """A 404 NOT_FOUND answered by the API itself (not, say, a proxy's HTML 404 page)."""
    error = failure.error
    return failure.structured and error.http_status == 404 and error.rpc_status == "NOT_FOUND"




def _unknown_outcome(error: Error, note: str, kind: type[Error] | None = None) -> Error:
    """`error` (same fields; same class unless `kind` is given) with `note` added and
    `outcome_unknown` set."""
    return (kind or type(error))(
        f"{error.message} ({note})", http_status=error.http_status, rpc_status=error.rpc_status,
        api_message=error.api_message, http_method=error.http_method, path=error.path,
        outcome_unknown=True,
    )


def _request_id(request: Mapping[str, Any]) -> str | None:
    """The explicit resource ID of a batchCreate request (its `...Id` field), if any."""
    for key, value in request.items():
        if key.endswith("Id") and isinstance(value, str) and value:
            return value
    return None


def _request_resource(request: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    """(field name, resource) of a batchCreate request, e.g. ("tensorboardRun", {...})."""
    for key, value in request.items():
        if key != "parent" and isinstance(value, Mapping):
            return key, value
    return "resources", {}


def _operation_error(name: str, error: Mapping[str, Any]) -> Error:
    code = error.get("code")
    status = RPC_CODES.get(code, "UNKNOWN") if isinstance(code, int) else "UNKNOWN"
    message = error.get("message") if isinstance(error.get("message"), str) else None
    return error_class(status, message)(
        f"operation {name} failed: {status} (code {code}): {message or '(no message)'}",
        rpc_status=status, api_message=message, http_method="GET", path=f"/v1/{name}",
    )
