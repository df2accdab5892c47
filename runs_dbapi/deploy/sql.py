"""The driver's own statements a deployment runs: INSERT for creates (many rows: executemany,
which the driver sends as batchCreates), a keyed UPDATE for a patch (its etag in the WHERE),
a keyed DELETE for teardown, and the SELECT that reads what exists. `plan` prints a
statement's `text()`, and apply runs its `sql` with its `rows`: the same statement.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..catalog import Table

__all__ = ["Statement", "create_statements", "delete_statement", "literal", "patch_statement",
           "select_children"]

SHOWN_ROWS = 3  # rows of a many-row statement that its text shows


@dataclass
class Statement:
    """One statement, run with `execute` (one row) or `executemany` (several)."""

    sql: str
    rows: list[tuple[Any, ...]]
    labels: list[str] = field(default_factory=list)  # the resources it writes, row by row
    returning: tuple[str, ...] = ()

    def text(self, shown: int = SHOWN_ROWS) -> str:
        """The statement with its values written in, as SQL (several rows: the first few,
        then how many more)."""
        if not self.rows:
            return self.sql + ";"
        head = [_fill(self.sql, row) for row in self.rows[:shown]]
        more = len(self.rows) - len(head)
        tail = [f"-- and {more:,} more like {'it' if len(head) == 1 else 'these'} "
                f"(executemany: {len(self.rows):,} rows)"] if more > 0 else []
        return "\n".join([text + ";" for text in head] + tail)

    def as_json(self) -> dict[str, Any]:
        return {"sql": self.sql, "rows": [list(r) for r in self.rows], "text": self.text()}


def literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (dict, list)):
        value = json.dumps(value)
    return "'" + str(value).replace("'", "''") + "'"


def _fill(sql: str, row: Sequence[Any]) -> str:
    parts = sql.split("?")
    assert len(parts) == len(row) + 1, (sql, row)
    out = [parts[0]]
    for value, part in zip(row, parts[1:], strict=True):
        out += [literal(value), part]
    return "".join(out)


def _default(table: Table, name: str) -> Any:
    column = table.column(name)
    return column.default if column is not None else None


def _parameter(value: Any) -> Any:
    """A value as the statement's parameter: mappings as JSON text."""
    return json.dumps(value) if isinstance(value, dict) else value


def _ordered(table: Table, names: Sequence[str]) -> list[str]:
    order = {c.name: i for i, c in enumerate(table.columns)}
    return sorted(names, key=lambda n: order.get(n, len(order)))


def create_statements(table: Table, creates: Sequence[tuple[str, dict[str, str], str | None,
                                                            dict[str, Any]]],
                      returning: tuple[str, ...] = ()) -> list[Statement]:
    """INSERTs of (label, parent path, own ID, fields): one statement per set of columns, its
    rows run by executemany (the driver batches them into batchCreates where it can)."""
    groups: dict[tuple[str, ...], Statement] = {}
    # One set of columns for all (a field a row leaves out gets the API's default), so that
    # the rows go out together.
    every = _ordered(table, list(dict.fromkeys(n for *_, fields in creates for n in fields)))
    for label, parent, own_id, given in creates:
        fields = {n: given[n] if n in given else _default(table, n) for n in every}
        columns = [*parent, *([table.id_column] if own_id else []), *every]
        key = tuple(columns)
        if key not in groups:
            sql = (f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES "
                   f"({', '.join('?' for _ in columns)})")
            if returning:
                sql += f" RETURNING {', '.join(returning)}"
            groups[key] = Statement(sql, [], returning=returning)
        values = [*parent.values(), *([own_id] if own_id else []),
                  *(_parameter(fields[c]) for c in columns[len(parent) + bool(own_id):])]
        groups[key].rows.append(tuple(values))
        groups[key].labels.append(label)
    return list(groups.values())


def _key_terms(table: Table, path: dict[str, str]) -> tuple[list[str], list[Any]]:
    names = [n for n in table.path if n in path]
    return [f"{n} = ?" for n in names], [path[n] for n in names]


def patch_statement(table: Table, label: str, path: dict[str, str], changes: dict[str, Any],
                    etag: str | None) -> Statement:
    """A keyed UPDATE of exactly `changes`; with the etag, the patch is conditional."""
    columns = _ordered(table, list(changes))
    terms, values = _key_terms(table, path)
    if etag and table.writes.etag:
        terms.append(f"{table.writes.etag} = ?")
        values.append(etag)
    sql = (f"UPDATE {table.name} SET {', '.join(f'{c} = ?' for c in columns)} "
           f"WHERE {' AND '.join(terms)}")
    return Statement(sql, [(*(_parameter(changes[c]) for c in columns), *values)], [label])


def delete_statement(table: Table, targets: Sequence[tuple[str, dict[str, str]]]
                     ) -> Statement:
    """Keyed DELETEs of (label, full path), run by executemany when there are several."""
    terms, _ = _key_terms(table, targets[0][1])
    statement = Statement(f"DELETE FROM {table.name} WHERE {' AND '.join(terms)}", [])
    for label, path in targets:
        statement.rows.append(tuple(_key_terms(table, path)[1]))
        statement.labels.append(label)
    return statement


def select_children(table: Table, parent: dict[str, str]) -> Statement:
    """SELECT * of the resources under `parent` (one listing, with push-down)."""
    terms, values = _key_terms(table, parent)
    return Statement(f"SELECT * FROM {table.name} WHERE {' AND '.join(terms)}",
                     [tuple(values)])
