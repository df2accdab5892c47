"""Credentials follow the host (issue 17): what the driver sends where, checked on the wire.

A header-recording HTTP server on 127.0.0.1 plays "a host of the URL writer's choosing". With
Application Default Credentials on the machine (a stand-in whose token would be the server's
own), the driver sends them to that host only when `credentials_hosts` names it; impersonation
and key files read from disk are refused there with a message that says how to opt in; a token
passed by value goes where the caller sends it; nothing with credentials goes over plain http to
a non-loopback host (checked at the decision function and at the session, without traffic: no
test sends anything outside 127.0.0.0/8). The Superset policy (`shared_server_refusals`) and the
emulator's warning about listening beyond loopback are checked here too.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import google.auth
import google.auth.credentials
import pytest
import requests
import sqlalchemy
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth.transport.requests import AuthorizedSession
from sqlalchemy.exc import ArgumentError

import runs_dbapi
from runs_dbapi.auth import (
    build_session,
    credentials_allowed,
    default_endpoint,
    is_google_host,
    parse_credentials_hosts,
)
from runs_dbapi.emulator import Emulator
from runs_dbapi.emulator import cli as emulator_cli
from runs_dbapi.exceptions import InterfaceError
from runs_dbapi.rest import RetryPolicy
from runs_dialect.url import GUARDED_OPTIONS, build_url, parse_url, shared_server_refusals

SERVER_TOKEN = "ya29.the-servers-own-adc-token-0123456789"
CALLER_TOKEN = "ya29.a-token-the-caller-passed-by-value"
TARGET_SA = "reader@demo-project.iam.gserviceaccount.com"
QUICK = RetryPolicy(max_attempts=1)
VERTEX = default_endpoint("us-central1")


# -- a server that records what it is sent -------------------------------------------------------


class Recorder:
    """An HTTP server on a loopback address that answers `{}` and records every request."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.requests: list[dict[str, Any]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                recorder.requests.append({"method": self.command, "path": self.path,
                                          "headers": dict(self.headers.items())})
                query = parse_qs(urlsplit(self.path).query)
                if "to" in query:  # /redirect?to=URL
                    self.send_response(302)
                    self.send_header("Location", query["to"][0])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = json.dumps({}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PATCH = do_DELETE = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def authorizations(self) -> list[str]:
        """Every credential-bearing header received, whatever its case."""
        return [value for request in self.requests for name, value in request["headers"].items()
                if name.lower() in ("authorization", "x-goog-user-project", "x-goog-api-key")]

    def everything(self) -> str:
        return json.dumps(self.requests)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    yield server
    server.close()


class ServerCredentials(google.auth.credentials.CredentialsWithQuotaProject):
    """Stands in for the server's own Application Default Credentials."""

    def __init__(self, token: str = SERVER_TOKEN) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._issued = token
        self.refreshed = 0

    def refresh(self, request: Any) -> None:
        self.refreshed += 1
        self.token = self._issued

    def with_quota_project(self, quota_project_id: Any) -> ServerCredentials:
        copy = ServerCredentials(self._issued)
        copy._quota_project_id = quota_project_id
        return copy


@pytest.fixture
def adc(monkeypatch: pytest.MonkeyPatch) -> list[ServerCredentials]:
    """Application Default Credentials on the machine; the list holds each one handed out."""
    handed: list[ServerCredentials] = []

    def default(scopes: Any = None, **kwargs: Any) -> tuple[ServerCredentials, str]:
        handed.append(ServerCredentials())
        return handed[-1], "server-project"

    monkeypatch.setattr(google.auth, "default", default)
    return handed


def _tensorboards(**options: Any) -> list[Any]:
    with runs_dbapi.connect(project="demo-project", location="us-central1", retry=QUICK,
                            **options) as connection:
        return connection.cursor().execute("SELECT displayName FROM tensorboards").fetchall()


def _key_info(token_uri: str) -> dict[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return {"type": "service_account", "project_id": "demo-project",
            "private_key_id": "0123456789abcdef", "private_key": pem,
            "client_email": "driver@demo-project.iam.gserviceaccount.com",
            "client_id": "1234567890", "token_uri": token_uri}


# -- ambient credentials never reach a host they were not meant for -----------------------------


def test_adc_never_reaches_a_non_google_endpoint(recorder: Recorder,
                                                 adc: list[ServerCredentials],
                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="runs_dbapi.auth")
    assert _tensorboards(endpoint=recorder.url) == []  # anonymous, no anonymous=True needed
    assert recorder.requests, "the query reached the server"
    assert recorder.authorizations() == []
    assert SERVER_TOKEN not in recorder.everything()
    assert adc == []  # not even looked up
    assert "sending no credentials" in caplog.text and "credentials_hosts" in caplog.text


def test_a_remote_host_without_credentials_is_warned_about(
        adc: list[ServerCredentials], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="runs_dbapi.auth")
    session = build_session(endpoint="https://proxy.corp.example")  # built, never used
    assert type(session) is requests.Session and adc == []
    assert [(r.levelno, "sending no credentials" in r.getMessage()) for r in caplog.records
            ][:1] == [(logging.WARNING, True)]
    caplog.clear()
    build_session(endpoint="http://127.0.0.1:8471")  # an emulator: the usual case, not warned
    assert [r.levelno for r in caplog.records][:1] == [logging.INFO]


def test_adc_never_reaches_a_non_google_endpoint_named_in_a_url(
        recorder: Recorder, adc: list[ServerCredentials]) -> None:
    engine = sqlalchemy.create_engine(f"runs://demo-project/us-central1?endpoint={recorder.url}"
                                      "&max_attempts=1")
    try:
        with engine.connect() as connection:
            rows = connection.exec_driver_sql("SELECT displayName FROM tensorboards").fetchall()
    finally:
        engine.dispose()
    assert rows == [] and recorder.requests
    assert recorder.authorizations() == [] and adc == []


def test_a_quota_project_alone_sends_no_credentials(recorder: Recorder,
                                                    adc: list[ServerCredentials],
                                                    caplog: pytest.LogCaptureFixture) -> None:
    assert _tensorboards(endpoint=recorder.url, quota_project="someone-elses-project") == []
    assert recorder.requests and recorder.authorizations() == [] and adc == []
    assert "ignoring quota_project" in caplog.text


def test_adc_impersonation_towards_a_non_google_endpoint_is_refused(
        recorder: Recorder, adc: list[ServerCredentials]) -> None:
    with pytest.raises(InterfaceError) as caught:
        _tensorboards(endpoint=recorder.url, impersonate_service_account=TARGET_SA)
    message = str(caught.value)
    assert "impersonate_service_account" in message and "not a Google API host" in message
    host = urlsplit(recorder.url).netloc
    assert f"credentials_hosts='{host}'" in message  # says how to opt in
    assert recorder.requests == [] and adc == []


def test_adc_towards_a_non_google_iam_endpoint_is_refused(
        recorder: Recorder, adc: list[ServerCredentials]) -> None:
    # The API endpoint is Google's; the IAM endpoint would receive the server's own token.
    with pytest.raises(InterfaceError) as caught:
        build_session(endpoint=VERTEX, impersonate_service_account=TARGET_SA,
                      iam_endpoint_override=recorder.url)
    message = str(caught.value)
    assert message.startswith("iam_endpoint_override:") and "credentials_hosts" in message
    assert recorder.requests == [] and adc == []


def test_a_key_file_towards_a_non_google_endpoint_is_refused(
        recorder: Recorder, tmp_path: Path, adc: list[ServerCredentials]) -> None:
    # A path names a key on the server's disk, perhaps the server's own: it is not passed by
    # value, so its tokens follow the same rule as ADC (and the file is not even read).
    path = tmp_path / "server-key.json"
    path.write_text(json.dumps(_key_info(recorder.url + "/token")))
    with pytest.raises(InterfaceError, match="credentials_path: not sending credentials") as e:
        _tensorboards(endpoint=recorder.url, credentials_path=str(path))
    assert "credentials_hosts" in str(e.value)
    assert recorder.requests == []


def test_the_refusal_is_also_the_urls(recorder: Recorder, adc: list[ServerCredentials]) -> None:
    url = build_url("demo-project", "us-central1", endpoint=recorder.url,
                    impersonate_service_account=TARGET_SA)
    engine = sqlalchemy.create_engine(url)
    try:
        with pytest.raises(sqlalchemy.exc.InterfaceError, match="credentials_hosts"):
            engine.connect()
    finally:
        engine.dispose()
    assert recorder.requests == [] and adc == []


# -- what is sent when asked ---------------------------------------------------------------------


def test_a_token_passed_by_value_goes_where_the_caller_sends_it(
        recorder: Recorder, adc: list[ServerCredentials]) -> None:
    assert _tensorboards(endpoint=recorder.url, access_token=CALLER_TOKEN) == []
    assert recorder.authorizations() and set(recorder.authorizations()) == {
        f"Bearer {CALLER_TOKEN}"}
    assert SERVER_TOKEN not in recorder.everything() and adc == []


def test_adc_goes_to_a_host_named_in_credentials_hosts(recorder: Recorder,
                                                       adc: list[ServerCredentials]) -> None:
    host = urlsplit(recorder.url).netloc
    for named in (recorder.url, host, "127.0.0.1", ["elsewhere.example", host]):
        recorder.requests.clear()
        assert _tensorboards(endpoint=recorder.url, credentials_hosts=named) == []
        assert recorder.authorizations() and set(recorder.authorizations()) == {
            f"Bearer {SERVER_TOKEN}"}, named
    # The same through a URL option.
    recorder.requests.clear()
    options = parse_url(f"runs://demo-project/us-central1?endpoint={recorder.url}"
                        f"&credentials_hosts={host}")
    assert options["credentials_hosts"] == host
    assert _tensorboards(**{k: v for k, v in options.items()
                            if k not in ("project", "location")}) == []
    assert set(recorder.authorizations()) == {f"Bearer {SERVER_TOKEN}"}


def test_naming_another_port_or_host_is_not_naming_this_one(
        recorder: Recorder, adc: list[ServerCredentials]) -> None:
    for named in ("127.0.0.1:1", "localhost", "127.0.0.2", "http://127.0.0.1"):
        recorder.requests.clear()
        assert _tensorboards(endpoint=recorder.url, credentials_hosts=named) == []
        assert recorder.requests and recorder.authorizations() == [], named
    assert adc == []


def test_adc_impersonation_through_the_opt_in_against_the_emulator(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The emulator stands in for Google's API and IAM endpoints: named in credentials_hosts.
    with Emulator(require_auth=True, demo=True) as emu:
        source = ServerCredentials(emu.issue_token("server-adc"))
        monkeypatch.setattr(google.auth, "default",
                            lambda scopes=None, **kwargs: (source, "server-project"))
        with pytest.raises(InterfaceError, match="credentials_hosts"):
            build_session(endpoint=emu.url, impersonate_service_account=TARGET_SA,
                          iam_endpoint_override=emu.url)
        assert emu.calls("iam.generateAccessToken") == 0
        session = build_session(endpoint=emu.url, impersonate_service_account=TARGET_SA,
                                iam_endpoint_override=emu.url, credentials_hosts=emu.url)
        response = session.get(f"{emu.url}/v1/projects/demo-project/locations/us-central1/"
                               "tensorboards", timeout=10)
        assert response.status_code == 200 and response.json()["tensorboards"]
        assert emu.calls("iam.generateAccessToken") == 1
        assert isinstance(session, AuthorizedSession)
        assert emu.auth.principal(session.credentials.token) == TARGET_SA
        # Naming the API host alone does not let the server's token go to another IAM host.
        with pytest.raises(InterfaceError, match="iam_endpoint_override"):
            build_session(endpoint=emu.url, impersonate_service_account=TARGET_SA,
                          iam_endpoint_override="http://127.0.0.1:1",
                          credentials_hosts=emu.url)


# -- plain http, and sessions bound to their host -----------------------------------------------


@pytest.mark.parametrize("url", ["http://10.1.2.3:8471", "http://proxy.corp.example",
                                 "http://aiplatform.googleapis.com",
                                 "http://us-central1-aiplatform.googleapis.com:443"])
def test_plain_http_to_a_non_loopback_host_never_carries_credentials(
        url: str, adc: list[ServerCredentials]) -> None:
    host = urlsplit(url).netloc
    for explicit in (False, True):
        why = credentials_allowed(url, [host, url], explicit=explicit)
        assert why is not None and "plain http" in why
    # Passed by value, named, or both: refused, saying to use https (nothing is sent).
    for options in ({"access_token": CALLER_TOKEN},
                    {"access_token": CALLER_TOKEN, "credentials_hosts": host},
                    {"credentials_hosts": host, "impersonate_service_account": TARGET_SA}):
        with pytest.raises(InterfaceError, match=r"plain http.*Use an https") as caught:
            build_session(endpoint=url, **options)
        assert CALLER_TOKEN not in str(caught.value)
    # With nothing passed: anonymous, and ADC not looked up.
    session = build_session(endpoint=url, credentials_hosts=host)
    assert type(session) is requests.Session
    assert adc == []


def test_plain_http_to_loopback_may_carry_credentials() -> None:
    for url in ("http://127.0.0.1:8471", "http://127.5.6.7:1", "http://localhost:8471",
                "http://[::1]:8471"):
        assert credentials_allowed(url, explicit=True) is None, url
        assert credentials_allowed(url, urlsplit(url).netloc) is None, url
        why = credentials_allowed(url)
        assert why is not None and "not a Google API host" in why, url


def test_another_loopback_address_is_a_different_host() -> None:
    try:
        other = Recorder("127.0.0.2")
    except OSError as error:  # pragma: no cover - a kernel without the whole 127/8
        pytest.fail(f"cannot bind 127.0.0.2: {error}")
    try:
        assert _tensorboards(endpoint=other.url, access_token=CALLER_TOKEN) == []
        assert set(other.authorizations()) == {f"Bearer {CALLER_TOKEN}"}
    finally:
        other.close()


def test_a_session_sends_its_credentials_to_its_own_endpoint_only(recorder: Recorder) -> None:
    elsewhere = Recorder()
    try:
        session = build_session(endpoint=recorder.url, access_token=CALLER_TOKEN)
        with pytest.raises(InterfaceError, match="refusing to send credentials") as caught:
            session.get(elsewhere.url + "/v1/x", timeout=5)
        assert CALLER_TOKEN not in str(caught.value)
        assert elsewhere.requests == []
        # A redirect to another host loses the credentials on the way.
        answer = session.get(f"{recorder.url}/redirect?to={elsewhere.url}/v1/y", timeout=5)
        assert answer.status_code == 200
        assert [r["path"] for r in elsewhere.requests] == ["/v1/y"]
        assert elsewhere.authorizations() == []
        assert recorder.authorizations() == [f"Bearer {CALLER_TOKEN}"]
    finally:
        elsewhere.close()


class Offline(requests.adapters.BaseAdapter):
    """A transport that sends nothing: it records each request and answers 200 `{}`."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
             ) -> requests.Response:
        self.sent.append(request)
        response = requests.Response()
        response.status_code, response._content, response.request = 200, b"{}", request
        return response

    def close(self) -> None:
        pass


def test_a_session_on_an_ipv6_loopback_endpoint_may_use_it() -> None:
    session = build_session(endpoint="http://[::1]:9", access_token=CALLER_TOKEN)
    offline = Offline()
    session.mount("http://", offline)
    assert session.get("http://[::1]:9/v1/x", timeout=5).status_code == 200
    assert [r.headers["Authorization"] for r in offline.sent] == [f"Bearer {CALLER_TOKEN}"]
    with pytest.raises(InterfaceError, match="refusing to send credentials"):
        session.get("http://[::2]:9/v1/x", timeout=5)
    assert len(offline.sent) == 1


@pytest.mark.parametrize("endpoint", [
    "https://user@aiplatform.googleapis.com", "https://evil.example\\@aiplatform.googleapis.com",
    "https://aiplatform.googleapis.com?x=1", "https://aiplatform.googleapis.com#frag",
    "https://aiplatform.googleapis.com\n.evil.example"])
def test_endpoints_that_parsers_could_read_differently_are_refused(endpoint: str) -> None:
    with pytest.raises(InterfaceError, match="endpoint"):
        build_session(endpoint=endpoint, access_token=CALLER_TOKEN)


def test_google_hosts() -> None:
    google = ["https://us-central1-aiplatform.googleapis.com", "https://aiplatform.googleapis.com",
              "https://europe-west4-aiplatform.googleapis.com/", VERTEX,
              "https://us-central1-aiplatform-myendpoint.p.googleapis.com",
              "https://AIPLATFORM.googleapis.com:443", "https://aiplatform.googleapis.com./"]
    others = ["http://aiplatform.googleapis.com", "https://aiplatform.googleapis.com:8443",
              "https://aiplatform.googleapis.com.evil.example",
              "https://evil.example/aiplatform.googleapis.com",
              "https://storage.googleapis.com", "https://bucket.storage.googleapis.com",
              "https://iamcredentials.googleapis.com", "https://googleapis.com",
              "https://aiplatform-googleapis.com", "https://127.0.0.1", "not a url"]
    assert [u for u in google if not is_google_host(u)] == []
    assert [u for u in others if is_google_host(u)] == []
    iam = "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/a:generateAccessToken"
    assert is_google_host(iam, iam=True) and not is_google_host(iam)
    assert not is_google_host(VERTEX, iam=True)
    assert credentials_allowed(VERTEX) is None
    assert credentials_allowed(iam, iam=True) is None


def test_credentials_hosts_forms() -> None:
    assert parse_credentials_hosts("127.0.0.1:8471, localhost ,") == (
        ("127.0.0.1", 8471), ("localhost", None))
    assert parse_credentials_hosts(["http://127.0.0.1", "https://Proxy.Example",
                                    "[::1]:9"]) == (
        ("127.0.0.1", 80), ("proxy.example", 443), ("::1", 9))
    for bad in ("*.example.com", "host:notaport", "user@host", "http://h/path", ["", "h"], [3]):
        with pytest.raises(InterfaceError, match="credentials_hosts"):
            parse_credentials_hosts(bad)  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match="credentials_hosts"):
        parse_url("runs://p/l?credentials_hosts=*.evil.example")
    with pytest.raises(InterfaceError, match="credentials_hosts"):
        build_session(endpoint=VERTEX, anonymous=True, credentials_hosts="a/b:c")


# -- shared servers: the URL options a server refuses --------------------------------------------


REFUSED = {
    "endpoint": "http://127.0.0.1:8471",
    "iam_endpoint_override": "https://iamcredentials.googleapis.com",
    "impersonate_service_account": TARGET_SA,
    "quota_project": "someone-elses-project",
    "credentials_hosts": "127.0.0.1:8471",
    "credentials_path": "/etc/server-key.json",
    "emulator": "memory",
}


@pytest.mark.parametrize("option", sorted(REFUSED))
def test_shared_servers_refuse_options_that_borrow_their_identity(option: str) -> None:
    assert set(REFUSED) == GUARDED_OPTIONS
    url = build_url("demo-project", "us-central1", **{option: REFUSED[option]})
    options = parse_url(url)
    refusals = shared_server_refusals(options, None)
    assert len(refusals) == 1
    assert refusals[0].startswith(f"runs:// option {option} is refused on this server")
    assert f"RUNS_URL_ALLOWLIST = {{'{option}': [" in refusals[0]
    # Allowed by the administrator: that value, or any value.
    assert shared_server_refusals(options, {option: [REFUSED[option]]}) == []
    assert shared_server_refusals(options, {option: True}) == []
    # Allowing another value, or another option, does not allow this one.
    assert len(shared_server_refusals(options, {option: ["something-else"]})) == 1
    other = next(name for name in sorted(REFUSED) if name != option)
    assert len(shared_server_refusals(options, {other: True})) == 1


def test_shared_servers_accept_what_borrows_nothing() -> None:
    for options in ({"project": "p", "endpoint": VERTEX, "quota_project": "p"},
                    {"project": "p", "access_token": CALLER_TOKEN, "anonymous": True},
                    {"project": "p", "endpoint": "https://us-central1-aiplatform-x.p.googleapis.com",
                     "credentials_info": {"type": "service_account"}}):
        assert shared_server_refusals(options) == [], options
    # Several at once: each one named.
    refusals = shared_server_refusals({"project": "p", "endpoint": "https://evil.example",
                                       "impersonate_service_account": TARGET_SA})
    assert [r.split()[2] for r in refusals] == ["endpoint", "impersonate_service_account"]
    assert all(CALLER_TOKEN not in r for r in refusals)


def test_a_malformed_allowlist_is_a_clear_error() -> None:
    for allowlist, says in (({"timeout": True}, "not an option that needs allowing"),
                            ({"endpoint": "http://127.0.0.1:8471"}, "list of allowed values"),
                            (["endpoint"], "expected a dict")):
        with pytest.raises(ArgumentError, match=says):
            shared_server_refusals({"endpoint": "http://x"}, allowlist)  # type: ignore[arg-type]


# -- runs-emulator beyond loopback ----------------------------------------------------------------


def test_the_emulator_says_it_has_no_authentication_beyond_loopback(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    assert emulator_cli.exposure_warning("127.0.0.1", False) is None
    assert emulator_cli.exposure_warning("localhost", False) is None
    assert emulator_cli.exposure_warning("::1", False) is None
    open_warning = emulator_cli.exposure_warning("0.0.0.0", False)
    assert open_warning is not None and "NO authentication" in open_warning
    assert "--require-auth" in open_warning
    guarded = emulator_cli.exposure_warning("192.168.1.5", True)
    assert guarded is not None and "no security boundary" in guarded

    started: list[dict[str, Any]] = []

    class NoServer:  # main() without binding anything: only what it logs is checked
        url = "http://0.0.0.0:0"

        def __init__(self, **options: Any) -> None:
            started.append(options)

        def serve_forever(self) -> None:
            pass

        def stop(self) -> None:
            pass

    monkeypatch.setattr(emulator_cli, "Emulator", NoServer)
    caplog.set_level(logging.INFO, logger="runs_dbapi.emulator")
    assert emulator_cli.main(["--host", "0.0.0.0", "--port", "0"]) == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "NO authentication" in warnings[0]
    caplog.clear()
    assert emulator_cli.main(["--host", "127.0.0.1", "--port", "0"]) == 0
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert [s["host"] for s in started] == ["0.0.0.0", "127.0.0.1"]
