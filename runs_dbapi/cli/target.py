"""Where `runs-sql`'s data is: `--url`, else $RUNS_URL, else the embedded emulator in the user's
data directory; and what to write instead of a URL that is almost right."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from .base import PROG, URL_VARIABLE, UsageError, data_home

EMBEDDED_PROJECT = "demo-project"  # runs_dbapi.emulator.demo's, without importing it
EMBEDDED_LOCATION = "us-central1"
EMBEDDED_FILE = "emulator.sqlite"
URL_FORM = "runs://PROJECT/LOCATION[/TENSORBOARD[/EXPERIMENT]][?option=value&...]"


@dataclass
class Target:
    """What to connect to: connect() keyword arguments and how to describe them."""

    options: dict[str, Any]
    description: str
    embedded: Path | None = None  # the embedded emulator's data file

    @property
    def first_use(self) -> bool:
        return self.embedded is not None and not self.embedded.exists()

    @property
    def names_a_path(self) -> bool:
        """Whether the URL names a tensorboard or experiment, which must then exist."""
        return bool(self.options.get("tensorboard") or self.options.get("experiment"))


def url_hint(url: str) -> str | None:
    """What to write instead of a URL that is almost a runs:// URL, or None."""
    text = url.strip()
    scheme = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):(/*)(.*)", text)
    if scheme is None:
        if re.fullmatch(r"[\w.-]+/[\w-]+(/.*)?", text):
            return f"a URL starts with runs://: write runs://{text}"
        return None
    name, slashes, rest = scheme.group(1).lower(), scheme.group(2), scheme.group(3)
    if name == "runs" and slashes != "//":
        return f"write runs://{rest} (two slashes after runs:)"
    if name in ("http", "https"):
        host = rest.split("/", 1)[0]
        if host.endswith("aiplatform.googleapis.com"):
            return ("name the data, not the API: write runs://PROJECT/LOCATION (the Vertex AI "
                    "endpoint of the location is used)")
        return (f"{name}://{host} is an API address: write "
                f"runs://PROJECT/LOCATION?endpoint={name}://{host} (e.g. runs://demo-project/"
                f"us-central1?endpoint={name}://{host} for a runs-emulator with --demo)")
    if name == "runs":
        port = re.match(r"([^/?:]+):(\d+)(/|$)", rest)
        if port is not None:
            return (f"for an API or emulator at {port.group(1)}:{port.group(2)}, write "
                    f"runs://PROJECT/LOCATION?endpoint=http://{port.group(1)}:{port.group(2)}")
    return None


def resolve_target(url: str | None) -> Target:
    """--url, else $RUNS_URL, else the embedded emulator in the user's data directory."""
    url = url or os.environ.get(URL_VARIABLE) or None
    if url:
        from sqlalchemy.exc import ArgumentError  # noqa: PLC0415 - only for a runs:// URL

        from runs_dialect.url import parse_url  # noqa: PLC0415

        try:
            options = parse_url(url)
        except ArgumentError as error:
            hint = url_hint(url)
            message = str(error).rstrip(".") + "."
            if "Could not parse" in message or "Not a runs://" in message:
                message = f"{redacted_url(url)!r} is not a runs:// URL ({URL_FORM})."
            raise UsageError(message + (f" Hint: {hint}." if hint else "")) from None
        return Target(options, redacted_url(url))
    path = data_home() / EMBEDDED_FILE
    options = {"emulator": str(path), "emulator_demo": True, "project": EMBEDDED_PROJECT,
               "location": EMBEDDED_LOCATION}
    return Target(options, f"the embedded emulator ({path})", embedded=path)


def redacted_url(url: str) -> str:
    """The URL without secret option values, for messages."""
    from runs_dbapi.exceptions import redact  # noqa: PLC0415

    text = redact(url)
    for option in ("access_token", "credentials_info"):
        marker = f"{option}="
        start = text.find(marker)
        if start >= 0:
            end = text.find("&", start)
            text = text[:start + len(marker)] + "***" + (text[end:] if end >= 0 else "")
    return text


def embedded_notice(target: Target) -> str:
    first = " (first use: creating the demo data)" if target.first_use else ""
    return (f"{PROG}: no --url or ${URL_VARIABLE}: using the embedded emulator's demo data in "
            f"{target.embedded}{first}; for Vertex AI, pass --url runs://PROJECT/LOCATION or "
            f"set {URL_VARIABLE}")


class FileLock:
    """An exclusive lock on a file while the embedded data file is created (POSIX only)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle: TextIO | None = None

    def __enter__(self) -> FileLock:
        try:
            import fcntl  # noqa: PLC0415 - POSIX only
        except ImportError:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = open(self.path, "a")
        fcntl.flock(self.handle.fileno(), fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.handle is not None:
            self.handle.close()  # closing releases the lock
