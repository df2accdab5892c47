"""Credentials and the HTTP session the REST client sends its requests through.

`build_session` turns the connection options into a `requests.Session` that authenticates every
request: a `google.auth.transport.requests.AuthorizedSession` (adds `Authorization: Bearer ...`,
refreshes tokens, adds `x-goog-user-project` for a quota project), or a plain `requests.Session`
for anonymous access (the emulator, or a proxy that authenticates itself).

Secrets (private keys, tokens, refresh tokens, key files) never appear in an exception message,
a log line or a repr made here.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

# google-auth's credential classes (and, through them, cryptography) load only when credentials
# are used: an anonymous session (the emulator) starts without them.
import google.auth.exceptions
import requests
from requests.adapters import HTTPAdapter

from .exceptions import REDACTED, InterfaceError, redact

if TYPE_CHECKING:
    import google.auth.credentials

__all__ = ["CLOUD_PLATFORM_SCOPE", "build_session", "default_endpoint"]

logger = logging.getLogger(__name__)

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
SCOPES = (CLOUD_PLATFORM_SCOPE,)

_IAM_GENERATE_PATH = "/v1/projects/-/serviceAccounts/{}:generateAccessToken"

# Fields of a credentials JSON whose values are secrets, scrubbed from any message quoting them.
_SECRET_FIELDS = ("private_key", "private_key_id", "refresh_token", "client_secret", "token",
                  "access_token")


def default_endpoint(location: str) -> str:
    """The Vertex AI API host of a location (`global` has no regional host)."""
    location = location.strip()
    if not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", location):
        raise InterfaceError(
            f"location: expected a Vertex AI location such as 'us-central1', got {location!r}"
        )
    if location == "global":
        return "https://aiplatform.googleapis.com"
    return f"https://{location}-aiplatform.googleapis.com"


def _scrub(text: str, secrets: Mapping[str, Any] | None = None, extra: tuple[str, ...] = ()
           ) -> str:
    """`text` without any secret value of `secrets` (a credentials JSON) or `extra`."""
    values = list(extra)
    if secrets is not None:
        values += [str(secrets[f]) for f in _SECRET_FIELDS
                   if isinstance(secrets.get(f), str) and secrets[f]]
    for value in sorted(values, key=len, reverse=True):
        if len(value) >= 4:
            text = text.replace(value, REDACTED)
            # A PEM key also shows up with its line breaks escaped (in a JSON dump or a repr).
            text = text.replace(value.replace("\n", "\\n"), REDACTED)
    return redact(text)


def _describe(exc: BaseException, secrets: Mapping[str, Any] | None = None,
              extra: tuple[str, ...] = ()) -> str:
    return _scrub(f"{type(exc).__name__}: {exc}", secrets, extra)


def _from_info(info: Any, option: str) -> google.auth.credentials.Credentials:
    """Credentials from a parsed credentials JSON (service-account key or authorized_user)."""
    import google.oauth2.credentials  # noqa: PLC0415 - see the imports above
    import google.oauth2.service_account  # noqa: PLC0415

    if not isinstance(info, Mapping):
        raise InterfaceError(f"{option}: expected a JSON object (a service-account key or "
                             f"authorized_user credentials), got {type(info).__name__}")
    kind = info.get("type")
    loaded: google.auth.credentials.Credentials
    try:
        if kind == "service_account":
            loaded = google.oauth2.service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                dict(info), scopes=list(SCOPES)
            )
            return loaded
        if kind == "authorized_user":
            loaded = google.oauth2.credentials.Credentials.from_authorized_user_info(  # type: ignore[no-untyped-call]
                dict(info), scopes=list(SCOPES)
            )
            return loaded
    except (ValueError, KeyError, TypeError, google.auth.exceptions.GoogleAuthError) as exc:
        raise InterfaceError(
            f"{option}: the {kind} credentials cannot be loaded ({_describe(exc, info)})"
        ) from None
    raise InterfaceError(
        f"{option}: unsupported credentials type {kind!r}; expected 'service_account' or "
        "'authorized_user' (for other kinds, pass a google-auth `credentials` object or use "
        "Application Default Credentials)"
    )


def _from_path(path: str) -> google.auth.credentials.Credentials:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise InterfaceError(
            f"credentials_path: cannot read {path!r} ({type(exc).__name__}: {exc.strerror})"
        ) from None
    try:
        info = json.loads(text)
    except ValueError:
        raise InterfaceError(
            f"credentials_path: {path!r} is not a JSON credentials file"
        ) from None
    return _from_info(info, "credentials_path")


def _iam_endpoint(override: str | None, service_account: str) -> str | None:
    """google-auth wants the full generateAccessToken URL with the account in it.

    Accept that, or a bare base URL such as `http://127.0.0.1:8471` (the path is then added).
    """
    if override is None:
        return None
    override = override.strip()
    if ":generateAccessToken" in override or "{}" in override:
        return override.replace("{}", service_account)
    parts = urlsplit(override)
    if not parts.scheme or not parts.netloc:
        raise InterfaceError(
            "iam_endpoint_override: expected a URL such as "
            "'https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/"
            "SA:generateAccessToken' or a base URL such as 'https://host:port'"
        )
    return override.rstrip("/") + _IAM_GENERATE_PATH.format(service_account)


def _source_credentials(
    *,
    credentials: google.auth.credentials.Credentials | None,
    credentials_path: str | None,
    credentials_info: Mapping[str, Any] | None,
    access_token: str | None,
) -> tuple[google.auth.credentials.Credentials, str, bool]:
    """(credentials, the option they came from, whether they can be refreshed)."""
    import google.auth  # noqa: PLC0415 - see the imports above
    import google.auth.credentials  # noqa: PLC0415
    import google.oauth2.credentials  # noqa: PLC0415

    given = [name for name, value in (
        ("credentials", credentials), ("credentials_path", credentials_path),
        ("credentials_info", credentials_info), ("access_token", access_token),
    ) if value is not None]
    if len(given) > 1:
        logger.warning("several credential options given (%s); using %s", ", ".join(given),
                       given[0])
    if credentials is not None:
        if not isinstance(credentials, google.auth.credentials.Credentials):
            raise InterfaceError(
                "credentials: expected a google.auth.credentials.Credentials object, got "
                f"{type(credentials).__name__}"
            )
        scoped = google.auth.credentials.with_scopes_if_required(  # type: ignore[no-untyped-call]
            credentials, list(SCOPES)
        )
        return scoped, "credentials", True
    if credentials_path is not None:
        return _from_path(credentials_path), "credentials_path", True
    if credentials_info is not None:
        return _from_info(credentials_info, "credentials_info"), "credentials_info", True
    if access_token is not None:
        if not isinstance(access_token, str) or not access_token.strip():
            raise InterfaceError("access_token: expected a non-empty string")
        token_credentials = google.oauth2.credentials.Credentials(  # type: ignore[no-untyped-call]
            token=access_token.strip()
        )
        return token_credentials, "access_token", False
    try:
        found, _project = google.auth.default(scopes=list(SCOPES))
    except google.auth.exceptions.GoogleAuthError as exc:
        raise InterfaceError(
            "no credentials were given and Application Default Credentials are not available "
            f"({_describe(exc)}); pass credentials_path, credentials_info, access_token or "
            "credentials, run `gcloud auth application-default login`, or use anonymous=True "
            "for an emulator"
        ) from None
    return found, "application default credentials", True


def build_session(
    *,
    endpoint: str,
    credentials: google.auth.credentials.Credentials | None = None,
    credentials_path: str | None = None,
    credentials_info: Mapping[str, Any] | None = None,
    access_token: str | None = None,
    impersonate_service_account: str | None = None,
    iam_endpoint_override: str | None = None,
    quota_project: str | None = None,
    anonymous: bool = False,
    pool_size: int = 32,
) -> requests.Session:
    """A session that authenticates requests to `endpoint`.

    Credentials, first match wins: `anonymous` (no auth at all); `credentials` (a google-auth
    object, scoped to cloud-platform if it needs scopes); `credentials_path` / `credentials_info`
    (a service-account key or an `authorized_user` JSON); `access_token` (a bearer token used as
    is, never refreshed); else Application Default Credentials. `impersonate_service_account`
    then exchanges them for tokens of that account through the IAM Credentials API
    (`iam_endpoint_override`: the full generateAccessToken URL google-auth expects, or a base
    URL). `quota_project` bills quota to that project (`x-goog-user-project`).

    Nothing is fetched here: tokens are obtained on the first request, so a refresh failure
    surfaces then (as `OperationalError`, from the REST client). Bad options raise
    `InterfaceError` naming the option, never its secret.
    """
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InterfaceError(f"endpoint: expected an http(s) URL, got {redact(endpoint)!r}")
    if isinstance(pool_size, bool) or not isinstance(pool_size, int) or pool_size < 1:
        raise InterfaceError(f"pool_size: expected a positive integer, got {pool_size!r}")

    session: requests.Session
    if anonymous:
        ignored = [name for name, value in (
            ("credentials", credentials), ("credentials_path", credentials_path),
            ("credentials_info", credentials_info), ("access_token", access_token),
            ("impersonate_service_account", impersonate_service_account),
            ("quota_project", quota_project),
        ) if value is not None]
        if ignored:
            logger.warning("anonymous=True: ignoring %s", ", ".join(ignored))
        session = requests.Session()
        described = "anonymous"
    else:
        import google.auth.credentials  # noqa: PLC0415 - see the imports above
        import google.auth.impersonated_credentials  # noqa: PLC0415
        from google.auth.transport.requests import AuthorizedSession  # noqa: PLC0415

        creds, described, refreshable = _source_credentials(
            credentials=credentials, credentials_path=credentials_path,
            credentials_info=credentials_info, access_token=access_token,
        )
        if impersonate_service_account is not None:
            target = impersonate_service_account.strip()
            if not target:
                raise InterfaceError("impersonate_service_account: expected a service account "
                                     "email")
            try:
                creds = google.auth.impersonated_credentials.Credentials(  # type: ignore[no-untyped-call]
                    source_credentials=creds,
                    target_principal=target,
                    target_scopes=list(SCOPES),
                    iam_endpoint_override=_iam_endpoint(iam_endpoint_override, target),
                )
            except (ValueError, TypeError, google.auth.exceptions.GoogleAuthError) as exc:
                raise InterfaceError(
                    f"impersonate_service_account: cannot impersonate {target!r} "
                    f"({_describe(exc, credentials_info, _extra(access_token))})"
                ) from None
            described += f" impersonating {target}"
            refreshable = True
        elif iam_endpoint_override is not None:
            logger.warning("iam_endpoint_override is ignored without impersonate_service_account")
        if quota_project is not None:
            if not isinstance(creds, google.auth.credentials.CredentialsWithQuotaProject):
                raise InterfaceError(
                    f"quota_project: {type(creds).__name__} credentials cannot carry a quota "
                    "project"
                )
            creds = creds.with_quota_project(quota_project)  # type: ignore[no-untyped-call]
        # A token given as is cannot be refreshed: let a 401 through to the caller as the API's
        # answer instead of a confusing "cannot refresh" error.
        session = AuthorizedSession(  # type: ignore[no-untyped-call]
            creds,
            refresh_status_codes=(401,) if refreshable else (),
            default_host=parts.hostname,
        )
    adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    logger.debug("session for %s://%s with %s credentials (pool %d)", parts.scheme,
                 parts.netloc.rpartition("@")[2], described, pool_size)
    return session


def _extra(*values: str | None) -> tuple[str, ...]:
    return tuple(v for v in values if v)
