"""The PEP 249 exception hierarchy, carrying what the API said when an API call failed.

Every error of the driver is an `Error` (or a `Warning`). When it comes from an HTTP answer it also
carries the HTTP status, the google.rpc status name, the API's own message, the HTTP method and the
path called. Paths and messages are scrubbed of credentials before they are stored: an
`access_token` or `key` query parameter, a bearer token and a PEM private key never survive into
an exception (nor, therefore, into a log line or a traceback).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = [
    "DataError",
    "DatabaseError",
    "Error",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "NotSupportedError",
    "OperationalError",
    "ProgrammingError",
    "Warning",
    "redact",
    "sanitize_path",
]

# Query parameters that carry credentials (OAuth2 access tokens, API keys).
SECRET_PARAMS = frozenset({"access_token", "key"})
REDACTED = "<redacted>"

_SECRET_PATTERNS = (
    # A PEM private key, whole or cut short.
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)",
                re.DOTALL), REDACTED),
    # An Authorization header value.
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+"), r"\1 " + REDACTED),
    # User information in a URL (`https://user:password@host`).
    (re.compile(r"(?<=//)[^/@\s'\"]+@"), REDACTED + "@"),
    # A credential carried in a URL query string.
    (re.compile(r"(?i)([?&](?:access_token|key)=)[^&#\s'\"]*"), r"\1" + REDACTED),
    # Google OAuth2 access tokens and refresh tokens, wherever they appear.
    (re.compile(r"\bya29\.[A-Za-z0-9._-]+"), REDACTED),
    (re.compile(r"\b1//[A-Za-z0-9._-]{20,}"), REDACTED),
)


def redact(text: str) -> str:
    """`text` with anything that looks like a credential replaced by `<redacted>`."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def sanitize_path(path: str) -> str:
    """A URL's path plus query string, without any `access_token` or `key` parameter.

    Scheme and host are dropped if present (`https://h/v1/x?key=k&a=b` -> `/v1/x?a=b`).
    """
    parts = urlsplit(path)
    if not parts.query:
        return urlunsplit(("", "", parts.path, "", ""))
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if k.lower() not in SECRET_PARAMS]
    return urlunsplit(("", "", parts.path, urlencode(kept), ""))


class Warning(Exception):  # the name PEP 249 requires (shadows the builtin here only)
    """Important warnings, e.g. data truncation (PEP 249)."""


class Error(Exception):
    """Base class of every driver error (PEP 249).

    Attributes (None when not applicable):
        message: the full, credential-free message (also `str(error)`).
        http_status: the HTTP status of the API answer, e.g. 404.
        rpc_status: the google.rpc status name, e.g. "NOT_FOUND".
        api_message: the API's own message.
        http_method: "GET", "POST", ...
        path: the URL path and query called, without credential parameters.
        outcome_unknown: True when the change a failed call asked for may or may not have been
            applied (its answer was lost, or was a 5xx after which it could not be repeated
            safely or resolved by reading back); False when it was certainly not applied.
        rows_written, rows_not_written, rows_unknown: for a write that failed part-way, the
            rows (run IDs or names) that were written, that were not, and whose outcome is
            unknown; None for any other error.
    """

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        rpc_status: str | None = None,
        api_message: str | None = None,
        http_method: str | None = None,
        path: str | None = None,
        outcome_unknown: bool = False,
        rows_written: list[str] | None = None,
        rows_not_written: list[str] | None = None,
        rows_unknown: list[str] | None = None,
    ) -> None:
        message = redact(message)
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.rpc_status = rpc_status
        self.api_message = redact(api_message) if api_message is not None else None
        self.http_method = http_method
        self.path = sanitize_path(path) if path is not None else None
        self.outcome_unknown = outcome_unknown
        self.rows_written = rows_written
        self.rows_not_written = rows_not_written
        self.rows_unknown = rows_unknown

    def __str__(self) -> str:
        return self.message


class InterfaceError(Error):
    """Errors of the driver itself rather than of the API (bad options, misuse)."""


class DatabaseError(Error):
    """Errors related to the API (the "database")."""


class DataError(DatabaseError):
    """Problems with the processed data (bad values, out of range)."""


class OperationalError(DatabaseError):
    """Failures outside the programmer's control: unreachable API, quota, auth, aborted writes."""


class IntegrityError(DatabaseError):
    """The API refused a change because it would break uniqueness (duplicate ID or name)."""


class InternalError(DatabaseError):
    """The driver or the API got into an inconsistent state."""


class ProgrammingError(DatabaseError):
    """Invalid requests: bad arguments, unknown resources, SQL errors."""


class NotSupportedError(DatabaseError):
    """A method or feature the API (or the driver) does not support."""
