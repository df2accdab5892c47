"""connect(): options, every way of authenticating, end to end through SQL, and the PEP 249 face."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import google.auth
import google.oauth2.service_account
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import runs_dbapi
from runs_dbapi.emulator import Emulator
from runs_dbapi.rest import RetryPolicy

pytestmark = pytest.mark.emulator(demo=True, require_auth=True)

QUICK = RetryPolicy(max_attempts=2, sleep=lambda _: None)
ACCOUNT = "reader@demo-project.iam.gserviceaccount.com"
COUNT_RUNS = "SELECT count(*) FROM runs WHERE experimentsId = 'bert-glue'"


@pytest.fixture(scope="module")
def key_info(module_emu: Emulator) -> dict[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return {"type": "service_account", "project_id": "demo-project",
            "private_key_id": "0123456789abcdef", "private_key": pem, "client_email": ACCOUNT,
            "client_id": "1234567890", "token_uri": module_emu.token_uri}


def _count(module_emu: Emulator, **options: Any) -> int:
    with runs_dbapi.connect(endpoint=module_emu.url, project="demo-project", location="us-central1",
                            retry=QUICK, **options) as connection:
        cursor = connection.cursor()
        cursor.execute(COUNT_RUNS)
        row = cursor.fetchone()
        assert row is not None
        return int(row[0])


def test_service_account_key_info_and_file(module_emu: Emulator, key_info: dict[str, str],
                                           tmp_path: Path) -> None:
    assert _count(module_emu, credentials_info=key_info) == 60
    path = tmp_path / "key.json"
    path.write_text(json.dumps(key_info))
    # A key file read from disk goes to a non-Google host only when named.
    assert _count(module_emu, credentials_path=str(path), credentials_hosts=module_emu.url) == 60


def test_access_token(module_emu: Emulator) -> None:
    assert _count(module_emu, access_token=module_emu.issue_token("someone")) == 60


def test_application_default_credentials(module_emu: Emulator, key_info: dict[str, str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_default(scopes: Any = None, **_: Any) -> tuple[Any, str]:
        credentials = google.oauth2.service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
            key_info, scopes=scopes)
        return credentials, "demo-project"

    monkeypatch.setattr(google.auth, "default", fake_default)
    # Application Default Credentials go to a non-Google host only when named.
    assert _count(module_emu, credentials_hosts=module_emu.url) == 60


def test_anonymous_against_a_service_that_requires_auth(module_emu: Emulator) -> None:
    with pytest.raises(runs_dbapi.OperationalError, match="401") as caught:
        _count(module_emu, anonymous=True)
    assert caught.value.http_status == 401
    assert caught.value.rpc_status == "UNAUTHENTICATED"


def test_repr_names_no_secret(module_emu: Emulator) -> None:
    token = module_emu.issue_token()
    with runs_dbapi.connect(endpoint=module_emu.url, access_token=token, project="demo-project",
                            location="us-central1") as connection:
        assert token not in repr(connection)
        assert token not in repr(connection.cursor())
        assert "demo-project" in repr(connection)


def test_embedded_emulator_and_pep249_face() -> None:
    connection = runs_dbapi.connect(emulator="memory", project="demo-project",
                                    location="us-central1")
    assert connection.Error is runs_dbapi.Error
    assert issubclass(connection.ProgrammingError, connection.DatabaseError)
    cursor = connection.cursor()
    cursor.execute("SELECT count(*) FROM experiments")
    assert cursor.fetchall() == [(6,)]
    connection.commit()  # writes take effect at once: both are no-ops
    connection.rollback()
    cursor.execute(COUNT_RUNS)
    assert cursor.fetchone() == (60,)
    connection.close()
    with pytest.raises(runs_dbapi.InterfaceError, match="already closed"):
        connection.close()  # PEP 249: unusable after close, closing again included
    with pytest.raises(runs_dbapi.InterfaceError, match="closed"):
        connection.cursor()
    with pytest.raises(runs_dbapi.InterfaceError, match="closed"):
        cursor.execute("SELECT 1")
    with pytest.raises(runs_dbapi.InterfaceError, match="closed"):
        connection.commit()


def test_module_globals() -> None:
    assert runs_dbapi.apilevel == "2.0"
    assert runs_dbapi.threadsafety == 2
    assert runs_dbapi.paramstyle == "qmark"
    assert runs_dbapi.Connection.__name__ == "Connection"


def test_default_endpoint_is_regional() -> None:
    with runs_dbapi.connect(location="europe-west4", anonymous=True) as connection:
        assert connection.endpoint == "https://europe-west4-aiplatform.googleapis.com"
    with runs_dbapi.connect(location="global", anonymous=True) as connection:
        assert connection.endpoint == "https://aiplatform.googleapis.com"
