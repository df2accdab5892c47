"""Run query plans: pages from the fetcher, evaluated locally (streamed page by page when the
plan allows), into results for the cursor."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlglot import exp

from .fetching import Fetcher
from .local import LocalDatabase, PageMaker, Row, Unsafe, direct_maker, restorer, row_maker
from .planner import QueryPlan, Scan
from .points import PointSources
from .rest import RestClient
from .streams import Item, PageStream, RawPage

logger = logging.getLogger(__name__)

CHUNK = 256  # resources evaluated at a time when streaming (the first row comes sooner)


@dataclass
class Result:
    """Column names and types, and the rows (an iterator, consumed by the cursor)."""

    names: list[str]
    types: list[str | None]  # description type codes (None: the cursor takes the first row's)
    rows: Iterator[Row]
    close: Callable[[], None]
    rowcount: int = -1  # rows written, for INSERT/UPDATE/DELETE ... RETURNING


class QueryExecutor:
    def __init__(self, client: RestClient, pool: ThreadPoolExecutor) -> None:
        self.client = client
        self.pool = pool
        self.fetcher = Fetcher(client, pool)

    def _sources(self, scan: Scan) -> list[Iterator[Item]]:
        if scan.table.points is not None:
            return PointSources(self.fetcher).sources(scan)
        return self.fetcher.sources(scan)

    # -- evaluation --------------------------------------------------------------------------

    def run(self, plan: QueryPlan) -> Result:
        database = LocalDatabase()
        streams: list[PageStream] = []

        def close() -> None:
            for stream in streams:
                stream.close()
            database.close()

        types: list[str | None]
        try:
            for scan in plan.scans:
                database.create(scan.local_name, scan.columns)
            tree = plan.tree
            needed = plan.needed
            # A mistake in the local SQL (an unknown column, function, ...) is reported before
            # any page is fetched: the SQL is run (streaming) or prepared on the empty tables.
            if plan.stream:
                scan = plan.scans[0]
                first = database.query(plan.sql)  # for the column names, on an empty table
                stream = PageStream(self.pool, self._sources(scan))
                streams.append(stream)
                names = [d[0] for d in first.description]
                types = _types(plan, names)
                direct = _direct_projection(tree, scan, types)
                rows = self._stream_rows(database, plan, scan, stream,
                                         loader=_Loader(scan, needed), types=types,
                                         direct=direct)
            else:
                if plan.scans:
                    database.query(plan.sql, prepare_only=True)
                for scan in plan.scans:
                    stream = PageStream(self.pool, self._sources(scan))
                    streams.append(stream)
                    loader = _Loader(scan, needed)
                    for item in stream:
                        loader.load(database, item)
                cursor = database.query(plan.sql)
                names = [d[0] for d in cursor.description] if cursor.description else []
                types = _types(plan, names)
                rows = _restore(iter(cursor), types)
        except BaseException:
            close()
            raise
        codes: list[str | None] = (plan.codes if len(plan.codes) == len(names)
                                   else [None] * len(names))
        return Result(names=names, types=codes, rows=rows, close=close)

    @staticmethod
    def _stream_rows(database: LocalDatabase, plan: QueryPlan, scan: Scan, stream: PageStream, *,
                     loader: _Loader, types: list[str | None], direct: PageMaker | None
                     ) -> Iterator[Row]:
        skip, remaining = plan.offset, plan.limit

        def evaluate(item: list[Row] | RawPage) -> list[Row]:
            if direct is not None and isinstance(item, RawPage):
                try:
                    return direct(item.resources, item.path)
                except Unsafe:
                    pass  # a value SQLite would change: evaluate this chunk there
            loader.load(database, item)
            rows = database.query(plan.sql).fetchall()
            database.clear(scan.local_name)
            return list(_restore(iter(rows), types))

        def generate() -> Iterator[Row]:
            nonlocal skip, remaining
            for chunk in (c for page in stream for c in _chunks(page)):
                rows = evaluate(chunk)
                if skip:
                    dropped = min(skip, len(rows))
                    rows, skip = rows[dropped:], skip - dropped
                if remaining is not None:
                    rows = rows[:remaining]
                    remaining -= len(rows)
                yield from rows
                if remaining == 0:
                    stream.close()
                    return

        rows = generate()
        # A reader dropped without close (garbage collected) stops its stream's fetching.
        weakref.finalize(rows, stream.abandon).atexit = False
        return rows


def _types(plan: QueryPlan, names: list[str]) -> list[str | None]:
    return plan.types if len(plan.types) == len(names) else [None] * len(names)


class _Loader:
    """Puts a stream's items in a scan's local table: raw pages through a row maker, into only
    the columns the SQL may read (`needed`; the others stay NULL), page-mode rows as they are."""

    def __init__(self, scan: Scan, needed: set[str] | None) -> None:
        self.table = scan.local_name
        self.width = len(scan.columns)
        chosen = list(scan.columns) if needed is None else (
            [c for c in scan.columns if c.name.lower() in needed] or list(scan.columns[:1]))
        self.make = row_maker(chosen, scan.table.id_column, needed)
        self.columns = None if needed is None else [c.name for c in chosen]

    def load(self, database: LocalDatabase, item: list[Row] | RawPage) -> None:
        if isinstance(item, RawPage):
            database.insert(self.table, len(self.columns or ()) or self.width,
                            self.make(item.resources, item.path), self.columns)
        else:
            database.insert(self.table, self.width, item)


def _chunks(item: list[Row] | RawPage) -> Iterator[list[Row] | RawPage]:
    if not isinstance(item, RawPage) or len(item.resources) <= CHUNK:
        yield item
        return
    for start in range(0, len(item.resources), CHUNK):
        yield RawPage(item.path, item.resources[start:start + CHUNK])


def _direct_projection(tree: exp.Expression | None, scan: Scan, types: list[str | None]
                       ) -> PageMaker | None:
    """When the local SQL only picks columns of the scanned table (`SELECT *`, `SELECT a, b AS
    c`: no WHERE, no expression, nothing else), a function making each output row straight from
    a resource, equal to what SQLite and `_restore` would give (see `direct_reader`)."""
    if not isinstance(tree, exp.Select) or scan.page_mode:
        return None
    if any(value for key, value in tree.args.items()
           if key not in ("expressions", "from_", "where")):
        return None
    source = tree.args["from_"].this if tree.args.get("from_") is not None else None
    if (not isinstance(source, exp.Table) or source.name != scan.local_name
            or any(v for k, v in source.args.items() if k not in ("this", "alias"))):
        return None
    alias = source.alias_or_name.lower()
    where = tree.args.get("where")
    if where is not None and not _implied_by_path(where.this, scan, alias):
        return None
    index = {c.name.lower(): i for i, c in enumerate(scan.columns)}
    everything = list(range(len(scan.columns)))
    picked: list[int] = []
    for projection in tree.expressions:
        node = projection.this if isinstance(projection, exp.Alias) else projection
        if isinstance(node, exp.Star) and node is projection:
            picked += everything
        elif (isinstance(node, exp.Column) and node.table.lower() in ("", alias)
              and not node.args.get("db") and not node.args.get("catalog")):
            if isinstance(node.this, exp.Star):
                if node is not projection:
                    return None
                picked += everything
            elif node.name.lower() in index:
                picked.append(index[node.name.lower()])
            else:
                return None
        else:
            return None
    if len(picked) != len(types):
        return None
    return direct_maker([scan.columns[i] for i in picked], scan.table.id_column,
                        [restorer(kind) for kind in types])


def _implied_by_path(node: exp.Expression, scan: Scan, alias: str) -> bool:
    """Whether a local WHERE holds for every row the scan makes: TRUE, and `<path column> =
    '<value>'` terms naming the one value the scan's path (or its one key) has there."""
    pending = [node]
    while pending:
        term = pending.pop()
        if isinstance(term, (exp.And, exp.Paren)):
            pending += [term.this, *([term.expression] if isinstance(term, exp.And) else [])]
            continue
        if isinstance(term, exp.Boolean) and term.this is True:
            continue
        if not isinstance(term, exp.EQ):
            return False
        column, value = term.this, term.expression
        if isinstance(column, exp.Literal):
            column, value = value, column
        if not (isinstance(column, exp.Column) and isinstance(column.this, exp.Identifier)
                and column.table.lower() in ("", alias) and not column.args.get("db")
                and isinstance(value, exp.Literal) and value.is_string):
            return False
        name = column.name.lower()
        found = next((c.name for c in scan.table.columns
                      if c.path_parameter and c.name.lower() == name), None)
        if found is None:
            return False
        values = scan.keys if found == scan.table.id_column else scan.pushed.path.get(found)
        if values is None or list(values) != [value.this]:
            return False
    return True


def _restore(rows: Iterator[Row], types: list[str | None]) -> Iterator[Row]:
    converters = [(i, f) for i, f in enumerate(restorer(t) for t in types) if f is not None]
    if not converters:
        return rows

    def convert(row: Row) -> Row:
        values = list(row)
        for index, function in converters:
            values[index] = function(values[index])
        return tuple(values)

    return (convert(row) for row in rows)
