"""How `runs-sql` writes result sets: an aligned table, CSV, JSON or JSON lines.

Values arrive as the driver returns them (str, int, float, bool, None, `datetime` in UTC, dicts
for labels, lists for the seed's page columns). Machine formats keep them exact (RFC 3339
timestamps, JSON objects); the table renders them for people (`2026-01-05 09:00:00 UTC`,
`team=vision, model=resnet50`).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from datetime import date, datetime, timezone
from typing import Any, Protocol, TextIO

FORMATS = ("table", "csv", "json", "jsonl")
ELLIPSIS = "…"


def rfc3339(moment: datetime) -> str:
    """`2026-01-05T09:00:00.123456Z`: the API's own form (UTC, microseconds)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def readable_time(moment: datetime) -> str:
    """`2026-01-05 09:00:00 UTC`: to the second, for people."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S") + " UTC"


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return str(value)


def json_value(value: Any) -> Any:
    """A value as it goes into JSON output: timestamps as RFC 3339 text, the rest as is."""
    if isinstance(value, (datetime, date, bytes, bytearray, memoryview)):
        return _json_default(value)
    return value


def compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def csv_text(value: Any) -> str:
    """A CSV field: empty for NULL, RFC 3339 timestamps, JSON for labels and lists."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return compact_json(value)
    if isinstance(value, (datetime, date, bytes, bytearray, memoryview)):
        return str(_json_default(value))
    return str(value)


def table_text(value: Any) -> str:
    """A table cell for people: `k=v, k=v` labels, readable timestamps, one line."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.12g}"
    if isinstance(value, datetime):
        return readable_time(value)
    if isinstance(value, dict):
        if all(isinstance(v, str) for v in value.values()):
            return ", ".join(f"{k}={v}" for k, v in value.items())
        return compact_json(value)
    if isinstance(value, list):
        return compact_json(value)
    text = csv_text(value)
    return " ".join(text.split()) if any(c in text for c in "\n\r\t") else text


def _clip(text: str, width: int) -> str:
    """Cut the middle out of a long cell: resource names differ at their ends."""
    if width and len(text) > width:
        head = max(1, (width - 1) // 2)
        return text[:head] + ELLIPSIS + text[len(text) - max(0, width - 1 - head):]
    return text


class Writer(Protocol):
    """Writes one result set: `start` with the column names, `rows` any number of times,
    then `finish`."""

    def start(self, names: Sequence[str]) -> None: ...

    def rows(self, rows: Sequence[Sequence[Any]]) -> None: ...

    def finish(self) -> None: ...


def unique_names(names: Sequence[str]) -> list[str]:
    """Column names as JSON keys: a repeated name gets `_2`, `_3`, ... (never a lost value)."""
    seen: dict[str, int] = {}
    keys = []
    for name in names:
        count = seen.get(name, 0) + 1
        seen[name] = count
        keys.append(name if count == 1 else f"{name}_{count}")
    return keys


class TableWriter:
    """An aligned table, psql-style, with a `(N rows)` footer. Rows are held until `finish`
    (the widths depend on every row); cells longer than `max_width` are cut with an ellipsis."""

    def __init__(self, out: TextIO, *, max_width: int = 80, footer: bool = True) -> None:
        self.out = out
        self.max_width = max_width
        self.footer = footer
        self.names: list[str] = []
        self.cells: list[list[str]] = []
        self.numeric: list[bool] = []

    def start(self, names: Sequence[str]) -> None:
        self.names = list(names)
        self.cells = []
        self.numeric = [True] * len(self.names)

    def rows(self, rows: Sequence[Sequence[Any]]) -> None:
        for row in rows:
            for index, value in enumerate(row):
                if value is not None and (isinstance(value, bool)
                                          or not isinstance(value, (int, float))):
                    self.numeric[index] = False
            self.cells.append([_clip(table_text(v), self.max_width) for v in row])

    def finish(self) -> None:
        widths = [len(n) for n in self.names]
        for cells in self.cells:
            widths = [max(w, len(c)) for w, c in zip(widths, cells, strict=True)]
        header = " | ".join(n.ljust(w) for n, w in zip(self.names, widths, strict=True))
        lines = [" " + header.rstrip(), "-" + "-+-".join("-" * w for w in widths) + "-"]
        for cells in self.cells:
            parts = [c.rjust(w) if numeric else c.ljust(w)
                     for c, w, numeric in zip(cells, widths, self.numeric, strict=True)]
            lines.append((" " + " | ".join(parts)).rstrip())
        count = len(self.cells)
        if self.footer:
            lines.append(f"({count} row{'' if count == 1 else 's'})")
        self.out.write("\n".join(lines) + "\n")
        self.cells = []


class ExpandedWriter:
    """One record per block, a line per column (psql's `\\x`): for wide rows such as EXPLAIN's."""

    def __init__(self, out: TextIO, *, max_width: int = 80, footer: bool = True) -> None:
        self.out = out
        self.max_width = max_width
        self.footer = footer
        self.names: list[str] = []
        self.count = 0

    def start(self, names: Sequence[str]) -> None:
        self.names = list(names)
        self.count = 0

    def rows(self, rows: Sequence[Sequence[Any]]) -> None:
        width = max((len(n) for n in self.names), default=0)
        for row in rows:
            self.count += 1
            lines = [f"-[ RECORD {self.count} ]" + "-" * max(1, width - 8)]
            lines += [(f"{name.ljust(width)} | {_clip(table_text(value), self.max_width)}"
                       ).rstrip()
                      for name, value in zip(self.names, row, strict=True)]
            self.out.write("\n".join(lines) + "\n")

    def finish(self) -> None:
        if self.footer:
            self.out.write(f"({self.count} row{'' if self.count == 1 else 's'})\n")


class CsvWriter:
    """RFC 4180 CSV with a header line; NULL is an empty field."""

    def __init__(self, out: TextIO) -> None:
        self._csv = csv.writer(out, lineterminator="\n")

    def start(self, names: Sequence[str]) -> None:
        self._csv.writerow(names)

    def rows(self, rows: Sequence[Sequence[Any]]) -> None:
        self._csv.writerows([csv_text(v) for v in row] for row in rows)

    def finish(self) -> None:
        pass


class JsonWriter:
    """One JSON array of objects per result set, one object per line."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.keys: list[str] = []
        self.count = 0

    def start(self, names: Sequence[str]) -> None:
        self.keys = unique_names(names)
        self.count = 0
        self.out.write("[")

    def rows(self, rows: Sequence[Sequence[Any]]) -> None:
        for row in rows:
            item = json.dumps(dict(zip(self.keys, map(json_value, row), strict=True)),
                              ensure_ascii=False, default=_json_default)
            self.out.write(("\n" if self.count == 0 else ",\n") + item)
            self.count += 1

    def finish(self) -> None:
        self.out.write("\n]\n" if self.count else "]\n")


class JsonLinesWriter:
    """One JSON object per row and line (JSON Lines)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.keys: list[str] = []

    def start(self, names: Sequence[str]) -> None:
        self.keys = unique_names(names)

    def rows(self, rows: Sequence[Sequence[Any]]) -> None:
        for row in rows:
            self.out.write(json.dumps(dict(zip(self.keys, map(json_value, row), strict=True)),
                                      ensure_ascii=False, default=_json_default) + "\n")

    def finish(self) -> None:
        pass


def make_writer(kind: str, out: TextIO, *, max_width: int = 80, expanded: bool = False
                ) -> Writer:
    """A writer of the format; `expanded` turns the table into one block per record."""
    if kind == "table" and expanded:
        return ExpandedWriter(out, max_width=max_width)
    if kind == "table":
        return TableWriter(out, max_width=max_width)
    if kind == "csv":
        return CsvWriter(out)
    if kind == "json":
        return JsonWriter(out)
    if kind == "jsonl":
        return JsonLinesWriter(out)
    raise ValueError(f"unknown format {kind!r}; expected one of {', '.join(FORMATS)}")


def aligned(rows: Sequence[Sequence[str]], *, indent: str = "  ") -> str:
    """Plain text columns (for the shell's .tables and .schema), no borders."""
    if not rows:
        return ""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        (indent + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True))).rstrip()
        for r in rows
    ) + "\n"
