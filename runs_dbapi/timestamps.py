"""Timestamps as instants: one canonical text form for local evaluation, whatever the spelling.

Local tables hold timestamps as `YYYY-MM-DD HH:MM:SS.ffffff` in UTC (SQLite's own form, which
sorts as the instants do). Digits below the microsecond are kept when they are not zero
(`...57.957524001`): the text then still sorts and compares as the instant, since a shorter
fraction that is a prefix of a longer one is both the smaller text and the earlier instant.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

_FRACTION = re.compile(r"^(?P<head>[^.]*?[0-9]{2}:[0-9]{2}:[0-9]{2})\.(?P<digits>[0-9]+)"
                       r"(?P<tail>.*)$")


def parse_instant(text: str) -> tuple[datetime, str] | None:
    """An instant in the spellings people and BI tools write (date only, `T` or space, `Z` or an
    offset; no zone means UTC): the UTC datetime (to the microsecond) and the digits below the
    microsecond with trailing zeros dropped. None if `text` is not a timestamp."""
    candidate = text.strip()
    extra = ""
    match = _FRACTION.match(candidate)
    if match:
        digits = match.group("digits")
        extra = digits[6:].rstrip("0")
        if extra and not extra.isdigit():
            return None
        candidate = f"{match.group('head')}.{digits[:6].ljust(6, '0')}{match.group('tail')}"
    if candidate[-1:] in ("Z", "z"):
        candidate = candidate[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(candidate)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc), extra


def canonical_text(text: str) -> str | None:
    """The local form of a timestamp written in any spelling, or None if it is not one."""
    parsed = parse_instant(text)
    if parsed is None:
        return None
    moment, extra = parsed
    return moment.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f") + extra


def canonical_time(moment: datetime) -> str:
    """The local form of a datetime (naive means UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def api_time_to_local(text: str | None) -> str | None:
    """`2024-02-16T23:56:54.194318Z` -> `2024-02-16 23:56:54.194318` (the API's form, cheaply)."""
    if not text:
        return None
    if len(text) == 27 and text[26] == "Z" and text[10] == "T" and text[19] == ".":
        return f"{text[:10]} {text[11:26]}"
    return canonical_text(text) or text


def local_to_datetime(text: object) -> object:
    """A local timestamp as an aware UTC datetime (digits below the microsecond are dropped:
    Python's datetime has none); anything else is returned as it is."""
    if not isinstance(text, str):
        return text
    if len(text) == 26 and text[10] == " " and text[19] == ".":
        try:
            return datetime.fromisoformat(text + "+00:00")
        except ValueError:
            pass
    parsed = parse_instant(text)
    return parsed[0] if parsed is not None else text
