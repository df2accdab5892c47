"""Where credentials may go: the host policy of the driver's sessions (`runs_dbapi.auth`).

Credentials the driver finds by itself (Application Default Credentials) or reads from a file,
and tokens minted from them by impersonation, go only to Google API hosts over HTTPS
(`is_google_host`), unless the caller names the host in `credentials_hosts`
(`parse_credentials_hosts`). Credentials passed by value go to the endpoint the caller named.
Plain `http://` carries credentials to loopback addresses only (`is_loopback`).
`credentials_allowed` is the decision.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from urllib.parse import SplitResult, urlsplit

from .exceptions import InterfaceError, redact

__all__ = ["IAM_HOST", "HostPattern", "credentials_allowed", "host_of", "is_google_host",
           "is_loopback", "opt_in_hint", "parse_credentials_hosts", "port_of", "split_url"]

IAM_HOST = "iamcredentials.googleapis.com"

# The Vertex AI API hosts: global, regional (`us-central1-aiplatform...`), and Private Service
# Connect names (`us-central1-aiplatform-myendpoint.p.googleapis.com`); the IAM Credentials API
# for impersonation (and its mTLS name, which google-auth uses with client certificates).
_API_HOST = re.compile(r"(?:[a-z0-9]+(?:-[a-z0-9]+)*-)?aiplatform\.googleapis\.com")
_PSC_HOST = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*\.p\.googleapis\.com")
_IAM_HOSTS = (IAM_HOST, "iamcredentials.mtls.googleapis.com")
_LOCAL_NAMES = ("localhost",)


def split_url(url: str, option: str) -> SplitResult:
    """`url` split, refusing what different URL parsers could read as different hosts."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InterfaceError(f"{option}: expected an http(s) URL, got {redact(url)!r}")
    if ("@" in parts.netloc or "\\" in url or any(c.isspace() or ord(c) < 32 for c in url)
            or parts.query or parts.fragment):
        raise InterfaceError(
            f"{option}: expected a URL such as https://host[:port][/path], with no user, "
            f"query or fragment, got {redact(url)!r}"
        )
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise InterfaceError(f"{option}: bad port in {redact(url)!r}") from None
    return parts


def host_of(parts: SplitResult) -> str:
    return (parts.hostname or "").rstrip(".").lower()


def port_of(parts: SplitResult) -> int:
    return parts.port or (443 if parts.scheme == "https" else 80)


def is_loopback(host: str) -> bool:
    """`localhost` or a loopback address literal (127.0.0.0/8, ::1); names are not resolved."""
    host = host.strip("[]").rstrip(".").lower()
    if host in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_google_host(url: str, *, iam: bool = False) -> bool:
    """Whether `url` is a Google API host for the driver over HTTPS on the standard port: the
    Vertex AI API (`iam=False`) or the IAM Credentials API (`iam=True`)."""
    try:
        parts = split_url(url, "endpoint")
    except InterfaceError:
        return False
    if parts.scheme != "https" or port_of(parts) != 443:
        return False
    host = host_of(parts)
    if iam:
        return host in _IAM_HOSTS or bool(_PSC_HOST.fullmatch(host))
    return bool(_API_HOST.fullmatch(host) or _PSC_HOST.fullmatch(host))


HostPattern = tuple[str, "int | None"]


def parse_credentials_hosts(value: str | Iterable[str] | None) -> tuple[HostPattern, ...]:
    """The hosts named by `credentials_hosts`: a comma-separated string or a list of `host`
    (any port), `host:port`, `[v6-address]:port` or a URL (`http://127.0.0.1:8471`)."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    found: list[HostPattern] = []
    for item in items:
        if not isinstance(item, str):
            raise InterfaceError(f"credentials_hosts: expected host names, got "
                                 f"{type(item).__name__}")
        text = item.strip()
        if not text:
            if isinstance(value, str) and value.strip():
                continue  # a trailing comma
            raise InterfaceError("credentials_hosts: an empty host name")
        parts = urlsplit(text if "://" in text else f"https://{text}")
        try:
            port = parts.port
        except ValueError:
            port = -1
        if ("@" in parts.netloc or "*" in text or port == -1 or not parts.hostname
                or parts.path not in ("", "/") or parts.query or parts.fragment):
            raise InterfaceError(
                f"credentials_hosts: expected host, host:port or a URL such as "
                f"http://127.0.0.1:8471 (no wildcards), got {redact(text)!r}"
            )
        if "://" in text and port is None:
            port = 443 if parts.scheme == "https" else 80
        found.append((host_of(parts), port))
    return tuple(found)


def _named(parts: SplitResult, hosts: Iterable[HostPattern]) -> bool:
    host, port = host_of(parts), port_of(parts)
    return any(h == host and p in (None, port) for h, p in hosts)


def credentials_allowed(url: str, credentials_hosts: str | Iterable[str] | None = None, *,
                        explicit: bool = False, iam: bool = False) -> str | None:
    """None when credentials may be sent to `url`; otherwise why not.

    Plain http carries credentials to loopback hosts only, whatever else is said. Over HTTPS,
    credentials go to Google API hosts (`is_google_host`), to the hosts named in
    `credentials_hosts`, and, when `explicit` (passed by value: a token, a key's JSON, a
    credentials object), to any host.
    """
    parts = split_url(url, "iam_endpoint_override" if iam else "endpoint")
    host = host_of(parts)
    if parts.scheme == "http" and not is_loopback(host):
        return (f"{host} is reached over plain http, which carries credentials to loopback "
                "addresses only; use https")
    if is_google_host(url, iam=iam) or _named(parts, parse_credentials_hosts(credentials_hosts)):
        return None
    if explicit:
        return None
    return (f"{host}:{port_of(parts)} is not a Google API host, and only credentials passed by "
            "value (access_token, credentials_info, credentials) go to other hosts unless "
            "credentials_hosts names them")


def opt_in_hint(parts: SplitResult) -> str:
    """What to do so that credentials refused for the host of `parts` may go there."""
    if parts.scheme == "http" and not is_loopback(host_of(parts)):
        return "Use an https:// URL"
    return ("To send them there, name the host in credentials_hosts (e.g. "
            f"credentials_hosts='{host_of(parts)}:{port_of(parts)}')")
