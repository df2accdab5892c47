"""Credentials end to end against an emulator that requires a bearer token.

A service-account key is generated here (RSA 2048, PEM) with the emulator's `/token` as its
`token_uri`, so google-auth signs a real JWT and exchanges it at the emulator; impersonation goes
through the emulator's IAM generateAccessToken. Secrets are checked never to leak into exception
messages, reprs or the DEBUG log.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import google.auth
import google.auth.credentials
import google.auth.exceptions
import google.oauth2.credentials
import google.oauth2.service_account
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth.transport.requests import AuthorizedSession

from runs_dbapi.auth import CLOUD_PLATFORM_SCOPE, build_session, default_endpoint
from runs_dbapi.emulator import Emulator
from runs_dbapi.exceptions import InterfaceError, OperationalError
from runs_dbapi.rest import RestClient, RetryPolicy

pytestmark = pytest.mark.emulator(require_auth=True)

LOCATION = "projects/test-project/locations/us-central1"
SOURCE_SA = "driver@test-project.iam.gserviceaccount.com"
TARGET_SA = "reader@test-project.iam.gserviceaccount.com"


@pytest.fixture(scope="module")
def private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture
def key_info(emu: Emulator, private_key_pem: str) -> dict[str, str]:
    return {
        "type": "service_account",
        "project_id": "test-project",
        "private_key_id": "5f1e0c9d2b7a4e6f8a3b1c0d9e8f7a6b5c4d3e2f",
        "private_key": private_key_pem,
        "client_email": SOURCE_SA,
        "client_id": "112233445566778899000",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": emu.token_uri,
    }


@pytest.fixture
def key_file(tmp_path: Path, key_info: dict[str, str]) -> Path:
    path = tmp_path / "key.json"
    path.write_text(json.dumps(key_info, indent=2))
    return path


def client_for(emu: Emulator, session: requests.Session) -> RestClient:
    return RestClient(emu.url, session, retry=RetryPolicy(max_attempts=2, sleep=lambda _: None))


def list_boards(rest: RestClient) -> dict[str, Any]:
    return next(rest.list_pages(LOCATION, "tensorboards", {}))


def bearer(session: requests.Session) -> str:
    assert isinstance(session, AuthorizedSession)
    token = session.credentials.token
    assert isinstance(token, str) and token
    return token


def secrets_of(key_info: dict[str, str], key_file: Path | None = None) -> list[str]:
    """The private key, a line of its body, its ID and the key file's text."""
    pem = key_info["private_key"]
    body_line = pem.splitlines()[5]
    found = [pem, body_line, key_info["private_key_id"]]
    if key_file is not None:
        found.append(key_file.read_text())
    return found


def assert_never_leaks(secrets: list[str], *texts: str) -> None:
    for secret in secrets:
        for text in texts:
            assert secret not in text
            assert secret.replace("\n", "\\n") not in text


def log_text(caplog: pytest.LogCaptureFixture) -> str:
    """Every captured record: formatted message plus all its attributes (extras included)."""
    return "\n".join(f"{r.getMessage()} {r.__dict__!r}" for r in caplog.records)


# -- credentials that work -------------------------------------------------------------------


def test_service_account_key_info(emu: Emulator, key_info: dict[str, str],
                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    session = build_session(endpoint=emu.url, credentials_info=key_info)
    assert isinstance(session, AuthorizedSession)
    rest = client_for(emu, session)
    assert list_boards(rest) == {}
    assert emu.calls("oauth.token") == 1
    token = bearer(session)
    assert emu.auth.principal(token) == SOURCE_SA
    assert_never_leaks([*secrets_of(key_info), token], log_text(caplog), repr(session),
                       repr(rest))


def test_service_account_key_file(emu: Emulator, key_file: Path, key_info: dict[str, str],
                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    # A key file is read from disk, not passed by value: the emulator stands in for Google.
    session = build_session(endpoint=emu.url, credentials_path=str(key_file),
                            credentials_hosts=emu.url)
    rest = client_for(emu, session)
    list_boards(rest)
    list_boards(rest)
    assert emu.calls("oauth.token") == 1  # the token is reused
    assert_never_leaks([*secrets_of(key_info, key_file), bearer(session)], log_text(caplog),
                       repr(session), repr(rest))


def test_access_token(emu: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token = emu.issue_token("someone")
    session = build_session(endpoint=emu.url, access_token=token)
    rest = client_for(emu, session)
    assert list_boards(rest) == {}
    assert emu.calls("oauth.token") == 0
    assert_never_leaks([token], log_text(caplog), repr(session), repr(rest))


def test_a_rejected_access_token_is_the_apis_401(emu: Emulator) -> None:
    token = "ya29.not-issued-by-the-emulator-" + "x" * 20
    session = build_session(endpoint=emu.url, access_token=token)
    rest = client_for(emu, session)
    with pytest.raises(OperationalError) as caught:
        list_boards(rest)
    error = caught.value
    assert (error.http_status, error.rpc_status) == (401, "UNAUTHENTICATED")
    assert rest.calls == 1  # a fixed token is not refreshed, and a 401 is not retried
    assert_never_leaks([token], str(error), repr(error), repr(error.__dict__))


def test_explicit_credentials_object_with_refresh_token(emu: Emulator) -> None:
    credentials = google.oauth2.credentials.Credentials(  # type: ignore[no-untyped-call]
        token=None, refresh_token="1//refresh-secret-" + "r" * 30, client_id="cid",
        client_secret="client-secret", token_uri=emu.token_uri,
    )
    session = build_session(endpoint=emu.url, credentials=credentials)
    assert list_boards(client_for(emu, session)) == {}
    assert emu.calls("oauth.token") == 1
    assert emu.auth.principal(bearer(session)) == "cid"


def test_application_default_credentials(emu: Emulator, key_info: dict[str, str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[Any] = []

    def fake_default(scopes: Any = None, **kwargs: Any) -> tuple[Any, str]:
        asked.append(scopes)
        credentials = google.oauth2.service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
            key_info, scopes=scopes
        )
        return credentials, "test-project"

    monkeypatch.setattr(google.auth, "default", fake_default)
    # Application Default Credentials go to the emulator only because it is named.
    session = build_session(endpoint=emu.url, credentials_hosts=emu.url)
    assert list_boards(client_for(emu, session)) == {}
    assert asked == [[CLOUD_PLATFORM_SCOPE]]
    assert emu.auth.principal(bearer(session)) == SOURCE_SA


def test_no_application_default_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(**kwargs: Any) -> Any:
        raise google.auth.exceptions.DefaultCredentialsError(  # type: ignore[no-untyped-call]
            "Your default credentials were not found."
        )

    monkeypatch.setattr(google.auth, "default", missing)
    with pytest.raises(InterfaceError, match="Application Default Credentials") as caught:
        build_session(endpoint="https://us-central1-aiplatform.googleapis.com")
    assert "anonymous=True" in str(caught.value)


@pytest.mark.parametrize("form", ["full", "base"])
def test_impersonation(emu: Emulator, key_info: dict[str, str], form: str,
                       caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    # google-auth wants the full URL with the target in it; a base URL is completed for you.
    override = (f"{emu.url}/v1/projects/-/serviceAccounts/{TARGET_SA}:generateAccessToken"
                if form == "full" else emu.url)
    session = build_session(endpoint=emu.url, credentials_info=key_info,
                            impersonate_service_account=TARGET_SA,
                            iam_endpoint_override=override)
    rest = client_for(emu, session)
    assert list_boards(rest) == {}
    assert emu.calls("oauth.token") == 1  # the source key's token, sent to IAM
    assert emu.calls("iam.generateAccessToken") == 1
    token = bearer(session)
    assert emu.auth.principal(token) == TARGET_SA  # the API saw the impersonated identity
    assert_never_leaks([*secrets_of(key_info), token], log_text(caplog), repr(session),
                       repr(rest))


def test_quota_project_header(emu: Emulator) -> None:
    token = emu.issue_token()
    session = build_session(endpoint=emu.url, access_token=token, quota_project="billing-proj")
    sent: list[requests.PreparedRequest] = []
    session.hooks["response"].append(lambda r, *a, **k: sent.append(r.request))
    list_boards(client_for(emu, session))
    assert sent[0].headers["x-goog-user-project"] == "billing-proj"
    assert sent[0].headers["Authorization"] == f"Bearer {token}"


# -- anonymous -------------------------------------------------------------------------------


def test_anonymous_against_a_server_that_requires_auth(emu: Emulator) -> None:
    session = build_session(endpoint=emu.url, anonymous=True)
    assert type(session) is requests.Session
    rest = client_for(emu, session)
    with pytest.raises(OperationalError, match="401") as caught:
        list_boards(rest)
    assert caught.value.rpc_status == "UNAUTHENTICATED"
    assert "missing required authentication credential" in str(caught.value)


def test_anonymous_wins_over_other_options(emu: Emulator, caplog: pytest.LogCaptureFixture
                                           ) -> None:
    token = emu.issue_token()
    session = build_session(endpoint=emu.url, anonymous=True, access_token=token)
    assert type(session) is requests.Session
    assert "ignoring access_token" in caplog.text
    assert token not in caplog.text


def test_pool_size_sizes_both_adapters(emu: Emulator) -> None:
    for session in (build_session(endpoint=emu.url, anonymous=True, pool_size=7),
                    build_session(endpoint=emu.url, access_token="t", pool_size=7)):
        for prefix in ("http://", "https://"):
            adapter = session.get_adapter(prefix + "example.com")
            assert adapter._pool_maxsize == 7  # type: ignore[attr-defined]
            assert adapter.max_retries.total == 0  # type: ignore[attr-defined]
    with pytest.raises(InterfaceError, match="pool_size"):
        build_session(endpoint=emu.url, anonymous=True, pool_size=0)


# -- credentials that fail -------------------------------------------------------------------


def test_unreadable_key_file(tmp_path: Path) -> None:
    vertex = default_endpoint("us-central1")  # a key file's credentials may go there
    with pytest.raises(InterfaceError, match="credentials_path: cannot read"):
        build_session(endpoint=vertex, credentials_path=str(tmp_path / "missing.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("not json but a secret-ish string s3cr3t")
    with pytest.raises(InterfaceError, match="not a JSON credentials file") as caught:
        build_session(endpoint=vertex, credentials_path=str(bad))
    assert "s3cr3t" not in str(caught.value)


def test_key_with_missing_fields(key_info: dict[str, str]) -> None:
    incomplete = {k: v for k, v in key_info.items() if k != "client_email"}
    with pytest.raises(InterfaceError, match="credentials_info") as caught:
        build_session(endpoint="https://h", credentials_info=incomplete)
    assert "client_email" in str(caught.value)
    assert_never_leaks(secrets_of(key_info), str(caught.value), repr(caught.value.__dict__))


def test_key_with_a_broken_private_key(key_info: dict[str, str], key_file: Path,
                                       tmp_path: Path) -> None:
    pem = key_info["private_key"]
    broken = {**key_info, "private_key": pem.replace(pem.splitlines()[3], "!!not base64!!")}
    with pytest.raises(InterfaceError, match="credentials_info") as caught:
        build_session(endpoint="https://h", credentials_info=broken)
    assert_never_leaks([*secrets_of(key_info), broken["private_key"]], str(caught.value))
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    with pytest.raises(InterfaceError, match="credentials_path") as by_path:
        build_session(endpoint=default_endpoint("us-central1"), credentials_path=str(path))
    assert_never_leaks([*secrets_of(key_info, key_file), path.read_text()], str(by_path.value))


def test_unsupported_credentials(key_info: dict[str, str]) -> None:
    with pytest.raises(InterfaceError, match="unsupported credentials type 'external_account'"):
        build_session(endpoint="https://h", credentials_info={"type": "external_account"})
    with pytest.raises(InterfaceError, match="expected a JSON object"):
        build_session(endpoint="https://h", credentials_info=["x"])  # type: ignore[arg-type]
    with pytest.raises(InterfaceError, match=r"credentials: expected a google\.auth"):
        build_session(endpoint="https://h", credentials="token")  # type: ignore[arg-type]
    with pytest.raises(InterfaceError, match="access_token"):
        build_session(endpoint="https://h", access_token="  ")
    with pytest.raises(InterfaceError, match="endpoint"):
        build_session(endpoint="h", anonymous=True)


def test_authorized_user_info_loads(key_info: dict[str, str]) -> None:
    # google-auth always sends refresh tokens of a credentials JSON to Google's own token
    # endpoint (it ignores the file's token_uri), so this is checked without a request.
    info = {"type": "authorized_user", "client_id": "cid", "client_secret": "csecret-xyz",
            "refresh_token": "1//refresh-" + "z" * 30}
    session = build_session(endpoint="https://h", credentials_info=info)
    assert isinstance(session, AuthorizedSession)
    credentials = session.credentials
    assert isinstance(credentials, google.oauth2.credentials.Credentials)
    assert credentials.refresh_token == info["refresh_token"]
    assert credentials.scopes == [CLOUD_PLATFORM_SCOPE]
    missing = {k: v for k, v in info.items() if k != "client_secret"}
    with pytest.raises(InterfaceError, match="authorized_user") as caught:
        build_session(endpoint="https://h", credentials_info=missing)
    assert info["refresh_token"] not in str(caught.value)


def test_a_failing_token_refresh_is_an_operational_error(
    emu: Emulator, key_info: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    broken = {**key_info, "token_uri": emu.url + "/no-token-endpoint-here"}
    rest = client_for(emu, build_session(endpoint=emu.url, credentials_info=broken))
    with pytest.raises(OperationalError, match="could not obtain an access token") as caught:
        list_boards(rest)
    assert rest.calls == 1  # a refresh failure is not retried
    assert_never_leaks(secrets_of(key_info), str(caught.value), log_text(caplog))


def test_impersonation_failure_does_not_leak(emu: Emulator, key_info: dict[str, str]) -> None:
    session = build_session(endpoint=emu.url, credentials_info=key_info,
                            impersonate_service_account=TARGET_SA,
                            iam_endpoint_override=emu.url + "/nowhere:generateAccessToken")
    with pytest.raises(OperationalError, match="could not obtain an access token") as caught:
        list_boards(client_for(emu, session))
    assert_never_leaks(secrets_of(key_info), str(caught.value))
    with pytest.raises(InterfaceError, match="iam_endpoint_override"):
        build_session(endpoint=emu.url, credentials_info=key_info,
                      impersonate_service_account=TARGET_SA, iam_endpoint_override="nowhere")


def test_quota_project_needs_capable_credentials(emu: Emulator) -> None:
    class Plain(google.auth.credentials.Credentials):
        def refresh(self, request: Any) -> None:
            self.token = "plain"

    with pytest.raises(InterfaceError, match="quota_project"):
        build_session(endpoint=emu.url, credentials=Plain(),  # type: ignore[no-untyped-call]
                      quota_project="p")


# -- endpoints -------------------------------------------------------------------------------


def test_default_endpoint() -> None:
    assert default_endpoint("us-central1") == "https://us-central1-aiplatform.googleapis.com"
    assert default_endpoint("europe-west4") == "https://europe-west4-aiplatform.googleapis.com"
    assert default_endpoint("global") == "https://aiplatform.googleapis.com"
    for bad in ("", "US-CENTRAL1", "us-central1.evil.example/x", "a b"):
        with pytest.raises(InterfaceError, match="location"):
            default_endpoint(bad)
