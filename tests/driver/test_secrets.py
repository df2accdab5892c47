"""Secrets (access tokens, private keys, key-file contents) never appear in exception messages,
in logs at any level, in the repr of connections, cursors and their client, or in rendered URLs.

The driver runs against an emulator that requires a bearer token, with credentials of each kind,
through successes and failures; everything it says is collected and searched for each secret.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import runs_dbapi
from runs_dbapi import cli
from runs_dbapi.emulator import Emulator
from runs_dbapi.rest import RetryPolicy
from runs_dialect.url import build_url

pytestmark = pytest.mark.emulator(require_auth=True, demo=True)

FAST = RetryPolicy(max_attempts=2, initial_backoff=0.001, max_backoff=0.001)
BOGUS_TOKEN = "ya29.a0AfB_SECRETbogusTOKEN0123456789abcdefghij"


@pytest.fixture(scope="module")
def pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _key_info(pem: str, token_uri: str) -> dict[str, str]:
    return {"type": "service_account", "project_id": "demo-project",
            "private_key_id": "0123456789abcdef0123456789abcdef01234567", "private_key": pem,
            "client_email": "driver@demo-project.iam.gserviceaccount.com",
            "client_id": "112233445566778899000", "token_uri": token_uri}


def _secrets(pem: str, *tokens: str) -> list[str]:
    """The strings that must never be shown: tokens, and pieces of the key and its file."""
    lines = [line for line in pem.splitlines() if line and "-----" not in line]
    escaped = json.dumps(pem)[1:60]  # the key as it appears inside a key file
    return [*tokens, *lines[:3], lines[len(lines) // 2], escaped,
            "0123456789abcdef0123456789abcdef01234567"]


class Said:
    """Everything the driver said: messages, tracebacks, reprs and log records."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self.caplog = caplog
        self.texts: list[str] = []

    def error(self, error: BaseException) -> None:
        self.texts += [str(error), repr(error), *map(str, error.args),
                       "".join(traceback.format_exception(error))]

    def run(self, connection: Any, sql: str) -> None:
        cursor = connection.cursor()
        self.texts += [repr(connection), repr(cursor), repr(connection.client)]
        try:
            cursor.execute(sql)
            if cursor.description:
                self.texts.append(repr(cursor.fetchall()))
        except runs_dbapi.Error as error:
            self.error(error)

    def assert_clean(self, secrets: list[str]) -> None:
        everything = "\n".join(self.texts + [self.caplog.text] +
                               [r.getMessage() for r in self.caplog.records])
        for secret in secrets:
            assert secret not in everything, f"leaked: {secret[:12]}..."


@pytest.fixture
def said(caplog: pytest.LogCaptureFixture) -> Iterator[Said]:
    caplog.set_level(logging.DEBUG)  # every logger, urllib3 and google-auth included
    yield Said(caplog)


STATEMENTS = ["SELECT count(*) FROM runs WHERE experimentsId = 'bert-glue'",
              "SELECT * FROM runs WHERE experimentsId = 'nope' AND runsId = 'x'",
              "SELECT * FROM runs WHERE experimentsId = 'bert-glue' AND nope = 1",
              "UPDATE runs SET description = 'x' WHERE experimentsId = 'missing-exp' "
              "AND runsId = 'r'",
              "INSERT INTO runs (experimentsId, runsId, displayName) VALUES ('missing', 'r', 'r')"]


def _connect(module_emu: Emulator, **options: Any) -> Any:
    return runs_dbapi.connect(project="demo-project", location="us-central1",
                              endpoint=module_emu.url, retry=FAST, **options)


@pytest.mark.parametrize("form", ["credentials_info", "credentials_path"])
def test_a_service_account_key_never_shows(module_emu: Emulator, pem: str, said: Said,
                                           tmp_path: Path, form: str) -> None:
    info = _key_info(pem, module_emu.token_uri)
    if form == "credentials_path":
        path = tmp_path / "key.json"
        path.write_text(json.dumps(info, indent=2))
        # A key file goes to non-Google hosts only when named: the emulator stands in for Google.
        options: dict[str, Any] = {"credentials_path": str(path),
                                   "credentials_hosts": module_emu.url}
    else:
        options = {"credentials_info": info}
    with _connect(module_emu, **options) as connection:
        for sql in STATEMENTS:
            said.run(connection, sql)
        token = connection.client._session.credentials.token
        assert token
        said.texts.append(repr(connection.client._session.credentials))
    said.assert_clean(_secrets(pem, token))


@pytest.mark.parametrize("form", ["credentials_info", "credentials_path"])
def test_a_key_whose_token_exchange_fails_never_shows(module_emu: Emulator, pem: str, said: Said,
                                                      tmp_path: Path, form: str) -> None:
    info = _key_info(pem, module_emu.url + "/no-such-token-endpoint")
    options: dict[str, Any] = {"credentials_info": info}
    if form == "credentials_path":
        path = tmp_path / "key.json"
        path.write_text(json.dumps(info))
        options = {"credentials_path": str(path), "credentials_hosts": module_emu.url}
    with _connect(module_emu, **options) as connection:
        said.run(connection, STATEMENTS[0])
    assert any("access token" in text for text in said.texts)
    said.assert_clean(_secrets(pem))


def test_a_broken_key_never_shows(module_emu: Emulator, pem: str, said: Said) -> None:
    info = _key_info(pem[: len(pem) // 2], module_emu.token_uri)  # cut in half: not a key
    try:
        with _connect(module_emu, credentials_info=info) as connection:
            said.run(connection, STATEMENTS[0])
    except runs_dbapi.Error as error:
        said.error(error)
    said.assert_clean(_secrets(pem[: len(pem) // 2]))


@pytest.mark.parametrize("valid", [True, False])
def test_an_access_token_never_shows(module_emu: Emulator, pem: str, said: Said,
                                     valid: bool) -> None:
    token = module_emu.issue_token("secrets-test") if valid else BOGUS_TOKEN
    with _connect(module_emu, access_token=token) as connection:
        for sql in STATEMENTS:
            said.run(connection, sql)
    if not valid:
        assert any("UNAUTHENTICATED" in text for text in said.texts)
    said.assert_clean([token])


def test_rendered_urls_hide_secrets(module_emu: Emulator, pem: str, said: Said) -> None:
    info = _key_info(pem, module_emu.token_uri)
    token = module_emu.issue_token("url-test")
    url = build_url("demo-project", "us-central1", endpoint=module_emu.url, access_token=token)
    with_key = build_url("demo-project", "us-central1", endpoint=module_emu.url,
                         credentials_info=info)
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:  # the URL still works
            rows = connection.exec_driver_sql(STATEMENTS[0]).fetchall()
        assert rows == [(60,)]
    finally:
        engine.dispose()
    said.texts += [repr(url), str(url), url.render_as_string(), repr(with_key), str(with_key),
                   repr(engine), repr(sqlalchemy.create_engine(with_key))]
    said.assert_clean(_secrets(pem, token))
    assert token in url.render_as_string(hide_password=False)


def test_the_cli_never_shows_a_token(module_emu: Emulator, said: Said,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    url = build_url("demo-project", "us-central1", endpoint=module_emu.url,
                    access_token=BOGUS_TOKEN, max_attempts=1)
    cli.main(["--debug", "-q", "--url", url.render_as_string(hide_password=False),
              STATEMENTS[0]])
    out, err = capsys.readouterr()
    assert "UNAUTHENTICATED" in err or "401" in err
    said.texts += [out, err]
    said.assert_clean([BOGUS_TOKEN])
