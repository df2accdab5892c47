"""SQLite storage of the emulated resources, their data points and operations.

One connection behind one lock: every service call runs as one serialised transaction, which keeps
concurrent patches and creates free of lost updates at the rates an emulator sees.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from .wire import format_time, parse_time

_SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    parent TEXT NOT NULL,
    name TEXT NOT NULL UNIQUE,
    rid TEXT NOT NULL,
    display_name TEXT NOT NULL,
    create_time TEXT NOT NULL,
    update_time TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS resources_by_parent ON resources (kind, parent, seq);
CREATE INDEX IF NOT EXISTS resources_by_display_name ON resources (kind, parent, display_name);
CREATE INDEX IF NOT EXISTS resources_by_create_time ON resources (kind, parent, create_time);
CREATE INDEX IF NOT EXISTS resources_by_update_time ON resources (kind, parent, update_time);
CREATE TABLE IF NOT EXISTS points (
    series TEXT NOT NULL,
    step INTEGER NOT NULL,
    wall_time TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (series, step)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS operations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    parent TEXT NOT NULL,
    body TEXT NOT NULL,
    polls_left INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS operations_by_parent ON operations (parent, seq);
CREATE TABLE IF NOT EXISTS counters (
    kind TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""

# Columns a list may sort on; `seq` (creation order) breaks ties so the order is total.
ORDER_COLUMNS = frozenset({"display_name", "create_time", "update_time", "seq"})

_COLUMNS = "seq, kind, parent, name, rid, display_name, create_time, update_time, body"


@dataclass(frozen=True)
class Record:
    """A stored resource: indexed columns plus the JSON body of its other fields."""

    seq: int
    kind: str
    parent: str
    name: str
    rid: str
    display_name: str
    create_time: str
    update_time: str
    body: dict[str, Any]

    def sort_key(self, columns: Sequence[str]) -> list[Any]:
        return [getattr(self, column) for column in columns]


@functools.lru_cache(maxsize=1 << 13)  # bounded: about 13 MB of run bodies
def _decoded(body: str) -> dict[str, Any]:
    """A stored body, decoded once: listings decode the same bodies again and again (a third of
    a listing's time). Records share it, so it is never changed in place: every change copies
    it first (`dict(record.body)`), as the service does."""
    decoded: dict[str, Any] = json.loads(body)
    return decoded


def _record(row: tuple[Any, ...]) -> Record:
    seq, kind, parent, name, rid, display_name, create_time, update_time, body = row
    return Record(seq, kind, parent, name, rid, display_name, create_time, update_time,
                  _decoded(body))


class Store:
    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        self.lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.executescript(_SCHEMA)
        last = self._db.execute("SELECT max(update_time) FROM resources").fetchone()[0]
        self._last_time = parse_time(last) if last else datetime.fromtimestamp(0, timezone.utc)

    def close(self) -> None:
        with self.lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Serialise a unit of work; roll it back whole if it raises."""
        with self.lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def now(self) -> str:
        """A timestamp later than every one handed out before, so update times always move."""
        with self.lock:
            moment = datetime.now(timezone.utc)
            if moment <= self._last_time:
                moment = self._last_time + timedelta(microseconds=1)
            self._last_time = moment
            return format_time(moment)

    def next_number(self, kind: str, start: int) -> int:
        with self.lock:
            row = self._db.execute("SELECT value FROM counters WHERE kind = ?", (kind,)).fetchone()
            value = (row[0] if row else start) + 1
            self._db.execute(
                "INSERT INTO counters (kind, value) VALUES (?, ?) "
                "ON CONFLICT (kind) DO UPDATE SET value = excluded.value",
                (kind, value),
            )
            return value

    def is_empty(self) -> bool:
        with self.lock:
            return self._db.execute("SELECT 1 FROM resources LIMIT 1").fetchone() is None

    def copy_to(self, target: sqlite3.Connection) -> None:
        """Copy the whole database into another connection (SQLite's online backup)."""
        with self.lock:
            self._db.backup(target)

    def copy_from(self, source: sqlite3.Connection) -> None:
        """Replace the whole database by a copy of another connection's."""
        with self.lock:
            source.backup(self._db)
            last = self._db.execute("SELECT max(update_time) FROM resources").fetchone()[0]
            if last:
                self._last_time = max(self._last_time, parse_time(last))

    # -- resources ---------------------------------------------------------------------------

    def get(self, name: str) -> Record | None:
        with self.lock:
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM resources WHERE name = ?", (name,)
            ).fetchone()
        return _record(row) if row else None

    def find_display_name(self, kind: str, parent: str, display_name: str) -> str | None:
        with self.lock:
            row = self._db.execute(
                "SELECT name FROM resources WHERE kind = ? AND parent = ? AND display_name = ?",
                (kind, parent, display_name),
            ).fetchone()
        return row[0] if row else None

    def insert(
        self, kind: str, parent: str, rid: str, body: dict[str, Any], moment: str
    ) -> Record:
        name = f"{parent}/{kind}/{rid}"
        with self.lock:
            cursor = self._db.execute(
                "INSERT INTO resources (kind, parent, name, rid, display_name, create_time, "
                "update_time, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (kind, parent, name, rid, body.get("displayName", ""), moment, moment,
                 json.dumps(body)),
            )
            seq = cursor.lastrowid
        assert seq is not None
        return Record(seq, kind, parent, name, rid, body.get("displayName", ""), moment, moment,
                      body)

    def update(self, record: Record, body: dict[str, Any], moment: str) -> Record:
        with self.lock:
            self._db.execute(
                "UPDATE resources SET display_name = ?, update_time = ?, body = ? WHERE seq = ?",
                (body.get("displayName", ""), moment, json.dumps(body), record.seq),
            )
        return Record(record.seq, record.kind, record.parent, record.name, record.rid,
                      body.get("displayName", ""), record.create_time, moment, body)

    def delete_tree(self, name: str) -> int:
        """Delete a resource, everything under it and their data points; return how many."""
        below = (name + "/", name + "0")  # '0' sorts right after '/': a prefix range
        with self.lock:
            self._db.execute(
                "DELETE FROM points WHERE series = ? OR (series >= ? AND series < ?)",
                (name, *below),
            )
            cursor = self._db.execute(
                "DELETE FROM resources WHERE name = ? OR (name >= ? AND name < ?)",
                (name, *below),
            )
            return cursor.rowcount

    def children(
        self,
        kind: str,
        parent: str,
        order: Sequence[tuple[str, bool]],
        after: Sequence[Any] | None,
        *,
        accept: Callable[[Record], bool],
        limit: int,
    ) -> list[Record]:
        """Up to `limit` children of `parent` that `accept`, in `order`, after a sort key.

        `order` is (column, descending) pairs; seq (creation order) is appended so the order is
        total. Keyset pagination: a page resumes strictly after the last key it returned, so rows
        inserted or deleted meanwhile never shift the rows that follow (none skipped, none twice).
        """
        order = [*order, ("seq", False)]
        for column, _ in order:
            if column not in ORDER_COLUMNS:
                raise ValueError(f"cannot order by {column}")
        sql = f"SELECT {_COLUMNS} FROM resources WHERE kind = ? AND parent = ?"
        args: list[Any] = [kind, parent]
        if after is not None:
            alternatives = []
            for index, (column, descending) in enumerate(order):
                equal = [f"{c} = ?" for c, _ in order[:index]]
                alternatives.append(
                    "(" + " AND ".join([*equal, f"{column} {'<' if descending else '>'} ?"]) + ")"
                )
                args.extend(after[: index + 1])
            sql += " AND (" + " OR ".join(alternatives) + ")"
        sql += " ORDER BY " + ", ".join(f"{c} {'DESC' if d else 'ASC'}" for c, d in order)
        found: list[Record] = []
        with self.lock:
            cursor = self._db.execute(sql, args)
            while len(found) < limit and (rows := cursor.fetchmany(512)):
                for row in rows:
                    record = _record(row)
                    if accept(record):
                        found.append(record)
                        if len(found) == limit:
                            break
            cursor.close()
        return found

    def count_children(self, kind: str, parent_prefix: str) -> int:
        below = (parent_prefix + "/", parent_prefix + "0")
        with self.lock:
            row = self._db.execute(
                "SELECT count(*) FROM resources WHERE kind = ? AND name >= ? AND name < ?",
                (kind, *below),
            ).fetchone()
        return int(row[0])

    # -- data points -------------------------------------------------------------------------

    def put_points(self, series: str, points: Sequence[tuple[int, str, dict[str, Any]]]) -> None:
        """Store points by step; a step written again is overwritten."""
        with self.lock:
            self._db.executemany(
                "INSERT OR REPLACE INTO points (series, step, wall_time, value) "
                "VALUES (?, ?, ?, ?)",
                [(series, step, wall, json.dumps(value)) for step, wall, value in points],
            )

    def put_encoded_points(self, rows: Sequence[tuple[str, int, str, str]]) -> None:
        """Store (series, step, wall time, value as JSON text) rows in bulk (the demo's seeding);
        a step written again is overwritten."""
        with self.lock:
            self._db.executemany(
                "INSERT OR REPLACE INTO points (series, step, wall_time, value) "
                "VALUES (?, ?, ?, ?)", rows)

    def points(self, series: str) -> list[tuple[int, str, dict[str, Any]]]:
        with self.lock:
            rows = self._db.execute(
                "SELECT step, wall_time, value FROM points WHERE series = ? ORDER BY step",
                (series,),
            ).fetchall()
        return [(step, wall, json.loads(value)) for step, wall, value in rows]

    def points_page(self, series: str, start: int, size: int, *, descending: bool = False
                    ) -> tuple[list[tuple[int, str, dict[str, Any]]], int]:
        """`size` points of a series by step from offset `start`, and how many it has."""
        with self.lock:
            total = self._db.execute("SELECT count(*) FROM points WHERE series = ?",
                                     (series,)).fetchone()[0]
            rows = self._db.execute(
                "SELECT step, wall_time, value FROM points WHERE series = ? "
                f"ORDER BY step {'DESC' if descending else 'ASC'} LIMIT ? OFFSET ?",
                (series, size, start)).fetchall()
        return [(step, wall, json.loads(value)) for step, wall, value in rows], int(total)

    def points_size(self, prefix: str) -> int:
        """Bytes of stored point values under a resource (for readSize)."""
        below = (prefix + "/", prefix + "0")
        with self.lock:
            row = self._db.execute(
                "SELECT coalesce(sum(length(value)), 0) FROM points "
                "WHERE series >= ? AND series < ?",
                below,
            ).fetchone()
        return int(row[0])

    # -- operations --------------------------------------------------------------------------

    def put_operation(self, name: str, parent: str, body: dict[str, Any], polls: int) -> None:
        with self.lock:
            self._db.execute(
                "INSERT INTO operations (name, parent, body, polls_left) VALUES (?, ?, ?, ?)",
                (name, parent, json.dumps(body), polls),
            )

    def poll_operation(self, name: str) -> tuple[dict[str, Any], int] | None:
        """Return an operation and how many polls it still needs, counting this one."""
        with self.lock:
            row = self._db.execute(
                "SELECT body, polls_left FROM operations WHERE name = ?", (name,)
            ).fetchone()
            if row is None:
                return None
            left = max(0, row[1] - 1)
            self._db.execute("UPDATE operations SET polls_left = ? WHERE name = ?", (left, name))
        return json.loads(row[0]), left

    def finish_operation(self, name: str) -> None:
        with self.lock:
            self._db.execute("UPDATE operations SET polls_left = 0 WHERE name = ?", (name,))

    def delete_operation(self, name: str) -> bool:
        with self.lock:
            return self._db.execute("DELETE FROM operations WHERE name = ?", (name,)).rowcount > 0

    def operations(self, parent: str) -> list[tuple[str, dict[str, Any], int]]:
        with self.lock:
            rows = self._db.execute(
                "SELECT name, body, polls_left FROM operations WHERE parent = ? ORDER BY seq",
                (parent,),
            ).fetchall()
        return [(name, json.loads(body), left) for name, body, left in rows]
