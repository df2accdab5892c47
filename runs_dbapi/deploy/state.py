"""What exists: the resources under a block's parent, read with one SELECT (one listing), each
declared resource matched by its ID or its displayName, and compared field by field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..catalog import Table
from ..connection import Connection
from ..exceptions import ProgrammingError
from ..rules import SYSTEM_LABEL_PREFIX
from .desired import DISPLAY_NAME, Desired
from .sql import select_children

__all__ = ["FieldDiff", "Live", "diff", "match", "read_live"]

Live = dict[str, Any]  # a row of SELECT *, by column


@dataclass(frozen=True)
class FieldDiff:
    field: str  # `labels.status` for one label
    live: Any  # None: absent
    wanted: Any

    def as_json(self) -> dict[str, Any]:
        return {"field": self.field, "live": self.live, "wanted": self.wanted}


def read_live(connection: Connection, table: Table, parent: dict[str, str]) -> list[Live]:
    statement = select_children(table, parent)
    cursor = connection.cursor()
    try:
        cursor.execute(statement.sql, list(statement.rows[0]))
        names = [d[0] for d in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        cursor.close()


class Index:
    """The live resources of one parent, by ID and by displayName."""

    def __init__(self, table: Table, rows: list[Live]) -> None:
        self.by_id = {str(r[table.id_column]): r for r in rows}
        self.by_name: dict[str, list[Live]] = {}
        for row in rows:
            self.by_name.setdefault(str(row.get(DISPLAY_NAME) or ""), []).append(row)


def match(desired: Desired, index: Index) -> Live | None:
    """The live resource `desired` is: by its ID when it has one, else by its displayName."""
    if desired.own_id:
        return index.by_id.get(desired.own_id)
    rows = index.by_name.get(str(desired.fields.get(DISPLAY_NAME)), [])
    if len(rows) > 1:
        ids = ", ".join(str(r[desired.table.id_column]) for r in rows)
        raise ProgrammingError(
            f"{desired.label}: {len(rows)} {desired.table.name} are named "
            f"{desired.fields.get(DISPLAY_NAME)!r} ({ids}): declare the ID prop "
            f"({desired.table.id_parameter or desired.table.id_column}) to say which")
    return rows[0] if rows else None


def user_labels(value: Any) -> dict[str, str]:
    labels = value if isinstance(value, dict) else {}
    return {k: str(v) for k, v in labels.items() if not k.startswith(SYSTEM_LABEL_PREFIX)}


def diff(desired: Desired, live: Live) -> tuple[list[FieldDiff], dict[str, Any]]:
    """The fields that differ, one by one (labels key by key), and the patch: each differing
    field's wanted value (labels: the user labels, whole; the API keeps system labels)."""
    table = desired.table
    diffs: list[FieldDiff] = []
    changes: dict[str, Any] = {}
    for name, wanted in desired.fields.items():
        column = table.column(name)
        assert column is not None
        current = live.get(name)
        if name == table.writes.labels:
            have = user_labels(current)
            keys = sorted(set(have) | set(wanted))
            changed = [FieldDiff(f"{name}.{k}", have.get(k), wanted.get(k)) for k in keys
                       if have.get(k) != wanted.get(k)]
            if changed:
                diffs += changed
                changes[name] = wanted
            continue
        if current is None:
            current = column.default
        if current != wanted:
            if name in table.writes.immutable:
                raise ProgrammingError(
                    f"{desired.label}: {name} is immutable ({current!r} on the API, "
                    f"{wanted!r} in the manifest): delete the resource to create it again")
            diffs.append(FieldDiff(name, current, wanted))
            changes[name] = wanted
    return diffs, changes
