"""Local evaluation in an in-memory SQLite database: API resources in, typed Python rows out."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from .catalog import BOOLEAN, INTEGER, JSON, TIMESTAMP, Column
from .exceptions import DataError, OperationalError, ProgrammingError

Row = tuple[Any, ...]


def api_time_to_local(text: str | None) -> str | None:
    """`2024-02-16T23:56:54.194318Z` -> `2024-02-16 23:56:54.194318` (cheap: no datetime)."""
    if not text:
        return None
    body = text.rstrip("Zz").replace("T", " ", 1)
    if "+" in body[10:] or "-" in body[10:]:  # an explicit offset: take the slow, exact path
        moment = datetime.fromisoformat(text).astimezone(timezone.utc)
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f")
    if "." in body:
        seconds, fraction = body.split(".", 1)
        return f"{seconds}.{fraction[:6].ljust(6, '0')}"
    return body + ".000000"


def local_to_datetime(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)
    except ValueError:
        return text


def local_to_json(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def row_from_resource(columns: Sequence[Column], resource: dict[str, Any],
                      path: dict[str, str]) -> Row:
    """One API resource (proto3 JSON) as a row in the columns' order."""
    values: list[Any] = []
    for column in columns:
        if column.path_parameter:
            values.append(path.get(column.name))
            continue
        value = resource.get(column.api_field or column.name)
        if column.type == TIMESTAMP:
            value = api_time_to_local(value)
        elif column.type == JSON:
            value = json.dumps(value if value is not None else {}, separators=(",", ":"),
                               ensure_ascii=False)
        elif value is None and column.api_field in ("description", "displayName", "etag"):
            value = ""  # proto3 omits empty strings: they are empty, not unknown
        elif column.type == INTEGER and value is not None:
            value = int(value)
        elif column.type == BOOLEAN:
            value = bool(value)
        values.append(value)
    return tuple(values)


class LocalDatabase:
    """A private SQLite database holding the fetched rows of one statement."""

    def __init__(self) -> None:
        self.db = sqlite3.connect(":memory:", check_same_thread=False)

    def close(self) -> None:
        self.db.close()

    def create(self, name: str, columns: Sequence[Column]) -> None:
        spec = ", ".join(f'"{c.name}" {_sqlite_type(c.type)}' for c in columns)
        self.db.execute(f'CREATE TABLE "{name}" ({spec})')

    def insert(self, name: str, width: int, rows: Iterable[Row]) -> None:
        marks = ", ".join("?" * width)
        self.db.executemany(f'INSERT INTO "{name}" VALUES ({marks})', rows)

    def clear(self, name: str) -> None:
        self.db.execute(f'DELETE FROM "{name}"')

    def query(self, sql: str) -> sqlite3.Cursor:
        try:
            return self.db.execute(sql)
        except sqlite3.OperationalError as error:
            raise ProgrammingError(f"{error} (in the locally evaluated SQL: {sql})") from None
        except sqlite3.DataError as error:
            raise DataError(str(error)) from None
        except sqlite3.Error as error:
            raise OperationalError(f"local evaluation failed: {error}") from None


def _sqlite_type(kind: str) -> str:
    return {INTEGER: "INTEGER", BOOLEAN: "INTEGER"}.get(kind, "TEXT")


def restorer(kind: str | None) -> Any:
    if kind == TIMESTAMP:
        return local_to_datetime
    if kind == JSON:
        return local_to_json
    return None
