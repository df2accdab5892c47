"""PEP 249 type objects and constructors.

`cursor.description` carries type codes as plain strings, the names the catalog uses:
"STRING", "TIMESTAMP", "JSON", "INTEGER", "FLOAT", "BOOLEAN", "BINARY". BI tools show those
strings as they are. The PEP 249 type objects below are `str` instances too (so they print as a
type name), and each compares equal to every type code of its group:

=========  ===========================================================================
object     equal to (case-insensitive)
=========  ===========================================================================
STRING     "STRING", "JSON": JSON columns (e.g. labels) travel as JSON text, so a
           client that asks "is this a string column?" gets yes and receives a `str`
BINARY     "BINARY", "BYTES"
NUMBER     "INTEGER", "FLOAT", "BOOLEAN" (booleans are numbers in PEP 249, as in the
           BigQuery and SQLite drivers; there is no BOOLEAN type object)
DATETIME   "TIMESTAMP", "DATETIME", "DATE", "TIME"
ROWID      "ROWID" (no catalog column uses it: a run's `name` is a STRING)
=========  ===========================================================================

`hash(STRING) == hash("STRING")`, so a type object finds its own name in a dict or set (and the
reverse); a member code such as "JSON" is equal to STRING but hashes differently, as it must
since equality across groups cannot be transitive.

Constructors return `datetime` values; timestamps are timezone-aware UTC, as the API's are.
Ticks are seconds since the epoch and are read in UTC (not local time): the API has no local time.
"""

from __future__ import annotations

import datetime as _dt

__all__ = [
    "BINARY",
    "DATETIME",
    "NUMBER",
    "ROWID",
    "STRING",
    "Binary",
    "DBAPITypeObject",
    "Date",
    "DateFromTicks",
    "Time",
    "TimeFromTicks",
    "Timestamp",
    "TimestampFromTicks",
]

UTC = _dt.timezone.utc


class DBAPITypeObject(str):
    """A PEP 249 type object: a type name that equals every type code of its group."""

    values: frozenset[str]

    def __new__(cls, name: str, *members: str) -> DBAPITypeObject:
        obj = super().__new__(cls, name)
        obj.values = frozenset(code.upper() for code in (name, *members))
        return obj

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DBAPITypeObject):
            return str.__eq__(self, other)
        if isinstance(other, str):
            return other.upper() in self.values
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return str.__hash__(self)

    def __repr__(self) -> str:
        return f"DBAPITypeObject({', '.join(repr(v) for v in self.group)})"

    @property
    def group(self) -> tuple[str, ...]:
        """The type codes this object equals, its own name first."""
        return (str(self), *sorted(self.values - {str(self)}))

    def __reduce__(self) -> tuple[type[DBAPITypeObject], tuple[str, ...]]:
        return (DBAPITypeObject, self.group)


STRING = DBAPITypeObject("STRING", "JSON")
BINARY = DBAPITypeObject("BINARY", "BYTES")
NUMBER = DBAPITypeObject("NUMBER", "INTEGER", "FLOAT", "BOOLEAN")
DATETIME = DBAPITypeObject("DATETIME", "TIMESTAMP", "DATE", "TIME")
ROWID = DBAPITypeObject("ROWID")


def Date(year: int, month: int, day: int) -> _dt.date:
    return _dt.date(year, month, day)


def Time(hour: int, minute: int, second: int, microsecond: int = 0) -> _dt.time:
    """A time of day (naive: the API has no time-of-day values, only UTC timestamps)."""
    return _dt.time(hour, minute, second, microsecond)


def Timestamp(  # noqa: PLR0917 - the PEP 249 signature
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0,
    *, microsecond: int = 0,
) -> _dt.datetime:
    """A timezone-aware UTC timestamp."""
    return _dt.datetime(year, month, day, hour, minute, second, microsecond, tzinfo=UTC)


def DateFromTicks(ticks: float) -> _dt.date:
    """The UTC date of `ticks` seconds since the epoch."""
    return _dt.datetime.fromtimestamp(ticks, UTC).date()


def TimeFromTicks(ticks: float) -> _dt.time:
    """The UTC time of day of `ticks` seconds since the epoch (naive, like `Time`)."""
    return _dt.datetime.fromtimestamp(ticks, UTC).time()


def TimestampFromTicks(ticks: float) -> _dt.datetime:
    """The timezone-aware UTC timestamp `ticks` seconds after the epoch."""
    return _dt.datetime.fromtimestamp(ticks, UTC)


def Binary(value: bytes | bytearray | memoryview | str) -> bytes:
    """A binary value; text is encoded as UTF-8."""
    if isinstance(value, str):
        return value.encode("utf-8")
    return bytes(value)
