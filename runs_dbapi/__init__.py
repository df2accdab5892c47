"""runs_dbapi: a PEP 249 driver for Vertex AI TensorBoard runs, over the REST API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .exceptions import (
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    Warning,
)
from .types import (
    BINARY,
    DATETIME,
    NUMBER,
    ROWID,
    STRING,
    Binary,
    Date,
    DateFromTicks,
    Time,
    TimeFromTicks,
    Timestamp,
    TimestampFromTicks,
)

apilevel = "2.0"
# Threads may share the module and connections, not cursors.
threadsafety = 2
paramstyle = "qmark"

__all__ = [
    "BINARY", "DATETIME", "NUMBER", "ROWID", "STRING", "Binary", "Connection", "Cursor",
    "DataError", "DatabaseError", "Date", "DateFromTicks", "Error", "IntegrityError",
    "InterfaceError", "InternalError", "NotSupportedError", "OperationalError",
    "ProgrammingError", "Time", "TimeFromTicks", "Timestamp", "TimestampFromTicks", "Warning",
    "apilevel", "connect", "paramstyle", "threadsafety",
]


if TYPE_CHECKING:
    from .connection import Connection
    from .cursor import Cursor


def connect(**options: Any) -> Connection:
    """Open a connection; see `Connection` for the options (project=, location=, ...)."""
    from .connection import Connection  # noqa: PLC0415 - lazy: keeps the import quick

    return Connection(**options)


def __getattr__(name: str) -> Any:
    # The connection machinery (sqlglot, requests, google-auth) loads on first use, so that
    # `import runs_dbapi` and the emulator subpackage stay quick to import.
    if name in ("Connection", "Cursor"):
        from . import connection, cursor  # noqa: PLC0415 - lazy, see above

        return {"Connection": connection.Connection, "Cursor": cursor.Cursor}[name]
    raise AttributeError(f"module 'runs_dbapi' has no attribute {name!r}")
