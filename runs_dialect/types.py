"""SQLAlchemy types for the driver's catalog types, and how values cross the driver.

Reflection reports generic SQLAlchemy types (`String`, `DateTime(timezone=True)`, `JSON`,
`BigInteger`, `Boolean`, `Float`, `LargeBinary`), so that generated models and ORMs need
nothing from this package; `COLSPECS` swaps in the implementations below when a statement
runs through the dialect.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import types as sqltypes
from sqlalchemy.engine.interfaces import Dialect

from runs_dbapi.catalog import BOOLEAN, BYTES, FLOAT, INTEGER, JSON, STRING, TIMESTAMP

Processor = Callable[[Any], Any]

_TYPES: dict[str, Callable[[], sqltypes.TypeEngine[Any]]] = {
    STRING: sqltypes.String,
    TIMESTAMP: lambda: sqltypes.DateTime(timezone=True),
    JSON: sqltypes.JSON,
    INTEGER: sqltypes.BigInteger,
    BOOLEAN: sqltypes.Boolean,
    FLOAT: sqltypes.Float,
    BYTES: sqltypes.LargeBinary,
}

# Type names as the driver's cursor.description reports them, for reflection by name.
ISCHEMA_NAMES: dict[str, type[sqltypes.TypeEngine[Any]]] = {
    STRING: sqltypes.String,
    TIMESTAMP: sqltypes.DateTime,
    JSON: sqltypes.JSON,
    INTEGER: sqltypes.BigInteger,
    BOOLEAN: sqltypes.Boolean,
    FLOAT: sqltypes.Float,
    BYTES: sqltypes.LargeBinary,
}

_SIMPLE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def sqlalchemy_type(catalog_type: str) -> sqltypes.TypeEngine[Any]:
    """The SQLAlchemy type of a catalog column type (STRING, TIMESTAMP, JSON, ...)."""
    try:
        factory = _TYPES[catalog_type]
    except KeyError:
        raise ValueError(f"Unknown catalog type {catalog_type!r}") from None
    return factory()


def parse_timestamp(value: str) -> datetime | str:
    """`2024-01-01 00:00:00.000000` (local evaluation) or RFC 3339 text as a datetime."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return value


class RunsDateTime(sqltypes.DateTime):
    """Datetimes pass to the driver as they are; results may be datetimes or text.

    The driver restores its timestamp columns as aware UTC datetimes; computed expressions
    (`datetime(createTime, 'start of day')`) come back as SQLite's UTC text, parsed here.
    """

    def bind_processor(self, dialect: Dialect) -> None:
        return None  # the driver binds datetimes itself (UTC, its canonical text form)

    def result_processor(self, dialect: Dialect, coltype: object) -> Processor:
        aware = bool(self.timezone)

        def process(value: Any) -> Any:
            if isinstance(value, str):
                value = parse_timestamp(value)
            if aware and isinstance(value, datetime) and value.tzinfo is None:
                value = value.replace(tzinfo=timezone.utc)
            return value

        return process


class RunsJSON(sqltypes.JSON):
    """JSON values: a column the driver types JSON (its `description`) arrives decoded already;
    JSON that arrives as text (an expression the driver cannot type) is decoded here."""

    def result_processor(self, dialect: Dialect, coltype: object) -> Processor | None:
        if coltype == JSON:
            return None
        loads: Callable[[str], Any] = getattr(dialect, "_json_deserializer", None) or json.loads

        def process(value: Any) -> Any:
            return loads(value) if isinstance(value, str) else value

        return process


def json_path_step(key: Any) -> str:
    """One step of an SQLite JSON path: `[0]`, `.team`, or `."odd key"`."""
    if isinstance(key, int):
        return f"[{key}]"
    text = str(key)
    if _SIMPLE_KEY.match(text):
        return f".{text}"
    return '."' + text.replace('"', '\\"') + '"'


class _PathFormat:
    """Renders index and path values as SQLite JSON paths (`$.team`, the form the driver pushes
    down to the API's `labels.team` filter)."""

    def _format_value(self, value: Any) -> str:
        raise NotImplementedError

    def bind_processor(self, dialect: Dialect) -> Processor:
        return self._format_value

    def literal_processor(self, dialect: Dialect) -> Processor:
        def process(value: Any) -> str:
            text = self._format_value(value).replace("'", "''")
            return f"'{text}'"

        return process


class RunsJSONIndexType(_PathFormat, sqltypes.JSON.JSONIndexType):
    def _format_value(self, value: Any) -> str:
        return "$" + json_path_step(value)


class RunsJSONPathType(_PathFormat, sqltypes.JSON.JSONPathType):
    def _format_value(self, value: Any) -> str:
        return "$" + "".join(json_path_step(step) for step in value)


COLSPECS: dict[type[Any], type[Any]] = {
    sqltypes.DateTime: RunsDateTime,
    sqltypes.JSON: RunsJSON,
    sqltypes.JSON.JSONIndexType: RunsJSONIndexType,
    sqltypes.JSON.JSONPathType: RunsJSONPathType,
}
