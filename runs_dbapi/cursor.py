"""The PEP 249 cursor: a thin face over the connection's statement runner."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from .exceptions import InterfaceError
from .local import Row

if TYPE_CHECKING:
    from .executor import Result

Parameters = Sequence[Any] | Mapping[str, Any] | None
Description = tuple[str, str, None, None, None, None, bool]


class StatementRunner(Protocol):
    """What a cursor needs of its connection (a Protocol, so that cursor.py does not import
    connection.py, which imports it)."""

    @property
    def closed(self) -> bool: ...

    def run(self, sql: str, parameters: Parameters) -> Result | int: ...

    def run_many(self, sql: str, parameter_sets: Sequence[Parameters]) -> int: ...


def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int):
        return "INTEGER"
    if isinstance(value, float):
        return "FLOAT"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "BINARY"
    if isinstance(value, (datetime, date)):
        return "TIMESTAMP"
    if isinstance(value, (dict, list)):
        return "JSON"
    return "STRING"


class Cursor:
    arraysize: int = 1

    def __init__(self, connection: StatementRunner) -> None:
        self.connection = connection
        self.description: list[Description] | None = None
        self.rowcount = -1
        self.lastrowid = None
        self._result: Result | None = None
        self._rows: Iterator[Row] = iter(())
        self._closed = False

    def __repr__(self) -> str:
        return f"<runs_dbapi.Cursor {'closed' if self._closed else 'open'}>"

    def _check_open(self) -> None:
        if self._closed:
            raise InterfaceError("The cursor is closed.")
        if self.connection.closed:
            raise InterfaceError("The connection is closed.")

    def _release(self) -> None:
        if self._result is not None:
            self._result.close()
            self._result = None
        self._rows = iter(())

    def execute(self, operation: str, parameters: Parameters = None) -> Cursor:
        self._check_open()
        self._release()
        self.description = None
        self.rowcount = -1
        outcome = self.connection.run(operation, parameters)
        if isinstance(outcome, int):
            self.rowcount = outcome
            return self
        self._result = outcome
        self.rowcount = outcome.rowcount
        rows = outcome.rows
        types = list(outcome.types)
        if outcome.names:
            # The first row is read here, so that the API's errors (a bad filter) surface in
            # execute(). A column typed by its data takes the type of its first value that is
            # not NULL (a NULL says nothing of the rows after it, e.g. `sum(x)` of a group
            # without x): rows are read ahead until each such column has one, or they end.
            ahead: list[Row] = []
            pending = {index for index, kind in enumerate(types) if kind is None}
            for row in rows:
                ahead.append(row)
                for index in [i for i in pending if row[i] is not None]:
                    types[index] = _type_of(row[index])
                    pending.discard(index)
                if not pending:
                    break
            rows = itertools.chain(ahead, rows)
        self._rows = rows
        self.description = [
            (name, kind or "STRING", None, None, None, None, True)
            for name, kind in zip(outcome.names, types, strict=True)
        ] or None
        return self

    def executemany(self, operation: str, seq_of_parameters: Sequence[Parameters]) -> Cursor:
        self._check_open()
        self._release()
        self.description = None
        self.rowcount = self.connection.run_many(operation, list(seq_of_parameters))
        return self

    def fetchone(self) -> Row | None:
        self._check_open()
        self._require_result()
        return next(self._rows, None)

    def fetchmany(self, size: int | None = None) -> list[Row]:
        self._check_open()
        self._require_result()
        return list(itertools.islice(self._rows, self.arraysize if size is None else size))

    def fetchall(self) -> list[Row]:
        self._check_open()
        self._require_result()
        return list(self._rows)

    def _require_result(self) -> None:
        if self.description is None:
            raise InterfaceError("No result set: the last statement returned no rows.")

    def __iter__(self) -> Iterator[Row]:
        return self

    def __next__(self) -> Row:
        row = self.fetchone()
        if row is None:
            raise StopIteration
        return row

    def close(self) -> None:
        self._release()
        self._closed = True

    def setinputsizes(self, sizes: Any) -> None:
        """Accepted and ignored: the API has no use for input sizes."""

    def setoutputsize(self, size: Any, column: int | None = None) -> None:
        """Accepted and ignored: values are never truncated."""

    def __enter__(self) -> Cursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
