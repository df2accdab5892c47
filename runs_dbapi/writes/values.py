"""Values of a write: SQL expressions and parameters evaluated, and column values turned into
the API's proto3 JSON by the column's catalog type (labels checked by the API's rules)."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlglot import exp

from ..catalog import BODY_PREFIX, BOOLEAN, BYTES, FLOAT, INTEGER, JSON, Column, Table
from ..exceptions import DataError, ProgrammingError
from ..local import LocalDatabase, Row
from ..rules import check_labels, parse_labels
from ..statements import DIALECT, parameter_mapping
from ..timestamps import canonical_time
from .common import Parameters

__all__ = ["api_value", "bound_value_rows", "evaluate", "field_name", "put_field",
           "resource_value"]


def field_name(raw: str) -> str:
    """`data__displayName` -> `displayName` (the seed's StackQL spelling of body fields)."""
    return raw[len(BODY_PREFIX):] if raw.lower().startswith(BODY_PREFIX) else raw


def evaluate(expressions: list[exp.Expression]) -> Row:
    """Values of constant expressions (`'a'`, `json_object(...)`, `1 + 1`), via SQLite."""
    if all(isinstance(e, (exp.Literal, exp.Null)) for e in expressions):
        return tuple(None if isinstance(e, exp.Null) else
                     (e.this if e.is_string else json.loads(e.this)) for e in expressions)
    if any(e.find(exp.Column) for e in expressions):
        raise ProgrammingError("VALUES may not refer to columns; use INSERT ... SELECT.")
    database = LocalDatabase()
    try:
        sql = exp.select(*expressions).sql(dialect=DIALECT)
        row = database.query(sql).fetchone()
    finally:
        database.close()
    return tuple(row) if row is not None else ()


def _boolean(column: Column, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    raise DataError(f"{column.name} is BOOLEAN: give true or false (1 or 0), not {value!r}.")


def _json(column: Column, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError as error:
        raise DataError(f"{column.name} must be JSON: {error}") from None


def api_value(table: Table, column: Column, value: Any, *, allow_system_labels: bool) -> Any:
    """The proto3 JSON value of `column` for `value` (a SQL value), checked by the API's rules
    that the driver can know; None when the field is to be left out (NULL, '', no labels)."""
    if column.name == table.writes.labels:
        labels = parse_labels(value)
        check_labels(labels, allow_system=allow_system_labels)
        return labels or None
    if value is None or value == "":
        return None
    choices = table.writes.choices_of(column.name)
    if choices and value not in choices:
        raise DataError(f"Invalid {column.name} {value!r} for {table.name}: one of "
                        f"{', '.join(choices)}.")
    if column.type == BOOLEAN:
        return _boolean(column, value)
    if column.type == BYTES:
        raw = value.encode() if isinstance(value, str) else bytes(value)
        return base64.b64encode(raw).decode("ascii")
    if column.type == INTEGER:
        return str(int(value))  # int64 travels as a string
    if column.type == FLOAT:
        return float(value)
    if column.type == JSON:
        return _json(column, value)
    return str(value)


def resource_value(column: Column, value: Any) -> Any:
    """A field of a resource as the API sends it, as a SQL value (bytes from base64)."""
    if column.type == BYTES and isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except ValueError:
            raise DataError(f"{column.name} must be base64 in a request, not {value!r}."
                            ) from None
    return value


def put_field(body: dict[str, Any], field_path: str, value: Any) -> None:
    """Set a field of a request body by its path in the API message (`a.b`: nested)."""
    *parents, last = field_path.split(".")
    target = body
    for step in parents:
        target = target.setdefault(step, {})
    target[last] = value


def bound_value_rows(tree: exp.Insert, parameter_sets: list[Parameters]) -> list[Row] | None:
    """executemany's rows of `VALUES (?, ?, ...)` taken straight from the parameters.

    Binding copies the whole statement tree per row (most of the CPU of a large executemany);
    for one VALUES tuple of markers and literals the values are the parameters themselves.
    None when the statement has another shape, or a value needs SQL to become one.
    """
    source = tree.expression
    if not isinstance(source, exp.Values) or len(source.expressions) != 1:
        return None
    items = source.expressions[0]
    items = list(items.expressions) if isinstance(items, exp.Tuple) else [items]
    if not all(isinstance(i, (exp.Placeholder, exp.Literal, exp.Null)) for i in items):
        return None
    markers = [i for i in items if isinstance(i, exp.Placeholder)]
    if len(markers) != len(list(tree.find_all(exp.Placeholder))):
        return None  # markers elsewhere (e.g. RETURNING): bind the whole statement
    constants = {id(i): _literal_value(i) for i in items if not isinstance(i, exp.Placeholder)}
    # Sequences of parameters of one length: each marker's position, found once (checking a
    # mapping per row is most of the CPU of a large executemany).
    first = parameter_sets[0]
    width = len(first) if isinstance(first, (list, tuple)) else -1
    positions: list[int] | None = None
    if width >= 0:
        probe = parameter_mapping(markers, tuple(range(width)))
        positions = [probe[str(i.this)] if isinstance(i, exp.Placeholder) else -1 for i in items]
    rows: list[Row] = []
    for parameters in parameter_sets:
        if positions is not None and isinstance(parameters, (list, tuple)) \
                and len(parameters) == width:
            row = tuple(_parameter_value(parameters[k]) if k >= 0 else constants[id(i)]
                        for k, i in zip(positions, items, strict=True))
            if any(v is _NEEDS_SQL for v in row):
                return None
            rows.append(row)
            continue
        mapping: Mapping[str, Any] = parameter_mapping(markers, parameters)
        row = tuple(_parameter_value(mapping[str(i.this)]) if isinstance(i, exp.Placeholder)
                    else constants[id(i)] for i in items)
        if any(v is _NEEDS_SQL for v in row):
            return None
        rows.append(row)
    return rows


_NEEDS_SQL = object()


def _literal_value(node: exp.Expression) -> Any:
    if isinstance(node, exp.Null):
        return None
    return node.this if node.is_string else json.loads(node.this)


def _parameter_value(value: Any) -> Any:
    """The value a parameter has once bound (as `statements.literal` renders it)."""
    kind = type(value)
    if kind is str or kind is float or kind is int:
        return value
    if value is None or isinstance(value, (str, int, float)):
        return int(value) if isinstance(value, bool) else value
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, datetime):
        return canonical_time(value)
    return _NEEDS_SQL
