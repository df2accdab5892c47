"""Credentials and the HTTP session the REST client sends its requests through.

`build_session` turns the connection options into a `requests.Session` that authenticates every
request: a `google.auth.transport.requests.AuthorizedSession` (adds `Authorization: Bearer ...`,
refreshes tokens, adds `x-goog-user-project` for a quota project), or a plain `requests.Session`
for anonymous access (the emulator, or a proxy that authenticates itself).

Credentials follow the host. Credentials the driver finds by itself (Application Default
Credentials: `$GOOGLE_APPLICATION_CREDENTIALS`, gcloud's file, the metadata server) or reads from
a file (`credentials_path`), and tokens minted from them by impersonation, go only to Google API
hosts over HTTPS (`is_google_host`), unless the caller names the host in `credentials_hosts`.
Credentials passed by value (`access_token`, `credentials_info`, a `credentials` object) go to the
endpoint the caller named. Plain `http://` carries credentials to loopback addresses only. A
non-Google endpoint with nothing to send is reached anonymously. `credentials_allowed` is the
decision (in `runs_dbapi.hosts`, with the rest of the host policy); the session built here also
refuses to send its credentials to any host but its endpoint's.

Secrets (private keys, tokens, refresh tokens, key files) never appear in an exception message,
a log line or a repr made here.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, urlsplit

# google-auth's credential classes (and, through them, cryptography) load only when credentials
# are used: an anonymous session (the emulator) starts without them.
import google.auth.exceptions
import requests
from requests.adapters import HTTPAdapter
from urllib3.util import parse_url

from .exceptions import REDACTED, InterfaceError, redact
from .hosts import (
    IAM_HOST,
    credentials_allowed,
    host_of,
    is_google_host,
    is_loopback,
    opt_in_hint,
    parse_credentials_hosts,
    port_of,
    split_url,
)

if TYPE_CHECKING:
    import google.auth.credentials

# The host policy lives in `runs_dbapi.hosts`; its public names are kept importable from here.
__all__ = ["CLOUD_PLATFORM_SCOPE", "IAM_HOST", "build_session", "credentials_allowed",
           "default_endpoint", "is_google_host", "is_loopback", "parse_credentials_hosts"]

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


class _HostBoundSession(requests.Session):
    """Mixed into google-auth's AuthorizedSession (`_bound_session`): every request must go to
    the endpoint's scheme, host and port, so that its credentials reach no other host."""

    _runs_origin: tuple[str, str, int]

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
                ) -> requests.Response:
        text = url.decode() if isinstance(url, bytes) else url
        parsed = parse_url(text)
        origin = ((parsed.scheme or "").lower(),
                  (parsed.host or "").strip("[]").rstrip(".").lower(),
                  parsed.port or (443 if parsed.scheme == "https" else 80))
        if origin != self._runs_origin:
            raise InterfaceError(
                f"refusing to send credentials to {origin[0]}://{origin[1]}:{origin[2]}: this "
                f"session's credentials are for {self._runs_origin[1]}:{self._runs_origin[2]}"
            )
        return super().request(method, url, *args, **kwargs)


def _bound_session(credentials: google.auth.credentials.Credentials, parts: SplitResult,
                   refresh_status_codes: tuple[int, ...]) -> requests.Session:
    """An AuthorizedSession whose requests may go to the endpoint of `parts` only."""
    from google.auth.transport.requests import AuthorizedSession  # noqa: PLC0415

    class BoundSession(_HostBoundSession, AuthorizedSession):
        pass

    session: requests.Session = BoundSession(  # type: ignore[no-untyped-call]
        credentials, refresh_status_codes=refresh_status_codes, default_host=parts.hostname)
    session._runs_origin = (parts.scheme, host_of(parts), port_of(parts))  # type: ignore[attr-defined]
    return session


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
    credentials_hosts: str | Iterable[str] | None = None,
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

    Where credentials may go (module docstring, `credentials_allowed`): with nothing passed by
    value and an endpoint that is neither a Google API host nor named in `credentials_hosts`,
    the session is anonymous, and Application Default Credentials are not even looked up; a
    key file, impersonation or credentials over plain http to such a host are refused.

    Nothing is fetched here: tokens are obtained on the first request, so a refresh failure
    surfaces then (as `OperationalError`, from the REST client). Bad options raise
    `InterfaceError` naming the option, never its secret.
    """
    parts = split_url(endpoint, "endpoint")
    if isinstance(pool_size, bool) or not isinstance(pool_size, int) or pool_size < 1:
        raise InterfaceError(f"pool_size: expected a positive integer, got {pool_size!r}")
    parse_credentials_hosts(credentials_hosts)  # refuse a malformed list whatever happens next

    given = [name for name, value in (
        ("credentials", credentials), ("credentials_path", credentials_path),
        ("credentials_info", credentials_info), ("access_token", access_token),
    ) if value is not None]
    source = given[0] if given else None
    why_not = None if anonymous else credentials_allowed(
        endpoint, credentials_hosts,
        explicit=source in ("credentials", "credentials_info", "access_token"))
    if why_not is not None:
        asked = [*given[:1], *(["impersonate_service_account"]
                               if impersonate_service_account is not None else [])]
        if asked:
            raise InterfaceError(
                f"{' and '.join(asked)}: not sending credentials to the endpoint: {why_not}. "
                f"{opt_in_hint(parts)}; to send none, use anonymous=True"
            )
        # An emulator on loopback is the usual case; a remote host that gets no credentials
        # may be a proxy that expected them, and its 401 would not say why.
        logger.log(logging.INFO if is_loopback(host_of(parts)) else logging.WARNING,
                   "endpoint %s://%s:%d: sending no credentials (%s)", parts.scheme,
                   host_of(parts), port_of(parts), why_not)
        if quota_project is not None:
            logger.warning("no credentials are sent to this endpoint: ignoring quota_project")
        session: requests.Session = requests.Session()
        described = "no"
    elif anonymous:
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

        explicit = source in ("credentials", "credentials_info", "access_token")
        target = None
        iam_url = None
        if impersonate_service_account is not None:
            target = impersonate_service_account.strip()
            if not target:
                raise InterfaceError("impersonate_service_account: expected a service account "
                                     "email")
            iam_url = _iam_endpoint(iam_endpoint_override, target)
            iam_why_not = credentials_allowed(
                iam_url or f"https://{IAM_HOST}{_IAM_GENERATE_PATH.format(target)}",
                credentials_hosts, explicit=explicit, iam=True)
            if iam_why_not is not None:
                raise InterfaceError(
                    f"iam_endpoint_override: not sending {source or 'application default'} "
                    f"credentials there: {iam_why_not}. "
                    f"{opt_in_hint(split_url(iam_url or '', 'iam_endpoint_override'))}"
                )
        creds, described, refreshable = _source_credentials(
            credentials=credentials, credentials_path=credentials_path,
            credentials_info=credentials_info, access_token=access_token,
        )
        if target is not None:
            try:
                creds = google.auth.impersonated_credentials.Credentials(  # type: ignore[no-untyped-call]
                    source_credentials=creds,
                    target_principal=target,
                    target_scopes=list(SCOPES),
                    iam_endpoint_override=iam_url,
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
        session = _bound_session(creds, parts, (401,) if refreshable else ())
    adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    logger.debug("session for %s://%s with %s credentials (pool %d)", parts.scheme,
                 parts.netloc, described, pool_size)
    return session


def _extra(*values: str | None) -> tuple[str, ...]:
    return tuple(v for v in values if v)
