"""The rows of an INSERT into a table of data points, read and checked before any call: where
each point goes (its run and series) and what is written (step, wall time, the value in the
column of its value type, as the write verb takes it). Roles of columns come from the catalog."""

from __future__ import annotations

import base64
import json
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ..catalog import FLOAT, JSON, Column, PointReads, Table
from ..exceptions import DataError, ProgrammingError
from ..rules import check_path_value
from ..timestamps import parse_instant
from .common import Json, Path

__all__ = ["PointRow", "RowReader", "key_column"]

# proto3 JSON spells the doubles JSON has no literal for as strings.
_SPECIAL = {math.inf: "Infinity", -math.inf: "-Infinity"}


@dataclass
class PointRow:
    """One point of the INSERT, checked: where it goes and what is written."""

    index: int
    run: tuple[str, ...]  # the run's path values, in the series table's parent path order
    series_id: str | None
    display: str | None
    value_type: str
    step: int
    point: Json  # the point as the write verb takes it


def key_column(series_table: Table) -> Column:
    """The series table's unique field (its display name): what rows name series by."""
    column = series_table.column(series_table.writes.unique[0])
    assert column is not None
    return column


class RowReader:
    """Rows of an INSERT to checked points: the columns' roles are found once, from the
    catalog; each row is then read by position."""

    def __init__(self, table: Table, spec: PointReads, series_table: Table, names: list[str],
                 defaults: Path) -> None:
        self.table = table
        self.spec = spec
        self.run_levels = series_table.parent_path
        self.defaults = defaults
        self.width = len(names)
        self.positions: dict[str, int] = {}
        key = key_column(series_table).name
        roles = {c.lower(): c for c in (*table.path, key, spec.value_type_field,
                                        *spec.point_key, spec.wall_time_field,
                                        *(v for _, v in spec.value_fields))}
        for index, name in enumerate(names):
            role = roles.get(name.lower())
            if role is None:
                raise ProgrammingError(
                    f"Unknown column {name!r} for INSERT into {table.name}. A point takes "
                    + ", ".join(c for c in roles.values()) + ".")
            if role in self.positions:
                raise ProgrammingError(f"INSERT names column {role} twice.")
            self.positions[role] = index
        self.key = key
        self.step = spec.point_key[0]
        self.value_columns = {t: table.column(c) for t, c in spec.value_fields}
        self.checked: set[tuple[str, str]] = set()
        self.now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        # Positions, found once: reading 100,000 rows is the CPU of a large INSERT.
        self.run_positions = tuple(self.positions.get(level, -1) for level in self.run_levels)
        self.runs: dict[tuple[Any, ...], tuple[str, ...]] = {}
        self.id_position = self.positions.get(table.id_column, -1)
        self.key_position = self.positions.get(key, -1)
        self.step_position = self.positions.get(self.step, -1)
        self.wall_position = self.positions.get(spec.wall_time_field, -1)
        self.fields = {t: (c.api_field or c.name).split(".")
                       for t, c in self.value_columns.items() if c is not None}
        given = [(t, self.positions[c.name]) for t, c in self.value_columns.items()
                 if c is not None and c.name in self.positions]
        # The one value column the INSERT names, when it names one and no value type.
        self.only = given[0] if len(given) == 1 and \
            spec.value_type_field not in self.positions else None

    def _get(self, row: tuple[Any, ...], role: str) -> Any:
        position = self.positions.get(role)
        return None if position is None else row[position]

    def read(self, index: int, row: tuple[Any, ...]) -> PointRow:
        if len(row) != self.width:
            raise ProgrammingError(
                f"INSERT names {self.width} columns but a row has {len(row)} values.")
        given = tuple(row[p] if p >= 0 else None for p in self.run_positions)
        run = self.runs.get(given)
        if run is None:
            run = self.runs[given] = tuple(self._path_value(row, level)
                                           for level in self.run_levels)
        series_id = _text(row[self.id_position]) if self.id_position >= 0 else None
        display = _text(row[self.key_position]) if self.key_position >= 0 else None
        if series_id is None and display is None:
            raise DataError(f"Row {index + 1} of the INSERT names no series: give {self.key} (a "
                            f"series created when the run has none) or {self.table.id_column}.")
        if series_id is not None:
            self._check_path(series_id, self.table.id_column)
        only = self.only
        if only is not None and row[only[1]] not in (None, ""):
            value_type = only[0]
        else:
            value_type = self._value_type(row, f"Row {index + 1} of the INSERT")
        column = self.value_columns[value_type]
        assert column is not None
        raw_step = row[self.step_position] if self.step_position >= 0 else None
        step = raw_step if type(raw_step) is int else \
            _step(raw_step, f"Row {index + 1} of the INSERT", self.step)
        raw = row[self.positions[column.name]]
        value = raw if type(raw) is float and math.isfinite(raw) else \
            _value(column, value_type, raw, f"Row {index + 1} of the INSERT")
        fields = self.fields[value_type]
        for field in reversed(fields[1:]):
            value = {field: value}
        point: Json = {self.step: str(step), self.spec.wall_time_field: self._wall_time(row, index),
                       fields[0]: value}
        return PointRow(index=index, run=run, series_id=series_id, display=display,
                    value_type=value_type, step=step, point=point)

    def _path_value(self, row: tuple[Any, ...], level: str) -> str:
        value = _text(self._get(row, level)) or self.defaults.get(level)
        if not value:
            raise ProgrammingError(
                f"No {level} for INSERT: add a {level} column, or connect() with "
                f"{level[:-3] if level.endswith('sId') else level}=.")
        self._check_path(value, level)
        return value

    def _check_path(self, value: str, level: str) -> None:
        if (level, value) not in self.checked:
            check_path_value(value, level)
            self.checked.add((level, value))

    def _value_type(self, row: tuple[Any, ...], where: str) -> str:
        given = _text(self._get(row, self.spec.value_type_field))
        present = [t for t, c in self.value_columns.items()
                   if c is not None and self._get(row, c.name) not in (None, "")]
        types = list(self.value_columns)
        if given is not None:
            if given.upper() not in self.value_columns:
                raise DataError(f"{where}: invalid {self.spec.value_type_field} {given!r}; one "
                                f"of {', '.join(types)}.")
            given = given.upper()
            column = self.value_columns[given]
            if present != [given]:
                others = ", ".join(c.name for t, c in self.value_columns.items()
                                   if t in present and t != given and c is not None)
                raise DataError(
                    f"{where}: a {given} point takes its value in "
                    f"{column.name if column else given}"
                    + (f", not {others}" if others else ", which is NULL") + ".")
            return given
        if len(present) != 1:
            columns = [c.name for c in self.value_columns.values() if c is not None]
            raise DataError(
                f"{where}: give exactly one value ({', '.join(columns)}), not "
                f"{len(present)}, or a {self.spec.value_type_field}.")
        return present[0]

    def _wall_time(self, row: tuple[Any, ...], index: int) -> str:
        value = row[self.wall_position] if self.wall_position >= 0 else None
        if value is None or value == "":
            return self.now
        if isinstance(value, datetime):
            moment = value if value.tzinfo is None else \
                value.astimezone(timezone.utc).replace(tzinfo=None)
            return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if isinstance(value, str):
            # The local form (a bound datetime), cheaply: `YYYY-MM-DD HH:MM:SS.ffffff`.
            if len(value) == 26 and value[10] == " " and value[19] == ".":
                return f"{value[:10]}T{value[11:]}Z"
            parsed = parse_instant(value)
            if parsed is not None:
                moment, extra = parsed
                return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + extra + "Z"
        raise DataError(f"Row {index + 1} of the INSERT: {self.spec.wall_time_field} must be "
                        f"a timestamp, not {value!r}.")


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _step(value: Any, where: str, name: str) -> int:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    if value is None:
        raise DataError(f"{where} has no {name}: every point needs one (an integer).")
    raise DataError(f"{where}: {name} must be an integer, not {value!r}.")


def _scalar(value: Any, where: str, name: str) -> float | str:
    number: float | None = None
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = None
    if number is None:
        raise DataError(f"{where}: {name} must be a number, not {value!r}.")
    if math.isnan(number):
        return "NaN"
    return _SPECIAL.get(number, number)


def _json_value(value: Any, where: str, name: str) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return {"value": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError as error:
            raise DataError(f"{where}: {name} must be JSON: {error}") from None
    return value


def _as_is(value: Any, where: str, name: str) -> Any:
    return value


_CONVERTERS: dict[str, Callable[[Any, str, str], Any]] = {FLOAT: _scalar, JSON: _json_value}


def _value(column: Column, value_type: str, value: Any, where: str) -> Any:
    """The value of a point as the write verb takes it, by the value column's type: a number,
    an object (a tensor: its base64 value and version) or a list (blob references)."""
    converted = _CONVERTERS.get(column.type, _as_is)(value, where, column.name)
    nested = "." in (column.api_field or "")
    if column.type == JSON:
        if nested and isinstance(converted, dict) and "values" in converted:
            converted = converted["values"]
        if nested and not isinstance(converted, list):
            raise DataError(f"{where}: {column.name} of a {value_type} point must be a JSON "
                            f"list, not {value!r}.")
        if not nested and not isinstance(converted, dict):
            raise DataError(f"{where}: {column.name} of a {value_type} point must be a JSON "
                            f"object, not {value!r}.")
    return converted
