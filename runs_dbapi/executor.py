"""Run query plans: fetch pages (concurrently across parents, ahead of the reader), evaluate."""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from .catalog import TABLES, Table
from .exceptions import Error
from .local import LocalDatabase, PageMaker, Row, Unsafe, direct_maker, restorer, row_maker
from .planner import QueryPlan, Scan
from .rest import RestClient
from .statements import DIALECT

logger = logging.getLogger(__name__)

Path = dict[str, str]
_DONE = object()

# Set when the interpreter exits, before it joins the pool's worker threads: a worker waiting to
# hand a page to a reader that will never come (a cursor left unread) then gives up, instead of
# blocking the exit forever. (`threading._register_atexit` is what concurrent.futures uses; its
# hooks run in reverse order of registration, so this one runs before the pool's join.)
_EXITING = threading.Event()
getattr(threading, "_register_atexit", lambda hook: None)(_EXITING.set)
CHUNK = 256  # resources evaluated at a time when streaming (the first row comes sooner)


@dataclass
class RawPage:
    """Resources as the API sent them (a page, or one get), with their parent's path.

    Producers hand these over as they are; the reader makes the rows, so that the next page is
    being fetched meanwhile.
    """

    path: Path
    resources: list[dict[str, Any]]


@dataclass
class Result:
    """Column names and types, and the rows (an iterator, consumed by the cursor)."""

    names: list[str]
    types: list[str | None]
    rows: Iterator[Row]
    close: Callable[[], None]
    rowcount: int = -1  # rows written, for INSERT/UPDATE/DELETE ... RETURNING


class PageStream:
    """Pages produced by workers on a pool, read in arrival order through a bounded queue.

    The queue lets the next page be fetched while the reader consumes this one; closing the
    stream tells the workers to stop at their next page.
    """

    def __init__(self, pool: ThreadPoolExecutor, producers: list[Callable[[PageStream], None]],
                 depth: int = 4) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self.stopped = threading.Event()
        self._pending = len(producers)
        for producer in producers:
            pool.submit(self._run, producer)

    def _run(self, producer: Callable[[PageStream], None]) -> None:
        try:
            producer(self)
        except BaseException as error:  # handed to the reader, who raises it
            self.put(error)
        finally:
            self.put(_DONE)

    def put(self, item: Any) -> bool:
        while not self.stopped.is_set() and not _EXITING.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[list[Row]]:
        while self._pending:
            item = self._queue.get()
            if item is _DONE:
                self._pending -= 1
            elif isinstance(item, BaseException):
                self.close()
                raise item
            else:
                yield item

    def close(self) -> None:
        self.stopped.set()


class QueryExecutor:
    def __init__(self, client: RestClient, pool: ThreadPoolExecutor) -> None:
        self.client = client
        self.pool = pool

    # -- parents -----------------------------------------------------------------------------

    def _parents(self, scan: Scan) -> list[Path]:
        """Every parent path the scan covers, listing tensorboards/experiments to fan out."""
        paths: list[Path] = [{}]
        for name in scan.table.parent_path:
            values = scan.pushed.path.get(name)
            if values is not None:
                paths = [{**p, name: v} for p in paths for v in values]
                continue
            child = next(t for t in TABLES.values() if t.id_column == name)
            jobs = [self.pool.submit(self._list_ids, child, p) for p in paths]
            paths = [{**p, name: child_id} for p, job in zip(paths, jobs, strict=True)
                     for child_id in job.result()]
            logger.debug("fan-out over %d %s", len(paths), child.name)
        return paths

    def _list_ids(self, table: Table, path: Path) -> list[str]:
        parent = table.resource_name(path, parent=True)
        ids = []
        for page in _pages(self.client, parent, table.name, {"pageSize": table.page_max}):
            ids += [str(r["name"]).rsplit("/", 1)[1] for r in page.get(table.list_field, [])]
        return ids

    # -- fetching ----------------------------------------------------------------------------

    def _producers(self, scan: Scan) -> list[Callable[[PageStream], None]]:
        parents = self._parents(scan)
        if scan.keys is not None:
            return [self._getter(scan, path, key) for path in parents for key in scan.keys]
        return [self._lister(scan, path) for path in parents]

    def _getter(self, scan: Scan, path: Path, key: str) -> Callable[[PageStream], None]:
        def produce(stream: PageStream) -> None:
            full = {**path, scan.table.id_column: key}
            resource = self.client.get(scan.table.resource_name(full))
            if resource is not None:
                stream.put(RawPage(full, [resource]))
        return produce

    def _lister(self, scan: Scan, path: Path) -> Callable[[PageStream], None]:
        params: dict[str, Any] = {"pageSize": scan.table.page_max}
        if scan.limit is not None:
            params["pageSize"] = max(1, min(scan.table.page_max, scan.limit))
        if scan.read_mask is not None:
            params["readMask"] = ",".join(scan.read_mask)
        for key in ("pageSize", "pageToken", "readMask"):
            if key in scan.pushed.parameters:
                params[key] = scan.pushed.parameters[key]
        text = scan.pushed.filter_text()
        if text:
            params["filter"] = text
        if scan.order_by:
            params["orderBy"] = scan.order_by
        parent = scan.table.resource_name(path, parent=True)

        def produce(stream: PageStream) -> None:
            produced = 0
            for page in _pages(self.client, parent, scan.table.name, params):
                if stream.stopped.is_set():
                    return
                item: list[Row] | RawPage
                if scan.page_mode:
                    item = [(page.get("nextPageToken"),
                             json.dumps(page.get(scan.table.list_field, []),
                                        separators=(",", ":")),
                             *(path.get(c.name) for c in scan.columns[2:]))]
                else:
                    item = RawPage(path, page.get(scan.table.list_field, []))
                if not stream.put(item):
                    return
                produced += len(item.resources if isinstance(item, RawPage) else item)
                if scan.limit is not None and produced >= scan.limit:
                    return
        return produce

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
            tree = _parse_local(plan.sql)
            needed = _needed_columns(tree, plan.sql, plan.scans)
            # A mistake in the local SQL (an unknown column, function, ...) is reported before
            # any page is fetched: the SQL is run (streaming) or prepared on the empty tables.
            if plan.stream:
                scan = plan.scans[0]
                first = database.query(plan.sql)  # for the column names, on an empty table
                stream = PageStream(self.pool, self._producers(scan))
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
                    stream = PageStream(self.pool, self._producers(scan))
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
        return Result(names=names, types=types, rows=rows, close=close)

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
        return generate()


def _pages(client: RestClient, parent: str, collection: str, params: dict[str, Any]
           ) -> Iterator[dict[str, Any]]:
    """The pages of a listing; none if its parent does not exist (NOT_FOUND on the first call).

    A WHERE clause naming a parent that is not there (or a fan-out over tensorboards, only some
    of which have the experiment named) selects no rows, as a get by key of a missing run does.
    """
    pages = client.list_pages(parent, collection, params)
    try:
        first = next(pages)
    except StopIteration:
        return
    except Error as error:
        if error.rpc_status == "NOT_FOUND":
            logger.debug("no %s under %s: it does not exist", collection, parent)
            return
        raise
    yield first
    yield from pages


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


def _parse_local(sql: str) -> exp.Expression | None:
    try:
        return sqlglot.parse_one(sql, read=DIALECT)
    except SqlglotError:
        return None


def _needed_columns(tree: exp.Expression | None, sql: str, scans: list[Scan]
                    ) -> set[str] | None:
    """Lower-case names of the scanned columns the local SQL may read (None: all of them).

    Conservative: a column counts as read if its name appears anywhere in the SQL text; every
    column is read under `*` (other than `count(*)`), a NATURAL JOIN, or SQL that does not parse.
    The others are left NULL in the local tables.
    """
    if tree is None:
        return None
    if any(not isinstance(star.parent, exp.Count) for star in tree.find_all(exp.Star)):
        return None
    if any(join.args.get("method") for join in tree.find_all(exp.Join)):
        return None
    text = sql.lower()
    return {c.name.lower() for scan in scans for c in scan.columns if c.name.lower() in text}


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
