"""Local evaluation in an in-memory SQLite database: API resources in, typed Python rows out."""

from __future__ import annotations

import base64
import json
import re
import sqlite3
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from .catalog import BOOLEAN, BYTES, FLOAT, INTEGER, JSON, STRING, TIMESTAMP, Column
from .exceptions import DataError, OperationalError, ProgrammingError
from .sqlfunctions import register as register_functions
from .suggest import did_you_mean
from .timestamps import api_time_to_local, local_to_datetime

Row = tuple[Any, ...]


def local_to_json(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


# json.dumps(value, separators=(",", ":"), ensure_ascii=False), without an encoder per call.
_json_text = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

def _default(column: Column) -> Any:
    """proto3's default for an omitted field (a fresh map for JSON: rows must not share one)."""
    return {} if column.type == JSON and column.default is not None else column.default


def row_from_resource(columns: Sequence[Column], resource: dict[str, Any],
                      path: dict[str, str]) -> Row:
    """One API resource (proto3 JSON) as a row in the columns' order."""
    return tuple(column_reader(c)(resource, path) for c in columns)


Reader = Callable[[dict[str, Any], Mapping[str, str]], Any]


def column_reader(column: Column, id_column: str | None = None) -> Reader:
    """`(resource, path) -> value`: the value `row_from_resource` puts in this column.

    The table's own ID column (`id_column`) is taken from `path` if there (a get), else from the
    resource's name (a list, where `path` is the parent's).
    """
    name = column.name
    if column.path_parameter:
        if name == id_column:
            return lambda r, p: p[name] if name in p else str(r.get("name", "")).rsplit("/", 1)[-1]
        return lambda r, p: p.get(name)
    get, field = field_getter(column.api_field or name)
    if column.type == TIMESTAMP:
        return lambda r, p: api_time_to_local(get(r, field))
    if column.type == JSON:
        if column.message:  # unset: NULL
            return lambda r, p: _json_text(v) if (v := get(r, field)) is not None else None
        return lambda r, p: _json_text(v if (v := get(r, field)) is not None else {})
    default = column.default
    convert = _CONVERSIONS.get(column.type)

    def read(resource: dict[str, Any], path: Mapping[str, str]) -> Any:
        value = get(resource, field)
        if value is None:
            return default  # proto3 omits default values: they are known, not NULL
        return convert(value) if convert is not None else value
    return read


def field_getter(field_path: str) -> tuple[Callable[[dict[str, Any], Any], Any], Any]:
    """`(get, key)`: `get(resource, key)` is the value of a field path of the API message
    (`scalar.value`: nested).

    A flat field's `get` is `dict.get` itself: no Python call per value, which a reader per
    column pays on every row (7 a row of `SELECT * FROM runs`, about a tenth of its CPU).
    """
    if "." not in field_path:
        return dict.get, field_path
    return _get_path, tuple(field_path.split("."))


def _get_path(resource: dict[str, Any], steps: tuple[str, ...]) -> Any:
    value: Any = resource
    for step in steps:
        if not isinstance(value, dict):
            return None
        value = value.get(step)
    return value


# proto3 JSON to the Python value of a column type: int64 travels as a string, bytes as base64,
# doubles may be "NaN" or "Infinity".
_CONVERSIONS: dict[str, Callable[[Any], Any]] = {
    INTEGER: int, BOOLEAN: bool, FLOAT: float,
    BYTES: lambda v: base64.b64decode(v) if isinstance(v, str) else bytes(v),
}


PageMaker = Callable[[list[dict[str, Any]], Mapping[str, str]], list[Row]]


def _page_maker(readers: Sequence[Reader | None], constant: Sequence[bool]) -> PageMaker:
    """Rows of a page: `readers` per column (None: NULL), those marked constant read once."""

    def make(resources: list[dict[str, Any]], path: Mapping[str, str]) -> list[Row]:
        template = [(None, read({}, path)) if fixed and read is not None else (read, None)
                    for read, fixed in zip(readers, constant, strict=True)]
        return [tuple([read(resource, path) if read is not None else value
                       for read, value in template]) for resource in resources]
    return make


def _constant(column: Column, id_column: str | None) -> bool:
    """Whether a column's value is the same for a whole page (a parent's path parameter)."""
    return column.path_parameter and column.name != id_column


def row_maker(columns: Sequence[Column], id_column: str | None,
              needed: Collection[str] | None = None) -> PageMaker:
    """`row_from_resource` for every resource of a page (`path`: the parent's, or a get's full
    path), compiled once per table reference.

    Only the `needed` columns (lower-case names; None means all) are filled; the others are
    NULL, for SQL that never reads them.
    """
    readers = [column_reader(c, id_column) if needed is None or c.name.lower() in needed
               else None for c in columns]
    return _page_maker(readers, [_constant(c, id_column) for c in columns])


class Unsafe(Exception):
    """A value SQLite would store differently than given (or refuse): take the SQLite path."""


_INT64 = (-(2 ** 63), 2 ** 63)


def direct_reader(column: Column, id_column: str | None, restore: Any) -> Reader:
    """`(resource, path) -> value` equal to what SQLite gives back for this column's value of
    `row_from_resource`, passed through `restore` (`restorer(type)`), without SQLite.

    Raises `Unsafe` where SQLite's type affinity would change the value (a number in a TEXT
    column, text in an INTEGER one, an integer beyond 64 bits): the caller then takes the
    SQLite path. A JSON column read back as JSON is the parsed value itself, not a copy (the
    value `json.loads(json.dumps(v))` equals).
    """
    get, field = field_getter(column.api_field or column.name)
    if column.type == JSON and restore is local_to_json and not column.path_parameter:
        return lambda r, p: v if (v := get(r, field)) is not None else _default(column)
    read = column_reader(column, id_column)
    storage = _sqlite_type(column.type)

    def final(resource: dict[str, Any], path: Mapping[str, str]) -> Any:
        value = read(resource, path)
        if value is None:
            return None
        kind = type(value)
        if storage == "INTEGER":
            if kind is bool:
                value = int(value)
            elif kind is not int or not _INT64[0] <= value < _INT64[1]:
                raise Unsafe
        elif storage == "REAL":
            if kind is not float:
                raise Unsafe
        elif kind is not (bytes if storage == "BLOB" else str):
            raise Unsafe
        return restore(value) if restore is not None else value

    if column.path_parameter:
        return final
    if column.type == TIMESTAMP and restore is local_to_datetime:
        def timestamp(resource: dict[str, Any], path: Mapping[str, str]) -> Any:
            value = get(resource, field)
            # `2024-02-16T23:56:54.194318Z`, as the API writes them: in one C call.
            if (type(value) is str and len(value) == 27 and value[26] == "Z"
                    and value[19] == "." and value[10] == "T"):
                try:
                    return datetime.fromisoformat(value[:26] + "+00:00")
                except ValueError:
                    pass
            return final(resource, path)
        return timestamp
    if column.type == STRING and restore is None:
        empty = column.default

        def text(resource: dict[str, Any], path: Mapping[str, str]) -> Any:
            value = get(resource, field)
            if type(value) is str:
                return value
            if value is None:
                return empty
            raise Unsafe
        return text
    return final


def direct_maker(columns: Sequence[Column], id_column: str | None,
                 restores: Sequence[Any]) -> PageMaker:
    """Rows of a page as SQLite and `restore` would give back `row_from_resource`'s, for a
    projection of these columns (see `direct_reader`); raises `Unsafe` when it cannot."""
    readers = [direct_reader(c, id_column, r) for c, r in zip(columns, restores, strict=True)]
    return _page_maker(readers, [_constant(c, id_column) for c in columns])


class LocalDatabase:
    """A private SQLite database holding the fetched rows of one statement."""

    def __init__(self) -> None:
        self.db = sqlite3.connect(":memory:", check_same_thread=False)
        register_functions(self.db)  # REGEXP, percentile_cont, stddev, ... (sqlfunctions)
        self.columns: dict[str, list[str]] = {}  # local table name -> its columns

    def close(self) -> None:
        self.db.close()

    def create(self, name: str, columns: Sequence[Column]) -> None:
        self.columns[name] = [c.name for c in columns]
        spec = ", ".join(f'"{c.name}" {_sqlite_type(c.type)}' for c in columns)
        self.db.execute(f'CREATE TABLE "{name}" ({spec})')

    def insert(self, name: str, width: int, rows: Iterable[Row],
               columns: Sequence[str] | None = None) -> None:
        """Rows of `width` values, for all columns or for `columns` (the others stay NULL)."""
        marks = ", ".join("?" * width)
        names = "" if columns is None else " (" + ", ".join(f'"{c}"' for c in columns) + ")"
        self.db.executemany(f'INSERT INTO "{name}"{names} VALUES ({marks})', rows)

    def clear(self, name: str) -> None:
        self.db.execute(f'DELETE FROM "{name}"')

    def query(self, sql: str, *, prepare_only: bool = False) -> sqlite3.Cursor:
        """Run `sql`; with `prepare_only`, only compile it (EXPLAIN), to report its mistakes."""
        try:
            return self.db.execute(f"EXPLAIN {sql}" if prepare_only else sql)
        except sqlite3.OperationalError as error:
            hint = ""
            if str(error).startswith("no such column") and self.columns:
                # Name the valid columns (local tables are named _t<n>_<table>).
                hint = _column_hint(str(error), self.columns) + "; " + "; ".join(
                    f"columns of {re.sub(r'^_t[0-9]+_', '', name)}: {', '.join(names)}"
                    for name, names in self.columns.items())
            elif str(error).startswith("no such function:"):
                functions = [str(row[0]) for row in
                             self.db.execute("SELECT name FROM pragma_function_list")]
                hint = did_you_mean(str(error).split(":", 1)[1].strip(), functions,
                                    ).replace(" Did", "; did")
            raise ProgrammingError(
                f"{error}{hint} (in the locally evaluated SQL: {sql})") from None
        except sqlite3.DataError as error:
            raise DataError(str(error)) from None
        except sqlite3.Error as error:
            raise OperationalError(f"local evaluation failed: {error}") from None


def _column_hint(message: str, columns: Mapping[str, Sequence[str]]) -> str:
    """`; labels is JSON: write labels ->> '$.status'` for `labels.status`; else the nearest
    column's name."""
    name = message.split(":", 1)[1].strip()
    head, _, key = name.partition(".")
    known = [c for names in columns.values() for c in names]
    if key and head.lower() in {c.lower() for c in known} and "." not in key:
        return f"; {head} is a JSON column: write {head} ->> '$.{key}' for its {key!r} key"
    return did_you_mean(name.rsplit(".", 1)[-1], known).replace(" Did", "; did")


def _sqlite_type(kind: str) -> str:
    return {INTEGER: "INTEGER", BOOLEAN: "INTEGER", FLOAT: "REAL", BYTES: "BLOB"}.get(kind, "TEXT")


def restorer(kind: str | None) -> Any:
    if kind == TIMESTAMP:
        return local_to_datetime
    if kind == JSON:
        return local_to_json
    if kind == BOOLEAN:
        return local_to_bool
    return None


def local_to_bool(value: Any) -> Any:
    return bool(value) if isinstance(value, int) else value
