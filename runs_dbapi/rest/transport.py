"""The transport: one JSON call over HTTP, its retries, its log line and progress, and paging.

Calls go to `{endpoint}/v1/{name}` through the `requests.Session` from
`runs_dbapi.auth.build_session` (which adds credentials), each with `prettyPrint=false`.

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
set; resolving such outcomes by reading back is the resource methods' job (`resources.py`).
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import quote, urlencode, urlsplit

import google.auth.exceptions
import requests
import urllib3.exceptions

from ..exceptions import DataError, Error, InterfaceError, OperationalError, redact
from .errors import api_error, read_error_answer

__all__ = ["CONNECT_TIMEOUT", "Failure", "Json", "Outcome", "Progress", "RetryPolicy",
           "Transport"]

logger = logging.getLogger(__name__)
# One debug line per HTTP call, under the name `--debug` users and log filters have always
# used for the REST layer (it was one module before).
call_log = logging.getLogger("runs_dbapi.rest")

Json = dict[str, Any]
# A progress callback: `progress(event, count)`, called from any of the driver's threads, e.g.
# ("pages", 1) per list page fetched, ("runs", 50) for the resources on it (the collection's
# name: "tensorboards" and "experiments" when fanning out), ("operations", 1) per long-running
# operation waited for.
Progress = Callable[[str, int], None]

CONNECT_TIMEOUT = 10.0

_ALWAYS_RETRIED = frozenset({429})  # the request was not processed
_RETRIED_IF_IDEMPOTENT = frozenset({500, 502, 503, 504})  # it may have been
_PATH_SAFE = "/:@-._~!$'()*+,;="

_TransportT = TypeVar("_TransportT", bound="Transport")


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
class Failure:
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
class Outcome:
    """A call's end: its JSON answer, or the failure of its last attempt."""

    result: Json | None
    failure: Failure | None
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


class Transport:
    """JSON calls to `{endpoint}/v1/{path}` with retries, a call counter, progress and paging.

    Paths are given without the `/v1/` prefix. Thread-safe.
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
        return f"{type(self).__name__}(endpoint={self.endpoint!r}, timeout={self.timeout})"

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

    def __enter__(self: _TransportT) -> _TransportT:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
        outcome = self.execute(method, path, params, body, idempotent=idempotent)
        return self.result(outcome)

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

    @staticmethod
    def result(outcome: Outcome) -> Json:
        """The answer of a call that succeeded; the error of one that failed, raised."""
        if outcome.failure is not None:
            raise outcome.failure.error
        assert outcome.result is not None
        return outcome.result

    def execute(
        self, method: str, path: str, params: Mapping[str, Any] | None, body: Any, *,
        idempotent: bool,
    ) -> Outcome:
        """Send one call, retrying as the policy allows; its outcome, failed or not."""
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
                return Outcome(result, None, ambiguous)
            if not failure.retry:
                return self._final(method, Outcome(None, failure, ambiguous))
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
            return self._final(method, Outcome(None, Failure(error, False, ambiguous),
                                               ambiguous))

    @staticmethod
    def _final(method: str, outcome: Outcome) -> Outcome:
        """A failed call's outcome; a write that may have been applied says so on its error."""
        failure = outcome.failure
        if failure is not None and method != "GET" and failure.applied_maybe:
            failure.error.outcome_unknown = True
        return outcome

    def _attempt(
        self, call: _Call, *, idempotent: bool, attempt: int
    ) -> tuple[Failure | None, Json | None]:
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
            return Failure(OperationalError(
                f"{method} {shown}: could not obtain an access token for {self.endpoint} "
                f"(RefreshError: {redact(detail)})", http_method=method, path=shown,
            ), retry=False, applied_maybe=False), None
        except (requests.exceptions.RequestException,
                google.auth.exceptions.TransportError) as exc:
            self._log(method, shown, type(exc).__name__, started, attempt)
            if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema,
                                requests.exceptions.MissingSchema)):
                return Failure(InterfaceError(
                    f"{method} {shown}: invalid URL for endpoint {self.endpoint} "
                    f"({_describe(exc)})", http_method=method, path=shown,
                ), retry=False, applied_maybe=False), None
            unsent = _never_sent(exc)
            retry = unsent or idempotent
            note = "" if retry else (
                "; not retried: the call is not idempotent and may have been applied"
            )
            what = "cannot connect to" if unsent else "connection failed with"
            return Failure(OperationalError(
                f"{method} {shown}: {what} {self.endpoint} ({_describe(exc)}){note}",
                http_method=method, path=shown,
            ), retry=retry, applied_maybe=not unsent), None
        self._log(method, shown, str(response.status_code), started, attempt)
        if 200 <= response.status_code < 300:
            return self._parse_success(method, shown, response)
        return self._failure(method, shown, response, idempotent=idempotent), None

    @staticmethod
    def _log(method: str, shown: str, status: str, started: float, attempt: int) -> None:
        if call_log.isEnabledFor(logging.DEBUG):
            suffix = f" (attempt {attempt})" if attempt > 1 else ""
            call_log.debug("%s %s -> %s in %.1f ms%s", method, shown, status,
                           (time.monotonic() - started) * 1000.0, suffix)

    @staticmethod
    def _parse_success(
        method: str, shown: str, response: requests.Response
    ) -> tuple[Failure | None, Json | None]:
        if not response.content.strip():
            return None, {}
        try:
            parsed = response.json()
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            return Failure(OperationalError(
                f"{method} {shown}: HTTP {response.status_code} answer is not a JSON object "
                f"(Content-Type {response.headers.get('Content-Type', 'unknown')!r})",
                http_status=response.status_code, http_method=method, path=shown,
            ), retry=False, applied_maybe=True), None
        return None, parsed

    @staticmethod
    def _failure(
        method: str, shown: str, response: requests.Response, *, idempotent: bool
    ) -> Failure:
        code = response.status_code
        answer = read_error_answer(response)
        always = code in _ALWAYS_RETRIED
        maybe = code in _RETRIED_IF_IDEMPOTENT
        note = ""
        if maybe and not idempotent:
            note = "not retried: the call is not idempotent and may have been applied"
        failure_error = api_error(
            http_method=method, path=shown, http_status=code, rpc_status=answer.rpc_status,
            api_message=answer.api_message, note=note,
        )
        retry = always or (maybe and idempotent)
        return Failure(
            failure_error,
            retry=retry,
            applied_maybe=maybe,
            retry_after=_retry_after(response.headers.get("Retry-After")) if retry else 0.0,
            structured=answer.structured,
        )
