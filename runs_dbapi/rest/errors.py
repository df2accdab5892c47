"""Error mapping: google.rpc and HTTP statuses, and the API's error bodies, to PEP 249 errors.

An API error answer (AIP-193) carries `{"error": {"code", "status", "message"}}`; an answer
without one (a proxy's page, say) gets the status its HTTP code stands for. The exception raised
carries both statuses, the API's message, method and path (`runs_dbapi.exceptions.Error`), and
`outcome_unknown` when the change asked for may or may not have been applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

from ..exceptions import (
    Error,
    IntegrityError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
)

__all__ = [
    "RPC_CODES",
    "ErrorAnswer",
    "api_error",
    "error_class",
    "operation_error",
    "read_error_answer",
    "unknown_outcome",
]

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

_PROGRAMMING = frozenset({"INVALID_ARGUMENT", "FAILED_PRECONDITION", "OUT_OF_RANGE", "NOT_FOUND"})


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
class ErrorAnswer:
    """What an HTTP error answer says: its google.rpc status and the API's message."""

    rpc_status: str
    api_message: str | None
    structured: bool  # the API answered with an AIP-193 error body


def read_error_answer(response: requests.Response) -> ErrorAnswer:
    """The status and message of an error answer, from its AIP-193 body if it has one, else
    from its HTTP status (and the start of its text, as the message)."""
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
    return ErrorAnswer(rpc_status, api_message, structured=isinstance(error, dict))


def unknown_outcome(error: Error, note: str, kind: type[Error] | None = None) -> Error:
    """`error` (same fields; same class unless `kind` is given) with `note` added and
    `outcome_unknown` set."""
    return (kind or type(error))(
        f"{error.message} ({note})", http_status=error.http_status, rpc_status=error.rpc_status,
        api_message=error.api_message, http_method=error.http_method, path=error.path,
        outcome_unknown=True,
    )


def operation_error(name: str, error: Mapping[str, Any]) -> Error:
    """The exception for a long-running operation that failed with `error` (a google.rpc
    Status: a numeric code and a message)."""
    code = error.get("code")
    status = RPC_CODES.get(code, "UNKNOWN") if isinstance(code, int) else "UNKNOWN"
    message = error.get("message") if isinstance(error.get("message"), str) else None
    return error_class(status, message)(
        f"operation {name} failed: {status} (code {code}): {message or '(no message)'}",
        rpc_status=status, api_message=message, http_method="GET", path=f"/v1/{name}",
    )
