"""proto3 JSON details: timestamps, enums, field masks and name conversions."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

from .errors import invalid

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$"
)


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds and `Z`, as the real service writes timestamps."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    """Parse an RFC 3339 timestamp (0-9 fraction digits; nanoseconds are truncated)."""
    match = _RFC3339.match(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micros = int((fraction or "0").ljust(6, "0")[:6])
    tz = timezone.utc
    if offset not in ("Z", "z"):
        sign = 1 if offset[0] == "+" else -1
        hours, minutes = int(offset[1:3]), int(offset[4:6])
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    return datetime(
        int(year), int(month), int(day), int(hour), int(minute), int(second), micros, tzinfo=tz
    ).astimezone(timezone.utc)


def snake_to_camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def camel_to_snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def parse_field_mask(text: str | None) -> list[str]:
    """Split a FieldMask (`a,b.c`) and normalise each path to camelCase."""
    if not text:
        return []
    paths = [part.strip() for part in text.split(",")]
    if any(not path for path in paths):
        raise invalid(f"Invalid field mask: {text!r}")
    return [".".join(snake_to_camel(piece) for piece in path.split(".")) for path in paths]


def apply_read_mask(resource: dict[str, Any], mask: list[str]) -> dict[str, Any]:
    """Keep only the top-level fields a readMask names (nested paths keep their top field)."""
    if not mask:
        return resource
    keep = {path.split(".")[0] for path in mask}
    return {key: value for key, value in resource.items() if key in keep}


def wants_int_enums(query: dict[str, list[str]]) -> bool:
    """True when the client asked for `$alt=json;enum-encoding=int` (the official SDK does)."""
    for key in ("$alt", "alt"):
        for value in query.get(key, []):
            if "enum-encoding=int" in value.replace(" ", ""):
                return True
    return False


def strip_defaults(message: dict[str, Any]) -> dict[str, Any]:
    """Drop proto3 default values (empty strings, maps, lists, false), as proto3 JSON omits them."""
    return {
        key: value
        for key, value in message.items()
        if value not in ("", None, False, {}, [])
    }
