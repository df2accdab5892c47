"""`runs://PROJECT/LOCATION/TENSORBOARD/EXPERIMENT?option=value&...` URLs, parsed strictly.

Trailing path parts may be left out: statements then name them (`WHERE experimentsId = ...`),
or the driver fans out over every tensorboard or experiment. Query options are the connection
options of `runs_dbapi.connect()`; anything else is refused, naming the options there are.
`build_url()` makes such a URL from values, quoting what needs quoting.

`shared_server_refusals()` is the policy of servers where the people who write URLs are not
the people whose credentials the server holds (Superset's engine spec applies it): the options
that would make the server act with its own identity, or reach a host of the URL's choosing,
are refused unless the server's administrator allows them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Collection, Mapping
from typing import Any

from sqlalchemy.engine.url import URL, make_url
from sqlalchemy.exc import ArgumentError

DRIVERNAMES = ("runs", "runs+rest")
PATH_PARTS = ("project", "location", "tensorboard", "experiment")
# Project IDs, project numbers, locations, tensorboard and experiment IDs: letters, digits,
# hyphens (and dots, underscores for the odd legacy ID); never a URL delimiter.
_PATH_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _text(name: str, value: str) -> str:
    if not value.strip():
        raise ArgumentError(f"runs:// URL option {name} is empty.")
    return value


def _path_part(name: str, value: str) -> str:
    if not _PATH_PART.match(value):
        raise ArgumentError(
            f"runs:// URL: {name} {value!r} is not a valid ID (letters, digits, '-', '.', '_')."
        )
    return value


def _boolean(name: str, value: str) -> bool:
    folded = value.strip().lower()
    if folded in _TRUE:
        return True
    if folded in _FALSE:
        return False
    raise ArgumentError(f"runs:// URL option {name}={value!r}: expected true or false.")


def _positive_float(name: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number <= 0:
        raise ArgumentError(f"runs:// URL option {name}={value!r}: expected a positive number "
                            "of seconds.")
    return number


def _positive_int(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ArgumentError(f"runs:// URL option {name}={value!r}: expected a positive integer.")
    return number


def _json_object(name: str, value: str) -> dict[str, Any]:
    try:
        parsed = json.loads(value)
    except ValueError as error:
        raise ArgumentError(f"runs:// URL option {name}: not JSON ({error}).") from None
    if not isinstance(parsed, dict):
        raise ArgumentError(f"runs:// URL option {name}: expected a JSON object.")
    return parsed


def _endpoint(name: str, value: str) -> str:
    if not re.match(r"^https?://[^/?#\s]+", value):
        raise ArgumentError(f"runs:// URL option {name}={value!r}: expected an http(s):// URL "
                            "such as http://127.0.0.1:8471.")
    return value


def _hosts(name: str, value: str) -> str:
    from runs_dbapi.auth import parse_credentials_hosts  # noqa: PLC0415 - only if asked
    from runs_dbapi.exceptions import InterfaceError  # noqa: PLC0415

    try:
        if not parse_credentials_hosts(value):
            raise ArgumentError(f"runs:// URL option {name} is empty.")
    except InterfaceError as error:
        raise ArgumentError(f"runs:// URL option {error}") from None
    return value


# Query option -> how its text becomes the driver's keyword argument.
OPTIONS: dict[str, Callable[[str, str], Any]] = {
    "project": _path_part,
    "location": _path_part,
    "tensorboard": _path_part,
    "experiment": _path_part,
    "endpoint": _endpoint,
    "emulator": _text,
    "emulator_demo": _boolean,
    "credentials_path": _text,
    "credentials_info": _json_object,
    "access_token": _text,
    "impersonate_service_account": _text,
    "iam_endpoint_override": _endpoint,
    "quota_project": _text,
    "anonymous": _boolean,
    "credentials_hosts": _hosts,
    "timeout": _positive_float,
    "pushdown": _boolean,
    "wait_operations": _boolean,
    "ordered_inserts": _boolean,
    "max_workers": _positive_int,
    # The shared time-to-live cache of API reads (runs_dbapi.cache): off unless given.
    "cache_ttl": _positive_float,
    "cache_max_bytes": _positive_int,
    # Retries (runs_dbapi.rest.RetryPolicy): attempts per call and the total deadline.
    "max_attempts": _positive_int,
    "retry_deadline": _positive_float,
}
_RETRY_OPTIONS = {"max_attempts": "max_attempts", "retry_deadline": "deadline"}


def _known() -> str:
    return ", ".join(sorted(OPTIONS))


def parse_url(url: URL | str) -> dict[str, Any]:
    """The `runs_dbapi.connect()` keyword arguments a runs:// URL stands for.

    Raises `sqlalchemy.exc.ArgumentError` for anything it does not understand: an unknown or
    repeated option, a value of the wrong form, a user, password or port, or a path part given
    twice (in the path and as an option).
    """
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.drivername not in DRIVERNAMES:
        raise ArgumentError(f"Not a runs:// URL: {parsed.drivername}://")
    if parsed.username is not None or parsed.password is not None:
        raise ArgumentError(
            "runs:// URLs take no user or password: pass access_token=, credentials_path= or "
            "credentials_info= as query options."
        )
    if parsed.port is not None:
        raise ArgumentError("runs:// URLs take no port: the host part is the project ID. Put an "
                            "API address in endpoint=http://host:port.")
    options: dict[str, Any] = {}
    parts = [parsed.host or ""]
    if parsed.database is not None:
        parts += parsed.database.split("/")
    while parts and parts[-1] == "":
        parts.pop()  # `runs://p/l/` and `runs:///` leave the rest out
    if len(parts) > len(PATH_PARTS):
        raise ArgumentError(
            "runs:// URL path has more than 4 parts; expected "
            "runs://PROJECT/LOCATION/TENSORBOARD/EXPERIMENT."
        )
    for name, value in zip(PATH_PARTS, parts, strict=False):
        if not value:
            raise ArgumentError(
                f"runs:// URL: the {name} part is empty. Leave out trailing parts only; pass a "
                "later part alone as a query option (e.g. ?experiment=...)."
            )
        options[name] = _path_part(name, value)
    for key, raw in parsed.query.items():
        if key not in OPTIONS:
            raise ArgumentError(f"Unknown runs:// URL option {key!r}. Known options: {_known()}.")
        if not isinstance(raw, str):
            raise ArgumentError(f"runs:// URL option {key} is given more than once.")
        if key in options:
            raise ArgumentError(f"runs:// URL: {key} is given both in the path and as an option.")
        options[key] = OPTIONS[key](key, raw)
    retry = {_RETRY_OPTIONS[k]: options.pop(k) for k in list(options) if k in _RETRY_OPTIONS}
    if retry:
        from runs_dbapi.rest import RetryPolicy  # noqa: PLC0415 - loads requests, only if asked

        options["retry"] = RetryPolicy(**retry)
    return options


def _option_text(name: str, value: Any) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, Mapping):
        text = json.dumps(dict(value), separators=(",", ":"))
    elif isinstance(value, (int, float, str)):
        text = str(value)
    else:
        raise ArgumentError(f"runs:// URL option {name}: cannot put a {type(value).__name__} in "
                            "a URL; pass it in connect_args instead.")
    OPTIONS[name](name, text)  # refuse now what parse_url would refuse later
    return text


# Options whose values are secrets: shown as `***` wherever SQLAlchemy hides a password.
SECRET_OPTIONS = frozenset({"access_token", "credentials_info"})


class RunsURL(URL):
    """A `URL` whose repr (and `str()` on SQLAlchemy 2) hides secret options as it hides a
    password; `render_as_string(hide_password=False)` keeps them, for connecting."""

    __slots__ = ()

    def render_as_string(self, hide_password: bool = True) -> str:
        if hide_password and SECRET_OPTIONS & set(self.query):
            masked = self.set(query={k: "***" if k in SECRET_OPTIONS else v
                                     for k, v in self.query.items()})
            return URL.render_as_string(masked, hide_password=True)
        return URL.render_as_string(self, hide_password=hide_password)


def build_url(
    project: str | None = None,
    location: str | None = None,
    tensorboard: str | None = None,
    experiment: str | None = None,
    *,
    drivername: str = "runs",
    **options: Any,
) -> URL:
    """A runs:// URL from values: `build_url("demo-project", "us-central1", endpoint=emu.url)`.

    Path parts go in the path while there is no gap; a part after a gap (an experiment without a
    tensorboard) becomes a query option. Option values are checked as `parse_url` checks them and
    quoted by SQLAlchemy; `str(url)` or `url.render_as_string()` gives the text.
    """
    if drivername not in DRIVERNAMES:
        raise ArgumentError(f"drivername must be one of {', '.join(DRIVERNAMES)}.")
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ArgumentError(
            f"Unknown runs:// URL option {unknown[0]!r}. Known options: "
            f"{', '.join(sorted(set(OPTIONS) - set(PATH_PARTS)))}."
        )
    path: list[str] = []
    query: dict[str, str] = {}
    for name, value in zip(PATH_PARTS, (project, location, tensorboard, experiment), strict=True):
        if value is None:
            continue
        _path_part(name, value)
        if len(path) == PATH_PARTS.index(name):
            path.append(value)
        else:
            query[name] = value
    for name, value in options.items():
        if value is not None:
            query[name] = _option_text(name, value)
    return RunsURL.create(
        drivername,
        host=path[0] if path else None,
        database="/".join(path[1:]) or None,
        query=query,
    )


# -- shared servers ----------------------------------------------------------------------------

# Options a URL may not use on a shared server unless its administrator allows them, and why.
_GUARDED = {
    "endpoint": "it points the server at {value}, which is not a Google API host",
    "iam_endpoint_override": "it would make the server send credentials to an IAM endpoint of "
                             "the URL's choosing",
    "impersonate_service_account": "it would make the server act as {value} with its own "
                                   "identity",
    "quota_project": "it bills the server's API quota to project {value}, not the URL's "
                     "project",
    "credentials_hosts": "it would make the server send its own credentials to hosts of the "
                         "URL's choosing",
    "credentials_path": "it would make the server read a key file from its own disk",
    "emulator": "it would start an emulator inside the server's process",
}
GUARDED_OPTIONS = frozenset(_GUARDED)


def _allowlist(allowed: Mapping[str, Any] | None, setting: str) -> dict[str, Any]:
    if allowed is None:
        return {}
    if not isinstance(allowed, Mapping):
        raise ArgumentError(f"{setting}: expected a dict of option name -> True or a list of "
                            f"allowed values, got {type(allowed).__name__}.")
    for name, values in allowed.items():
        if name not in _GUARDED:
            raise ArgumentError(f"{setting}: {name!r} is not an option that needs allowing; "
                                f"those are {', '.join(sorted(_GUARDED))}.")
        if values is not True and not (
                isinstance(values, Collection) and not isinstance(values, (str, Mapping))
                and all(isinstance(v, str) for v in values)):
            raise ArgumentError(f"{setting}: {name} must be True (any value) or a list of "
                                "allowed values (strings).")
    return dict(allowed)


def _is_allowed(name: str, value: str, allowed: Any) -> bool:
    if allowed is True:
        return True
    if allowed is None:
        return False
    if name == "endpoint":
        return value.rstrip("/") in {v.rstrip("/") for v in allowed}
    if name == "credentials_hosts":
        wanted = {v.strip().lower() for v in allowed}
        return all(h.strip().lower() in wanted for h in value.split(",") if h.strip())
    return value in set(allowed)


def shared_server_refusals(options: Mapping[str, Any], allowed: Mapping[str, Any] | None = None,
                           *, setting: str = "RUNS_URL_ALLOWLIST") -> list[str]:
    """Why each option of `options` (connect() keyword arguments, as `parse_url` gives them)
    is refused on a shared server, given the administrator's `allowed` (`setting`: option name
    -> True for any value, or a list of allowed values). An empty list: nothing refused.

    Refused unless allowed: `endpoint` other than a Google API host over HTTPS,
    `iam_endpoint_override`, `impersonate_service_account`, `quota_project` other than the
    URL's project, `credentials_hosts`, `credentials_path` and `emulator`.
    """
    from runs_dbapi.auth import is_google_host  # noqa: PLC0415 - only on a shared server

    allow = _allowlist(allowed, setting)
    refusals = []
    for name in sorted(set(options) & GUARDED_OPTIONS):
        value = options[name]
        if value is None:
            continue
        text = ",".join(value) if isinstance(value, (list, tuple)) else str(value)
        if name == "endpoint" and is_google_host(text):
            continue
        if name == "quota_project" and text == options.get("project"):
            continue
        if _is_allowed(name, text, allow.get(name)):
            continue
        if name == "endpoint":
            from runs_dbapi.exceptions import redact  # noqa: PLC0415

            text = redact(text)
        reason = _GUARDED[name].format(value=text)
        refusals.append(
            f"runs:// option {name} is refused on this server: {reason}. An administrator "
            f"can allow it with {setting} = {{{name!r}: [{text!r}]}} in the server's "
            "configuration."
        )
    return refusals
