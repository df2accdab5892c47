"""The PEP 249 exception hierarchy and the credential scrubbing every error gets."""

from __future__ import annotations

import pickle

import pytest

from runs_dbapi import exceptions as exc
from runs_dbapi.exceptions import (
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    redact,
    sanitize_path,
)

PEM = (
    "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n"
    "c2VjcmV0LWtleS1ib2R5\n-----END PRIVATE KEY-----\n"
)


def test_hierarchy_is_pep_249() -> None:
    assert issubclass(exc.Warning, Exception)
    assert not issubclass(exc.Warning, Error)
    assert exc.Warning.__module__ == "runs_dbapi.exceptions"  # its own, not the builtin
    assert issubclass(Error, Exception)
    assert issubclass(InterfaceError, Error)
    assert issubclass(DatabaseError, Error)
    assert not issubclass(InterfaceError, DatabaseError)
    for cls in (DataError, OperationalError, IntegrityError, InternalError, ProgrammingError,
                NotSupportedError):
        assert issubclass(cls, DatabaseError), cls
    # Siblings, not one another's subclasses.
    assert not issubclass(IntegrityError, ProgrammingError)
    assert not issubclass(OperationalError, ProgrammingError)


def test_attributes_are_stored() -> None:
    error = ProgrammingError(
        "GET /v1/x: HTTP 404 NOT_FOUND: gone",
        http_status=404, rpc_status="NOT_FOUND", api_message="gone", http_method="GET",
        path="/v1/projects/p/locations/l/tensorboards/1?readMask=name",
    )
    assert str(error) == error.message == "GET /v1/x: HTTP 404 NOT_FOUND: gone"
    assert error.args == ("GET /v1/x: HTTP 404 NOT_FOUND: gone",)
    assert error.http_status == 404
    assert error.rpc_status == "NOT_FOUND"
    assert error.api_message == "gone"
    assert error.http_method == "GET"
    assert error.path == "/v1/projects/p/locations/l/tensorboards/1?readMask=name"


def test_attributes_default_to_none() -> None:
    error = InterfaceError("bad option")
    assert (error.http_status, error.rpc_status, error.api_message, error.http_method,
            error.path) == (None, None, None, None, None)
    with pytest.raises(Error, match="bad option"):
        raise error


def test_path_drops_credential_parameters() -> None:
    error = OperationalError(
        "x", path="/v1/projects/p/runs?access_token=ya29.SECRET&pageSize=5&key=AIzaSECRET"
                  "&filter=labels.key+%3D+%22v%22"
    )
    assert error.path is not None
    assert "SECRET" not in error.path
    assert "access_token" not in error.path
    assert error.path.startswith("/v1/projects/p/runs?")
    assert "pageSize=5" in error.path
    assert "filter=labels.key" in error.path  # a filter on a label called "key" is not a key


def test_sanitize_path_drops_scheme_and_host() -> None:
    assert sanitize_path("https://h.example/v1/x?KEY=k&a=b") == "/v1/x?a=b"
    assert sanitize_path("/v1/x") == "/v1/x"
    assert sanitize_path("/v1/x?access_token=t") == "/v1/x"


@pytest.mark.parametrize("secret, text", [
    ("ya29.a0AfH6SMBx-secret_token", "token ya29.a0AfH6SMBx-secret_token expired"),
    ("abc.def-secret", "Authorization: Bearer abc.def-secret"),
    ("AIzaSySECRET", "GET https://h/v1/x?key=AIzaSySECRET&a=1"),
    ("tok-SECRET", "GET /v1/x?a=1&access_token=tok-SECRET"),
    ("user:pw-SECRET", "cannot reach https://user:pw-SECRET@proxy.example:3128/v1"),
    ("c2VjcmV0LWtleS1ib2R5", "bad key " + PEM),
    ("c2VjcmV0LWtleS1ib2R5", "truncated " + PEM[:80] + "c2VjcmV0LWtleS1ib2R5"),
])
def test_messages_are_scrubbed(secret: str, text: str) -> None:
    error = OperationalError(text, api_message=text)
    assert secret not in str(error)
    assert secret not in repr(error)
    assert error.api_message is not None and secret not in error.api_message
    assert "<redacted>" in str(error)
    assert secret not in redact(text)


def test_redact_leaves_ordinary_text() -> None:
    text = 'GET /v1/x?filter=labels.key+%3D+%22v%22: HTTP 400 INVALID_ARGUMENT: bad "key"'
    assert redact(text) == text


def test_errors_pickle() -> None:
    error = IntegrityError("dup", http_status=409, rpc_status="ALREADY_EXISTS")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is IntegrityError
    assert str(copy) == "dup"
