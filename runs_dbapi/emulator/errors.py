"""API errors in the AIP-193 shape, with the HTTP status each google.rpc code maps to."""

from __future__ import annotations

from typing import Any

# google.rpc.Code name -> (numeric code, HTTP status), as the reference's section 7 lists them.
RPC_CODES: dict[str, tuple[int, int]] = {
    "OK": (0, 200),
    "CANCELLED": (1, 499),
    "UNKNOWN": (2, 500),
    "INVALID_ARGUMENT": (3, 400),
    "DEADLINE_EXCEEDED": (4, 504),
    "NOT_FOUND": (5, 404),
    "ALREADY_EXISTS": (6, 409),
    "PERMISSION_DENIED": (7, 403),
    "RESOURCE_EXHAUSTED": (8, 429),
    "FAILED_PRECONDITION": (9, 400),
    "ABORTED": (10, 409),
    "OUT_OF_RANGE": (11, 400),
    "UNIMPLEMENTED": (12, 501),
    "INTERNAL": (13, 500),
    "UNAVAILABLE": (14, 503),
    "DATA_LOSS": (15, 500),
    "UNAUTHENTICATED": (16, 401),
}


class ApiError(Exception):
    """An error the emulated service answers with; rendered as an AIP-193 body."""

    def __init__(
        self,
        status: str,
        message: str,
        *,
        reason: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        if status not in RPC_CODES:
            raise ValueError(f"unknown google.rpc status {status!r}")
        self.status = status
        self.message = message
        self.reason = reason
        self.headers = dict(headers or {})

    @property
    def code(self) -> int:
        return RPC_CODES[self.status][0]

    @property
    def http_status(self) -> int:
        return RPC_CODES[self.status][1]

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "code": self.http_status,
            "message": self.message,
            "status": self.status,
        }
        if self.reason:
            error["details"] = [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": self.reason,
                    "domain": "googleapis.com",
                    "metadata": {"service": "aiplatform.googleapis.com"},
                }
            ]
        return {"error": error}



def invalid(message: str) -> ApiError:
    return ApiError("INVALID_ARGUMENT", message)


def not_found(name: str) -> ApiError:
    return ApiError("NOT_FOUND", f'The resource "{name}" was not found.')
